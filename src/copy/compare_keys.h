/*
 * compare_keys.h: which rows of a table differ between two servers, by
 * primary key, for "pgcarry compare --json".
 *
 * The table's checksums said the two sides differ; this names the rows.
 * Both sessions read the table ordered by the JSON text of its primary key
 * (byte order, COLLATE "C", so both servers order alike whatever their
 * collations), in single-row mode, each row as its key and the MD5 of its
 * columns' text; a merge of the two ordered streams finds keys on one side
 * only and keys whose rows differ.  Memory does not grow with the table:
 * one row of each side at a time, and at most COMPARE_KEYS_MAX keys kept.
 */
#ifndef PGCARRY_COMPARE_KEYS_H
#define PGCARRY_COMPARE_KEYS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "util/err.h"

/* Keys listed per kind of difference; the counts cover every row. */
#define COMPARE_KEYS_MAX 100

/*
 * Compares table qualified (quoted "schema"."name") read by src and tgt
 * (each already in the transaction and snapshot it should read under), on
 * columns (a quoted column list, as catalog_table.columns).  Returns 0 with
 * *out set to a new JSON object (owned by the caller):
 *   {"primary_key": [col, ...],
 *    "only_on_source": {"count": N, "keys": [{col: value, ...}, ...]},
 *    "only_on_target": {...}, "rows_differ": {...}}
 * or *out NULL when the table has no primary key on the source; -1 with err
 * set when a query failed.
 */
int compare_keys_diff(PGconn *src, PGconn *tgt, const char *qualified, const char *columns, json_t **out,
					  pgc_err *err);

#endif
