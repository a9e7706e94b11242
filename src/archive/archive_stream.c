/*
 * archive_stream.c: a pgcarry tar archive read as it arrives
 * (see archive_stream.h).
 */
#include "archive/archive_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/tarstream.h"
#include "core/stream.h"
#include "util/xalloc.h"

#define ARCHIVE_STREAM_CHUNK (256 * 1024)

bool
archive_stream_is_data(const char *path)
{
	return strncmp(path, "data/", 5) == 0 || strstr(path, "/data/") != NULL;
}

int
archive_stream_scratch_max(uint64_t *max, pgc_err *err)
{
	*max = 0;
	const char *v = getenv(ARCHIVE_STREAM_SCRATCH_ENV);
	if (!v || !*v)
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	uint64_t mult = 1;
	if (*end == 'k' || *end == 'K')
		mult = 1024, end++;
	else if (*end == 'M')
		mult = 1024 * 1024, end++;
	else if (*end == 'G')
		mult = 1024ull * 1024 * 1024, end++;
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n == 0)
	{
		err_set(err, "%s must be a size in bytes (a number, optionally followed by k, M or G), not \"%s\"",
				ARCHIVE_STREAM_SCRATCH_ENV, v);
		return -1;
	}
	*max = (uint64_t) n * mult;
	return 0;
}

const archive_stream_file *
archive_stream_files_find(const archive_stream_files *seen, const char *path)
{
	for (int i = 0; seen && path && i < seen->n; i++)
		if (strcmp(seen->items[i].path, path) == 0)
			return &seen->items[i];
	return NULL;
}

void
archive_stream_files_free(archive_stream_files *seen)
{
	if (!seen)
		return;
	for (int i = 0; i < seen->n; i++)
	{
		free(seen->items[i].path);
		free(seen->items[i].problem);
	}
	free(seen->items);
	memset(seen, 0, sizeof *seen);
}

/* Copies the current entry into spool/name, counting it against the
 * scratch limit.  Returns 0, or -1 with err set. */
static int
archive_stream_spool(tarstream_reader *tr, const char *spool, const char *name, uint64_t max, uint64_t *used,
					 char *buf, pgc_err *err)
{
	archive_file_writer *fw = archive_file_writer_create(spool, name, 0, err);
	if (!fw)
		return -1;
	int rc = 0;
	for (;;)
	{
		ssize_t n = tarstream_reader_read(tr, buf, ARCHIVE_STREAM_CHUNK, err);
		if (n == 0)
			break;
		if (n < 0)
		{
			rc = -1;
			break;
		}
		*used += (uint64_t) n;
		if (max && *used > max)
		{
			err_set(err, "the tar stream needs more scratch space than %s allows (%llu bytes)",
					ARCHIVE_STREAM_SCRATCH_ENV, (unsigned long long) max);
			err_detail(err, "Entry \"%s\" is kept in the private temporary directory while the stream is read; "
					   "with it, %llu bytes would be kept.", name, (unsigned long long) *used);
			err_hint(err, "Raise %s, or unpack the tar (tar -xf) and import the directory.",
					 ARCHIVE_STREAM_SCRATCH_ENV);
			rc = -1;
			break;
		}
		if (archive_file_writer_write(fw, buf, (size_t) n, err) != 0)
		{
			rc = -1;
			break;
		}
	}
	if (rc == 0 && archive_file_writer_finish(fw, NULL, err) != 0)
		rc = -1;
	archive_file_writer_destroy(fw);
	return rc;
}

/* A data entry: to the handler, or read and hashed here; then read to its
 * end, whatever the handler left.  Fills f.  Returns 0 (a damaged entry is
 * f->problem), 2 when the handler wants it spooled, or -1 with err set
 * (the tar itself cannot be read on, or the handler failed). */
static int
archive_stream_data(tarstream_reader *tr, const char *name, const archive_stream_ops *ops, void *ctx,
					archive_stream_file *f, char *buf, pgc_err *err)
{
	size_t len = strlen(name);
	bool compressed = len > 4 && strcmp(name + len - 4, ".zst") == 0;
	archive_file_reader *r = archive_file_reader_from(name, tarstream_reader_read, tr, compressed, err);
	if (!r)
		return -1;
	int taken = ops && ops->data ? ops->data(ctx, name, r, &f->rows, err) : 0;
	if (taken < 0 || taken == 2)
	{
		archive_file_reader_destroy(r);
		return taken;
	}
	f->hashed = taken == 1;
	stream_hasher hs;
	if (!f->hashed)
		stream_hasher_init(&hs, STREAM_TEXT);
	pgc_err e = PGC_ERR_INIT;
	ssize_t n;
	while ((n = archive_file_reader_read(r, buf, ARCHIVE_STREAM_CHUNK, &e)) > 0)
		if (!f->hashed)
			stream_hasher_feed(&hs, buf, (size_t) n);
	if (!f->hashed)
	{
		if (n == 0 && stream_hasher_finish(&hs, &f->rows, &e) == 0)
			f->hashed = true;
		stream_hasher_free(&hs);
	}
	archive_file_reader_info(r, &f->info);
	archive_file_reader_destroy(r);
	int rc = 0;
	if (e.set)
	{
		f->problem = xstrdup(e.message);
		f->hashed = false;
		/* The compressed content is damaged: the tar may still be whole. */
		while ((n = tarstream_reader_read(tr, buf, ARCHIVE_STREAM_CHUNK, err)) > 0)
			;
		if (n < 0)
			rc = -1;
	}
	err_clear(&e);
	return rc;
}

int
archive_stream_read(const char *input, const char *spool, const archive_stream_ops *ops, void *ctx,
					archive_stream_files *seen, pgc_err *err)
{
	uint64_t max, used = 0;
	if (archive_stream_scratch_max(&max, err) != 0)
		return -1;
	tarstream_reader *tr = tarstream_reader_open(input, err);
	if (!tr)
		return -1;
	char *buf = xmalloc(ARCHIVE_STREAM_CHUNK);
	const char *name;
	int64_t size;
	int rc;
	while ((rc = tarstream_reader_next(tr, &name, &size, err)) == 1)
	{
		int spool_it = !archive_stream_is_data(name);
		if (!spool_it)
		{
			seen->items = xrealloc(seen->items, sizeof *seen->items * (size_t) (seen->n + 1));
			archive_stream_file *f = &seen->items[seen->n++];
			memset(f, 0, sizeof *f);
			f->path = xstrdup(name);
			int d = archive_stream_data(tr, name, ops, ctx, f, buf, err);
			if (d < 0)
				break;
			if (d == 2)
			{
				free(f->path);
				seen->n--;
				spool_it = 1;
			}
		}
		if (spool_it)
		{
			if (archive_stream_spool(tr, spool, name, max, &used, buf, err) != 0)
				break;
			if (ops && ops->spooled && ops->spooled(ctx, name, err) != 0)
				break;
		}
	}
	free(buf);
	tarstream_reader_close(tr);
	return rc == 0 ? 0 : -1;
}
