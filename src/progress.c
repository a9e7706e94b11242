/*
 * progress.c: live progress display, log lines or JSON lines (see
 * progress.h).
 */
#include "progress.h"
#include "util/log.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How often the display is redrawn, and how often log/JSON lines go out. */
#define PROGRESS_TTY_MS 500
#define PROGRESS_LOG_MS 10000

typedef struct progress_db
{
	char	   *name;
	_Atomic int64_t bytes;
	_Atomic int64_t rows;
	_Atomic int64_t est_done;
	_Atomic int64_t est_total;
	atomic_int	units_done;
	atomic_int	units_total;
	_Atomic(const char *) phase;
} progress_db;

struct progress
{
	progress_mode mode;
	char	   *verb;
	int			ndb;
	progress_db *db;
	struct timespec started;

	pthread_t	thread;
	bool		running;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool		stop;
	int			lines_drawn;	/* tty: lines to move up before redrawing */
	pthread_mutex_t draw_lock;	/* tty: one drawing or log line at a time */
	int			interval_ms;
	int64_t		log_interval_ms;
};

int
progress_parse_mode(const char *s, progress_mode *out)
{
	static const char *const names[] = {"auto", "tty", "log", "json", "none", NULL};
	for (int i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
		{
			*out = (progress_mode) i;
			return 0;
		}
	return -1;
}

progress *
progress_create(progress_mode mode, const char *verb, int ndb)
{
	progress   *p = xcalloc(1, sizeof *p);
	if (mode == PROGRESS_AUTO)
		mode = isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_LOG;
	p->mode = mode;
	p->verb = xstrdup(verb);
	p->ndb = ndb > 0 ? ndb : 0;
	p->db = xcalloc((size_t) p->ndb + 1, sizeof *p->db);
	for (int i = 0; i < p->ndb; i++)
		atomic_store(&p->db[i].phase, "waiting");
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->draw_lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	const char *iv = getenv("PGCARRY_PROGRESS_INTERVAL_MS");
	p->log_interval_ms = iv && atoi(iv) > 0 ? atoi(iv) : PROGRESS_LOG_MS;
	p->interval_ms = p->mode == PROGRESS_TTY ? PROGRESS_TTY_MS : (int) p->log_interval_ms;
	return p;
}

void
progress_db_name(progress *p, int db, const char *name)
{
	if (db < 0 || db >= p->ndb)
		return;
	free(p->db[db].name);
	p->db[db].name = xstrdup(name);
}

void
progress_add_total(progress *p, int db, int units, int64_t est_bytes)
{
	if (db < 0 || db >= p->ndb)
		return;
	atomic_fetch_add(&p->db[db].units_total, units);
	atomic_fetch_add(&p->db[db].est_total, est_bytes);
}

void
progress_phase(progress *p, int db, const char *phase)
{
	if (db < 0 || db >= p->ndb)
		return;
	atomic_store(&p->db[db].phase, phase);
}

void
progress_add(progress *p, int db, int64_t bytes, int64_t rows)
{
	if (db < 0 || db >= p->ndb)
		return;
	atomic_fetch_add_explicit(&p->db[db].bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->db[db].rows, rows, memory_order_relaxed);
}

void
progress_unit_done(progress *p, int db, int64_t est_bytes)
{
	if (db < 0 || db >= p->ndb)
		return;
	atomic_fetch_add(&p->db[db].units_done, 1);
	atomic_fetch_add(&p->db[db].est_done, est_bytes);
}

void
progress_credit(progress *p, int db, int64_t est_bytes)
{
	if (db < 0 || db >= p->ndb)
		return;
	atomic_fetch_add(&p->db[db].est_done, est_bytes);
}

/* ------------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------------ */

static double
progress_elapsed(const progress *p)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double) (now.tv_sec - p->started.tv_sec) + (double) (now.tv_nsec - p->started.tv_nsec) / 1e9;
}

static void
progress_bytes(char *out, size_t n, double b)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	int			u = 0;
	while (b >= 1024 && u < 4)
	{
		b /= 1024;
		u++;
	}
	snprintf(out, n, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
}

static void
progress_duration(char *out, size_t n, double s)
{
	if (s < 0)
		snprintf(out, n, "?");
	else if (s < 60)
		snprintf(out, n, "%.0fs", s);
	else if (s < 3600)
		snprintf(out, n, "%dm%02ds", (int) s / 60, (int) s % 60);
	else
		snprintf(out, n, "%dh%02dm", (int) s / 3600, ((int) s % 3600) / 60);
}

