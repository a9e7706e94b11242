/*
 * archive_import_plan.c: "pgcarry import --dry-run" of a pgcarry archive:
 * every check an import makes before it writes, and the plan, on stdout.
 *
 * The archive's files have been checked against the manifest already
 * (archive_import_run does that first, dry run or not).  Here, reading the
 * target only: pg_restore new enough for it; the right to create
 * databases; each database's fate (created, replaced with --clean, resumed,
 * filled, or refused, with archive_target_prepare's own message); the
 * extensions its schema needs that the target cannot install; the roles
 * that own its objects and are missing (unless --roles or --no-owner);
 * then its tables with their rows and sizes in the archive.  Nothing is
 * created: no database, no temporary file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_choose.h"
#include "archive/archive_import_int.h"
#include "archive/archive_target.h"
#include "conn.h"
#include "core/catalog.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Adds name to the sorted, unique list *names (*n of them). */
static void
archive_plan_add_name(char ***names, int *n, const char *name, size_t len)
{
	for (int i = 0; i < *n; i++)
		if (strlen((*names)[i]) == len && strncmp((*names)[i], name, len) == 0)
			return;
	*names = xrealloc(*names, (size_t) (*n + 1) * sizeof **names);
	(*names)[(*n)++] = xstrndup(name, len);
}


/*
 * From a table of contents (pg_restore --list lines "ID; CLASSID OBJID
 * KIND SCHEMA NAME OWNER"): the extensions it creates and the roles that
 * own its entries.
 */
static void
archive_plan_toc_needs(const char *toc, char ***exts, int *nexts, char ***owners, int *nowners)
{
	for (const char *p = toc; p && *p;)
	{
		size_t		len = strcspn(p, "\n");
		if (p[0] >= '0' && p[0] <= '9' && len > 0 && p[len - 1] != ' ')
		{
			const char *sp = p + len;
			while (sp > p && sp[-1] != ' ')
				sp--;
			archive_plan_add_name(owners, nowners, sp, (size_t) (p + len - sp));
			const char *e = strstr(p, " EXTENSION - ");
			if (e && e < p + len)
			{
				e += strlen(" EXTENSION - ");
				if (sp - 1 > e)
					archive_plan_add_name(exts, nexts, e, (size_t) (sp - 1 - e));
			}
		}
		p += len;
		if (*p == '\n')
			p++;
	}
}


/* The archive's bytes for table t (its data files). */
static uint64_t
archive_plan_table_bytes(const manifest_paths *files, const manifest_table *t)
{
	uint64_t	bytes = 0;
	for (int p = 0; p < t->nparts; p++)
	{
		const manifest_path *f = manifest_paths_find(files, t->parts[p].file);
		if (f && f->item)
			bytes += ((const manifest_file *) f->item)->info.size;
	}
	return bytes;
}

/* One database's plan.  Returns its number of problems, or -1 with err set
 * when the target or the archive could not be read. */
