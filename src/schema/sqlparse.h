/*
 * sqlparse.h: migration SQL read by PostgreSQL's own parser (libpg_query).
 *
 * Migration files are plain SQL; pgcarry needs them one statement at a
 * time (to run some outside a transaction, to plan and lint each), with the
 * parse tree of each statement for the classifier (lint.h).  Nothing here
 * knows the SQL grammar: libpg_query's scanner gives the tokens (comments
 * included, which carry "pgcarry:allow" acknowledgements and the section
 * markers of migration files), its parser gives the statements, where each
 * one starts and ends, and its tree as JSON.  A syntax error is reported
 * with its line and column and the line itself with a caret under the
 * place, as PostgreSQL 15's grammar sees it.  Knows nothing of servers.
 */
#ifndef PGCARRY_SQLPARSE_H
#define PGCARRY_SQLPARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* One token of the scanner: where it is, and whether it is a comment. */
typedef struct sqlparse_token
{
	size_t		off;			/* byte offset into the text scanned */
	size_t		len;
	int			line;			/* line of its first byte */
	bool		comment;		/* a -- or block comment */
	bool		line_comment;	/* a -- comment (without its newline) */
} sqlparse_token;

/*
 * Scans text[0..len) with PostgreSQL's lexer.  Line numbers start at
 * first_line; name (may be NULL) names the text in messages.  Returns 0
 * with *toks (owned by the caller, free()) and *ntoks set, or -1 with err
 * set for an unterminated string, quoted identifier, dollar quote or
 * comment (naming its line, with the line and a caret in the detail).
 */
int sqlparse_tokens(const char *text, size_t len, int first_line, const char *name,
					sqlparse_token **toks, size_t *ntoks, pgc_err *err);

typedef struct sqlparse_stmt
{
	char	   *sql;			/* statement text, from its first token to its last, no ';' */
	int			line;			/* line of its first token */
	int			col;			/* 1-based column (in characters) of its first token */
	char	  **allow;			/* rules acknowledged by "pgcarry:allow" comments */
	size_t		nallow;
	json_t	   *tree;			/* the parse tree: one node such as {"IndexStmt": {...}} */
} sqlparse_stmt;

typedef struct sqlparse_list
{
	sqlparse_stmt *items;
	size_t		n;
} sqlparse_list;

/*
 * Splits and parses text[0..len) (line numbers from first_line; name, may
 * be NULL, names it in messages).  Empty statements are dropped.  Comments
 * "-- pgcarry:allow RULE[,RULE...] reason" (or the same in a block comment)
 * found before or inside a statement acknowledge those lint rules for it.
 * Returns 0 with *out filled, or -1 with err set: "NAME:LINE:COLUMN: syntax
 * error at or near ..." (PostgreSQL's message) or "NAME: unterminated
 * string starting on line N", the detail showing the line with a caret
 * under the place.  After a syntax error *out holds the statements before
 * the one that failed (a caller may know better what went wrong).  Release
 * *out with sqlparse_list_free either way.
 */
int sqlparse_split(const char *text, size_t len, int first_line, const char *name, sqlparse_list *out,
				   pgc_err *err);

/* Frees the statements of l and leaves it empty. */
void sqlparse_list_free(sqlparse_list *l);

/* True when statement s acknowledges lint rule rule. */
bool sqlparse_allows(const sqlparse_stmt *s, const char *rule);

/*
 * The line of text holding byte offset pos, and a caret under pos, as two
 * lines "  LINE | text" and "       | ^" (line numbers from first_line), for
 * an error's detail; owned by the caller.
 */
char *sqlparse_caret(const char *text, size_t len, size_t pos, int first_line);

/*
 * The byte offset in text of PostgreSQL's 1-based character position
 * cursorpos (as in an error's position field); len when it is past the end.
 */
size_t sqlparse_char_offset(const char *text, size_t len, int cursorpos);

#endif
