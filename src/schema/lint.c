/*
 * lint.c: statement classifier and live-database lint rules (see lint.h).
 *
 * How it works: a statement's tokens (comments already removed by sqlsplit)
 * are read by a cursor that matches keywords.  The leading words pick the
 * statement kind; for ALTER TABLE the action list is cut at top-level
 * commas and each action is classified and checked on its own, the
 * statement taking the strongest lock and effect of its actions.  Rules are
 * checked while classifying, so plan and lint always agree.
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
	const sqlsplit_stmt *cur;	/* statement being checked; NULL = classify only */
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
	bool ack = sqlsplit_allows(st->cur, name);
	st->findings = xrealloc(st->findings, (st->nfindings + 1) * sizeof *st->findings);
	st->findings[st->nfindings++] = (lint_finding) {
		.rule = name, .line = st->cur->line, .message = m, .advice = advice, .acknowledged = ack
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
 * Token cursor
 * ------------------------------------------------------------------------ */

typedef struct lint_cur
{
	const char *sql;
	const sqlsplit_token *t;
	size_t		n;				/* end (exclusive) */
	size_t		i;
} lint_cur;

static bool
lint_at(const lint_cur *c, const char *w)
{
	return c->i < c->n && sqlsplit_is_word(c->sql, &c->t[c->i], w);
}

static bool
lint_accept(lint_cur *c, const char *w)
{
	if (lint_at(c, w))
	{
		c->i++;
		return true;
	}
	return false;
}

/* Accepts a sequence of words, all or nothing. */
static bool
lint_accept_seq(lint_cur *c, const char *const *ws)
{
	size_t save = c->i;
	for (; *ws; ws++)
		if (!lint_accept(c, *ws))
		{
			c->i = save;
			return false;
		}
	return true;
}

#define LINT_SEQ(c, ...) lint_accept_seq((c), (const char *const[]) {__VA_ARGS__, NULL})

static bool
lint_punct(const lint_cur *c, size_t i, char ch)
{
	return i < c->n && c->t[i].kind == SQLSPLIT_PUNCT && c->sql[c->t[i].off] == ch;
}

/* Reads a possibly qualified name (a.b."c"); returns it as written (owned)
 * or NULL when no name is here. */
static char *
lint_name(lint_cur *c)
{
	if (c->i >= c->n || (c->t[c->i].kind != SQLSPLIT_WORD && c->t[c->i].kind != SQLSPLIT_QIDENT))
		return NULL;
	size_t first = c->i;
	c->i++;
	while (lint_punct(c, c->i, '.') && c->i + 1 < c->n
		   && (c->t[c->i + 1].kind == SQLSPLIT_WORD || c->t[c->i + 1].kind == SQLSPLIT_QIDENT))
		c->i += 2;
	size_t from = c->t[first].off;
	size_t to = c->t[c->i - 1].off + c->t[c->i - 1].len;
	return xstrndup(c->sql + from, to - from);
}

/* True when a word w appears in [from, to) at any depth. */
static bool
lint_has_word(const lint_cur *c, size_t from, size_t to, const char *w)
{
	for (size_t i = from; i < to; i++)
		if (sqlsplit_is_word(c->sql, &c->t[i], w))
			return true;
	return false;
}

static bool
lint_has_seq2(const lint_cur *c, size_t from, size_t to, const char *a, const char *b)
{
	for (size_t i = from; i + 1 < to; i++)
		if (sqlsplit_is_word(c->sql, &c->t[i], a) && sqlsplit_is_word(c->sql, &c->t[i + 1], b))
			return true;
	return false;
}

/* ------------------------------------------------------------------------
 * Locks, ordered from weakest to strongest
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

/* ------------------------------------------------------------------------
 * ALTER TABLE actions
 * ------------------------------------------------------------------------ */

static const char *const lint_safe_functions[] = {
	"now", "transaction_timestamp", "statement_timestamp", "cast", "coalesce", "nullif",
	"greatest", "least", "lower", "upper", "concat", "array", "row", "current_setting",
	"make_interval", "interval", "date_trunc", "length", "jsonb_build_object",
	"json_build_object", "jsonb_build_array", "json_build_array", "to_jsonb", "to_json",
	"current_date", "localtimestamp", "localtime", NULL
};

/* True when the expression [from, to) calls a function not known to be
 * stable or immutable (types after :: or AS are not calls). */
static bool
lint_expr_volatile(const lint_cur *c, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
	{
		if (c->t[i].kind != SQLSPLIT_WORD || !lint_punct(c, i + 1, '('))
			continue;
		if (i > from && c->t[i - 1].kind == SQLSPLIT_OP && c->t[i - 1].len == 2
			&& memcmp(c->sql + c->t[i - 1].off, "::", 2) == 0)
			continue;
		if (i > from && sqlsplit_is_word(c->sql, &c->t[i - 1], "AS"))
			continue;
		bool safe = false;
		for (int k = 0; lint_safe_functions[k] && !safe; k++)
			safe = sqlsplit_is_word(c->sql, &c->t[i], lint_safe_functions[k]);
		if (!safe)
			return true;
	}
	return false;
}

static bool
lint_type_is_textual(const lint_cur *c, size_t i, size_t to)
{
	if (i >= to)
		return false;
	return sqlsplit_is_word(c->sql, &c->t[i], "text") || sqlsplit_is_word(c->sql, &c->t[i], "varchar")
		|| (sqlsplit_is_word(c->sql, &c->t[i], "character") && i + 1 < to
			&& sqlsplit_is_word(c->sql, &c->t[i + 1], "varying"));
}

/* The text of the token at i (owned), or "?" */
static char *
lint_tok_text(const lint_cur *c, size_t i)
{
	if (i >= c->n)
		return xstrdup("?");
	return xstrndup(c->sql + c->t[i].off, c->t[i].len);
}

static void
lint_alter_action(lint_state *st, lint_cur *c, size_t to, lint_info *info, bool new_table)
{
	const char *tbl = info->table ? info->table : "the table";
	lint_state *chk = new_table ? NULL : st;	/* no findings on new tables */

	if (lint_accept(c, "ADD"))
	{
		bool constraint = lint_at(c, "CONSTRAINT") || lint_at(c, "CHECK") || lint_at(c, "FOREIGN")
			|| lint_at(c, "UNIQUE") || lint_at(c, "PRIMARY") || lint_at(c, "EXCLUDE");
		if (!constraint)
		{
			lint_accept(c, "COLUMN");
			LINT_SEQ(c, "IF", "NOT", "EXISTS");
			char *col = lint_tok_text(c, c->i);
			size_t type_at = c->i + 1;
			bool serial = type_at < to && (sqlsplit_is_word(c->sql, &c->t[type_at], "serial")
										   || sqlsplit_is_word(c->sql, &c->t[type_at], "bigserial")
										   || sqlsplit_is_word(c->sql, &c->t[type_at], "smallserial")
										   || sqlsplit_is_word(c->sql, &c->t[type_at], "serial4")
										   || sqlsplit_is_word(c->sql, &c->t[type_at], "serial8"));
			bool volatile_default = false;
			for (size_t i = type_at; i < to; i++)
				if (sqlsplit_is_word(c->sql, &c->t[i], "DEFAULT") && lint_expr_volatile(c, i + 1, to))
					volatile_default = true;
			bool generated = lint_has_word(c, type_at, to, "GENERATED")
				&& (lint_has_word(c, type_at, to, "STORED") || lint_has_word(c, type_at, to, "IDENTITY"));
			if (serial || volatile_default || generated)
			{
				lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_REWRITES);
				lint_flag(chk, "add-column-volatile-default",
						  "ADD COLUMN %s with a %s fills every row, rewriting %s under an ACCESS EXCLUSIVE lock",
						  col, serial ? "serial type" : generated ? "generated value" : "volatile default", tbl);
			}
			else
				lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
			if (lint_has_word(c, type_at, to, "UNIQUE") || lint_has_seq2(c, type_at, to, "PRIMARY", "KEY"))
			{
				lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
				lint_flag(chk, "unique-not-using-index",
						  "ADD COLUMN %s with UNIQUE or PRIMARY KEY builds an index over %s while holding an "
						  "ACCESS EXCLUSIVE lock", col, tbl);
			}
			bool refs = lint_has_word(c, type_at, to, "REFERENCES");
			bool check = lint_has_word(c, type_at, to, "CHECK");
			if (refs || check)
			{
				lint_raise(info, refs ? "SHARE ROW EXCLUSIVE" : "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
				lint_flag(chk, "constraint-not-valid",
						  "ADD COLUMN %s with an inline %s validates it over every row of %s while holding a "
						  "lock that blocks writes", col, refs ? "REFERENCES" : "CHECK", tbl);
			}
			free(col);
			return;
		}
		char *cname = NULL;
		if (lint_accept(c, "CONSTRAINT"))
			cname = lint_tok_text(c, c->i++);
		bool not_valid = lint_has_seq2(c, c->i, to, "NOT", "VALID");
		const char *what = cname ? cname : "";
		if (lint_at(c, "FOREIGN") || lint_at(c, "CHECK"))
		{
			bool fk = lint_at(c, "FOREIGN");
			/* CHECK ( col IS NOT NULL ): the safe way to SET NOT NULL later. */
			size_t k = c->i;
			if (!fk && lint_punct(c, k + 1, '(') && k + 6 < to
				&& (c->t[k + 2].kind == SQLSPLIT_WORD || c->t[k + 2].kind == SQLSPLIT_QIDENT)
				&& sqlsplit_is_word(c->sql, &c->t[k + 3], "IS") && sqlsplit_is_word(c->sql, &c->t[k + 4], "NOT")
				&& sqlsplit_is_word(c->sql, &c->t[k + 5], "NULL") && lint_punct(c, k + 6, ')'))
			{
				char *col = lint_tok_text(c, k + 2);
				lint_nn_add(st, info->table, col, cname ? cname : "", !not_valid);
				free(col);
			}
			if (not_valid)
				lint_raise(info, fk ? "SHARE ROW EXCLUSIVE" : "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
			else
			{
				lint_raise(info, fk ? "SHARE ROW EXCLUSIVE" : "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
				lint_flag(chk, "constraint-not-valid",
						  "ADD CONSTRAINT %s%s%s without NOT VALID checks every row of %s while holding a lock "
						  "that blocks writes", what, *what ? " " : "", fk ? "FOREIGN KEY" : "CHECK", tbl);
			}
		}
		else if (lint_at(c, "UNIQUE") || lint_at(c, "PRIMARY") || lint_at(c, "EXCLUDE"))
		{
			if (lint_has_seq2(c, c->i, to, "USING", "INDEX") && !lint_at(c, "EXCLUDE"))
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
		return;
	}
	if (lint_accept(c, "ALTER"))
	{
		lint_accept(c, "COLUMN");
		char *col = lint_tok_text(c, c->i++);
		if (lint_accept(c, "TYPE") || LINT_SEQ(c, "SET", "DATA", "TYPE"))
		{
			bool textual = lint_type_is_textual(c, c->i, to) && !lint_has_word(c, c->i, to, "USING");
			if (textual)
				lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
			else
			{
				lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_REWRITES);
				lint_flag(chk, "type-change",
						  "changing the type of %s.%s rewrites the table under an ACCESS EXCLUSIVE lock",
						  tbl, col);
			}
		}
		else if (LINT_SEQ(c, "SET", "NOT", "NULL"))
		{
			if (lint_nn_has(st, info->table, col))
				lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
			else
			{
				lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_SCANS);
				size_t before = chk ? chk->nfindings : 0;
				lint_flag(chk, "set-not-null",
						  "SET NOT NULL on %s.%s scans the whole table under an ACCESS EXCLUSIVE lock", tbl, col);
				if (chk && chk->nfindings > before)
				{
					chk->findings[before].table = xstrdup(info->table);
					chk->findings[before].column = xstrdup(col);
				}
			}
		}
		else if (LINT_SEQ(c, "SET", "STATISTICS") || lint_at(c, "SET") || lint_at(c, "RESET"))
			lint_raise(info, lint_has_word(c, c->i, to, "DEFAULT") ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE",
					   LINT_EFFECT_CATALOG);
		else
			lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		free(col);
		return;
	}
	if (lint_accept(c, "DROP"))
	{
		if (lint_accept(c, "CONSTRAINT"))
		{
			lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
			return;
		}
		lint_accept(c, "COLUMN");
		LINT_SEQ(c, "IF", "EXISTS");
		char *col = lint_tok_text(c, c->i);
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		lint_flag(chk, "drop-column",
				  "DROP COLUMN %s on %s breaks application code that still reads or writes it", col, tbl);
		free(col);
		return;
	}
	if (LINT_SEQ(c, "VALIDATE", "CONSTRAINT"))
	{
		lint_raise(info, "SHARE UPDATE EXCLUSIVE", LINT_EFFECT_SCANS);
		char *cname = lint_tok_text(c, c->i);
		lint_nn_validate(st, info->table, cname);
		free(cname);
		return;
	}
	if (lint_at(c, "ENABLE") || lint_at(c, "DISABLE"))
	{
		lint_raise(info, "SHARE ROW EXCLUSIVE", LINT_EFFECT_CATALOG);
		return;
	}
	if (lint_accept(c, "RENAME"))
	{
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		if (lint_at(c, "CONSTRAINT"))
			return;
		lint_flag(chk, "rename", "renaming %s%s breaks the running application, which still uses the old name",
				  lint_at(c, "TO") ? "table " : "a column of ", tbl);
		return;
	}
	if (LINT_SEQ(c, "SET", "SCHEMA"))
	{
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
		lint_flag(chk, "rename", "moving %s to another schema breaks the running application, which still "
				  "uses the old name", tbl);
		return;
	}
	if (LINT_SEQ(c, "ATTACH", "PARTITION"))
	{
		lint_raise(info, "SHARE UPDATE EXCLUSIVE", LINT_EFFECT_SCANS);
		return;
	}
	if (lint_at(c, "SET") && (lint_punct(c, c->i + 1, '(') || LINT_SEQ(c, "SET", "STATISTICS")))
	{
		lint_raise(info, "SHARE UPDATE EXCLUSIVE", LINT_EFFECT_CATALOG);
		return;
	}
	if (LINT_SEQ(c, "SET", "LOGGED") || LINT_SEQ(c, "SET", "UNLOGGED") || LINT_SEQ(c, "SET", "TABLESPACE"))
	{
		lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_REWRITES);
		return;
	}
	lint_raise(info, "ACCESS EXCLUSIVE", LINT_EFFECT_CATALOG);
}

static void
lint_alter_table(lint_state *st, lint_cur *c, lint_info *info)
{
	LINT_SEQ(c, "IF", "EXISTS");
	lint_accept(c, "ONLY");
	info->table = lint_name(c);
	bool new_table = lint_is_new_table(st, info->table);
	info->kind = "ALTER TABLE";
	info->lock = "none";
	/* Actions separated by top-level commas. */
	while (c->i < c->n)
	{
		size_t from = c->i, to = from;
		int depth = 0;
		for (; to < c->n; to++)
		{
			if (lint_punct(c, to, '('))
				depth++;
			else if (lint_punct(c, to, ')'))
				depth--;
			else if (depth == 0 && lint_punct(c, to, ','))
				break;
		}
		lint_cur sub = *c;
		sub.n = to;
		lint_alter_action(st, &sub, to, info, new_table);
		c->i = to + 1;
	}
	if (strcmp(info->lock, "none") == 0)
		info->lock = "ACCESS EXCLUSIVE";
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static void
lint_create_index(lint_state *st, lint_cur *c, lint_info *info)
{
	bool concurrently = lint_accept(c, "CONCURRENTLY");
	LINT_SEQ(c, "IF", "NOT", "EXISTS");
	if (!lint_at(c, "ON"))
		info->index = lint_name(c);
	lint_accept(c, "ON");
	lint_accept(c, "ONLY");
	info->table = lint_name(c);
	if (concurrently)
	{
		info->kind = "CREATE INDEX CONCURRENTLY";
		info->lock = "SHARE UPDATE EXCLUSIVE";
		info->no_tx = true;
		info->effect = LINT_EFFECT_SCANS;
		return;
	}
	info->kind = "CREATE INDEX";
	info->lock = "SHARE";
	info->effect = LINT_EFFECT_SCANS;
	if (!lint_is_new_table(st, info->table))
		lint_flag(st, "index-not-concurrent",
				  "CREATE INDEX without CONCURRENTLY blocks every write to %s while the index builds",
				  info->table ? info->table : "the table");
}

static void
lint_create_stmt(lint_state *st, lint_cur *c, lint_info *info)
{
	LINT_SEQ(c, "OR", "REPLACE");
	if (lint_accept(c, "UNIQUE") || lint_at(c, "INDEX"))
	{
		lint_accept(c, "INDEX");
		lint_create_index(st, c, info);
		return;
	}
	if (!lint_accept(c, "GLOBAL"))
		lint_accept(c, "LOCAL");
	bool temp = lint_accept(c, "TEMP") || lint_accept(c, "TEMPORARY");
	lint_accept(c, "UNLOGGED");
	if (lint_accept(c, "TABLE"))
	{
		LINT_SEQ(c, "IF", "NOT", "EXISTS");
		info->table = lint_name(c);
		if (!temp)
			lint_remember_table(st, info->table);
		info->kind = "CREATE TABLE";
		info->lock = "none";
		info->effect = lint_has_word(c, c->i, c->n, "AS") ? LINT_EFFECT_WRITES : LINT_EFFECT_CATALOG;
		if (lint_has_seq2(c, c->i, c->n, "PARTITION", "OF"))
		{
			info->kind = "CREATE TABLE PARTITION OF";
			info->lock = "ACCESS EXCLUSIVE";
		}
		return;
	}
	if (lint_accept(c, "DATABASE"))
	{
		info->kind = "CREATE DATABASE";
		info->no_tx = true;
		return;
	}
	if (lint_accept(c, "TRIGGER") || LINT_SEQ(c, "CONSTRAINT", "TRIGGER"))
	{
		info->kind = "CREATE TRIGGER";
		for (; c->i < c->n; c->i++)
			if (lint_accept(c, "ON"))
			{
				info->table = lint_name(c);
				break;
			}
		info->lock = "SHARE ROW EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		return;
	}
	info->kind = "CREATE (other object)";
	info->effect = LINT_EFFECT_CATALOG;
}

static void
lint_drop(lint_state *st, lint_cur *c, lint_info *info)
{
	if (lint_accept(c, "INDEX"))
	{
		if (lint_accept(c, "CONCURRENTLY"))
		{
			info->kind = "DROP INDEX CONCURRENTLY";
			info->lock = "SHARE UPDATE EXCLUSIVE";
			info->no_tx = true;
		}
		else
		{
			info->kind = "DROP INDEX";
			info->lock = "ACCESS EXCLUSIVE";
		}
		LINT_SEQ(c, "IF", "EXISTS");
		info->index = lint_name(c);
		info->effect = LINT_EFFECT_CATALOG;
		return;
	}
	if (lint_accept(c, "TABLE"))
	{
		LINT_SEQ(c, "IF", "EXISTS");
		info->kind = "DROP TABLE";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		info->table = lint_name(c);
		for (;;)
		{
			if (info->table && !lint_is_new_table(st, info->table))
				lint_flag(st, "drop-table", "DROP TABLE %s breaks application code that still uses it",
						  info->table);
			if (!lint_punct(c, c->i, ','))
				break;
			c->i++;
			char *more = lint_name(c);
			if (!more)
				break;
			free(info->table);
			info->table = more;
		}
		return;
	}
	if (lint_accept(c, "DATABASE"))
	{
		info->kind = "DROP DATABASE";
		info->no_tx = true;
		return;
	}
	if (lint_accept(c, "TRIGGER"))
	{
		info->kind = "DROP TRIGGER";
		for (; c->i < c->n; c->i++)
			if (lint_accept(c, "ON"))
			{
				info->table = lint_name(c);
				break;
			}
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		return;
	}
	info->kind = "DROP (other object)";
	info->effect = LINT_EFFECT_CATALOG;
}

static void
lint_alter(lint_state *st, lint_cur *c, lint_info *info)
{
	if (lint_accept(c, "TABLE"))
	{
		lint_alter_table(st, c, info);
		return;
	}
	if (lint_accept(c, "SYSTEM"))
	{
		info->kind = "ALTER SYSTEM";
		info->no_tx = true;
		return;
	}
	if (lint_accept(c, "TYPE"))
	{
		free(lint_name(c));
		if (lint_accept(c, "ADD") && lint_accept(c, "VALUE"))
		{
			info->kind = "ALTER TYPE ADD VALUE";
			info->effect = LINT_EFFECT_CATALOG;
			return;
		}
		info->kind = "ALTER TYPE";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		return;
	}
	bool view = lint_accept(c, "VIEW") || LINT_SEQ(c, "MATERIALIZED", "VIEW");
	if (view)
	{
		LINT_SEQ(c, "IF", "EXISTS");
		info->table = lint_name(c);
		info->kind = "ALTER VIEW";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		if (lint_accept(c, "RENAME"))
			lint_flag(st, "rename", "renaming view %s breaks the running application, which still uses the old name",
					  info->table ? info->table : "?");
		return;
	}
	if (lint_accept(c, "INDEX"))
	{
		info->kind = "ALTER INDEX";
		info->lock = "SHARE UPDATE EXCLUSIVE";
		info->effect = LINT_EFFECT_CATALOG;
		return;
	}
	info->kind = "ALTER (other object)";
	info->effect = LINT_EFFECT_CATALOG;
}

void
lint_info_free(lint_info *info)
{
	free(info->table);
	free(info->index);
	info->table = NULL;
	info->index = NULL;
}

static void
lint_run(lint_state *st, const sqlsplit_stmt *s, lint_info *info)
{
	memset(info, 0, sizeof *info);
	info->kind = "other";
	info->lock = "none";
	lint_cur c = {.sql = s->sql, .t = s->toks, .n = s->ntoks};
	if (c.n == 0)
		return;

	if (lint_at(&c, "BEGIN") || lint_at(&c, "COMMIT") || lint_at(&c, "ROLLBACK") || lint_at(&c, "ABORT")
		|| lint_at(&c, "SAVEPOINT") || lint_at(&c, "RELEASE") || LINT_SEQ(&c, "START", "TRANSACTION")
		|| (lint_at(&c, "END") && c.n <= 2))
	{
		info->kind = "transaction control";
		info->tx_control = true;
		return;
	}
	if (lint_accept(&c, "CREATE"))
		lint_create_stmt(st, &c, info);
	else if (lint_accept(&c, "DROP"))
		lint_drop(st, &c, info);
	else if (lint_accept(&c, "ALTER"))
		lint_alter(st, &c, info);
	else if (lint_accept(&c, "VACUUM"))
	{
		bool full = lint_has_word(&c, c.i, c.n, "FULL");
		info->no_tx = true;
		info->kind = full ? "VACUUM FULL" : "VACUUM";
		info->lock = full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE";
		info->effect = full ? LINT_EFFECT_REWRITES : LINT_EFFECT_SCANS;
		if (full)
			lint_flag(st, "vacuum-full", "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock for "
					  "its whole duration");
	}
	else if (lint_accept(&c, "CLUSTER"))
	{
		info->kind = "CLUSTER";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_REWRITES;
		lint_accept(&c, "VERBOSE");
		info->table = lint_name(&c);
		lint_flag(st, "cluster", "CLUSTER rewrites %s under an ACCESS EXCLUSIVE lock for its whole duration",
				  info->table ? info->table : "the table");
	}
	else if (lint_accept(&c, "REINDEX"))
	{
		bool conc = lint_has_word(&c, c.i, c.n, "CONCURRENTLY");
		info->kind = conc ? "REINDEX CONCURRENTLY" : "REINDEX";
		info->lock = conc ? "SHARE UPDATE EXCLUSIVE" : "SHARE";
		info->effect = LINT_EFFECT_SCANS;
		info->no_tx = conc || lint_has_word(&c, c.i, c.n, "DATABASE") || lint_has_word(&c, c.i, c.n, "SYSTEM")
			|| lint_has_word(&c, c.i, c.n, "SCHEMA");
	}
	else if (lint_accept(&c, "LOCK"))
	{
		lint_accept(&c, "TABLE");
		lint_accept(&c, "ONLY");
		info->table = lint_name(&c);
		info->kind = "LOCK TABLE";
		info->lock = "ACCESS EXCLUSIVE";
		while (c.i < c.n && !lint_at(&c, "IN"))
			c.i++;
		if (lint_accept(&c, "IN"))
		{
			buf_t b = {0};
			for (; c.i < c.n && !lint_at(&c, "MODE"); c.i++)
				buf_printf(&b, "%s%.*s", b.len ? " " : "", (int) c.t[c.i].len, s->sql + c.t[c.i].off);
			for (int k = 1; lint_locks[k]; k++)
				if (b.len && strcasecmp(b.data, lint_locks[k]) == 0)
					info->lock = lint_locks[k];
			buf_free(&b);
		}
		lint_flag(st, "lock-table", "LOCK TABLE holds an %s lock on %s until the migration commits",
				  info->lock, info->table ? info->table : "the table");
	}
	else if (lint_accept(&c, "SET"))
	{
		lint_accept(&c, "LOCAL");
		lint_accept(&c, "SESSION");
		info->kind = "SET";
		if (lint_at(&c, "lock_timeout") || lint_at(&c, "statement_timeout")
			|| lint_at(&c, "idle_in_transaction_session_timeout"))
		{
			char *name = lint_tok_text(&c, c.i);
			lint_flag(st, "timeout-override", "SET %s overrides the timeout pgcarry sets to protect the "
					  "application's queries", name);
			free(name);
		}
	}
	else if (lint_at(&c, "INSERT") || lint_at(&c, "UPDATE") || lint_at(&c, "DELETE") || lint_at(&c, "MERGE")
			 || lint_at(&c, "COPY"))
	{
		info->kind = lint_at(&c, "INSERT") ? "INSERT" : lint_at(&c, "UPDATE") ? "UPDATE"
			: lint_at(&c, "DELETE") ? "DELETE" : lint_at(&c, "MERGE") ? "MERGE" : "COPY";
		c.i++;
		lint_accept(&c, "INTO");
		lint_accept(&c, "FROM");
		lint_accept(&c, "ONLY");
		info->table = lint_name(&c);
		info->lock = "ROW EXCLUSIVE";
		info->effect = LINT_EFFECT_WRITES;
	}
	else if (lint_accept(&c, "TRUNCATE"))
	{
		lint_accept(&c, "TABLE");
		lint_accept(&c, "ONLY");
		info->table = lint_name(&c);
		info->kind = "TRUNCATE";
		info->lock = "ACCESS EXCLUSIVE";
		info->effect = LINT_EFFECT_WRITES;
	}
	else if (lint_at(&c, "COMMENT") || lint_at(&c, "GRANT") || lint_at(&c, "REVOKE"))
	{
		info->kind = lint_at(&c, "COMMENT") ? "COMMENT" : "GRANT/REVOKE";
		info->effect = LINT_EFFECT_CATALOG;
	}
	else if (lint_at(&c, "SELECT") || lint_at(&c, "WITH") || lint_at(&c, "DO"))
	{
		info->kind = lint_at(&c, "DO") ? "DO block" : "SELECT";
		info->lock = lint_at(&c, "DO") ? "unknown" : "ACCESS SHARE";
	}
	else
		info->lock = "unknown";
}

void
lint_classify(const sqlsplit_stmt *s, lint_info *out)
{
	lint_run(NULL, s, out);
}

size_t
lint_statement(lint_state *st, const sqlsplit_stmt *s)
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
