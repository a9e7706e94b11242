/*
 * expand_plan.c: the SQL of every phase of an expand/contract migration
 * (see expand_plan.h for the plan's layout).
 *
 * Every identifier goes through conn_quote_ident / conn_qualify; catalog
 * values are read with parameters.  What the migration file gives as SQL
 * (types, defaults, check expressions, using/back expressions, raw
 * statements) is the author's SQL and is used as written, like any
 * migration file's SQL.
 *
 * Sync triggers all have the same guard: when the transaction-local setting
 * pgcarry.expand_sync is 'off' they do nothing (a WHEN clause, so that the
 * backfill's rows do not even queue trigger events, and again inside).  A trigger sets it
 * to 'off' around the writes it makes into the other shape, so the other
 * shape's trigger does not write back (no recursion between the two
 * directions); the backfill sets it for its whole batch transaction.
 */
#include "expand/expand_plan.h"

#include "conn.h"
#include "expand/expand_spec.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Everything one operation's generator needs, and the strings to free. */
typedef struct plan_gen
{
	PGconn	   *conn;
	json_t	   *plan;
	const char *mig;		/* migration name */
	int			n;			/* operation number, from 1 */
	const char *opname;
	char	  **owned;
	int			nowned;
	int			capowned;
} plan_gen;

static const char *
plan_keep(plan_gen *g, char *s)
{
	if (g->nowned == g->capowned)
	{
		g->capowned = g->capowned ? g->capowned * 2 : 32;
		g->owned = xrealloc(g->owned, sizeof(char *) * g->capowned);
	}
	g->owned[g->nowned++] = s;
	return s;
}

static const char *
plan_q(plan_gen *g, const char *ident)
{
	return plan_keep(g, conn_quote_ident(g->conn, ident));
}

static const char *
plan_lit(plan_gen *g, const char *s)
{
	return plan_keep(g, conn_quote_literal(g->conn, s));
}

static const char *
plan_qual(plan_gen *g, const char *schema, const char *name)
{
	return plan_keep(g, conn_qualify(g->conn, schema, name));
}

static const char *
plan_fmt(plan_gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *
plan_fmt(plan_gen *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return plan_keep(g, s);
}

/* Appends a step to a phase; returns it (owned by the plan). */
static json_t *
plan_step(plan_gen *g, const char *phase, const char *what, const char *sql, int autocommit,
		  const char *done_sql, const char *undo_sql)
{
	json_t *s = json_object();
	json_object_set_new(s, "what", json_string(what));
	json_object_set_new(s, "sql", json_string(sql));
	json_object_set_new(s, "autocommit", json_boolean(autocommit));
	if (done_sql)
		json_object_set_new(s, "done_sql", json_string(done_sql));
	if (undo_sql)
		json_object_set_new(s, "undo_sql", json_string(undo_sql));
	json_array_append_new(json_object_get(g->plan, phase), s);
	return s;
}

/* Rollback steps run in reverse operation order: they are prepended.
 * Returns the step (owned by the plan). */
static json_t *
plan_rollback_step(plan_gen *g, const char *what, const char *sql, int autocommit, int *pos)
{
	json_t *s = json_object();
	json_object_set_new(s, "what", json_string(what));
	json_object_set_new(s, "sql", json_string(sql));
	json_object_set_new(s, "autocommit", json_boolean(autocommit));
	json_array_insert_new(json_object_get(g->plan, "rollback"), (size_t) (*pos)++, s);
	return s;
}

/*
 * Names the two tables a step locks, in the order to take them: the step
 * runs with lockexec's deadlock-free locking (lockexec.h), so a step that
 * touches both sides of a sync does not deadlock with an application that
 * writes one table and, through the triggers, the other.  first is the
 * table the application most likely locks first: for a move, the old table,
 * whose row both versions write or lock before they touch the new one (see
 * docs/expand-contract.md); any other order costs retries, not errors.
 */
static void
plan_locks(json_t *step, const char *mode, const char *first, const char *second)
{
	json_t *l = json_array();
	json_array_append_new(l, json_string(first));
	json_array_append_new(l, json_string(second));
	json_object_set_new(step, "locks", l);
	json_object_set_new(step, "lock_mode", json_string(mode));
}

static void
plan_err(plan_gen *g, pgc_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
plan_err(plan_gen *g, pgc_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	err_set(err, "operation %d (%s): %s", g->n, g->opname, m);
	free(m);
}

/* ------------------------------------------------------------ catalog */

typedef struct plan_table
{
	const char *schema;
	const char *name;
	const char *qt;			/* "schema"."table" */
	char		oid[16];
	const char *pk;			/* quoted primary key column */
	const char *pk_name;	/* its name, unquoted */
	const char *pk_type;	/* format_type() of it */
} plan_table;

static const char plan_table_sql[] =
	"SELECT c.oid::text, a.attname, format_type(a.atttypid, a.atttypmod), "
	"       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) "
	"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1 "
	"LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
	"WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";

/* Reads a table and its single-column primary key (needed when need_pk). */
static int
plan_table_read(plan_gen *g, const char *schema, const char *name, int need_pk, plan_table *t,
				pgc_err *err)
{
	const char *params[2] = {schema, name};
	PGresult *res = conn_query(g->conn, plan_table_sql, 2, params, err);
	if (!res)
		return -1;
	memset(t, 0, sizeof *t);
	t->schema = schema;
	t->name = name;
	t->qt = plan_qual(g, schema, name);
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		plan_err(g, err, "table %s does not exist", t->qt);
		err_hint(err, "Check \"schema\" and \"table\" in the migration file.");
		return -1;
	}
	snprintf(t->oid, sizeof t->oid, "%s", PQgetvalue(res, 0, 0));
	if (PQgetisnull(res, 0, 1))
	{
		PQclear(res);
		if (!need_pk)
			return 0;
		plan_err(g, err, "table %s has no single-column primary key", t->qt);
		err_detail(err, "Backfill and verification walk the table in batches of its primary key.");
		err_hint(err, "Add a primary key on one column first (for example with a plain migration).");
		return -1;
	}
	t->pk_name = plan_keep(g, xstrdup(PQgetvalue(res, 0, 1)));
	t->pk = plan_q(g, t->pk_name);
	t->pk_type = plan_keep(g, xstrdup(PQgetvalue(res, 0, 2)));
	PQclear(res);
	return 0;
}

typedef struct plan_column
{
	const char *type;		/* format_type() */
	int			not_null;
	const char *def;		/* default expression or NULL */
	const char *seq;		/* owned sequence (qualified, quoted) or NULL */
	int			in_constraint;
	const char *index;		/* an index using it, or NULL */
} plan_column;

static const char plan_column_sql[] =
	"SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), "
	"       (SELECT s.oid::regclass::text FROM pg_depend dp JOIN pg_class s ON s.oid = dp.objid "
	"         WHERE dp.refobjid = a.attrelid AND dp.refobjsubid = a.attnum AND dp.classid = 'pg_class'::regclass "
	"           AND s.relkind = 'S' AND dp.deptype IN ('a', 'i') LIMIT 1), "
	"       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = a.attrelid AND a.attnum = ANY (k.conkey) "
	"                 AND k.contype IN ('p', 'u', 'f', 'x')) "
	"       OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.confrelid = a.attrelid AND a.attnum = ANY (k.confkey)), "
	"       (SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = a.attrelid "
	"         AND a.attnum = ANY (i.indkey::int2[]) LIMIT 1) "
	"FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
	"WHERE a.attrelid = $1::oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped";

/* Reads a column; returns 1 when found, 0 when not, -1 on error. */
static int
plan_column_read(plan_gen *g, const plan_table *t, const char *col, plan_column *c, pgc_err *err)
{
	const char *params[2] = {t->oid, col};
	PGresult *res = conn_query(g->conn, plan_column_sql, 2, params, err);
	if (!res)
		return -1;
	memset(c, 0, sizeof *c);
	int found = PQntuples(res) == 1;
	if (found)
	{
		c->type = plan_keep(g, xstrdup(PQgetvalue(res, 0, 0)));
		c->not_null = PQgetvalue(res, 0, 1)[0] == 't';
		if (!PQgetisnull(res, 0, 2))
			c->def = plan_keep(g, xstrdup(PQgetvalue(res, 0, 2)));
		if (!PQgetisnull(res, 0, 3))
			c->seq = plan_keep(g, xstrdup(PQgetvalue(res, 0, 3)));
		c->in_constraint = PQgetvalue(res, 0, 4)[0] == 't';
		if (!PQgetisnull(res, 0, 5))
			c->index = plan_keep(g, xstrdup(PQgetvalue(res, 0, 5)));
	}
	PQclear(res);
	return found;
}

static int
plan_need_column(plan_gen *g, const plan_table *t, const char *col, plan_column *c, pgc_err *err)
{
	int r = plan_column_read(g, t, col, c, err);
	if (r == 0)
	{
		plan_err(g, err, "column %s of table %s does not exist", plan_q(g, col), t->qt);
		err_hint(err, "Check the column names in the migration file.");
	}
	return r == 1 ? 0 : -1;
}

static int
plan_no_column(plan_gen *g, const plan_table *t, const char *col, pgc_err *err)
{
	plan_column c;
	int r = plan_column_read(g, t, col, &c, err);
	if (r == 1)
	{
		plan_err(g, err, "column %s of table %s already exists", plan_q(g, col), t->qt);
		err_hint(err, "Choose another name, or drop the column first.");
	}
	return r == 0 ? 0 : -1;
}

static int
plan_check_type(plan_gen *g, const char *type, pgc_err *err)
{
	const char *params[1] = {type};
	PGresult *res = conn_query(g->conn, "SELECT to_regtype($1) IS NOT NULL", 1, params, err);
	if (!res)
	{
		err_clear(err);
		res = NULL;
	}
	int ok = res && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!ok)
	{
		plan_err(g, err, "type \"%s\" does not exist", type);
		err_hint(err, "Write the type as in CREATE TABLE, for example bigint or numeric(12,2).");
		return -1;
	}
	return 0;
}

