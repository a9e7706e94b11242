/*
 * tarstream.h: a pgcarry archive as one tar stream (libarchive).
 *
 * The writer appends files of an archive directory to a POSIX (pax) tar on
 * a file or on standard output, in any order, each entry with mode 0600 and
 * its directories 0700; the caller appends manifest.json last.  A tar file
 * (not stdout) is written under a temporary name and renamed by
 * tarstream_writer_finish, so a cut-short export leaves no tar behind.
 *
 * The reader unpacks a tar from a file or standard input into a directory,
 * refusing absolute paths, "..", links and devices, and reporting a
 * stream that ends early as truncated.
 */
#ifndef PGCARRY_TARSTREAM_H
#define PGCARRY_TARSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

typedef struct tarstream_writer tarstream_writer;

/* Starts a tar on path ("-" for standard output; a file is created mode
 * 0600 and must not exist).  Returns the writer (owned by the caller), or
 * NULL with err set. */
tarstream_writer *tarstream_writer_create(const char *path, pgc_err *err);

/* Appends the file at src_path as the entry name (a safe relative path).
 * Returns 0, or -1 with err set (sticky). */
int tarstream_writer_add_file(tarstream_writer *w, const char *name, const char *src_path, pgc_err *err);

/* Ends the tar (and renames the file into place).  Returns 0, or -1. */
int tarstream_writer_finish(tarstream_writer *w, pgc_err *err);

/* Frees the writer; an unfinished tar file is removed.  NULL ok. */
void tarstream_writer_destroy(tarstream_writer *w);

typedef struct tarstream_reader tarstream_reader;

/* Starts reading the tar at path ("-" for standard input), entry by entry
 * as it arrives.  Returns the reader (tarstream_reader_close), or NULL
 * with err set. */
tarstream_reader *tarstream_reader_open(const char *path, pgc_err *err);

/*
 * Moves to the next plain file (directories are skipped): *name (owned by
 * the reader, valid until the next call) and *size.  Returns 1, 0 at the
 * end of the tar, or -1 with err set: the tar is truncated or damaged, or
 * an entry is unsafe (absolute path, "..", link, device); sticky.
 */
int tarstream_reader_next(tarstream_reader *r, const char **name, int64_t *size, pgc_err *err);

/* Reads up to len bytes of the current entry (r is a tarstream_reader;
 * the shape of archive_file_source_fn).  Returns the number, 0 at the
 * entry's end, or -1 with err set (truncated or damaged). */
ssize_t tarstream_reader_read(void *r, void *buf, size_t len, pgc_err *err);

/* Frees the reader.  NULL ok. */
void tarstream_reader_close(tarstream_reader *r);

/*
 * Unpacks the tar at path ("-" for standard input) into dest (an existing
 * directory; files 0600, directories 0700).  Returns 0, or -1 with err set
 * naming the entry or saying the tar is truncated or not a tar.
 */
int tarstream_extract(const char *path, const char *dest, pgc_err *err);

/* The first entry's name of a tar file (for recognising pg_dump's tar
 * format), owned by the caller; NULL when path is not a readable tar. */
char *tarstream_first_entry(const char *path);

#endif
