/*
 * sqlparse.c: migration SQL read by PostgreSQL's own parser (see
 * sqlparse.h).
 *
 * How it works: libpg_query does the reading.  pg_query_scan returns the
 * lexer's tokens as a protobuf ScanResult; the few fields pgcarry needs
 * (each token's start, end and kind) are read straight off the protobuf
 * wire format below, so no protobuf library is needed.  pg_query_parse
 * returns the statements as JSON: each with its parse tree and the span of
 * text the grammar gave it (from just after the previous ';' to its own
 * ';').  A statement's text runs from the first to the last token of its
 * span that is not a comment; the comments of a span, and those between
 * the previous statement and it, may acknowledge lint rules.  The
 * positions libpg_query gives in errors count characters, as PostgreSQL's
 * do; the ones in tokens and trees count bytes.
 */
#include "schema/sqlparse.h"

#include "util/buf.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <pg_query.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Token numbers of comments in libpg_query's Token enum (pg_query.proto). */
#define SQLPARSE_TOKEN_SQL_COMMENT 275
#define SQLPARSE_TOKEN_C_COMMENT 276

/* ------------------------------------------------------------------------
 * Positions and carets
 * ------------------------------------------------------------------------ */

size_t
sqlparse_char_offset(const char *text, size_t len, int cursorpos)
{
	size_t off = 0;
	for (int c = 1; c < cursorpos && off < len; c++)
	{
		off++;
		while (off < len && ((unsigned char) text[off] & 0xC0) == 0x80)
			off++;
	}
	return off < len ? off : len;
}

