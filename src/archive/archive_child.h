/*
 * archive_child.h: running PostgreSQL's own programs (pg_dump, pg_restore,
 * pg_dumpall, psql) for export and import.
 *
 * A child gets a password-free connection string on its command line
 * (archive_child_conninfo) and the password, when pgcarry knows one, only
 * through PGPASSWORD in its environment.  Its stderr is captured (bounded)
 * for error messages; it is tracked by the cleanup module so an interrupt
 * stops it; it starts with no signal blocked.
 *
 * Until src/ddl.h (shared with copy) offers the same, this is the archive
 * module's own runner; it is small on purpose so the two can be merged.
 */
#ifndef PGCARRY_ARCHIVE_CHILD_H
#define PGCARRY_ARCHIVE_CHILD_H

#include "util/buf.h"
#include "util/err.h"

typedef struct archive_child_io
{
	const char *stdin_path;		/* file for stdin; NULL: /dev/null */
	const char *stdout_path;	/* file (created 0600) for stdout; NULL: see out */
	buf_t	   *out;			/* stdout captured here when stdout_path is NULL
								 * (NULL: discarded) */
	buf_t	   *errout;			/* stderr captured here (first 256 kB); may be NULL */
	const char *password;		/* PGPASSWORD for the child; NULL: none given */
} archive_child_io;

/*
 * Runs argv[0] (found on PATH) with argv and waits for it.  Returns the
 * child's exit status (0..255, 128+N for a signal), or -1 with err set when
 * it could not be started.
 */
int archive_child_run(const char *const *argv, const archive_child_io *io, pgc_err *err);

/*
 * A keyword=value connection string for a child: conninfo with dbname
 * replaced (when dbname is not NULL) and any password removed.  The
 * password that conninfo held, or else the one typed at pgcarry's prompt
 * for side, goes to *password (owned by the caller, NULL when none).
 * Returns the string (owned by the caller), or NULL with err set.
 */
char *archive_child_conninfo(const char *conninfo, const char *dbname, const char *side,
							 char **password, pgc_err *err);

/* The lines of a child's stderr worth showing a user (at most max lines,
 * "error:", "ERROR:", "DETAIL:", "Command was:", "from TOC entry" ...),
 * joined by newlines; owned by the caller. */
char *archive_child_error_lines(const char *errout, int max);

#endif
