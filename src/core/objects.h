/*
 * objects.h: the schema inventory of a database, for proving that a copy or
 * an import carried every object, not only every row.
 *
 * An inventory lists every object a user made in a database (OID at or
 * above PostgreSQL's first normal OID, outside the system and temporary
 * schemas): relations, indexes, constraints, routines, types, casts,
 * operators and their classes and families, collations, conversions, text
 * search objects, triggers, event triggers, rules, policies, publications
 * and their members, extensions, foreign data wrappers, servers and user
 * mappings, statistics objects, languages, access methods, defaults,
 * default privileges, inheritance, comments and column privileges.  Each
 * is named by kind and identity as PostgreSQL's own pg_identify_object
 * names it (by name, never by OID), with its state: whether an index is
 * valid, a constraint validated, a trigger or rule enabled, a materialized
 * view populated, a table a partition (and its bounds); its owner, its
 * privileges and a digest of its comment.  It reads every server from
 * PostgreSQL 12 on, and two inventories of equal objects on different
 * majors compare equal: what only the version changes is left out (an
 * extension's version and members, the multirange a range type makes for
 * itself) or read the same way (a domain's NOT NULL, MAINTAIN within an
 * ALL grant on a relation).
 *
 * objects_compare pairs two inventories (source and target) and records
 * every difference in a verify_report: an object missing on either side,
 * or whose state, owner, privileges or comment differ.
 *
 * Import has no source server: objects_toc_compare pairs the table of
 * contents of the archive's schema dump (pg_restore --list) with that of a
 * pg_dump of the target, entry by entry (kind, schema, name, owner), and
 * objects_invalid names the target's invalid indexes.
 */
#ifndef PGCARRY_OBJECTS_H
#define PGCARRY_OBJECTS_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "util/err.h"
#include "core/verify.h"

typedef struct objects objects;

/*
 * Reads the inventory of the database conn is connected to (under its
 * current snapshot, if any).  Returns the inventory (objects_free), or NULL
 * with err set.
 */
objects    *objects_read(PGconn *conn, pgc_err *err);
void		objects_free(objects *o);

/* Number of objects in the inventory. */
int			objects_count(const objects *o);

/* The inventory counted by kind: "3 index, 2 table, ..." (owned by the
 * caller). */
char	   *objects_summary(const objects *o);

/* What objects_compare leaves out. */
typedef struct objects_compare_opts
{
	bool		no_owner;		/* owners are not compared (the target's
								 * objects were made by its own user) */
	bool		no_privileges;	/* privileges are not compared, nor are
								 * default privileges and column grants
								 * missing on either side */
	bool		known_kinds_elsewhere;	/* an object missing on one side is
										 * not reported when its kind is one
										 * compare's own object list covers
										 * (catalog_objects) */
} objects_compare_opts;

/*
 * Records in r (database db) each difference between src and tgt: an
 * object missing on the target or on the source, or whose state, owner,
 * privileges or comment differ (both shown).  o may be NULL.  Returns the
 * number of differences recorded.
 */
int			objects_compare(const objects *src, const objects *tgt, const objects_compare_opts *o,
							verify_report *r, const char *db);

/*
 * Records in r (database db, sides named by the report) each entry of the
 * table of contents expected (pg_restore --list of the archive's schema
 * dump) that actual (the same of a pg_dump of the target) lacks, and each
 * one actual has that expected lacks; entries are compared by kind,
 * schema, name and, unless no_owner, owner.  Returns the number of
 * differences recorded.
 */
int			objects_toc_compare(const char *expected, const char *actual, bool no_owner,
								verify_report *r, const char *db);

/*
 * Records in r (database db) each index of the database conn is connected
 * to that is not valid (what import checks beside the table of contents,
 * which does not say).  Returns the number recorded, or -1 with err set.
 */
int			objects_invalid(PGconn *conn, verify_report *r, const char *db, pgc_err *err);

#endif
