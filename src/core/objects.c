/*
 * objects.c: the schema inventory of a database and its comparison (see
 * objects.h).
 *
 * How it works.  One catalog query (objects_inventory_sql) lists, catalog
 * by catalog, every object at or above the first normal OID with its owner,
 * privileges and state, then names each with pg_identify_object (kind and
 * identity, by name) and adds a digest of its comment.  Column comments,
 * column privileges and inheritance, which are not objects of their own,
 * get rows of their own.  Both inventories come sorted by kind and
 * identity (C collation), so comparing them is one merge.
 */
#include "core/objects.h"
#include "conn.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------ */

/* Objects users make have OIDs from here on (FirstNormalObjectId). */
#define OBJECTS_FIRST_USER_OID "16384"

/* A namespace that holds no user object of its own. */
#define OBJECTS_SYSTEM_NAMESPACE(expr) \
	"(" expr " IN ('pg_catalog', 'information_schema', 'pg_toast') " \
	"OR " expr " ~ '^pg_(toast_)?temp_')"

/* An aclitem[] as sorted text, so grant order does not matter. */
#define OBJECTS_ACL(col) \
	"(SELECT pg_catalog.string_agg(a::text, ',' ORDER BY a::text) FROM pg_catalog.unnest(" col ") a)"

/*
 * The same for a relation, without the MAINTAIN privilege (m) of a grant
 * that holds every other one: PostgreSQL 17 adds it to ALL (an owner's
 * own, a GRANT ALL), which a server before 17 cannot express, so ALL reads
 * the same on every major.
 */
#define OBJECTS_REL_ACL(col) \
	"(SELECT pg_catalog.string_agg(pg_catalog.regexp_replace(a::text," \
	" '=a(\\*?)r\\1w\\1d\\1D\\1x\\1t\\1m\\1/', '=a\\1r\\1w\\1d\\1D\\1x\\1t\\1/'), ','" \
	" ORDER BY a::text) FROM pg_catalog.unnest(" col ") a)"

/*
 * Every user object: kind, identity, then what must match (state, owner,
 * privileges, comment digest), sorted.  "o" lists catalog, OID, owner,
 * privileges and state per catalog; pg_identify_object names them.  The
 * query is objects_inventory_head, then on servers that have them the
 * catalogs of objects_inventory_since15, then objects_inventory_tail
 * (objects_inventory_sql puts them together).
 */
