/*
 * cleanup.h: the one cleanup path, and interruption.
 *
 * How it works: cleanup_init() blocks SIGINT, SIGTERM and SIGHUP in the
 * calling thread (so in every thread created after it) and starts a signal
 * thread that waits for them with sigwait().  On the first signal it sets the
 * interrupted flag, sends a cancel request for every tracked connection (so
 * no statement keeps running on a server), and signals tracked child
 * processes (pg_dump, pg_restore, psql), which also die with pgcarry when
 * it is killed (cleanup_spawn).  Workers see the flag or the
 * cancelled statement, stop, and return errors; main then exits through
 * cleanup_run(), which removes every private temporary directory.  A second
 * signal removes the temporary directories at once and exits with status 1.
 */
#ifndef PGCARRY_CLEANUP_H
#define PGCARRY_CLEANUP_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/err.h"

/* Call once from main before any thread or connection exists. */
void cleanup_init(void);

/* True once SIGINT/SIGTERM/SIGHUP arrived. */
bool cleanup_interrupted(void);

/* Track / untrack a connection for cancellation on interrupt (conn_open
 * and conn_close do this for every connection). */
void cleanup_track_conn(PGconn *conn);
void cleanup_untrack_conn(PGconn *conn);

/* Track / untrack a child process, signalled with SIGTERM on interrupt. */
void cleanup_track_pid(pid_t pid);
void cleanup_untrack_pid(pid_t pid);

/*
 * Starts a child process: argv[0] is a path, or a name looked up on PATH;
 * envp its environment; in_fd, out_fd and err_fd become its stdin, stdout
 * and stderr.  The child starts with no signal blocked and default
 * dispositions, and dies with pgcarry: it gets SIGTERM as soon as the
 * thread that started it ends, kill -9 of pgcarry included (Linux
 * PR_SET_PDEATHSIG; a child whose parent died before that was set stops at
 * once).  The pid is tracked (cleanup_track_pid); the caller reaps it and
 * untracks it.  Returns the pid, or -1 with *spawn_errno set (ENOENT when
 * the program is not found, or the errno of fork or exec).
 */
pid_t cleanup_spawn(const char *const *argv, char *const *envp, int in_fd, int out_fd, int err_fd,
					int *spawn_errno);

/*
 * Creates a private directory (mode 0700) under $TMPDIR (or /tmp) named
 * pgcarry.PID-STARTTIME.XXXXXX (this process, so that a later run can tell
 * whether its owner is gone), registered for removal on every exit path.
 * The first call of a run also removes the
 * pgcarry.* directories of this user that killed runs left there (only
 * private ones whose owning process is gone).  Returns a path owned by the
 * cleanup module (valid until cleanup_run), NULL with err set on failure.
 */
const char *cleanup_private_tmpdir(pgc_err *err);

/* Removes a directory tree now (used for registered tmpdirs, and by
 * callers for their own scratch trees).  Returns 0, or -1 if any entry
 * could not be removed. */
int cleanup_remove_tree(const char *path);

/* Removes every registered temporary directory; idempotent.  Registered
 * with atexit() by cleanup_init(). */
void cleanup_run(void);

#endif
