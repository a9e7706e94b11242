/*
 * archive_choose.c: the part of an archive's database that -n/-N/-t/-T
 * choose for import (archive_choose.h).
 *
 * How it works: pg_restore --list --verbose prints one line per entry of
 * the schema dump ("ID; CLASSID OBJID KIND SCHEMA NAME OWNER") followed by
 * ";\tdepends on: ID..." when it has dependencies.  The kind is read
 * against pg_dump's list of kinds (some hold spaces), the schema against
 * the schema names the archive knows; each entry is then decided once,
 * relations first (on the server, by catalog_filter_names), the others by
 * what they depend on.
 */
#include "archive/archive_choose.h"

#include <stdlib.h>
#include <string.h>

#include "core/ddl.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* pg_dump's entry kinds that hold a space, longest first where one is the
 * start of another. */
static const char *const archive_choose_kinds[] = {
	"MATERIALIZED VIEW DATA", "MATERIALIZED VIEW", "TABLE DATA", "TABLE ATTACH", "FOREIGN TABLE",
	"SEQUENCE OWNED BY", "SEQUENCE SET", "FK CONSTRAINT", "CHECK CONSTRAINT", "INDEX ATTACH",
	"DATABASE PROPERTIES", "DEFAULT ACL", "EVENT TRIGGER", "ROW SECURITY", "SECURITY LABEL",
	"SHELL TYPE", "LARGE OBJECTS", "LARGE OBJECT", "BLOB METADATA", "ACCESS METHOD",
	"OPERATOR CLASS", "OPERATOR FAMILY", "PROCEDURAL LANGUAGE", "FOREIGN DATA WRAPPER",
	"FOREIGN SERVER", "USER MAPPING", "PUBLICATION TABLES IN SCHEMA", "PUBLICATION TABLE",
	"SUBSCRIPTION TABLE", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER",
	"TEXT SEARCH TEMPLATE", NULL
};

typedef enum choose_state
{
	CHOOSE_UNDECIDED = 0,
	CHOOSE_BUSY,				/* being decided (a dependency cycle) */
	CHOOSE_KEEP,
	CHOOSE_SKIP
} choose_state;

typedef struct choose_entry
{
	int			id;
	char	   *kind;
	char	   *schema;			/* NULL for "-" */
	char	   *name;
	const char *line;			/* into the listing */
	size_t		linelen;
	int		   *deps;			/* dump IDs */
	int			ndeps;
	bool		rel;			/* a relation the patterns choose */
	bool		schema_chosen;
	bool		rel_chosen;
	choose_state state;
} choose_entry;

typedef struct chooser
{
	choose_entry *e;
	int			n;
	int		   *by_id;			/* dump ID -> index + 1 */
	int			max_id;
	bool		everything;		/* no -n, no -t: objects outside schemas move */
	bool		no_large_objects;	/* large objects never move */
} chooser;

static bool
archive_choose_is(const choose_entry *e, const char *kind)
{
	return strcmp(e->kind, kind) == 0;
}

static bool
archive_choose_is_rel(const char *kind)
{
	return strcmp(kind, "TABLE") == 0 || strcmp(kind, "VIEW") == 0 || strcmp(kind, "MATERIALIZED VIEW") == 0
		|| strcmp(kind, "FOREIGN TABLE") == 0 || strcmp(kind, "SEQUENCE") == 0;
}

/* Entries every database has: always restored. */
static bool
archive_choose_is_database(const choose_entry *e)
{
	return archive_choose_is(e, "ENCODING") || archive_choose_is(e, "STDSTRINGS")
		|| archive_choose_is(e, "SEARCHPATH") || archive_choose_is(e, "DATABASE")
		|| archive_choose_is(e, "DATABASE PROPERTIES");
}

static choose_entry *
archive_choose_find(chooser *c, int id)
{
	if (id < 0 || id > c->max_id || c->by_id[id] == 0)
		return NULL;
	return &c->e[c->by_id[id] - 1];
}

/* The longest of names (n) that rest starts with, followed by a space. */
static const char *
archive_choose_prefix(const char *rest, const char *const *names, int n)
{
	const char *best = NULL;
	for (int i = 0; i < n; i++)
	{
		size_t		l = strlen(names[i]);
		if (strncmp(rest, names[i], l) == 0 && rest[l] == ' ' && (!best || l > strlen(best)))
			best = names[i];
	}
	return best;
}

