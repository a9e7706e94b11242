/*
 * cleanup.c: signal thread, cancel registry, private temporary directories
 * (see cleanup.h for how it works).
 */
#include "cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* ------------------------------------------------------------------------
 * Child processes
 * ------------------------------------------------------------------------ */

/* The full path of program (a path, or a name looked up on PATH), owned
 * by the caller; NULL when no executable file of that name is found. */
static char *
cleanup_find_program(const char *program)
{
	if (strchr(program, '/'))
		return xstrdup(program);
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path)
	{
		size_t		len = strcspn(path, ":");
		char	   *cand = len ? xasprintf("%.*s/%s", (int) len, path, program) : xasprintf("./%s", program);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		path += len;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* In the child, between fork and exec: only async-signal-safe calls.
 * Makes fd the descriptor target, without CLOEXEC. */
static int
cleanup_child_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

pid_t
cleanup_spawn(const char *const *argv, char *const *envp, int in_fd, int out_fd, int err_fd,
			  int *spawn_errno)
{
	*spawn_errno = 0;
	char	   *path = cleanup_find_program(argv[0]);
	if (!path)
	{
		*spawn_errno = ENOENT;
		return -1;
	}
	int			ep[2];
	if (pipe2(ep, O_CLOEXEC) != 0)
	{
		*spawn_errno = errno;
		free(path);
		return -1;
	}
	pid_t		parent = getpid();
	pid_t		pid = fork();
	if (pid == 0)
	{
		/* The child: it gets SIGTERM when the thread that started it ends,
		 * pgcarry's death included (kill -9); pg_dump and pg_restore then
		 * cancel their statements.  If pgcarry died before this line, the
		 * child already has another parent: it stops here. */
		int			e = 0;
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(127);
		/* Move the descriptors clear of 0..2 first, so none is overwritten
		 * before it is used. */
		int			fds[3] = {in_fd, out_fd, err_fd};
		for (int i = 0; i < 3; i++)
			if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
				e = errno;
		for (int i = 0; i < 3 && !e; i++)
			if (cleanup_child_fd(fds[i], i) != 0)
				e = errno;
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		static const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP};
		for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
			sigaction(reset[i], &dfl, NULL);
		sigset_t	none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (!e)
		{
			execve(path, (char *const *) argv, envp);
			e = errno;
		}
		ssize_t		w = write(ep[1], &e, sizeof e);
		(void) w;
		_exit(127);
	}
	int			fork_errno = errno;
	free(path);
	close(ep[1]);
	if (pid < 0)
	{
		close(ep[0]);
		*spawn_errno = fork_errno;
		return -1;
	}
	int			child_errno = 0;
	ssize_t		got;
	while ((got = read(ep[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
		;
	close(ep[0]);
	if (got == (ssize_t) sizeof child_errno)
	{
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		*spawn_errno = child_errno ? child_errno : ECHILD;
		return -1;
	}
	cleanup_track_pid(pid);
	return pid;
}

/* ------------------------------------------------------------------------
 * Private temporary directories
 * ------------------------------------------------------------------------ */

/* A private directory's name says which process owns it:
 * pgcarry.PID-STARTTIME.XXXXXX (STARTTIME from /proc/PID/stat, so a reused
 * PID is not taken for the owner).  Nothing is written inside: the
 * directory holds only what its user puts there. */
#define CLEANUP_DIR_PREFIX "pgcarry."

/* The start time of process pid (field 22 of /proc/PID/stat, clock ticks
 * since boot); 0 when it cannot be read. */
static unsigned long long
cleanup_proc_start(pid_t pid)
{
	char		path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t		n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	/* The command name (field 2) may hold spaces: count from its end. */
	char	   *p = strrchr(text, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* Whether the process that made the private directory called name
 * (pgcarry.PID-STARTTIME.XXXXXX) is gone: no such process, or the PID now
 * belongs to another one.  False for any other name. */
static bool
cleanup_owner_gone(const char *name)
{
	long		pid = 0;
	unsigned long long start = 0;
	int			used = 0;
	if (sscanf(name, CLEANUP_DIR_PREFIX "%ld-%llu.%n", &pid, &start, &used) != 2 || used == 0
		|| pid <= 0 || strlen(name + used) != 6)
		return false;
	if (kill((pid_t) pid, 0) != 0 && errno == ESRCH)
		return true;
	unsigned long long now = cleanup_proc_start((pid_t) pid);
	return now != 0 && now != start;
}

/* Removes the private directories under base that killed runs left
 * behind: named pgcarry.*, real directories owned by this user and
 * readable by no one else, whose owning process is gone. */
static void
cleanup_sweep(const char *base)
{
	DIR		   *d = opendir(base);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
	{
		if (strncmp(de->d_name, CLEANUP_DIR_PREFIX, strlen(CLEANUP_DIR_PREFIX)) != 0)
			continue;
		char	   *path = xasprintf("%s/%s", base, de->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid()
			&& (st.st_mode & 077) == 0 && cleanup_owner_gone(de->d_name))
		{
			if (cleanup_remove_tree(path) == 0)
				log_info("removed \"%s\", left behind by a pgcarry run that was killed", path);
			else
				log_warning("could not remove \"%s\", left behind by a pgcarry run that was killed", path);
		}
		free(path);
	}
	closedir(d);
}

const char *
cleanup_private_tmpdir(pgc_err *err)
{
	static atomic_bool swept;
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	if (!atomic_exchange(&swept, true))
		cleanup_sweep(base);
	char *path = xasprintf("%s/" CLEANUP_DIR_PREFIX "%d-%llu.XXXXXX", base, (int) getpid(),
						   cleanup_proc_start(getpid()));
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
