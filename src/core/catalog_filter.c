/*
 * catalog_filter.c: choosing what moves by pg_dump's -n/-N/-t/-T (see
 * catalog.h): each pattern turned into regular expressions as pg_dump reads
 * it, and the queries that match them against a server's tables and
 * sequences, or against names that are in no catalog (an archive's).
 */
#include "core/catalog.h"
#include "core/catalog_int.h"
#include "conn.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Choosing what moves: pg_dump's -n/-N/-t/-T
 * ------------------------------------------------------------------------ */

/* Whether a table or sequence named relname in schema nspname (SQL
 * expressions; visible: whether it is on the search_path) matches the
 * table patterns of JSON parameter param: [[schema regex or null, name
 * regex], ...]; no schema part means visible on the search_path. */
#define CATALOG_FILTER_TABLE_MATCH(param, relname, visible, nspname) \
	"EXISTS (SELECT 1 FROM pg_catalog.json_array_elements(" param "::pg_catalog.json) p " \
	"WHERE " relname " OPERATOR(pg_catalog.~) (p OPERATOR(pg_catalog.->>) 1) " \
	"AND CASE WHEN (p OPERATOR(pg_catalog.->>) 0) IS NULL THEN " visible " " \
	"ELSE " nspname " OPERATOR(pg_catalog.~) (p OPERATOR(pg_catalog.->>) 0) END)"

/* Whether schema nspname (an SQL expression) matches a regex of JSON
 * parameter param. */
#define CATALOG_FILTER_SCHEMA_MATCH(param, nspname) \
	"EXISTS (SELECT 1 FROM pg_catalog.json_array_elements_text(" param "::pg_catalog.json) s " \
	"WHERE " nspname " OPERATOR(pg_catalog.~) s)"

/* pg_dump's choice for relation relname in schema nspname (see catalog.h);
 * $2 -n, $3 -N (schema regexes), $4 -t, $5 -T (pairs). */
#define CATALOG_FILTER_CHOSEN(relname, visible, nspname) \
	"(CASE WHEN pg_catalog.json_array_length($4::pg_catalog.json) > 0 " \
	"THEN " CATALOG_FILTER_TABLE_MATCH("$4", relname, visible, nspname) " " \
	"ELSE (pg_catalog.json_array_length($2::pg_catalog.json) = 0 OR " CATALOG_FILTER_SCHEMA_MATCH("$2", nspname) ") " \
	"AND NOT " CATALOG_FILTER_SCHEMA_MATCH("$3", nspname) " END " \
	"AND NOT " CATALOG_FILTER_TABLE_MATCH("$5", relname, visible, nspname) ")"

/* The same choice for relation alias rel in schema alias nsp. */
#define CATALOG_FILTER_CHOSEN_REL(rel, nsp) \
	CATALOG_FILTER_CHOSEN(rel ".relname", "pg_catalog.pg_table_is_visible(" rel ".oid)", nsp ".nspname")

/* $1: JSON array of quoted relation names; $2 -n, $3 -N (schema regexes);
 * $4 -t, $5 -T (pairs).  Returns the 1-based positions of those chosen: a
 * sequence owned by a table (serial: deptype 'a', identity: 'i') is chosen
 * with its table, and an identity sequence only with it. */
static const char catalog_filter_sql[] =
	"SELECT u.k FROM pg_catalog.json_array_elements_text($1::pg_catalog.json) WITH ORDINALITY u(q, k) "
	"JOIN pg_catalog.pg_class c ON c.oid = u.q::pg_catalog.regclass "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"LEFT JOIN pg_catalog.pg_depend d ON c.relkind = 'S' "
	"  AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid "
	"  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i') "
	"LEFT JOIN pg_catalog.pg_class t ON t.oid = d.refobjid "
	"LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace "
	"WHERE CASE WHEN t.oid IS NULL THEN " CATALOG_FILTER_CHOSEN_REL("c", "n") " "
	"  WHEN d.deptype = 'i' THEN " CATALOG_FILTER_CHOSEN_REL("t", "tn") " "
	"  ELSE " CATALOG_FILTER_CHOSEN_REL("c", "n") " OR " CATALOG_FILTER_CHOSEN_REL("t", "tn") " END "
	"ORDER BY 1";

