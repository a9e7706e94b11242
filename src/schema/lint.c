/*
 * lint.c: statement classifier and live-database lint rules (see lint.h).
 *
 * How it works: each statement comes with PostgreSQL's parse tree (JSON
 * from libpg_query, see sqlparse.h).  The type of its top node picks the
 * statement kind (IndexStmt, AlterTableStmt, ...); for ALTER TABLE each
 * command of the list (AlterTableCmd, by subtype) is classified and checked
 * on its own, the statement taking the strongest lock and effect of its
 * commands.  Rules are checked while classifying, so plan and lint always
 * agree.  Names come from the tree as PostgreSQL resolved them, and are
 * shown quoted where SQL would need quotes.
 */
#include "schema/lint.h"

#include "util/buf.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------
 * Rules
 * ------------------------------------------------------------------------ */

static const struct
{
	const char *name;
	const char *advice;
} lint_rules[] = {
	{"index-not-concurrent",
	 "use CREATE INDEX CONCURRENTLY, which pgcarry runs outside a transaction and rebuilds if it fails midway"},
	{"add-column-volatile-default",
	 "add the column without a default (or with a constant one), backfill it in small batches, then set the default"},
	{"set-not-null",
	 "first ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT, then SET NOT NULL "
	 "(PostgreSQL uses the validated check and skips the scan), then drop the check; if such a check is already "
	 "validated, acknowledge with -- pgcarry:allow set-not-null"},
	{"constraint-not-valid",
	 "add it with NOT VALID, then VALIDATE CONSTRAINT in a later statement (which only takes SHARE UPDATE EXCLUSIVE)"},
	{"type-change",
	 "add a new column of the new type, keep it in sync, backfill it in batches and swap "
	 "(pgcarry schema start does this)"},
	{"unique-not-using-index",
	 "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT name UNIQUE (or PRIMARY KEY) USING INDEX index_name"},
	{"drop-column",
	 "deploy an application that no longer uses the column first, then drop it (expand/contract)"},
	{"drop-table",
	 "deploy an application that no longer uses the table first, then drop it (expand/contract)"},
	{"rename",
	 "add the new name beside the old one (a column kept in sync, or a view), move the application, "
	 "then drop the old name"},
	{"vacuum-full",
	 "use plain VACUUM, or an online tool such as pg_repack or pg_squeeze"},
	{"cluster",
	 "use an online tool such as pg_repack, which reorders the table without a long lock"},
	{"lock-table",
	 "remove it: pgcarry takes only the locks each statement needs, each under lock_timeout"},
	{"timeout-override",
	 "remove it, and use --lock-timeout and --statement-timeout instead"},
	{"unknown-rule",
	 "name one of the rules listed in docs/schema-migrations.md (a misspelt rule acknowledges nothing)"},
	{NULL, NULL}
};

bool
lint_rule_exists(const char *rule)
{
	for (int i = 0; lint_rules[i].name; i++)
		if (strcasecmp(lint_rules[i].name, rule) == 0)
			return true;
	return false;
}

static const char *
lint_rule_name(const char *rule, const char **advice)
{
	for (int i = 0; lint_rules[i].name; i++)
		if (strcmp(lint_rules[i].name, rule) == 0)
		{
			*advice = lint_rules[i].advice;
			return lint_rules[i].name;
		}
	*advice = "";
	return rule;
}

const char *
lint_effect_text(lint_effect e)
{
	switch (e)
	{
		case LINT_EFFECT_CATALOG:
			return "catalog only";
		case LINT_EFFECT_WRITES:
			return "writes rows";
		case LINT_EFFECT_SCANS:
			return "scans the table";
		case LINT_EFFECT_REWRITES:
			return "rewrites the table";
		default:
			return "no table data";
	}
}

/* ------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------ */

struct lint_state
{
	char	  **created;		/* tables created in the current file (normalised) */
	size_t		ncreated;
	lint_finding *findings;
	size_t		nfindings;
	const sqlparse_stmt *cur;	/* statement being checked; NULL = classify only */
	size_t		fresh;			/* unacknowledged findings of the current statement */
	/* CHECK (col IS NOT NULL) constraints added in the current file, as
	 * "table\x1fcolumn\x1fconstraint" (normalised), and whether validated. */
	char	  **nn_checks;
	bool	   *nn_valid;
	size_t		nnn;
};

lint_state *
lint_create(void)
{
	return xcalloc(1, sizeof(lint_state));
}

void
lint_begin_file(lint_state *st)
{
	for (size_t i = 0; i < st->nnn; i++)
		free(st->nn_checks[i]);
	free(st->nn_checks);
	free(st->nn_valid);
	st->nn_checks = NULL;
	st->nn_valid = NULL;
	st->nnn = 0;
	for (size_t i = 0; i < st->ncreated; i++)
		free(st->created[i]);
	free(st->created);
	st->created = NULL;
	st->ncreated = 0;
}

void
lint_clear_findings(lint_state *st)
{
	for (size_t i = 0; i < st->nfindings; i++)
	{
		free(st->findings[i].message);
		free(st->findings[i].table);
		free(st->findings[i].column);
	}
	free(st->findings);
	st->findings = NULL;
	st->nfindings = 0;
}