/* Refuses SQL text that would end pgcarry's dollar quoting. */
static int
plan_check_text(plan_gen *g, const char *what, const char *s, pgc_err *err)
{
	if (s && strstr(s, "$pgcarry$"))
	{
		plan_err(g, err, "%s must not contain \"$pgcarry$\"", what);
		err_hint(err, "Use another dollar-quote tag.");
		return -1;
	}
	return 0;
}

/* --------------------------------------------------- shared fragments */

/*
 * keys_sql: the next batch of keys.  filter (on alias m, or NULL) keeps only
 * rows that still need work, so rows already written by the sync triggers
 * cost nothing; lock locks the batch's rows against concurrent writers (an
 * UPDATE-style backfill needs no lock: its UPDATE locks and rechecks rows).
 */
static const char *
plan_keys_sql(plan_gen *g, const plan_table *t, int lock, const char *filter)
{
	return plan_fmt(g,
					"SELECT max(k)::text, count(*) FROM (SELECT m.%s AS k FROM %s AS m "
					"WHERE ($1::text IS NULL OR m.%s > ($1::text)::%s) "
					"AND ($3::text IS NULL OR m.%s <= ($3::text)::%s)%s%s%s "
					"ORDER BY m.%s LIMIT $2::int%s) AS pgcarry_keys",
					t->pk, t->qt, t->pk, t->pk_type, t->pk, t->pk_type,
					filter ? " AND (" : "", filter ? filter : "", filter ? ")" : "", t->pk,
					lock ? " FOR NO KEY UPDATE OF m" : "");
}

/* The range predicate of a batch on alias a. */
static const char *
plan_range(plan_gen *g, const plan_table *t, const char *a)
{
	return plan_fmt(g, "($1::text IS NULL OR %s.%s > ($1::text)::%s) AND %s.%s <= ($2::text)::%s",
					a, t->pk, t->pk_type, a, t->pk, t->pk_type);
}

static void
plan_backfill(plan_gen *g, const plan_table *t, const char *label, const char *batch_sql,
			  const char *filter, int lock)
{
	json_t *b = json_object();
	json_object_set_new(b, "label", json_string(label));
	json_object_set_new(b, "end_sql", json_string(plan_fmt(g, "SELECT max(%s)::text FROM %s", t->pk, t->qt)));
	json_object_set_new(b, "count_sql", json_string(plan_fmt(g,
		"SELECT count(*) FROM %s AS m WHERE m.%s <= ($1::text)::%s%s%s%s", t->qt, t->pk, t->pk_type,
		filter ? " AND (" : "", filter ? filter : "", filter ? ")" : "")));
	json_object_set_new(b, "keys_sql", json_string(plan_keys_sql(g, t, lock, filter)));
	json_object_set_new(b, "batch_sql", json_string(batch_sql));
	json_array_append_new(json_object_get(g->plan, "backfill"), b);
}

static void
plan_verify(plan_gen *g, const plan_table *t, const char *label, const char *batch_sql,
			const char *once_sql, const char *counts_sql)
{
	json_t *v = json_object();
	json_object_set_new(v, "label", json_string(label));
	if (batch_sql)
	{
		json_object_set_new(v, "keys_sql", json_string(plan_keys_sql(g, t, 0, NULL)));
		json_object_set_new(v, "batch_sql", json_string(batch_sql));
	}
	if (once_sql)
		json_object_set_new(v, "once_sql", json_string(once_sql));
	if (counts_sql)
		json_object_set_new(v, "counts_sql", json_string(counts_sql));
	json_array_append_new(json_object_get(g->plan, "verify"), v);
}

/* A name of pgcarry's own for a trigger, function or constraint. */
static const char *
plan_own(plan_gen *g, const char *suffix)
{
	return plan_fmt(g, "pgcarry_%s_%d_%s", g->mig, g->n, suffix);
}

static const char *
plan_func(plan_gen *g, const char *suffix)
{
	return plan_qual(g, EXPAND_PLAN_SCHEMA, plan_own(g, suffix));
}

/* done_sql/undo_sql for an index built concurrently. */
static const char *
plan_index_done(plan_gen *g, const char *schema, const char *index)
{
	return plan_fmt(g,
					"SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
					"JOIN pg_namespace n ON n.oid = c.relnamespace "
					"WHERE n.nspname = %s AND c.relname = %s AND i.indisvalid",
					plan_lit(g, schema), plan_lit(g, index));
}

static const char *
plan_constraint_validated(plan_gen *g, const plan_table *t, const char *name)
{
	return plan_fmt(g,
					"SELECT %s, 'constraint is missing or not validated' "
					"WHERE NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass "
					"AND conname = %s AND convalidated)",
					plan_lit(g, name), plan_lit(g, t->qt), plan_lit(g, name));
}

/* -------------------------------------------------------- operations */

static int
plan_add_column(plan_gen *g, json_t *op, int *rb, pgc_err *err)
{
	plan_table t;
	const char *schema = expand_spec_str(op, "schema", "public");
	const char *col = expand_spec_str(op, "column", NULL);
	const char *type = expand_spec_str(op, "type", NULL);
	const char *def = expand_spec_str(op, "default", NULL);
	int not_null = expand_spec_bool(op, "not_null", 0);
	if (plan_table_read(g, schema, expand_spec_str(op, "table", NULL), 1, &t, err) != 0 ||
		plan_no_column(g, &t, col, err) != 0 || plan_check_type(g, type, err) != 0)
		return -1;
	if (not_null && !def)
	{
		plan_err(g, err, "a NOT NULL column needs a \"default\"");
		err_detail(err, "The running application does not know the column and inserts rows without it.");
		err_hint(err, "Give \"default\", or leave \"not_null\" out.");
		return -1;
	}
	const char *qc = plan_q(g, col);
	buf_t b = {0};
	buf_printf(&b, "ALTER TABLE %s ADD COLUMN %s %s", t.qt, qc, type);
	if (def)
		buf_printf(&b, ";\nALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", t.qt, qc, def);
	plan_step(g, "expand", plan_fmt(g, "add column %s to %s", qc, t.qt), plan_keep(g, buf_steal(&b)), 0,
			  NULL, NULL);
	plan_rollback_step(g, plan_fmt(g, "drop column %s of %s", qc, t.qt),
					   plan_fmt(g, "ALTER TABLE %s DROP COLUMN IF EXISTS %s", t.qt, qc), 0, rb);
	if (!def)
		return 0;
	const char *label = plan_fmt(g, "%s.%s", t.qt, qc);
	plan_backfill(g, &t, label, plan_fmt(g,
		"UPDATE %s AS t SET %s = %s WHERE %s AND t.%s IS NULL",
		t.qt, qc, def, plan_range(g, &t, "t"), qc), plan_fmt(g, "m.%s IS NULL", qc), 0);
	if (not_null)
	{
		const char *ck = plan_q(g, plan_own(g, "not_null"));
		plan_step(g, "validate", plan_fmt(g, "add CHECK (%s IS NOT NULL) NOT VALID", qc),
				  plan_fmt(g, "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID", t.qt, ck, qc),
				  0, NULL, NULL);
		plan_step(g, "validate", plan_fmt(g, "validate CHECK (%s IS NOT NULL)", qc),
				  plan_fmt(g, "ALTER TABLE %s VALIDATE CONSTRAINT %s", t.qt, ck), 0, NULL, NULL);
		plan_step(g, "contract", plan_fmt(g, "set %s NOT NULL using the validated check", qc),
				  plan_fmt(g, "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\n"
						   "ALTER TABLE %s DROP CONSTRAINT %s", t.qt, qc, t.qt, ck), 0, NULL, NULL);
		plan_rollback_step(g, "drop the NOT NULL check",
						   plan_fmt(g, "ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", t.qt, ck), 0, rb);
		plan_verify(g, &t, label, plan_fmt(g,
			"SELECT t.%s::text, %s FROM %s AS t WHERE %s AND t.%s IS NULL",
			t.pk, plan_lit(g, plan_fmt(g, "%s is null", col)), t.qt, plan_range(g, &t, "t"), qc),
			NULL, NULL);
	}
	return 0;
}