/* $1: JSON array of schema names, $6: of relation names (NULL for a
 * schema); $2..$5 as above.  One row per name: position, whether the
 * schema is chosen (-n/-N, without -t), whether the relation is.  With no
 * server catalog to ask, a relation is visible when it is in public. */
static const char catalog_filter_names_sql[] =
	"SELECT u.k, pg_catalog.json_array_length($4::pg_catalog.json) = 0 "
	"  AND (pg_catalog.json_array_length($2::pg_catalog.json) = 0 OR " CATALOG_FILTER_SCHEMA_MATCH("$2", "u.nsp") ") "
	"  AND NOT " CATALOG_FILTER_SCHEMA_MATCH("$3", "u.nsp") ", "
	"  v.rel IS NOT NULL AND " CATALOG_FILTER_CHOSEN("v.rel", "u.nsp = 'public'", "u.nsp") " "
	"FROM pg_catalog.json_array_elements_text($1::pg_catalog.json) WITH ORDINALITY u(nsp, k) "
	"JOIN pg_catalog.json_array_elements_text($6::pg_catalog.json) WITH ORDINALITY v(rel, k) ON v.k = u.k "
	"ORDER BY 1";

static const char catalog_search_path_default_sql[] =
	"SELECT pg_catalog.set_config('search_path', s.reset_val, false) FROM pg_catalog.pg_settings s "
	"WHERE s.name = 'search_path'";
static const char catalog_search_path_set_sql[] = "SELECT pg_catalog.set_config('search_path', $1, false)";

/* Appends one part of a pattern to re, as pg_dump reads it. */
static void
catalog_pattern_char(buf_t *re, char c, bool quoted)
{
	if (quoted)
	{
		if (strchr("|*+?()[]{}.^$\\", c))
			buf_putc(re, '\\');
		buf_putc(re, c);
	}
	else if (c == '*')
		buf_puts(re, ".*");
	else if (c == '?')
		buf_putc(re, '.');
	else if (c == '$')
		buf_puts(re, "\\$");
	else if (c >= 'A' && c <= 'Z')
		buf_putc(re, (char) (c - 'A' + 'a'));
	else
		buf_putc(re, c);
}

int
catalog_pattern_regex(const char *pattern, bool schema_only, char **schema_re, char **name_re,
					  const char **why)
{
	*schema_re = *name_re = NULL;
	*why = NULL;
	buf_t		part[3] = {{0}};
	int			nparts = 1;
	bool		quoted = false;
	for (const char *p = pattern; *p; p++)
	{
		if (*p == '"')
		{
			if (quoted && p[1] == '"')
			{
				buf_putc(&part[nparts - 1], '"');
				p++;
			}
			else
				quoted = !quoted;
		}
		else if (*p == '.' && !quoted)
		{
			if (nparts == 3)
			{
				nparts++;
				break;
			}
			nparts++;
		}
		else
			catalog_pattern_char(&part[nparts - 1], *p, quoted);
	}
	if (!*pattern)
		*why = "the pattern is empty";
	else if (quoted)
		*why = "a double quote is not closed";
	else if (nparts > (schema_only ? 1 : 2))
		*why = schema_only ? "a dot outside double quotes is not allowed here"
			: "improper qualified name (too many dotted names)";
	if (!*why)
	{
		buf_t	   *name = &part[nparts - 1];
		if (schema_only)
			*schema_re = xasprintf("^(%s)$", name->data ? name->data : "");
		else
		{
			*name_re = xasprintf("^(%s)$", name->data ? name->data : "");
			if (nparts == 2)
				*schema_re = xasprintf("^(%s)$", part[0].data ? part[0].data : "");
		}
	}
	for (int i = 0; i < 3; i++)
		buf_free(&part[i]);
	return *why ? -1 : 0;
}