typedef struct progress_snap
{
	int64_t		bytes, rows, est_done, est_total;
	int			units_done, units_total;
	const char *phase;
} progress_snap;

static void
progress_read(progress_db *d, progress_snap *s)
{
	s->bytes = atomic_load(&d->bytes);
	s->rows = atomic_load(&d->rows);
	s->est_done = atomic_load(&d->est_done);
	s->est_total = atomic_load(&d->est_total);
	s->units_done = atomic_load(&d->units_done);
	s->units_total = atomic_load(&d->units_total);
	s->phase = atomic_load(&d->phase);
}

/* Seconds left from the share of the estimate done so far; -1 unknown. */
static double
progress_eta(const progress_snap *s, double elapsed)
{
	if (s->est_total <= 0 || s->est_done <= 0 || elapsed < 1)
		return -1;
	int64_t		left = s->est_total - s->est_done;
	if (left <= 0)
		return 0;
	return elapsed * (double) left / (double) s->est_done;
}

/* One human line for a snapshot. */
static void
progress_line(buf_t *b, const char *label, const progress_snap *s, double elapsed, bool with_eta)
{
	char		by[32], rate[32], eta[32];
	progress_bytes(by, sizeof by, (double) s->bytes);
	progress_bytes(rate, sizeof rate, elapsed > 0 ? (double) s->bytes / elapsed : 0);
	buf_printf(b, "%-20.20s %-10.10s %10s %12lld rows  %d/%d tables  %s/s", label,
			   s->phase ? s->phase : "", by, (long long) s->rows, s->units_done, s->units_total, rate);
	if (with_eta)
	{
		double		e = progress_eta(s, elapsed);
		progress_duration(eta, sizeof eta, e);
		buf_printf(b, "  ETA %s", e < 0 ? "?" : eta);
	}
}

static void
progress_total(const progress *p, progress_snap *t)
{
	memset(t, 0, sizeof *t);
	int			done = 0;
	for (int i = 0; i < p->ndb; i++)
	{
		progress_snap s;
		progress_read(&p->db[i], &s);
		t->bytes += s.bytes;
		t->rows += s.rows;
		t->est_done += s.est_done;
		t->est_total += s.est_total;
		t->units_done += s.units_done;
		t->units_total += s.units_total;
		if (s.phase && (strcmp(s.phase, "done") == 0 || strcmp(s.phase, "failed") == 0))
			done++;
	}
	t->phase = done == p->ndb ? "done" : "running";
}

static void
progress_draw_tty(progress *p, bool final)
{
	buf_t		b = {0};
	double		el = progress_elapsed(p);
	/* Move up over the previous drawing and clear it. */
	if (p->lines_drawn > 0)
		buf_printf(&b, "\r\033[%dA", p->lines_drawn);
	int			lines = 0;
	for (int i = 0; i < p->ndb; i++)
	{
		progress_snap s;
		progress_read(&p->db[i], &s);
		buf_puts(&b, "\r\033[2K");
		progress_line(&b, p->db[i].name ? p->db[i].name : "?", &s, el, !final);
		buf_putc(&b, '\n');
		lines++;
	}
	progress_snap t;
	progress_total(p, &t);
	char		dur[32];
	progress_duration(dur, sizeof dur, el);
	buf_puts(&b, "\r\033[2K");
	progress_line(&b, "all databases", &t, el, !final);
	buf_printf(&b, "  %s\n", dur);
	lines++;
	p->lines_drawn = final ? 0 : lines;
	log_write_stderr(b.data, b.len);
	buf_free(&b);
}

static void
progress_draw_log(progress *p, bool final)
{
	buf_t		b = {0};
	double		el = progress_elapsed(p);
	progress_snap t;
	progress_total(p, &t);
	char		by[32], rate[32], eta[32], dur[32];
	progress_bytes(by, sizeof by, (double) t.bytes);
	progress_bytes(rate, sizeof rate, el > 0 ? (double) t.bytes / el : 0);
	progress_duration(dur, sizeof dur, el);
	double		e = progress_eta(&t, el);
	progress_duration(eta, sizeof eta, e);
	buf_printf(&b, "pgcarry: %s %s: %s, %lld rows, %d/%d tables, %s/s, %s elapsed",
			   p->verb, final ? "finished" : "progress", by, (long long) t.rows, t.units_done,
			   t.units_total, rate, dur);
	if (!final)
		buf_printf(&b, ", ETA %s", e < 0 ? "?" : eta);
	buf_putc(&b, '\n');
	log_write_stderr(b.data, b.len);
	buf_free(&b);
}

