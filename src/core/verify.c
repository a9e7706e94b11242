/*
 * verify.c: checksums of one side, and the verification report (see
 * verify.h).
 */
#include "core/verify.h"
#include "conn.h"
#include "util/buf.h"
#include "util/fault.h"
#include "util/xalloc.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Modes
 * ------------------------------------------------------------------------ */

int
verify_parse_mode(const char *s, verify_mode *out)
{
	if (strcmp(s, "full") == 0)
		*out = VERIFY_FULL;
	else if (strcmp(s, "count") == 0)
		*out = VERIFY_COUNT;
	else if (strcmp(s, "none") == 0)
		*out = VERIFY_NONE;
	else
		return -1;
	return 0;
}

const char *
verify_mode_name(verify_mode m)
{
	return m == VERIFY_FULL ? "full" : m == VERIFY_COUNT ? "count" : "none";
}

/* ------------------------------------------------------------------------
 * Reading one side
 * ------------------------------------------------------------------------ */

int
verify_table_checksum(PGconn *conn, const char *qualified, const char *columns,
					  const stream_range *range, const char *filter, stream_format fmt,
					  const stream_tick *tick, stream_result *res, pgc_err *err)
{
	char	   *sql = stream_copy_out_sql(qualified, columns, range, filter, fmt);
	int			rc = stream_copy_out(conn, sql, fmt, NULL, NULL, tick, res, err);
	free(sql);
	return rc;
}

int
verify_table_count(PGconn *conn, const char *qualified, const char *filter, int64_t *rows,
				   pgc_err *err)
{
	char	   *sql = filter
		? xasprintf("SELECT pg_catalog.count(*) FROM ONLY %s WHERE (%s)", qualified, filter)
		: xasprintf("SELECT pg_catalog.count(*) FROM ONLY %s", qualified);
	char	   *v = conn_query_value(conn, sql, 0, NULL, err);
	free(sql);
	if (!v)
	{
		if (!err->set)
			err_set(err, "could not count the rows of %s", qualified);
		return -1;
	}
	*rows = strtoll(v, NULL, 10);
	free(v);
	return 0;
}

int
verify_large_objects(PGconn *conn, uint32_t first, uint32_t end, const stream_tick *tick,
					 stream_result *res, pgc_err *err)
{
	return stream_large_objects_read(conn, first, end, NULL, NULL, tick, res, err);
}

/* ------------------------------------------------------------------------
 * The report
 * ------------------------------------------------------------------------ */

typedef enum verify_kind
{
	VK_SCHEMA = 0,
	VK_TABLE,
	VK_SEQUENCE,
	VK_LARGE_OBJECTS,
	VK_OTHER
} verify_kind;

typedef struct verify_entry
{
	char	   *db;
	verify_kind kind;
	char	   *kind_name;		/* for VK_SCHEMA / VK_OTHER */
	char	   *name;
	char	   *src;			/* source column text */
	char	   *tgt;
	const char *checksum;		/* "equal", "differs", "-" */
	verify_status status;
	char	   *note;
	json_t	   *keys;			/* rows that differ, by key (compare --json) */
} verify_entry;

typedef struct verify_count
{
	char	   *db;
	int			n;
} verify_count;

struct verify_report
{
	verify_mode mode;
	bool		schema_part;	/* the schema objects were compared */
	bool		data_part;		/* the rows, sequences, large objects were */
	verify_count *objects;		/* schema objects compared, per database */
	int			nobjects;
	char	   *source_label;
	char	   *target_label;
	pthread_mutex_t lock;
	verify_entry *e;
	size_t		n;
	size_t		cap;
};

