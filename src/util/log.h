/*
 * log.h: pgcarry's log lines on stderr.
 *
 * Every line is formatted whole (level, worker, database, table, message,
 * detail and hint) and written with one write(2), so lines of parallel workers
 * never interleave.  The worker/database/table tags live in thread-local
 * storage: a worker sets them once per unit of work.  Two formats: text
 * ("pgcarry: [w2 accounts public.users] error: ...") and JSON lines.
 *
 * Callers must never pass a connection string that still holds a password:
 * conn_mask() exists for that.
 */
#ifndef PGCARRY_LOG_H
#define PGCARRY_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum log_level
{
	LOG_ERROR = 0,
	LOG_WARNING,
	LOG_NOTICE,		/* default threshold: what a user wants to see */
	LOG_INFO,		/* --verbose */
	LOG_DEBUG		/* --debug */
} log_level;

typedef enum log_format
{
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON
} log_format;

/* Sets the threshold and format; may be called again at any time. */
void log_setup(log_level threshold, log_format format);
log_level log_threshold(void);
log_format log_get_format(void);
bool log_enabled(log_level level);

/* Thread-local tags; worker < 0, NULL database/table clear the tag. */
void log_set_worker(int worker);
void log_set_database(const char *dbname);
void log_set_table(const char *table);

/* Parses "text"/"json"; returns -1 on anything else. */
int log_parse_format(const char *s, log_format *out);

/*
 * Routes finished log lines (one or more whole lines, newline-terminated)
 * through fn instead of writing them to stderr directly: a live progress
 * display uses it to erase itself, write the line, and redraw below it, so
 * log lines and the display never overwrite each other.  fn must write the
 * data once and must not log; calls are serialised.  NULL restores direct
 * writes, and once it returns fn is not called again.
 */
typedef void (*log_writer_fn) (const char *data, size_t len, void *arg);
void log_set_writer(log_writer_fn fn, void *arg);

/* Writes data to stderr in full with write(2) (no stdio buffering). */
void log_write_stderr(const char *data, size_t len);

/* One log line with optional detail and hint (each may be NULL). */
void log_report(log_level level, const char *message, const char *detail, const char *hint);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