int
catalog_filter_add(catalog_filter *f, catalog_filter_kind kind, const char *pattern, pgc_err *err)
{
	bool		schema = kind == CATALOG_FILTER_SCHEMA || kind == CATALOG_FILTER_EXCLUDE_SCHEMA;
	char	   *sre = NULL,
			   *nre = NULL;
	const char *why = NULL;
	if (catalog_pattern_regex(pattern, schema, &sre, &nre, &why) != 0)
	{
		err_set(err, "invalid %s pattern \"%s\": %s", schema ? "schema" : "table", pattern, why);
		return -1;
	}
	f->items = xrealloc(f->items, (size_t) (f->n + 1) * sizeof *f->items);
	static const char *const opt[] = {"--schema=", "--exclude-schema=", "--table=", "--exclude-table="};
	f->items[f->n++] = (catalog_filter_pattern) {kind, xstrdup(pattern), xasprintf("%s%s", opt[kind], pattern),
		sre, nre};
	return 0;
}

bool
catalog_filter_active(const catalog_filter *f)
{
	return f && f->n > 0;
}

bool
catalog_filter_large_objects(const catalog_filter *f)
{
	for (int i = 0; f && i < f->n; i++)
		if (f->items[i].kind == CATALOG_FILTER_SCHEMA || f->items[i].kind == CATALOG_FILTER_TABLE)
			return false;
	return true;
}

const char **
catalog_filter_dump_args(const catalog_filter *f, bool no_blobs, bool schema_only)
{
	const char **out = xcalloc((size_t) (f ? f->n : 0) + 3, sizeof *out);
	int			n = 0;
	for (int i = 0; f && i < f->n; i++)
		out[n++] = f->items[i].arg;
	if (no_blobs)
		out[n++] = "--no-blobs";
	if (schema_only)
		out[n++] = "--schema-only";
	return out;
}

void
catalog_filter_free(catalog_filter *f)
{
	for (int i = 0; i < f->n; i++)
	{
		free(f->items[i].given);
		free(f->items[i].arg);
		free(f->items[i].schema_re);
		free(f->items[i].name_re);
	}
	free(f->items);
	f->items = NULL;
	f->n = 0;
}

/* The regexes of f's patterns of kind, as a JSON array (a string per schema
 * pattern, a [schema or null, name] pair per table pattern).  Owned by the
 * caller. */
static char *
catalog_filter_json(const catalog_filter *f, catalog_filter_kind kind, bool *unqualified)
{
	json_t	   *a = json_array();
	for (int i = 0; i < f->n; i++)
	{
		const catalog_filter_pattern *p = &f->items[i];
		if (p->kind != kind)
			continue;
		if (!p->name_re)
			json_array_append_new(a, json_string(p->schema_re));
		else
		{
			json_array_append_new(a, json_pack("[oo]", p->schema_re ? json_string(p->schema_re) : json_null(),
											   json_string(p->name_re)));
			if (!p->schema_re)
				*unqualified = true;
		}
	}
	char	   *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	char	   *r = xstrdup(s ? s : "[]");
	free(s);
	return r;
}

