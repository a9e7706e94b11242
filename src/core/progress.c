/*
 * progress.c: live progress display, log lines or JSON lines (see
 * progress.h).
 *
 * How it works: workers touch only atomics (bytes, rows, estimates done)
 * and, once per table, a slot under slot_lock that names the table the
 * thread is on.  The display thread wakes every PROGRESS_SAMPLE_MS, takes a
 * snapshot (progress_snapshot), turns it into the share done per database
 * and overall, and keeps the last samples of that share in a ring to get
 * the recent rate; it draws or writes a line when the mode's interval has
 * passed.  The ETA is what is left of the share divided by that rate.
 */
#include "core/progress.h"
#include "util/log.h"
#include "util/buf.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* How often the display is redrawn, how often log/JSON lines go out, and
 * how often the share done is sampled for the rate. */
#define PROGRESS_TTY_MS 500
#define PROGRESS_LOG_MS 10000
#define PROGRESS_JSON_MS 1000
#define PROGRESS_SAMPLE_MS 250
/* The rate is taken over the last PROGRESS_WINDOW_S seconds. */
#define PROGRESS_WINDOW_S 10.0
#define PROGRESS_RING 64
/* Threads that may name a table at the same time. */
#define PROGRESS_SLOTS 160
/* A table in flight counts at most this share of its estimate. */
#define PROGRESS_INFLIGHT_CAP 0.95
/* Until the job is done the share shown stays below 100 %. */
#define PROGRESS_OPEN_CAP 0.999

static int progress_file_fd = -1;

typedef struct progress_slot
{
	bool		used;			/* under slot_lock */
	int			db;
	char		name[64];
	int64_t		est;
	_Atomic int64_t bytes;
} progress_slot;

/* The share done of one database (or of all) over time. */
typedef struct progress_ring
{
	double		t[PROGRESS_RING];
	double		f[PROGRESS_RING];
	int64_t		b[PROGRESS_RING];
	int			n;
	int			head;			/* next write */
	double		shown;			/* the share shown last: never goes back */
	double		moving;			/* when the share started to grow; < 0 not yet */
	double		last_t;			/* the newest sample's time */
} progress_ring;

typedef struct progress_db
{
	char	   *name;
	_Atomic int64_t bytes;
	_Atomic int64_t rows;
	_Atomic int64_t est_done;
	_Atomic int64_t est_total;
	_Atomic int64_t est_rows;
	atomic_int	units_done;
	atomic_int	units_total;
	_Atomic(const char *) phase;
	progress_ring ring;			/* display thread only */
} progress_db;

struct progress
{
	progress_mode mode;
	char	   *verb;
	int			ndb;
	progress_db *db;
	progress_ring all;			/* display thread only */
	struct timespec started;
	int			out_fd;			/* JSON lines go here */

	pthread_t	thread;
	bool		running;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool		stop;
	int			lines_drawn;	/* tty: lines to move up before redrawing */
	pthread_mutex_t draw_lock;	/* tty: one drawing or log line at a time */
	int			interval_ms;
	double		last_emit;

	pthread_mutex_t slot_lock;
	progress_slot slots[PROGRESS_SLOTS];
};

/* The slot the calling thread fills, and whose progress it belongs to. */
static _Thread_local progress *progress_tl_owner;
static _Thread_local int progress_tl_slot = -1;

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

void
progress_set_file(int fd)
{
	progress_file_fd = fd;
}