void
lint_destroy(lint_state *st)
{
	if (!st)
		return;
	lint_begin_file(st);
	lint_clear_findings(st);
	free(st);
}

const lint_finding *
lint_findings(const lint_state *st, size_t *n)
{
	*n = st->nfindings;
	return st->findings;
}

static void lint_flag(lint_state *st, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
lint_flag(lint_state *st, const char *rule, const char *fmt, ...)
{
	if (!st || !st->cur)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	const char *advice;
	const char *name = lint_rule_name(rule, &advice);
	bool ack = sqlparse_allows(st->cur, name);
	st->findings = xrealloc(st->findings, (st->nfindings + 1) * sizeof *st->findings);
	st->findings[st->nfindings++] = (lint_finding) {
		.rule = name, .line = st->cur->line, .col = st->cur->col, .message = m, .advice = advice, .acknowledged = ack
	};
	if (!ack)
		st->fresh++;
}

/* The last component of a (possibly qualified) name, normalised: unquoted
 * letters folded to lower case, quotes removed.  Owned by the caller. */
static char *
lint_norm_name(const char *name)
{
	const char *p = name, *last = name;
	bool inq = false;
	for (; *p; p++)
	{
		if (*p == '"')
			inq = !inq;
		else if (*p == '.' && !inq)
			last = p + 1;
	}
	buf_t b = {0};
	inq = false;
	for (p = last; *p; p++)
	{
		if (*p == '"')
		{
			if (inq && p[1] == '"')
			{
				buf_putc(&b, '"');
				p++;
				continue;
			}
			inq = !inq;
			continue;
		}
		buf_putc(&b, inq ? *p : (char) tolower((unsigned char) *p));
	}
	return buf_steal(&b);
}

char *
lint_ident_norm(const char *name)
{
	return lint_norm_name(name);
}

static bool
lint_is_new_table(const lint_state *st, const char *table)
{
	if (!st || !table)
		return false;
	char *n = lint_norm_name(table);
	bool found = false;
	for (size_t i = 0; i < st->ncreated && !found; i++)
		found = strcmp(st->created[i], n) == 0;
	free(n);
	return found;
}

static void
lint_remember_table(lint_state *st, const char *table)
{
	if (!st || !table)
		return;
	st->created = xrealloc(st->created, (st->ncreated + 1) * sizeof *st->created);
	st->created[st->ncreated++] = lint_norm_name(table);
}

static char *
lint_nn_key(const char *table, const char *col, const char *cname)
{
	char *t = lint_norm_name(table ? table : "");
	char *c = lint_norm_name(col ? col : "");
	char *n = lint_norm_name(cname ? cname : "");
	char *k = xasprintf("%s\x1f%s\x1f%s", t, c, n);
	free(t);
	free(c);
	free(n);
	return k;
}

/* Remembers CHECK (col IS NOT NULL) named cname on table. */
static void
lint_nn_add(lint_state *st, const char *table, const char *col, const char *cname, bool valid)
{
	if (!st)
		return;
	st->nn_checks = xrealloc(st->nn_checks, (st->nnn + 1) * sizeof *st->nn_checks);
	st->nn_valid = xrealloc(st->nn_valid, (st->nnn + 1) * sizeof *st->nn_valid);
	st->nn_checks[st->nnn] = lint_nn_key(table, col, cname);
	st->nn_valid[st->nnn++] = valid;
}

/* VALIDATE CONSTRAINT cname on table. */
static void
lint_nn_validate(lint_state *st, const char *table, const char *cname)
{
	if (!st)
		return;
	char *k = lint_nn_key(table, "", cname);
	char *tail = strchr(k, '\x1f');	/* "\x1f\x1fcname" after the table */
	size_t tl = (size_t) (tail - k);
	char *want = lint_norm_name(cname);
	for (size_t i = 0; i < st->nnn; i++)
	{
		const char *e = st->nn_checks[i];
		const char *last = strrchr(e, '\x1f');
		if (strncmp(e, k, tl) == 0 && e[tl] == '\x1f' && strcmp(last + 1, want) == 0)
			st->nn_valid[i] = true;
	}
	free(want);
	free(k);
}

/* True when a validated CHECK (col IS NOT NULL) on table was seen. */
static bool
lint_nn_has(const lint_state *st, const char *table, const char *col)
{
	if (!st)
		return false;
	char *k = lint_nn_key(table, col, "");
	size_t kl = strlen(k);		/* "table\x1fcol\x1f" */
	bool found = false;
	for (size_t i = 0; i < st->nnn && !found; i++)
		found = st->nn_valid[i] && strncmp(st->nn_checks[i], k, kl) == 0;
	free(k);
	return found;
}

/* ------------------------------------------------------------------------
 * Reading the parse tree
 * ------------------------------------------------------------------------ */

/* The type of node n ({"IndexStmt": {...}} is "IndexStmt"), or "". */
static const char *
lint_node_type(const json_t *n)
{
	const char *k = json_is_object(n) ? json_object_iter_key(json_object_iter((json_t *) n)) : NULL;
	return k ? k : "";
}

/* The fields of node n when it is of type type, else NULL. */
static json_t *
lint_node(const json_t *n, const char *type)
{
	return json_is_object(n) ? json_object_get(n, type) : NULL;
}

static const char *
lint_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool
lint_streq(const json_t *o, const char *key, const char *want)
{
	const char *v = lint_str(o, key);
	return v && strcmp(v, want) == 0;
}

static bool
lint_bool(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* True when a list of DefElem options (VACUUM (FULL), REINDEX
 * (CONCURRENTLY)) holds the option named name. */
static bool
lint_has_option(const json_t *options, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(options, i, o)
		if (lint_streq(lint_node(o, "DefElem"), "defname", name))
			return true;
	return false;
}

/* A name as SQL would write it: quoted unless plain lower case. */
static void
lint_put_ident(buf_t *b, const char *name)
{
	bool plain = *name && !isdigit((unsigned char) *name);
	for (const char *p = name; *p && plain; p++)
		plain = islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '_';
	if (plain)
	{
		buf_puts(b, name);
		return;
	}
	buf_putc(b, '"');
	for (const char *p = name; *p; p++)
	{
		if (*p == '"')
			buf_putc(b, '"');
		buf_putc(b, *p);
	}
	buf_putc(b, '"');
}

/* A RangeVar's relation as schema.name (owned), or NULL. */
static char *
lint_rangevar(const json_t *rv)
{
	if (lint_node(rv, "RangeVar"))
		rv = lint_node(rv, "RangeVar");
	const char *rel = lint_str(rv, "relname");
	if (!rel)
		return NULL;
	buf_t b = {0};
	const char *sch = lint_str(rv, "schemaname");
	if (sch)
	{
		lint_put_ident(&b, sch);
		buf_putc(&b, '.');
	}
	lint_put_ident(&b, rel);
	return buf_steal(&b);
}

/* A list of String nodes (a qualified name) without its last skip_last
 * items, joined with '.' (owned), or NULL when nothing is left. */
static char *
lint_names(const json_t *list, size_t skip_last)
{
	if (lint_node(list, "List"))
		list = json_object_get(lint_node(list, "List"), "items");
	size_t n = json_array_size(list);
	if (n <= skip_last)
		return NULL;
	buf_t b = {0};
	for (size_t i = 0; i + skip_last < n; i++)
	{
		const char *s = lint_str(lint_node(json_array_get(list, i), "String"), "sval");
		if (i)
			buf_putc(&b, '.');
		lint_put_ident(&b, s ? s : "?");
	}
	return buf_steal(&b);
}

/* The last String of a name list (a type's own name without its schema). */
static const char *
lint_last_name(const json_t *list)
{
	size_t n = json_array_size(list);
	return n ? lint_str(lint_node(json_array_get(list, n - 1), "String"), "sval") : NULL;
}

/* A name as shown in a message (quoted when needed); owned. */
static char *
lint_ident(const char *name)
{
	buf_t b = {0};
	lint_put_ident(&b, name ? name : "?");
	return buf_steal(&b);
}

/* ------------------------------------------------------------------------
 * Locks, ordered from weakest to strongest (as PostgreSQL numbers them)
 * ------------------------------------------------------------------------ */

static const char *const lint_locks[] = {
	"none", "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE",
	"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE", NULL
};

static int
lint_lock_rank(const char *l)
{
	for (int i = 0; lint_locks[i]; i++)
		if (strcmp(lint_locks[i], l) == 0)
			return i;
	return 0;
}

static void
lint_raise(lint_info *info, const char *lock, lint_effect effect)
{
	if (lint_lock_rank(lock) > lint_lock_rank(info->lock))
		info->lock = lock;
	if (effect > info->effect)
		info->effect = effect;
}

/* A foreign key also locks the table it references (SHARE ROW EXCLUSIVE,
 * for the triggers it adds there). */
static void
lint_references(lint_info *info, const json_t *pktable)
{
	char *ref = lint_rangevar(pktable);
	if (!ref)
		return;
	free(info->ref_table);
	info->ref_table = ref;
	info->ref_lock = "SHARE ROW EXCLUSIVE";
}

/* ------------------------------------------------------------------------
 * ALTER TABLE actions
 * ------------------------------------------------------------------------ */

static const char *const lint_safe_functions[] = {
	"now", "transaction_timestamp", "statement_timestamp", "lower", "upper", "concat",
	"current_setting", "make_interval", "date_trunc", "length", "jsonb_build_object",
	"json_build_object", "jsonb_build_array", "json_build_array", "to_jsonb", "to_json", NULL
};

/* True when expression e calls a function not known to be stable or
 * immutable (casts, CASE, COALESCE and the like are not calls). */
static bool
lint_expr_volatile(const json_t *e)
{
	if (json_is_array(e))
	{
		size_t i;
		json_t *v;
		json_array_foreach(e, i, v)
			if (lint_expr_volatile(v))
				return true;
		return false;
	}
	if (!json_is_object(e))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *) e, k, v)
	{
		if (strcmp(k, "FuncCall") == 0)
		{
			const char *fn = lint_last_name(json_object_get(v, "funcname"));
			bool safe = false;
			for (int i = 0; lint_safe_functions[i] && !safe; i++)
				safe = fn && strcmp(fn, lint_safe_functions[i]) == 0;
			if (!safe)
				return true;
		}
		if (lint_expr_volatile(v))
			return true;
	}
	return false;
}

