/*
 * migfile.h: versioned migration files on disk.
 *
 * A migration is one plain SQL file named VERSION_NAME.sql in the migration
 * directory: VERSION is digits that sort in the order to apply (pgcarry
 * uses UTC timestamps such as 20261122093000), NAME is letters, digits, '_'
 * and '-'.  The file has a "-- migrate:up" section (required, not empty)
 * and optionally a "-- migrate:down" section.  Its checksum is the SHA-256
 * of the whole file.  Files not ending in .sql, hidden files and
 * directories are ignored.  Knows nothing of servers.
 */
#ifndef PGCARRY_MIGFILE_H
#define PGCARRY_MIGFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "schema/sqlparse.h"
#include "util/err.h"

typedef struct migfile
{
	char	   *version;		/* digits */
	char	   *name;
	char	   *file;			/* base name, VERSION_NAME.sql */
	char	   *path;			/* directory/file */
	char	   *checksum;		/* SHA-256 of the file, 64 hex digits */
	sqlparse_list up;			/* statements of the up section (at least one) */
	sqlparse_list down;			/* statements of the down section (maybe none) */
	bool		has_down;		/* a "-- migrate:down" line exists */
} migfile;

typedef struct migfile_set
{
	migfile    *items;			/* sorted by version */
	size_t		n;
} migfile_set;

/*
 * Reads every migration file of dir.  Returns 0 with *out filled (release
 * with migfile_set_free), or -1 with err set naming the file and what is
 * wrong (bad name, duplicate version, missing or empty up section, SQL
 * before the first section, BEGIN/COMMIT inside, unterminated quoting) and
 * how to fix it; nothing is returned then.
 */
int migfile_load_dir(const char *dir, migfile_set *out, pgc_err *err);

/* Frees the files and leaves s empty. */
void migfile_set_free(migfile_set *s);

/*
 * Splits a file name into version and name (both owned by the caller).
 * Returns 0, or -1 when it is not VERSION_NAME.sql.
 */
int migfile_parse_name(const char *file, char **version, char **name);

/*
 * Parses a file's text (file names it in messages) into *f's up/down
 * statements.  Returns 0, or -1 with err set.
 */
int migfile_parse_text(const char *file, const char *text, size_t len, migfile *f, pgc_err *err);

/* Orders two versions numerically (leading zeros ignored): <0, 0, >0. */
int migfile_compare_versions(const char *a, const char *b);

/* The SHA-256 of data as 64 lower-case hex digits; owned by the caller. */
char *migfile_sha256_hex(const void *data, size_t len);

/* The file of version v in s, or NULL. */
const migfile *migfile_find(const migfile_set *s, const char *version);

/*
 * Creates dir/VERSION_NAME.sql (mode 0644) from the template, VERSION
 * being the current UTC time (YYYYMMDDHHMMSS), or one more than the newest
 * existing version when that is not later.  name must be letters, digits,
 * '_' or '-'.  Returns 0 with *path_out (owned by the caller), or -1 with
 * err set.
 */
int migfile_create(const char *dir, const char *name, char **path_out, pgc_err *err);

/* True when name is usable as a migration NAME. */
bool migfile_name_ok(const char *name);

#endif