progress *
progress_create(progress_mode mode, const char *verb, int ndb)
{
	progress   *p = xcalloc(1, sizeof *p);
	p->out_fd = STDERR_FILENO;
	if (progress_file_fd >= 0 && mode != PROGRESS_NONE)
	{
		mode = PROGRESS_JSON;
		p->out_fd = progress_file_fd;
	}
	if (mode == PROGRESS_AUTO)
	{
		if (!log_enabled(LOG_NOTICE))
			mode = PROGRESS_NONE;		/* --quiet */
		else
			mode = isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_LOG;
	}
	/* JSON progress on stderr: the log lines beside it are JSON too. */
	if (mode == PROGRESS_JSON && p->out_fd == STDERR_FILENO)
		log_setup(log_threshold(), LOG_FORMAT_JSON);
	p->mode = mode;
	p->verb = xstrdup(verb);
	p->ndb = ndb > 0 ? ndb : 0;
	p->db = xcalloc((size_t) p->ndb + 1, sizeof *p->db);
	for (int i = 0; i < p->ndb; i++)
	{
		atomic_store(&p->db[i].phase, "waiting");
		p->db[i].ring.moving = -1;
	}
	p->all.moving = -1;
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->draw_lock, NULL);
	pthread_mutex_init(&p->slot_lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	const char *iv = getenv("PGCARRY_PROGRESS_INTERVAL_MS");
	int			env_ms = iv ? atoi(iv) : 0;
	if (p->mode == PROGRESS_TTY)
		p->interval_ms = PROGRESS_TTY_MS;
	else if (env_ms > 0)
		p->interval_ms = env_ms;
	else
		p->interval_ms = p->mode == PROGRESS_JSON ? PROGRESS_JSON_MS : PROGRESS_LOG_MS;
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
progress_expect_rows(progress *p, int db, int64_t rows)
{
	if (db < 0 || db >= p->ndb || rows <= 0)
		return;
	atomic_fetch_add(&p->db[db].est_rows, rows);
}

void
progress_phase(progress *p, int db, const char *phase)
{
	if (db < 0 || db >= p->ndb)
		return;
	atomic_store(&p->db[db].phase, phase);
}

void
progress_unit_end(progress *p)
{
	if (progress_tl_owner != p || progress_tl_slot < 0)
		return;
	pthread_mutex_lock(&p->slot_lock);
	p->slots[progress_tl_slot].used = false;
	pthread_mutex_unlock(&p->slot_lock);
	progress_tl_slot = -1;
}

void
progress_unit_begin(progress *p, int db, const char *name, int64_t est_bytes)
{
	if (db < 0 || db >= p->ndb)
		return;
	progress_unit_end(p);
	pthread_mutex_lock(&p->slot_lock);
	for (int i = 0; i < PROGRESS_SLOTS; i++)
		if (!p->slots[i].used)
		{
			progress_slot *s = &p->slots[i];
			s->used = true;
			s->db = db;
			snprintf(s->name, sizeof s->name, "%s", name ? name : "");
			s->est = est_bytes > 0 ? est_bytes : 0;
			atomic_store(&s->bytes, 0);
			progress_tl_owner = p;
			progress_tl_slot = i;
			break;
		}
	pthread_mutex_unlock(&p->slot_lock);
}

void
progress_add(progress *p, int db, int64_t bytes, int64_t rows)
{
	if (db < 0 || db >= p->ndb)
		return;
	atomic_fetch_add_explicit(&p->db[db].bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->db[db].rows, rows, memory_order_relaxed);
	if (progress_tl_owner == p && progress_tl_slot >= 0)
		atomic_fetch_add_explicit(&p->slots[progress_tl_slot].bytes, bytes, memory_order_relaxed);
}

void
progress_unit_done(progress *p, int db, int64_t est_bytes)
{
	if (db < 0 || db >= p->ndb)
		return;
	/* The estimate is credited before the slot ends, so the bytes of the
	 * table never count twice in a snapshot taken in between. */
	atomic_fetch_add(&p->db[db].units_done, 1);
	atomic_fetch_add(&p->db[db].est_done, est_bytes);
	progress_unit_end(p);
}

void
progress_credit(progress *p, int db, int64_t est_bytes)
{
	if (db < 0 || db >= p->ndb)
		return;
	atomic_fetch_add(&p->db[db].est_done, est_bytes);
	progress_unit_end(p);
}

/* ------------------------------------------------------------------------
 * The share done, the rate and the ETA
 * ------------------------------------------------------------------------ */

static double
progress_elapsed(const progress *p)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double) (now.tv_sec - p->started.tv_sec) + (double) (now.tv_nsec - p->started.tv_nsec) / 1e9;
}

