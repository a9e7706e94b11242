/*
 * archive_child.c: running pg_dump, pg_restore, pg_dumpall and psql
 * (see archive_child.h).
 *
 * How it works: posix_spawnp with an empty signal mask (pgcarry's threads
 * block SIGINT/SIGTERM for the cleanup thread) and an environment that is
 * pgcarry's own minus PGPASSWORD, plus PGPASSWORD when a password is known.
 * stdout and stderr come back through pipes read with poll() until both
 * close; then waitpid.
 */
#include "archive/archive_child.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "conn.h"
#include "util/xalloc.h"

extern char **environ;

#define ARCHIVE_CHILD_ERR_MAX (256 * 1024)

/* Appends ' quoted ' value for a conninfo string. */
static void
archive_child_quote(buf_t *b, const char *v)
{
	buf_putc(b, '\'');
	for (const char *p = v; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *p);
	}
	buf_putc(b, '\'');
}

char *
archive_child_conninfo(const char *conninfo, const char *dbname, const char *side,
					   char **password, pgc_err *err)
{
	char *perr = NULL;
	*password = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
	if (!opts)
	{
		err_set(err, "could not parse the %s connection string", side);
		if (perr)
			err_detail(err, "%s", perr);
		PQfreemem(perr);
		return NULL;
	}
	buf_t b = {0};
	const char *given_db = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "password") == 0)
		{
			*password = xstrdup(o->val);
			continue;
		}
		if (strcmp(o->keyword, "dbname") == 0)
		{
			given_db = o->val;
			continue;
		}
		buf_printf(&b, "%s%s=", b.len ? " " : "", o->keyword);
		archive_child_quote(&b, o->val);
	}
	const char *db = dbname ? dbname : given_db;
	if (db)
	{
		buf_printf(&b, "%sdbname=", b.len ? " " : "");
		archive_child_quote(&b, db);
	}
	PQconninfoFree(opts);
	if (!*password && conn_prompted_password(side))
		*password = xstrdup(conn_prompted_password(side));
	return buf_steal(&b);
}

/* The child's environment: ours without PGPASSWORD, plus the password. */
static char **
archive_child_env(const char *password)
{
	int n = 0;
	while (environ[n])
		n++;
	char **env = xcalloc((size_t) n + 2, sizeof(char *));
	int k = 0;
	for (int i = 0; i < n; i++)
		if (strncmp(environ[i], "PGPASSWORD=", 11) != 0)
			env[k++] = environ[i];
	if (password)
		env[k++] = xasprintf("PGPASSWORD=%s", password);
	env[k] = NULL;
	return env;
}

int
archive_child_run(const char *const *argv, const archive_child_io *io, pgc_err *err)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	int infd = -1, outfd = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	sigset_t dfl;
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	int rc = -1;
	char **env = NULL;
	infd = open(io->stdin_path ? io->stdin_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	if (infd < 0)
	{
		err_set(err, "could not open \"%s\": %s", io->stdin_path ? io->stdin_path : "/dev/null",
				strerror(errno));
		goto out;
	}
	if (io->stdout_path)
	{
		outfd = open(io->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (outfd < 0)
		{
			err_set(err, "could not create \"%s\": %s", io->stdout_path, strerror(errno));
			goto out;
		}
	}
	else if (pipe2(outp, O_CLOEXEC) != 0)
	{
		err_set(err, "could not create a pipe: %s", strerror(errno));
		goto out;
	}
	if (pipe2(errp, O_CLOEXEC) != 0)
	{
		err_set(err, "could not create a pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_adddup2(&fa, infd, 0);
	posix_spawn_file_actions_adddup2(&fa, outfd >= 0 ? outfd : outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	env = archive_child_env(io->password);
	pid_t pid;
	int sr = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *) argv, env);
	if (sr != 0)
	{
		err_set(err, "could not run %s: %s", argv[0], strerror(sr));
		err_hint(err, "Install PostgreSQL's client programs (Debian: postgresql-client) and put them on PATH.");
		goto out;
	}
	cleanup_track_pid(pid);
	close(infd);
	infd = -1;
	if (outfd >= 0)
	{
		close(outfd);
		outfd = -1;
	}
	if (outp[1] >= 0)
	{
		close(outp[1]);
		outp[1] = -1;
	}
	close(errp[1]);
	errp[1] = -1;

	char chunk[16384];
	struct pollfd pf[2];
	for (;;)
	{
		int n = 0;
		int io_out = -1, io_err = -1;
		if (outp[0] >= 0)
		{
			pf[n].fd = outp[0];
			pf[n].events = POLLIN;
			io_out = n++;
		}
		if (errp[0] >= 0)
		{
			pf[n].fd = errp[0];
			pf[n].events = POLLIN;
			io_err = n++;
		}
		if (n == 0)
			break;
		if (poll(pf, (nfds_t) n, -1) < 0)
		{
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++)
		{
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t got = read(pf[i].fd, chunk, sizeof chunk);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
			{
				close(pf[i].fd);
				if (i == io_out)
					outp[0] = -1;
				else
					errp[0] = -1;
				continue;
			}
			buf_t *dst = i == io_out ? io->out : io->errout;
			if (dst && (i == io_out || dst->len < ARCHIVE_CHILD_ERR_MAX))
				buf_append(dst, chunk, (size_t) got);
			(void) io_err;
		}
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cleanup_untrack_pid(pid);
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else
		rc = 255;

out:
	if (env)
	{
		for (int i = 0; env[i]; i++)
			if (strncmp(env[i], "PGPASSWORD=", 11) == 0)
			{
				memset(env[i], 0, strlen(env[i]));
				free(env[i]);
			}
		free(env);
	}
	for (int i = 0; i < 2; i++)
	{
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (infd >= 0)
		close(infd);
	if (outfd >= 0)
		close(outfd);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

char *
archive_child_error_lines(const char *errout, int max)
{
	buf_t b = {0};
	int n = 0;
	const char *p = errout ? errout : "";
	while (*p && n < max)
	{
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t) (nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		bool keep = strstr(line, "error") || strstr(line, "ERROR") || strstr(line, "DETAIL") ||
			strstr(line, "HINT") || strstr(line, "LINE ") || strstr(line, "Command was") ||
			strstr(line, "from TOC entry") || strstr(line, "FATAL") || strstr(line, "CONTEXT");
		if (keep && len > 0)
		{
			buf_printf(&b, "%s%s", b.len ? "\n" : "", line);
			n++;
		}
		free(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	if (b.len == 0 && errout && *errout)
	{
		size_t len = strlen(errout);
		while (len > 0 && errout[len - 1] == '\n')
			len--;
		buf_append(&b, errout, len > 2000 ? 2000 : len);
	}
	return buf_steal(&b);
}
