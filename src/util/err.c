/*
 * err.c: the sticky error object (see err.h).
 */
#include "err.h"
#include "log.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
err_set(pgc_err *err, const char *fmt, ...)
{
	if (!err || err->set)
		return;
	va_list ap;
	va_start(ap, fmt);
	err->message = xvasprintf(fmt, ap);
	va_end(ap);
	err->set = true;
	if (err->exit_status == 0)
		err->exit_status = EXIT_FAIL;
}

#define ERR_REPLACE_FIELD(field) \
	do { \
		if (!err) return; \
		va_list ap; \
		va_start(ap, fmt); \
		char *s = xvasprintf(fmt, ap); \
		va_end(ap); \
		free(err->field); \
		err->field = s; \
	} while (0)

void
err_detail(pgc_err *err, const char *fmt, ...)
{
	ERR_REPLACE_FIELD(detail);
}

void
err_hint(pgc_err *err, const char *fmt, ...)
{
	ERR_REPLACE_FIELD(hint);
}

void
err_query(pgc_err *err, const char *query)
{
	if (!err)
		return;
	free(err->query);
	err->query = xstrdup(query);
}

void
err_prefix(pgc_err *err, const char *fmt, ...)
{
	if (!err || !err->set)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *pre = xvasprintf(fmt, ap);
	va_end(ap);
	char *m = xasprintf("%s%s", pre, err->message ? err->message : "");
	free(pre);
	free(err->message);
	err->message = m;
}

void
err_clear(pgc_err *err)
{
	if (!err)
		return;
	free(err->message);
	free(err->detail);
	free(err->hint);
	free(err->query);
	memset(err, 0, sizeof *err);
}

void
err_move(pgc_err *dst, pgc_err *src)
{
	err_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof *src);
}

void
err_report(const pgc_err *err)
{
	if (!err || !err->set)
		return;
	log_report(LOG_ERROR, err->message, err->detail, err->hint);
}
