/*
 * sqlsplit.h: a tokenizer and statement splitter for PostgreSQL SQL text.
 *
 * Migration files are plain SQL; pgcarry needs them one statement at a time
 * (to run some outside a transaction, to plan and lint each).  Splitting on
 * ';' is only right outside quoting, so the tokenizer knows the lexical
 * rules that matter: '...' strings with '' inside, E'...' strings with
 * backslash escapes, "quoted identifiers", dollar quoting $tag$...$tag$,
 * -- comments, nested block comments, and BEGIN ATOMIC ... END bodies of
 * SQL-standard functions.  Knows nothing of libpq or servers.
 */
#ifndef PGCARRY_SQLSPLIT_H
#define PGCARRY_SQLSPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef enum sqlsplit_kind
{
	SQLSPLIT_WORD,				/* keyword or unquoted identifier */
	SQLSPLIT_QIDENT,			/* "quoted identifier" (also U&"...") */
	SQLSPLIT_STRING,			/* '...', E'...', B'...', X'...', U&'...' */
	SQLSPLIT_DOLLAR,			/* $tag$ ... $tag$ */
	SQLSPLIT_NUMBER,
	SQLSPLIT_PARAM,				/* $1 */
	SQLSPLIT_PUNCT,				/* one of ( ) , . ; [ ] */
	SQLSPLIT_OP,				/* a run of operator characters, or :: */
	SQLSPLIT_LINE_COMMENT,		/* -- ... (without the newline) */
	SQLSPLIT_BLOCK_COMMENT		/* a block comment, nested ones inside */
} sqlsplit_kind;

typedef struct sqlsplit_token
{
	sqlsplit_kind kind;
	size_t		off;			/* byte offset into the text tokenized */
	size_t		len;
	int			line;			/* 1-based line of its first byte */
} sqlsplit_token;

/*
 * Tokenizes text[0..len).  Line numbers start at first_line.  Returns 0
 * with *toks (owned by the caller, free()) and *ntoks set, or -1 with err set
 * for an unterminated string, identifier, dollar quote or comment (naming
 * its line).
 */
int sqlsplit_tokenize(const char *text, size_t len, int first_line,
					  sqlsplit_token **toks, size_t *ntoks, pgc_err *err);

typedef struct sqlsplit_stmt
{
	char	   *sql;			/* statement text, trimmed, without its ';' */
	int			line;			/* line of its first token */
	char	  **allow;			/* rules acknowledged by "pgcarry:allow" comments */
	size_t		nallow;
	sqlsplit_token *toks;		/* tokens of sql without comments (offsets into sql) */
	size_t		ntoks;
} sqlsplit_stmt;

typedef struct sqlsplit_list
{
	sqlsplit_stmt *items;
	size_t		n;
} sqlsplit_list;

/*
 * Splits text[0..len) into statements at top-level semicolons.  Comments
 * "-- pgcarry:allow RULE[,RULE...] reason" (or the same in a block comment)
 * found before or inside a statement acknowledge those lint rules for it.
 * Returns 0 with *out filled (release with sqlsplit_list_free), or -1 with
 * err set as sqlsplit_tokenize does.
 */
int sqlsplit_split(const char *text, size_t len, int first_line, sqlsplit_list *out, pgc_err *err);

/* Frees the statements of l and leaves it empty. */
void sqlsplit_list_free(sqlsplit_list *l);

/* True when token t of text is the unquoted word w (case-insensitive). */
bool sqlsplit_is_word(const char *text, const sqlsplit_token *t, const char *w);

/* True when statement s acknowledges lint rule rule. */
bool sqlsplit_allows(const sqlsplit_stmt *s, const char *rule);

#endif