static const char *
plan_ident_list(plan_gen *g, json_t *arr, const char *prefix)
{
	buf_t b = {0};
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		buf_printf(&b, "%s%s%s", i ? ", " : "", prefix, plan_q(g, json_string_value(v)));
	return plan_keep(g, buf_steal(&b));
}

static int
plan_add_constraint(plan_gen *g, json_t *op, int *rb, pgc_err *err)
{
	plan_table t;
	const char *schema = expand_spec_str(op, "schema", "public");
	const char *name = expand_spec_str(op, "name", NULL);
	if (plan_table_read(g, schema, expand_spec_str(op, "table", NULL), 1, &t, err) != 0)
		return -1;
	const char *qk = plan_q(g, name);
	const char *label = plan_fmt(g, "constraint %s on %s", qk, t.qt);
	const char *check = expand_spec_str(op, "check", NULL);
	json_t *fk = json_object_get(op, "foreign_key");
	json_t *uniq = json_object_get(op, "unique");
	if (uniq)
	{
		size_t i;
		json_t *v;
		plan_column c;
		json_array_foreach(uniq, i, v)
			if (plan_need_column(g, &t, json_string_value(v), &c, err) != 0)
				return -1;
		const char *cols = plan_ident_list(g, uniq, "");
		plan_step(g, "expand", plan_fmt(g, "build unique index %s concurrently", qk),
				  plan_fmt(g, "CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (%s)", qk, t.qt, cols), 1,
				  plan_index_done(g, schema, name),
				  plan_fmt(g, "DROP INDEX CONCURRENTLY IF EXISTS %s", plan_qual(g, schema, name)));
		plan_step(g, "expand", plan_fmt(g, "add unique constraint %s using the index", qk),
				  plan_fmt(g, "ALTER TABLE %s ADD CONSTRAINT %s UNIQUE USING INDEX %s", t.qt, qk, qk), 0,
				  NULL, NULL);
		plan_rollback_step(g, plan_fmt(g, "drop constraint %s", qk),
						   plan_fmt(g, "ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", t.qt, qk), 0, rb);
		plan_rollback_step(g, plan_fmt(g, "drop index %s", qk),
						   plan_fmt(g, "DROP INDEX CONCURRENTLY IF EXISTS %s", plan_qual(g, schema, name)), 1, rb);
		buf_t once = {0};
		buf_printf(&once, "SELECT row(%s)::text, count(*)::text || ' rows share this value' FROM %s WHERE ",
				   cols, t.qt);
		json_array_foreach(uniq, i, v)
			buf_printf(&once, "%s%s IS NOT NULL", i ? " AND " : "", plan_q(g, json_string_value(v)));
		buf_printf(&once, " GROUP BY %s HAVING count(*) > 1 UNION ALL %s", cols,
				   plan_constraint_validated(g, &t, name));
		plan_verify(g, &t, label, NULL, plan_keep(g, buf_steal(&once)), NULL);
		return 0;
	}
	const char *batch;
	const char *fk_ref = NULL;	/* the referenced table of a foreign key */
	if (check)
	{
		if (plan_check_text(g, "\"check\"", check, err) != 0)
			return -1;
		plan_step(g, "expand", plan_fmt(g, "add check constraint %s NOT VALID", qk),
				  plan_fmt(g, "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s) NOT VALID", t.qt, qk, check),
				  0, NULL, NULL);
		batch = plan_fmt(g, "SELECT t.%s::text, %s FROM %s AS t WHERE %s AND NOT (%s)", t.pk,
						 plan_lit(g, plan_fmt(g, "violates check constraint %s", name)), t.qt,
						 plan_range(g, &t, "t"), check);
	}
	else
	{
		json_t *cols = json_object_get(fk, "columns");
		json_t *rcols = json_object_get(fk, "ref_columns");
		const char *rschema = expand_spec_str(fk, "ref_schema", schema);
		plan_table r;
		plan_column c;
		size_t i;
		json_t *v;
		json_array_foreach(cols, i, v)
			if (plan_need_column(g, &t, json_string_value(v), &c, err) != 0)
				return -1;
		if (plan_table_read(g, rschema, expand_spec_str(fk, "references", NULL), 0, &r, err) != 0)
			return -1;
		json_array_foreach(rcols, i, v)
			if (plan_need_column(g, &r, json_string_value(v), &c, err) != 0)
				return -1;
		const char *od = expand_spec_str(fk, "on_delete", NULL);
		plan_locks(plan_step(g, "expand", plan_fmt(g, "add foreign key %s NOT VALID", qk),
							 plan_fmt(g, "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)%s%s "
									  "NOT VALID", t.qt, qk, plan_ident_list(g, cols, ""), r.qt,
									  plan_ident_list(g, rcols, ""), od ? " ON DELETE " : "", od ? od : ""),
							 0, NULL, NULL),
				   "SHARE ROW EXCLUSIVE", t.qt, r.qt);
		fk_ref = r.qt;
		buf_t b = {0};
		buf_printf(&b, "SELECT t.%s::text, %s FROM %s AS t WHERE %s", t.pk,
				   plan_lit(g, plan_fmt(g, "no matching row in %s", r.qt)), t.qt, plan_range(g, &t, "t"));
		json_array_foreach(cols, i, v)
			buf_printf(&b, " AND t.%s IS NOT NULL", plan_q(g, json_string_value(v)));
		buf_printf(&b, " AND NOT EXISTS (SELECT 1 FROM %s AS r WHERE ", r.qt);
		json_array_foreach(cols, i, v)
			buf_printf(&b, "%sr.%s = t.%s", i ? " AND " : "",
					   plan_q(g, json_string_value(json_array_get(rcols, i))),
					   plan_q(g, json_string_value(v)));
		buf_puts(&b, ")");
		batch = plan_keep(g, buf_steal(&b));
	}
	plan_step(g, "validate", plan_fmt(g, "validate constraint %s", qk),
			  plan_fmt(g, "ALTER TABLE %s VALIDATE CONSTRAINT %s", t.qt, qk), 0, NULL, NULL);
	json_t *drop = plan_rollback_step(g, plan_fmt(g, "drop constraint %s", qk),
									  plan_fmt(g, "ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", t.qt, qk), 0, rb);
	if (fk_ref)
		plan_locks(drop, "ACCESS EXCLUSIVE", t.qt, fk_ref);
	plan_verify(g, &t, label, batch, plan_constraint_validated(g, &t, name), NULL);
	return 0;
}

static int
plan_create_index(plan_gen *g, json_t *op, int *rb, pgc_err *err)
{
	plan_table t;
	const char *schema = expand_spec_str(op, "schema", "public");
	const char *name = expand_spec_str(op, "name", NULL);
	const char *method = expand_spec_str(op, "method", NULL);
	const char *where = expand_spec_str(op, "where", NULL);
	json_t *cols = json_object_get(op, "columns");
	if (plan_table_read(g, schema, expand_spec_str(op, "table", NULL), 0, &t, err) != 0)
		return -1;
	size_t i;
	json_t *v;
	plan_column c;
	json_array_foreach(cols, i, v)
		if (plan_need_column(g, &t, json_string_value(v), &c, err) != 0)
			return -1;
	const char *qi = plan_q(g, name);
	const char *qsi = plan_qual(g, schema, name);
	plan_step(g, "expand", plan_fmt(g, "build index %s concurrently", qi),
			  plan_fmt(g, "CREATE %sINDEX CONCURRENTLY %s ON %s%s%s (%s)%s%s",
					   expand_spec_bool(op, "unique", 0) ? "UNIQUE " : "", qi, t.qt,
					   method ? " USING " : "", method ? plan_q(g, method) : "",
					   plan_ident_list(g, cols, ""), where ? " WHERE " : "", where ? where : ""),
			  1, plan_index_done(g, schema, name),
			  plan_fmt(g, "DROP INDEX CONCURRENTLY IF EXISTS %s", qsi));
	plan_rollback_step(g, plan_fmt(g, "drop index %s", qi),
					   plan_fmt(g, "DROP INDEX CONCURRENTLY IF EXISTS %s", qsi), 1, rb);
	plan_verify(g, &t, plan_fmt(g, "index %s", qsi), NULL,
				plan_fmt(g, "SELECT %s, 'index is missing or invalid' WHERE NOT EXISTS (%s)",
						 plan_lit(g, name), plan_index_done(g, schema, name)), NULL);
	return 0;
}

/*
 * change_type and rename_column: a new column beside the old one, a BEFORE
 * trigger that keeps both equal (through the using/back expressions), a
 * backfill, and at complete the old column dropped (and, for change_type,
 * the new one renamed to the old name).
 */
