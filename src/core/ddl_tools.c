/*
 * ddl_tools.c: the one runner of PostgreSQL's programs (pg_dump, pg_restore,
 * pg_dumpall, psql) for every command (see ddl.h): which installation's
 * programs to run, checked against the server's major version, the
 * connection strings and passwords given to them, and the children
 * themselves.
 *
 * How a child runs: cleanup_spawn with an empty signal mask (pgcarry's
 * threads block SIGINT/SIGTERM for the cleanup thread, and a child must not
 * inherit that) and a parent-death signal (the child never outlives
 * pgcarry, even after kill -9), stdin from a file or /dev/null, stdout to a file, a buffer
 * or nowhere, stderr into a bounded buffer; both pipes are read with poll()
 * until they close, then the child is reaped.  The cleanup module knows the
 * pid meanwhile, so Ctrl-C stops it.
 */
#include "core/ddl.h"
#include "core/ddl_int.h"
#include "cleanup.h"
#include "conn.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* At most this much of a child's stderr is kept. */
#define DDL_STDERR_MAX (256 * 1024)

/* Where Debian installs each major version's programs. */
#define DDL_DEBIAN_LIBDIR "/usr/lib/postgresql"

struct ddl_tools
{
	char	   *bindir;
	int			major;
};

/* ------------------------------------------------------------------------
 * Running a child
 * ------------------------------------------------------------------------ */

/* The environment variable libpq reads a password from. */
#define DDL_PASSWORD_VAR "PGPASSWORD"

/* The child's environment: ours, with PGPASSWORD replaced when a password
 * is given.  The strings are borrowed except the PGPASSWORD one. */
static char **
ddl_child_env(const char *password, char **owned)
{
	int			n = 0;
	while (environ[n])
		n++;
	char	  **env = xcalloc((size_t) n + 2, sizeof(char *));
	int			k = 0;
	size_t		vl = strlen(DDL_PASSWORD_VAR);
	*owned = NULL;
	for (int i = 0; i < n; i++)
		if (!password || strncmp(environ[i], DDL_PASSWORD_VAR, vl) != 0 || environ[i][vl] != '=')
			env[k++] = environ[i];
	if (password)
	{
		*owned = xasprintf("%s=%s", DDL_PASSWORD_VAR, password);
		env[k++] = *owned;
	}
	env[k] = NULL;
	return env;
}

/* Whether a line of pg_restore --verbose only tells what it does. */
static bool
ddl_squeeze_info(const char *line, size_t len)
{
	static const char *const keep[] = {"from TOC entry ", "error: ", "warning: ", "could not execute query: "};
	if (len < 12 || strncmp(line, "pg_restore: ", 12) != 0)
		return false;
	for (size_t k = 0; k < sizeof keep / sizeof *keep; k++)
	{
		size_t		kl = strlen(keep[k]);
		for (size_t i = 0; i + kl <= len; i++)
			if (line[i] == keep[k][0] && strncmp(line + i, keep[k], kl) == 0)
				return false;
	}
	return true;
}

/* One whole line (with its newline, if any) into out. */
static void
ddl_squeeze_line(ddl_squeeze *s, buf_t *out, const char *line, size_t len)
{
	if (ddl_squeeze_info(line, len))
	{
		if (!s->marked)
			buf_puts(out, "pg_restore:\n");
		s->marked = true;
		return;
	}
	buf_append(out, line, len);
	s->marked = false;
}

void
ddl_squeeze_feed(ddl_squeeze *s, buf_t *out, const char *chunk, size_t len)
{
	if (len == 0)
	{
		if (s->partial.len > 0)
			ddl_squeeze_line(s, out, s->partial.data, s->partial.len);
		s->partial.len = 0;
		return;
	}
	const char *p = chunk, *end = chunk + len;
	while (p < end)
	{
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		if (!nl)
		{
			buf_append(&s->partial, p, (size_t) (end - p));
			return;
		}
		size_t		l = (size_t) (nl + 1 - p);
		if (s->partial.len > 0)
		{
			buf_append(&s->partial, p, l);
			ddl_squeeze_line(s, out, s->partial.data, s->partial.len);
			s->partial.len = 0;
		}
		else
			ddl_squeeze_line(s, out, p, l);
		p = nl + 1;
	}
}