static const char objects_inventory_head[] =
	"WITH o(classid, objid, owner, acl, state) AS ("
	" SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, n.oid, n.nspowner, " OBJECTS_ACL("n.nspacl") ", ''"
	"   FROM pg_catalog.pg_namespace n"
	"  WHERE (n.oid >= " OBJECTS_FIRST_USER_OID " OR n.nspname = 'public')"
	"    AND NOT " OBJECTS_SYSTEM_NAMESPACE("n.nspname")
	" UNION ALL"
	" SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid, c.relowner, " OBJECTS_REL_ACL("c.relacl") ","
	"        pg_catalog.concat_ws(' ',"
	"          CASE c.relpersistence WHEN 'u' THEN 'unlogged' END,"
	"          CASE WHEN c.relkind = 'm' AND c.relispopulated THEN 'populated'"
	"               WHEN c.relkind = 'm' THEN 'not populated' END,"
	"          CASE WHEN c.relkind IN ('i', 'I') THEN"
	"            (SELECT CASE WHEN i.indisvalid THEN 'valid' ELSE 'INVALID' END"
	"                    || CASE WHEN i.indisclustered THEN ' clustered' ELSE '' END"
	"                    || CASE WHEN i.indisreplident THEN ' replica identity' ELSE '' END"
	"               FROM pg_catalog.pg_index i WHERE i.indexrelid = c.oid) END,"
	"          CASE WHEN c.relispartition THEN 'partition ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,"
	"          CASE WHEN c.relrowsecurity THEN 'row security' END,"
	"          CASE WHEN c.relforcerowsecurity THEN 'forced row security' END)"
	"   FROM pg_catalog.pg_class c"
	"  WHERE c.oid >= " OBJECTS_FIRST_USER_OID " AND c.relkind <> 't'"
	"    AND NOT " OBJECTS_SYSTEM_NAMESPACE("c.relnamespace::pg_catalog.regnamespace::text")
	" UNION ALL"
	" SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, t.typowner, " OBJECTS_ACL("t.typacl") ","
	"        CASE WHEN t.typnotnull THEN 'not null' ELSE '' END"
	"   FROM pg_catalog.pg_type t"
	"  WHERE t.oid >= " OBJECTS_FIRST_USER_OID
	"    AND NOT " OBJECTS_SYSTEM_NAMESPACE("t.typnamespace::pg_catalog.regnamespace::text")
	"    AND t.typcategory <> 'A'"			/* arrays come with their type */
	"    AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, p.proowner, " OBJECTS_ACL("p.proacl") ", ''"
	"   FROM pg_catalog.pg_proc p WHERE p.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, co.oid, NULL, NULL,"
	"        CASE WHEN co.convalidated THEN 'validated' ELSE 'NOT VALIDATED' END"
	"   FROM pg_catalog.pg_constraint co WHERE co.oid >= " OBJECTS_FIRST_USER_OID
	/* A domain's NOT NULL is its type's state above: PostgreSQL 17 also
	 * lists it here (contype n), older servers do not. */
	"    AND co.contype <> 'n'"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass, tg.oid, NULL, NULL, 'enabled ' || tg.tgenabled::text"
	"   FROM pg_catalog.pg_trigger tg WHERE tg.oid >= " OBJECTS_FIRST_USER_OID " AND NOT tg.tgisinternal"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_event_trigger'::pg_catalog.regclass, e.oid, e.evtowner, NULL,"
	"        e.evtevent || ' enabled ' || e.evtenabled::text"
	"   FROM pg_catalog.pg_event_trigger e"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, rw.oid, NULL, NULL, 'enabled ' || rw.ev_enabled::text"
	"   FROM pg_catalog.pg_rewrite rw WHERE rw.oid >= " OBJECTS_FIRST_USER_OID " AND rw.rulename <> '_RETURN'"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, po.oid, NULL, NULL,"
	"        po.polcmd::text || CASE WHEN po.polpermissive THEN ' permissive' ELSE ' restrictive' END"
	"   FROM pg_catalog.pg_policy po"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_cast'::pg_catalog.regclass, ca.oid, NULL, NULL,"
	"        'method ' || ca.castmethod::text || ' context ' || ca.castcontext::text"
	"   FROM pg_catalog.pg_cast ca WHERE ca.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, op.oid, op.oprowner, NULL, ''"
	"   FROM pg_catalog.pg_operator op WHERE op.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_opclass'::pg_catalog.regclass, oc.oid, oc.opcowner, NULL, ''"
	"   FROM pg_catalog.pg_opclass oc WHERE oc.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, f.oid, f.opfowner, NULL, ''"
	"   FROM pg_catalog.pg_opfamily f WHERE f.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, cl.oid, cl.collowner, NULL, ''"
	"   FROM pg_catalog.pg_collation cl WHERE cl.oid >= " OBJECTS_FIRST_USER_OID
	"    AND NOT " OBJECTS_SYSTEM_NAMESPACE("cl.collnamespace::pg_catalog.regnamespace::text")
	" UNION ALL"
	" SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, cv.oid, cv.conowner, NULL,"
	"        CASE WHEN cv.condefault THEN 'default' ELSE '' END"
	"   FROM pg_catalog.pg_conversion cv WHERE cv.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass, x.oid, x.cfgowner, NULL, ''"
	"   FROM pg_catalog.pg_ts_config x WHERE x.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, x.oid, x.dictowner, NULL, ''"
	"   FROM pg_catalog.pg_ts_dict x WHERE x.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_ts_parser'::pg_catalog.regclass, x.oid, NULL, NULL, ''"
	"   FROM pg_catalog.pg_ts_parser x WHERE x.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_ts_template'::pg_catalog.regclass, x.oid, NULL, NULL, ''"
	"   FROM pg_catalog.pg_ts_template x WHERE x.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_publication'::pg_catalog.regclass, pb.oid, pb.pubowner, NULL,"
	"        pg_catalog.concat_ws(' ', CASE WHEN pb.puballtables THEN 'all tables' END,"
	"          CASE WHEN pb.pubinsert THEN 'insert' END, CASE WHEN pb.pubupdate THEN 'update' END,"
	"          CASE WHEN pb.pubdelete THEN 'delete' END, CASE WHEN pb.pubtruncate THEN 'truncate' END)"
	"   FROM pg_catalog.pg_publication pb"
	/* Not a user object: the publication of a pgcarry follow (follow.h). */
	"  WHERE pb.pubname !~ '^pgcarry_[0-9a-f]{16}$'"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_publication_rel'::pg_catalog.regclass, pr.oid, NULL, NULL, ''"
	"   FROM pg_catalog.pg_publication_rel pr"
	" UNION ALL"
	;