typedef struct progress_snap
{
	int64_t		bytes, rows, est_done, est_total, est_rows;
	int			units_done, units_total;
	const char *phase;
	int64_t		inflight_bytes;	/* bytes of tables in flight */
	double		inflight_est;	/* their share of the estimate so far */
	double		fraction;		/* share done, 0..1 */
	double		weight;			/* for the overall share */
	double		eta;			/* seconds, < 0 unknown */
	double		rate;			/* bytes per second, recent */
	buf_t		current;		/* tables in flight, ", "-separated */
	int			ncurrent;
} progress_snap;

static void
progress_snap_free(progress_snap *s)
{
	buf_free(&s->current);
}

static bool
progress_phase_is(const char *phase, const char *what)
{
	return phase && strcmp(phase, what) == 0;
}

/* Counters of every database plus the overall sum (s[ndb]), with the
 * tables in flight and each share done. */
static void
progress_snapshot(progress *p, progress_snap *s)
{
	progress_snap *t = &s[p->ndb];
	memset(s, 0, sizeof *s * ((size_t) p->ndb + 1));
	int			finished = 0;
	for (int i = 0; i < p->ndb; i++)
	{
		progress_db *d = &p->db[i];
		s[i].bytes = atomic_load(&d->bytes);
		s[i].rows = atomic_load(&d->rows);
		s[i].est_done = atomic_load(&d->est_done);
		s[i].est_total = atomic_load(&d->est_total);
		s[i].est_rows = atomic_load(&d->est_rows);
		s[i].units_done = atomic_load(&d->units_done);
		s[i].units_total = atomic_load(&d->units_total);
		s[i].phase = atomic_load(&d->phase);
		if (progress_phase_is(s[i].phase, "done") || progress_phase_is(s[i].phase, "failed"))
			finished++;
	}
	/* In flight: bytes and (capped) estimates per database. */
	int64_t		slot_bytes[PROGRESS_SLOTS];
	pthread_mutex_lock(&p->slot_lock);
	for (int k = 0; k < PROGRESS_SLOTS; k++)
	{
		progress_slot *sl = &p->slots[k];
		slot_bytes[k] = -1;
		if (!sl->used || sl->db < 0 || sl->db >= p->ndb)
			continue;
		slot_bytes[k] = atomic_load(&sl->bytes);
		progress_snap *d = &s[sl->db];
		d->inflight_bytes += slot_bytes[k];
		buf_printf(&d->current, "%s%s", d->ncurrent ? ", " : "", sl->name);
		d->ncurrent++;
		buf_printf(&t->current, "%s%s", t->ncurrent ? ", " : "", sl->name);
		t->ncurrent++;
	}
	for (int i = 0; i < p->ndb; i++)
	{
		t->bytes += s[i].bytes;
		t->rows += s[i].rows;
		t->est_done += s[i].est_done;
		t->est_total += s[i].est_total;
		t->est_rows += s[i].est_rows;
		t->units_done += s[i].units_done;
		t->units_total += s[i].units_total;
		t->inflight_bytes += s[i].inflight_bytes;
	}
	/* Catalog size per streamed byte, as finished work showed it. */
	double		ratio = 1.0;
	int64_t		finished_bytes = t->bytes - t->inflight_bytes;
	if (t->est_done > 0 && finished_bytes > 0)
		ratio = (double) t->est_done / (double) finished_bytes;
	for (int k = 0; k < PROGRESS_SLOTS; k++)
	{
		progress_slot *sl = &p->slots[k];
		if (slot_bytes[k] < 0)
			continue;
		double		e = (double) slot_bytes[k] * ratio;
		if (sl->est > 0 && e > PROGRESS_INFLIGHT_CAP * (double) sl->est)
			e = PROGRESS_INFLIGHT_CAP * (double) sl->est;
		s[sl->db].inflight_est += e;
	}
	pthread_mutex_unlock(&p->slot_lock);

	/* The share done of each database, and its weight in the overall one. */
	bool		by_bytes = t->est_total > 0, by_rows = !by_bytes && t->est_rows > 0;
	double		wsum = 0, fsum = 0, sized_w = 0;
	int			nsized = 0;
	for (int i = 0; i < p->ndb; i++)
	{
		progress_snap *d = &s[i];
		double		f;
		if (progress_phase_is(d->phase, "done"))
			f = 1.0;
		else if (d->est_total > 0)
			f = ((double) d->est_done + d->inflight_est) / (double) d->est_total;
		else if (d->est_rows > 0)
			f = (double) d->rows / (double) d->est_rows;
		else if (d->units_total > 0)
			f = (double) d->units_done / (double) d->units_total;
		else
			f = 0;
		if (!progress_phase_is(d->phase, "done") && f > PROGRESS_OPEN_CAP)
			f = PROGRESS_OPEN_CAP;
		d->fraction = f < 0 ? 0 : f;
		d->weight = by_bytes ? (double) d->est_total : by_rows ? (double) d->est_rows
			: (double) d->units_total;
		if (d->units_total > 0)
		{
			sized_w += d->weight;
			nsized++;
		}
	}
	for (int i = 0; i < p->ndb; i++)
	{
		progress_snap *d = &s[i];
		/* A database not yet sized weighs as much as an average one. */
		if (d->units_total == 0 && !progress_phase_is(d->phase, "done"))
			d->weight = nsized > 0 && sized_w > 0 ? sized_w / nsized : 1;
		wsum += d->weight;
		fsum += d->weight * d->fraction;
	}
	if (finished == p->ndb && p->ndb > 0)
	{
		t->fraction = 1.0;
		t->phase = "done";
	}
	else
	{
		t->fraction = wsum > 0 ? fsum / wsum : 0;
		if (t->fraction > PROGRESS_OPEN_CAP)
			t->fraction = PROGRESS_OPEN_CAP;
		t->phase = "running";
	}
}

