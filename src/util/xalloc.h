/*
 * xalloc.h: allocation wrappers that never return NULL.
 *
 * Out of memory is the one condition pgcarry does not try to recover from:
 * these wrappers print one line and abort.  Everything else returns errors.
 */
#ifndef PGCARRY_XALLOC_H
#define PGCARRY_XALLOC_H

#include <stddef.h>
#include <stdarg.h>

/* Like malloc/calloc/realloc/strdup, but abort on failure; never NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);          /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);

/* Formats into a freshly allocated string owned by the caller. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
