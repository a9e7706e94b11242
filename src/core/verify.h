/*
 * verify.h: proving that two sides hold the same data, and saying so.
 *
 * Reading: verify_table_checksum reads a table with COPY TO STDOUT and
 * hashes its rows (stream.h), verify_table_count counts them,
 * verify_large_objects checksums large objects.  The checksum of a table is
 * order-independent (util/rowhash.h), so the two sides may be read in any
 * order and in any number of slices.  The copy command takes the source's
 * checksum from its stream as the data passes, and reads only the target;
 * compare reads both; import compares a server with an archive's manifest.
 *
 * Reporting: a verify_report collects one entry per table, sequence, set of
 * large objects and schema difference (thread-safe), and prints them on
 * stdout as a table with a summary per database.  A report with any
 * difference or failure means exit status 3 (EXIT_DIFFERENT) for the
 * command, or 1 when something could not be checked at all.
 */
#ifndef PGCARRY_VERIFY_H
#define PGCARRY_VERIFY_H

#include <libpq-fe.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/stream.h"
#include "util/err.h"
#include "util/rowhash.h"

typedef enum verify_mode
{
	VERIFY_FULL = 0,			/* row count and content checksum */
	VERIFY_COUNT,				/* row count only */
	VERIFY_NONE					/* nothing (the report says "not verified") */
} verify_mode;

/* Parses "full", "count" or "none"; -1 on anything else. */
int verify_parse_mode(const char *s, verify_mode *out);
const char *verify_mode_name(verify_mode m);

/* ------------------------------------------------------------------------
 * Reading one side
 * ------------------------------------------------------------------------ */

/*
 * Checksums the rows of table qualified (its own rows, not its children's),
 * columns as the COPY column list, optionally one slice of it (range) and
 * filtered (filter may be NULL), in format fmt, on conn.  Returns 0 with
 * *res set, or -1 with err set.
 */
int verify_table_checksum(PGconn *conn, const char *qualified, const char *columns,
						  const stream_range *range, const char *filter, stream_format fmt,
						  const stream_tick *tick, stream_result *res, pgc_err *err);

/* Counts the rows of table qualified (ONLY, with filter when not NULL).
 * Returns 0 with *rows set, or -1 with err set. */
int verify_table_count(PGconn *conn, const char *qualified, const char *filter, int64_t *rows,
					   pgc_err *err);

/* Checksums the large objects with OID in [first, end) (end 0: no bound)
 * on conn, inside a transaction.  Returns 0 or -1 with err set. */
int verify_large_objects(PGconn *conn, uint32_t first, uint32_t end, const stream_tick *tick,
						 stream_result *res, pgc_err *err);

/* ------------------------------------------------------------------------
 * The report
 * ------------------------------------------------------------------------ */

typedef enum verify_status
{
	VERIFY_OK = 0,				/* equal */
	VERIFY_UNCHECKED,			/* carried, not verified (--verify none) */
	VERIFY_DIFFERENT,			/* both sides read, they differ */
	VERIFY_MISSING_TARGET,		/* on the source only */
	VERIFY_MISSING_SOURCE,		/* on the target only */
	VERIFY_FAILED				/* could not be carried or read */
} verify_status;

typedef struct verify_report verify_report;

/* A new, empty report for the given mode.  source_label and target_label
 * name the sides in the heading ("source", "target", "archive"). */
verify_report *verify_report_create(verify_mode mode, const char *source_label,
									const char *target_label);
void verify_report_free(verify_report *r);

/*
 * Records a table: src or tgt NULL when that side lacks it.  The status
 * follows from the mode: full compares rows and checksum, count compares
 * rows, none records it as not verified.  note (may be NULL) is shown with
 * the entry (e.g. "copied earlier").  Returns the status recorded.
 */
verify_status verify_report_table(verify_report *r, const char *db, const char *table,
								  const rowhash *src, const rowhash *tgt, const char *note);

/* The same for another kind of relation whose rows are compared ("materialized
 * view"); kind NULL means "table". */
verify_status verify_report_relation(verify_report *r, const char *db, const char *kind,
									 const char *name, const rowhash *src, const rowhash *tgt,
									 const char *note);

/* Records that nobjects schema objects of db were compared (shown in the
 * database's summary). */
void verify_report_objects_checked(verify_report *r, const char *db, int nobjects);

/* Records that db's schema objects could not be compared (no client
 * program can read the target): the summary says so, and never calls the
 * database's every object equal. */
void verify_report_schema_unchecked(verify_report *r, const char *db);

/* Records which parts a comparison covers (both, unless told otherwise):
 * the schema objects, the data (rows, sequence values, large objects).
 * The text report's header, summaries and verdict, and the JSON report's
 * "compared" object, name a part left out, so that "equal" is never said
 * of it.  At least one part is true. */
void verify_report_parts(verify_report *r, bool schema, bool data);

/* Records a sequence: values as text, NULL for a side that lacks it. */
verify_status verify_report_sequence(verify_report *r, const char *db, const char *seq,
									 const char *src_value, bool src_called,
									 const char *tgt_value, bool tgt_called);

/* Records the large objects of a database (count and checksum). */
verify_status verify_report_large_objects(verify_report *r, const char *db, const rowhash *src,
										  const rowhash *tgt);

/* Records a schema object that differs: what says how ("missing on the
 * target", "definition differs", ...). */
void verify_report_schema(verify_report *r, const char *db, const char *kind, const char *name,
						  const char *what);

/* Records that an object could not be carried or read (why: the cause). */
void verify_report_failed(verify_report *r, const char *db, const char *kind, const char *name,
						  const char *why);


/* Number of entries that differ or failed, in db (NULL: in every database). */
int verify_report_problems(verify_report *r, const char *db);

/* Number of entries that failed (could not be read or carried). */
int verify_report_failures(verify_report *r);

/*
 * Prints the report: a heading, one line per object (with all_objects;
 * otherwise only those not equal, plus per-database counts), then a summary
 * per database and overall.  Returns the number of problems.
 */
int verify_report_print(verify_report *r, FILE *out, bool all_objects);

/*
 * The rows that differ in table name of db, by key (compare_keys_diff's
 * object); the report takes ownership of keys (NULL is allowed).  Shown by
 * verify_report_print_json.
 */
void verify_report_keys(verify_report *r, const char *db, const char *name, json_t *keys);

/*
 * Prints the report as one JSON document: {"equal", "mode", "problems",
 * "objects": [{"database", "kind", "name", "status", "source", "target",
 * "checksum", "note"?, "keys"?}]}, every object included (docs/copy.md).
 * Returns the number of problems, as verify_report_print does.
 */
int verify_report_print_json(verify_report *r, FILE *out);

#endif
