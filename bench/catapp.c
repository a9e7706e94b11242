/*
 * catapp.c: a small simulated application for the cat lovers club, used by
 * the expand/contract demo, acceptance test and benchmark.
 *
 * Several client threads, each with its own connection, run short
 * transactions against the club's database as either application version:
 *
 *   --mode old   reads and writes cat_lovers.cat_name / cat_color
 *   --mode new   reads and writes the cats table (any number of cats per
 *                member); never touches the old columns
 *
 * Every statement is timed; a failed statement rolls its transaction back
 * and is counted as an error.  So that a test can prove afterwards that no
 * cat was lost or duplicated, each write also records, in the same
 * transaction, what the application believes: catapp_expect holds each
 * member's (first) cat, catapp_extra the further cats the new version
 * added.  Both tables are created by the caller (see scripts/demo-expand.sh).
 *
 * Runs until --seconds pass or SIGTERM/SIGINT arrives, then prints one
 * report line on stdout:
 *   catapp mode=old threads=4 transactions=N statements=N errors=N p50_ms=X p99_ms=X max_ms=X
 *
 * Build: cc -O2 -pthread -I$(pg_config --includedir) -o catapp bench/catapp.c -lpq
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t catapp_stop = 0;

typedef struct catapp_thread
{
	pthread_t	tid;
	int			no;
	const char *conninfo;
	int			new_mode;
	long long	max_id;
	double		interval_s;		/* between transactions; 0 = as fast as possible */
	uint64_t	rng;
	/* results */
	double	   *lat;			/* statement latencies, ms */
	size_t		nlat, caplat;
	long long	txns, errors;
	char		first_error[512];
	long long	seq;
} catapp_thread;

static double
catapp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static uint64_t
catapp_rand(catapp_thread *t)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

static void
catapp_sample(catapp_thread *t, double ms)
{
	if (t->nlat == t->caplat)
	{
		t->caplat = t->caplat ? t->caplat * 2 : 4096;
		t->lat = realloc(t->lat, t->caplat * sizeof(double));
		if (!t->lat)
			abort();
	}
	t->lat[t->nlat++] = ms;
}

