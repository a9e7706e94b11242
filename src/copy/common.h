/*
 * common.h: what the copy and compare commands share: the pair of data
 * sessions a worker holds, retry policy, and checks on the two servers.
 */
#ifndef PGCARRY_COPY_COMMON_H
#define PGCARRY_COPY_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "util/err.h"

/* Attempts per task when a connection drops (the first included). */
#define COPY_TASK_ATTEMPTS 3

/*
 * A worker's two data sessions to one database: src on the source (read
 * only), tgt on the target.  key tells which database they belong to; asking
 * for another key closes and reopens them.
 */
typedef struct copy_pair
{
	const void *key;
	PGconn	   *src;
	PGconn	   *tgt;
} copy_pair;

/*
 * Makes p hold open sessions to dbname on both servers (reusing them when
 * key matches and both are alive), each prepared by stream_conn_open with
 * client_encoding encoding; the target ones read only when tgt_read_only.
 * Returns 0, or -1 with err set.
 */
int copy_pair_open(copy_pair *p, const void *key, const char *source, const char *target,
				   const char *dbname, const char *encoding, bool tgt_read_only, pgc_err *err);

/* Closes both sessions. */
void copy_pair_close(copy_pair *p);

/* After a failed task: rolls back whatever transaction a session is in, and
 * closes sessions that are broken (the next copy_pair_open reopens them). */
void copy_pair_recover(copy_pair *p);

/*
 * Whether a failed attempt should be tried again: the error is
 * connection-class, attempts are left, and no interrupt came.  When so, logs
 * the reason and sleeps a jittered backoff first.  attempt counts from 0.
 */
bool copy_retry(const pgc_err *err, int attempt, const char *what);

/* A password-free "host:port" for a connection, to key resume state. */
char *copy_server_key(PGconn *conn);

/*
 * Whether two connections reach the same server instance (same system
 * identifier and the same postmaster start).  Returns 0 with *same set, or
 * -1 with err set.
 */
int copy_same_server(PGconn *a, PGconn *b, bool *same, pgc_err *err);

/*
 * The database for server-level work (listing databases, CREATE and DROP
 * DATABASE) on the server conninfo: the one conninfo names, unless it names
 * none or one of the navoid databases being worked on; then "postgres",
 * or "template1" when "postgres" is one of them.
 * Owned by the caller.
 */
char *copy_maintenance_db(const char *conninfo, const char *const *avoid, int navoid);

#endif