/* Line number of byte pos (lines from first_line). */
static int
sqlparse_line_of(const char *text, size_t pos, int first_line)
{
	int line = first_line;
	for (size_t i = 0; i < pos; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* 1-based column of byte pos, counted in characters. */
static int
sqlparse_column_of(const char *text, size_t pos)
{
	size_t start = pos;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	int col = 1;
	for (size_t i = start; i < pos; i++)
		if (((unsigned char) text[i] & 0xC0) != 0x80)
			col++;
	return col;
}

char *
sqlparse_caret(const char *text, size_t len, size_t pos, int first_line)
{
	if (pos > len)
		pos = len;
	size_t start = pos, end = pos;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	while (end < len && text[end] != '\n' && text[end] != '\r')
		end++;
	buf_t b = {0};
	char num[16];
	int w = snprintf(num, sizeof num, "%d", sqlparse_line_of(text, pos, first_line));
	buf_printf(&b, "  %s | %.*s\n  %*s | ", num, (int) (end - start), text + start, w, "");
	/* Tabs stay tabs, so the caret lines up however they are shown. */
	for (size_t i = start; i < pos; i++)
		if (text[i] == '\t')
			buf_putc(&b, '\t');
		else if (((unsigned char) text[i] & 0xC0) != 0x80)
			buf_putc(&b, ' ');
	buf_putc(&b, '^');
	return buf_steal(&b);
}

/*
 * Fills err for libpg_query's error e on text: an unterminated token is
 * named as before ("unterminated string starting on line N"), anything
 * else as "NAME:LINE:COLUMN: message"; the detail shows the place.
 */
static void
sqlparse_fail(pgc_err *err, const char *text, size_t len, int first_line, const char *name,
			  const PgQueryError *e)
{
	size_t pos = e->cursorpos > 0 ? sqlparse_char_offset(text, len, e->cursorpos) : len;
	int line = sqlparse_line_of(text, pos, first_line);
	const char *m = e->message ? e->message : "syntax error";
	static const struct
	{
		const char *pg;
		const char *what;
	} unterminated[] = {
		{"unterminated quoted string", "string"},
		{"unterminated bit string literal", "string"},
		{"unterminated hexadecimal string literal", "string"},
		{"unterminated quoted identifier", "quoted identifier"},
		{"unterminated dollar-quoted string", "dollar-quoted string"},
		{"unterminated /* comment", "comment"},
	};
	const char *what = NULL;
	for (size_t i = 0; i < sizeof unterminated / sizeof unterminated[0] && !what; i++)
		if (strncmp(m, unterminated[i].pg, strlen(unterminated[i].pg)) == 0)
			what = unterminated[i].what;
	if (what)
	{
		err_set(err, "%s%sunterminated %s starting on line %d", name ? name : "", name ? ": " : "", what, line);
		err_hint(err, "Close it; everything after it was read as part of it.");
	}
	else
	{
		err_set(err, "%s%s%d:%d: %s", name ? name : "", name ? ":" : "line ", line,
				sqlparse_column_of(text, pos), m);
		err_hint(err, "Correct the statement; pgcarry reads migrations with PostgreSQL %s's parser before it "
				 "runs anything.", PG_MAJORVERSION);
	}
	char *c = sqlparse_caret(text, len, pos, first_line);
	err_detail(err, "Where PostgreSQL's parser stopped:\n%s", c);
	free(c);
}

/* ------------------------------------------------------------------------
 * The scanner's tokens, off the protobuf wire
 * ------------------------------------------------------------------------ */

/* Reads a base-128 varint at *p; false when the data ends first. */
static bool
sqlparse_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7)
	{
		uint8_t b = *(*p)++;
		*v |= (uint64_t) (b & 0x7F) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* Skips a field of wire type wt; false on malformed data. */
static bool
sqlparse_pb_skip(const uint8_t **p, const uint8_t *end, unsigned wt)
{
	uint64_t v;
	switch (wt)
	{
		case 0:
			return sqlparse_pb_varint(p, end, &v);
		case 1:
			if (end - *p < 8)
				return false;
			*p += 8;
			return true;
		case 2:
			if (!sqlparse_pb_varint(p, end, &v) || (uint64_t) (end - *p) < v)
				return false;
			*p += v;
			return true;
		case 5:
			if (end - *p < 4)
				return false;
			*p += 4;
			return true;
		default:
			return false;
	}
}

/* Reads one ScanToken message {start = 1, end = 2, token = 4}. */
static bool
sqlparse_pb_token(const uint8_t *p, const uint8_t *end, uint64_t *start, uint64_t *stop, uint64_t *token)
{
	*start = *stop = *token = 0;
	while (p < end)
	{
		uint64_t key;
		if (!sqlparse_pb_varint(&p, end, &key))
			return false;
		unsigned field = (unsigned) (key >> 3), wt = (unsigned) (key & 7);
		uint64_t *into = field == 1 ? start : field == 2 ? stop : field == 4 ? token : NULL;
		if (into && wt == 0)
		{
			if (!sqlparse_pb_varint(&p, end, into))
				return false;
		}
		else if (!sqlparse_pb_skip(&p, end, wt))
			return false;
	}
	return true;
}

int
sqlparse_tokens(const char *text, size_t len, int first_line, const char *name,
				sqlparse_token **toks, size_t *ntoks, pgc_err *err)
{
	*toks = NULL;
	*ntoks = 0;
	char *z = xstrndup(text, len);
	PgQueryScanResult r = pg_query_scan(z);
	int rc = 0;
	if (r.error)
	{
		sqlparse_fail(err, text, len, first_line, name, r.error);
		rc = -1;
		goto out;
	}
	const uint8_t *p = (const uint8_t *) r.pbuf.data, *end = p + r.pbuf.len;
	size_t cap = 0;
	int line = first_line;
	size_t line_at = 0;			/* lines counted up to here */
	while (p < end)
	{
		uint64_t key, n;
		if (!sqlparse_pb_varint(&p, end, &key))
			goto bad;
		if ((key >> 3) != 2 || (key & 7) != 2)
		{
			if (!sqlparse_pb_skip(&p, end, (unsigned) (key & 7)))
				goto bad;
			continue;
		}
		if (!sqlparse_pb_varint(&p, end, &n) || (uint64_t) (end - p) < n)
			goto bad;
		uint64_t start, stop, token;
		if (!sqlparse_pb_token(p, p + n, &start, &stop, &token) || stop < start || stop > len)
			goto bad;
		p += n;
		if (*ntoks == cap)
		{
			cap = cap ? cap * 2 : 64;
			*toks = xrealloc(*toks, cap * sizeof **toks);
		}
		for (; line_at < start; line_at++)
			if (text[line_at] == '\n')
				line++;
		(*toks)[(*ntoks)++] = (sqlparse_token) {
			.off = start, .len = stop - start, .line = line,
			.comment = token == SQLPARSE_TOKEN_SQL_COMMENT || token == SQLPARSE_TOKEN_C_COMMENT,
			.line_comment = token == SQLPARSE_TOKEN_SQL_COMMENT
		};
	}
	goto out;
bad:
	/* Only a libpg_query that does not match pg_query.proto gets here. */
	err_set(err, "%s%scould not read the tokens of PostgreSQL's scanner", name ? name : "", name ? ": " : "");
	err_hint(err, "Install the libpg-query-dev version pgcarry was built with.");
	free(*toks);
	*toks = NULL;
	*ntoks = 0;
	rc = -1;
out:
	pg_query_free_scan_result(r);
	free(z);
	return rc;
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

bool
sqlparse_allows(const sqlparse_stmt *s, const char *rule)
{
	for (size_t i = 0; i < s->nallow; i++)
		if (strcasecmp(s->allow[i], rule) == 0)
			return true;
	return false;
}

/* Reads "pgcarry:allow RULE[,RULE...]" out of a comment's text into s. */
static void
sqlparse_read_allow(const char *c, size_t n, sqlparse_stmt *s)
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
				s->allow = xrealloc(s->allow, (s->nallow + 1) * sizeof *s->allow);
				s->allow[s->nallow++] = xstrndup(w, (size_t) (p - w));
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

/*
 * Parses text[0..len) and appends its statements to out, their text and
 * comments taken from toks (the scanner's tokens of at least that much
 * text).  *res is libpg_query's result, which the caller frees with
 * pg_query_free_parse_result whatever happens.  Returns 0, or -1 with
 * res->error set (a syntax error) or err set (a tree pgcarry cannot read).
 */
static int
sqlparse_build(const char *text, size_t len, const sqlparse_token *toks, size_t ntoks, sqlparse_list *out,
			   PgQueryParseResult *res, const char *name, pgc_err *err)
{
	char *z = xstrndup(text, len);
	*res = pg_query_parse(z);
	free(z);
	if (res->error)
		return -1;
	json_error_t je;
	json_t *root = json_loads(res->parse_tree, 0, &je);
	json_t *stmts = json_object_get(root, "stmts");
	if (!root || (stmts && !json_is_array(stmts)))
	{
		err_set(err, "%s%scould not read the parse tree of PostgreSQL's parser", name ? name : "", name ? ": " : "");
		json_decref(root);
		return -1;
	}
	size_t k = 0;				/* next token to look at */
	size_t i;
	json_t *js;
	json_array_foreach(stmts, i, js)
	{
		json_int_t loc = json_integer_value(json_object_get(js, "stmt_location"));
		json_int_t slen = json_integer_value(json_object_get(js, "stmt_len"));
		/* Its span ends at its ';', or at the end of the text. */
		size_t stop = (slen > 0 && (size_t) (loc + slen) <= len) ? (size_t) (loc + slen) : len;
		sqlparse_stmt s = {0};
		size_t first = SIZE_MAX, last = 0;
		for (; k < ntoks && toks[k].off < stop; k++)
		{
			if (toks[k].comment)
				sqlparse_read_allow(text + toks[k].off, toks[k].len, &s);
			else if (toks[k].off >= (size_t) loc)
			{
				if (first == SIZE_MAX)
					first = k;
				last = k;
			}
		}
		if (first == SIZE_MAX)
		{
			/* The grammar never yields an empty statement; be safe anyway. */
			for (size_t a = 0; a < s.nallow; a++)
				free(s.allow[a]);
			free(s.allow);
			continue;
		}
		/* A ';' that ends the span is not part of the statement. */
		while (last > first && (toks[last].comment || (toks[last].len == 1 && text[toks[last].off] == ';')))
			last--;
		size_t from = toks[first].off, to = toks[last].off + toks[last].len;
		s.sql = xstrndup(text + from, to - from);
		s.line = toks[first].line;
		s.col = sqlparse_column_of(text, from);
		s.tree = json_incref(json_object_get(js, "stmt"));
		out->items = xrealloc(out->items, (out->n + 1) * sizeof *out->items);
		out->items[out->n++] = s;
	}
	json_decref(root);
	return 0;
}

int
sqlparse_split(const char *text, size_t len, int first_line, const char *name, sqlparse_list *out,
			   pgc_err *err)
{
	out->items = NULL;
	out->n = 0;
	sqlparse_token *toks = NULL;
	size_t ntoks = 0;
	if (sqlparse_tokens(text, len, first_line, name, &toks, &ntoks, err) != 0)
		return -1;
	PgQueryParseResult r;
	int rc = sqlparse_build(text, len, toks, ntoks, out, &r, name, err);
	if (rc != 0 && r.error)
	{
		/*
		 * Keep the statements before the one that failed (a caller may
		 * know better what went wrong: the rows of a COPY FROM STDIN are
		 * not SQL).  That one starts after the last ';' before the error.
		 */
		size_t pos = r.error->cursorpos > 0 ? sqlparse_char_offset(text, len, r.error->cursorpos) : len;
		size_t start = 0;
		for (size_t i = 0; i < ntoks && toks[i].off < pos; i++)
			if (!toks[i].comment && toks[i].len == 1 && text[toks[i].off] == ';')
				start = toks[i].off + 1;
		if (start > 0)
		{
			PgQueryParseResult before;
			if (sqlparse_build(text, start, toks, ntoks, out, &before, name, err) != 0)
				sqlparse_list_free(out);
			pg_query_free_parse_result(before);
		}
		sqlparse_fail(err, text, len, first_line, name, r.error);
	}
	if (rc != 0 && !r.error && out->n)
		sqlparse_list_free(out);
	pg_query_free_parse_result(r);
	free(toks);
	return rc;
}

void
sqlparse_list_free(sqlparse_list *l)
{
	for (size_t i = 0; i < l->n; i++)
	{
		sqlparse_stmt *s = &l->items[i];
		free(s->sql);
		for (size_t j = 0; j < s->nallow; j++)
			free(s->allow[j]);
		free(s->allow);
		json_decref(s->tree);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}