/* Catalogs that PostgreSQL 15 added: schemas published as a whole
 * (FOR TABLES IN SCHEMA). */
static const char objects_inventory_since15[] =
	" SELECT 'pg_catalog.pg_publication_namespace'::pg_catalog.regclass, pn.oid, NULL, NULL, ''"
	"   FROM pg_catalog.pg_publication_namespace pn"
	" UNION ALL";

static const char objects_inventory_tail[] =
	/* Not its version: CREATE EXTENSION (pg_dump's and so pgcarry's)
	 * installs the target's default, which differs between majors. */
	" SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass, x.oid, x.extowner, NULL, ''"
	"   FROM pg_catalog.pg_extension x WHERE x.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass, w.oid, w.fdwowner, " OBJECTS_ACL("w.fdwacl") ", ''"
	"   FROM pg_catalog.pg_foreign_data_wrapper w"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_foreign_server'::pg_catalog.regclass, s.oid, s.srvowner, " OBJECTS_ACL("s.srvacl") ", ''"
	"   FROM pg_catalog.pg_foreign_server s"
	" UNION ALL"
	/* the view, not the catalog: any role may read it, as pg_dump does */
	" SELECT 'pg_catalog.pg_user_mapping'::pg_catalog.regclass, um.umid, NULL, NULL, ''"
	"   FROM pg_catalog.pg_user_mappings um"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, st.oid, st.stxowner, NULL, ''"
	"   FROM pg_catalog.pg_statistic_ext st"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_language'::pg_catalog.regclass, l.oid, l.lanowner, " OBJECTS_ACL("l.lanacl") ", ''"
	"   FROM pg_catalog.pg_language l WHERE l.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_am'::pg_catalog.regclass, am.oid, NULL, NULL, am.amtype::text"
	"   FROM pg_catalog.pg_am am WHERE am.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, ad.oid, NULL, NULL, ''"
	"   FROM pg_catalog.pg_attrdef ad WHERE ad.oid >= " OBJECTS_FIRST_USER_OID
	" UNION ALL"
	" SELECT 'pg_catalog.pg_default_acl'::pg_catalog.regclass, da.oid, NULL, " OBJECTS_ACL("da.defaclacl") ", ''"
	"   FROM pg_catalog.pg_default_acl da"
	" UNION ALL"
	" SELECT 'pg_catalog.pg_transform'::pg_catalog.regclass, tr.oid, NULL, NULL, ''"
	"   FROM pg_catalog.pg_transform tr WHERE tr.oid >= " OBJECTS_FIRST_USER_OID
	")"
	" SELECT kind, identity, detail FROM ("
	"  SELECT id.type AS kind, id.identity,"
	"         pg_catalog.concat_ws('; ', NULLIF(o.state, ''),"
	"           'owner ' || pg_catalog.quote_ident(r.rolname), 'privileges ' || o.acl,"
	"           'comment ' || pg_catalog.md5(d.description)) AS detail"
	"    FROM o CROSS JOIN LATERAL pg_catalog.pg_identify_object(o.classid, o.objid, 0) id"
	"    LEFT JOIN pg_catalog.pg_roles r ON r.oid = o.owner"
	"    LEFT JOIN pg_catalog.pg_description d"
	"      ON d.classoid = o.classid AND d.objoid = o.objid AND d.objsubid = 0"
	/* Not the members of an extension (its CREATE EXTENSION makes them,
	 * as the target's version of it defines them), nor the types, routines
	 * and casts a type makes for itself (a range type's multirange type,
	 * its constructors and cast, from PostgreSQL 14 on). */
	"   WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_depend dep"
	"                      WHERE dep.classid = o.classid AND dep.objid = o.objid AND dep.objsubid = 0"
	"                        AND (dep.deptype = 'e'"
	"                             OR (dep.deptype = 'i' AND o.classid IN ('pg_catalog.pg_type'::pg_catalog.regclass,"
	"                                   'pg_catalog.pg_proc'::pg_catalog.regclass,"
	"                                   'pg_catalog.pg_cast'::pg_catalog.regclass))))"
	"   UNION ALL"
	/* Comments on columns. */
	"  SELECT 'comment on ' || id.type, id.identity, 'comment ' || pg_catalog.md5(d.description)"
	"    FROM pg_catalog.pg_description d"
	"    CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) id"
	"   WHERE d.objsubid > 0 AND d.objoid >= " OBJECTS_FIRST_USER_OID
	"   UNION ALL"
	/* Privileges on columns. */
	"  SELECT 'column privileges', id.identity, 'privileges ' || " OBJECTS_ACL("a.attacl")
	"    FROM pg_catalog.pg_attribute a"
	"    CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass,"
	"                                                      a.attrelid, a.attnum) id"
	"   WHERE a.attacl IS NOT NULL AND a.attrelid >= " OBJECTS_FIRST_USER_OID " AND NOT a.attisdropped"
	"   UNION ALL"
	/* Inheritance (partitions are named by their own entry). */
	"  SELECT 'inheritance', pg_catalog.format('%s inherits from %s', ic.identity, ip.identity),"
	"         'position ' || i.inhseqno"
	"    FROM pg_catalog.pg_inherits i"
	"    CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, i.inhrelid, 0) ic"
	"    CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, i.inhparent, 0) ip"
	"   WHERE i.inhrelid >= " OBJECTS_FIRST_USER_OID
	" ) x ORDER BY kind COLLATE \"C\", identity COLLATE \"C\", detail COLLATE \"C\"";

