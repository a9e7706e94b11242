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
