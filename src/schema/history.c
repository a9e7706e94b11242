/*
 * history.c: applied-migration history and drift detection (see
 * history.h).
 */
#include "schema/history.h"

#include "conn.h"
#include "schema/lockexec.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char history_exists_sql[] =
	"SELECT to_regclass('" HISTORY_SCHEMA ".migrations') IS NOT NULL "
	"   AND to_regclass('" HISTORY_SCHEMA ".steps') IS NOT NULL";

static const char history_ddl[] =
	"SET LOCAL client_min_messages = warning;\n"
	"CREATE SCHEMA IF NOT EXISTS " HISTORY_SCHEMA ";\n"
	"CREATE TABLE IF NOT EXISTS " HISTORY_SCHEMA ".migrations (\n"
	"    version     text PRIMARY KEY,\n"
	"    name        text NOT NULL,\n"
	"    checksum    text NOT NULL,\n"
	"    chain       text NOT NULL,\n"
	"    applied_at  timestamptz NOT NULL DEFAULT now(),\n"
	"    applied_by  text NOT NULL DEFAULT current_user,\n"
	"    duration_ms bigint NOT NULL,\n"
	"    seq         bigint NOT NULL UNIQUE\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS " HISTORY_SCHEMA ".steps (\n"
	"    version     text NOT NULL,\n"
	"    direction   text NOT NULL CHECK (direction IN ('up', 'down')),\n"
	"    step        integer NOT NULL,\n"
	"    checksum    text NOT NULL,\n"
	"    done_at     timestamptz NOT NULL DEFAULT now(),\n"
	"    PRIMARY KEY (version, direction, step)\n"
	");\n"
	"COMMENT ON SCHEMA " HISTORY_SCHEMA " IS 'pgcarry schema: applied migrations; do not edit by hand'";

static const char history_rows_sql[] =
	"SELECT version, name, checksum, chain, "
	"       to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	"       applied_by, duration_ms, seq "
	"FROM " HISTORY_SCHEMA ".migrations ORDER BY seq";

static const char history_steps_sql[] =
	"SELECT version, direction, count(*) FROM " HISTORY_SCHEMA ".steps "
	"GROUP BY version, direction ORDER BY version LIMIT 1";

int
history_ensure(PGconn *conn, pgc_err *err)
{
	/* Existing tables are used as they are: a role that may write them but
	 * not create schemas can run migrations. */
	char *ex = conn_query_value(conn, history_exists_sql, 0, NULL, err);
	if (!ex && err->set)
		return -1;
	bool exists = ex && ex[0] == 't';
	free(ex);
	if (exists)
		return 0;
	lockexec_opts o;
	lockexec_defaults(&o);
	if (lockexec_run(conn, history_ddl, &o, err) != 0)
	{
		err_prefix(err, "could not create pgcarry's history tables in schema " HISTORY_SCHEMA ": ");
		if (!err->hint)
			err_hint(err, "The role needs the CREATE privilege on the database.");
		return -1;
	}
	return 0;
}

int
history_load(PGconn *conn, history *h, pgc_err *err)
{
	memset(h, 0, sizeof *h);
	char *ex = conn_query_value(conn, history_exists_sql, 0, NULL, err);
	if (!ex)
		return err->set ? -1 : 0;
	h->exists = ex[0] == 't';
	free(ex);
	if (!h->exists)
		return 0;
	PGresult *r = conn_query(conn, history_rows_sql, 0, NULL, err);
	if (!r)
		return -1;
	h->n = (size_t) PQntuples(r);
	h->rows = xcalloc(h->n ? h->n : 1, sizeof *h->rows);
	for (size_t i = 0; i < h->n; i++)
	{
		history_row *row = &h->rows[i];
		row->version = xstrdup(PQgetvalue(r, (int) i, 0));
		row->name = xstrdup(PQgetvalue(r, (int) i, 1));
		row->checksum = xstrdup(PQgetvalue(r, (int) i, 2));
		row->chain = xstrdup(PQgetvalue(r, (int) i, 3));
		row->applied_at = xstrdup(PQgetvalue(r, (int) i, 4));
		row->applied_by = xstrdup(PQgetvalue(r, (int) i, 5));
		row->duration_ms = atoll(PQgetvalue(r, (int) i, 6));
		row->seq = atoll(PQgetvalue(r, (int) i, 7));
	}
	PQclear(r);
	r = conn_query(conn, history_steps_sql, 0, NULL, err);
	if (!r)
	{
		history_free(h);
		return -1;
	}
	if (PQntuples(r) > 0)
	{
		h->step_version = xstrdup(PQgetvalue(r, 0, 0));
		h->step_direction = xstrdup(PQgetvalue(r, 0, 1));
		h->steps_done = atoi(PQgetvalue(r, 0, 2));
	}
	PQclear(r);
	return 0;
}

