/*
 * log.c: whole-line logging to stderr, text or JSON (see log.h).
 */
#include "log.h"
#include "buf.h"
#include "xalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_writer_lock = PTHREAD_MUTEX_INITIALIZER;
static log_writer_fn log_writer;
static void *log_writer_arg;

static log_level log_cur_threshold = LOG_NOTICE;
static log_format log_cur_format = LOG_FORMAT_TEXT;

static _Thread_local int log_tl_worker = -1;
static _Thread_local char log_tl_database[128];
static _Thread_local char log_tl_table[256];

static const char *const log_level_names[] = {
	"error", "warning", "notice", "info", "debug"
};

void
log_setup(log_level threshold, log_format format)
{
	log_cur_threshold = threshold;
	log_cur_format = format;
}

log_level
log_threshold(void)
{
	return log_cur_threshold;
}

log_format
log_get_format(void)
{
	return log_cur_format;
}

bool
log_enabled(log_level level)
{
	return level <= log_cur_threshold;
}

void
log_set_worker(int worker)
{
	log_tl_worker = worker;
}

void
log_set_database(const char *dbname)
{
	snprintf(log_tl_database, sizeof log_tl_database, "%s", dbname ? dbname : "");
}

void
log_set_table(const char *table)
{
	snprintf(log_tl_table, sizeof log_tl_table, "%s", table ? table : "");
}

int
log_parse_format(const char *s, log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

void
log_set_writer(log_writer_fn fn, void *arg)
{
	pthread_mutex_lock(&log_writer_lock);
	log_writer = fn;
	log_writer_arg = arg;
	pthread_mutex_unlock(&log_writer_lock);
}

void
log_write_stderr(const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t n = write(STDERR_FILENO, data, len);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t) n;
	}
}

static void
log_format_text(buf_t *b, log_level level, const char *message,
				const char *detail, const char *hint)
{
	buf_t tag = {0};
	if (log_tl_worker >= 0)
		buf_printf(&tag, "w%d", log_tl_worker);
	if (log_tl_database[0])
		buf_printf(&tag, "%s%s", tag.len ? " " : "", log_tl_database);
	if (log_tl_table[0])
		buf_printf(&tag, "%s%s", tag.len ? " " : "", log_tl_table);

	const char *prefix = "pgcarry: ";
	buf_puts(b, prefix);
	if (tag.len)
		buf_printf(b, "[%s] ", tag.data);
	if (level != LOG_NOTICE)
		buf_printf(b, "%s: ", log_level_names[level]);
	buf_puts(b, message);
	buf_putc(b, '\n');
	if (detail && *detail)
		buf_printf(b, "%sdetail: %s\n", prefix, detail);
	if (hint && *hint)
		buf_printf(b, "%shint: %s\n", prefix, hint);
	buf_free(&tag);
}

static void
log_format_json(buf_t *b, log_level level, const char *message,
				const char *detail, const char *hint)
{
	char ts[96];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);

	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "level", json_string(log_level_names[level]));
	if (log_tl_worker >= 0)
		json_object_set_new(o, "worker", json_integer(log_tl_worker));
	if (log_tl_database[0])
		json_object_set_new(o, "database", json_string(log_tl_database));
	if (log_tl_table[0])
		json_object_set_new(o, "table", json_string(log_tl_table));
	json_object_set_new(o, "message", json_string(message));
	if (detail && *detail)
		json_object_set_new(o, "detail", json_string(detail));
	if (hint && *hint)
		json_object_set_new(o, "hint", json_string(hint));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s)
	{
		buf_puts(b, s);
		free(s);
	}
	buf_putc(b, '\n');
}

void
log_report(log_level level, const char *message, const char *detail, const char *hint)
{
	if (!log_enabled(level))
		return;
	buf_t b = {0};
	if (log_cur_format == LOG_FORMAT_JSON)
		log_format_json(&b, level, message ? message : "", detail, hint);
	else
		log_format_text(&b, level, message ? message : "", detail, hint);
	/* Held across the call, so a writer is never called after
	 * log_set_writer(NULL) returned (its owner may then free arg). */
	pthread_mutex_lock(&log_writer_lock);
	if (log_writer)
		log_writer(b.data, b.len, log_writer_arg);
	else
		log_write_stderr(b.data, b.len);
	pthread_mutex_unlock(&log_writer_lock);
	buf_free(&b);
}

void
log_msg(log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	log_report(level, m, NULL, NULL);
	free(m);
}