/* Runs one statement, timed; returns the result or NULL on failure. */
static PGresult *
catapp_exec(catapp_thread *t, PGconn *c, const char *sql, int n, const char *const *params)
{
	double t0 = catapp_now();
	PGresult *r = n ? PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
	catapp_sample(t, (catapp_now() - t0) * 1000.0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		if (!t->first_error[0])
			snprintf(t->first_error, sizeof t->first_error, "%s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int
catapp_run(catapp_thread *t, PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = catapp_exec(t, c, sql, n, params);
	PQclear(r);
	return r ? 0 : -1;
}

static const char *const catapp_colors[] = {"black", "white", "ginger", "grey", "tabby", "calico"};

static int
catapp_old_txn(catapp_thread *t, PGconn *c, const char *id, const char *name, const char *color)
{
	unsigned op = (unsigned) (catapp_rand(t) % 100);
	PGresult *r = NULL;
	if (op < 45)
	{
		const char *p[1] = {id};
		return catapp_run(t, c, "SELECT name, cat_name, cat_color FROM cat_lovers WHERE id = $1::bigint", 1, p);
	}
	if (catapp_run(t, c, "BEGIN", 0, NULL) != 0)
		return -1;
	if (op < 70)
	{
		const char *p[3] = {id, color, name};
		r = catapp_exec(t, c, "UPDATE cat_lovers SET cat_name = coalesce(cat_name, $3), cat_color = $2 "
						"WHERE id = $1::bigint RETURNING id::text, cat_name, cat_color", 3, p);
	}
	else if (op < 85)
	{
		char mname[64];
		snprintf(mname, sizeof mname, "member-%d-%lld", t->no, t->seq);
		int cat = catapp_rand(t) % 10 < 7;
		const char *p[3] = {mname, cat ? name : NULL, cat ? color : NULL};
		r = catapp_exec(t, c, "INSERT INTO cat_lovers (name, email, cat_name, cat_color) "
						"VALUES ($1, $1 || '@example.org', $2, $3) RETURNING id::text, cat_name, cat_color", 3, p);
	}
	else if (op < 95)
	{
		const char *p[1] = {id};
		r = catapp_exec(t, c, "UPDATE cat_lovers SET cat_name = NULL, cat_color = NULL "
						"WHERE id = $1::bigint RETURNING id::text, cat_name, cat_color", 1, p);
	}
	else
	{
		const char *p[1] = {id};
		r = catapp_exec(t, c, "DELETE FROM cat_lovers WHERE id = $1::bigint RETURNING id::text", 1, p);
		if (r && PQntuples(r) == 1 &&
			catapp_run(t, c, "DELETE FROM catapp_expect WHERE member_id = $1::bigint", 1, p) != 0)
			goto fail;
		PQclear(r);
		return catapp_run(t, c, "COMMIT", 0, NULL);
	}
	if (!r)
		goto fail;
	if (PQntuples(r) == 1)
	{
		const char *p[3] = {PQgetvalue(r, 0, 0), PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1),
			PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2)};
		if (catapp_run(t, c, "INSERT INTO catapp_expect (member_id, cat_name, cat_color) VALUES ($1::bigint, $2, $3) "
					   "ON CONFLICT (member_id) DO UPDATE SET cat_name = $2, cat_color = $3", 3, p) != 0)
			goto fail;
	}
	PQclear(r);
	return catapp_run(t, c, "COMMIT", 0, NULL);
fail:
	PQclear(r);
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

static int
catapp_new_txn(catapp_thread *t, PGconn *c, const char *id, const char *name, const char *color)
{
	unsigned op = (unsigned) (catapp_rand(t) % 100);
	PGresult *r = NULL;
	if (op < 45)
	{
		const char *p[1] = {id};
		return catapp_run(t, c, "SELECT m.name, c.name, c.color FROM cat_lovers m "
						  "LEFT JOIN cats c ON c.cat_lover_id = m.id WHERE m.id = $1::bigint", 1, p);
	}
	if (catapp_run(t, c, "BEGIN", 0, NULL) != 0)
		return -1;
	if (op < 60)
	{
		/* a new member with a cat */
		char mname[64];
		snprintf(mname, sizeof mname, "member-n%d-%lld", t->no, t->seq);
		const char *p[1] = {mname};
		r = catapp_exec(t, c, "INSERT INTO cat_lovers (name, email) VALUES ($1, $1 || '@example.org') "
						"RETURNING id::text", 1, p);
		if (!r)
			goto fail;
		char mid[32];
		snprintf(mid, sizeof mid, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		const char *q[3] = {name, color, mid};
		if (catapp_run(t, c, "INSERT INTO cats (name, color, cat_lover_id) VALUES ($1, $2, $3::bigint)", 3, q) != 0 ||
			catapp_run(t, c, "INSERT INTO catapp_expect (member_id, cat_name, cat_color) VALUES ($3::bigint, $1, $2)",
					   3, q) != 0)
			return catapp_run(t, c, "ROLLBACK", 0, NULL), -1;
		return catapp_run(t, c, "COMMIT", 0, NULL);
	}
	/* the member first: every writer of a member's cats locks the member */
	const char *p[1] = {id};
	r = catapp_exec(t, c, "SELECT id FROM cat_lovers WHERE id = $1::bigint FOR NO KEY UPDATE", 1, p);
	if (!r)
		goto fail;
	int exists = PQntuples(r) == 1;
	PQclear(r);
	r = NULL;
	if (!exists)
		return catapp_run(t, c, "COMMIT", 0, NULL);
	if (op < 80)
	{
		/* a member's first cat changes colour */
		const char *q[2] = {id, color};
		r = catapp_exec(t, c, "UPDATE cats SET color = $2 WHERE id = (SELECT min(id) FROM cats "
						"WHERE cat_lover_id = $1::bigint) RETURNING name", 2, q);
		if (!r)
			goto fail;
		if (PQntuples(r) == 1 &&
			catapp_run(t, c, "UPDATE catapp_expect SET cat_color = $2 WHERE member_id = $1::bigint", 2, q) != 0)
			goto fail;
	}
	else if (op < 95)
	{
		/* one more cat */
		char cname[64];
		snprintf(cname, sizeof cname, "%s-%d-%lld", name, t->no, t->seq);
		const char *q[3] = {id, cname, color};
		r = catapp_exec(t, c, "SELECT NOT EXISTS (SELECT 1 FROM cats WHERE cat_lover_id = $1::bigint)", 1, q);
		if (!r)
			goto fail;
		int first = PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
		r = catapp_exec(t, c, "INSERT INTO cats (name, color, cat_lover_id) VALUES ($2, $3, $1::bigint) "
						"RETURNING id::text", 3, q);
		if (!r)
			goto fail;
		const char *sql = first
			? "INSERT INTO catapp_expect (member_id, cat_name, cat_color) VALUES ($1::bigint, $2, $3) "
			  "ON CONFLICT (member_id) DO UPDATE SET cat_name = $2, cat_color = $3"
			: "INSERT INTO catapp_extra (cat_id, member_id, name, color) VALUES ($4::bigint, $1::bigint, $2, $3)";
		const char *q4[4] = {id, cname, color, PQgetvalue(r, 0, 0)};
		if (catapp_run(t, c, sql, first ? 3 : 4, q4) != 0)
			goto fail;
	}
	else
	{
		/* a cat that is not the member's first leaves */
		r = catapp_exec(t, c, "DELETE FROM catapp_extra WHERE cat_id = (SELECT min(cat_id) FROM catapp_extra "
						"WHERE member_id = $1::bigint) RETURNING cat_id::text", 1, p);
		if (!r)
			goto fail;
		if (PQntuples(r) == 1)
		{
			const char *q[1] = {PQgetvalue(r, 0, 0)};
			if (catapp_run(t, c, "DELETE FROM cats WHERE id = $1::bigint", 1, q) != 0)
				goto fail;
		}
	}
	PQclear(r);
	return catapp_run(t, c, "COMMIT", 0, NULL);
fail:
	PQclear(r);
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

static void *
catapp_main(void *arg)
{
	catapp_thread *t = arg;
	PGconn *c = PQconnectdb(t->conninfo);
	if (PQstatus(c) != CONNECTION_OK)
	{
		snprintf(t->first_error, sizeof t->first_error, "connect: %s", PQerrorMessage(c));
		t->errors++;
		PQfinish(c);
		return NULL;
	}
	PQclear(PQexec(c, "SET application_name = 'catapp'"));
	double next = catapp_now();
	while (!catapp_stop)
	{
		char id[32];
		snprintf(id, sizeof id, "%lld", 1 + (long long) (catapp_rand(t) % (uint64_t) t->max_id));
		char name[32];
		snprintf(name, sizeof name, "cat%llu", (unsigned long long) (catapp_rand(t) % 100000));
		const char *color = catapp_colors[catapp_rand(t) % 6];
		t->seq++;
		int rc = t->new_mode ? catapp_new_txn(t, c, id, name, color) : catapp_old_txn(t, c, id, name, color);
		t->txns++;
		if (rc != 0)
			t->errors++;
		if (PQstatus(c) != CONNECTION_OK)
			break;
		if (t->interval_s > 0)
		{
			next += t->interval_s;
			double wait = next - catapp_now();
			if (wait > 0)
			{
				struct timespec ts = {(time_t) wait, (long) ((wait - (double) (time_t) wait) * 1e9)};
				nanosleep(&ts, NULL);
			}
			else
				next = catapp_now();
		}
	}
	PQfinish(c);
	return NULL;
}

static void
catapp_on_signal(int sig)
{
	(void) sig;
	catapp_stop = 1;
}

static int
catapp_cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static void
catapp_usage(void)
{
	fprintf(stderr, "usage: catapp --db CONNINFO --mode old|new [--threads N] [--seconds S] [--rate TX_PER_S]\n");
}

int
main(int argc, char **argv)
{
	const char *conninfo = NULL, *mode = NULL;
	int threads = 4;
	double seconds = 0, rate = 0;
	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
		{
			catapp_usage();
			return 2;
		}
		if (strcmp(a, "--db") == 0)
			conninfo = v;
		else if (strcmp(a, "--mode") == 0)
			mode = v;
		else if (strcmp(a, "--threads") == 0)
			threads = atoi(v);
		else if (strcmp(a, "--seconds") == 0)
			seconds = atof(v);
		else if (strcmp(a, "--rate") == 0)
			rate = atof(v);
		else
		{
			catapp_usage();
			return 2;
		}
		i++;
	}
	if (!conninfo || !mode || (strcmp(mode, "old") != 0 && strcmp(mode, "new") != 0) || threads < 1)
	{
		catapp_usage();
		return 2;
	}
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
	{
		fprintf(stderr, "catapp: could not connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	PGresult *r = PQexec(c, "SELECT coalesce(max(id), 1) FROM cat_lovers");
	long long max_id = PQresultStatus(r) == PGRES_TUPLES_OK ? atoll(PQgetvalue(r, 0, 0)) : 1;
	PQclear(r);
	PQfinish(c);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = catapp_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	catapp_thread *ts = calloc((size_t) threads, sizeof *ts);
	for (int i = 0; i < threads; i++)
	{
		ts[i].no = i;
		ts[i].conninfo = conninfo;
		ts[i].new_mode = strcmp(mode, "new") == 0;
		ts[i].max_id = max_id;
		ts[i].interval_s = rate > 0 ? (double) threads / rate : 0;
		ts[i].rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t) getpid() << 16) ^ (uint64_t) (i + 1) * 0x2545F4914F6CDD1Dull;
		pthread_create(&ts[i].tid, NULL, catapp_main, &ts[i]);
	}
	double t0 = catapp_now();
	while (!catapp_stop && (seconds <= 0 || catapp_now() - t0 < seconds))
		usleep(50000);
	catapp_stop = 1;
	size_t n = 0;
	long long txns = 0, errors = 0;
	for (int i = 0; i < threads; i++)
	{
		pthread_join(ts[i].tid, NULL);
		n += ts[i].nlat;
		txns += ts[i].txns;
		errors += ts[i].errors;
		if (ts[i].first_error[0])
			fprintf(stderr, "catapp: thread %d: first error: %s", i, ts[i].first_error);
	}
	double *all = malloc((n ? n : 1) * sizeof(double));
	size_t k = 0;
	for (int i = 0; i < threads; i++)
	{
		memcpy(all + k, ts[i].lat, ts[i].nlat * sizeof(double));
		k += ts[i].nlat;
		free(ts[i].lat);
	}
	qsort(all, n, sizeof(double), catapp_cmp);
	double p50 = n ? all[n / 2] : 0, p99 = n ? all[(size_t) ((double) (n - 1) * 0.99)] : 0,
		max = n ? all[n - 1] : 0;
	printf("catapp mode=%s threads=%d seconds=%.1f transactions=%lld statements=%zu errors=%lld "
		   "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", mode, threads, catapp_now() - t0, txns, n, errors,
		   p50, p99, max);
	fflush(stdout);
	free(all);
	free(ts);
	return errors ? 1 : 0;
}