/* ADD COLUMN: its default, its inline constraints. */
static void
lint_add_column(lint_state *chk, const json_t *cd, lint_info *info, const char *tbl)
{
	char *col = lint_ident(lint_str(cd, "colname"));
	const char *type = lint_last_name(json_object_get(json_object_get(cd, "typeName"), "names"));
	static const char *const serials[] = {"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8", NULL};
	bool serial = false;
	for (int i = 0; serials[i] && type && !serial; i++)
		serial = strcmp(type, serials[i]) == 0;
	bool volatile_default = false, generated = false, unique = false, refs = false, check = false;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(cd, "constraints"), i, c)
	{
		const json_t *con = lint_node(c, "Constraint");
		const char *ct = lint_str(con, "contype");
		if (!ct)
			continue;
		if (strcmp(ct, "CONSTR_DEFAULT") == 0 && lint_expr_volatile(json_object_get(con, "raw_expr")))
			volatile_default = true;
		else if (strcmp(ct, "CONSTR_GENERATED") == 0 || strcmp(ct, "CONSTR_IDENTITY") == 0)
			generated = true;
		else if (strcmp(ct, "CONSTR_UNIQUE") == 0 || strcmp(ct, "CONSTR_PRIMARY") == 0)
			unique = true;
		else if (strcmp(ct, "CONSTR_FOREIGN") == 0)
		{
			refs = true;
			lint_references(info, json_object_get(con, "pktable"));
		}
		else if (strcmp(ct, "CONSTR_CHECK") == 0)
			check = true;
	}
	if (serial || volatile_default || generated)
	{
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_REWRITES);
		lint_flag(chk, "add-column-volatile-default",
				  "ADD COLUMN %s with a %s fills every row, rewriting %s under an ACCESS EXCLUSIVE lock",
				  col, serial ? "serial type" : generated ? "generated value" : "volatile default", tbl);
	}
	else
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
	if (unique)
	{
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
		lint_flag(chk, "unique-not-using-index",
				  "ADD COLUMN %s with UNIQUE or PRIMARY KEY builds an index over %s while holding an "
				  "ACCESS EXCLUSIVE lock", col, tbl);
	}
	if (refs || check)
	{
		lint_raise(info, refs ? "SHARE ROW EXCLUSIVE" : "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
		lint_flag(chk, "constraint-not-valid",
				  "ADD COLUMN %s with an inline %s validates it over every row of %s while holding a "
				  "lock that blocks writes%s%s", col, refs ? "REFERENCES" : "CHECK", tbl,
				  refs && info->ref_table ? " to it and to " : "", refs && info->ref_table ? info->ref_table : "");
	}
	free(col);
}

