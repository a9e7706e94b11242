/*
 * lint.h: what a migration statement does to a live database, and which
 * statements are dangerous there.
 *
 * Pure logic over PostgreSQL's parse tree of each statement (sqlparse.h):
 * no server is asked.  lint_classify
 * names a statement's kind, the lock it takes, whether it rewrites or scans
 * its table, and whether it must run outside a transaction block (for
 * "schema plan" and the runner).  A lint_state checks statements one file at
 * a time and collects findings, each with the rule's name, one sentence on
 * the danger and the safe alternative.  Rules (names used by
 * "-- pgcarry:allow RULE reason"):
 *
 *   index-not-concurrent  add-column-volatile-default  set-not-null
 *   constraint-not-valid  type-change  unique-not-using-index
 *   drop-column  drop-table  rename  vacuum-full  cluster
 *   lock-table  timeout-override
 *
 * A foreign key takes SHARE ROW EXCLUSIVE on both its table and the table
 * it references; lint_info names the second one apart. *
 * Statements on a table created earlier in the same file are not flagged
 * (nobody else uses it yet).
 */
#ifndef PGCARRY_LINT_H
#define PGCARRY_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "schema/sqlparse.h"

typedef enum lint_effect
{
	LINT_EFFECT_NONE = 0,		/* no table data touched */
	LINT_EFFECT_CATALOG,		/* catalog change only: brief */
	LINT_EFFECT_WRITES,			/* writes rows (DML) */
	LINT_EFFECT_SCANS,			/* reads the whole table (validation, index build) */
	LINT_EFFECT_REWRITES		/* rewrites the whole table */
} lint_effect;

typedef struct lint_info
{
	const char *kind;			/* e.g. "CREATE INDEX CONCURRENTLY"; static */
	const char *lock;			/* e.g. "ACCESS EXCLUSIVE", "none"; static */
	lint_effect effect;
	bool		no_tx;			/* cannot run inside a transaction block */
	bool		tx_control;		/* BEGIN, COMMIT, ROLLBACK, SAVEPOINT ... */
	char	   *table;			/* the table as written (for to_regclass), or NULL */
	char	   *index;			/* CREATE INDEX: the index name as written, or NULL */
	char	   *ref_table;		/* a foreign key's referenced table, or NULL */
	const char *ref_lock;		/* the lock taken on ref_table; static, or NULL */
	bool		copy_stdio;		/* COPY ... FROM STDIN or TO STDOUT */
} lint_info;

/* Fills out for statement s (free with lint_info_free).  Never fails:
 * unknown statements get kind "other" and lock "unknown". */
void lint_classify(const sqlparse_stmt *s, lint_info *out);
void lint_info_free(lint_info *info);

/* "rewrites the table", "scans the table", ... for an effect; static. */
const char *lint_effect_text(lint_effect e);

typedef struct lint_finding
{
	const char *rule;			/* static */
	int			line;			/* the statement's first line */
	int			col;			/* the statement's first column (1-based) */
	char	   *message;		/* one sentence: the danger */
	const char *advice;			/* the safe alternative; static */
	bool		acknowledged;	/* a pgcarry:allow comment names the rule */
	char	   *table;			/* set-not-null: the table as written; else NULL */
	char	   *column;			/* set-not-null: the column as written; else NULL */
} lint_finding;

typedef struct lint_state lint_state;

/* A checker with no findings.  Destroy with lint_destroy. */
lint_state *lint_create(void);
void lint_destroy(lint_state *st);

/* Starts a new file: forgets the tables created by the previous one. */
void lint_begin_file(lint_state *st);

/* Checks one statement of the current file, adding findings.  Returns the
 * number of new findings that are not acknowledged. */
size_t lint_statement(lint_state *st, const sqlparse_stmt *s);

/* The findings so far (read-only; valid until the next call). */
const lint_finding *lint_findings(const lint_state *st, size_t *n);

/* Forgets the findings (keeps the created tables of the current file). */
void lint_clear_findings(lint_state *st);

/* An identifier as PostgreSQL stores it (the last part of a qualified
 * name; unquoted letters folded to lower case, quotes removed); owned by
 * the caller. */
char *lint_ident_norm(const char *name);

/* True when rule names a lint rule. */
bool lint_rule_exists(const char *rule);

#endif