static void
progress_ring_add(progress_ring *r, double t, double f, int64_t b)
{
	/* The rate counts from the last sample that had nothing done: time
	 * spent before (connecting, the schema) says nothing of the data. */
	if (r->moving < 0 && f > 0)
		r->moving = r->n > 0 ? r->last_t : t;
	r->last_t = t;
	r->t[r->head] = t;
	r->f[r->head] = f;
	r->b[r->head] = b;
	r->head = (r->head + 1) % PROGRESS_RING;
	if (r->n < PROGRESS_RING)
		r->n++;
}

/*
 * The rate of the share done (per second) and of bytes over the recent
 * window, from the samples in r (the newest being now, f, b), then the ETA.
 * Early on, and when the recent rate falls far below the average so far (a
 * table's indexes being built after its rows), the average keeps the ETA
 * from running away.
 */
static void
progress_estimate(const progress_ring *r, double now, progress_snap *s)
{
	double		f = s->fraction;
	double		since = r->moving >= 0 ? now - r->moving : 0;
	double		avg_f = since > 0 ? f / since : 0;
	double		avg_b = now > 0 ? (double) s->bytes / now : 0;
	double		rate_f = avg_f, rate_b = avg_b;
	int			oldest = -1;
	for (int k = 0; k < r->n; k++)
	{
		int			i = (r->head - 1 - k + 2 * PROGRESS_RING) % PROGRESS_RING;
		if (now - r->t[i] > PROGRESS_WINDOW_S || r->moving < 0 || r->t[i] < r->moving)
			break;
		oldest = i;
	}
	if (oldest >= 0 && now - r->t[oldest] >= 2.0)
	{
		double		dt = now - r->t[oldest];
		rate_f = (f - r->f[oldest]) / dt;
		rate_b = (double) (s->bytes - r->b[oldest]) / dt;
		if (rate_f < avg_f / 4)
			rate_f = avg_f / 4;
	}
	s->rate = rate_b > 0 ? rate_b : 0;
	if (f >= 1.0)
		s->eta = 0;
	else if (since < 0.5 || rate_f <= 0 || f <= 0)
		s->eta = -1;
	else
		s->eta = (1.0 - f) / rate_f;
}

/* Snapshot, sample, estimate: s must hold ndb + 1 entries. */
static void
progress_measure(progress *p, progress_snap *s, double el, bool record)
{
	progress_snapshot(p, s);
	for (int i = 0; i <= p->ndb; i++)
	{
		progress_ring *r = i < p->ndb ? &p->db[i].ring : &p->all;
		if (s[i].fraction < r->shown)
			s[i].fraction = r->shown;
		r->shown = s[i].fraction;
		progress_estimate(r, el, &s[i]);
		if (record)
			progress_ring_add(r, el, s[i].fraction, s[i].bytes);
	}
}

