/*
 * plan.c: cutting tables and large objects into tasks (see plan.h).
 */
#include "core/plan.h"

#include <stdlib.h>

int64_t
copy_plan_split_bytes(void)
{
	const char *e = getenv("PGCARRY_SPLIT_BYTES");
	if (e && *e)
	{
		long long	v = strtoll(e, NULL, 10);
		if (v >= 8192)
			return v;
	}
	return COPY_PLAN_SPLIT_BYTES;
}

bool
copy_plan_should_split(int64_t main_bytes, int64_t split_bytes, int jobs, int server_version)
{
	return jobs > 1 && server_version >= COPY_PLAN_MIN_SPLIT_VERSION && split_bytes > 0
		&& main_bytes >= 2 * split_bytes;
}

int
copy_plan_ranges(int64_t pages, int64_t part_pages, int max_parts, stream_range *out)
{
	if (max_parts < 1)
		max_parts = 1;
	if (part_pages < 1)
		part_pages = 1;
	if (pages < 2 * part_pages || max_parts == 1)
	{
		out[0] = STREAM_WHOLE_TABLE;
		return 1;
	}
	int64_t		n = (pages + part_pages - 1) / part_pages;
	if (n > max_parts)
	{
		n = max_parts;
		part_pages = (pages + n - 1) / n;
	}
	for (int64_t i = 0; i < n; i++)
	{
		out[i].first_page = i * part_pages;
		out[i].end_page = i == n - 1 ? -1 : (i + 1) * part_pages;
	}
	return (int) n;
}

void
copy_plan_lo_batch(const uint32_t *bounds, int nbounds, int i, uint32_t *first, uint32_t *end)
{
	*first = i == 0 ? 0 : bounds[i];
	*end = i + 1 < nbounds ? bounds[i + 1] : 0;
}