/* ADD CONSTRAINT (or a table constraint without a name). */
static void
lint_add_constraint(lint_state *st, lint_state *chk, const json_t *con, lint_info *info, const char *tbl)
{
	const char *ct = lint_str(con, "contype");
	char *cname = lint_str(con, "conname") ? lint_ident(lint_str(con, "conname")) : xstrdup("");
	const char *what = cname;
	bool not_valid = lint_bool(con, "skip_validation");
	if (ct && (strcmp(ct, "CONSTR_FOREIGN") == 0 || strcmp(ct, "CONSTR_CHECK") == 0))
	{
		bool fk = strcmp(ct, "CONSTR_FOREIGN") == 0;
		if (fk)
			lint_references(info, json_object_get(con, "pktable"));
		/* CHECK (col IS NOT NULL): the safe way to SET NOT NULL later. */
		const json_t *nt = lint_node(json_object_get(con, "raw_expr"), "NullTest");
		const json_t *cref = nt ? lint_node(json_object_get(nt, "arg"), "ColumnRef") : NULL;
		const json_t *fields = cref ? json_object_get(cref, "fields") : NULL;
		if (!fk && nt && lint_streq(nt, "nulltesttype", "IS_NOT_NULL") && json_array_size(fields) == 1
			&& lint_last_name(fields))
		{
			char *col = lint_ident(lint_last_name(fields));
			lint_nn_add(st, info->table, col, cname, !not_valid);
			free(col);
		}
		if (not_valid)
			lint_raise(info, fk ? "SHARE ROW EXCLUSIVE" : "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		else
		{
			lint_raise(info, fk ? "SHARE ROW EXCLUSIVE" : "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
			lint_flag(chk, "constraint-not-valid",
					  "ADD CONSTRAINT %s%s%s without NOT VALID checks every row of %s while holding a lock "
					  "that blocks writes%s%s%s%s", what, *what ? " " : "", fk ? "FOREIGN KEY" : "CHECK", tbl,
					  fk && info->ref_table ? " to " : "", fk && info->ref_table ? tbl : "",
					  fk && info->ref_table ? " and to " : "", fk && info->ref_table ? info->ref_table : "");
		}
	}
	else if (ct && (strcmp(ct, "CONSTR_UNIQUE") == 0 || strcmp(ct, "CONSTR_PRIMARY") == 0
					|| strcmp(ct, "CONSTR_EXCLUSION") == 0))
	{
		if (lint_str(con, "indexname"))
			lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		else
		{
			lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
			lint_flag(chk, "unique-not-using-index",
					  "ADD CONSTRAINT %s%sbuilds its index over %s while holding an ACCESS EXCLUSIVE lock",
					  what, *what ? " " : "", tbl);
		}
	}
	else
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
	free(cname);
}

/* True when a type change to type name tn (without USING) keeps the data:
 * to text or varchar, which PostgreSQL does without a rewrite from text
 * types. */
static bool
lint_type_is_textual(const json_t *typename)
{
	const char *t = lint_last_name(json_object_get(typename, "names"));
	return t && (strcmp(t, "text") == 0 || strcmp(t, "varchar") == 0);
}

static void
lint_alter_cmd(lint_state *st, const json_t *cmd, lint_info *info, bool new_table)
{
	const char *tbl = info->table ? info->table : "the table";
	lint_state *chk = new_table ? NULL : st;	/* no findings on new tables */
	const char *sub = lint_str(cmd, "subtype");
	const json_t *def = json_object_get(cmd, "def");
	char *name = lint_str(cmd, "name") ? lint_ident(lint_str(cmd, "name")) : NULL;
	if (!sub)
		sub = "";

	if (strcmp(sub, "AT_AddColumn") == 0)
		lint_add_column(chk, lint_node(def, "ColumnDef"), info, tbl);
	else if (strcmp(sub, "AT_AddConstraint") == 0)
		lint_add_constraint(st, chk, lint_node(def, "Constraint"), info, tbl);
	else if (strcmp(sub, "AT_AlterColumnType") == 0)
	{
		const json_t *cd = lint_node(def, "ColumnDef");
		if (lint_type_is_textual(json_object_get(cd, "typeName")) && !json_object_get(cd, "raw_default"))
			lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		else
		{
			lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_REWRITES);
			lint_flag(chk, "type-change",
					  "changing the type of %s.%s rewrites the table under an ACCESS EXCLUSIVE lock", tbl,
					  name ? name : "?");
		}
	}
	else if (strcmp(sub, "AT_SetNotNull") == 0)
	{
		if (lint_nn_has(st, info->table, name))
			lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		else
		{
			lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
			size_t before = chk ? chk->nfindings : 0;
			lint_flag(chk, "set-not-null",
					  "SET NOT NULL on %s.%s scans the whole table under an ACCESS EXCLUSIVE lock", tbl,
					  name ? name : "?");
			if (chk && chk->nfindings > before && info->table && name)
			{
				chk->findings[before].table = xstrdup(info->table);
				chk->findings[before].column = xstrdup(name);
			}
		}
	}
	else if (strcmp(sub, "AT_DropColumn") == 0)
	{
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		lint_flag(chk, "drop-column",
				  "DROP COLUMN %s on %s breaks application code that still reads or writes it",
				  name ? name : "?", tbl);
	}
	else if (strcmp(sub, "AT_ValidateConstraint") == 0)
	{
		lint_raise(info, "SHARE UPDATE EXCLUSIVE", LINT_EFFECT_SCANS);
		lint_nn_validate(st, info->table, name);
	}
	else if (strncmp(sub, "AT_EnableTrig", 13) == 0 || strncmp(sub, "AT_DisableTrig", 14) == 0
			 || strncmp(sub, "AT_EnableAlwaysTrig", 19) == 0 || strncmp(sub, "AT_EnableReplicaTrig", 20) == 0)
		lint_raise(info, "SHARE ROW EXCLUSIVE", LINT_EFFECT_CATALOG);
	else if (strcmp(sub, "AT_AttachPartition") == 0)
		lint_raise(info, "SHARE UPDATE EXCLUSIVE", LINT_EFFECT_SCANS);
	else if (strcmp(sub, "AT_SetRelOptions") == 0 || strcmp(sub, "AT_ResetRelOptions") == 0
			 || strcmp(sub, "AT_SetStatistics") == 0 || strcmp(sub, "AT_SetOptions") == 0
			 || strcmp(sub, "AT_ResetOptions") == 0)
		lint_raise(info, "SHARE UPDATE EXCLUSIVE", LINT_EFFECT_CATALOG);
	else if (strcmp(sub, "AT_SetLogged") == 0 || strcmp(sub, "AT_SetUnLogged") == 0
			 || strcmp(sub, "AT_SetTableSpace") == 0)
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_REWRITES);
	else
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
	free(name);
}

