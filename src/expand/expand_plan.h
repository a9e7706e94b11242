/*
 * expand_plan.h: turning a checked expand/contract migration into SQL.
 *
 * For each operation the generator reads what it needs from the catalog
 * (the table's single-column primary key, column types, defaults, owned
 * sequences) and writes every statement of every phase: expand, backfill,
 * validate, verify, contract and rollback.  The result is a JSON document
 * (the "plan") that "pgcarry schema start" stores in the database, so that
 * complete and rollback run exactly the SQL that was planned at start, even
 * after a crash or with the file gone.
 *
 * Plan layout:
 *   {"name": ..., "ops": ["add_column public.t.c", ...],
 *    "expand" | "validate" | "contract" | "rollback": [step, ...],
 *    "backfill": [{"label", "end_sql", "count_sql", "keys_sql", "batch_sql"}],
 *    "verify":   [{"label", "keys_sql"?, "batch_sql"?, "once_sql"?, "counts_sql"?}],
 *    "loss_sql": "a count of rows only in the new shape" (optional)}
 *   step: {"what", "sql", "autocommit", "done_sql"?, "undo_sql"?}
 * Batch statements take text parameters: keys_sql ($1 last key or NULL,
 * $2 batch size, $3 end key) returns (max key, count) of the next batch of
 * rows that need work, locking them when the copy needs it; batch_sql ($1 low key exclusive or NULL, $2 high key inclusive)
 * does or checks that batch.  Verification statements return
 * (key, problem) rows; counts_sql returns (what, old, new) rows.
 */
#ifndef PGCARRY_EXPAND_PLAN_H
#define PGCARRY_EXPAND_PLAN_H

#include <jansson.h>
#include <libpq-fe.h>

#include "util/err.h"

/* The transaction-local setting that turns pgcarry's sync triggers off. */
#define EXPAND_PLAN_GUARD "pgcarry.expand_sync"

/*
 * The transaction-local setting in which a sync trigger names the explicit
 * change that makes it delete or overwrite a row of the other shape (empty
 * when none does); the audit triggers record it in EXPAND_PLAN_SCHEMA
 * .sync_changes with the row's key.  (change_type and rename_column flag
 * an overwrite in a setting of each operation's own instead,
 * "pgcarry.overwrote_<migration>_<operation number>"; see plan_new_column.)
 */
#define EXPAND_PLAN_CAUSE "pgcarry.expand_cause"

/* The schema pgcarry keeps its state and sync functions in. */
#define EXPAND_PLAN_SCHEMA "pgcarry_expand"

/*
 * Builds the plan of a migration checked by expand_spec_check, reading the
 * catalog through conn.  Returns the plan (json_decref it), or NULL with err
 * set to one clear sentence naming the operation (for example a missing
 * table, a table without a single-column primary key, an unknown type).
 */
json_t *expand_plan_build(PGconn *conn, json_t *spec, pgc_err *err);

#endif