static int
archive_plan_db(const archive_import_opts *o, const char *root, const manifest *m, const manifest_db *mdb,
				const archive_choice *choice, PGconn *maint, const ddl_tools *tools, bool can_create,
				pgc_err *err)
{
	const char *name = archive_import__target_name(o, mdb->name);
	int			problems = 0;
	archive_target_opts topts = {.clean = o->cli.clean, .resume = o->cli.resume};
	archive_target_action action;
	pgc_err		e = PGC_ERR_INIT;
	if (o->data_only)
	{
		/* No schema is restored: only the tables' state matters. */
		import_db	idb = {.o = o, .name = name, .mdb = mdb};
		bool		ok = archive_import__data_target(&idb, &e) == 0;
		printf("database \"%s\": %s\n", name,
			   ok ? "exists with the tables, empty: the rows would be loaded (--data-only)" : "refused");
		if (!ok)
		{
			err_report(&e);
			err_clear(&e);
			problems++;
		}
		goto tables;
	}
	if (archive_target_check(o->cli.target, name, &topts, &action, &e) != 0 && action != ARCHIVE_TARGET_REFUSE)
	{
		err_move(err, &e);
		return -1;
	}
	static const char *const what[] = {
		[ARCHIVE_TARGET_ERROR] = "unknown",
		[ARCHIVE_TARGET_REFUSE] = "refused",
		[ARCHIVE_TARGET_CREATE] = "would be created",
		[ARCHIVE_TARGET_RECREATE] = "would be dropped and created again (--clean)",
		[ARCHIVE_TARGET_RESUME] = "holds an unfinished import: would be resumed (--resume)",
		[ARCHIVE_TARGET_FILL] = "exists on the target, empty: would be filled",
	};
	if (strcmp(name, mdb->name) != 0)
		printf("database \"%s\" (\"%s\" in the archive): %s\n", name, mdb->name, what[action]);
	else
		printf("database \"%s\": %s\n", name, what[action]);
	if (action == ARCHIVE_TARGET_REFUSE)
	{
		err_report(&e);
		err_clear(&e);
		problems++;
	}
	if (!can_create && (action == ARCHIVE_TARGET_CREATE || action == ARCHIVE_TARGET_RECREATE))
	{
		err_set(&e, "the target's user may not create database \"%s\"", name);
		err_hint(&e, "Connect to the target as a role with CREATEDB, or create the database first.");
		err_report(&e);
		err_clear(&e);
		problems++;
	}

	/* What its schema needs of the target. */
	char	   *file = xasprintf("%s/%s", root, mdb->schema_file);
	ddl_dump   *dump = ddl_dump_open(file);
	free(file);
	const char *toc = NULL;
	if (!choice && ddl_dump_toc(tools, dump, NULL, NULL, err) != 0)
	{
		ddl_dump_free(dump);
		return -1;
	}
	toc = choice ? choice->toc : ddl_dump_toc_text(dump);
	char	  **exts = NULL,
			  **owners = NULL;
	int			nexts = 0,
				nowners = 0,
				nmissing = 0;
	const char **missing = NULL;
	int			rc = 0;
	archive_plan_toc_needs(toc, &exts, &nexts, &owners, &nowners);
	if (mdb->owner)
		archive_plan_add_name(&owners, &nowners, mdb->owner, strlen(mdb->owner));
	if (catalog_missing(maint, CATALOG_NEED_EXTENSION, exts, nexts, &missing, &nmissing, err) != 0)
		rc = -1;
	else if (nmissing > 0)
	{
		catalog_report_missing(name, "extensions", missing, nmissing,
							 "Install the extensions' packages on the target server first.");
		problems++;
	}
	free(missing);
	missing = NULL;
	if (rc == 0 && !o->no_owner && !(o->cli.roles && m->roles_file))
	{
		if (catalog_missing_roles(maint, owners, nowners, &missing, &nmissing, err) != 0)
			rc = -1;
		else if (nmissing > 0)
		{
			catalog_report_missing(name, "roles", missing, nmissing,
								 "Import the roles too (--roles), or load without owners (--no-owner).");
			problems++;
		}
		free(missing);
	}
	catalog_names_free(exts, nexts);
	catalog_names_free(owners, nowners);
	ddl_dump_free(dump);
	if (rc != 0)
		return -1;

tables:;
	manifest_paths files = {0};
	manifest_paths_of_files(&files, m->files, m->nfiles);
	uint64_t	rows = 0,
				bytes = 0;
	for (int t = 0; t < mdb->ntables; t++)
	{
		rows += mdb->tables[t].rows;
		bytes += archive_plan_table_bytes(&files, &mdb->tables[t]);
	}
	printf("  %d tables (%llu rows, %llu bytes in the archive), %d sequences, %llu large objects\n",
		   mdb->ntables, (unsigned long long) rows, (unsigned long long) bytes, mdb->nsequences,
		   (unsigned long long) (mdb->lo_file ? mdb->lo_count : 0));
	for (int t = 0; t < mdb->ntables; t++)
	{
		char	   *disp = archive_import__display(mdb->tables[t].schema, mdb->tables[t].name);
		printf("  table %s  %llu rows  %llu bytes\n", disp, (unsigned long long) mdb->tables[t].rows,
			   (unsigned long long) archive_plan_table_bytes(&files, &mdb->tables[t]));
		free(disp);
	}
	manifest_paths_free(&files);
	return problems;
}

int
archive_import__plan(const archive_import_opts *o, const char *root, const manifest *m,
					 const manifest_db *const *chosen, const archive_choice *choices, int nchosen)
{
	pgc_err		err = PGC_ERR_INIT;
	int			problems = 0;
	int			rc = EXIT_FAIL;
	bool		can_create = false;
	ddl_tools  *tools = NULL;
	PGconn	   *maint = conn_open(o->cli.target, "postgres", "target", &err);
	if (!maint || !(tools = ddl_tools_find(PQserverVersion(maint), "target", &err))
		|| catalog_can_create_db(maint, &can_create, &err) != 0)
		goto done;
	printf("Plan (dry run: nothing was written)\n");
	printf("pg_restore from %s (version %d)\n", ddl_tools_bindir(tools), ddl_tools_major(tools));
	printf("archive \"%s\": %d database%s to import\n", o->input, nchosen, nchosen == 1 ? "" : "s");
	if (o->cli.roles)
		printf(m->roles_file ? "roles would be created from the archive's %s\n"
			   : "the archive holds no roles%s (it was exported without --roles)\n",
			   m->roles_file ? m->roles_file : "");
	for (int i = 0; i < nchosen; i++)
	{
		log_set_database(archive_import__target_name(o, chosen[i]->name));
		int			n = archive_plan_db(o, root, m, chosen[i], choices ? &choices[i] : NULL, maint, tools,
									can_create, &err);
		log_set_database(NULL);
		if (n < 0)
			goto done;
		problems += n;
	}
	if (problems)
		printf("The import would fail: %d %s (see above).\n", problems, problems == 1 ? "problem" : "problems");
	else
		printf("The import would work.\n");
	rc = problems ? EXIT_FAIL : EXIT_OK;
done:
	if (err.set)
		err_report(&err);
	err_clear(&err);
	ddl_tools_free(tools);
	conn_close(maint);
	return rc;
}
