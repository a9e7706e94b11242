/*
 * common.c: worker sessions, retries, failures and server checks shared
 * by the data path's pipelines (see common.h).
 */
#include "core/common.h"
#include "cleanup.h"
#include "conn.h"
#include "core/objects.h"
#include "core/snapshot.h"
#include "core/stream.h"
#include "util/backoff.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char copy_server_identity_sql[] =
	"SELECT system_identifier::text || ' ' || pg_catalog.pg_postmaster_start_time()::text "
	"FROM pg_catalog.pg_control_system()";

/* ------------------------------------------------------------------------
 * Failures
 * ------------------------------------------------------------------------ */

void
copy_report_failure(verify_report *report, const char *db, const char *kind, const char *name,
					const pgc_err *err)
{
	err_report(err);
	char	   *why = err->detail ? xasprintf("%s (%s)", err->message, err->detail) : xstrdup(err->message);
	verify_report_failed(report, db, kind, name, why);
	free(why);
}

/* A pg_dump of db on one side with f's options, in the form
 * ddl_schema_only_same chooses for that side's database. */
static ddl_dump *
copy_filter_dump(const catalog_filter *f, PGconn *conn, const char *conninfo, const char *side, const char *db,
				 const char *snap, const char *tmpdir, pgc_err *err)
{
	bool		same = false;
	if (ddl_schema_only_same(conn, &same, err) != 0)
	{
		err_prefix(err, "on the %s: ", side);
		return NULL;
	}
	const char **argv = catalog_filter_dump_args(f, false, same);
	ddl_dump   *d = ddl_dump_schema(NULL, conninfo, side, db, snap, argv, tmpdir, err);
	free(argv);
	return d;
}

int
copy_filter_schema_compare(const catalog_filter *f, const char *source, const char *target, const char *db,
						   PGconn *src_conn, PGconn *tgt_conn,
						   const char *src_snap, const char *tgt_snap, ddl_dump *src_dump, bool no_owner,
						   const char *tmpdir, verify_report *report, int *nentries, int *ndiff, pgc_err *err)
{
	*ndiff = *nentries = 0;
	ddl_toc_entry *toc = NULL;
	ddl_dump   *mine = NULL,
			   *got = NULL;
	int			rc = -1;
	if (!src_dump)
		src_dump = mine = copy_filter_dump(f, src_conn, source, "source", db, src_snap, tmpdir, err);
	if (src_dump && ddl_dump_toc(NULL, src_dump, &toc, nentries, err) == 0
		&& (got = copy_filter_dump(f, tgt_conn, target, "target", db, tgt_snap, tmpdir, err))
		&& ddl_dump_toc(NULL, got, NULL, NULL, err) == 0)
	{
		*ndiff = objects_toc_compare(ddl_dump_toc_text(src_dump), ddl_dump_toc_text(got), no_owner, report, db);
		rc = 0;
	}
	free(toc);
	ddl_dump_free(got);
	ddl_dump_free(mine);
	return rc;
}

/* ------------------------------------------------------------------------
 * Worker sessions
 * ------------------------------------------------------------------------ */

static bool
copy_conn_alive(PGconn *c)
{
	return c && PQstatus(c) == CONNECTION_OK;
}

int
copy_pair_open(copy_pair *p, const void *key, const char *source, const char *target,
			   const char *dbname, const char *tgt_dbname, const char *encoding, bool tgt_read_only,
			   pgc_err *err)
{
	if (p->key != key)
	{
		copy_pair_close(p);
		p->key = key;
	}
	if (source && !copy_conn_alive(p->src))
	{
		conn_close(p->src);
		p->src = stream_conn_open(source, dbname, "source", encoding, true, err);
		if (!p->src)
			return -1;
	}
	if (target && !copy_conn_alive(p->tgt))
	{
		conn_close(p->tgt);
		p->tgt = stream_conn_open(target, tgt_dbname, "target", encoding, tgt_read_only, err);
		if (!p->tgt)
			return -1;
	}
	return 0;
}

void
copy_pair_close(copy_pair *p)
{
	conn_close(p->src);
	conn_close(p->tgt);
	p->src = p->tgt = NULL;
	p->key = NULL;
	p->src_snap = NULL;
	p->src_snap_uses = 0;
}

