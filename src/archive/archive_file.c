/*
 * archive_file.c: writing and reading one archive file (see archive_file.h).
 *
 * How it works: a writer owns an fd on ".NAME.partial", a zstd compression
 * stream (level > 0) with frame checksums on, an EVP SHA-256 context and an
 * output buffer.  Every write compresses into the buffer; the buffer goes to
 * disk (and through SHA-256) whenever it fills.  finish ends the zstd frame,
 * writes the rest, fsyncs and renames.  A reader is the mirror image:
 * bytes from disk go through SHA-256 and, when compressed, through a zstd
 * decompression stream; a stream that ends inside a frame is "truncated".
 */
#include "archive/archive_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "util/buf.h"
#include "util/xalloc.h"

#define ARCHIVE_FILE_BUFSZ (256 * 1024)

struct archive_file_writer
{
	char	   *final_path;
	char	   *tmp_path;
	char	   *relpath;
	int			fd;
	ZSTD_CCtx  *zc;				/* NULL when not compressing */
	EVP_MD_CTX *md;
	unsigned char *out;			/* ARCHIVE_FILE_BUFSZ */
	size_t		out_len;
	uint64_t	size;			/* bytes written to disk */
	uint64_t	bytes_in;
	bool		finished;
	bool		failed;
};

struct archive_file_reader
{
	char	   *relpath;
	int			fd;
	ZSTD_DCtx  *zd;				/* NULL when not compressed */
	EVP_MD_CTX *md;
	unsigned char *in;			/* ARCHIVE_FILE_BUFSZ */
	size_t		in_len;
	size_t		in_pos;
	uint64_t	size;
	bool		eof;			/* disk file fully read */
	size_t		zlast;			/* last ZSTD_decompressStream result */
	bool		done;
	char		digest[ARCHIVE_FILE_SHA256_HEX + 1];
	archive_file_source_fn source;	/* NULL: read fd */
	void	   *source_arg;
};

/* ------------------------------------------------------------ helpers */