int
ddl_run(const char *const *argv, const ddl_child_io *io, pgc_err *err)
{
	int			outp[2] = {-1, -1}, errp[2] = {-1, -1};
	int			infd = -1, outfd = -1, nullfd = -1;
	int			rc = -1;
	char	  **env = NULL;
	char	   *pwenv = NULL;
	char	   *chosen = NULL;
	const char **run_argv = NULL;

	const char *in = io && io->stdin_path ? io->stdin_path : "/dev/null";
	infd = open(in, O_RDONLY | O_CLOEXEC);
	if (infd < 0)
	{
		err_set(err, "could not open \"%s\": %s", in, strerror(errno));
		goto out;
	}
	if (io && io->stdout_path)
	{
		outfd = open(io->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (outfd < 0)
		{
			err_set(err, "could not create \"%s\": %s", io->stdout_path, strerror(errno));
			goto out;
		}
	}
	else if (io && io->out)
	{
		if (pipe2(outp, O_CLOEXEC) != 0)
		{
			err_set(err, "could not create a pipe: %s", strerror(errno));
			goto out;
		}
	}
	else if ((nullfd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
	{
		err_set(err, "could not open /dev/null: %s", strerror(errno));
		goto out;
	}
	if (pipe2(errp, O_CLOEXEC) != 0)
	{
		err_set(err, "could not create a pipe: %s", strerror(errno));
		goto out;
	}
	env = ddl_child_env(io ? io->password : NULL, &pwenv);

	/* A PostgreSQL program named bare runs from the chosen directory, the
	 * same version check and choice as copy's, never whatever PATH holds. */
	const char *const *use_argv = argv;
	chosen = strchr(argv[0], '/') ? NULL : ddl_tools_path(NULL, argv[0]);
	if (chosen && strcmp(chosen, argv[0]) != 0)
	{
		int			n = 0;
		while (argv[n])
			n++;
		run_argv = xcalloc((size_t) n + 1, sizeof *run_argv);
		run_argv[0] = chosen;
		for (int k = 1; k < n; k++)
			run_argv[k] = argv[k];
		use_argv = run_argv;
	}
	int			sr = 0;
	pid_t		pid = cleanup_spawn(use_argv, env, infd,
									outfd >= 0 ? outfd : outp[1] >= 0 ? outp[1] : nullfd, errp[1], &sr);
	if (pid < 0)
	{
		err_set(err, "could not run %s: %s", argv[0], strerror(sr));
		err_hint(err, "Install PostgreSQL's client programs (Debian: postgresql-client) "
				 "or set PG_BINDIR to their directory.");
		goto out;
	}
	close(infd);
	infd = -1;
	if (outfd >= 0)
		close(outfd), outfd = -1;
	if (nullfd >= 0)
		close(nullfd), nullfd = -1;
	if (outp[1] >= 0)
		close(outp[1]), outp[1] = -1;
	close(errp[1]);
	errp[1] = -1;

	char		chunk[16384];
	ddl_squeeze squeeze = {0};
	for (;;)
	{
		struct pollfd pf[2];
		int			n = 0, io_out = -1;
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
			n++;
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
			ssize_t		got = read(pf[i].fd, chunk, sizeof chunk);
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
			if (i == io_out)
				buf_append(io->out, chunk, (size_t) got);
			else if (io && io->errout
					 && io->errout->len < (io->errout_max ? io->errout_max : DDL_STDERR_MAX))
			{
				if (io->errout_squeeze)
					ddl_squeeze_feed(&squeeze, io->errout, chunk, (size_t) got);
				else
					buf_append(io->errout, chunk, (size_t) got);
			}
		}
	}
	if (io && io->errout && io->errout_squeeze)
		ddl_squeeze_feed(&squeeze, io->errout, NULL, 0);
	buf_free(&squeeze.partial);
	int			status = 0;
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
	free(run_argv);
	free(chosen);
	if (pwenv)
	{
		memset(pwenv, 0, strlen(pwenv));
		free(pwenv);
	}
	free(env);
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
	if (nullfd >= 0)
		close(nullfd);
	return rc;
}

static void
ddl_quote_value(buf_t *b, const char *v)
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
ddl_conninfo(const char *conninfo, const char *dbname, const char *side, char **password,
			 pgc_err *err)
{
	*password = NULL;
	const char *ci = conninfo ? conninfo : "";
	bool		is_conninfo = strchr(ci, '=') != NULL || strncmp(ci, "postgresql://", 13) == 0
		|| strncmp(ci, "postgres://", 11) == 0;
	buf_t		b = {0};
	const char *given_db = is_conninfo ? NULL : (*ci ? ci : NULL);
	PQconninfoOption *opts = NULL;
	if (is_conninfo)
	{
		char	   *perr = NULL;
		opts = PQconninfoParse(ci, &perr);
		PQfreemem(perr);
		if (!opts)
		{
			err_set(err, "the %s connection string is not valid", side);
			return NULL;
		}
		for (PQconninfoOption *o = opts; o->keyword; o++)
		{
			if (!o->val || !*o->val)
				continue;
			if (strcmp(o->keyword, "password") == 0)
			{
				free(*password);
				*password = xstrdup(o->val);
				continue;
			}
			if (strcmp(o->keyword, "dbname") == 0)
			{
				given_db = o->val;
				continue;
			}
			buf_printf(&b, "%s%s=", b.len ? " " : "", o->keyword);
			ddl_quote_value(&b, o->val);
		}
	}
	const char *db = dbname ? dbname : given_db;
	if (db)
	{
		buf_printf(&b, "%sdbname=", b.len ? " " : "");
		ddl_quote_value(&b, db);
	}
	PQconninfoFree(opts);
	if (!*password && conn_prompted_password(side))
		*password = xstrdup(conn_prompted_password(side));
	return buf_steal(&b);
}

char *
ddl__conninfo_dbname(const char *conninfo)
{
	const char *ci = conninfo ? conninfo : "";
	bool		is_conninfo = strchr(ci, '=') != NULL || strncmp(ci, "postgresql://", 13) == 0
		|| strncmp(ci, "postgres://", 11) == 0;
	if (!is_conninfo)
		return *ci ? xstrdup(ci) : NULL;
	PQconninfoOption *opts = PQconninfoParse(ci, NULL);
	char	   *db = NULL;
	if (opts)
		for (PQconninfoOption *o = opts; o->keyword; o++)
			if (strcmp(o->keyword, "dbname") == 0 && o->val && *o->val)
				db = xstrdup(o->val);
	PQconninfoFree(opts);
	return db;
}

char *
ddl_error_lines(const char *errout, int max)
{
	static const char *const keep[] = {
		"error:", "ERROR:", "FATAL:", "DETAIL:", "HINT:", "Command was:", "from TOC entry", NULL
	};
	buf_t		b = {0};
	int			n = 0;
	const char *p = errout ? errout : "";
	while (*p && n < max)
	{
		size_t		len = strcspn(p, "\n");
		bool		wanted = false;
		for (int i = 0; keep[i] && !wanted; i++)
		{
			const char *hit = strstr(p, keep[i]);
			wanted = hit && (size_t) (hit - p) < len;
		}
		if (wanted)
		{
			buf_printf(&b, "%s%.*s", b.len ? "\n" : "", (int) len, p);
			n++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	if (b.len == 0 && errout)
	{
		size_t		len = strlen(errout);
		while (len > 0 && errout[len - 1] == '\n')
			len--;
		buf_append(&b, errout, len);
	}
	return buf_steal(&b);
}

/* ------------------------------------------------------------------------
 * Programs
 * ------------------------------------------------------------------------ */

/* The major version "prog --version" reports, or -1. */
static int
ddl_program_major(const char *path)
{
	if (access(path, X_OK) != 0)
		return -1;
	const char *argv[] = {path, "--version", NULL};
	buf_t		out = {0};
	ddl_child_io io = {.out = &out};
	pgc_err		e = PGC_ERR_INIT;
	int			rc = ddl_run(argv, &io, &e);
	err_clear(&e);
	int			major = -1;
	if (rc == 0 && out.data)
	{
		/* "pg_dump (PostgreSQL) 15.18 (Debian ...)" */
		const char *p = strstr(out.data, ") ");
		if (p)
			major = atoi(p + 2);
	}
	buf_free(&out);
	return major > 0 ? major : -1;
}

static void
ddl_consider(const char *dir, char **best_dir, int *best_major)
{
	char	   *path = xasprintf("%s/pg_dump", dir);
	int			m = ddl_program_major(path);
	free(path);
	if (m > *best_major)
	{
		free(*best_dir);
		*best_dir = xstrdup(dir);
		*best_major = m;
	}
}

/*
 * The newest pg_dump's directory and major: PG_BINDIR, else pg_config's
 * bindir and Debian's versioned directories.  Searched once per process
 * (each candidate costs a "pg_dump --version"), then remembered: the
 * programs installed do not change while pgcarry runs, and every database
 * of a run asks again.
 */
static void
ddl_tools_search(char **best, int *major)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static bool searched;
	static char *found_dir;
	static int	found_major = -1;
	pthread_mutex_lock(&lock);
	if (!searched)
	{
		const char *env = getenv("PG_BINDIR");
		if (env && *env)
			ddl_consider(env, &found_dir, &found_major);
		else
		{
			const char *argv[] = {"pg_config", "--bindir", NULL};
			buf_t		out = {0};
			ddl_child_io io = {.out = &out};
			pgc_err		e = PGC_ERR_INIT;
			if (ddl_run(argv, &io, &e) == 0 && out.len)
			{
				out.data[strcspn(out.data, "\r\n")] = '\0';
				ddl_consider(out.data, &found_dir, &found_major);
			}
			err_clear(&e);
			buf_free(&out);
			DIR		   *d = opendir(DDL_DEBIAN_LIBDIR);
			if (d)
			{
				struct dirent *de;
				while ((de = readdir(d)) != NULL)
				{
					if (de->d_name[0] < '0' || de->d_name[0] > '9')
						continue;
					char	   *dir = xasprintf("%s/%s/bin", DDL_DEBIAN_LIBDIR, de->d_name);
					ddl_consider(dir, &found_dir, &found_major);
					free(dir);
				}
				closedir(d);
			}
		}
		searched = true;
	}
	*best = found_dir ? xstrdup(found_dir) : NULL;
	*major = found_major;
	pthread_mutex_unlock(&lock);
}

ddl_tools *
ddl_tools_find(int server_version, const char *side, pgc_err *err)
{
	char	   *best = NULL;
	int			major = -1;
	const char *env = getenv("PG_BINDIR");
	ddl_tools_search(&best, &major);
	int			server_major = server_version / 10000;
	if (!best)
	{
		err_set(err, "could not find pg_dump%s%s", env && *env ? " in PG_BINDIR " : "",
				env && *env ? env : "");
		err_hint(err, "Install the PostgreSQL %d client programs (Debian: apt-get install "
				 "postgresql-client-%d) or set PG_BINDIR to their directory.",
				 server_major, server_major);
		return NULL;
	}
	if (major < server_major)
	{
		char	   *sv = conn_version_string(server_version);
		err_set(err, "pg_dump %d (in %s) is older than the %s server, which runs PostgreSQL %s",
				major, best, side, sv);
		err_detail(err, "pg_dump can dump servers of its own major version or older, never newer ones.");
		err_hint(err, "Install the PostgreSQL %d client programs (Debian: apt-get install "
				 "postgresql-client-%d) and set PG_BINDIR to their directory, for example "
				 "/usr/lib/postgresql/%d/bin.", server_major, server_major, server_major);
		free(sv);
		free(best);
		return NULL;
	}
	ddl_tools  *t = xcalloc(1, sizeof *t);
	t->bindir = best;
	t->major = major;
	return t;
}

void
ddl_tools_free(ddl_tools *t)
{
	if (!t)
		return;
	free(t->bindir);
	free(t);
}

const char *
ddl_tools_bindir(const ddl_tools *t)
{
	return t->bindir;
}

int
ddl_tools_major(const ddl_tools *t)
{
	return t->major;
}

/* The programs that are never taken from PATH: a bare name is resolved
 * in the directory ddl_tools_find chooses. */
static const char *const ddl_pg_programs[] = {"pg_dump", "pg_restore", "pg_dumpall", "psql", NULL};

static pthread_once_t ddl_default_once = PTHREAD_ONCE_INIT;
static ddl_tools *ddl_default_tools;

/* The newest programs found, for a caller with no server version to match
 * (import before it connects, a bare name given to ddl_run). */
static void
ddl_default_find(void)
{
	pgc_err		e = PGC_ERR_INIT;
	ddl_default_tools = ddl_tools_find(0, "target", &e);
	err_clear(&e);
}

char *
ddl_tools_path(const ddl_tools *t, const char *program)
{
	if (!t)
	{
		bool		pg = false;
		for (int i = 0; ddl_pg_programs[i] && !pg; i++)
			pg = strcmp(program, ddl_pg_programs[i]) == 0;
		if (pg)
			pthread_once(&ddl_default_once, ddl_default_find);
		t = pg ? ddl_default_tools : NULL;
		if (!t)
			return xstrdup(program);
	}
	return xasprintf("%s/%s", t->bindir, program);
}

int
ddl__create_private_file(const char *path, pgc_err *err)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		err_set(err, "could not create \"%s\": %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

void
ddl__password_free(char *password)
{
	if (!password)
		return;
	explicit_bzero(password, strlen(password));
	free(password);
}

int
ddl__run_checked(const char *const *argv, const char *password, const char *stdout_path,
				buf_t *out, const char *what, pgc_err *err)
{
	buf_t		errout = {0};
	ddl_child_io io = {.stdout_path = stdout_path, .out = out, .errout = &errout,
	.password = password};
	int			rc = ddl_run(argv, &io, err);
	if (rc == 0)
	{
		buf_free(&errout);
		return 0;
	}
	if (rc > 0)
	{
		char	   *lines = ddl_error_lines(errout.data, 12);
		if (cleanup_interrupted())
			err_set(err, "%s: interrupted", what);
		else
			err_set(err, "%s", what);
		if (*lines)
			err_detail(err, "%s", lines);
		free(lines);
	}
	buf_free(&errout);
	return -1;
}

