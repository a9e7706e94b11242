/*
 * buf.h: a growable byte buffer, always NUL-terminated.
 *
 * Knows nothing of the rest of pgcarry.  A zeroed buf_t ({0}) is a valid
 * empty buffer; buf_free releases it and leaves it empty again.
 */
#ifndef PGCARRY_BUF_H
#define PGCARRY_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf_t
{
	char	   *data;	/* read-only for callers; NUL-terminated when len > 0 */
	size_t		len;	/* read-only */
	size_t		cap;	/* private */
} buf_t;

void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *data, size_t n);
void buf_puts(buf_t *b, const char *s);
void buf_putc(buf_t *b, char c);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_reset(buf_t *b);				/* len = 0, keeps memory */
void buf_free(buf_t *b);				/* frees memory */
/* Hands the string to the caller (never NULL) and leaves b empty. */
char *buf_steal(buf_t *b);

#endif
