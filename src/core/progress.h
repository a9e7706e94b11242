/*
 * progress.h: how far a long job has come, and how long it still needs.
 *
 * Workers add bytes and rows as data passes, say which table they are on,
 * and mark units done; the counters are atomics, so adding is cheap.  A
 * display thread samples them a few times a second and shows:
 *
 *   - the share done: by bytes against the sizes the catalog gave before the
 *     job started (finished tables count their whole estimate; a table in
 *     flight counts its bytes so far, scaled by what finished tables showed
 *     of the ratio between streamed bytes and catalog size, never more than
 *     95 % of its estimate); by rows when only row counts are known
 *     (imports); by tables when nothing else is;
 *   - an ETA from the recent rate (the change of the share done over the
 *     last ten seconds), which follows the job as it speeds up or slows
 *     down instead of averaging since the start;
 *   - the tables being worked on now.
 *
 * Modes: auto (a live display when stderr is a terminal, log lines
 * otherwise, nothing under --quiet), tty (redrawn in place, every line cut
 * to the terminal's width), log (a log line every 10 s), json (one JSON
 * object per line, once a second, on stderr, where log lines then become
 * JSON too, or in the file given with progress_set_file), none.  The JSON
 * and log intervals come from PGCARRY_PROGRESS_INTERVAL_MS.  Fields:
 * docs/progress.md.
 */
#ifndef PGCARRY_PROGRESS_H
#define PGCARRY_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum progress_mode
{
	PROGRESS_AUTO = 0,
	PROGRESS_TTY,
	PROGRESS_LOG,
	PROGRESS_JSON,
	PROGRESS_NONE
} progress_mode;

/* Parses "auto", "tty", "log", "json", "none"; -1 on anything else. */
int progress_parse_mode(const char *s, progress_mode *out);

/*
 * Sends JSON progress to the open file descriptor fd (--progress-file)
 * instead of stderr, for every later progress_create; a mode of auto then
 * means json.  fd stays open until the process exits.
 */
void progress_set_file(int fd);

typedef struct progress progress;

/*
 * A progress display for ndb databases (named later with
 * progress_db_name), for the job verb ("copy", "compare").  Nothing is
 * shown until progress_start.  Never NULL.
 */
progress *progress_create(progress_mode mode, const char *verb, int ndb);

/* Names database i (0..ndb-1); copies name. */
void progress_db_name(progress *p, int db, const char *name);

/* Totals of database db: units (tables, large object sets) and estimated
 * bytes.  May be raised later (progress_add_total). */
void progress_add_total(progress *p, int db, int units, int64_t est_bytes);

/* Rows database db is expected to hold, for jobs that know rows but not
 * sizes (import from an archive's manifest); thread-safe. */
void progress_expect_rows(progress *p, int db, int64_t rows);

/* The current phase of database db ("schema", "data", "indexes",
 * "verifying", "done", "failed"); a string with static lifetime. */
void progress_phase(progress *p, int db, const char *phase);

/*
 * The calling thread now works on table name of database db, whose share of
 * the estimate is est_bytes (0 when unknown).  Bytes this thread adds
 * (progress_add) count toward it until the thread calls progress_unit_end,
 * progress_unit_done, progress_credit or progress_unit_begin again.  name
 * is copied (shown cut to 63 bytes).
 */
void progress_unit_begin(progress *p, int db, const char *name, int64_t est_bytes);

/* The calling thread no longer works on the table it began; no-op if none. */
void progress_unit_end(progress *p);

/* Data that passed (thread-safe, lock-free). */
void progress_add(progress *p, int db, int64_t bytes, int64_t rows);

/* A unit of database db is finished; est_bytes is its share of the
 * estimate (thread-safe).  Ends the calling thread's current table. */
void progress_unit_done(progress *p, int db, int64_t est_bytes);

/* Credits est_bytes of database db's estimate as done without finishing a
 * unit (a slice of a big table); thread-safe.  Ends the calling thread's
 * current table. */
void progress_credit(progress *p, int db, int64_t est_bytes);

/* Starts the display thread (no-op in mode none). */
void progress_start(progress *p);

/* Stops the display thread and prints a final line (not in mode none).
 * Idempotent. */
void progress_stop(progress *p);

void progress_free(progress *p);

/*
 * Cuts the text line s (no newline) to at most cols display columns (UTF-8
 * sequences count as one column, never split); returns the byte length to
 * keep.  For the live display; exposed for tests.
 */
size_t progress_fit(const char *s, size_t len, int cols);

#endif
