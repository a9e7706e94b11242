/*
 * cutover.c: "pgcarry cutover" (to be written).
 */
#include "commands.h"
#include "util/err.h"
int
cmd_cutover(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	return EXIT_FAIL;
}