static void
lint_alter_table(lint_state *st, const json_t *n, lint_info *info)
{
	info->table = lint_rangevar(json_object_get(n, "relation"));
	const char *ot = lint_str(n, "objtype");
	if (ot && (strcmp(ot, "OBJECT_VIEW") == 0 || strcmp(ot, "OBJECT_MATVIEW") == 0))
	{
		info->kind = "ALTER VIEW";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		return;
	}
	if (ot && strcmp(ot, "OBJECT_INDEX") == 0)
	{
		info->kind = "ALTER INDEX";
		info->index = info->table;
		info->table = NULL;
		info->lock = "SHARE UPDATE EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		return;
	}
	bool new_table = lint_is_new_table(st, info->table);
	info->kind = "ALTER TABLE";
	info->lock = "none";
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(n, "cmds"), i, c)
		lint_alter_cmd(st, lint_node(c, "AlterTableCmd"), info, new_table);
	if (strcmp(info->lock, "none") == 0)
		info->lock = "ACCESS EXCLUSIVE";
}

/* ALTER TABLE ... RENAME, ALTER VIEW ... RENAME, and the like. */
static void
lint_rename(lint_state *st, const json_t *n, lint_info *info)
{
	const char *rt = lint_str(n, "renameType");
	const char *relt = lint_str(n, "relationType");
	info->table = lint_rangevar(json_object_get(n, "relation"));
	info->lock = "ACCESS EXCLUSIVE";
	info->effect = LINT_EFFECT_CATALOG;
	bool on_table = rt && (strcmp(rt, "OBJECT_TABLE") == 0 || strcmp(rt, "OBJECT_TABCONSTRAINT") == 0
						   || ((strcmp(rt, "OBJECT_COLUMN") == 0) && relt && strcmp(relt, "OBJECT_TABLE") == 0));
	bool on_view = rt && (strcmp(rt, "OBJECT_VIEW") == 0 || strcmp(rt, "OBJECT_MATVIEW") == 0
						  || (strcmp(rt, "OBJECT_COLUMN") == 0 && relt && strcmp(relt, "OBJECT_TABLE") != 0));
	if (on_table)
	{
		info->kind = "ALTER TABLE";
		if (strcmp(rt, "OBJECT_TABCONSTRAINT") == 0 || lint_is_new_table(st, info->table))
			return;
		lint_flag(st, "rename", "renaming %s%s breaks the running application, which still uses the old name",
				  strcmp(rt, "OBJECT_TABLE") == 0 ? "table " : "a column of ", info->table ? info->table : "?");
		return;
	}
	if (on_view)
	{
		info->kind = "ALTER VIEW";
		lint_flag(st, "rename", "renaming view %s breaks the running application, which still uses the old name",
				  info->table ? info->table : "?");
		return;
	}
	if (rt && strcmp(rt, "OBJECT_INDEX") == 0)
	{
		info->kind = "ALTER INDEX";
		info->index = info->table;
		info->table = NULL;
		info->lock = "SHARE UPDATE EXCLUSIVE";
		return;
	}
	free(info->table);
	info->table = NULL;
	info->lock = "none";
	info->kind = rt && strcmp(rt, "OBJECT_TYPE") == 0 ? "ALTER TYPE" : "ALTER (other object)";
	if (strcmp(info->kind, "ALTER TYPE") == 0)
		info->lock = "ACCESS EXCLUSIVE";
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static void
lint_create_index(lint_state *st, const json_t *n, lint_info *info)
{
	info->table = lint_rangevar(json_object_get(n, "relation"));
	if (lint_str(n, "idxname"))
		info->index = lint_ident(lint_str(n, "idxname"));
	info->effect = LINT_EFFECT_SCANS;
	if (lint_bool(n, "concurrent"))
	{
		info->kind = "CREATE INDEX CONCURRENTLY";
		info->lock = "SHARE UPDATE EXCLUSIVE";
		info->no_tx = true;
		return;
	}
	info->kind = "CREATE INDEX";
	info->lock = "SHARE";
	if (!lint_is_new_table(st, info->table))
		lint_flag(st, "index-not-concurrent",
				  "CREATE INDEX without CONCURRENTLY blocks every write to %s while the index builds",
				  info->table ? info->table : "the table");
}

static void
lint_drop(lint_state *st, const json_t *n, lint_info *info)
{
	const char *rt = lint_str(n, "removeType");
	const json_t *objs = json_object_get(n, "objects");
	info->effect = LINT_EFFECT_CATALOG;
	if (rt && strcmp(rt, "OBJECT_INDEX") == 0)
	{
		bool conc = lint_bool(n, "concurrent");
		info->kind = conc ? "DROP INDEX CONCURRENTLY" : "DROP INDEX";
		info->lock = conc ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE";
		info->no_tx = conc;
		info->index = lint_names(json_array_get(objs, 0), 0);
		return;
	}
	if (rt && strcmp(rt, "OBJECT_TABLE") == 0)
	{
		info->kind = "DROP TABLE";
		info->lock = "ACCESS EXCLUSIVE";
		size_t i;
		json_t *o;
		json_array_foreach(objs, i, o)
		{
			free(info->table);
			info->table = lint_names(o, 0);
			if (info->table && !lint_is_new_table(st, info->table))
				lint_flag(st, "drop-table", "DROP TABLE %s breaks application code that still uses it",
						  info->table);
		}
		return;
	}
	if (rt && strcmp(rt, "OBJECT_TRIGGER") == 0)
	{
		info->kind = "DROP TRIGGER";
		info->table = lint_names(json_array_get(objs, 0), 1);
		info->lock = "ACCESS EXCLUSIVE";
		return;
	}
	info->kind = "DROP (other object)";
}

/* VACUUM and ANALYZE (which may name several tables: none is shown). */
static void
lint_vacuum(lint_state *st, const json_t *n, lint_info *info)
{
	bool full = lint_has_option(json_object_get(n, "options"), "full");
	if (!lint_bool(n, "is_vacuumcmd"))
	{
		info->kind = "ANALYZE";
		info->lock = "SHARE UPDATE EXCLUSIVE";
		info->effect = LINT_EFFECT_SCANS;
		return;
	}
	info->no_tx = true;
	info->kind = full ? "VACUUM FULL" : "VACUUM";
	info->lock = full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE";
	info->effect = full ? LINT_EFFECT_REWRITES : LINT_EFFECT_SCANS;
	if (full)
		lint_flag(st, "vacuum-full", "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock for "
				  "its whole duration");
}

/* The first two words of the statement, upper-cased and separated by one
 * space, for the kinds the tree does not name ("ALTER TYPE"). */
static void
lint_first_words(const char *sql, char *out, size_t size)
{
	size_t o = 0;
	const char *p = sql;
	for (int w = 0; w < 2 && *p; w++)
	{
		if (w && o + 1 < size)
			out[o++] = ' ';
		for (; *p && isalpha((unsigned char) *p) && o + 1 < size; p++)
			out[o++] = (char) toupper((unsigned char) *p);
		while (*p && isspace((unsigned char) *p))
			p++;
	}
	out[o] = '\0';
}

void
lint_info_free(lint_info *info)
{
	free(info->table);
	free(info->index);
	free(info->ref_table);
	info->table = NULL;
	info->index = NULL;
	info->ref_table = NULL;
}

static void
lint_run(lint_state *st, const sqlparse_stmt *s, lint_info *info)
{
	memset(info, 0, sizeof *info);
	info->kind = "other";
	info->lock = "unknown";
	const char *type = lint_node_type(s->tree);
	const json_t *n = lint_node(s->tree, type);
	if (!n)
		return;
	char words[32];
	lint_first_words(s->sql, words, sizeof words);
	char word[16];
	snprintf(word, sizeof word, "%.*s", (int) strcspn(words, " "), words);
	if (strcmp(words, "ALTER TYPE") == 0 && strcmp(type, "AlterEnumStmt") != 0)
	{
		info->kind = "ALTER TYPE";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		return;
	}

	if (strcmp(type, "TransactionStmt") == 0)
	{
		info->kind = "transaction control";
		info->lock = "none";
		info->tx_control = true;
	}
	else if (strcmp(type, "IndexStmt") == 0)
		lint_create_index(st, n, info);
	else if (strcmp(type, "CreateStmt") == 0 || strcmp(type, "CreateTableAsStmt") == 0)
	{
		const json_t *rel = strcmp(type, "CreateStmt") == 0 ? json_object_get(n, "relation")
			: json_object_get(json_object_get(n, "into"), "rel");
		if (strcmp(type, "CreateTableAsStmt") == 0 && !lint_streq(n, "objtype", "OBJECT_TABLE"))
		{
			info->kind = "CREATE (other object)";
			info->lock = "none";
			info->effect = LINT_EFFECT_CATALOG;
			return;
		}
		info->table = lint_rangevar(rel);
		if (!lint_streq(lint_node(rel, "RangeVar") ? lint_node(rel, "RangeVar") : rel, "relpersistence", "t"))
			lint_remember_table(st, info->table);
		info->kind = "CREATE TABLE";
		info->lock = "none";
		info->effect = strcmp(type, "CreateTableAsStmt") == 0 ? LINT_EFFECT_WRITES : LINT_EFFECT_CATALOG;
		if (json_object_get(n, "partbound"))
		{
			info->kind = "CREATE TABLE PARTITION OF";
			info->lock = "ACCESS EXCLUSIVE";
		}
	}
	else if (strcmp(type, "CreatedbStmt") == 0 || strcmp(type, "DropdbStmt") == 0)
	{
		info->kind = strcmp(type, "CreatedbStmt") == 0 ? "CREATE DATABASE" : "DROP DATABASE";
		info->lock = "none";
		info->no_tx = true;
	}
	else if (strcmp(type, "CreateTrigStmt") == 0)
	{
		info->kind = "CREATE TRIGGER";
		info->table = lint_rangevar(json_object_get(n, "relation"));
		info->lock = "SHARE ROW EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
	}
	else if (strcmp(type, "DropStmt") == 0)
		lint_drop(st, n, info);
	else if (strcmp(type, "AlterTableStmt") == 0)
		lint_alter_table(st, n, info);
	else if (strcmp(type, "RenameStmt") == 0)
		lint_rename(st, n, info);
	else if (strcmp(type, "AlterObjectSchemaStmt") == 0 && lint_streq(n, "objectType", "OBJECT_TABLE"))
	{
		info->table = lint_rangevar(json_object_get(n, "relation"));
		info->kind = "ALTER TABLE";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		if (!lint_is_new_table(st, info->table))
			lint_flag(st, "rename", "moving %s to another schema breaks the running application, which still "
					  "uses the old name", info->table ? info->table : "the table");
	}
	else if (strcmp(type, "AlterSystemStmt") == 0)
	{
		info->kind = "ALTER SYSTEM";
		info->lock = "none";
		info->no_tx = true;
	}
	else if (strcmp(type, "AlterEnumStmt") == 0)
	{
		bool add = lint_str(n, "newVal") && !lint_str(n, "oldVal");
		info->kind = add ? "ALTER TYPE ADD VALUE" : "ALTER TYPE";
		info->lock = add ? "none" : "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
	}
	else if (strcmp(type, "VacuumStmt") == 0)
		lint_vacuum(st, n, info);
	else if (strcmp(type, "ClusterStmt") == 0)
	{
		info->kind = "CLUSTER";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_REWRITES;
		info->table = lint_rangevar(json_object_get(n, "relation"));
		lint_flag(st, "cluster", "CLUSTER rewrites %s under an ACCESS EXCLUSIVE lock for its whole duration",
				  info->table ? info->table : "the table");
	}
	else if (strcmp(type, "ReindexStmt") == 0)
	{
		bool conc = lint_has_option(json_object_get(n, "params"), "concurrently");
		const char *k = lint_str(n, "kind");
		info->kind = conc ? "REINDEX CONCURRENTLY" : "REINDEX";
		info->lock = conc ? "SHARE UPDATE EXCLUSIVE" : "SHARE";
		info->effect = LINT_EFFECT_SCANS;
		info->no_tx = conc || (k && (strcmp(k, "REINDEX_OBJECT_SCHEMA") == 0 || strcmp(k, "REINDEX_OBJECT_SYSTEM") == 0
									 || strcmp(k, "REINDEX_OBJECT_DATABASE") == 0));
	}
	else if (strcmp(type, "LockStmt") == 0)
	{
		info->table = lint_rangevar(json_array_get(json_object_get(n, "relations"), 0));
		info->kind = "LOCK TABLE";
		json_int_t mode = json_integer_value(json_object_get(n, "mode"));
		info->lock = mode >= 1 && mode <= 8 ? lint_locks[mode] : "ACCESS EXCLUSIVE";
		lint_flag(st, "lock-table", "LOCK TABLE holds an %s lock on %s until the migration commits",
				  info->lock, info->table ? info->table : "the table");
	}
	else if (strcmp(type, "VariableSetStmt") == 0)
	{
		info->kind = "SET";
		info->lock = "none";
		const char *name = lint_str(n, "name");
		const char *k = lint_str(n, "kind");
		if (name && k && strncmp(k, "VAR_SET_", 8) == 0
			&& (strcmp(name, "lock_timeout") == 0 || strcmp(name, "statement_timeout") == 0
				|| strcmp(name, "idle_in_transaction_session_timeout") == 0))
			lint_flag(st, "timeout-override", "SET %s overrides the timeout pgcarry sets to protect the "
					  "application's queries", name);
	}
	else if (strcmp(type, "InsertStmt") == 0 || strcmp(type, "UpdateStmt") == 0 || strcmp(type, "DeleteStmt") == 0
			 || strcmp(type, "MergeStmt") == 0)
	{
		info->kind = strcmp(type, "InsertStmt") == 0 ? "INSERT" : strcmp(type, "UpdateStmt") == 0 ? "UPDATE"
			: strcmp(type, "DeleteStmt") == 0 ? "DELETE" : "MERGE";
		info->table = lint_rangevar(json_object_get(n, "relation"));
		info->lock = "ROW EXCLUSIVE";
		info->effect = LINT_EFFECT_WRITES;
	}
	else if (strcmp(type, "CopyStmt") == 0)
	{
		info->kind = "COPY";
		info->table = lint_rangevar(json_object_get(n, "relation"));
		bool from = lint_bool(n, "is_from");
		info->lock = from ? "ROW EXCLUSIVE" : "ACCESS SHARE";
		info->effect = from ? LINT_EFFECT_WRITES : LINT_EFFECT_NONE;
		info->copy_stdio = !lint_str(n, "filename") && !lint_bool(n, "is_program");
	}
	else if (strcmp(type, "TruncateStmt") == 0)
	{
		info->table = lint_rangevar(json_array_get(json_object_get(n, "relations"), 0));
		info->kind = "TRUNCATE";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_WRITES;
	}
	else if (strcmp(type, "CommentStmt") == 0 || strcmp(type, "GrantStmt") == 0
			 || strcmp(type, "GrantRoleStmt") == 0)
	{
		info->kind = strcmp(type, "CommentStmt") == 0 ? "COMMENT" : "GRANT/REVOKE";
		info->lock = "none";
		info->effect = LINT_EFFECT_CATALOG;
	}
	else if (strcmp(type, "SelectStmt") == 0)
	{
		info->kind = "SELECT";
		info->lock = "ACCESS SHARE";
	}
	else if (strcmp(type, "DoStmt") == 0)
		info->kind = "DO block";
	else if (strcmp(word, "CREATE") == 0 || strcmp(word, "DROP") == 0 || strcmp(word, "ALTER") == 0)
	{
		info->kind = strcmp(word, "CREATE") == 0 ? "CREATE (other object)"
			: strcmp(word, "DROP") == 0 ? "DROP (other object)" : "ALTER (other object)";
		info->lock = "none";
		info->effect = LINT_EFFECT_CATALOG;
	}
}

void
lint_classify(const sqlparse_stmt *s, lint_info *out)
{
	lint_run(NULL, s, out);
}

size_t
lint_statement(lint_state *st, const sqlparse_stmt *s)
{
	lint_info info;
	st->cur = s;
	st->fresh = 0;
	lint_run(st, s, &info);
	lint_info_free(&info);
	for (size_t i = 0; i < s->nallow; i++)
		if (!lint_rule_exists(s->allow[i]))
			lint_flag(st, "unknown-rule", "\"pgcarry:allow %s\" names no lint rule", s->allow[i]);
	st->cur = NULL;
	return st->fresh;
}
