/*
 * pending.c: placeholders for commands whose modules are not in this build.
 *
 * Each is a weak symbol: the module that implements the command defines the
 * strong one, and this file's version disappears from the link.  A
 * placeholder says so and fails; it never pretends to have done the work.
 */
#include "commands.h"

#include <stddef.h>
#include "util/err.h"
#include "util/log.h"

#define PENDING_COMMAND(fn, name) \
	__attribute__((weak)) int fn(int argc, char **argv) \
	{ \
		(void) argc; (void) argv; \
		log_report(LOG_ERROR, "\"pgcarry " name "\" is not available in this build", NULL, NULL); \
		return EXIT_FAIL; \
	}

PENDING_COMMAND(cmd_copy, "copy")
PENDING_COMMAND(cmd_compare, "compare")
PENDING_COMMAND(cmd_export, "export")
PENDING_COMMAND(cmd_import, "import")
PENDING_COMMAND(cmd_verify_archive, "verify-archive")
PENDING_COMMAND(cmd_schema, "schema")

/* Expand/contract placeholders (src/expand/ defines the real ones). */
#include "expand/expand.h"

__attribute__((weak)) int
expand_main(int argc, char **argv)
{
	(void) argc;
	log_report(LOG_ERROR, "expand/contract migrations are not available in this build", NULL, NULL);
	(void) argv;
	return EXIT_FAIL;
}

__attribute__((weak)) int
expand_status_show(PGconn *conn, json_t *json_out, pgc_err *err)
{
	(void) conn;
	(void) json_out;
	(void) err;
	return 0;
}
