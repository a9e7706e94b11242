/*
 * rowhash.c: order-independent 128-bit content checksums (see rowhash.h).
 */
#include "rowhash.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

void
rowhash_init(rowhash *h)
{
	memset(h, 0, sizeof *h);
}

static void
rowhash_add128(rowhash *h, uint64_t lo, uint64_t hi)
{
	uint64_t nlo = h->lo + lo;
	h->hi += hi + (nlo < h->lo ? 1 : 0);
	h->lo = nlo;
}

void
rowhash_add(rowhash *h, const void *row, size_t len)
{
	XXH128_hash_t x = XXH3_128bits(row, len);
	rowhash_add128(h, x.low64, x.high64);
	h->rows++;
}

void
rowhash_merge(rowhash *into, const rowhash *part)
{
	rowhash_add128(into, part->lo, part->hi);
	into->rows += part->rows;
}

bool
rowhash_equal(const rowhash *a, const rowhash *b)
{
	return a->rows == b->rows && a->lo == b->lo && a->hi == b->hi;
}

void
rowhash_hex(const rowhash *h, char out[ROWHASH_HEX_LEN + 1])
{
	snprintf(out, ROWHASH_HEX_LEN + 1, "%016llx%016llx",
			 (unsigned long long) h->hi, (unsigned long long) h->lo);
}

static int
rowhash_hex16(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	for (int i = 0; i < 16; i++)
	{
		char c = s[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = (v << 4) | (uint64_t) d;
	}
	*out = v;
	return 0;
}

int
rowhash_parse_hex(rowhash *h, const char *hex)
{
	if (!hex || strlen(hex) != ROWHASH_HEX_LEN)
		return -1;
	uint64_t hi, lo;
	if (rowhash_hex16(hex, &hi) != 0 || rowhash_hex16(hex + 16, &lo) != 0)
		return -1;
	h->hi = hi;
	h->lo = lo;
	return 0;
}

void
rowhash_lines_init(rowhash_lines *l)
{
	rowhash_init(&l->hash);
	memset(&l->partial, 0, sizeof l->partial);
}

void
rowhash_lines_feed(rowhash_lines *l, const void *data, size_t len)
{
	const char *p = data;
	const char *end = p + len;
	while (p < end)
	{
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		if (!nl)
		{
			buf_append(&l->partial, p, (size_t) (end - p));
			return;
		}
		size_t n = (size_t) (nl - p) + 1;
		if (l->partial.len)
		{
			buf_append(&l->partial, p, n);
			rowhash_add(&l->hash, l->partial.data, l->partial.len);
			buf_reset(&l->partial);
		}
		else
			rowhash_add(&l->hash, p, n);
		p += n;
	}
}

size_t
rowhash_lines_pending(const rowhash_lines *l)
{
	return l->partial.len;
}

void
rowhash_lines_free(rowhash_lines *l)
{
	buf_free(&l->partial);
}