void
archive_choose__split(const char *rest, const char *const *schemas, int nschemas, char **kind_out,
					  char **schema_out, char **name_out)
{
	const char *kind = NULL;
	for (int i = 0; archive_choose_kinds[i] && !kind; i++)
	{
		size_t		l = strlen(archive_choose_kinds[i]);
		if (strncmp(rest, archive_choose_kinds[i], l) == 0 && rest[l] == ' ')
			kind = archive_choose_kinds[i];
	}
	size_t		kl = kind ? strlen(kind) : strcspn(rest, " ");
	*kind_out = xstrndup(rest, kl);
	rest += kl;
	if (*rest == ' ')
		rest++;
	const char *s = strncmp(rest, "- ", 2) == 0 ? "-" : archive_choose_prefix(rest, schemas, nschemas);
	size_t		sl = s ? strlen(s) : strcspn(rest, " ");
	*schema_out = strcmp(s ? s : "", "-") == 0 ? NULL : xstrndup(rest, sl);
	rest += sl;
	if (*rest == ' ')
		rest++;
	/* The name, without the owner (the last word). */
	const char *sp = strrchr(rest, ' ');
	*name_out = xstrndup(rest, sp ? (size_t) (sp - rest) : strlen(rest));
}

/* Reads the listing into c (entries point into toc). */
static void
archive_choose_read(chooser *c, const char *toc, const manifest_db *mdb)
{
	/* The schema names: the archive's tables' and sequences', and those of
	 * the dump's SCHEMA entries ("SCHEMA - NAME OWNER"). */
	int			cap = mdb->ntables + mdb->nsequences + 16, ns = 0;
	const char **schemas = xcalloc((size_t) cap, sizeof *schemas);
	char	  **owned = NULL;
	int			nowned = 0;
	for (int i = 0; i < mdb->ntables; i++)
		schemas[ns++] = mdb->tables[i].schema;
	for (int i = 0; i < mdb->nsequences; i++)
		schemas[ns++] = mdb->sequences[i].schema;
	for (const char *p = toc; *p; p += strcspn(p, "\n"), p += *p == '\n')
	{
		const char *s = strstr(p, " SCHEMA - ");
		size_t		len = strcspn(p, "\n");
		if (p[0] < '0' || p[0] > '9' || !s || s > p + len)
			continue;
		s += strlen(" SCHEMA - ");
		const char *sp = s;
		for (const char *q = s; q < p + len; q++)
			if (*q == ' ')
				sp = q;
		if (sp <= s)
			continue;
		owned = xrealloc(owned, (size_t) (nowned + 1) * sizeof *owned);
		owned[nowned] = xstrndup(s, (size_t) (sp - s));
		if (ns == cap)
			schemas = xrealloc(schemas, (size_t) (cap *= 2) * sizeof *schemas);
		schemas[ns++] = owned[nowned++];
	}
	int			ecap = 64;
	c->e = xcalloc((size_t) ecap, sizeof *c->e);
	for (const char *p = toc; *p;)
	{
		size_t		len = strcspn(p, "\n");
		char	   *line = xstrndup(p, len);
		char	   *end;
		if (line[0] >= '0' && line[0] <= '9')
		{
			long		id = strtol(line, &end, 10);
			if (*end == ';')
			{
				strtoul(end + 1, &end, 10);
				strtoul(end, &end, 10);
				if (*end == ' ')
					end++;
				if (c->n == ecap)
					c->e = xrealloc(c->e, (size_t) (ecap *= 2) * sizeof *c->e);
				choose_entry *e = &c->e[c->n++];
				memset(e, 0, sizeof *e);
				e->id = (int) id;
				e->line = p;
				e->linelen = len;
				archive_choose__split(end, schemas, ns, &e->kind, &e->schema, &e->name);
				e->rel = archive_choose_is_rel(e->kind);
				if (e->id > c->max_id)
					c->max_id = e->id;
			}
		}
		else if (c->n > 0 && strncmp(line, ";\tdepends on:", 13) == 0)
		{
			choose_entry *e = &c->e[c->n - 1];
			for (char *q = line + 13; *q;)
			{
				long		d = strtol(q, &end, 10);
				if (end == q)
					break;
				e->deps = xrealloc(e->deps, (size_t) (e->ndeps + 1) * sizeof *e->deps);
				e->deps[e->ndeps++] = (int) d;
				q = end;
			}
		}
		free(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	c->by_id = xcalloc((size_t) c->max_id + 1, sizeof *c->by_id);
	for (int i = 0; i < c->n; i++)
		c->by_id[c->e[i].id] = i + 1;
	for (int i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	free(schemas);
}

static bool archive_choose_decide(chooser *c, choose_entry *e);

/* Whether every dependency of e that is an object of the database (not the
 * database itself, not a schema) is chosen; *any receives whether e has
 * such a dependency. */
static bool
archive_choose_deps_kept(chooser *c, choose_entry *e, bool *any)
{
	bool		all = true;
	*any = false;
	for (int i = 0; i < e->ndeps; i++)
	{
		choose_entry *d = archive_choose_find(c, e->deps[i]);
		if (!d || archive_choose_is_database(d) || archive_choose_is(d, "SCHEMA"))
			continue;
		*any = true;
		if (!archive_choose_decide(c, d))
			all = false;
	}
	return all;
}

/* The relation e belongs to: the one it depends on whose name, then a
 * space, starts its name ("users users_pkey", "users id"), else the only
 * relation it depends on; NULL when none. */
static choose_entry *
archive_choose_owner(chooser *c, const choose_entry *e)
{
	choose_entry *only = NULL;
	int			nrel = 0;
	for (int i = 0; i < e->ndeps; i++)
	{
		choose_entry *d = archive_choose_find(c, e->deps[i]);
		if (!d || !d->rel)
			continue;
		size_t		l = strlen(d->name);
		if (strncmp(e->name, d->name, l) == 0 && e->name[l] == ' ')
			return d;
		only = d;
		nrel++;
	}
	return nrel == 1 ? only : NULL;
}

/* Whether e is chosen (decided once). */
static bool
archive_choose_decide(chooser *c, choose_entry *e)
{
	if (e->state == CHOOSE_KEEP || e->state == CHOOSE_SKIP)
		return e->state == CHOOSE_KEEP;
	if (e->state == CHOOSE_BUSY)
		return true;			/* a cycle: the other entries decide */
	e->state = CHOOSE_BUSY;
	bool		keep;
	bool		any;
	choose_entry *owner;
	if (archive_choose_is_database(e))
		keep = true;
	else if (c->no_large_objects && (archive_choose_is(e, "BLOB") || archive_choose_is(e, "BLOB METADATA")
									 || archive_choose_is(e, "LARGE OBJECT")
									 || archive_choose_is(e, "LARGE OBJECTS")))
		keep = false;
	else if (archive_choose_is(e, "SEQUENCE") && (owner = archive_choose_owner(c, e)) != NULL)
		keep = archive_choose_decide(c, owner);	/* identity: only with its table */
	else if (archive_choose_is(e, "SEQUENCE"))
	{
		/* A serial sequence: chosen itself, or owned by a chosen table. */
		keep = e->rel_chosen;
		for (int i = 0; i < c->n && !keep; i++)
		{
			choose_entry *o = &c->e[i];
			if (!archive_choose_is(o, "SEQUENCE OWNED BY") || strcmp(o->name, e->name) != 0
				|| strcmp(o->schema ? o->schema : "", e->schema ? e->schema : "") != 0)
				continue;
			for (int k = 0; k < o->ndeps && !keep; k++)
			{
				choose_entry *d = archive_choose_find(c, o->deps[k]);
				if (d && d != e && d->rel && !archive_choose_is(d, "SEQUENCE"))
					keep = archive_choose_decide(c, d);
			}
		}
	}
	else if (e->rel)
		keep = e->rel_chosen;
	else if (archive_choose_is(e, "SCHEMA"))
		keep = e->schema_chosen;
	else if ((owner = archive_choose_owner(c, e)) != NULL && !archive_choose_is(e, "SEQUENCE OWNED BY")
			 && !archive_choose_is(e, "TABLE ATTACH"))
		keep = archive_choose_decide(c, owner);
	else if (keep = archive_choose_deps_kept(c, e, &any), any)
		;
	else if (e->schema)
		keep = e->schema_chosen;
	else
		keep = c->everything;
	e->state = keep ? CHOOSE_KEEP : CHOOSE_SKIP;
	return keep;
}

/* The entry of relation schema.name, if the listing has one. */
static choose_entry *
archive_choose_rel(chooser *c, const char *schema, const char *name, bool sequence)
{
	for (int i = 0; i < c->n; i++)
	{
		choose_entry *e = &c->e[i];
		if (e->rel && archive_choose_is(e, "SEQUENCE") == sequence && e->schema
			&& strcmp(e->schema, schema) == 0 && strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

int
archive_choose(PGconn *conn, const catalog_filter *f, bool no_large_objects, const char *root,
			   const manifest_db *mdb, archive_choice *out, pgc_err *err)
{
	memset(out, 0, sizeof *out);
	char	   *path = xasprintf("%s/%s", root, mdb->schema_file);
	const char *argv[] = {"pg_restore", "--list", "--verbose", path, NULL};
	buf_t		toc = {0},
				errout = {0};
	ddl_child_io io = {.out = &toc, .errout = &errout};
	int			st = ddl_run(argv, &io, err);
	free(path);
	if (st != 0)
	{
		if (st > 0)
		{
			err_set(err, "pg_restore could not list the schema of database \"%s\" in the archive", mdb->name);
			err_detail(err, "%s", errout.data ? errout.data : "");
		}
		buf_free(&toc);
		buf_free(&errout);
		return -1;
	}
	buf_free(&errout);
	chooser		c = {0};
	archive_choose_read(&c, toc.data ? toc.data : "", mdb);
	c.everything = catalog_filter_large_objects(f);
	c.no_large_objects = no_large_objects;

	/* One question to the server: every entry's schema, and the
	 * relations', then the archive's tables (an extension's configuration
	 * table has no entry of its own). */
	int			n = c.n + mdb->ntables;
	const char **schemas = xcalloc((size_t) n + 1, sizeof *schemas);
	const char **rels = xcalloc((size_t) n + 1, sizeof *rels);
	bool	   *sch = xcalloc((size_t) n + 1, sizeof *sch);
	bool	   *rel = xcalloc((size_t) n + 1, sizeof *rel);
	for (int i = 0; i < c.n; i++)
	{
		choose_entry *e = &c.e[i];
		schemas[i] = archive_choose_is(e, "SCHEMA") ? e->name : e->schema ? e->schema : "";
		rels[i] = e->rel ? e->name : NULL;
	}
	for (int i = 0; i < mdb->ntables; i++)
	{
		schemas[c.n + i] = mdb->tables[i].schema;
		rels[c.n + i] = mdb->tables[i].name;
	}
	int			rc = catalog_filter_names(conn, f, schemas, rels, n, sch, rel, err);
	if (rc == 0)
	{
		for (int i = 0; i < c.n; i++)
		{
			c.e[i].schema_chosen = sch[i];
			c.e[i].rel_chosen = rel[i];
		}
		buf_t		kept = {0};
		for (int i = 0; i < c.n; i++)
		{
			choose_entry *e = &c.e[i];
			if (archive_choose_decide(&c, e))
			{
				/* The database's own entries are listed only with
				 * --verbose: the list to compare with has none. */
				if (!archive_choose_is_database(e))
					buf_printf(&kept, "%.*s\n", (int) e->linelen, e->line);
			}
			else
			{
				out->skip_ids = xrealloc(out->skip_ids, (size_t) (out->nskip + 1) * sizeof *out->skip_ids);
				out->skip_ids[out->nskip++] = e->id;
			}
		}
		out->toc = kept.data ? buf_steal(&kept) : xstrdup("");
		out->db = *mdb;
		out->db.tables = xcalloc((size_t) mdb->ntables + 1, sizeof *out->db.tables);
		out->db.sequences = xcalloc((size_t) mdb->nsequences + 1, sizeof *out->db.sequences);
		out->db.ntables = out->db.nsequences = 0;
		for (int i = 0; i < mdb->ntables; i++)
		{
			const manifest_table *t = &mdb->tables[i];
			choose_entry *e = archive_choose_rel(&c, t->schema, t->name, false);
			if (e ? archive_choose_decide(&c, e) : rel[c.n + i])
				out->db.tables[out->db.ntables++] = *t;
			else
				out->tables_left++;
		}
		for (int i = 0; i < mdb->nsequences; i++)
		{
			const manifest_sequence *s = &mdb->sequences[i];
			choose_entry *e = archive_choose_rel(&c, s->schema, s->name, true);
			if (!e || archive_choose_decide(&c, e))
				out->db.sequences[out->db.nsequences++] = *s;
			else
				out->sequences_left++;
		}
		if (!c.everything || no_large_objects)
		{
			out->db.lo_count = 0;
			out->db.lo_file = NULL;
			out->db.lo_rows = 0;
		}
	}
	for (int i = 0; i < c.n; i++)
	{
		free(c.e[i].kind);
		free(c.e[i].schema);
		free(c.e[i].name);
		free(c.e[i].deps);
	}
	free(c.e);
	free(c.by_id);
	free(schemas);
	free(rels);
	free(sch);
	free(rel);
	buf_free(&toc);
	return rc;
}

void
archive_choice_free(archive_choice *c)
{
	free(c->db.tables);
	free(c->db.sequences);
	free(c->skip_ids);
	free(c->toc);
	memset(c, 0, sizeof *c);
}
