/*
 * state.c: resume state in SQLite (see state.h).
 */
#include "core/state.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

struct state
{
	sqlite3    *db;
	char	   *path;
	int			lock_fd;
	pthread_mutex_t lock;
};

static const char state_schema_sql[] =
	"PRAGMA journal_mode = WAL;"
	"PRAGMA synchronous = NORMAL;"
	"PRAGMA busy_timeout = 5000;"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS db ("
	"  name TEXT PRIMARY KEY, phase INTEGER NOT NULL, updated TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS unit ("
	"  db TEXT NOT NULL, unit TEXT NOT NULL, rows INTEGER NOT NULL, hash TEXT NOT NULL,"
	"  verified INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL, PRIMARY KEY (db, unit));";

static const char *const state_phase_names[] = {
	"none", "creating", "created", "pre-data done", "data done", "post-data done", "verified"
};

const char *
state_phase_name(state_phase p)
{
	return p >= STATE_NONE && p <= STATE_VERIFIED ? state_phase_names[p] : "?";
}

char *
state_default_dir(void)
{
	const char *x = getenv("XDG_STATE_HOME");
	if (x && *x == '/')
		return xasprintf("%s/pgcarry", x);
	const char *home = getenv("HOME");
	return xasprintf("%s/.local/state/pgcarry", home && *home ? home : ".");
}

/* mkdir -p with mode 0700 for what it creates. */
static int
state_mkdirs(const char *dir, pgc_err *err)
{
	char	   *p = xstrdup(dir);
	for (char *s = p + 1; *s; s++)
	{
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
		{
			err_set(err, "could not create the state directory \"%s\": %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
	{
		err_set(err, "could not create the state directory \"%s\": %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

static void
state_sqlite_error(state *s, pgc_err *err, const char *what)
{
	err_set(err, "could not %s the state file \"%s\": %s", what, s->path, sqlite3_errmsg(s->db));
}

state *
state_open(const char *dir, const char *kind, const char *source_key, const char *target_key,
		   pgc_err *err)
{
	if (state_mkdirs(dir, err) != 0)
	{
		err_hint(err, "Choose another directory with --state-dir.");
		return NULL;
	}
	char	   *key = xasprintf("%s\n%s", source_key, target_key);
	unsigned long long h = (unsigned long long) XXH3_64bits(key, strlen(key));
	free(key);

	state	   *s = xcalloc(1, sizeof *s);
	s->path = xasprintf("%s/%s-%016llx.sqlite", dir, kind, h);
	s->lock_fd = -1;
	pthread_mutex_init(&s->lock, NULL);

	char	   *lock_path = xasprintf("%s.lock", s->path);
	s->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lock_path);
	if (s->lock_fd < 0)
	{
		err_set(err, "could not create the state file \"%s.lock\": %s", s->path, strerror(errno));
		err_hint(err, "Choose another directory with --state-dir.");
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0)
	{
		err_set(err, "another pgcarry %s between the same servers is running (state file \"%s\")",
				kind, s->path);
		err_hint(err, "Wait for it to finish, or stop it first.");
		goto fail;
	}
	/* Create the file 0600 before SQLite does (its journals inherit the mode). */
	int			fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		err_set(err, "could not create the state file \"%s\": %s", s->path, strerror(errno));
		err_hint(err, "Choose another directory with --state-dir.");
		goto fail;
	}
	close(fd);
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
	{
		state_sqlite_error(s, err, "open");
		goto fail;
	}
	if (sqlite3_exec(s->db, state_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
	{
		state_sqlite_error(s, err, "initialise");
		err_hint(err, "Move the file away to start afresh.");
		goto fail;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('source', ?1), ('target', ?2)",
						   -1, &st, NULL) == SQLITE_OK)
	{
		sqlite3_bind_text(st, 1, source_key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, target_key, -1, SQLITE_TRANSIENT);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return s;

fail:
	state_close(s);
	return NULL;
}

void
state_close(state *s)
{
	if (!s)
		return;
	if (s->db)
		sqlite3_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);		/* releases the flock */
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

const char *
state_path(const state *s)
{
	return s->path;
}

/* Runs one statement with text/int parameters ("t" or "i" per char of
 * types); for a query, calls row for each row.  Returns 0 or -1. */
static int
state_run(state *s, const char *sql, const char *types, const void *const *params,
		  void (*row) (sqlite3_stmt *st, void *arg), void *arg, pgc_err *err)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	int			rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
	{
		for (int i = 0; types && types[i]; i++)
		{
			if (types[i] == 't')
				sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_int64(st, i + 1, *(const int64_t *) params[i]);
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (row)
				row(st, arg);
	}
	int			ok = rc == SQLITE_DONE;
	if (!ok)
		state_sqlite_error(s, err, "update");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ok ? 0 : -1;
}

static void
state_phase_row(sqlite3_stmt *st, void *arg)
{
	*(state_phase *) arg = (state_phase) sqlite3_column_int(st, 0);
}

int
state_db_get(state *s, const char *db, state_phase *phase, pgc_err *err)
{
	*phase = STATE_NONE;
	const void *p[] = {db};
	return state_run(s, "SELECT phase FROM db WHERE name = ?1", "t", p, state_phase_row, phase, err);
}

int
state_db_set(state *s, const char *db, state_phase phase, pgc_err *err)
{
	int64_t		ph = phase;
	const void *p[] = {db, &ph};
	return state_run(s, "INSERT INTO db (name, phase, updated) VALUES (?1, ?2, datetime('now')) "
					 "ON CONFLICT (name) DO UPDATE SET phase = excluded.phase, updated = excluded.updated",
					 "ti", p, NULL, NULL, err);
}

int
state_db_forget(state *s, const char *db, pgc_err *err)
{
	const void *p[] = {db};
	if (state_run(s, "DELETE FROM unit WHERE db = ?1", "t", p, NULL, NULL, err) != 0)
		return -1;
	return state_run(s, "DELETE FROM db WHERE name = ?1", "t", p, NULL, NULL, err);
}

static void
state_unit_row(sqlite3_stmt *st, void *arg)
{
	state_unit *u = arg;
	u->done = true;
	u->hash.rows = (uint64_t) sqlite3_column_int64(st, 0);
	const unsigned char *hex = sqlite3_column_text(st, 1);
	if (rowhash_parse_hex(&u->hash, (const char *) hex) != 0)
		u->done = false;		/* unreadable: redo the unit */
	u->verified = sqlite3_column_int(st, 2) != 0;
}

int
state_unit_get(state *s, const char *db, const char *unit, state_unit *out, pgc_err *err)
{
	memset(out, 0, sizeof *out);
	const void *p[] = {db, unit};
	return state_run(s, "SELECT rows, hash, verified FROM unit WHERE db = ?1 AND unit = ?2", "tt", p,
					 state_unit_row, out, err);
}

int
state_unit_done(state *s, const char *db, const char *unit, const rowhash *hash, pgc_err *err)
{
	char		hex[ROWHASH_HEX_LEN + 1];
	rowhash_hex(hash, hex);
	int64_t		rows = (int64_t) hash->rows;
	const void *p[] = {db, unit, &rows, hex};
	return state_run(s, "INSERT INTO unit (db, unit, rows, hash, verified, updated) "
					 "VALUES (?1, ?2, ?3, ?4, 0, datetime('now')) "
					 "ON CONFLICT (db, unit) DO UPDATE SET rows = excluded.rows, hash = excluded.hash, "
					 "verified = 0, updated = excluded.updated", "ttit", p, NULL, NULL, err);
}

int
state_unit_verified(state *s, const char *db, const char *unit, bool equal, pgc_err *err)
{
	int64_t		v = equal ? 1 : 0;
	const void *p[] = {db, unit, &v};
	return state_run(s, "UPDATE unit SET verified = ?3, updated = datetime('now') "
					 "WHERE db = ?1 AND unit = ?2", "tti", p, NULL, NULL, err);
}


typedef struct state_each_arg
{
	int			(*fn) (void *arg, const char *unit, const state_unit *u);
	void	   *arg;
	bool		stop;
} state_each_arg;

static void
state_each_row(sqlite3_stmt *st, void *arg)
{
	state_each_arg *a = arg;
	if (a->stop)
		return;
	state_unit	u;
	memset(&u, 0, sizeof u);
	u.done = true;
	u.hash.rows = (uint64_t) sqlite3_column_int64(st, 1);
	if (rowhash_parse_hex(&u.hash, (const char *) sqlite3_column_text(st, 2)) != 0)
		u.done = false;
	u.verified = sqlite3_column_int(st, 3) != 0;
	if (a->fn(a->arg, (const char *) sqlite3_column_text(st, 0), &u) != 0)
		a->stop = true;
}

int
state_unit_each(state *s, const char *db,
				int (*fn) (void *arg, const char *unit, const state_unit *u), void *arg,
				pgc_err *err)
{
	state_each_arg a = {.fn = fn, .arg = arg};
	const void *p[] = {db};
	return state_run(s, "SELECT unit, rows, hash, verified FROM unit WHERE db = ?1 ORDER BY unit",
					 "t", p, state_each_row, &a, err);
}