/* The inventory query for a server of that version (PQserverVersion),
 * owned by the caller. */
static char *
objects_inventory_sql(int server_version)
{
	return xasprintf("%s%s%s", objects_inventory_head,
					 server_version >= 150000 ? objects_inventory_since15 : "", objects_inventory_tail);
}

/* Invalid indexes of the database: identity. */
static const char objects_invalid_sql[] =
	"SELECT id.identity"
	"  FROM pg_catalog.pg_index i"
	" CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, i.indexrelid, 0) id"
	" WHERE NOT i.indisvalid AND i.indexrelid >= " OBJECTS_FIRST_USER_OID
	" ORDER BY 1";

/* ------------------------------------------------------------------------
 * The inventory
 * ------------------------------------------------------------------------ */

typedef struct objects_item
{
	char	   *kind;
	char	   *identity;
	char	   *detail;
} objects_item;

struct objects
{
	objects_item *items;
	int			n;
};

objects *
objects_read(PGconn *conn, pgc_err *err)
{
	char	   *sql = objects_inventory_sql(PQserverVersion(conn));
	PGresult   *res = conn_query(conn, sql, 0, NULL, err);
	free(sql);
	if (!res)
	{
		err_prefix(err, "could not list the schema objects: ");
		return NULL;
	}
	objects    *o = xcalloc(1, sizeof *o);
	o->n = PQntuples(res);
	o->items = xcalloc((size_t) o->n + 1, sizeof *o->items);
	for (int i = 0; i < o->n; i++)
	{
		o->items[i].kind = xstrdup(PQgetvalue(res, i, 0));
		o->items[i].identity = xstrdup(PQgetisnull(res, i, 1) ? "?" : PQgetvalue(res, i, 1));
		o->items[i].detail = xstrdup(PQgetvalue(res, i, 2));
	}
	PQclear(res);
	return o;
}

