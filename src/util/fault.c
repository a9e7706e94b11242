/*
 * fault.c: fault injection for the test build (see fault.h).
 *
 * Only the build made with -DPGCARRY_FAULTS looks at PGCARRY_FAULT; in
 * every other build each function returns false at once.
 */
#include "util/fault.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef PGCARRY_FAULTS

static atomic_flag fault_logged = ATOMIC_FLAG_INIT;
static atomic_flag fault_used = ATOMIC_FLAG_INIT;

/* True when PGCARRY_FAULT is name. */
static bool
fault_named(const char *name)
{
	const char *want = getenv("PGCARRY_FAULT");
	return want && strcmp(want, name) == 0;
}

/* Appends "name\n" to PGCARRY_FAULT_LOG, once per process. */
static void
fault_record(const char *name)
{
	const char *path = getenv("PGCARRY_FAULT_LOG");
	if (!path || !*path || atomic_flag_test_and_set(&fault_logged))
		return;
	int			fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd < 0)
		return;
	size_t		n = strlen(name);
	char		line[128];
	if (n > sizeof line - 2)
		n = sizeof line - 2;
	memcpy(line, name, n);
	line[n] = '\n';
	if (write(fd, line, n + 1) < 0)
	{
		/* nothing to do: the runner then reports the fault as not fired */
	}
	close(fd);
}

bool
fault_hit(const char *name)
{
	if (!fault_named(name))
		return false;
	fault_record(name);
	return true;
}

bool
fault_once(const char *name)
{
	if (!fault_named(name) || atomic_flag_test_and_set(&fault_used))
		return false;
	fault_record(name);
	return true;
}

/* The next digit or letter after *c (wrapping); false when *c is neither. */
static bool
fault_next_char(char *c)
{
	char		x = *c;
	if ((x >= '0' && x <= '8') || (x >= 'a' && x <= 'y') || (x >= 'A' && x <= 'Y'))
		*c = (char) (x + 1);
	else if (x == '9')
		*c = '0';
	else if (x == 'z')
		*c = 'a';
	else if (x == 'Z')
		*c = 'A';
	else
		return false;
	return true;
}

static uint32_t
fault_be32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

/* The position of the last byte of the last non-empty value of a binary
 * COPY row, or -1. */
static long
fault_binary_last_byte(const unsigned char *p, size_t len)
{
	static const char sig[11] = "PGCOPY\n\377\r\n\0";
	size_t		pos = 0;
	long		last = -1;
	if (len >= 19 && memcmp(p, sig, sizeof sig) == 0)
		pos = 19 + (size_t) fault_be32(p + 15);
	if (pos + 2 > len)
		return -1;
	int			nfields = (p[pos] << 8) | p[pos + 1];
	pos += 2;
	for (int i = 0; i < nfields && pos + 4 <= len; i++)
	{
		uint32_t	flen = fault_be32(p + pos);
		pos += 4;
		if (flen == 0xffffffffu)
			continue;
		if (flen > len - pos)
			return -1;
		if (flen > 0)
			last = (long) (pos + flen - 1);
		pos += flen;
	}
	return last;
}

bool
fault_change_copy_byte(const char *name, char *row, size_t len, bool binary)
{
	if (!fault_named(name) || len < 2)
		return false;
	long		at;
	if (binary)
		at = fault_binary_last_byte((const unsigned char *) row, len);
	else
		at = row[len - 1] == '\n' ? (long) len - 2 : -1;
	if (at < 0 || (at > 0 && row[at - 1] == '\\'))
		return false;
	char		c = row[at];
	if (!fault_next_char(&c) || atomic_flag_test_and_set(&fault_used))
		return false;
	row[at] = c;
	fault_record(name);
	return true;
}

#else

bool
fault_hit(const char *name)
{
	(void) name;
	return false;
}

bool
fault_once(const char *name)
{
	(void) name;
	return false;
}

bool
fault_change_copy_byte(const char *name, char *row, size_t len, bool binary)
{
	(void) name;
	(void) row;
	(void) len;
	(void) binary;
	return false;
}

#endif
