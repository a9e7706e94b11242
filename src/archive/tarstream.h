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
