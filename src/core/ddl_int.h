/*
 * ddl_int.h: what ddl.c and ddl_tools.c share inside the ddl module (not
 * for other modules: see ddl.h).
 */
#ifndef PGCARRY_CORE_DDL_INT_H
#define PGCARRY_CORE_DDL_INT_H

#include "core/ddl.h"
#include "util/buf.h"
#include "util/err.h"

/* The database a connection string names, or NULL (owned by the caller). */
char *ddl__conninfo_dbname(const char *conninfo);

/* Creates an empty file readable by its owner only (children then write
 * into it without widening its mode).  Returns 0, or -1 with err set. */
int ddl__create_private_file(const char *path, pgc_err *err);

/* Runs a child (ddl_run, with password in its environment, stdout into
 * stdout_path or out); on a non-zero exit sets err to what, with the
 * child's error lines as detail.  Returns 0, or -1 with err set. */
int ddl__run_checked(const char *const *argv, const char *password, const char *stdout_path,
					 buf_t *out, const char *what, pgc_err *err);

/* Frees a password that ddl_conninfo split off a connection string,
 * overwriting it first (NULL is allowed). */
void		ddl__password_free(char *password);

#endif
