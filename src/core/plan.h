/*
 * plan.h: how the copy and compare commands cut their work into tasks
 * (pure arithmetic, unit-tested in tests/unit/test_copy.c).
 */
#ifndef PGCARRY_CORE_PLAN_H
#define PGCARRY_CORE_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/stream.h"

/* Tables bigger than this are split into slices of about this size, so
 * that one big table keeps every job busy (PGCARRY_SPLIT_BYTES overrides). */
#define COPY_PLAN_SPLIT_BYTES (256LL * 1024 * 1024)

/* At most this many slices per table. */
#define COPY_PLAN_MAX_PARTS 256

/* The oldest server version with TID range scans (a slice reads only its
 * pages); older servers copy every table whole. */
#define COPY_PLAN_MIN_SPLIT_VERSION 140000

/* The split size in force: PGCARRY_SPLIT_BYTES when set (a number of bytes,
 * at least 8192), otherwise COPY_PLAN_SPLIT_BYTES. */
int64_t copy_plan_split_bytes(void);

/*
 * Whether a table of main-fork size main_bytes is worth splitting, with
 * jobs workers, on a source of server_version, given split_bytes.
 */
bool copy_plan_should_split(int64_t main_bytes, int64_t split_bytes, int jobs, int server_version);

/*
 * Cuts a table of pages heap pages into slices of about part_pages pages
 * (at most max_parts; slices grow to respect that).  Slices are contiguous,
 * start at page 0, and the last one is open-ended (end_page -1) so rows in
 * pages added after the size was read are not missed.  Writes the slices to
 * out (room for max_parts) and returns their number; a table too small to
 * cut gives one slice, STREAM_WHOLE_TABLE.
 */
int copy_plan_ranges(int64_t pages, int64_t part_pages, int max_parts, stream_range *out);

/*
 * Large objects are copied in batches of OIDs; bounds[i] is the first OID
 * of batch i (from catalog_large_object_batches).  Batch i covers
 * [first, end): the first batch starts at 0 and the last has end 0 (no
 * bound), so the batches cover every OID whatever the bounds.
 */
void copy_plan_lo_batch(const uint32_t *bounds, int nbounds, int i, uint32_t *first, uint32_t *end);

#endif