/* ------------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------------ */

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

static void
progress_percent(char *out, size_t n, double f)
{
	snprintf(out, n, "%.1f%%", f * 100.0);
}

size_t
progress_fit(const char *s, size_t len, int cols)
{
	int			used = 0;
	size_t		i = 0;
	while (i < len)
	{
		size_t		next = i + 1;
		while (next < len && ((unsigned char) s[next] & 0xC0) == 0x80)
			next++;
		if (used + 1 > cols)
			break;
		used++;
		i = next;
	}
	return i;
}

/* The terminal's width for the live display (stderr's), else $COLUMNS,
 * else 80. */
static int
progress_columns(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	if (c && atoi(c) > 0)
		return atoi(c);
	return 80;
}

/* One human line for a snapshot, what matters most first (a narrow
 * terminal cuts the end): label, phase, percent and bar, ETA, bytes, rows,
 * tables, rate, then the tables in flight. */
static void
progress_line(buf_t *b, const char *label, int label_w, const progress_snap *s, bool final, int bar_w,
			  bool with_current)
{
	char		by[32], rate[32], eta[32], pct[16];
	progress_bytes(by, sizeof by, (double) s->bytes);
	progress_bytes(rate, sizeof rate, s->rate);
	progress_percent(pct, sizeof pct, s->fraction);
	buf_printf(b, "%-*.*s %-9.9s %6s", label_w, label_w, label, s->phase ? s->phase : "", pct);
	if (bar_w > 0)
	{
		int			fill = (int) (s->fraction * bar_w + 0.5);
		buf_puts(b, " [");
		for (int i = 0; i < bar_w; i++)
			buf_putc(b, i < fill ? '#' : '.');
		buf_putc(b, ']');
	}
	if (!final)
	{
		progress_duration(eta, sizeof eta, s->eta);
		buf_printf(b, "  ETA %s", eta);
	}
	buf_printf(b, "  %s  %lld rows  %d/%d tables  %s/s", by, (long long) s->rows, s->units_done,
			   s->units_total, rate);
	if (!final && with_current && s->ncurrent)
		buf_printf(b, "  %s", s->current.data);
}

/* Appends line (cut to cols) to out as one redrawn line. */
static void
progress_put_line(buf_t *out, const buf_t *line, int cols)
{
	buf_puts(out, "\r\033[2K");
	buf_append(out, line->data, progress_fit(line->data, line->len, cols));
	buf_putc(out, '\n');
}

static void
progress_draw_tty(progress *p, const progress_snap *s, double el, bool final)
{
	int			cols = progress_columns() - 1;	/* the last column would wrap */
	if (cols < 1)
		cols = 1;
	int			label_w = 13;	/* "all databases" */
	for (int i = 0; i < p->ndb; i++)
		if (p->db[i].name && (int) strlen(p->db[i].name) > label_w)
			label_w = (int) strlen(p->db[i].name);
	if (label_w > 20)
		label_w = 20;
	if (cols < 72 && label_w > cols / 3)
		label_w = cols / 3 > 4 ? cols / 3 : 4;		/* room for the numbers */
	int			bar_w = cols >= 100 ? 20 : cols >= 72 ? 10 : 0;
	buf_t		b = {0}, line = {0};
	/* Move up over the previous drawing; each line is cleared as it is
	 * redrawn, and what is left below the new drawing after it.  (Clearing
	 * from the top-left corner would push the screen into a terminal's
	 * scrollback, as tmux does: stale copies there.) */
	if (p->lines_drawn > 0)
		buf_printf(&b, "\r\033[%dA", p->lines_drawn);
	int			lines = 0;
	for (int i = 0; i < p->ndb; i++)
	{
		buf_reset(&line);
		progress_line(&line, p->db[i].name ? p->db[i].name : "?", label_w, &s[i], final, 0, true);
		progress_put_line(&b, &line, cols);
		lines++;
	}
	char		dur[32];
	progress_duration(dur, sizeof dur, el);
	buf_reset(&line);
	progress_line(&line, "all databases", label_w, &s[p->ndb], final, bar_w, false);
	buf_printf(&line, "  %s elapsed", dur);
	progress_put_line(&b, &line, cols);
	lines++;
	buf_puts(&b, "\033[J");
	p->lines_drawn = final ? 0 : lines;
	log_write_stderr(b.data, b.len);
	buf_free(&b);
	buf_free(&line);
}