static int
plan_new_column(plan_gen *g, json_t *op, int rename, int *rb, pgc_err *err)
{
	plan_table t;
	plan_column c;
	const char *schema = expand_spec_str(op, "schema", "public");
	const char *col = expand_spec_str(op, "column", NULL);
	if (plan_table_read(g, schema, expand_spec_str(op, "table", NULL), 1, &t, err) != 0 ||
		plan_need_column(g, &t, col, &c, err) != 0)
		return -1;
	const char *newcol = rename ? expand_spec_str(op, "to", NULL)
		: expand_spec_str(op, "new_column", plan_fmt(g, "%s_new", col));
	const char *type = rename ? c.type : expand_spec_str(op, "type", NULL);
	const char *qc = plan_q(g, col), *qn = plan_q(g, newcol);
	const char *using = rename ? qc : expand_spec_str(op, "using", plan_fmt(g, "%s::%s", qc, type));
	const char *back = rename ? qc : expand_spec_str(op, "back", plan_fmt(g, "%s::%s", qc, c.type));
	if (plan_no_column(g, &t, newcol, err) != 0 || plan_check_type(g, type, err) != 0 ||
		plan_check_text(g, "\"using\"", using, err) != 0 || plan_check_text(g, "\"back\"", back, err) != 0)
		return -1;
	if (c.in_constraint || strcmp(col, t.pk_name) == 0)
	{
		plan_err(g, err, "column %s of %s is part of a key or constraint", qc, t.qt);
		err_detail(err, "Complete drops the old column, and its constraints with it.");
		err_hint(err, "Change key columns with a plain migration in a maintenance window.");
		return -1;
	}
	/*
	 * The sync (docs/expand-contract.md, "What each write does to the other
	 * shape"): a BEFORE trigger sets the column the write did not change
	 * from the one it changed.  It runs as the application's role.
	 *
	 * The audit of what it overwrites: when the sync replaces a non-null
	 * value of the other column by a different one, the sync trigger says so
	 * in a transaction-local setting of this operation's own (flag): "new"
	 * (the old version changed the old column, and the new column held what
	 * the old one showed), "new unexplained" (the new column held a value
	 * the old version could not see: the two disagreed), or "old" (the new
	 * version wrote the new column).  The next write's sync trigger clears
	 * it.  AFTER UPDATE row triggers, whose WHEN is evaluated right after
	 * each row is written, record the row in EXPAND_PLAN_SCHEMA.sync_changes
	 * through a SECURITY DEFINER trigger function with EXECUTE revoked from
	 * PUBLIC: the application needs no rights on pgcarry's schema, cannot
	 * call the function nor attach it elsewhere, and so adds a record only
	 * by a write of this table that the sync really overwrote.  Writes that
	 * overwrite nothing cost a setting read and the WHEN checks.
	 */
	const char *trig = plan_q(g, plan_own(g, "sync"));
	const char *fn = plan_func(g, "sync");
	const char *faud = plan_func(g, "audit");
	const char *taud_n = plan_q(g, plan_own(g, "audit_new")), *taud_x = plan_q(g, plan_own(g, "audit_new_x")),
		*taud_o = plan_q(g, plan_own(g, "audit_old"));
	const char *flag = plan_lit(g, plan_fmt(g, "pgcarry.overwrote_%s_%d", g->mig, g->n));
	/* The expressions see the column under its own name. */
	const char *to_new = plan_fmt(g, "(SELECT (%s) FROM (SELECT NEW.%s AS %s) AS pgcarry_src)", using, qc, qc);
	const char *to_old = plan_fmt(g, "(SELECT (%s) FROM (SELECT NEW.%s AS %s) AS pgcarry_src)", back, qn, qc);
	const char *was_new = plan_fmt(g, "(SELECT (%s) FROM (SELECT OLD.%s AS %s) AS pgcarry_src)", using, qc, qc);
	const char *guard_on = "current_setting('" EXPAND_PLAN_GUARD "', true) IS DISTINCT FROM 'off'";
	const char *sql = plan_fmt(g,
		"ALTER TABLE %s ADD COLUMN %s %s;\n"
		"CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $pgcarry$\n"
		"BEGIN\n"
		"  IF current_setting('" EXPAND_PLAN_GUARD "', true) = 'off' THEN RETURN NEW; END IF;\n"
		"  IF current_setting(%s, true) <> '' THEN PERFORM set_config(%s, '', true); END IF;\n"
		"  IF TG_OP = 'INSERT' THEN\n"
		"    IF NEW.%s IS NULL THEN NEW.%s := %s; ELSE NEW.%s := %s; END IF;\n"
		"  ELSIF NEW.%s IS DISTINCT FROM OLD.%s AND NEW.%s IS NOT DISTINCT FROM OLD.%s THEN\n"
		"    NEW.%s := %s;\n"
		"    IF OLD.%s IS NOT NULL AND NEW.%s IS DISTINCT FROM OLD.%s THEN\n"
		"      PERFORM set_config(%s, CASE WHEN OLD.%s IS NOT DISTINCT FROM %s THEN 'new'\n"
		"                                  ELSE 'new unexplained' END, true);\n"
		"    END IF;\n"
		"  ELSIF NEW.%s IS DISTINCT FROM OLD.%s AND NEW.%s IS NOT DISTINCT FROM OLD.%s THEN\n"
		"    NEW.%s := %s;\n"
		"    IF OLD.%s IS NOT NULL AND NEW.%s IS DISTINCT FROM OLD.%s THEN\n"
		"      PERFORM set_config(%s, 'old', true);\n"
		"    END IF;\n"
		"  END IF;\n"
		"  RETURN NEW;\n"
		"END\n"
		"$pgcarry$;\n"
		"CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW\n"
		"  WHEN (%s) EXECUTE FUNCTION %s();\n"
		/* TG_ARGV: shape, column, cause ('' for none) */
		"CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER\n"
		"  SET search_path = pg_catalog, pg_temp AS $pgcarry$\n"
		"BEGIN\n"
		"  INSERT INTO " EXPAND_PLAN_SCHEMA ".sync_changes (migration, shape, action, relation, key, cause)\n"
		"  VALUES (%s, TG_ARGV[0], 'overwritten', format('%%I.%%I.%%I', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[1]),\n"
		"          NEW.%s::text, nullif(TG_ARGV[2], ''));\n"
		"  RETURN NULL;\n"
		"END\n"
		"$pgcarry$;\n"
		"REVOKE ALL ON FUNCTION %s() FROM PUBLIC;\n"
		"CREATE TRIGGER %s AFTER UPDATE ON %s FOR EACH ROW\n"
		"  WHEN (%s AND current_setting(%s, true) = 'new') EXECUTE FUNCTION %s('new', %s, %s);\n"
		"CREATE TRIGGER %s AFTER UPDATE ON %s FOR EACH ROW\n"
		"  WHEN (%s AND current_setting(%s, true) = 'new unexplained') EXECUTE FUNCTION %s('new', %s, '');\n"
		"CREATE TRIGGER %s AFTER UPDATE ON %s FOR EACH ROW\n"
		"  WHEN (%s AND current_setting(%s, true) = 'old') EXECUTE FUNCTION %s('old', %s, %s)",
		t.qt, qn, type, fn,
		flag, flag,
		qn, qn, to_new, qc, to_old,
		qc, qc, qn, qn, qn, to_new,
		qn, qn, qn, flag, qn, was_new,
		qn, qn, qc, qc, qc, to_old,
		qc, qc, qc, flag,
		trig, t.qt, guard_on, fn,
		faud, plan_lit(g, g->mig), t.pk, faud,
		taud_n, t.qt, guard_on, flag, faud, plan_lit(g, newcol),
		plan_lit(g, plan_fmt(g, "the old version changed %s", col)),
		taud_x, t.qt, guard_on, flag, faud, plan_lit(g, newcol),
		taud_o, t.qt, guard_on, flag, faud, plan_lit(g, col),
		plan_lit(g, plan_fmt(g, "the new version wrote %s", newcol)));
	plan_step(g, "expand", plan_fmt(g, "add column %s and its sync trigger on %s", qn, t.qt), sql, 0,
			  NULL, NULL);
	const char *drop_sync = plan_fmt(g,
		"DROP TRIGGER IF EXISTS %s ON %s;\nDROP TRIGGER IF EXISTS %s ON %s;\n"
		"DROP TRIGGER IF EXISTS %s ON %s;\nDROP TRIGGER IF EXISTS %s ON %s;\n"
		"DROP FUNCTION IF EXISTS %s();\nDROP FUNCTION IF EXISTS %s();\n",
		trig, t.qt, taud_n, t.qt, taud_x, t.qt, taud_o, t.qt, fn, faud);
	const char *ck = plan_q(g, plan_own(g, "not_null"));
	plan_rollback_step(g, plan_fmt(g, "drop column %s and its sync trigger", qn),
					   plan_fmt(g, "%sALTER TABLE %s DROP CONSTRAINT IF EXISTS %s;\n"
								"ALTER TABLE %s DROP COLUMN IF EXISTS %s",
								drop_sync, t.qt, ck, t.qt, qn), 0, rb);
	const char *label = plan_fmt(g, "%s.%s -> %s", t.qt, qc, qn);
	const char *src_t = plan_fmt(g, "(SELECT (%s) FROM (SELECT t.%s AS %s) AS pgcarry_src)", using, qc, qc);
	plan_backfill(g, &t, label, plan_fmt(g,
		"UPDATE %s AS t SET %s = %s WHERE %s AND t.%s IS NULL AND t.%s IS NOT NULL",
		t.qt, qn, src_t, plan_range(g, &t, "t"), qn, qc),
		plan_fmt(g, "m.%s IS NULL AND m.%s IS NOT NULL", qn, qc), 0);
	if (c.not_null)
	{
		plan_step(g, "validate", plan_fmt(g, "add CHECK (%s IS NOT NULL) NOT VALID", qn),
				  plan_fmt(g, "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID", t.qt, ck, qn),
				  0, NULL, NULL);
		plan_step(g, "validate", plan_fmt(g, "validate CHECK (%s IS NOT NULL)", qn),
				  plan_fmt(g, "ALTER TABLE %s VALIDATE CONSTRAINT %s", t.qt, ck), 0, NULL, NULL);
	}
	plan_verify(g, &t, label, plan_fmt(g,
		"SELECT t.%s::text, format('%%s = %%s but %%s = %%s', %s, quote_nullable(t.%s), %s, quote_nullable(t.%s)) "
		"FROM %s AS t WHERE %s AND t.%s IS DISTINCT FROM %s",
		t.pk, plan_lit(g, col), qc, plan_lit(g, newcol), qn, t.qt, plan_range(g, &t, "t"), qn, src_t),
		NULL, plan_fmt(g, "SELECT %s, count(%s), count(%s) FROM %s",
					   plan_lit(g, plan_fmt(g, "non-null values of %s and %s", col, newcol)), qc, qn, t.qt));
	buf_t b = {0};
	buf_printf(&b, "%s", drop_sync);
	if (c.seq)
		buf_printf(&b, "ALTER SEQUENCE %s OWNED BY %s.%s;\n", c.seq, t.qt, qn);
	buf_printf(&b, "ALTER TABLE %s DROP COLUMN %s", t.qt, qc);
	const char *final = rename ? qn : qc;
	if (!rename)
		buf_printf(&b, ";\nALTER TABLE %s RENAME COLUMN %s TO %s", t.qt, qn, qc);
	if (c.def)
		buf_printf(&b, ";\nALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", t.qt, final, c.def);
	if (c.not_null)
		buf_printf(&b, ";\nALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\nALTER TABLE %s DROP CONSTRAINT %s",
				   t.qt, final, t.qt, ck);
	plan_step(g, "contract", rename ? plan_fmt(g, "drop the old column %s", qc)
			  : plan_fmt(g, "drop the old column %s and rename %s to it", qc, qn),
			  plan_keep(g, buf_steal(&b)), 0, NULL, NULL);
	return 0;
}