int
catalog_filter_apply(PGconn *conn, const catalog_filter *f, catalog_table *tables, int *ntables,
					 catalog_sequence *seqs, int *nseqs, pgc_err *err)
{
	if (!catalog_filter_active(f))
		return 0;
	int			nt = *ntables,
				ns = seqs ? *nseqs : 0;
	const char **names = xcalloc((size_t) (nt + ns) + 1, sizeof *names);
	for (int i = 0; i < nt; i++)
		names[i] = tables[i].qualified;
	for (int i = 0; i < ns; i++)
		names[nt + i] = seqs[i].qualified;
	bool		unqualified = false;
	char	   *params[5] = {
		catalog__json_array(names, nt + ns),
		catalog_filter_json(f, CATALOG_FILTER_SCHEMA, &unqualified),
		catalog_filter_json(f, CATALOG_FILTER_EXCLUDE_SCHEMA, &unqualified),
		catalog_filter_json(f, CATALOG_FILTER_TABLE, &unqualified),
		catalog_filter_json(f, CATALOG_FILTER_EXCLUDE_TABLE, &unqualified),
	};
	free(names);
	/* Unqualified table patterns match what the default search_path sees,
	 * as pg_dump's do. */
	char	   *saved = NULL;
	PGresult   *res = NULL;
	int			rc = -1;
	if (unqualified)
	{
		saved = conn_query_value(conn, "SELECT pg_catalog.current_setting('search_path')", 0, NULL, err);
		if (!saved || !(res = conn_query(conn, catalog_search_path_default_sql, 0, NULL, err)))
			goto done;
		PQclear(res);
	}
	res = conn_query(conn, catalog_filter_sql, 5, (const char *const *) params, err);
	if (saved)
	{
		pgc_err		e2 = PGC_ERR_INIT;
		const char *sp[1] = {saved};
		PGresult   *r2 = conn_query(conn, catalog_search_path_set_sql, 1, sp, res ? err : &e2);
		err_clear(&e2);
		if (!r2)
		{
			PQclear(res);
			res = NULL;
		}
		PQclear(r2);
	}
	if (!res)
	{
		err_prefix(err, "could not choose the tables: ");
		goto done;
	}
	bool	   *keep = xcalloc((size_t) (nt + ns) + 1, sizeof *keep);
	for (int r = 0; r < PQntuples(res); r++)
	{
		long		k = strtol(PQgetvalue(res, r, 0), NULL, 10);
		if (k >= 1 && k <= nt + ns)
			keep[k - 1] = true;
	}
	PQclear(res);
	int			m = 0;
	for (int i = 0; i < nt; i++)
	{
		if (keep[i])
			tables[m++] = tables[i];
		else
			catalog__table_clear(&tables[i]);
	}
	*ntables = m;
	m = 0;
	for (int i = 0; i < ns; i++)
	{
		if (keep[nt + i])
			seqs[m++] = seqs[i];
		else
			catalog__sequence_clear(&seqs[i]);
	}
	if (seqs)
		*nseqs = m;
	free(keep);
	rc = 0;
done:
	for (int i = 0; i < 5; i++)
		free(params[i]);
	free(saved);
	return rc;
}

int
catalog_filter_names(PGconn *conn, const catalog_filter *f, const char *const *schemas, const char *const *rels,
					 int n, bool *schema_chosen, bool *rel_chosen, pgc_err *err)
{
	for (int i = 0; i < n; i++)
	{
		schema_chosen[i] = true;
		rel_chosen[i] = rels[i] != NULL;
	}
	if (!catalog_filter_active(f) || n == 0)
		return 0;
	bool		unqualified = false;
	json_t	   *r = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(r, rels[i] ? json_string(rels[i]) : json_null());
	char	   *rj = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	char	   *params[6] = {
		catalog__json_array(schemas, n),
		catalog_filter_json(f, CATALOG_FILTER_SCHEMA, &unqualified),
		catalog_filter_json(f, CATALOG_FILTER_EXCLUDE_SCHEMA, &unqualified),
		catalog_filter_json(f, CATALOG_FILTER_TABLE, &unqualified),
		catalog_filter_json(f, CATALOG_FILTER_EXCLUDE_TABLE, &unqualified),
		xstrdup(rj ? rj : "[]"),
	};
	free(rj);
	PGresult   *res = conn_query(conn, catalog_filter_names_sql, 6, (const char *const *) params, err);
	for (int i = 0; i < 6; i++)
		free(params[i]);
	if (!res)
	{
		err_prefix(err, "could not choose the tables: ");
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++)
	{
		long		k = strtol(PQgetvalue(res, i, 0), NULL, 10);
		if (k < 1 || k > n)
			continue;
		schema_chosen[k - 1] = PQgetvalue(res, i, 1)[0] == 't';
		rel_chosen[k - 1] = PQgetvalue(res, i, 2)[0] == 't';
	}
	PQclear(res);
	return 0;
}
