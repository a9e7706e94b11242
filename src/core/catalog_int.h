/*
 * catalog_int.h: what catalog.c and catalog_filter.c share inside the
 * catalog module (not for other modules: see catalog.h).
 */
#ifndef PGCARRY_CORE_CATALOG_INT_H
#define PGCARRY_CORE_CATALOG_INT_H

#include "core/catalog.h"

/* The n strings as one JSON array, a query parameter; owned by the caller. */
char *catalog__json_array(const char *const *items, int n);

/* Frees what table t holds (its strings), not t itself. */
void catalog__table_clear(catalog_table *t);

/* Frees what sequence s holds (its strings), not s itself. */
void catalog__sequence_clear(catalog_sequence *s);

#endif