void
objects_free(objects *o)
{
	if (!o)
		return;
	for (int i = 0; i < o->n; i++)
	{
		free(o->items[i].kind);
		free(o->items[i].identity);
		free(o->items[i].detail);
	}
	free(o->items);
	free(o);
}

int
objects_count(const objects *o)
{
	return o ? o->n : 0;
}

char *
objects_summary(const objects *o)
{
	buf_t		b = {0};
	for (int i = 0; o && i < o->n;)
	{
		int			j = i;
		while (j < o->n && strcmp(o->items[j].kind, o->items[i].kind) == 0)
			j++;
		buf_printf(&b, "%s%d %s", b.len ? ", " : "", j - i, o->items[i].kind);
		i = j;
	}
	return b.data ? buf_steal(&b) : xstrdup("none");
}

/* ------------------------------------------------------------------------
 * Comparing
 * ------------------------------------------------------------------------ */

/* Kinds (as pg_identify_object names them) whose missing objects compare's
 * own object list (catalog_objects) reports already. */
static const char *const objects_elsewhere[] = {
	"schema", "table", "view", "materialized view", "sequence", "foreign table", "index",
	"table constraint", "domain constraint", "function", "procedure", "aggregate", "type",
	"composite type", "trigger", "policy", "extension", NULL
};

static bool
objects_kind_elsewhere(const char *kind)
{
	for (int i = 0; objects_elsewhere[i]; i++)
		if (strcmp(objects_elsewhere[i], kind) == 0)
			return true;
	return false;
}

/* detail without the parts o leaves out ("owner ...", "privileges ..."). */
static char *
objects_detail(const char *detail, const objects_compare_opts *o)
{
	buf_t		b = {0};
	const char *p = detail;
	while (*p)
	{
		const char *end = strstr(p, "; ");
		size_t		len = end ? (size_t) (end - p) : strlen(p);
		bool		skip = (o->no_owner && strncmp(p, "owner ", 6) == 0)
			|| (o->no_privileges && strncmp(p, "privileges ", 11) == 0);
		if (!skip)
			buf_printf(&b, "%s%.*s", b.len ? "; " : "", (int) len, p);
		p += len;
		if (end)
			p += 2;
	}
	if (!b.data)
		return xstrdup("");
	return buf_steal(&b);
}

static int
objects_cmp_item(const objects_item *a, const objects_item *b)
{
	int			c = strcmp(a->kind, b->kind);
	return c ? c : strcmp(a->identity, b->identity);
}

int
objects_compare(const objects *src, const objects *tgt, const objects_compare_opts *o,
				verify_report *r, const char *db)
{
	objects_compare_opts defaults = {0};
	if (!o)
		o = &defaults;
	int			i = 0, j = 0, ndiff = 0;
	while (i < src->n || j < tgt->n)
	{
		int			c = i >= src->n ? 1 : j >= tgt->n ? -1 : objects_cmp_item(&src->items[i], &tgt->items[j]);
		if (c < 0 || c > 0)
		{
			const objects_item *it = c < 0 ? &src->items[i++] : &tgt->items[j++];
			if (o->known_kinds_elsewhere && objects_kind_elsewhere(it->kind))
				continue;
			/* Without privileges, default privileges and column grants
			 * are not carried at all. */
			if (o->no_privileges && (strcmp(it->kind, "default acl") == 0
									 || strcmp(it->kind, "column privileges") == 0))
				continue;
			verify_report_schema(r, db, it->kind, it->identity,
								 c < 0 ? "missing on the target" : "missing on the source");
			ndiff++;
			continue;
		}
		char	   *a = objects_detail(src->items[i].detail, o);
		char	   *b = objects_detail(tgt->items[j].detail, o);
		if (strcmp(a, b) != 0)
		{
			char	   *what = xasprintf("differs: source \"%s\", target \"%s\"", a, b);
			verify_report_schema(r, db, src->items[i].kind, src->items[i].identity, what);
			free(what);
			ndiff++;
		}
		free(a);
		free(b);
		i++;
		j++;
	}
	return ndiff;
}