static void
archive_file_hex(const unsigned char *d, unsigned n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++)
	{
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
archive_file_digest_hex(EVP_MD_CTX *md, char out[ARCHIVE_FILE_SHA256_HEX + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_DigestFinal_ex(md, d, &n);
	archive_file_hex(d, n, out);
}

bool
archive_file_path_safe(const char *relpath)
{
	if (!relpath || !*relpath || relpath[0] == '/')
		return false;
	const char *p = relpath;
	while (*p)
	{
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t) (slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f)
				return false;
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			return false;
	}
	return true;
}

char *
archive_file_safe_name(const char *name, size_t max)
{
	buf_t b = {0};
	for (const char *p = name; *p && b.len < max; p++)
	{
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-' || (c == '.' && b.len > 0);
		buf_putc(&b, ok ? c : '_');
	}
	if (b.len == 0)
		buf_putc(&b, '_');
	return buf_steal(&b);
}

int
archive_file_mkdirs(const char *root, const char *reldir, pgc_err *err)
{
	if (mkdir(root, 0700) != 0 && errno != EEXIST)
	{
		err_set(err, "could not create directory \"%s\": %s", root, strerror(errno));
		return -1;
	}
	if (!reldir || !*reldir)
		return 0;
	char *path = xasprintf("%s/%s", root, reldir);
	size_t rootlen = strlen(root) + 1;
	for (char *p = path + rootlen;; p++)
	{
		if (*p == '/' || *p == '\0')
		{
			char saved = *p;
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
			{
				err_set(err, "could not create directory \"%s\": %s", path, strerror(errno));
				free(path);
				return -1;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	free(path);
	return 0;
}

/* ------------------------------------------------------------- writer */

static int
archive_file_writer_flush(archive_file_writer *w, pgc_err *err)
{
	size_t off = 0;
	while (off < w->out_len)
	{
		ssize_t n = write(w->fd, w->out + off, w->out_len - off);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			w->failed = true;
			err_set(err, "could not write archive file \"%s\": %s", w->relpath, strerror(errno));
			return -1;
		}
		off += (size_t) n;
	}
	EVP_DigestUpdate(w->md, w->out, w->out_len);
	w->size += w->out_len;
	w->out_len = 0;
	return 0;
}

archive_file_writer *
archive_file_writer_create(const char *root, const char *relpath, int zstd_level, pgc_err *err)
{
	const char *slash = strrchr(relpath, '/');
	archive_file_writer *w = xcalloc(1, sizeof *w);
	w->relpath = xstrdup(relpath);
	w->final_path = xasprintf("%s/%s", root, relpath);
	if (slash)
		w->tmp_path = xasprintf("%s/%.*s/.%s.partial", root, (int) (slash - relpath), relpath, slash + 1);
	else
		w->tmp_path = xasprintf("%s/.%s.partial", root, relpath);
	/* The directories are made when the file cannot be created without
	 * them: a database's thousands of data files share one. */
	w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0 && errno == ENOENT)
	{
		char *dir = slash ? xstrndup(relpath, (size_t) (slash - relpath)) : NULL;
		int rc = archive_file_mkdirs(root, dir, err);
		free(dir);
		if (rc != 0)
		{
			archive_file_writer_destroy(w);
			return NULL;
		}
		w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	}
	if (w->fd < 0)
	{
		err_set(err, "could not create archive file \"%s\": %s", w->final_path, strerror(errno));
		archive_file_writer_destroy(w);
		return NULL;
	}
	fchmod(w->fd, 0600);
	if (zstd_level > 0)
	{
		w->zc = ZSTD_createCCtx();
		if (!w->zc)
		{
			err_set(err, "could not start zstd compression");
			archive_file_writer_destroy(w);
			return NULL;
		}
		ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, zstd_level);
		ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
	}
	w->md = EVP_MD_CTX_new();
	if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
	{
		err_set(err, "could not start SHA-256");
		archive_file_writer_destroy(w);
		return NULL;
	}
	w->out = xmalloc(ARCHIVE_FILE_BUFSZ);
	return w;
}

int
archive_file_writer_write(archive_file_writer *w, const void *data, size_t len, pgc_err *err)
{
	if (w->failed || w->finished)
	{
		err_set(err, "archive file \"%s\" cannot be written any more", w->relpath);
		return -1;
	}
	w->bytes_in += len;
	if (!w->zc)
	{
		const char *p = data;
		while (len > 0)
		{
			size_t n = ARCHIVE_FILE_BUFSZ - w->out_len;
			if (n > len)
				n = len;
			memcpy(w->out + w->out_len, p, n);
			w->out_len += n;
			p += n;
			len -= n;
			if (w->out_len == ARCHIVE_FILE_BUFSZ && archive_file_writer_flush(w, err) != 0)
				return -1;
		}
		return 0;
	}
	ZSTD_inBuffer in = {data, len, 0};
	while (in.pos < in.size)
	{
		ZSTD_outBuffer out = {w->out, ARCHIVE_FILE_BUFSZ, w->out_len};
		size_t r = ZSTD_compressStream2(w->zc, &out, &in, ZSTD_e_continue);
		if (ZSTD_isError(r))
		{
			w->failed = true;
			err_set(err, "could not compress archive file \"%s\": %s", w->relpath, ZSTD_getErrorName(r));
			return -1;
		}
		w->out_len = out.pos;
		if (w->out_len == ARCHIVE_FILE_BUFSZ && archive_file_writer_flush(w, err) != 0)
			return -1;
	}
	return 0;
}

uint64_t
archive_file_writer_bytes_in(const archive_file_writer *w)
{
	return w->bytes_in;
}

int
archive_file_writer_finish(archive_file_writer *w, archive_file_info *info, pgc_err *err)
{
	if (w->failed || w->finished)
	{
		err_set(err, "archive file \"%s\" cannot be finished", w->relpath);
		return -1;
	}
	if (w->zc)
	{
		size_t r;
		do
		{
			ZSTD_inBuffer in = {NULL, 0, 0};
			ZSTD_outBuffer out = {w->out, ARCHIVE_FILE_BUFSZ, w->out_len};
			r = ZSTD_compressStream2(w->zc, &out, &in, ZSTD_e_end);
			if (ZSTD_isError(r))
			{
				w->failed = true;
				err_set(err, "could not compress archive file \"%s\": %s", w->relpath, ZSTD_getErrorName(r));
				return -1;
			}
			w->out_len = out.pos;
			if (archive_file_writer_flush(w, err) != 0)
				return -1;
		} while (r != 0);
	}
	if (archive_file_writer_flush(w, err) != 0)
		return -1;
	if (fsync(w->fd) != 0 || close(w->fd) != 0)
	{
		w->fd = -1;
		w->failed = true;
		err_set(err, "could not write archive file \"%s\": %s", w->relpath, strerror(errno));
		return -1;
	}
	w->fd = -1;
	if (rename(w->tmp_path, w->final_path) != 0)
	{
		w->failed = true;
		err_set(err, "could not rename archive file \"%s\": %s", w->relpath, strerror(errno));
		return -1;
	}
	w->finished = true;
	if (info)
	{
		info->size = w->size;
		archive_file_digest_hex(w->md, info->sha256);
	}
	return 0;
}

void
archive_file_writer_destroy(archive_file_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (!w->finished && w->tmp_path)
		unlink(w->tmp_path);
	ZSTD_freeCCtx(w->zc);
	EVP_MD_CTX_free(w->md);
	free(w->out);
	free(w->final_path);
	free(w->tmp_path);
	free(w->relpath);
	free(w);
}

/* ------------------------------------------------------------- reader */

/* A reader of relpath's bytes from fd, or from source when fd < 0. */
static archive_file_reader *
archive_file_reader_start(const char *relpath, int fd, archive_file_source_fn source, void *arg,
						  bool compressed, pgc_err *err)
{
	archive_file_reader *r = xcalloc(1, sizeof *r);
	r->fd = fd;
	r->source = source;
	r->source_arg = arg;
	r->relpath = xstrdup(relpath);
	r->md = EVP_MD_CTX_new();
	if (!r->md || EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1)
	{
		err_set(err, "could not start SHA-256");
		archive_file_reader_destroy(r);
		return NULL;
	}
	if (compressed)
	{
		r->zd = ZSTD_createDCtx();
		if (!r->zd)
		{
			err_set(err, "could not start zstd decompression");
			archive_file_reader_destroy(r);
			return NULL;
		}
	}
	r->in = xmalloc(ARCHIVE_FILE_BUFSZ);
	return r;
}

archive_file_reader *
archive_file_reader_open(const char *root, const char *relpath, bool compressed, pgc_err *err)
{
	char *path = xasprintf("%s/%s", root, relpath);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
	{
		if (errno == ENOENT)
			err_set(err, "archive file \"%s\" is missing", relpath);
		else
			err_set(err, "could not open archive file \"%s\": %s", relpath, strerror(errno));
		return NULL;
	}
	return archive_file_reader_start(relpath, fd, NULL, NULL, compressed, err);
}

archive_file_reader *
archive_file_reader_from(const char *relpath, archive_file_source_fn source, void *arg, bool compressed,
						 pgc_err *err)
{
	return archive_file_reader_start(relpath, -1, source, arg, compressed, err);
}

/* Refills the input buffer from disk; -1 on error, 0 ok (r->eof at end). */
static int
archive_file_reader_fill(archive_file_reader *r, pgc_err *err)
{
	for (;;)
	{
		ssize_t n = r->source ? r->source(r->source_arg, r->in, ARCHIVE_FILE_BUFSZ, err)
			: read(r->fd, r->in, ARCHIVE_FILE_BUFSZ);
		if (n < 0 && r->source)
			return -1;			/* err set by the source */
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			err_set(err, "could not read archive file \"%s\": %s", r->relpath, strerror(errno));
			return -1;
		}
		r->in_len = (size_t) n;
		r->in_pos = 0;
		if (n == 0)
			r->eof = true;
		else
		{
			EVP_DigestUpdate(r->md, r->in, (size_t) n);
			r->size += (uint64_t) n;
		}
		return 0;
	}
}