/*
 * move_columns_to_table: the cat lovers case.  The old table keeps one set
 * of values per row (a member's cat); the new table holds any number of
 * rows per old row (cats), and the old columns mirror the new table's
 * first row (lowest key) for that old row.
 */
static int
plan_move(plan_gen *g, json_t *op, int *rb, pgc_err *err)
{
	plan_table t;
	const char *schema = expand_spec_str(op, "schema", "public");
	const char *newname = expand_spec_str(op, "new_table", NULL);
	const char *ref = expand_spec_str(op, "reference", NULL);
	const char *key = expand_spec_str(op, "new_key", "id");
	const char *od = expand_spec_str(op, "on_delete", "cascade");
	json_t *pairs = json_object_get(op, "columns");
	if (plan_table_read(g, schema, expand_spec_str(op, "table", NULL), 1, &t, err) != 0)
		return -1;
	const char *params[2] = {schema, newname};
	char *exists = conn_query_value(g->conn, "SELECT to_regclass(format('%I.%I', $1::text, $2::text))::text",
									2, params, err);
	if (err->set)
		return -1;
	if (exists)
	{
		free(exists);
		plan_err(g, err, "table %s already exists", plan_qual(g, schema, newname));
		err_hint(err, "Choose another \"new_table\", or drop that table first.");
		return -1;
	}
	size_t np = json_array_size(pairs);
	const char **from = xcalloc(np, sizeof(char *));
	const char **to = xcalloc(np, sizeof(char *));
	const char **types = xcalloc(np, sizeof(char *));
	plan_keep(g, (char *) from);
	plan_keep(g, (char *) to);
	plan_keep(g, (char *) types);
	for (size_t i = 0; i < np; i++)
	{
		json_t *p = json_array_get(pairs, i);
		plan_column c;
		if (plan_need_column(g, &t, expand_spec_str(p, "from", NULL), &c, err) != 0)
			return -1;
		from[i] = plan_q(g, expand_spec_str(p, "from", NULL));
		to[i] = plan_q(g, expand_spec_str(p, "to", NULL));
		types[i] = c.type;
		if (c.in_constraint || c.index)
		{
			plan_err(g, err, "column %s of %s is used by an index or constraint", from[i], t.qt);
			err_detail(err, "Complete drops the moved columns, and their indexes and constraints with them.");
			err_hint(err, "Drop the index or constraint first, or move other columns.");
			return -1;
		}
	}
	const char *qn = plan_qual(g, schema, newname);
	const char *qk = plan_q(g, key), *qr = plan_q(g, ref);
	/*
	 * expand 1: the new table, empty, with its index.  The foreign key comes
	 * after the backfill (NOT VALID, then VALIDATE: one set-based check)
	 * rather than here, where it would cost a lookup per copied row; until
	 * then a delete trigger does what ON DELETE CASCADE will do.
	 */
	buf_t b = {0};
	buf_printf(&b, "CREATE TABLE %s (\n  %s bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", qn, qk);
	for (size_t i = 0; i < np; i++)
		buf_printf(&b, ",\n  %s %s", to[i], types[i]);
	buf_printf(&b, ",\n  %s %s NOT NULL\n);\n", qr, t.pk_type);
	buf_printf(&b, "CREATE INDEX %s ON %s (%s, %s)", plan_q(g, plan_fmt(g, "%s_%s_idx", newname, ref)),
			   qn, qr, qk);
	plan_step(g, "expand", plan_fmt(g, "create table %s", qn), plan_keep(g, buf_steal(&b)), 0, NULL, NULL);

	/*
	 * expand 2: sync in both directions, and the audit of what the sync
	 * removes or overwrites.  The semantics (docs/expand-contract.md, "What
	 * each write does to the other shape"): a write that says nothing about
	 * the moved data never removes or overwrites it in the other shape.
	 *
	 * old -> new, a row trigger on the old table:
	 *   INSERT with values: a new row in the new table (the member's first
	 *     when it has none); INSERT without values: nothing (the new version
	 *     inserts members that way, and may add their rows in the same
	 *     statement); either way the old columns then mirror the first row.
	 *   UPDATE that changes the moved columns: to values, the first row
	 *     gets them (or is created); to all NULL, the first row goes (an
	 *     explicit clear), and the old columns show the next one.
	 *   UPDATE that leaves them as they were: nothing.
	 * new -> old, statement triggers on the new table (transition tables,
	 *   so a multi-row statement, COPY or data-modifying CTE is seen whole):
	 *   each member touched is locked (in key order), then a member that had
	 *   no row in the new table before the statement but has values in the
	 *   old columns (the backfill has not reached it) first gets those
	 *   values as a row of its own; then the old columns mirror the first
	 *   row (NULLs when none is left).
	 *
	 * Audit: every row the sync deletes or overwrites in either shape is
	 * recorded in EXPAND_PLAN_SCHEMA.sync_changes by row triggers that fire
	 * only under the guard (that is, for the sync's own writes), with the
	 * cause the sync trigger set in EXPAND_PLAN_CAUSE for an explicit change
	 * (NULL when nothing explains it).  The audit function runs with its
	 * owner's rights, so the application needs no rights on pgcarry's schema.
	 */
	const char *fold = plan_func(g, "old_to_new"), *fnew = plan_func(g, "new_to_old");
	const char *told = plan_q(g, plan_own(g, "old_to_new"));
	const char *tnew_i = plan_q(g, plan_own(g, "new_to_old_ins")), *tnew_u = plan_q(g, plan_own(g, "new_to_old_upd")),
		*tnew_d = plan_q(g, plan_own(g, "new_to_old_del"));
	const char *faud = plan_func(g, "audit");
	const char *taud_nd = plan_q(g, plan_own(g, "audit_new_del")), *taud_nu = plan_q(g, plan_own(g, "audit_new_upd")),
		*taud_o = plan_q(g, plan_own(g, "audit_old"));
	const char *guard_off = "current_setting('" EXPAND_PLAN_GUARD "', true) = 'off'";
	const char *guard_on = "current_setting('" EXPAND_PLAN_GUARD "', true) IS DISTINCT FROM 'off'";
	buf_t all_null = {0}, new_vals = {0}, to_list = {0}, into = {0}, set_old = {0}, set_new = {0},
		old_row = {0}, old_vals = {0}, var_row = {0}, declare = {0}, of_list = {0}, m_vals = {0},
		m_any = {0}, f_row = {0}, f_cols = {0}, set_f = {0}, o_any = {0}, x_new = {0}, x_old = {0};
	for (size_t i = 0; i < np; i++)
	{
		const char *sep = i ? ", " : "";
		buf_printf(&all_null, "%sNEW.%s IS NULL", i ? " AND " : "", from[i]);
		buf_printf(&set_new, "%s%s = NEW.%s", sep, to[i], from[i]);
		buf_printf(&new_vals, "%sNEW.%s", sep, from[i]);
		buf_printf(&old_vals, "%sOLD.%s", sep, from[i]);
		buf_printf(&to_list, "%s%s", sep, to[i]);
		buf_printf(&into, "%sv_%zu", sep, i);
		buf_printf(&declare, "  v_%zu %s;\n", i, types[i]);
		buf_printf(&set_old, "%s%s = v_%zu", sep, from[i], i);
		buf_printf(&old_row, "%s%s", sep, from[i]);
		buf_printf(&var_row, "%sv_%zu", sep, i);
		buf_printf(&of_list, "%s%s", sep, from[i]);
		buf_printf(&m_vals, "%sm.%s", sep, from[i]);
		buf_printf(&m_any, "%sm.%s IS NOT NULL", i ? " OR " : "", from[i]);
		buf_printf(&o_any, "%sOLD.%s IS NOT NULL", i ? " OR " : "", from[i]);
		buf_printf(&f_row, "%sf.pgcarry_v%zu", sep, i);
		buf_printf(&f_cols, "%sx.%s AS pgcarry_v%zu", sep, to[i], i);
		buf_printf(&set_f, "%s%s = f.pgcarry_v%zu", sep, from[i], i);
		buf_printf(&x_new, "%sNEW.%s", sep, to[i]);
		buf_printf(&x_old, "%sOLD.%s", sep, to[i]);
	}
	const char *cause_set = "PERFORM set_config('" EXPAND_PLAN_CAUSE "', %s, true);\n";
	buf_printf(&b,
		"CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $pgcarry$\n"
		"DECLARE\n  first_key bigint;\n%s"
		"BEGIN\n"
		"  IF current_setting('" EXPAND_PLAN_GUARD "', true) = 'off' THEN RETURN NULL; END IF;\n"
		"  IF TG_OP = 'UPDATE' THEN\n"
		"    IF (%s) IS NOT DISTINCT FROM (%s) THEN RETURN NULL; END IF;\n"
		"  ELSIF %s THEN\n"
		"    RETURN NULL;\n"
		"  END IF;\n"
		"  PERFORM set_config('" EXPAND_PLAN_GUARD "', 'off', true);\n"
		"  SELECT min(%s) INTO first_key FROM %s WHERE %s = NEW.%s;\n"
		"  IF TG_OP = 'INSERT' THEN\n"
		"    IF NOT (%s) THEN\n"
		"      IF NOT EXISTS (SELECT 1 FROM %s WHERE %s = NEW.%s AND (%s) IS NOT DISTINCT FROM (%s)) THEN\n"
		"        INSERT INTO %s (%s, %s) VALUES (%s, NEW.%s);\n"
		"      END IF;\n"
		"    END IF;\n"
		"    IF first_key IS NOT NULL AND NOT (%s) THEN\n"
		"      SELECT %s INTO %s FROM %s WHERE %s = NEW.%s ORDER BY %s LIMIT 1;\n"
		"      ", fold, declare.data,
		old_vals.data, new_vals.data, all_null.data,
		qk, qn, qr, t.pk,
		all_null.data,
		qn, qr, t.pk, to_list.data, new_vals.data,
		qn, to_list.data, qr, new_vals.data, t.pk,
		all_null.data,
		to_list.data, into.data, qn, qr, t.pk, qk);
	buf_printf(&b, cause_set, "'the old version inserted a row that already had rows in the new table'");
	buf_printf(&b,
		"      UPDATE %s SET %s WHERE %s = NEW.%s AND (%s) IS DISTINCT FROM (%s);\n"
		"    END IF;\n"
		"  ELSIF %s THEN\n"
		"    IF first_key IS NOT NULL THEN\n"
		"      ", t.qt, set_old.data, t.pk, t.pk, old_row.data, var_row.data, all_null.data);
	buf_printf(&b, cause_set, "'the old version cleared the moved columns'");
	buf_printf(&b,
		"      DELETE FROM %s WHERE %s = first_key;\n"
		"      SELECT %s INTO %s FROM %s WHERE %s = NEW.%s ORDER BY %s LIMIT 1;\n"
		"      IF FOUND THEN UPDATE %s SET %s WHERE %s = NEW.%s; END IF;\n"
		"    END IF;\n"
		"  ELSIF first_key IS NULL THEN\n"
		"    INSERT INTO %s (%s, %s) VALUES (%s, NEW.%s);\n"
		"  ELSE\n"
		"    ", qn, qk,
		to_list.data, into.data, qn, qr, t.pk, qk,
		t.qt, set_old.data, t.pk, t.pk,
		qn, to_list.data, qr, new_vals.data, t.pk);
	buf_printf(&b, cause_set, "'the old version changed the moved columns'");
	buf_printf(&b,
		"    UPDATE %s SET %s WHERE %s = first_key AND (%s) IS DISTINCT FROM (%s);\n"
		"  END IF;\n"
		"  PERFORM set_config('" EXPAND_PLAN_CAUSE "', '', true);\n"
		"  PERFORM set_config('" EXPAND_PLAN_GUARD "', '', true);\n"
		"  RETURN NULL;\n"
		"END\n$pgcarry$;\n"
		"CREATE TRIGGER %s AFTER INSERT OR UPDATE OF %s ON %s FOR EACH ROW\n"
		"  WHEN (%s) EXECUTE FUNCTION %s();\n",
		qn, set_new.data, qk, to_list.data, new_vals.data,
		told, of_list.data, t.qt, guard_on, fold);
	FAULT_IF("sync-trigger-delete-row", true) buf_printf(&b, "CREATE SEQUENCE pgcarry_fault_seq;\nCREATE FUNCTION pgcarry_fault_delete() RETURNS trigger LANGUAGE plpgsql AS $f$BEGIN IF nextval('pgcarry_fault_seq') = 1 THEN DELETE FROM %s WHERE %s = NEW.%s; END IF; RETURN NULL; END$f$;\nCREATE TRIGGER zz_pgcarry_fault_delete AFTER INSERT ON %s FOR EACH ROW EXECUTE FUNCTION pgcarry_fault_delete();\n", qn, qr, t.pk, t.qt);

	/* new -> old: the members a statement touched, locked in key order */
	const char *fresh = plan_fmt(g,
		"INSERT INTO %s (%s, %s) SELECT %s, m.%s FROM %s AS m WHERE m.%s = ANY (ks) AND (%s)\n"
		"      AND m.%s IN (SELECT n.%s FROM pgcarry_new AS n)\n"
		"      AND NOT EXISTS (SELECT 1 FROM %s AS c WHERE c.%s = m.%s\n"
		"                      AND NOT EXISTS (SELECT 1 FROM pgcarry_new AS n WHERE n.%s = c.%s))",
		qn, to_list.data, qr, m_vals.data, t.pk, t.qt, t.pk, m_any.data,
		t.pk, qr,
		qn, qr, t.pk,
		qk, qk);
	buf_printf(&b,
		"CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $pgcarry$\n"
		"DECLARE\n  ks %s[];\n"
		"BEGIN\n"
		"  IF current_setting('" EXPAND_PLAN_GUARD "', true) = 'off' THEN RETURN NULL; END IF;\n"
		"  IF TG_OP = 'INSERT' THEN\n"
		"    SELECT array_agg(DISTINCT n.%s ORDER BY n.%s) INTO ks FROM pgcarry_new AS n;\n"
		"  ELSIF TG_OP = 'UPDATE' THEN\n"
		"    SELECT array_agg(DISTINCT r ORDER BY r) INTO ks\n"
		"      FROM (SELECT o.%s AS r FROM pgcarry_old AS o UNION ALL SELECT n.%s FROM pgcarry_new AS n) AS a;\n"
		"  ELSE\n"
		"    SELECT array_agg(DISTINCT o.%s ORDER BY o.%s) INTO ks FROM pgcarry_old AS o;\n"
		"  END IF;\n"
		"  IF ks IS NULL THEN RETURN NULL; END IF;\n"
		"  PERFORM set_config('" EXPAND_PLAN_GUARD "', 'off', true);\n"
		"  PERFORM 1 FROM %s AS m WHERE m.%s = ANY (ks) ORDER BY m.%s FOR NO KEY UPDATE;\n"
		"  IF TG_OP = 'INSERT' THEN\n"
		"    %s;\n"
		"  ELSIF TG_OP = 'UPDATE' THEN\n"
		"    %s\n"
		"      AND NOT EXISTS (SELECT 1 FROM pgcarry_old AS o WHERE o.%s = m.%s);\n"
		"  END IF;\n"
		"  ",
		fnew, t.pk_type,
		qr, qr,
		qr, qr,
		qr, qr,
		t.qt, t.pk, t.pk,
		fresh,
		fresh, qr, t.pk);
	buf_printf(&b, cause_set, plan_lit(g, plan_fmt(g, "the new version wrote %s", qn)));
	buf_printf(&b,
		"  UPDATE %s AS m SET %s\n"
		"    FROM (SELECT k.k AS pgcarry_k, l.* FROM unnest(ks) AS k (k)\n"
		"          LEFT JOIN LATERAL (SELECT %s FROM %s AS x WHERE x.%s = k.k ORDER BY x.%s LIMIT 1) AS l ON true) AS f\n"
		"    WHERE m.%s = f.pgcarry_k AND (%s) IS DISTINCT FROM (%s);\n"
		"  PERFORM set_config('" EXPAND_PLAN_CAUSE "', '', true);\n"
		"  PERFORM set_config('" EXPAND_PLAN_GUARD "', '', true);\n"
		"  RETURN NULL;\n"
		"END\n$pgcarry$;\n"
		"CREATE TRIGGER %s AFTER INSERT ON %s REFERENCING NEW TABLE AS pgcarry_new\n"
		"  FOR EACH STATEMENT WHEN (%s) EXECUTE FUNCTION %s();\n"
		"CREATE TRIGGER %s AFTER UPDATE ON %s REFERENCING OLD TABLE AS pgcarry_old NEW TABLE AS pgcarry_new\n"
		"  FOR EACH STATEMENT WHEN (%s) EXECUTE FUNCTION %s();\n"
		"CREATE TRIGGER %s AFTER DELETE ON %s REFERENCING OLD TABLE AS pgcarry_old\n"
		"  FOR EACH STATEMENT WHEN (%s) EXECUTE FUNCTION %s()",
		t.qt, set_f.data,
		f_cols.data, qn, qr, qk,
		t.pk, old_row.data, f_row.data,
		tnew_i, qn, guard_on, fnew,
		tnew_u, qn, guard_on, fnew,
		tnew_d, qn, guard_on, fnew);
	const char *fdel = plan_func(g, "delete"), *tdel = plan_q(g, plan_own(g, "delete"));
	int cascade = strcmp(od, "cascade") == 0;
	if (cascade)
		buf_printf(&b,
			";\nCREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $pgcarry$\n"
			"BEGIN\n"
			"  PERFORM set_config('" EXPAND_PLAN_GUARD "', 'off', true);\n"
			"  PERFORM set_config('" EXPAND_PLAN_CAUSE "', 'a row of the old table was deleted', true);\n"
			"  DELETE FROM %s WHERE %s = OLD.%s;\n"
			"  PERFORM set_config('" EXPAND_PLAN_CAUSE "', '', true);\n"
			"  PERFORM set_config('" EXPAND_PLAN_GUARD "', '', true);\n"
			"  RETURN NULL;\n"
			"END\n$pgcarry$;\n"
			"CREATE TRIGGER %s AFTER DELETE ON %s FOR EACH ROW\n"
			"  WHEN (%s) EXECUTE FUNCTION %s()",
			fdel, qn, qr, t.pk, tdel, t.qt, guard_on, fdel);
	/* the audit: TG_ARGV is the shape and the key column */
	buf_printf(&b,
		";\nCREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER\n"
		"  SET search_path = pg_catalog, pg_temp AS $pgcarry$\n"
		"BEGIN\n"
		"  INSERT INTO " EXPAND_PLAN_SCHEMA ".sync_changes (migration, shape, action, relation, key, cause)\n"
		"  VALUES (%s, TG_ARGV[0], CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'overwritten' END,\n"
		"          format('%%I.%%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), to_jsonb(OLD) ->> TG_ARGV[1],\n"
		"          nullif(current_setting('" EXPAND_PLAN_CAUSE "', true), ''));\n"
		"  RETURN NULL;\n"
		"END\n$pgcarry$;\n"
		"REVOKE ALL ON FUNCTION %s() FROM PUBLIC;\n"
		"CREATE TRIGGER %s AFTER DELETE ON %s FOR EACH ROW\n"
		"  WHEN (%s) EXECUTE FUNCTION %s('new', %s);\n"
		"CREATE TRIGGER %s AFTER UPDATE ON %s FOR EACH ROW\n"
		"  WHEN (%s AND (%s) IS DISTINCT FROM (%s)) EXECUTE FUNCTION %s('new', %s);\n"
		"CREATE TRIGGER %s AFTER UPDATE OF %s ON %s FOR EACH ROW\n"
		"  WHEN (%s AND (%s) AND (%s) IS DISTINCT FROM (%s)) EXECUTE FUNCTION %s('old', %s)",
		faud, plan_lit(g, g->mig), faud,
		taud_nd, qn, guard_off, faud, plan_lit(g, key),
		taud_nu, qn, guard_off, x_old.data, x_new.data, faud, plan_lit(g, key),
		taud_o, of_list.data, t.qt, guard_off, o_any.data, old_vals.data, new_vals.data, faud, plan_lit(g, t.pk_name));
	char *fn_sql = buf_steal(&b);
	plan_locks(plan_step(g, "expand", plan_fmt(g, "install sync triggers on %s and %s", t.qt, qn),
						 plan_keep(g, fn_sql), 0, NULL, NULL),
			   "SHARE ROW EXCLUSIVE", t.qt, qn);
	/* what contract and rollback drop of the sync */
	buf_t drop = {0};
	buf_printf(&drop, "DROP TRIGGER IF EXISTS %s ON %s;\nDROP TRIGGER IF EXISTS %s ON %s;\n", told, t.qt, taud_o, t.qt);
	if (cascade)
		buf_printf(&drop, "DROP TRIGGER IF EXISTS %s ON %s;\n", tdel, t.qt);
	const char *drop_old = plan_keep(g, buf_steal(&drop));
	buf_printf(&drop, "DROP TRIGGER IF EXISTS %s ON %s;\nDROP TRIGGER IF EXISTS %s ON %s;\n"
			   "DROP TRIGGER IF EXISTS %s ON %s;\nDROP TRIGGER IF EXISTS %s ON %s;\nDROP TRIGGER IF EXISTS %s ON %s;\n",
			   tnew_i, qn, tnew_u, qn, tnew_d, qn, taud_nd, qn, taud_nu, qn);
	const char *drop_new = plan_keep(g, buf_steal(&drop));
	const char *drop_fn = plan_fmt(g, "DROP FUNCTION IF EXISTS %s();\nDROP FUNCTION IF EXISTS %s();\n"
								   "DROP FUNCTION IF EXISTS %s();\nDROP FUNCTION IF EXISTS %s()",
								   fold, fnew, fdel, faud);
	plan_locks(plan_rollback_step(g, plan_fmt(g, "drop the sync triggers and table %s", qn),
					   plan_fmt(g, "%sDROP TABLE IF EXISTS %s;\n%s", drop_old, qn, drop_fn), 0, rb),
			   "ACCESS EXCLUSIVE", t.qt, qn);

	/* backfill: members with a cat and no row in the new table yet */
	const char *label = plan_fmt(g, "%s -> %s", t.qt, qn);
	plan_backfill(g, &t, label, plan_fmt(g,
		"INSERT INTO %s (%s, %s) SELECT %s, m.%s FROM %s AS m "
		"WHERE %s AND (%s) AND NOT EXISTS (SELECT 1 FROM %s AS c WHERE c.%s = m.%s) ORDER BY m.%s",
		qn, to_list.data, qr, m_vals.data, t.pk, t.qt,
		plan_range(g, &t, "m"), m_any.data, qn, qr, t.pk, t.pk),
		plan_fmt(g, "(%s) AND NOT EXISTS (SELECT 1 FROM %s AS c WHERE c.%s = m.%s)", m_any.data, qn, qr, t.pk), 1);

	/* validate: the foreign key, checked once for all copied rows */
	const char *fk = plan_q(g, plan_fmt(g, "%s_%s_fkey", newname, ref));
	plan_locks(plan_step(g, "validate", plan_fmt(g, "add foreign key %s NOT VALID", fk),
						 plan_fmt(g, "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s) "
								  "ON DELETE %s NOT VALID", qn, fk, qr, t.qt, t.pk, od), 0, NULL, NULL),
			   "SHARE ROW EXCLUSIVE", t.qt, qn);
	plan_step(g, "validate", plan_fmt(g, "validate foreign key %s", fk),
			  plan_fmt(g, "ALTER TABLE %s VALIDATE CONSTRAINT %s", qn, fk), 0, NULL, NULL);
	/* validate: fresh statistics for the new table, for the new version's queries */
	plan_step(g, "validate", plan_fmt(g, "analyze %s", qn), plan_fmt(g, "ANALYZE %s", qn), 0, NULL, NULL);

	/* verify: row by row, old shape against new, as anti-joins */
	buf_t c_vals = {0}, c_row = {0};
	for (size_t i = 0; i < np; i++)
	{
		buf_printf(&c_vals, "%sf.%s", i ? ", " : "", to[i]);
		buf_printf(&c_row, "%squote_nullable(f.%s)", i ? " || ', ' || " : "", to[i]);
	}
	buf_t mq = {0};
	for (size_t i = 0; i < np; i++)
		buf_printf(&mq, "%squote_nullable(m.%s)", i ? " || ', ' || " : "", from[i]);
	/*
	 * One batch of old keys against the same range of references in the new
	 * table: set-based (range scans and hash joins), one statement, so one
	 * snapshot of both shapes.
	 */
	buf_t m_cols = {0}, x_cols = {0};
	for (size_t i = 0; i < np; i++)
	{
		buf_printf(&m_cols, ", m.%s", from[i]);
		buf_printf(&x_cols, ", x.%s", to[i]);
	}
	const char *batch = plan_fmt(g,
		"WITH m AS (SELECT m.%s AS pgcarry_k%s FROM %s AS m WHERE %s), "
		"c AS (SELECT x.%s AS pgcarry_k%s, row_number() OVER (PARTITION BY x.%s ORDER BY x.%s) AS pgcarry_rn, "
		"      count(*) OVER (PARTITION BY x.%s) AS pgcarry_n FROM %s AS x "
		"      WHERE ($1::text IS NULL OR x.%s > ($1::text)::%s) AND x.%s <= ($2::text)::%s), "
		"f AS (SELECT * FROM c WHERE pgcarry_rn = 1) "
		"SELECT m.pgcarry_k::text, CASE "
		"WHEN f.pgcarry_k IS NULL THEN 'has (' || %s || ') but no row in ' || %s "
		"WHEN NOT (%s) THEN 'has no values but ' || f.pgcarry_n || ' row(s) in ' || %s "
		"ELSE 'has (' || %s || ') but ' || %s || ' has (' || %s || ')' END "
		"FROM m LEFT JOIN f ON f.pgcarry_k = m.pgcarry_k "
		"WHERE ((%s) AND (f.pgcarry_k IS NULL OR (%s) IS DISTINCT FROM (%s))) "
		"OR (NOT (%s) AND f.pgcarry_k IS NOT NULL)",
		t.pk, m_cols.data, t.qt, plan_range(g, &t, "m"),
		qr, x_cols.data, qr, qk, qr, qn, qr, t.pk_type, qr, t.pk_type,
		mq.data, plan_lit(g, qn),
		m_any.data, plan_lit(g, qn),
		mq.data, plan_lit(g, qn), c_row.data,
		m_any.data, m_vals.data, c_vals.data,
		m_any.data);
	buf_free(&m_cols);
	buf_free(&x_cols);
	const char *once = plan_fmt(g,
		"SELECT c.%s::text, 'row of ' || %s || ' has no matching row in ' || %s "
		"FROM %s AS c WHERE NOT EXISTS (SELECT 1 FROM %s AS m WHERE m.%s = c.%s)",
		qk, plan_lit(g, qn), plan_lit(g, t.qt), qn, t.qt, t.pk, qr);
	const char *counts = plan_fmt(g,
		"SELECT %s, (SELECT count(*) FROM %s AS m WHERE %s), (SELECT count(DISTINCT %s) FROM %s)",
		plan_lit(g, plan_fmt(g, "rows of %s with values / with rows in %s", t.qt, qn)),
		t.qt, m_any.data, qr, qn);
	plan_verify(g, &t, label, batch, once, counts);
	json_object_set_new(g->plan, "loss_sql", json_string(plan_fmt(g,
		"SELECT count(*) FROM %s AS c WHERE c.%s > (SELECT min(f.%s) FROM %s AS f WHERE f.%s = c.%s)",
		qn, qk, qk, qn, qr, qr)));

	/* contract: the old columns go, with the triggers */
	buf_printf(&b, "%s%s%s;\nALTER TABLE %s", drop_old, drop_new, drop_fn, t.qt);
	for (size_t i = 0; i < np; i++)
		buf_printf(&b, "%s DROP COLUMN %s", i ? "," : "", from[i]);
	plan_locks(plan_step(g, "contract", plan_fmt(g, "drop the sync triggers and the moved columns of %s", t.qt),
						 plan_keep(g, buf_steal(&b)), 0, NULL, NULL),
			   "ACCESS EXCLUSIVE", t.qt, qn);
	buf_free(&all_null); buf_free(&set_new); buf_free(&new_vals); buf_free(&to_list);
	buf_free(&into); buf_free(&set_old); buf_free(&old_row); buf_free(&var_row); buf_free(&old_vals);
	buf_free(&declare); buf_free(&of_list); buf_free(&m_vals); buf_free(&m_any); buf_free(&f_row);
	buf_free(&f_cols); buf_free(&set_f); buf_free(&o_any); buf_free(&x_new); buf_free(&x_old);
	buf_free(&c_vals); buf_free(&c_row); buf_free(&mq);
	return 0;
}