/* The entries of a "pg_restore --list" output as "DESC SCHEMA TAG OWNER"
 * (without dump ID and OIDs; without OWNER when no_owner), sorted. */
static char **
objects_toc_entries(const char *toc, bool no_owner, int *n)
{
	char	  **e = NULL;
	int			cap = 0;
	*n = 0;
	for (const char *p = toc ? toc : ""; *p;)
	{
		size_t		len = strcspn(p, "\n");
		char	   *line = xstrndup(p, len);
		p += len;
		if (*p == '\n')
			p++;
		char	   *semi = strchr(line, ';');
		if (line[0] == ';' || !semi || line[0] < '0' || line[0] > '9')
		{
			free(line);
			continue;
		}
		/* "<id>; <classid> <objid> DESC SCHEMA TAG OWNER" */
		char	   *q = semi + 1;
		for (int field = 0; field < 2; field++)
		{
			while (*q == ' ')
				q++;
			while (*q && *q != ' ')
				q++;
		}
		while (*q == ' ')
			q++;
		size_t		qlen = strlen(q);
		while (qlen > 0 && q[qlen - 1] == ' ')
			q[--qlen] = '\0';
		if (no_owner)
		{
			char	   *sp = strrchr(q, ' ');
			if (sp)
				*sp = '\0';
		}
		if (*n == cap)
		{
			cap = cap ? cap * 2 : 64;
			e = xrealloc(e, (size_t) cap * sizeof *e);
		}
		e[(*n)++] = xstrdup(q);
		free(line);
	}
	return e;
}

static int
objects_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int
objects_toc_compare(const char *expected, const char *actual, bool no_owner, verify_report *r,
					const char *db)
{
	int			na, nb, ndiff = 0;
	char	  **a = objects_toc_entries(expected, no_owner, &na);
	char	  **b = objects_toc_entries(actual, no_owner, &nb);
	if (na > 1)
		qsort(a, (size_t) na, sizeof *a, objects_cmp_str);
	if (nb > 1)
		qsort(b, (size_t) nb, sizeof *b, objects_cmp_str);
	int			i = 0, j = 0;
	while (i < na || j < nb)
	{
		int			c = i >= na ? 1 : j >= nb ? -1 : strcmp(a[i], b[j]);
		if (c == 0)
		{
			i++;
			j++;
			continue;
		}
		const char *entry = c < 0 ? a[i++] : b[j++];
		verify_report_schema(r, db, "schema entry", entry, c < 0 ? "missing on the target" : "not in the archive");
		ndiff++;
	}
	for (int k = 0; k < na; k++)
		free(a[k]);
	for (int k = 0; k < nb; k++)
		free(b[k]);
	free(a);
	free(b);
	return ndiff;
}

int
objects_invalid(PGconn *conn, verify_report *r, const char *db, pgc_err *err)
{
	PGresult   *res = conn_query(conn, objects_invalid_sql, 0, NULL, err);
	if (!res)
	{
		err_prefix(err, "could not list the invalid indexes: ");
		return -1;
	}
	int			n = PQntuples(res);
	for (int i = 0; i < n; i++)
		verify_report_schema(r, db, "index", PQgetvalue(res, i, 0), "invalid on the target");
	PQclear(res);
	return n;
}