static void
progress_draw_log(progress *p, const progress_snap *t, double el, bool final)
{
	buf_t		b = {0};
	char		by[32], rate[32], eta[32], dur[32], pct[16];
	progress_bytes(by, sizeof by, (double) t->bytes);
	progress_bytes(rate, sizeof rate, el > 0 ? (double) t->bytes / el : 0);
	progress_duration(dur, sizeof dur, el);
	progress_duration(eta, sizeof eta, t->eta);
	progress_percent(pct, sizeof pct, t->fraction);
	if (final)
		buf_printf(&b, "%s finished: %s, %lld rows, %d/%d tables, %s/s, %s elapsed", p->verb, by,
				   (long long) t->rows, t->units_done, t->units_total, rate, dur);
	else
	{
		progress_bytes(rate, sizeof rate, t->rate);
		buf_printf(&b, "%s progress: %s, %s, %lld rows, %d/%d tables, %s/s, %s elapsed, ETA %s",
				   p->verb, pct, by, (long long) t->rows, t->units_done, t->units_total, rate, dur, eta);
		if (t->ncurrent)
			buf_printf(&b, "; on %s", t->current.data);
	}
	log_report(LOG_NOTICE, b.data, NULL, NULL);
	buf_free(&b);
}

static json_t *
progress_json_snap(const progress_snap *s, bool final)
{
	json_t	   *o = json_object();
	json_object_set_new(o, "phase", json_string(s->phase ? s->phase : ""));
	json_object_set_new(o, "percent", json_real((double) (int64_t) (s->fraction * 1000.0) / 10.0));
	json_object_set_new(o, "bytes", json_integer(s->bytes));
	json_object_set_new(o, "rows", json_integer(s->rows));
	json_object_set_new(o, "tables_done", json_integer(s->units_done));
	json_object_set_new(o, "tables_total", json_integer(s->units_total));
	json_object_set_new(o, "estimated_bytes", json_integer(s->est_total));
	json_object_set_new(o, "estimated_rows", json_integer(s->est_rows));
	json_object_set_new(o, "bytes_per_second", json_integer((json_int_t) s->rate));
	json_object_set_new(o, "eta_seconds", final ? json_integer(0)
						: s->eta < 0 ? json_null() : json_real((double) (int64_t) (s->eta * 10.0) / 10.0));
	json_t	   *cur = json_array();
	const char *c = s->ncurrent ? s->current.data : NULL;
	while (c && *c)
	{
		const char *e = strstr(c, ", ");
		size_t		n = e ? (size_t) (e - c) : strlen(c);
		json_array_append_new(cur, json_stringn(c, n));
		c = e ? e + 2 : NULL;
	}
	json_object_set_new(o, "current_tables", cur);
	return o;
}

static void
progress_draw_json(progress *p, const progress_snap *s, double el, bool final)
{
	json_t	   *o = json_object();
	json_object_set_new(o, "progress", json_string(p->verb));
	json_object_set_new(o, "final", json_boolean(final));
	json_object_set_new(o, "elapsed_seconds", json_real((double) ((int64_t) (el * 1000)) / 1000.0));
	json_t	   *dbs = json_array();
	for (int i = 0; i < p->ndb; i++)
	{
		json_t	   *d = progress_json_snap(&s[i], final);
		json_object_set_new(d, "database", json_string(p->db[i].name ? p->db[i].name : ""));
		json_array_append_new(dbs, d);
	}
	json_object_set_new(o, "databases", dbs);
	json_object_set_new(o, "total", progress_json_snap(&s[p->ndb], final));
	char	   *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	json_decref(o);
	if (!txt)
		return;
	buf_t		b = {0};
	buf_puts(&b, txt);
	buf_putc(&b, '\n');
	free(txt);
	/* Whole lines, once each; beside log lines on stderr, through the same
	 * lock (a JSON log line is never cut by a progress line). */
	if (p->out_fd == STDERR_FILENO)
		log_write_stderr(b.data, b.len);
	else
	{
		const char *d = b.data;
		size_t		n = b.len;
		while (n > 0)
		{
			ssize_t		w = write(p->out_fd, d, n);
			if (w <= 0)
				break;
			d += w;
			n -= (size_t) w;
		}
	}
	buf_free(&b);
}