verify_report *
verify_report_create(verify_mode mode, const char *source_label, const char *target_label)
{
	verify_report *r = xcalloc(1, sizeof *r);
	r->mode = mode;
	r->schema_part = r->data_part = true;
	r->source_label = xstrdup(source_label ? source_label : "source");
	r->target_label = xstrdup(target_label ? target_label : "target");
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
verify_report_free(verify_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
	{
		free(r->e[i].db);
		free(r->e[i].kind_name);
		free(r->e[i].name);
		free(r->e[i].src);
		free(r->e[i].tgt);
		free(r->e[i].note);
		json_decref(r->e[i].keys);
	}
	free(r->e);
	for (int i = 0; i < r->nobjects; i++)
		free(r->objects[i].db);
	free(r->objects);
	free(r->source_label);
	free(r->target_label);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Adds an entry; takes ownership of src, tgt (may be NULL). */
static void
verify_add(verify_report *r, const char *db, verify_kind kind, const char *kind_name,
		   const char *name, char *src, char *tgt, const char *checksum, verify_status st,
		   const char *note)
{
	pthread_mutex_lock(&r->lock);
	if (r->n == r->cap)
	{
		r->cap = r->cap ? r->cap * 2 : 64;
		r->e = xrealloc(r->e, r->cap * sizeof *r->e);
	}
	verify_entry *e = &r->e[r->n++];
	e->db = xstrdup(db ? db : "");
	e->kind = kind;
	e->kind_name = kind_name ? xstrdup(kind_name) : NULL;
	e->name = xstrdup(name ? name : "");
	e->src = src ? src : xstrdup("-");
	e->tgt = tgt ? tgt : xstrdup("-");
	e->checksum = checksum ? checksum : "-";
	e->status = st;
	e->note = note && *note ? xstrdup(note) : NULL;
	e->keys = NULL;
	pthread_mutex_unlock(&r->lock);
}

static char *
verify_rows_text(const rowhash *h)
{
	return h ? xasprintf("%" PRIu64, h->rows) : NULL;
}

verify_status
verify_report_table(verify_report *r, const char *db, const char *table, const rowhash *src,
					const rowhash *tgt, const char *note)
{
	return verify_report_relation(r, db, NULL, table, src, tgt, note);
}

verify_status
verify_report_relation(verify_report *r, const char *db, const char *kind, const char *table,
					   const rowhash *src, const rowhash *tgt, const char *note)
{
	verify_status st;
	const char *checksum = "-";
	FAULT_IF("verify-equal-unchecked", src) tgt = src;
	if (!src && !tgt)
		st = VERIFY_FAILED;
	else if (!tgt)
		st = VERIFY_MISSING_TARGET;
	else if (!src)
		st = VERIFY_MISSING_SOURCE;
	else if (r->mode == VERIFY_NONE)
		st = VERIFY_UNCHECKED;
	else if (src->rows != tgt->rows)
	{
		st = VERIFY_DIFFERENT;
		if (r->mode == VERIFY_FULL)
			checksum = rowhash_equal(src, tgt) ? "equal" : "differs";
	}
	else if (r->mode == VERIFY_COUNT)
		st = VERIFY_OK;
	else
	{
		st = rowhash_equal(src, tgt) ? VERIFY_OK : VERIFY_DIFFERENT;
		checksum = st == VERIFY_OK ? "equal" : "differs";
	}
	char	   *tgt_text = r->mode == VERIFY_NONE && tgt && src ? xstrdup("-") : verify_rows_text(tgt);
	verify_add(r, db, VK_TABLE, kind && strcmp(kind, "table") != 0 ? kind : NULL, table,
			   verify_rows_text(src), tgt_text, checksum, st, note);
	return st;
}

verify_status
verify_report_sequence(verify_report *r, const char *db, const char *seq, const char *src_value,
					   bool src_called, const char *tgt_value, bool tgt_called)
{
	verify_status st;
	if (!src_value && !tgt_value)
		st = VERIFY_FAILED;
	else if (!tgt_value)
		st = VERIFY_MISSING_TARGET;
	else if (!src_value)
		st = VERIFY_MISSING_SOURCE;
	else if (r->mode == VERIFY_NONE)
		st = VERIFY_UNCHECKED;
	else
		st = strcmp(src_value, tgt_value) == 0 && src_called == tgt_called ? VERIFY_OK : VERIFY_DIFFERENT;
	char	   *s = src_value ? xasprintf("%s%s", src_value, src_called ? "" : " (not called)") : NULL;
	char	   *t = tgt_value ? xasprintf("%s%s", tgt_value, tgt_called ? "" : " (not called)") : NULL;
	verify_add(r, db, VK_SEQUENCE, NULL, seq, s, t, "-", st, NULL);
	return st;
}

verify_status
verify_report_large_objects(verify_report *r, const char *db, const rowhash *src, const rowhash *tgt)
{
	verify_status st;
	const char *checksum = "-";
	if (!src || !tgt)
		st = VERIFY_FAILED;
	else if (r->mode == VERIFY_NONE)
		st = VERIFY_UNCHECKED;
	else if (src->rows != tgt->rows)
		st = VERIFY_DIFFERENT;
	else if (r->mode == VERIFY_COUNT)
		st = VERIFY_OK;
	else
	{
		st = rowhash_equal(src, tgt) ? VERIFY_OK : VERIFY_DIFFERENT;
		checksum = st == VERIFY_OK ? "equal" : "differs";
	}
	verify_add(r, db, VK_LARGE_OBJECTS, NULL, "large objects", verify_rows_text(src),
			   r->mode == VERIFY_NONE ? NULL : verify_rows_text(tgt), checksum, st, NULL);
	return st;
}

void
verify_report_objects_checked(verify_report *r, const char *db, int nobjects)
{
	pthread_mutex_lock(&r->lock);
	r->objects = xrealloc(r->objects, (size_t) (r->nobjects + 1) * sizeof *r->objects);
	r->objects[r->nobjects].db = xstrdup(db);
	r->objects[r->nobjects].n = nobjects;
	r->nobjects++;
	pthread_mutex_unlock(&r->lock);
}

void
verify_report_parts(verify_report *r, bool schema, bool data)
{
	assert(schema || data);
	r->schema_part = schema;
	r->data_part = data;
}

/* nobjects of a database whose schema was not compared */
#define VERIFY_SCHEMA_UNCHECKED (-2)

void
verify_report_schema_unchecked(verify_report *r, const char *db)
{
	verify_report_objects_checked(r, db, VERIFY_SCHEMA_UNCHECKED);
}

static int
verify_objects_of(const verify_report *r, const char *db)
{
	for (int i = 0; i < r->nobjects; i++)
		if (strcmp(r->objects[i].db, db) == 0)
			return r->objects[i].n;
	return -1;
}

void
verify_report_schema(verify_report *r, const char *db, const char *kind, const char *name,
					 const char *what)
{
	verify_status st = VERIFY_DIFFERENT;
	if (what && strcmp(what, "missing on the target") == 0)
		st = VERIFY_MISSING_TARGET;
	else if (what && strcmp(what, "missing on the source") == 0)
		st = VERIFY_MISSING_SOURCE;
	verify_add(r, db, VK_SCHEMA, kind, name, NULL, NULL, "-", st,
			   st == VERIFY_DIFFERENT ? what : NULL);
}

void
verify_report_failed(verify_report *r, const char *db, const char *kind, const char *name,
					 const char *why)
{
	verify_kind k = VK_OTHER;
	if (kind && strcmp(kind, "table") == 0)
		k = VK_TABLE;
	else if (kind && strcmp(kind, "sequence") == 0)
		k = VK_SEQUENCE;
	else if (kind && strcmp(kind, "large objects") == 0)
		k = VK_LARGE_OBJECTS;
	verify_add(r, db, k, k == VK_OTHER ? kind : NULL, name, NULL, NULL, "-", VERIFY_FAILED, why);
}

static bool
verify_is_problem(verify_status st)
{
	return st != VERIFY_OK && st != VERIFY_UNCHECKED;
}

int
verify_report_problems(verify_report *r, const char *db)
{
	int			n = 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (verify_is_problem(r->e[i].status) && (!db || strcmp(r->e[i].db, db) == 0))
			n++;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int
verify_report_failures(verify_report *r)
{
	int			n = 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].status == VERIFY_FAILED)
			n++;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static const char *
verify_status_text(verify_status st)
{
	switch (st)
	{
		case VERIFY_OK:
			return "ok";
		case VERIFY_UNCHECKED:
			return "not verified";
		case VERIFY_DIFFERENT:
			return "different";
		case VERIFY_MISSING_TARGET:
			return "missing on target";
		case VERIFY_MISSING_SOURCE:
			return "missing on source";
		case VERIFY_FAILED:
		default:
			return "failed";
	}
}

static const char *
verify_kind_text(const verify_entry *e)
{
	switch (e->kind)
	{
		case VK_TABLE:
			return e->kind_name ? e->kind_name : "table";
		case VK_SEQUENCE:
			return "sequence";
		case VK_LARGE_OBJECTS:
			return "";
		default:
			return e->kind_name ? e->kind_name : "";
	}
}

static int
verify_entry_cmp(const void *a, const void *b)
{
	const verify_entry *x = a, *y = b;
	int			c = strcmp(x->db, y->db);
	if (c)
		return c;
	if (x->kind != y->kind)
		return (int) x->kind - (int) y->kind;
	c = strcmp(verify_kind_text(x), verify_kind_text(y));
	if (c)
		return c;
	return strcmp(x->name, y->name);
}

static char *
verify_object_text(const verify_entry *e)
{
	const char *k = verify_kind_text(e);
	return *k ? xasprintf("%s %s", k, e->name) : xstrdup(e->name);
}

static const char *
verify_plural(int n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Prints db's summary line from its n entries e; returns how many of them
 * are problems, and counts in *unchecked a database whose schema was not
 * compared. */
static int
verify_print_summary(const verify_report *r, FILE *out, const char *db, const verify_entry *e, size_t n,
					 int *unchecked)
{
	int			tables = 0, mviews = 0, seqs = 0, bad = 0;
	uint64_t	los = 0;
	bool		lo_seen = false;
	for (size_t j = 0; j < n; j++)
	{
		if (e[j].kind == VK_TABLE && !e[j].kind_name)
			tables++;
		else if (e[j].kind == VK_TABLE)
			mviews++;
		else if (e[j].kind == VK_SEQUENCE)
			seqs++;
		else if (e[j].kind == VK_LARGE_OBJECTS)
		{
			lo_seen = true;
			los = strtoull(e[j].src, NULL, 10);
		}
		if (verify_is_problem(e[j].status))
			bad++;
	}
	fprintf(out, "%s: ", db);
	int			nobj = verify_objects_of(r, db);
	if (nobj >= 0)
		fprintf(out, "%d schema %s, ", nobj, verify_plural(nobj, "object", "objects"));
	else if (nobj == VERIFY_SCHEMA_UNCHECKED)
	{
		fprintf(out, "schema not compared, ");
		(*unchecked)++;
	}
	if (!r->data_part)
		fprintf(out, "data not compared");
	else
	{
		fprintf(out, "%d %s, ", tables, verify_plural(tables, "table", "tables"));
		if (mviews)
			fprintf(out, "%d materialized %s, ", mviews, verify_plural(mviews, "view", "views"));
		fprintf(out, "%d %s", seqs, verify_plural(seqs, "sequence", "sequences"));
		if (lo_seen)
			fprintf(out, ", %" PRIu64 " large %s", los, los == 1 ? "object" : "objects");
	}
	if (bad)
		fprintf(out, ": %d %s\n", bad, verify_plural(bad, "problem", "problems"));
	else if (r->mode == VERIFY_NONE)
		fprintf(out, ": not verified\n");
	else
		fprintf(out, ": all equal\n");
	return bad;
}

int
verify_report_print(verify_report *r, FILE *out, bool all_objects)
{
	pthread_mutex_lock(&r->lock);
	if (r->n > 1)
		qsort(r->e, r->n, sizeof *r->e, verify_entry_cmp);

	const char *what = r->mode == VERIFY_FULL ? "row count and checksum"
		: r->mode == VERIFY_COUNT ? "row count" : "not verified (--verify none)";
	if (!r->data_part)
		what = "schema only";
	fprintf(out, "Verification (%s%s), %s against %s:\n\n", r->schema_part ? "" : "data only: ", what,
			r->source_label, r->target_label);

	/* Column widths. */
	char		h_src[64], h_tgt[64];
	snprintf(h_src, sizeof h_src, "%s", r->source_label);
	snprintf(h_tgt, sizeof h_tgt, "%s", r->target_label);
	size_t		w_db = strlen("DATABASE"), w_obj = strlen("OBJECT"),
				w_src = strlen(h_src) + 5, w_tgt = strlen(h_tgt) + 5, w_sum = strlen("CHECKSUM");
	char	  **objs = xcalloc(r->n + 1, sizeof *objs);
	int			problems = 0;
	for (size_t i = 0; i < r->n; i++)
	{
		verify_entry *e = &r->e[i];
		objs[i] = verify_object_text(e);
		if (verify_is_problem(e->status))
			problems++;
		if (!all_objects && !verify_is_problem(e->status))
			continue;
#define WIDEN(w, s) do { size_t l_ = strlen(s); if (l_ > (w)) (w) = l_; } while (0)
		WIDEN(w_db, e->db);
		WIDEN(w_obj, objs[i]);
		WIDEN(w_src, e->src);
		WIDEN(w_tgt, e->tgt);
#undef WIDEN
	}
	char		hs[80], ht[80];
	snprintf(hs, sizeof hs, "%s ROWS", h_src);
	snprintf(ht, sizeof ht, "%s ROWS", h_tgt);
	for (char *p = hs; *p; p++)
		*p = (char) (*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	for (char *p = ht; *p; p++)
		*p = (char) (*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	bool		any_line = false;
	for (size_t i = 0; i < r->n; i++)
		if (all_objects || verify_is_problem(r->e[i].status))
			any_line = true;
	if (any_line)
	{
		fprintf(out, "%-*s  %-*s  %*s  %*s  %-*s  %s\n", (int) w_db, "DATABASE", (int) w_obj, "OBJECT",
				(int) w_src, hs, (int) w_tgt, ht, (int) w_sum, "CHECKSUM", "STATUS");
		for (size_t i = 0; i < r->n; i++)
		{
			verify_entry *e = &r->e[i];
			if (!all_objects && !verify_is_problem(e->status))
				continue;
			fprintf(out, "%-*s  %-*s  %*s  %*s  %-*s  %s%s%s%s\n", (int) w_db, e->db, (int) w_obj, objs[i],
					(int) w_src, e->src, (int) w_tgt, e->tgt, (int) w_sum, e->checksum,
					verify_status_text(e->status), e->note && !verify_is_problem(e->status) ? " (" : "",
					e->note && !verify_is_problem(e->status) ? e->note : "",
					e->note && !verify_is_problem(e->status) ? ")" : "");
		}
		fputc('\n', out);
	}

	/* What went wrong, in words. */
	bool		noted = false;
	for (size_t i = 0; i < r->n; i++)
	{
		verify_entry *e = &r->e[i];
		if (!e->note || (!verify_is_problem(e->status) && !all_objects))
			continue;
		if (!verify_is_problem(e->status))
			continue;
		fprintf(out, "%s %s: %s\n", e->db, objs[i], e->note);
		noted = true;
	}
	if (noted)
		fputc('\n', out);

	/* A summary per database: those with entries, then those whose schema
	 * alone was compared and found equal (no entry). */
	int			ndb = 0, bad_dbs = 0, unchecked = 0;
	for (size_t i = 0; i < r->n;)
	{
		size_t		j = i;
		while (j < r->n && strcmp(r->e[j].db, r->e[i].db) == 0)
			j++;
		int			bad = verify_print_summary(r, out, r->e[i].db, &r->e[i], j - i, &unchecked);
		ndb++;
		if (bad)
			bad_dbs++;
		i = j;
	}
	for (int k = 0; k < r->nobjects; k++)
	{
		bool		seen = false;
		for (size_t i = 0; i < r->n && !seen; i++)
			seen = strcmp(r->e[i].db, r->objects[k].db) == 0;
		for (int m = 0; m < k && !seen; m++)
			seen = strcmp(r->objects[m].db, r->objects[k].db) == 0;
		if (seen)
			continue;
		(void) verify_print_summary(r, out, r->objects[k].db, NULL, 0, &unchecked);
		ndb++;
	}
	if (problems)
		fprintf(out, "Verification found %d %s in %d of %d %s.\n", problems,
				verify_plural(problems, "problem", "problems"), bad_dbs, ndb,
				verify_plural(ndb, "database", "databases"));
	else if (r->mode == VERIFY_NONE)
		fprintf(out, "Not verified: %d %s.\n", ndb, verify_plural(ndb, "database", "databases"));
	else if (!r->data_part)
		fprintf(out, "Verified: %d %s, every schema object equal; the data not compared (--schema-only).\n",
				ndb, verify_plural(ndb, "database", "databases"));
	else if (unchecked)
		fprintf(out, "Verified: %d %s, every table, sequence and large object equal; the schema of %d "
				"not compared.\n", ndb, verify_plural(ndb, "database", "databases"), unchecked);
	else
		fprintf(out, "Verified: %d %s, every object equal.\n", ndb,
				verify_plural(ndb, "database", "databases"));
	for (size_t i = 0; i < r->n; i++)
		free(objs[i]);
	free(objs);
	pthread_mutex_unlock(&r->lock);
	fflush(out);
	return problems;
}

/* ------------------------------------------------------------------------
 * The report as JSON (compare --json)
 * ------------------------------------------------------------------------ */

void
verify_report_keys(verify_report *r, const char *db, const char *name, json_t *keys)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n && keys; i++)
		if (r->e[i].kind == VK_TABLE && strcmp(r->e[i].db, db) == 0 && strcmp(r->e[i].name, name) == 0)
		{
			json_decref(r->e[i].keys);
			r->e[i].keys = keys;
			keys = NULL;
		}
	pthread_mutex_unlock(&r->lock);
	json_decref(keys);
}

int
verify_report_print_json(verify_report *r, FILE *out)
{
	pthread_mutex_lock(&r->lock);
	if (r->n > 1)
		qsort(r->e, r->n, sizeof *r->e, verify_entry_cmp);
	int			problems = 0;
	json_t	   *list = json_array();
	for (size_t i = 0; i < r->n; i++)
	{
		verify_entry *e = &r->e[i];
		json_t	   *o = json_object();
		json_object_set_new(o, "database", json_string(e->db));
		json_object_set_new(o, "kind", json_string(e->kind == VK_LARGE_OBJECTS ? "large objects"
												   : verify_kind_text(e)));
		json_object_set_new(o, "name", json_string(e->name));
		json_object_set_new(o, "status", json_string(verify_status_text(e->status)));
		json_object_set_new(o, "source", e->src && strcmp(e->src, "-") != 0 ? json_string(e->src) : json_null());
		json_object_set_new(o, "target", e->tgt && strcmp(e->tgt, "-") != 0 ? json_string(e->tgt) : json_null());
		json_object_set_new(o, "checksum", json_string(e->checksum ? e->checksum : "-"));
		if (e->note)
			json_object_set_new(o, "note", json_string(e->note));
		if (e->keys)
			json_object_set(o, "keys", e->keys);
		if (verify_is_problem(e->status))
			problems++;
		json_array_append_new(list, o);
	}
	json_t	   *doc = json_object();
	json_object_set_new(doc, "equal", json_boolean(problems == 0));
	json_object_set_new(doc, "mode", json_string(verify_mode_name(r->mode)));
	json_t	   *parts = json_object();
	json_object_set_new(parts, "schema", json_boolean(r->schema_part));
	json_object_set_new(parts, "data", json_boolean(r->data_part));
	json_object_set_new(doc, "compared", parts);
	json_object_set_new(doc, "problems", json_integer(problems));
	json_object_set_new(doc, "objects", list);
	pthread_mutex_unlock(&r->lock);
	char	   *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (s)
		fprintf(out, "%s\n", s);
	free(s);
	fflush(out);
	return problems;
}