static json_t *
progress_json_snap(const progress_snap *s, double el)
{
	json_t	   *o = json_object();
	json_object_set_new(o, "phase", json_string(s->phase ? s->phase : ""));
	json_object_set_new(o, "bytes", json_integer(s->bytes));
	json_object_set_new(o, "rows", json_integer(s->rows));
	json_object_set_new(o, "tables_done", json_integer(s->units_done));
	json_object_set_new(o, "tables_total", json_integer(s->units_total));
	json_object_set_new(o, "estimated_bytes", json_integer(s->est_total));
	json_object_set_new(o, "bytes_per_second", json_integer(el > 0 ? (json_int_t) ((double) s->bytes / el) : 0));
	double		e = progress_eta(s, el);
	json_object_set_new(o, "eta_seconds", e < 0 ? json_null() : json_integer((json_int_t) e));
	return o;
}

static void
progress_draw_json(progress *p, bool final)
{
	double		el = progress_elapsed(p);
	json_t	   *o = json_object();
	json_object_set_new(o, "progress", json_string(p->verb));
	json_object_set_new(o, "final", json_boolean(final));
	json_object_set_new(o, "elapsed_seconds", json_real((double) ((int64_t) (el * 1000)) / 1000.0));
	json_t	   *dbs = json_array();
	for (int i = 0; i < p->ndb; i++)
	{
		progress_snap s;
		progress_read(&p->db[i], &s);
		json_t	   *d = progress_json_snap(&s, el);
		json_object_set_new(d, "database", json_string(p->db[i].name ? p->db[i].name : ""));
		json_array_append_new(dbs, d);
	}
	json_object_set_new(o, "databases", dbs);
	progress_snap t;
	progress_total(p, &t);
	json_object_set_new(o, "total", progress_json_snap(&t, el));
	char	   *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s)
	{
		buf_t		b = {0};
		buf_puts(&b, s);
		buf_putc(&b, '\n');
		log_write_stderr(b.data, b.len);
		buf_free(&b);
		free(s);
	}
}

/*
 * The log writer while a live display runs (see log_set_writer): erases the
 * display, writes the log line where the display was, and redraws the
 * display below it, so neither overwrites the other.
 */
static void
progress_log_writer(const char *data, size_t len, void *arg)
{
	progress   *p = arg;
	pthread_mutex_lock(&p->draw_lock);
	if (p->lines_drawn > 0)
	{
		char		up[32];
		int			n = snprintf(up, sizeof up, "\r\033[%dA\033[J", p->lines_drawn);
		log_write_stderr(up, (size_t) n);
		p->lines_drawn = 0;
	}
	log_write_stderr(data, len);
	progress_draw_tty(p, false);
	pthread_mutex_unlock(&p->draw_lock);
}

static void
progress_draw(progress *p, bool final)
{
	switch (p->mode)
	{
		case PROGRESS_TTY:
			pthread_mutex_lock(&p->draw_lock);
			progress_draw_tty(p, final);
			pthread_mutex_unlock(&p->draw_lock);
			break;
		case PROGRESS_LOG:
			progress_draw_log(p, final);
			break;
		case PROGRESS_JSON:
			progress_draw_json(p, final);
			break;
		default:
			break;
	}
}

static void *
progress_thread(void *arg)
{
	progress   *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop)
	{
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		int64_t		ns = until.tv_nsec + (int64_t) p->interval_ms * 1000000;
		until.tv_sec += ns / 1000000000;
		until.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&p->wake, &p->lock, &until);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		progress_draw(p, false);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void
progress_start(progress *p)
{
	if (p->mode == PROGRESS_NONE || p->running)
		return;
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	if (pthread_create(&p->thread, NULL, progress_thread, p) == 0)
	{
		p->running = true;
		if (p->mode == PROGRESS_TTY)
			log_set_writer(progress_log_writer, p);
	}
}

void
progress_stop(progress *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->running = false;
	if (p->mode == PROGRESS_TTY)
		log_set_writer(NULL, NULL);
	progress_draw(p, true);
}

void
progress_free(progress *p)
{
	if (!p)
		return;
	progress_stop(p);
	for (int i = 0; i < p->ndb; i++)
		free(p->db[i].name);
	free(p->db);
	free(p->verb);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->draw_lock);
	pthread_cond_destroy(&p->wake);
	free(p);
}