void
history_free(history *h)
{
	for (size_t i = 0; i < h->n; i++)
	{
		history_row *row = &h->rows[i];
		free(row->version);
		free(row->name);
		free(row->checksum);
		free(row->chain);
		free(row->applied_at);
		free(row->applied_by);
	}
	free(h->rows);
	free(h->step_version);
	free(h->step_direction);
	memset(h, 0, sizeof *h);
}

char *
history_chain_next(const char *prev, const char *version, const char *checksum)
{
	char *in = xasprintf("%s%s%s", prev, version, checksum);
	char *out = migfile_sha256_hex(in, strlen(in));
	free(in);
	return out;
}

const char *
history_last_chain(const history *h)
{
	return h->n > 0 ? h->rows[h->n - 1].chain : "";
}

const history_row *
history_find(const history *h, const char *version)
{
	for (size_t i = 0; i < h->n; i++)
		if (migfile_compare_versions(h->rows[i].version, version) == 0)
			return &h->rows[i];
	return NULL;
}

bool
history_is_applied(const history *h, const migfile *f)
{
	return history_find(h, f->version) != NULL;
}

const char *
history_drift_name(history_drift_kind k)
{
	switch (k)
	{
		case HISTORY_DRIFT_EDITED:
			return "edited";
		case HISTORY_DRIFT_RENAMED:
			return "renamed";
		case HISTORY_DRIFT_REMOVED:
			return "removed";
		case HISTORY_DRIFT_REORDERED:
			return "reordered";
		case HISTORY_DRIFT_OUT_OF_ORDER:
			return "out-of-order";
		case HISTORY_DRIFT_CHAIN:
			return "history-changed";
	}
	return "unknown";
}

static void history_add(history_drift_list *l, history_drift_kind k, const char *version, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
history_add(history_drift_list *l, history_drift_kind k, const char *version, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
	l->items[l->n++] = (history_drift) {.kind = k, .version = xstrdup(version), .message = m};
}

void
history_check(const history *h, const migfile_set *files, history_drift_list *out)
{
	out->items = NULL;
	out->n = 0;
	const char *prev = "";
	char *chain = NULL;
	for (size_t i = 0; i < h->n; i++)
	{
		const history_row *row = &h->rows[i];
		char *next = history_chain_next(prev, row->version, row->checksum);
		if (strcmp(next, row->chain) != 0)
			history_add(out, HISTORY_DRIFT_CHAIN, row->version,
						"the history row of %s_%s was changed or a row before it was removed: its hash "
						"chain does not match", row->version, row->name);
		free(chain);
		chain = next;
		prev = row->chain;		/* continue from what is recorded: one report per break */

		const migfile *f = migfile_find(files, row->version);
		const history_row *elsewhere = NULL;
		if (!f || strcmp(f->checksum, row->checksum) != 0)
		{
			/* Is this content (or the file's) applied under another version? */
			for (size_t k = 0; k < files->n && !elsewhere; k++)
				if (strcmp(files->items[k].checksum, row->checksum) == 0
					&& migfile_compare_versions(files->items[k].version, row->version) != 0)
				{
					history_add(out, HISTORY_DRIFT_REORDERED, row->version,
								"%s_%s, applied as version %s, is now %s: applied migrations were "
								"renumbered", row->version, row->name, row->version, files->items[k].file);
					elsewhere = row;
				}
			if (elsewhere)
				continue;
		}
		if (!f)
		{
			history_add(out, HISTORY_DRIFT_REMOVED, row->version,
						"%s_%s.sql was applied on %s but is missing from the directory",
						row->version, row->name, row->applied_at);
			continue;
		}
		if (strcmp(f->checksum, row->checksum) != 0)
			history_add(out, HISTORY_DRIFT_EDITED, row->version,
						"%s was edited after it was applied on %s (checksum %.12s, applied %.12s)",
						f->file, row->applied_at, f->checksum, row->checksum);
		else if (strcmp(f->name, row->name) != 0)
			history_add(out, HISTORY_DRIFT_RENAMED, row->version,
						"%s was applied under the name %s_%s.sql", f->file, row->version, row->name);
	}
	free(chain);
	if (h->n > 0)
	{
		const history_row *last = NULL;
		for (size_t i = 0; i < h->n; i++)
			if (!last || migfile_compare_versions(h->rows[i].version, last->version) > 0)
				last = &h->rows[i];
		for (size_t k = 0; k < files->n; k++)
		{
			const migfile *f = &files->items[k];
			if (history_is_applied(h, f) || migfile_compare_versions(f->version, last->version) > 0)
				continue;
			bool is_moved = false;
			for (size_t i = 0; i < h->n; i++)
				if (strcmp(h->rows[i].checksum, f->checksum) == 0)
					is_moved = true;
			if (is_moved)
				continue;		/* already reported as reordered */
			history_add(out, HISTORY_DRIFT_OUT_OF_ORDER, f->version,
						"%s is not applied but sorts before %s_%s, the last applied migration",
						f->file, last->version, last->name);
		}
	}
}

void
history_drift_free(history_drift_list *l)
{
	for (size_t i = 0; i < l->n; i++)
	{
		free(l->items[i].version);
		free(l->items[i].message);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}
