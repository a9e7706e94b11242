/*
 * state.h: what a long job has finished, kept on disk so that a run
 * interrupted by anything (Ctrl-C, kill -9, a lost connection, a reboot)
 * can be resumed without redoing finished work.
 *
 * One SQLite file per job kind and pair of servers, under the state
 * directory (--state-dir; default $XDG_STATE_HOME/pgcarry, else
 * ~/.local/state/pgcarry), created 0700 for the directory and 0600 for the
 * file.  It holds, per database, the last phase reached (created, pre-data
 * done, data done, post-data done, verified), and per unit of work (a
 * table, the large objects) that it is done, with its row count and
 * checksum, and whether the target was verified equal.  It never holds a
 * password or a connection string: only server descriptions such as
 * "127.0.0.1:5432".
 *
 * A unit is recorded done only after its data committed on the target;
 * a crash between the commit and the record means the unit is redone,
 * never that a partial unit counts as done.  A second process working on
 * the same pair is refused (an flock on "<file>.lock").
 */
#ifndef PGCARRY_STATE_H
#define PGCARRY_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/rowhash.h"

typedef struct state state;

typedef enum state_phase
{
	STATE_NONE = 0,				/* nothing recorded */
	STATE_CREATING,				/* CREATE DATABASE started */
	STATE_CREATED,				/* the database exists, empty */
	STATE_PRE_DATA,				/* pre-data schema applied */
	STATE_DATA,					/* every unit's data committed */
	STATE_POST_DATA,			/* post-data schema applied */
	STATE_VERIFIED				/* done, and verified equal */
} state_phase;

/* "none", "creating", "created", "pre-data done", ... */
const char *state_phase_name(state_phase p);

/* The default state directory (owned by the caller). */
char *state_default_dir(void);

/*
 * Opens (creating it and dir when needed) the state of job kind ("copy")
 * between the servers described by source_key and target_key (password-free
 * descriptions).  Returns the handle, or NULL with err set: unwritable
 * directory, a corrupt file, or another process holding it.
 */
state *state_open(const char *dir, const char *kind, const char *source_key,
				  const char *target_key, pgc_err *err);
void state_close(state *s);

/* The file's path, for messages. */
const char *state_path(const state *s);

/* Phase of database db (STATE_NONE when nothing is recorded). */
int state_db_get(state *s, const char *db, state_phase *phase, pgc_err *err);
int state_db_set(state *s, const char *db, state_phase phase, pgc_err *err);
/* Forgets db and all its units (a fresh start). */
int state_db_forget(state *s, const char *db, pgc_err *err);

typedef struct state_unit
{
	bool		done;			/* committed on the target */
	rowhash		hash;			/* rows and checksum of the source's data */
	bool		verified;		/* the target was verified equal */
} state_unit;

/* The record of unit (e.g. "table public.users") of db; out->done false
 * when none.  Returns 0 or -1 with err set. */
int state_unit_get(state *s, const char *db, const char *unit, state_unit *out, pgc_err *err);
/* Records unit as done, with the source's rows and checksum (not verified
 * yet). */
int state_unit_done(state *s, const char *db, const char *unit, const rowhash *hash, pgc_err *err);
/* Records whether the target was verified equal. */
int state_unit_verified(state *s, const char *db, const char *unit, bool equal, pgc_err *err);

/*
 * Calls fn for every unit recorded for db (in name order) until fn returns
 * non-zero.  Returns 0, or -1 with err set.
 */
int state_unit_each(state *s, const char *db,
					int (*fn) (void *arg, const char *unit, const state_unit *u), void *arg,
					pgc_err *err);

#endif
