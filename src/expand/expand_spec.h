/*
 * expand_spec.h: reading and checking expand/contract migration files.
 *
 * A migration file is one JSON object (see docs/expand-contract.md): a name
 * and a list of operations, each either built in (add_column,
 * add_constraint, create_index, change_type, rename_column,
 * move_columns_to_table) or raw SQL ("sql") with the same phases.  This
 * module only reads and checks the file's shape; it knows nothing of a
 * server, so every malformed-file message can be unit-tested.
 */
#ifndef PGCARRY_EXPAND_SPEC_H
#define PGCARRY_EXPAND_SPEC_H

#include <jansson.h>

#include "util/err.h"

/* Longest migration name: it becomes part of trigger and function names. */
#define EXPAND_SPEC_NAME_MAX 40

/*
 * Checks a parsed migration (root) read from path (used in messages only).
 * Returns 0 when every operation is well formed; -1 with err set to one
 * clear sentence naming the file, the operation and the key, plus a hint
 * (exit status EXIT_USAGE).
 */
int expand_spec_check(json_t *root, const char *path, pgc_err *err);

/*
 * Reads and checks a migration file.  Returns the JSON object (json_decref
 * it) with *checksum_out set to the hex SHA-256 of the file's bytes (owned
 * by the caller), or NULL with err set (EXIT_USAGE for a malformed file,
 * EXIT_FAIL when it cannot be read).
 */
json_t *expand_spec_load(const char *path, char **checksum_out, pgc_err *err);

/* The value of string key k of object o, or def when absent. */
const char *expand_spec_str(const json_t *o, const char *k, const char *def);

/* The value of boolean key k of object o, or def when absent. */
int expand_spec_bool(const json_t *o, const char *k, int def);

#endif
