/*
 * archive_target.h: the target database of an import, and its "unfinished"
 * mark.
 *
 * How it works: an import creates the target database (or takes an empty
 * one), and before loading anything marks it with
 *   ALTER DATABASE "x" SET pgcarry.import = 'unfinished'
 * which anyone can see (SHOW pgcarry.import in that database; psql \drds).
 * Only an import that loaded and verified everything removes the mark
 * (RESET).  A database that holds objects and no mark is refused unless
 * the user asks to replace it (--clean: DROP DATABASE, then create); one
 * with the mark is refused unless --clean or --resume.
 */
#ifndef PGCARRY_ARCHIVE_TARGET_H
#define PGCARRY_ARCHIVE_TARGET_H

#include <stdbool.h>

#include "util/err.h"

#define ARCHIVE_TARGET_GUC "pgcarry.import"

typedef struct archive_target_opts
{
	bool		clean;			/* replace an existing database */
	const char *clean_why;		/* said when it is dropped; NULL: "--clean" */
	bool		resume;			/* finish an earlier import (marked) */
	const char *encoding;		/* for CREATE DATABASE; NULL: server default */
	const char *lc_collate;
	const char *lc_ctype;
	const char *owner;			/* ALTER DATABASE OWNER TO, when the role exists */
} archive_target_opts;

/* What archive_target_prepare would do with a database. */
typedef enum archive_target_action
{
	ARCHIVE_TARGET_ERROR,		/* could not be told (the target unreachable) */
	ARCHIVE_TARGET_REFUSE,		/* it holds objects, or an unfinished import */
	ARCHIVE_TARGET_CREATE,		/* it does not exist: created */
	ARCHIVE_TARGET_RECREATE,	/* --clean: dropped and created again */
	ARCHIVE_TARGET_RESUME,		/* --resume of its unfinished import */
	ARCHIVE_TARGET_FILL			/* it exists and is empty: filled */
} archive_target_action;

/*
 * The checks archive_target_prepare makes, writing nothing: *action
 * receives what it would do with database dbname.  Returns 0, or -1 with
 * err set: a refusal, with the way out (*action ARCHIVE_TARGET_REFUSE), or
 * the target could not be read (ARCHIVE_TARGET_ERROR).
 */
int archive_target_check(const char *target, const char *dbname, const archive_target_opts *opts,
						 archive_target_action *action, pgc_err *err);

/*
 * Makes database dbname on the target server ready to load: created when
 * missing, replaced with opts->clean, kept with opts->resume when it holds
 * an unfinished import; refused when it holds objects otherwise.  Marks it
 * unfinished.  *resuming tells whether an earlier import is being
 * finished.  Returns 0, or -1 with err set (a refusal names the way out).
 */
int archive_target_prepare(const char *target, const char *dbname, const archive_target_opts *opts,
						   bool *resuming, pgc_err *err);

/* Drops database dbname on the target (one this import created and must
 * not leave behind), logging why.  Returns 0, or -1 with err set. */
int archive_target_drop(const char *target, const char *dbname, const char *why, pgc_err *err);

/* Removes the unfinished mark: the import of dbname is done.  Returns 0,
 * or -1 with err set. */
int archive_target_mark_done(const char *target, const char *dbname, pgc_err *err);

/* Whether dbname exists on the target and carries the unfinished mark
 * (*marked), for tests and resume.  Returns 0, -1 with err set. */
int archive_target_state(const char *target, const char *dbname, bool *exists, bool *marked,
						 pgc_err *err);

#endif
