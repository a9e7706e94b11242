/*
 * archive_file.h: one file of a pgcarry archive, written or read.
 *
 * A writer creates ROOT/RELPATH safely: parent directories mode 0700, the
 * file itself mode 0600 under a temporary name (".NAME.partial" beside it),
 * compressed with zstd (or not), with SHA-256 and size of the bytes on disk
 * computed while writing.  Only archive_file_writer_finish gives the file
 * its final name, after fsync; a writer destroyed before that removes its
 * partial file, so a file with its final name is always whole.
 *
 * A reader opens ROOT/RELPATH, decompresses (or not) while computing the
 * SHA-256 and size of the bytes on disk, and tells a cut-short zstd stream
 * ("truncated") apart from a damaged one ("corrupt").
 *
 * Knows nothing of PostgreSQL: used by export, import and verify-archive.
 */
#ifndef PGCARRY_ARCHIVE_FILE_H
#define PGCARRY_ARCHIVE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

#define ARCHIVE_FILE_SHA256_HEX 64

/* Size and checksum of a file as stored on disk. */
typedef struct archive_file_info
{
	uint64_t	size;
	char		sha256[ARCHIVE_FILE_SHA256_HEX + 1];	/* lower-case hex */
} archive_file_info;

typedef struct archive_file_writer archive_file_writer;
typedef struct archive_file_reader archive_file_reader;

/*
 * Creates the directories of relpath under root (mode 0700; root itself
 * must exist) and starts writing relpath.  zstd_level 0 writes the bytes
 * as given, 1..19 compresses with zstd at that level.  Returns a writer
 * owned by the caller (archive_file_writer_destroy), or NULL with err set.
 */
archive_file_writer *archive_file_writer_create(const char *root, const char *relpath,
												int zstd_level, pgc_err *err);

/* Appends len uncompressed bytes.  Returns 0, or -1 with err set (the
 * error is sticky: every later call fails the same way). */
int archive_file_writer_write(archive_file_writer *w, const void *data, size_t len, pgc_err *err);

/*
 * Ends the stream, fsyncs, renames the file to its final name and fills
 * *info (may be NULL).  Returns 0, or -1 with err set.  The writer must
 * still be destroyed.
 */
int archive_file_writer_finish(archive_file_writer *w, archive_file_info *info, pgc_err *err);

/* Number of uncompressed bytes written so far. */
uint64_t archive_file_writer_bytes_in(const archive_file_writer *w);

/* Frees the writer; removes the partial file when not finished.  NULL ok. */
void archive_file_writer_destroy(archive_file_writer *w);

/*
 * Opens root/relpath for reading; compressed says whether it holds zstd.
 * Returns a reader owned by the caller, or NULL with err set ("file ... is
 * missing" when it does not exist).
 */
archive_file_reader *archive_file_reader_open(const char *root, const char *relpath,
											  bool compressed, pgc_err *err);

/* Where a reader made by archive_file_reader_from gets the bytes as
 * stored: up to len into buf; returns the number, 0 at the end, or -1
 * with err set. */
typedef ssize_t (*archive_file_source_fn) (void *arg, void *buf, size_t len, pgc_err *err);

/*
 * A reader of relpath (a name for messages) whose stored bytes come from
 * source (e.g. a tar entry as it arrives) instead of a file: the same
 * decompression, size and SHA-256.  Returns a reader owned by the caller,
 * or NULL with err set.
 */
archive_file_reader *archive_file_reader_from(const char *relpath, archive_file_source_fn source, void *arg,
											  bool compressed, pgc_err *err);

/*
 * Reads up to len uncompressed bytes into buf.  Returns the number read, 0
 * at the end of the file (after checking that a zstd stream ended whole),
 * or -1 with err set naming the file ("truncated", "corrupt", I/O errors).
 */
ssize_t archive_file_reader_read(archive_file_reader *r, void *buf, size_t len, pgc_err *err);

/* Size and SHA-256 of the bytes read from disk so far (complete once
 * archive_file_reader_read returned 0). */
void archive_file_reader_info(archive_file_reader *r, archive_file_info *info);

/* Closes and frees the reader.  NULL ok. */
void archive_file_reader_destroy(archive_file_reader *r);

/* Size and SHA-256 of an existing file.  Returns 0, 1 when the file does
 * not exist (err not set), or -1 with err set. */
int archive_file_checksum(const char *path, archive_file_info *info, pgc_err *err);

/* Creates root/reldir and its parents under root with mode 0700 (root is
 * created too when missing).  Returns 0, or -1 with err set. */
int archive_file_mkdirs(const char *root, const char *reldir, pgc_err *err);

/* True when relpath is a safe relative path: not empty, not absolute, no
 * "." or ".." component, no empty component, no control characters. */
bool archive_file_path_safe(const char *relpath);

/* "abc" -> "abc" cut to the safe alphabet [A-Za-z0-9_.-] (others become
 * '_'), at most max bytes, never starting with '.'; owned by the caller. */
char *archive_file_safe_name(const char *name, size_t max);

#endif