/* Statements that cannot run in a transaction block. */
static int
plan_needs_autocommit(const char *sql)
{
	const char *p = sql;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	if (strncasecmp(p, "VACUUM", 6) == 0)
		return 1;
	for (const char *s = sql; *s; s++)
		if (strncasecmp(s, "CONCURRENTLY", 12) == 0)
			return 1;
	return 0;
}

static void
plan_sql_list(plan_gen *g, json_t *op, const char *key, const char *phase, int *rb)
{
	json_t *arr = json_object_get(op, key);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *sql = json_string_value(v);
		const char *what = plan_fmt(g, "%s statement %zu", key, i + 1);
		if (rb)
			plan_rollback_step(g, what, sql, plan_needs_autocommit(sql), rb);
		else
			plan_step(g, phase, what, sql, plan_needs_autocommit(sql), NULL, NULL);
	}
}

static int
plan_sql(plan_gen *g, json_t *op, int *rb, pgc_err *err)
{
	plan_sql_list(g, op, "expand", "expand", NULL);
	plan_sql_list(g, op, "validate", "validate", NULL);
	plan_sql_list(g, op, "contract", "contract", NULL);
	plan_sql_list(g, op, "rollback", NULL, rb);
	const char *table = expand_spec_str(op, "table", NULL);
	const char *backfill = expand_spec_str(op, "backfill", NULL);
	const char *verify = expand_spec_str(op, "verify", NULL);
	plan_table t;
	memset(&t, 0, sizeof t);
	if (table && plan_table_read(g, expand_spec_str(op, "schema", "public"), table, backfill != NULL,
								 &t, err) != 0)
		return -1;
	if (backfill)
		plan_backfill(g, &t, plan_fmt(g, "sql backfill of %s", t.qt), backfill, NULL, 1);
	if (verify)
		plan_verify(g, &t, plan_fmt(g, "sql verification %d", g->n), NULL, verify, NULL);
	return 0;
}

