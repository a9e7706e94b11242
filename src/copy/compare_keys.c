/*
 * compare_keys.c: the rows of a table that differ between two servers, by
 * primary key (see compare_keys.h).
 */
#include "copy/compare_keys.h"
#include "conn.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The primary key's columns, in key order, of the table named by $1. */
static const char compare_keys_pk_sql[] =
	"SELECT a.attname "
	"FROM pg_catalog.pg_index i "
	"CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
	"WHERE i.indrelid = $1::pg_catalog.regclass AND i.indisprimary "
	"ORDER BY k.ord";

/* One side's ordered stream of (key, row hash). */
typedef struct compare_keys_side
{
	PGconn	   *conn;
	PGresult   *row;			/* the current row, or NULL at the end */
	bool		done;
} compare_keys_side;

/* Advances to the next row; returns 0, or -1 with err set. */
static int
compare_keys_next(compare_keys_side *s, const char *sql, pgc_err *err)
{
	PQclear(s->row);
	s->row = NULL;
	if (s->done)
		return 0;
	PGresult   *res = PQgetResult(s->conn);
	if (res && PQresultStatus(res) == PGRES_SINGLE_TUPLE)
	{
		s->row = res;
		return 0;
	}
	int			rc = 0;
	if (res && PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		conn_err_from_result(err, s->conn, res, sql);
		rc = -1;
	}
	PQclear(res);
	/* Drain to the end of the query. */
	while ((res = PQgetResult(s->conn)) != NULL)
		PQclear(res);
	s->done = true;
	return rc;
}

/* A {"count": 0, "keys": []} object. */
static json_t *
compare_keys_list(void)
{
	json_t	   *o = json_object();
	json_object_set_new(o, "count", json_integer(0));
	json_object_set_new(o, "keys", json_array());
	return o;
}

/* Counts a key in list, and keeps it while fewer than COMPARE_KEYS_MAX are. */
static void
compare_keys_note(json_t *list, const char *key)
{
	json_t	   *count = json_object_get(list, "count");
	json_integer_set(count, json_integer_value(count) + 1);
	json_t	   *keys = json_object_get(list, "keys");
	if (json_array_size(keys) >= COMPARE_KEYS_MAX)
		return;
	json_t	   *k = json_loads(key, 0, NULL);
	json_array_append_new(keys, k ? k : json_string(key));
}

int
compare_keys_diff(PGconn *src, PGconn *tgt, const char *qualified, const char *columns, json_t **out,
				  pgc_err *err)
{
	*out = NULL;
	const char *params[1] = {qualified};
	PGresult   *pk = conn_query(src, compare_keys_pk_sql, 1, params, err);
	if (!pk)
		return -1;
	if (PQntuples(pk) == 0)
	{
		PQclear(pk);
		return 0;
	}
	/* jsonb_build_object('col', "col", ...) and "col", ... */
	buf_t		key = {0}, order = {0};
	json_t	   *pkcols = json_array();
	for (int i = 0; i < PQntuples(pk); i++)
	{
		const char *col = PQgetvalue(pk, i, 0);
		char	   *lit = conn_quote_literal(src, col);
		char	   *ident = conn_quote_ident(src, col);
		buf_printf(&key, "%s%s, %s", i ? ", " : "", lit, ident);
		buf_printf(&order, "%s%s", i ? ", " : "", ident);
		json_array_append_new(pkcols, json_string(col));
		free(lit);
		free(ident);
	}
	PQclear(pk);
	char	   *sql = xasprintf("SELECT k, pg_catalog.md5(ROW(%s)::text) "
								"FROM (SELECT pg_catalog.jsonb_build_object(%s)::text AS k, %s FROM %s) t "
								"ORDER BY k COLLATE \"C\"",
								columns && *columns ? columns : "", key.data, columns && *columns ? columns : order.data,
								qualified);
	buf_free(&key);
	buf_free(&order);

	json_t	   *only_src = compare_keys_list(), *only_tgt = compare_keys_list(), *differ = compare_keys_list();
	compare_keys_side s[2] = {{src, NULL, false}, {tgt, NULL, false}};
	int			rc = 0;
	for (int i = 0; i < 2; i++)
	{
		if (!PQsendQuery(s[i].conn, sql) || !PQsetSingleRowMode(s[i].conn))
		{
			conn_err_from_result(err, s[i].conn, NULL, sql);
			s[i].done = i == 1;		/* the first one's query runs: drain it */
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		rc = compare_keys_next(&s[0], sql, err) != 0 || compare_keys_next(&s[1], sql, err) != 0 ? -1 : 0;
	while (rc == 0 && (s[0].row || s[1].row))
	{
		const char *ka = s[0].row ? PQgetvalue(s[0].row, 0, 0) : NULL;
		const char *kb = s[1].row ? PQgetvalue(s[1].row, 0, 0) : NULL;
		int			c = !ka ? 1 : !kb ? -1 : strcmp(ka, kb);
		if (c < 0)
			compare_keys_note(only_src, ka);
		else if (c > 0)
			compare_keys_note(only_tgt, kb);
		else if (strcmp(PQgetvalue(s[0].row, 0, 1), PQgetvalue(s[1].row, 0, 1)) != 0)
			compare_keys_note(differ, ka);
		if (c <= 0 && compare_keys_next(&s[0], sql, err) != 0)
			rc = -1;
		if (c >= 0 && rc == 0 && compare_keys_next(&s[1], sql, err) != 0)
			rc = -1;
	}
	for (int i = 0; i < 2; i++)
	{
		PQclear(s[i].row);
		s[i].row = NULL;
		if (!s[i].done)
		{
			PGresult   *res;
			while ((res = PQgetResult(s[i].conn)) != NULL)
				PQclear(res);
		}
	}
	free(sql);
	if (rc != 0)
	{
		json_decref(pkcols);
		json_decref(only_src);
		json_decref(only_tgt);
		json_decref(differ);
		return -1;
	}
	json_t	   *o = json_object();
	json_object_set_new(o, "primary_key", pkcols);
	json_object_set_new(o, "only_on_source", only_src);
	json_object_set_new(o, "only_on_target", only_tgt);
	json_object_set_new(o, "rows_differ", differ);
	*out = o;
	return 0;
}
