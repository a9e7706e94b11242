/*
 * commands.h: the entry point of every pgcarry command.
 *
 * Each takes the command's own argv (argv[0] is the command name), parses
 * its options, does its work and returns an exit status (EXIT_OK,
 * EXIT_FAIL, EXIT_USAGE, EXIT_DIFFERENT).  None of them exits the process.
 */
#ifndef PGCARRY_COMMANDS_H
#define PGCARRY_COMMANDS_H

#include <stdbool.h>

int cmd_ping(int argc, char **argv);			/* ping.c */
int cmd_copy(int argc, char **argv);			/* copy/ */
int cmd_compare(int argc, char **argv);			/* copy/ */
/* cmd_compare; without mview_rows the rows of materialized views are not
 * compared (cutover proves them against their definitions itself). */
int compare_command(int argc, char **argv, bool mview_rows);
int cmd_export(int argc, char **argv);			/* archive/ */
int cmd_import(int argc, char **argv);			/* archive/ */
int cmd_verify_archive(int argc, char **argv);	/* archive/ */
int cmd_schema(int argc, char **argv);			/* schema/ */
int cmd_follow(int argc, char **argv);			/* follow/ */
int cmd_cutover(int argc, char **argv);			/* follow/ */

#endif