json_t *
expand_plan_build(PGconn *conn, json_t *spec, pgc_err *err)
{
	plan_gen g;
	memset(&g, 0, sizeof g);
	g.conn = conn;
	g.mig = expand_spec_str(spec, "name", NULL);
	g.plan = json_object();
	json_object_set_new(g.plan, "name", json_string(g.mig));
	json_object_set_new(g.plan, "ops", json_array());
	const char *phases[] = {"expand", "validate", "contract", "rollback", "backfill", "verify"};
	for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
		json_object_set_new(g.plan, phases[i], json_array());
	int rb = 0;
	int rc = 0;
	size_t i;
	json_t *op;
	json_array_foreach(json_object_get(spec, "operations"), i, op)
	{
		g.n = (int) i + 1;
		g.opname = expand_spec_str(op, "op", "");
		rb = 0;
		if (strcmp(g.opname, "add_column") == 0)
			rc = plan_add_column(&g, op, &rb, err);
		else if (strcmp(g.opname, "add_constraint") == 0)
			rc = plan_add_constraint(&g, op, &rb, err);
		else if (strcmp(g.opname, "create_index") == 0)
			rc = plan_create_index(&g, op, &rb, err);
		else if (strcmp(g.opname, "change_type") == 0)
			rc = plan_new_column(&g, op, 0, &rb, err);
		else if (strcmp(g.opname, "rename_column") == 0)
			rc = plan_new_column(&g, op, 1, &rb, err);
		else if (strcmp(g.opname, "move_columns_to_table") == 0)
			rc = plan_move(&g, op, &rb, err);
		else
			rc = plan_sql(&g, op, &rb, err);
		if (rc != 0)
			break;
		const char *table = expand_spec_str(op, "table", NULL);
		json_array_append_new(json_object_get(g.plan, "ops"),
							  json_string(plan_fmt(&g, "%s%s%s", g.opname, table ? " on " : "",
												   table ? table : "")));
	}
	for (int k = 0; k < g.nowned; k++)
		free(g.owned[k]);
	free(g.owned);
	if (rc != 0)
	{
		json_decref(g.plan);
		return NULL;
	}
	return g.plan;
}
