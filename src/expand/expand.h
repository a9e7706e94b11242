/*
 * expand.h: expand/contract migrations on a live database (the
 * "pgcarry schema start | complete | rollback" verbs and their status).
 *
 * cmd_schema (src/schema/) dispatches those verbs here.
 */
#ifndef PGCARRY_EXPAND_H
#define PGCARRY_EXPAND_H

#include <jansson.h>
#include <libpq-fe.h>

#include "util/err.h"

/*
 * Runs "pgcarry schema VERB ..." for VERB in start, complete, rollback;
 * argv[0] is the verb.  Returns an exit status (EXIT_OK, EXIT_FAIL,
 * EXIT_USAGE, EXIT_DIFFERENT).
 */
int expand_main(int argc, char **argv);

/*
 * Adds the state of expand/contract migrations on this database to
 * "pgcarry schema status": with json_out NULL it prints a human section on
 * stdout (nothing when none ever ran); otherwise it sets key "expand" in
 * json_out.  Returns 0, or -1 with err set.
 */
int expand_status_show(PGconn *conn, json_t *json_out, pgc_err *err);

#endif