ssize_t
archive_file_reader_read(archive_file_reader *r, void *buf, size_t len, pgc_err *err)
{
	if (r->done)
		return 0;
	for (;;)
	{
		if (r->in_pos == r->in_len && !r->eof && archive_file_reader_fill(r, err) != 0)
			return -1;
		if (!r->zd)
		{
			if (r->in_pos == r->in_len)
			{
				r->done = true;
				archive_file_digest_hex(r->md, r->digest);
				return 0;
			}
			size_t n = r->in_len - r->in_pos;
			if (n > len)
				n = len;
			memcpy(buf, r->in + r->in_pos, n);
			r->in_pos += n;
			return (ssize_t) n;
		}
		ZSTD_inBuffer in = {r->in, r->in_len, r->in_pos};
		ZSTD_outBuffer out = {buf, len, 0};
		if (in.pos < in.size || !r->eof)
		{
			size_t z = ZSTD_decompressStream(r->zd, &out, &in);
			if (ZSTD_isError(z))
			{
				err_set(err, "archive file \"%s\" is corrupt", r->relpath);
				err_detail(err, "zstd: %s", ZSTD_getErrorName(z));
				return -1;
			}
			r->zlast = z;
			r->in_pos = in.pos;
			if (out.pos > 0)
				return (ssize_t) out.pos;
			continue;
		}
		/* Disk file fully consumed and nothing more came out. */
		if (r->zlast != 0 || r->size == 0)
		{
			err_set(err, "archive file \"%s\" is truncated", r->relpath);
			err_detail(err, "The compressed stream ends in the middle of a frame.");
			return -1;
		}
		r->done = true;
		archive_file_digest_hex(r->md, r->digest);
		return 0;
	}
}

void
archive_file_reader_info(archive_file_reader *r, archive_file_info *info)
{
	info->size = r->size;
	if (r->done)
		memcpy(info->sha256, r->digest, sizeof info->sha256);
	else
		info->sha256[0] = '\0';
}

void
archive_file_reader_destroy(archive_file_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	ZSTD_freeDCtx(r->zd);
	EVP_MD_CTX_free(r->md);
	free(r->in);
	free(r->relpath);
	free(r);
}

int
archive_file_checksum(const char *path, archive_file_info *info, pgc_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return 1;
		err_set(err, "could not open \"%s\": %s", path, strerror(errno));
		return -1;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	unsigned char *b = xmalloc(ARCHIVE_FILE_BUFSZ);
	uint64_t size = 0;
	int rc = 0;
	for (;;)
	{
		ssize_t n = read(fd, b, ARCHIVE_FILE_BUFSZ);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			err_set(err, "could not read \"%s\": %s", path, strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, b, (size_t) n);
		size += (uint64_t) n;
	}
	if (rc == 0)
	{
		info->size = size;
		archive_file_digest_hex(md, info->sha256);
	}
	EVP_MD_CTX_free(md);
	free(b);
	close(fd);
	return rc;
}
