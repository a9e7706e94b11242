/*
 * archive_stream.h: reading a pgcarry tar archive as it arrives, entry by
 * entry, with bounded scratch space.
 *
 * How it works: the tar (a file or standard input) is read once, in order.
 * Small entries (the manifest, each database's plan and record, schema
 * dumps, sequences, roles, the large objects file) are spooled into a
 * private directory; data files (under a database's "data/" directory)
 * never touch the disk: each goes to the caller's data handler as it
 * arrives (import loads it into the target), or, when the handler does not
 * take it, it is read whole and its COPY rows counted and hashed.  Either
 * way the size and SHA-256 of the entry's stored bytes are recorded, so
 * the manifest that comes last can be checked against every file that
 * went by (archive_verify_run_seen).  Everything spooled counts against a
 * limit: PGCARRY_SCRATCH_MAX (bytes, with an optional k, M or G suffix;
 * unset: no limit), so a stream that would need more scratch than allowed
 * fails clearly instead of filling the disk.
 */
#ifndef PGCARRY_ARCHIVE_STREAM_H
#define PGCARRY_ARCHIVE_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "archive/archive_file.h"
#include "util/err.h"
#include "util/rowhash.h"

#define ARCHIVE_STREAM_SCRATCH_ENV "PGCARRY_SCRATCH_MAX"

/* One data file of the tar, as it went by. */
typedef struct archive_stream_file
{
	char	   *path;			/* relative to the archive root */
	archive_file_info info;		/* size and SHA-256 of the stored bytes;
								 * sha256 "" when the entry could not be
								 * read whole */
	bool		hashed;			/* rows is set */
	rowhash		rows;			/* its COPY rows, counted and hashed */
	char	   *problem;		/* why it could not be read whole, or NULL */
} archive_stream_file;

/* Every data file that went by, in tar order. */
typedef struct archive_stream_files
{
	archive_stream_file *items;
	int			n;
} archive_stream_files;

/* What the caller does with entries as they arrive (any may be NULL). */
typedef struct archive_stream_ops
{
	/* A small entry was spooled whole to SPOOL/path.  Returns 0, or -1
	 * with err set (stops the stream). */
	int			(*spooled) (void *ctx, const char *path, pgc_err *err);

	/*
	 * A data entry arrives: r reads its content (decompressed).  Returns 1
	 * when the handler read it (then *got holds its rows: hashed as they
	 * went by; a failure of its own it keeps to itself), 0 to leave it to
	 * the stream (read and hashed), 2 to have it spooled like a small
	 * entry (an archive written without plans), -1 with err set (stops
	 * the stream).
	 */
	int			(*data) (void *ctx, const char *path, archive_file_reader *r, rowhash *got, pgc_err *err);
} archive_stream_ops;

/*
 * Reads the tar at input ("-": standard input) to its end, spooling small
 * entries under spool (an existing private directory) and handing data
 * entries to ops.  Every data entry is appended to *seen (owned by the
 * caller: archive_stream_files_free, also after a failure).  Returns 0
 * when the whole tar was read, or -1 with err set: the tar is truncated,
 * damaged or unsafe, the scratch limit was reached, or a handler failed.
 */
int archive_stream_read(const char *input, const char *spool, const archive_stream_ops *ops, void *ctx,
						archive_stream_files *seen, pgc_err *err);

/* The entry for path, or NULL. */
const archive_stream_file *archive_stream_files_find(const archive_stream_files *seen, const char *path);

/* Frees the list's contents.  NULL ok. */
void archive_stream_files_free(archive_stream_files *seen);

/* Whether path is a data file (it has a "data" directory, as table parts
 * do: databases/NN-name/data/...), which the stream never spools. */
bool archive_stream_is_data(const char *path);

/* The scratch limit from PGCARRY_SCRATCH_MAX: 0 when unset.  Returns 0,
 * or -1 with err set when the value is not a size. */
int archive_stream_scratch_max(uint64_t *max, pgc_err *err);

#endif
