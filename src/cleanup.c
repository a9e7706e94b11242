/*
 * cleanup.c: signal thread, cancel registry, private temporary directories
 * (see cleanup.h for how it works).
 */
#include "cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLEANUP_MAX_CONNS 512
#define CLEANUP_MAX_PIDS 64
#define CLEANUP_MAX_DIRS 16

static pthread_mutex_t cleanup_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool cleanup_flag;
static atomic_int cleanup_signal_count;

static struct
{
	PGconn	   *conn;
	PGcancel   *cancel;
} cleanup_conns[CLEANUP_MAX_CONNS];

static pid_t cleanup_pids[CLEANUP_MAX_PIDS];
static char *cleanup_dirs[CLEANUP_MAX_DIRS];

static void
cleanup_cancel_all(void)
{
	char errbuf[256];
	pthread_mutex_lock(&cleanup_lock);
	for (int i = 0; i < CLEANUP_MAX_CONNS; i++)
		if (cleanup_conns[i].cancel)
			(void) PQcancel(cleanup_conns[i].cancel, errbuf, sizeof errbuf);
	for (int i = 0; i < CLEANUP_MAX_PIDS; i++)
		if (cleanup_pids[i] > 0)
			kill(cleanup_pids[i], SIGTERM);
	pthread_mutex_unlock(&cleanup_lock);
}

static void *
cleanup_signal_thread(void *arg)
{
	sigset_t *set = arg;
	for (;;)
	{
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (atomic_fetch_add(&cleanup_signal_count, 1) == 0)
		{
			atomic_store(&cleanup_flag, true);
			log_report(LOG_WARNING, "interrupted: cancelling running statements and stopping",
					   NULL, "Run the same command again to finish the work (copy, export and import need --resume).");
			cleanup_cancel_all();
		}
		else
		{
			cleanup_run();
			_exit(1);
		}
	}
	return NULL;
}

void
cleanup_init(void)
{
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, cleanup_signal_thread, &set) != 0)
		log_warning("could not start the signal thread: Ctrl-C will not cancel cleanly");
	pthread_attr_destroy(&attr);
	atexit(cleanup_run);
}

bool
cleanup_interrupted(void)
{
	return atomic_load(&cleanup_flag);
}

void
cleanup_track_conn(PGconn *conn)
{
	if (!conn)
		return;
	PGcancel *c = PQgetCancel(conn);
	pthread_mutex_lock(&cleanup_lock);
	for (int i = 0; i < CLEANUP_MAX_CONNS; i++)
		if (!cleanup_conns[i].conn)
		{
			cleanup_conns[i].conn = conn;
			cleanup_conns[i].cancel = c;
			c = NULL;
			break;
		}
	pthread_mutex_unlock(&cleanup_lock);
	if (c)
		PQfreeCancel(c);
}

void
cleanup_untrack_conn(PGconn *conn)
{
	PGcancel *c = NULL;
	pthread_mutex_lock(&cleanup_lock);
	for (int i = 0; i < CLEANUP_MAX_CONNS; i++)
		if (cleanup_conns[i].conn == conn)
		{
			c = cleanup_conns[i].cancel;
			cleanup_conns[i].conn = NULL;
			cleanup_conns[i].cancel = NULL;
			break;
		}
	pthread_mutex_unlock(&cleanup_lock);
	if (c)
		PQfreeCancel(c);
}

void
cleanup_track_pid(pid_t pid)
{
	pthread_mutex_lock(&cleanup_lock);
	for (int i = 0; i < CLEANUP_MAX_PIDS; i++)
		if (cleanup_pids[i] == 0)
		{
			cleanup_pids[i] = pid;
			break;
		}
	pthread_mutex_unlock(&cleanup_lock);
}

void
cleanup_untrack_pid(pid_t pid)
{
	pthread_mutex_lock(&cleanup_lock);
	for (int i = 0; i < CLEANUP_MAX_PIDS; i++)
		if (cleanup_pids[i] == pid)
			cleanup_pids[i] = 0;
	pthread_mutex_unlock(&cleanup_lock);
}

const char *
cleanup_private_tmpdir(pgc_err *err)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	char *path = xasprintf("%s/pgcarry.XXXXXX", base);
	/* mkdtemp creates the directory with mode 0700. */
	if (!mkdtemp(path))
	{
		err_set(err, "could not create a temporary directory in \"%s\": %s", base, strerror(errno));
		err_hint(err, "Set TMPDIR to a writable directory.");
		free(path);
		return NULL;
	}
	pthread_mutex_lock(&cleanup_lock);
	for (int i = 0; i < CLEANUP_MAX_DIRS; i++)
		if (!cleanup_dirs[i])
		{
			cleanup_dirs[i] = path;
			pthread_mutex_unlock(&cleanup_lock);
			return path;
		}
	pthread_mutex_unlock(&cleanup_lock);
	rmdir(path);
	free(path);
	err_set(err, "too many temporary directories");
	return NULL;
}

static int
cleanup_unlink_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void) sb;
	(void) ftw;
	int rc = (type == FTW_DP) ? rmdir(path) : unlink(path);
	return rc == 0 || errno == ENOENT ? 0 : -1;
}

int
cleanup_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, cleanup_unlink_cb, 16, FTW_DEPTH | FTW_PHYS);
}

void
cleanup_run(void)
{
	pthread_mutex_lock(&cleanup_lock);
	for (int i = 0; i < CLEANUP_MAX_DIRS; i++)
		if (cleanup_dirs[i])
		{
			cleanup_remove_tree(cleanup_dirs[i]);
			free(cleanup_dirs[i]);
			cleanup_dirs[i] = NULL;
		}
	pthread_mutex_unlock(&cleanup_lock);
}