int
copy_pair_source_snapshot(copy_pair *p, const char *snap_id, pgc_err *err)
{
	if (p->src_snap == snap_id && p->src_snap_uses < COPY_SNAPSHOT_REUSE
		&& PQtransactionStatus(p->src) == PQTRANS_INTRANS)
	{
		p->src_snap_uses++;
		return 0;
	}
	copy_pair_source_release(p);
	if (snapshot_attach(p->src, snap_id, err) != 0)
		return -1;
	p->src_snap = snap_id;
	p->src_snap_uses = 1;
	return 0;
}

void
copy_pair_source_release(copy_pair *p)
{
	if (!p->src_snap)
		return;
	p->src_snap = NULL;
	p->src_snap_uses = 0;
	if (p->src && PQtransactionStatus(p->src) != PQTRANS_IDLE)
	{
		pgc_err		e = PGC_ERR_INIT;
		(void) snapshot_detach(p->src, &e);
		err_clear(&e);
	}
}

static void
copy_conn_recover(PGconn **c)
{
	if (!*c)
		return;
	if (!copy_conn_alive(*c))
	{
		conn_close(*c);
		*c = NULL;
		return;
	}
	if (PQtransactionStatus(*c) != PQTRANS_IDLE)
	{
		pgc_err		e = PGC_ERR_INIT;
		if (conn_exec(*c, "ROLLBACK", &e) != 0)
		{
			conn_close(*c);
			*c = NULL;
		}
		err_clear(&e);
	}
}

void
copy_pair_recover(copy_pair *p)
{
	p->src_snap = NULL;
	p->src_snap_uses = 0;
	copy_conn_recover(&p->src);
	copy_conn_recover(&p->tgt);
}

bool
copy_retry(const pgc_err *err, int attempt, const char *what)
{
	if (!err->retryable || attempt + 1 >= COPY_TASK_ATTEMPTS || cleanup_interrupted())
		return false;
	int64_t		ms = backoff_delay_ms(attempt, 500, 5000, backoff_random());
	log_warning("%s failed: %s; retrying in %lld ms (attempt %d of %d)", what, err->message,
				(long long) ms, attempt + 2, COPY_TASK_ATTEMPTS);
	backoff_sleep_ms(ms);
	return !cleanup_interrupted();
}

char *
copy_server_key(PGconn *conn)
{
	const char *host = PQhost(conn);
	const char *port = PQport(conn);
	return xasprintf("%s:%s", host && *host ? host : "localhost", port && *port ? port : "5432");
}

int
copy_same_server(PGconn *a, PGconn *b, bool *same, pgc_err *err)
{
	*same = false;
	char	   *ia = conn_query_value(a, copy_server_identity_sql, 0, NULL, err);
	if (!ia)
		return err->set ? -1 : 0;
	char	   *ib = conn_query_value(b, copy_server_identity_sql, 0, NULL, err);
	if (!ib)
	{
		free(ia);
		return err->set ? -1 : 0;
	}
	*same = strcmp(ia, ib) == 0;
	free(ia);
	free(ib);
	return 0;
}

char *
copy_maintenance_db(const char *conninfo, const char *const *avoid, int navoid)
{
	const char *ci = conninfo ? conninfo : "";
	char	   *db = NULL;
	if (strchr(ci, '=') || strncmp(ci, "postgresql://", 13) == 0 || strncmp(ci, "postgres://", 11) == 0)
	{
		PQconninfoOption *opts = PQconninfoParse(ci, NULL);
		if (opts)
			for (PQconninfoOption *o = opts; o->keyword; o++)
				if (strcmp(o->keyword, "dbname") == 0 && o->val && *o->val)
					db = xstrdup(o->val);
		PQconninfoFree(opts);
	}
	else if (*ci)
		db = xstrdup(ci);
	static const char *const fallbacks[] = {"postgres", "template1"};
	for (int f = 0; f < 3; f++)
	{
		bool		avoided = false;
		for (int i = 0; db && i < navoid; i++)
			if (strcmp(db, avoid[i]) == 0)
				avoided = true;
		if (db && !avoided)
			return db;
		free(db);
		db = f < 2 ? xstrdup(fallbacks[f]) : NULL;
	}
	return xstrdup("template1");
}
