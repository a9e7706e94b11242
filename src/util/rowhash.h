/*
 * rowhash.h: order-independent content checksum of a set of rows.
 *
 * A table's checksum is the row count plus the 128-bit sum (mod 2^128) of
 * XXH3-128 of every row's bytes, so it does not depend on the order in which
 * rows are read, it tells duplicate rows apart (unlike XOR), and parts of a
 * table checksummed separately merge by addition.  A "row" is the exact
 * bytes of one COPY row, terminating newline included for text format.
 *
 * rowhash_lines splits a byte stream (for example a decompressed COPY text
 * file) into rows on '\n' for hashing, carrying a partial row between calls.
 */
#ifndef PGCARRY_ROWHASH_H
#define PGCARRY_ROWHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct rowhash
{
	uint64_t	rows;
	uint64_t	lo;			/* low 64 bits of the sum */
	uint64_t	hi;			/* high 64 bits of the sum */
} rowhash;

#define ROWHASH_HEX_LEN 32

void rowhash_init(rowhash *h);
void rowhash_add(rowhash *h, const void *row, size_t len);
void rowhash_merge(rowhash *into, const rowhash *part);
bool rowhash_equal(const rowhash *a, const rowhash *b);
/* 32 lower-case hex digits plus NUL into out. */
void rowhash_hex(const rowhash *h, char out[ROWHASH_HEX_LEN + 1]);
/* Parses 32 hex digits into the sum (rows untouched); -1 if malformed. */
int rowhash_parse_hex(rowhash *h, const char *hex);

typedef struct rowhash_lines
{
	rowhash		hash;		/* read-only: rows completed so far */
	buf_t		partial;	/* private: bytes of an unfinished row */
} rowhash_lines;

void rowhash_lines_init(rowhash_lines *l);
void rowhash_lines_feed(rowhash_lines *l, const void *data, size_t len);
/* Returns the number of bytes left without a final newline (0 for a well
 * formed COPY text stream); those bytes are not counted as a row. */
size_t rowhash_lines_pending(const rowhash_lines *l);
void rowhash_lines_free(rowhash_lines *l);

#endif
