/*
 * archive_choose.h: choosing part of a pgcarry archive's database for
 * import with pg_dump's -n/-N/-t/-T (catalog.h), the way pg_dump would have
 * chosen it from the database the archive was made from.
 *
 * The archive keeps no catalog, only its manifest (tables, sequences) and
 * the schema dump; the choice is made on the dump's table of contents
 * (pg_restore --list --verbose, which gives each entry's dependencies):
 *   - tables, views, materialized views, foreign tables and sequences are
 *     chosen by the patterns (a table pattern without a schema matches in
 *     public, the default search_path); a sequence owned by a chosen table
 *     (serial) comes with it, an identity sequence only with its table;
 *   - an entry that belongs to a relation (its index, constraint, trigger,
 *     rule, policy, default, comment, privileges) follows that relation;
 *   - any other entry in a schema (function, type, domain...) is chosen
 *     when the schema is chosen as a whole (-n/-N, no -t), as pg_dump -n
 *     dumps a schema's objects; one that depends on other entries only
 *     when they are all chosen;
 *   - objects outside schemas (extensions, casts, large objects...) only
 *     when no schema or table is chosen by name (-N and -T alone keep
 *     them, as pg_dump's include-everything rule does);
 *   - the database's own entries (encoding, properties) always.
 */
#ifndef PGCARRY_ARCHIVE_CHOOSE_H
#define PGCARRY_ARCHIVE_CHOOSE_H

#include <libpq-fe.h>

#include "archive/manifest.h"
#include "core/catalog.h"
#include "util/err.h"

typedef struct archive_choice
{
	manifest_db db;				/* the archive's entry for the database with
								 * only the chosen tables and sequences (and
								 * no large objects when they are not
								 * chosen); its arrays belong to the choice,
								 * every string to the manifest */
	int		   *skip_ids;		/* schema dump entries not chosen (dump IDs) */
	int			nskip;
	char	   *toc;			/* the chosen lines of the dump's table of
								 * contents, as pg_restore --list prints
								 * them: what the target must hold */
	int			tables_left;	/* tables of the archive not chosen */
	int			sequences_left;
} archive_choice;

/*
 * Chooses, of database mdb of the archive at root, what f chooses (see
 * above); conn is any session on the target (the patterns' regular
 * expressions run there, as pg_dump's run on its server).  Fills *out
 * (archive_choice_free frees it).  With no_large_objects (--schema-only),
 * large objects are left out too, whatever f says.  Returns 0, or -1 with
 * err set (the
 * schema dump could not be listed, or the query failed).
 */
int archive_choose(PGconn *conn, const catalog_filter *f, bool no_large_objects, const char *root,
				   const manifest_db *mdb, archive_choice *out, pgc_err *err);

/*
 * Internal, for unit tests: splits what follows "ID; CLASSID OBJID " in a
 * pg_restore --list line into its kind (pg_dump's kinds, some with
 * spaces), schema (NULL for "-"; the longest of the nschemas known names
 * that starts it, else its first word) and name (without the owner, the
 * last word).  Each output is owned by the caller.
 */
void archive_choose__split(const char *rest, const char *const *schemas, int nschemas, char **kind,
						   char **schema, char **name);

/* Frees what c holds. */
void archive_choice_free(archive_choice *c);

#endif
