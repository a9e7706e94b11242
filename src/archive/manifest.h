/*
 * manifest.h: the manifest of a pgcarry archive (docs/archive-format.md).
 *
 * A manifest is a plain record: the archive's header, its databases with
 * their tables, sequences and large objects, and every file with its size
 * and SHA-256.  manifest_read parses and validates manifest.json (each
 * problem named by its JSON path); manifest_write writes it atomically
 * (temporary name, fsync, rename), so an archive without a whole manifest
 * never looks complete.  A database's entry alone is also written as
 * database.json, for resuming an export.
 *
 * Ownership: every string and array in these records belongs to the
 * manifest and is freed by manifest_destroy.  Fields are public and
 * read-write for the modules that build a manifest (export) and read-only
 * for the others.
 */
#ifndef PGCARRY_MANIFEST_H
#define PGCARRY_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "archive/archive_file.h"
#include "util/rowhash.h"
#include "util/err.h"

#define MANIFEST_FORMAT "pgcarry-archive"
#define MANIFEST_FORMAT_VERSION 1
/* A partial archive (export --schema-only or --data-only) is written as
 * version 2, so that a pgcarry from before partial archives refuses it
 * instead of taking it for a whole one; whole archives stay version 1. */
#define MANIFEST_FORMAT_VERSION_PARTIAL 2
#define MANIFEST_NAME "manifest.json"
#define MANIFEST_DB_NAME "database.json"
/* A database's entry as planned, before any of its files (tar streams
 * only): names, columns, parts and files; rows and checksums zero. */
#define MANIFEST_PLAN_NAME "plan.json"

typedef struct manifest_file
{
	char	   *path;			/* relative to the archive root */
	archive_file_info info;
} manifest_file;

typedef struct manifest_part
{
	char	   *file;
	uint64_t	rows;
	char		checksum[33];	/* rowhash hex */
} manifest_part;

typedef struct manifest_table
{
	char	   *schema;
	char	   *name;
	char	  **columns;
	int			ncolumns;
	uint64_t	rows;
	char		checksum[33];
	manifest_part *parts;
	int			nparts;
	bool		ext_config;		/* an extension's configuration table: its
								 * rows matching condition are data, loaded
								 * after a DELETE of the same rows, not a
								 * TRUNCATE ("extension_condition") */
	char	   *condition;		/* WHERE condition of those rows, without
								 * the WHERE; NULL: every row */
} manifest_table;

typedef struct manifest_sequence
{
	char	   *schema;
	char	   *name;
	char	   *last_value;		/* text, as the server printed it */
	bool		is_called;
} manifest_sequence;

typedef struct manifest_db
{
	char	   *name;
	char	   *dir;
	char	   *encoding;
	char	   *lc_collate;
	char	   *lc_ctype;
	char	   *owner;
	char	   *schema_file;
	char	   *sequences_file;
	manifest_table *tables;
	int			ntables;
	manifest_sequence *sequences;
	int			nsequences;
	uint64_t	lo_count;		/* 0: no large objects (lo_file NULL) */
	char	   *lo_file;
	uint64_t	lo_rows;
	char		lo_checksum[33];
	manifest_file *files;		/* this database's files (database.json only) */
	int			nfiles;
} manifest_db;

/* What an archive holds ("content"; absent: whole). */
typedef enum manifest_content
{
	MANIFEST_WHOLE,				/* schema and data */
	MANIFEST_SCHEMA_ONLY,		/* the schema dump; tables listed without
								 * rows, checksums or data files; no
								 * sequence values, no large objects */
	MANIFEST_DATA_ONLY			/* the files of a whole archive, loaded into
								 * tables that exist; the schema dump stays as
								 * the list of its tables */
} manifest_content;

typedef struct manifest
{
	int			format_version;
	manifest_content content;
	char	   *pgcarry_version;
	char	   *created_at;
	char	   *server_version;
	int			server_version_num;
	char	   *compression;	/* "zstd" or "none" */
	int			compression_level;
	char	   *roles_file;		/* NULL without roles */
	bool		roles_passwords;
	manifest_db *dbs;
	int			ndbs;
	manifest_file *files;
	int			nfiles;
} manifest;

/* A new empty manifest (format version set), owned by the caller. */
manifest *manifest_create(void);
/* "whole", "schema-only" or "data-only" (static storage). */
const char *manifest_content_name(manifest_content c);

/* Frees a manifest and everything in it; NULL ok. */
void manifest_destroy(manifest *m);

/* Appends a zeroed database / table / part / sequence / file and returns
 * it (valid until the next append to the same array). */
manifest_db *manifest_add_db(manifest *m);
manifest_table *manifest_db_add_table(manifest_db *db);
manifest_part *manifest_table_add_part(manifest_table *t);
manifest_sequence *manifest_db_add_sequence(manifest_db *db);
manifest_file *manifest_add_file(manifest_file **files, int *nfiles, const char *path,
								 const archive_file_info *info);

/* Frees the contents of one database entry (for a database redone). */
void manifest_db_clear(manifest_db *db);

/* The sum of a table's parts (rows and checksum) into *sum: what the
 * table's own rows and checksum must be. */
void manifest_table_sum_parts(const manifest_table *t, rowhash *sum);

/*
 * A set of paths, each with an item of the caller's (or NULL), sorted once
 * and then searched in O(log n): lookups by path over every file or part
 * of an archive, which a linear search would make quadratic in the number
 * of tables.  Paths and items are borrowed, not copied.
 */
typedef struct manifest_path
{
	const char *path;
	const void *item;
} manifest_path;
typedef struct manifest_paths
{
	manifest_path *v;
	int			n;
	int			cap;
} manifest_paths;

/* Adds path (NULL: nothing) with its item; call before manifest_paths_sort. */
void manifest_paths_add(manifest_paths *s, const char *path, const void *item);
/* The files' paths, each with its manifest_file, sorted. */
void manifest_paths_of_files(manifest_paths *s, const manifest_file *files, int nfiles);
/* Sorts the set; lookups need it. */
void manifest_paths_sort(manifest_paths *s);
/* The entry of path, NULL when absent (or path NULL). */
const manifest_path *manifest_paths_find(const manifest_paths *s, const char *path);
void manifest_paths_free(manifest_paths *s);

/*
 * Reads and validates root/manifest.json.  Returns the manifest (owned by
 * the caller), or NULL with err set: "archive ... has no manifest" when the
 * file is missing, otherwise the first problem named by its JSON path.
 */
manifest *manifest_read(const char *root, pgc_err *err);

/* Writes m as root/manifest.json, atomically (mode 0600).  Sets
 * created_at when NULL.  Returns 0, or -1 with err set. */
int manifest_write(const char *root, manifest *m, pgc_err *err);

/* Writes one database's entry (with its files) as root/db->dir/database.json,
 * atomically.  Returns 0, or -1 with err set. */
int manifest_db_write(const char *root, const manifest_db *db, pgc_err *err);

/* The same as root/db->dir/NAME (MANIFEST_PLAN_NAME: a tar's plan). */
int manifest_db_write_as(const char *root, const manifest_db *db, const char *name, pgc_err *err);

/* The same from root/dir/NAME. */
int manifest_db_read_as(const char *root, const char *dir, const char *name, manifest_db *db, pgc_err *err);

/* Reads root/dir/database.json into *db (zeroed first; clear it with
 * manifest_db_clear).  Returns 0, 1 when the file does not exist, -1 with
 * err set when it is malformed. */
int manifest_db_read(const char *root, const char *dir, manifest_db *db, pgc_err *err);

#endif
