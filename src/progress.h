/*
 * progress.h: how far a long job has come, on stderr.
 *
 * Workers add bytes and rows as data passes and mark units done; the
 * counters are atomics, so adding is cheap and lock-free.  A display thread
 * reads them: on a terminal it redraws, twice a second, one line per
 * database and one overall (bytes, rows, tables done of total, rate, ETA);
 * otherwise it writes a plain log line every few seconds; with "json" a JSON
 * object per line.  ETA comes from the estimated size of what is left
 * (catalog sizes) against the rate so far.
 *
 * Modes: auto (a live display when stderr is a terminal, log lines
 * otherwise), tty, log, json, none.
 */
#ifndef PGCARRY_PROGRESS_H
#define PGCARRY_PROGRESS_H

#include <stdbool.h>
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

/* The current phase of database db ("schema", "data", "indexes",
 * "verifying", "done", "failed"); a string with static lifetime. */
void progress_phase(progress *p, int db, const char *phase);

/* Data that passed (thread-safe, lock-free). */
void progress_add(progress *p, int db, int64_t bytes, int64_t rows);

/* A unit of database db is finished; est_bytes is its share of the
 * estimate (thread-safe). */
void progress_unit_done(progress *p, int db, int64_t est_bytes);

/* Credits est_bytes of database db's estimate as done without finishing a
 * unit (a slice of a big table); thread-safe. */
void progress_credit(progress *p, int db, int64_t est_bytes);

/* Starts the display thread (no-op in mode none). */
void progress_start(progress *p);

/* Stops the display thread and prints a final line (not in mode none).
 * Idempotent. */
void progress_stop(progress *p);

void progress_free(progress *p);

#endif
