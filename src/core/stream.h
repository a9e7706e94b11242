/*
 * stream.h: the data path.  COPY streams between servers (and to or from
 * anything else), checksummed as they pass.
 *
 * How it works: stream_copy runs "COPY ... TO STDOUT" on the source and
 * "COPY ... FROM STDIN" on the target, and hands every CopyData message from
 * one to the other unchanged (PQgetCopyData -> PQputCopyData): no
 * intermediate file, no parsing of rows.  A PostgreSQL server sends exactly
 * one row per CopyData message (in binary format the first message also
 * carries the file header and a last message carries the trailer), so each
 * message is added to a rowhash as it passes, and the source's checksum
 * costs no second read.  Memory is one row at a time.
 *
 * Row checksums depend only on the bytes of each row in the COPY format
 * used, so both sides of a comparison must use the same format, column list
 * and client_encoding; stream_conn_open sets up sessions so that the text
 * form of a value does not depend on either server's own defaults.
 *
 * Formats: binary where both servers run the same major version and every
 * column type allows it (catalog_table.binary_ok), text otherwise.
 */
#ifndef PGCARRY_STREAM_H
#define PGCARRY_STREAM_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/rowhash.h"

typedef enum stream_format
{
	STREAM_TEXT = 0,
	STREAM_BINARY
} stream_format;

/* "text" or "binary". */
const char *stream_format_name(stream_format f);

/*
 * A slice of a table by physical position: the rows in heap pages
 * [first_page, end_page).  end_page < 0 means "to the end of the table",
 * first_page < 0 means "the whole table" (no ctid condition at all).
 * Slices of one table partition its rows, so their checksums add up to the
 * table's.  Efficient on PostgreSQL 14 and later (TID range scans).
 */
typedef struct stream_range
{
	int64_t		first_page;
	int64_t		end_page;
} stream_range;

#define STREAM_WHOLE_TABLE ((stream_range) {-1, -1})

/* Every row of a partitioned table, its partitions' rows included (a
 * partition root that rows load through: catalog_table.via_root). */
#define STREAM_WHOLE_TREE ((stream_range) {-2, -1})

/* The range that reads all of a table's rows: STREAM_WHOLE_TREE for a
 * partitioned table read as a whole (via_root), else STREAM_WHOLE_TABLE. */
stream_range stream_whole(bool via_root);

/* "TRUNCATE ONLY t", or "TRUNCATE t" for a partitioned table read as a
 * whole (via_root); owned by the caller. */
char *stream_truncate_sql(const char *qualified, bool via_root);

/* "DELETE FROM ONLY t WHERE (filter)", or every row of t when filter is
 * NULL: empties what a read with the same filter would carry, leaving the
 * other rows (an extension configuration table, catalog.h).  Owned by the
 * caller. */
char *stream_delete_sql(const char *qualified, const char *filter);

/*
 * Inside a transaction on a target, before an extension's configuration
 * table is emptied (stream_delete_sql) and loaded: CREATE EXTENSION made
 * the foreign keys between such tables before any row, so, as pg_restore
 * --disable-triggers does, the rest of the transaction runs with
 * session_replication_role replica (SET LOCAL): the keys are neither
 * checked nor cascaded while the tables load in any order and in parallel
 * (they hold again once all are in: the rows come from one snapshot).
 * Only a superuser may; for another user nothing changes.  Returns 0, or
 * -1 with err set.
 */
int stream_config_load_begin(PGconn *conn, pgc_err *err);

/* Progress callback: bytes and rows passed since the previous call.  Called
 * about every megabyte, and once at the end, from the streaming thread. */
typedef struct stream_tick
{
	void		(*fn) (void *arg, int64_t bytes, int64_t rows);
	void	   *arg;
} stream_tick;

/* What passed through a stream. */
typedef struct stream_result
{
	rowhash		hash;			/* rows and checksum */
	int64_t		bytes;			/* payload bytes */
} stream_result;

/* ------------------------------------------------------------------------
 * Sessions
 * ------------------------------------------------------------------------ */

/*
 * Opens a data session to database dbname (conn_open, so application_name
 * is pgcarry) and prepares it: client_encoding = encoding (the source
 * database's encoding, on both sides, so text travels byte for byte),
 * row_security off (a policy must never hide rows: it raises an error
 * instead), search_path '' (reg* values come out qualified), lc_monetary C,
 * xmloption content (no statement/lock/idle timeouts: conn_open), and
 * default_transaction_read_only on when read_only (every source session) or
 * off otherwise.  side names the server in messages.  Returns the connection
 * (conn_close), or NULL with err set.
 */
PGconn *stream_conn_open(const char *conninfo, const char *dbname, const char *side,
						 const char *encoding, bool read_only, pgc_err *err);

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

/*
 * "COPY ... TO STDOUT" for a table: qualified is the quoted table name,
 * columns the quoted column list ("" for a table without columns).  range
 * NULL or whole means the table's own rows (not its children's),
 * STREAM_WHOLE_TREE every row of a partitioned table; filter,
 * when not NULL, is a WHERE condition.  Owned by the caller.
 */
