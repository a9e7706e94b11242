/*
 * sqlsplit.c: PostgreSQL SQL tokenizer and statement splitter (see
 * sqlsplit.h).
 *
 * How it works: one pass over the bytes.  At each position the first
 * character decides the token: whitespace is skipped (counting lines);
 * "--" and slash-star open comments (block comments nest); ' opens a string, and
 * a preceding E/e makes it an escape string where backslash quotes the next
 * byte; " opens a quoted identifier ("" inside); $ followed by an optional
 * identifier and $ opens a dollar quote that ends at the same tag; $digits
 * is a parameter; letters start a word (identifier characters and $);
 * digits start a number; ( ) , . ; [ ] are punctuation; everything else is
 * an operator run.  The splitter then cuts at ';' tokens, except inside
 * parentheses (CREATE RULE ... DO (a; b)) and inside a BEGIN ATOMIC ... END
 * body (where CASE ... END nests), as psql does.
 */
#include "schema/sqlsplit.h"

#include "util/buf.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------
 * Tokenizer
 * ------------------------------------------------------------------------ */

static bool
sqlsplit_ident_start(unsigned char c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static bool
sqlsplit_ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static bool
sqlsplit_op_char(unsigned char c)
{
	return strchr("+-*/<>=~!@#%^&|`?:", c) != NULL && c != '\0';
}

typedef struct sqlsplit_lexer
{
	const char *s;
	size_t		len;
	size_t		pos;
	int			line;
	sqlsplit_token *toks;
	size_t		n;
	size_t		cap;
} sqlsplit_lexer;

static void
sqlsplit_push(sqlsplit_lexer *lx, sqlsplit_kind kind, size_t off, int line)
{
	if (lx->n == lx->cap)
	{
		lx->cap = lx->cap ? lx->cap * 2 : 64;
		lx->toks = xrealloc(lx->toks, lx->cap * sizeof *lx->toks);
	}
	lx->toks[lx->n++] = (sqlsplit_token) {.kind = kind, .off = off, .len = lx->pos - off, .line = line};
}

/* Advances over one byte, counting newlines. */
static void
sqlsplit_adv(sqlsplit_lexer *lx)
{
	if (lx->s[lx->pos] == '\n')
		lx->line++;
	lx->pos++;
}

/* Scans a quoted run that ends at quote (doubled quote stays inside);
 * backslash escapes the next byte when escapes.  pos is after the opening
 * quote.  Returns false at end of text. */
static bool
sqlsplit_scan_quoted(sqlsplit_lexer *lx, char quote, bool escapes)
{
	while (lx->pos < lx->len)
	{
		char c = lx->s[lx->pos];
		if (escapes && c == '\\' && lx->pos + 1 < lx->len)
		{
			sqlsplit_adv(lx);
			sqlsplit_adv(lx);
			continue;
		}
		sqlsplit_adv(lx);
		if (c == quote)
		{
			if (lx->pos < lx->len && lx->s[lx->pos] == quote)
			{
				sqlsplit_adv(lx);
				continue;
			}
			return true;
		}
	}
	return false;
}

/* Length of a dollar-quote delimiter ($tag$ or $$) at p, or 0. */
static size_t
sqlsplit_dollar_tag(const char *s, size_t len, size_t p)
{
	if (p >= len || s[p] != '$')
		return 0;
	size_t q = p + 1;
	if (q < len && s[q] == '$')
		return 2;
	if (q >= len || !sqlsplit_ident_start((unsigned char) s[q]))
		return 0;
	while (q < len && (isalnum((unsigned char) s[q]) || s[q] == '_' || (unsigned char) s[q] >= 0x80))
		q++;
	if (q < len && s[q] == '$')
		return q - p + 1;
	return 0;
}

static void
sqlsplit_unterminated(pgc_err *err, const char *what, int line)
{
	err_set(err, "unterminated %s starting on line %d", what, line);
	err_hint(err, "Close it; everything after it was read as part of it.");
}

int
sqlsplit_tokenize(const char *text, size_t len, int first_line,
				  sqlsplit_token **toks, size_t *ntoks, pgc_err *err)
{
	sqlsplit_lexer lx = {.s = text, .len = len, .line = first_line};
	while (lx.pos < len)
	{
		unsigned char c = (unsigned char) text[lx.pos];
		size_t start = lx.pos;
		int line = lx.line;
		char next = lx.pos + 1 < len ? text[lx.pos + 1] : '\0';

		if (isspace(c))
		{
			sqlsplit_adv(&lx);
			continue;
		}
		if (c == '-' && next == '-')
		{
			while (lx.pos < len && text[lx.pos] != '\n')
				lx.pos++;
			sqlsplit_push(&lx, SQLSPLIT_LINE_COMMENT, start, line);
			continue;
		}
		if (c == '/' && next == '*')
		{
			int depth = 0;
			bool closed = false;
			while (lx.pos < len)
			{
				if (text[lx.pos] == '/' && lx.pos + 1 < len && text[lx.pos + 1] == '*')
				{
					depth++;
					lx.pos += 2;
				}
				else if (text[lx.pos] == '*' && lx.pos + 1 < len && text[lx.pos + 1] == '/')
				{
					lx.pos += 2;
					if (--depth == 0)
					{
						closed = true;
						break;
					}
				}
				else
					sqlsplit_adv(&lx);
			}
			if (!closed)
			{
				sqlsplit_unterminated(err, "comment", line);
				goto fail;
			}
			sqlsplit_push(&lx, SQLSPLIT_BLOCK_COMMENT, start, line);
			continue;
		}
		if (c == '\'')
		{
			lx.pos++;
			if (!sqlsplit_scan_quoted(&lx, '\'', false))
			{
				sqlsplit_unterminated(err, "string", line);
				goto fail;
			}
			sqlsplit_push(&lx, SQLSPLIT_STRING, start, line);
			continue;
		}
		if ((c == 'E' || c == 'e' || c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n')
			&& next == '\'')
		{
			bool esc = c == 'E' || c == 'e';
			lx.pos += 2;
			if (!sqlsplit_scan_quoted(&lx, '\'', esc))
			{
				sqlsplit_unterminated(err, "string", line);
				goto fail;
			}
			sqlsplit_push(&lx, SQLSPLIT_STRING, start, line);
			continue;
		}
		if ((c == 'U' || c == 'u') && next == '&' && lx.pos + 2 < len
			&& (text[lx.pos + 2] == '\'' || text[lx.pos + 2] == '"'))
		{
			char q = text[lx.pos + 2];
			lx.pos += 3;
			if (!sqlsplit_scan_quoted(&lx, q, false))
			{
				sqlsplit_unterminated(err, q == '"' ? "quoted identifier" : "string", line);
				goto fail;
			}
			sqlsplit_push(&lx, q == '"' ? SQLSPLIT_QIDENT : SQLSPLIT_STRING, start, line);
			continue;
		}
		if (c == '"')
		{
			lx.pos++;
			if (!sqlsplit_scan_quoted(&lx, '"', false))
			{
				sqlsplit_unterminated(err, "quoted identifier", line);
				goto fail;
			}
			sqlsplit_push(&lx, SQLSPLIT_QIDENT, start, line);
			continue;
		}
		if (c == '$')
		{
			size_t tl = sqlsplit_dollar_tag(text, len, lx.pos);
			if (tl > 0)
			{
				const char *tag = text + lx.pos;
				for (size_t i = 0; i < tl; i++)
					sqlsplit_adv(&lx);
				bool closed = false;
				while (lx.pos < len)
				{
					if (text[lx.pos] == '$' && lx.pos + tl <= len && memcmp(text + lx.pos, tag, tl) == 0)
					{
						lx.pos += tl;
						closed = true;
						break;
					}
					sqlsplit_adv(&lx);
				}
				if (!closed)
				{
					sqlsplit_unterminated(err, "dollar-quoted string", line);
					goto fail;
				}
				sqlsplit_push(&lx, SQLSPLIT_DOLLAR, start, line);
				continue;
			}
			if (isdigit((unsigned char) next))
			{
				lx.pos++;
				while (lx.pos < len && isdigit((unsigned char) text[lx.pos]))
					lx.pos++;
				sqlsplit_push(&lx, SQLSPLIT_PARAM, start, line);
				continue;
			}
			lx.pos++;
			sqlsplit_push(&lx, SQLSPLIT_OP, start, line);
			continue;
		}
		if (sqlsplit_ident_start(c))
		{
			while (lx.pos < len && sqlsplit_ident_char((unsigned char) text[lx.pos]))
				lx.pos++;
			sqlsplit_push(&lx, SQLSPLIT_WORD, start, line);
			continue;
		}
		if (isdigit(c) || (c == '.' && isdigit((unsigned char) next)))
		{
			while (lx.pos < len && (isalnum((unsigned char) text[lx.pos]) || text[lx.pos] == '.'
									|| text[lx.pos] == '_'))
			{
				/* 1..2 is a range in array slices: stop before ".." */
				if (text[lx.pos] == '.' && lx.pos + 1 < len && text[lx.pos + 1] == '.')
					break;
				lx.pos++;
			}
			sqlsplit_push(&lx, SQLSPLIT_NUMBER, start, line);
			continue;
		}
		if (strchr("(),.;[]", c))
		{
			lx.pos++;
			sqlsplit_push(&lx, SQLSPLIT_PUNCT, start, line);
			continue;
		}
		/* An operator run; "--" or slash-star inside it starts a comment instead. */
		lx.pos++;
		while (lx.pos < len && sqlsplit_op_char((unsigned char) text[lx.pos]))
		{
			if ((text[lx.pos] == '-' && lx.pos + 1 < len && text[lx.pos + 1] == '-')
				|| (text[lx.pos] == '/' && lx.pos + 1 < len && text[lx.pos + 1] == '*'))
				break;
			lx.pos++;
		}
		sqlsplit_push(&lx, SQLSPLIT_OP, start, line);
	}
	*toks = lx.toks;
	*ntoks = lx.n;
	return 0;

fail:
	free(lx.toks);
	*toks = NULL;
	*ntoks = 0;
	return -1;
}

/* ------------------------------------------------------------------------
 * Splitter
 * ------------------------------------------------------------------------ */

bool
sqlsplit_is_word(const char *text, const sqlsplit_token *t, const char *w)
{
	size_t n = strlen(w);
	return t->kind == SQLSPLIT_WORD && t->len == n && strncasecmp(text + t->off, w, n) == 0;
}

bool
sqlsplit_allows(const sqlsplit_stmt *s, const char *rule)
{
	for (size_t i = 0; i < s->nallow; i++)
		if (strcasecmp(s->allow[i], rule) == 0)
			return true;
	return false;
}

/* Reads "pgcarry:allow RULE[,RULE...]" out of a comment's text into the
 * pending list. */
static void
sqlsplit_read_allow(const char *c, size_t n, char ***allow, size_t *nallow)
{
	static const char marker[] = "pgcarry:allow";
	const char *end = c + n;
	const char *p = c;
	while (p < end)
	{
		const char *m = memmem(p, (size_t) (end - p), marker, sizeof marker - 1);
		if (!m)
			return;
		p = m + sizeof marker - 1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (;;)
		{
			const char *w = p;
			while (p < end && (isalnum((unsigned char) *p) || *p == '-' || *p == '_'))
				p++;
			if (p > w)
			{
				*allow = xrealloc(*allow, (*nallow + 1) * sizeof **allow);
				(*allow)[(*nallow)++] = xstrndup(w, (size_t) (p - w));
			}
			if (p < end && *p == ',')
			{
				p++;
				while (p < end && *p == ' ')
					p++;
				continue;
			}
			break;
		}
	}
}

static void
sqlsplit_emit(sqlsplit_list *out, const char *text, const sqlsplit_token *toks, size_t first,
			  size_t last, char **allow, size_t nallow)
{
	/* first..last (inclusive) are the statement's non-comment tokens. */
	size_t from = toks[first].off;
	size_t to = toks[last].off + toks[last].len;
	sqlsplit_stmt s = {0};
	s.sql = xstrndup(text + from, to - from);
	s.line = toks[first].line;
	s.allow = allow;
	s.nallow = nallow;
	size_t cnt = 0;
	for (size_t i = first; i <= last; i++)
		if (toks[i].kind != SQLSPLIT_LINE_COMMENT && toks[i].kind != SQLSPLIT_BLOCK_COMMENT)
			cnt++;
	s.toks = xcalloc(cnt ? cnt : 1, sizeof *s.toks);
	for (size_t i = first; i <= last; i++)
		if (toks[i].kind != SQLSPLIT_LINE_COMMENT && toks[i].kind != SQLSPLIT_BLOCK_COMMENT)
		{
			s.toks[s.ntoks] = toks[i];
			s.toks[s.ntoks].off -= from;
			s.ntoks++;
		}
	out->items = xrealloc(out->items, (out->n + 1) * sizeof *out->items);
	out->items[out->n++] = s;
}

int
sqlsplit_split(const char *text, size_t len, int first_line, sqlsplit_list *out, pgc_err *err)
{
	sqlsplit_token *toks = NULL;
	size_t n = 0;
	out->items = NULL;
	out->n = 0;
	if (sqlsplit_tokenize(text, len, first_line, &toks, &n, err) != 0)
		return -1;

	char **allow = NULL;
	size_t nallow = 0;
	size_t first = SIZE_MAX;	/* first non-comment token of the current statement */
	size_t last = 0;
	int atomic = 0;				/* depth inside BEGIN ATOMIC ... END */
	int			parens = 0;			/* depth inside ( ... ), as psql counts it */
	bool routine = false;		/* statement creates a function or procedure */
	for (size_t i = 0; i < n; i++)
	{
		const sqlsplit_token *t = &toks[i];
		if (t->kind == SQLSPLIT_LINE_COMMENT || t->kind == SQLSPLIT_BLOCK_COMMENT)
		{
			sqlsplit_read_allow(text + t->off, t->len, &allow, &nallow);
			continue;
		}
		bool semi = t->kind == SQLSPLIT_PUNCT && text[t->off] == ';';
		if (t->kind == SQLSPLIT_PUNCT && text[t->off] == '(')
			parens++;
		else if (t->kind == SQLSPLIT_PUNCT && text[t->off] == ')' && parens > 0)
			parens--;
		if (semi && atomic == 0 && parens == 0)
		{
			if (first != SIZE_MAX)
			{
				sqlsplit_emit(out, text, toks, first, last, allow, nallow);
				allow = NULL;
				nallow = 0;
			}
			first = SIZE_MAX;
			routine = false;
			parens = 0;
			continue;
		}
		if (first == SIZE_MAX)
			first = i;
		last = i;
		if (t->kind != SQLSPLIT_WORD)
			continue;
		if (sqlsplit_is_word(text, t, "FUNCTION") || sqlsplit_is_word(text, t, "PROCEDURE"))
			routine = true;
		else if (routine && sqlsplit_is_word(text, t, "ATOMIC") && i > 0
				 && sqlsplit_is_word(text, &toks[i - 1], "BEGIN"))
			atomic++;
		else if (atomic > 0 && sqlsplit_is_word(text, t, "CASE"))
			atomic++;
		else if (atomic > 0 && sqlsplit_is_word(text, t, "END"))
			atomic--;
	}
	if (first != SIZE_MAX)
	{
		sqlsplit_emit(out, text, toks, first, last, allow, nallow);
		allow = NULL;
		nallow = 0;
	}
	for (size_t i = 0; i < nallow; i++)
		free(allow[i]);
	free(allow);
	free(toks);
	return 0;
}

void
sqlsplit_list_free(sqlsplit_list *l)
{
	for (size_t i = 0; i < l->n; i++)
	{
		sqlsplit_stmt *s = &l->items[i];
		free(s->sql);
		for (size_t j = 0; j < s->nallow; j++)
			free(s->allow[j]);
		free(s->allow);
		free(s->toks);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}
