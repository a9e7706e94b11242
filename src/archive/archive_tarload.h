/*
 * archive_tarload.h: the first step of importing a tar stream, loading
 * each data file into the target as it arrives.
 *
 * How it works: a tar written by "pgcarry export --format tar" carries,
 * ahead of each database's files, the database's plan (plan.json: its
 * manifest entry without rows and checksums), and its data files after its
 * schema dump.  While the tar is read (archive_stream.h), for each chosen
 * database with a plan: the target database is prepared (created, or
 * replaced with --clean, or kept with --resume) and marked unfinished as
 * import does (archive_target.h); its pre-data is restored as soon as its
 * schema dump has been spooled; each data file is loaded into its table as
 * it arrives, in its own transaction (the first file of a table empties
 * it: TRUNCATE and COPY FREEZE), its rows hashed on their way.  Nothing is
 * proven yet: the manifest comes last, and import then checks every file
 * and every table against it (archive_import.c) before anything is called
 * verified; until then the database stays marked unfinished.  A database
 * without a plan (an archive written before plans existed) has its files
 * spooled and is imported the usual way.  When the stream fails (cut
 * short, damaged, out of scratch), the databases this run created are
 * dropped again.
 */
#ifndef PGCARRY_ARCHIVE_TARLOAD_H
#define PGCARRY_ARCHIVE_TARLOAD_H

#include <stdbool.h>

#include "archive/archive_import.h"
#include "archive/archive_stream.h"
#include "archive/manifest.h"
#include "util/err.h"

typedef struct archive_tarload archive_tarload;

/* How a database of the archive (by its dir) went in the stream. */
typedef enum archive_tarload_state
{
	ARCHIVE_TARLOAD_NONE = 0,	/* no plan, or not chosen: its files, if
								 * chosen, were spooled (import as usual) */
	ARCHIVE_TARLOAD_LOADED,		/* prepared, pre-data restored, data loaded
								 * (not yet proven) */
	ARCHIVE_TARLOAD_EARLIER,	/* --resume: finished by an earlier run, not
								 * touched (import checks it) */
	ARCHIVE_TARLOAD_FAILED		/* refused or stopped: see why */
} archive_tarload_state;

/*
 * Reads the tar o->input to its end: small files spooled under spool (an
 * existing private directory), data loaded as described above; scratch is
 * for pg_restore's temporary files.  Returns the handle (owned by the
 * caller: archive_tarload_destroy), or NULL with err set when the stream
 * could not be read whole (then every database this run created was
 * dropped, and err says nothing was left on the target).
 */
archive_tarload *archive_tarload_run(const archive_import_opts *o, const char *spool, const char *scratch,
									 pgc_err *err);

/* The data files that went by (size, SHA-256, rows as loaded). */
const archive_stream_files *archive_tarload_seen(const archive_tarload *t);

/* The state of the archive's database in dir (NONE for a NULL t); *why
 * (may be NULL) gets the message of a FAILED one, owned by t. */
archive_tarload_state archive_tarload_db_state(const archive_tarload *t, const char *dir, const char **why);

/* The whole failure (message, detail, hint) of the database in dir, owned
 * by t; NULL when it did not fail. */
const pgc_err *archive_tarload_db_err(const archive_tarload *t, const char *dir);

/* For a database loaded from the stream: its data went where its plan
 * said; checks that the manifest, which came last, lists the same tables,
 * columns and part files.  Returns 0, or -1 with err set naming the first
 * difference. */
int			archive_tarload_check_plan(const archive_tarload *t, const manifest_db *mdb, pgc_err *err);

/* Whether the roles (--roles) were created while the stream went by. */
bool		archive_tarload_roles_done(const archive_tarload *t);

/* Drops the database in dir (NULL: every one) on the target when this run
 * created it (its archive turned out damaged), logging why; logs a failure
 * to drop.  Returns true when nothing of them is left on the target. */
bool		archive_tarload_abandon(archive_tarload *t, const char *dir, const char *why);

/* Frees the handle.  NULL ok. */
void		archive_tarload_destroy(archive_tarload *t);

#endif