char *stream_copy_out_sql(const char *qualified, const char *columns, const stream_range *range,
						  const char *filter, stream_format fmt);

/* "COPY ... FROM STDIN", with FREEZE when freeze (the table must have been
 * created or truncated in the same transaction).  Owned by the caller. */
char *stream_copy_in_sql(const char *qualified, const char *columns, stream_format fmt, bool freeze);

/* ------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------ */

/*
 * Streams out_sql on src into in_sql on dst, hashing every row.  Both
 * connections must be idle (inside whatever transaction the caller began).
 * On success both COPYs completed (the caller commits dst) and *res holds
 * the rows, checksum and bytes.  On failure returns -1 with err set, its
 * message prefixed with the side that failed ("reading from the source: ",
 * "writing to the target: "), err->retryable when the failure was a lost
 * connection; both connections are left idle (or broken), never mid-COPY.
 * tick may be NULL.
 */
int stream_copy(PGconn *src, const char *out_sql, PGconn *dst, const char *in_sql,
				stream_format fmt, const stream_tick *tick, stream_result *res, pgc_err *err);

/*
 * A consumer of COPY data: called with each CopyData message (one row; in
 * binary format the first also holds the header, and a last one holds the
 * trailer).  Returns 0, or -1 with err set to stop the stream.
 */
typedef int (*stream_sink_fn) (void *arg, const char *data, size_t len, pgc_err *err);

/*
 * Runs out_sql on conn and hands every message to sink (which may be NULL:
 * then the stream is only counted and hashed, as verification does).
 * Returns 0 with *res filled, or -1 with err set; conn is left idle.
 */
int stream_copy_out(PGconn *conn, const char *out_sql, stream_format fmt, stream_sink_fn sink,
					void *arg, const stream_tick *tick, stream_result *res, pgc_err *err);

/*
 * A producer of COPY data: sets *data to the next chunk (any size, not
 * necessarily whole rows; valid until the next call) and returns its
 * length, returns 0 at the end, or -1 with err set.
 */
typedef ssize_t (*stream_source_fn) (void *arg, const char **data, pgc_err *err);

/*
 * Runs in_sql on conn and feeds it everything source produces.  Returns 0
 * once the server accepted the whole stream, or -1 with err set (a producer
 * failure aborts the COPY on the server); conn is left idle.
 * *bytes (may be NULL) receives the bytes sent.
 */
int stream_copy_in(PGconn *conn, const char *in_sql, stream_source_fn source, void *arg,
				   const stream_tick *tick, int64_t *bytes, pgc_err *err);

/* ------------------------------------------------------------------------
 * Large objects
 * ------------------------------------------------------------------------ */

/*
 * Large objects are checksummed like rows: one "row" per object, made of
 * its OID (4 bytes, big-endian) and the XXH3-128 digest of its contents, so
 * a set of objects has a rowhash like a table.
 */

/*
 * Copies the contents of every large object whose OID lies in [first, end)
 * (end 0: no upper bound) from src to dst, in bounded chunks, creating on
 * dst any object that does not exist there yet (with the same OID) and
 * replacing the contents of those that do.  src must be inside a
 * transaction (normally attached to the snapshot), dst inside a transaction
 * the caller commits.  On success *res holds the objects (as rows), their
 * checksum and the bytes copied.  Returns 0, or -1 with err set (prefixed
 * with the side that failed).
 */
int stream_large_objects_copy(PGconn *src, PGconn *dst, uint32_t first, uint32_t end,
							  const stream_tick *tick, stream_result *res, pgc_err *err);

/*
 * Reads the large objects with OID in [first, end) on conn (inside a
 * transaction) and checksums them the same way, handing each chunk to sink
 * when sink is not NULL (oid tells which object it belongs to).  Returns 0
 * with *res filled, or -1 with err set.
 */
typedef int (*stream_lo_sink_fn) (void *arg, uint32_t oid, const char *data, size_t len,
								  pgc_err *err);
int stream_large_objects_read(PGconn *conn, uint32_t first, uint32_t end, stream_lo_sink_fn sink,
							  void *arg, const stream_tick *tick, stream_result *res, pgc_err *err);

/* ------------------------------------------------------------------------
 * Hashing a byte stream
 * ------------------------------------------------------------------------ */

/*
 * Splits a COPY byte stream of the given format (for example a file an
 * archive holds) into rows, however it is chunked, and hashes them exactly
 * as the streams above hash messages: the same rows give the same rowhash.
 */
typedef struct stream_hasher
{
	stream_format format;		/* private, all of it */
	rowhash_lines lines;		/* text */
	buf_t		pending;		/* binary: bytes not yet a whole tuple */
	size_t		consumed;
	bool		header_done;
	bool		trailer_seen;
	bool		bad;
} stream_hasher;

void stream_hasher_init(stream_hasher *h, stream_format fmt);
void stream_hasher_feed(stream_hasher *h, const void *data, size_t len);
/* Ends the stream: 0 with *out set, or -1 with err set when it ended in the
 * middle of a row or was not a valid stream of that format. */
int stream_hasher_finish(stream_hasher *h, rowhash *out, pgc_err *err);
void stream_hasher_free(stream_hasher *h);

#endif
