/*
 * archive_verify.c: checking an archive against its manifest
 * (archive_verify.h), and the "pgcarry verify-archive" command.
 */
#include "archive/archive_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/tarstream.h"
#include "cleanup.h"
#include "cli.h"
#include "commands.h"
#include "util/log.h"
#include "util/xalloc.h"

static void
archive_verify_add(archive_verify_report *r, const char *file, char *message)
{
	r->problems = xrealloc(r->problems, sizeof *r->problems * (size_t) (r->nproblems + 1));
	r->problems[r->nproblems].file = xstrdup(file);
	r->problems[r->nproblems].message = message;
	r->nproblems++;
}

void
archive_verify_report_free(archive_verify_report *r)
{
	for (int i = 0; i < r->nproblems; i++)
	{
		free(r->problems[i].file);
		free(r->problems[i].message);
	}
	free(r->problems);
	memset(r, 0, sizeof *r);
}

/* Is path one of the files the check must look at? */
static bool
archive_verify_wanted(const manifest *m, const char *path, const char *dbname, bool roles)
{
	if (!dbname)
		return true;
	if (m->roles_file && strcmp(path, m->roles_file) == 0)
		return roles;
	for (int i = 0; i < m->ndbs; i++)
		if (strcmp(m->dbs[i].name, dbname) == 0)
		{
			size_t n = strlen(m->dbs[i].dir);
			return strncmp(path, m->dbs[i].dir, n) == 0 && path[n] == '/';
		}
	return false;
}

static void
archive_verify_listed(const manifest *m, const char *path, archive_verify_report *r)
{
	if (path && !manifest_find_file(m, path))
		archive_verify_add(r, path, xasprintf("archive file \"%s\" is not listed in the manifest", path));
}

int
archive_verify_run(const char *root, const manifest *m, const char *dbname, bool roles,
				   bool stop_at_first, archive_verify_report *r, pgc_err *err)
{
	/* Files a database refers to must be listed, or they are unchecked. */
	for (int i = 0; i < m->ndbs; i++)
	{
		const manifest_db *db = &m->dbs[i];
		if (dbname && strcmp(db->name, dbname) != 0)
			continue;
		archive_verify_listed(m, db->schema_file, r);
		archive_verify_listed(m, db->sequences_file, r);
		archive_verify_listed(m, db->lo_file, r);
		for (int t = 0; t < db->ntables; t++)
			for (int p = 0; p < db->tables[t].nparts; p++)
				archive_verify_listed(m, db->tables[t].parts[p].file, r);
		if (stop_at_first && r->nproblems)
			return 0;
	}
	if (roles || !dbname)
		archive_verify_listed(m, m->roles_file, r);

	for (int i = 0; i < m->nfiles; i++)
	{
		if (stop_at_first && r->nproblems)
			return 0;
		const manifest_file *f = &m->files[i];
		if (!archive_verify_wanted(m, f->path, dbname, roles))
			continue;
		char *path = xasprintf("%s/%s", root, f->path);
		archive_file_info got;
		int rc = archive_file_checksum(path, &got, err);
		free(path);
		if (rc < 0)
			return -1;
		r->nfiles++;
		if (rc == 1)
		{
			archive_verify_add(r, f->path, xasprintf("archive file \"%s\" is missing", f->path));
			continue;
		}
		r->bytes += got.size;
		if (got.size != f->info.size)
			archive_verify_add(r, f->path,
							   xasprintf("archive file \"%s\" has the wrong size: expected %llu bytes, found %llu",
										 f->path, (unsigned long long) f->info.size,
										 (unsigned long long) got.size));
		else if (strcmp(got.sha256, f->info.sha256) != 0)
			archive_verify_add(r, f->path,
							   xasprintf("archive file \"%s\" has the wrong checksum: expected sha256 %s, found %s",
										 f->path, f->info.sha256, got.sha256));
	}
	return 0;
}