/*
 * The log writer while a live display runs (see log_set_writer): erases the
 * display, writes the log line where the display was, and lets the next
 * drawing come below it, so neither overwrites the other.
 */
static void
progress_log_writer(const char *data, size_t len, void *arg)
{
	progress   *p = arg;
	pthread_mutex_lock(&p->draw_lock);
	if (p->lines_drawn == 0)
	{
		log_write_stderr(data, len);
		pthread_mutex_unlock(&p->draw_lock);
		return;
	}
	/* Clear the display's lines one by one, go back up, write the log
	 * line where the display was (it may wrap), then clear what is left
	 * below it. */
	buf_t		b = {0};
	buf_printf(&b, "\r\033[%dA", p->lines_drawn);
	for (int i = 0; i < p->lines_drawn; i++)
		buf_puts(&b, "\033[2K\n");
	buf_printf(&b, "\033[%dA", p->lines_drawn);
	buf_append(&b, data, len);
	buf_puts(&b, "\033[J");
	log_write_stderr(b.data, b.len);
	buf_free(&b);
	p->lines_drawn = 0;
	pthread_mutex_unlock(&p->draw_lock);
}

/* Samples the counters; draws when the mode's interval has passed (always
 * when final). */
static void
progress_tick(progress *p, bool final)
{
	double		el = progress_elapsed(p);
	progress_snap *s = xcalloc((size_t) p->ndb + 1, sizeof *s);
	progress_measure(p, s, el, !final);
	bool		due = final || p->last_emit == 0 || (el - p->last_emit) * 1000.0 >= p->interval_ms - 1;
	if (due)
	{
		p->last_emit = el;
		switch (p->mode)
		{
			case PROGRESS_TTY:
				pthread_mutex_lock(&p->draw_lock);
				progress_draw_tty(p, s, el, final);
				pthread_mutex_unlock(&p->draw_lock);
				break;
			case PROGRESS_LOG:
				if (final || el * 1000.0 >= p->interval_ms - 1)
					progress_draw_log(p, &s[p->ndb], el, final);
				break;
			case PROGRESS_JSON:
				progress_draw_json(p, s, el, final);
				break;
			default:
				break;
		}
	}
	for (int i = 0; i <= p->ndb; i++)
		progress_snap_free(&s[i]);
	free(s);
}

static void *
progress_thread(void *arg)
{
	progress   *p = arg;
	int			step = p->interval_ms < PROGRESS_SAMPLE_MS ? p->interval_ms : PROGRESS_SAMPLE_MS;
	pthread_mutex_lock(&p->lock);
	while (!p->stop)
	{
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		int64_t		ns = until.tv_nsec + (int64_t) step * 1000000;
		until.tv_sec += ns / 1000000000;
		until.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&p->wake, &p->lock, &until);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		progress_tick(p, false);
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
	p->last_emit = 0;
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
	/* Nothing is in flight any more. */
	pthread_mutex_lock(&p->slot_lock);
	for (int i = 0; i < PROGRESS_SLOTS; i++)
		p->slots[i].used = false;
	pthread_mutex_unlock(&p->slot_lock);
	progress_tick(p, true);
}

void
progress_free(progress *p)
{
	if (!p)
		return;
	progress_stop(p);
	if (progress_tl_owner == p)
	{
		progress_tl_owner = NULL;
		progress_tl_slot = -1;
	}
	for (int i = 0; i < p->ndb; i++)
		free(p->db[i].name);
	free(p->db);
	free(p->verb);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->draw_lock);
	pthread_mutex_destroy(&p->slot_lock);
	pthread_cond_destroy(&p->wake);
	free(p);
}