/* ---------------------------------------------------- verify-archive */

static void
archive_verify_help(void)
{
	printf("pgcarry verify-archive checks a pgcarry archive without a server.\n"
		   "\n"
		   "Usage:\n"
		   "  pgcarry verify-archive PATH\n"
		   "\n"
		   "PATH is an archive directory or a tar archive (\"-\" reads the tar from\n"
		   "standard input).  Checks that the manifest is well formed and that every\n"
		   "file it lists is there with the right size and SHA-256.\n"
		   "\n"
		   "Exit status: 0 the archive is whole, 3 problems were found (each named),\n"
		   "1 the check could not run, 2 usage error.\n"
		   "\n%s", cli_common_help);
}

int
cmd_verify_archive(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1)
	{
		switch (opt)
		{
			default:
			{
				int c = cli_other_option("verify-archive", opt, argv);
				if (c < 0)
				{
					archive_verify_help();
					return EXIT_OK;
				}
				if (c != 0)
					return c;
			}
		}
	}
	if (optind >= argc)
		return cli_usage_error("verify-archive", "give the archive to check");
	if (optind + 1 < argc)
		return cli_usage_error("verify-archive", "unexpected argument \"%s\"", argv[optind + 1]);
	const char *path = argv[optind];

	pgc_err err = PGC_ERR_INIT;
	const char *root = path;
	struct stat st;
	if (strcmp(path, "-") != 0 && stat(path, &st) != 0)
	{
		err_set(&err, "archive \"%s\" does not exist", path);
		err_report(&err);
		err_clear(&err);
		return EXIT_FAIL;
	}
	if (strcmp(path, "-") == 0 || !S_ISDIR(st.st_mode))
	{
		const char *tmp = cleanup_private_tmpdir(&err);
		if (!tmp)
		{
			err_report(&err);
			err_clear(&err);
			return EXIT_FAIL;
		}
		if (tarstream_extract(path, tmp, &err) != 0)
		{
			err_report(&err);
			err_clear(&err);
			return EXIT_DIFFERENT;
		}
		root = tmp;
	}
	manifest *m = manifest_read(root, &err);
	if (!m)
	{
		if (root != path && err.message && strstr(err.message, "has no " MANIFEST_NAME))
		{
			/* Name the tar the user gave, not the temporary directory. */
			err_clear(&err);
			err_set(&err, "archive \"%s\" has no %s", path, MANIFEST_NAME);
			err_detail(&err, "The tar stream ends before its manifest: it was cut short, or the export did not finish.");
		}
		err_report(&err);
		err_clear(&err);
		return EXIT_DIFFERENT;
	}
	archive_verify_report rep = {0};
	int rc;
	if (archive_verify_run(root, m, NULL, true, false, &rep, &err) != 0)
	{
		err_report(&err);
		rc = EXIT_FAIL;
	}
	else if (rep.nproblems > 0)
	{
		for (int i = 0; i < rep.nproblems; i++)
			log_report(LOG_ERROR, rep.problems[i].message, NULL, NULL);
		char *msg = xasprintf("archive \"%s\" failed verification: %d problem%s", path,
							  rep.nproblems, rep.nproblems == 1 ? "" : "s");
		log_report(LOG_ERROR, msg, NULL,
				   "Copy the archive again from where it came from, or export it again.");
		free(msg);
		rc = EXIT_DIFFERENT;
	}
	else
	{
		int ntables = 0;
		for (int i = 0; i < m->ndbs; i++)
			ntables += m->dbs[i].ntables;
		printf("archive %s is whole: %d database%s, %d table%s, %d files, %llu bytes checked\n",
			   path, m->ndbs, m->ndbs == 1 ? "" : "s", ntables, ntables == 1 ? "" : "s",
			   rep.nfiles, rep.bytes);
		rc = EXIT_OK;
	}
	archive_verify_report_free(&rep);
	manifest_destroy(m);
	err_clear(&err);
	return rc;
}
