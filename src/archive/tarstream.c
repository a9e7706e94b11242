/*
 * tarstream.c: writing and unpacking tar streams with libarchive
 * (see tarstream.h).
 */
#include "archive/tarstream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive_file.h"
#include "util/xalloc.h"

#define TARSTREAM_BUFSZ (256 * 1024)

struct tarstream_writer
{
	struct archive *a;
	int			fd;
	bool		to_stdout;
	char	   *path;
	char	   *tmp_path;
	char	  **dirs;			/* directory entries already written */
	int			ndirs;
	bool		failed;
	bool		finished;
};

tarstream_writer *
tarstream_writer_create(const char *path, pgc_err *err)
{
	tarstream_writer *w = xcalloc(1, sizeof *w);
	w->fd = -1;
	if (strcmp(path, "-") == 0)
	{
		w->to_stdout = true;
		w->fd = STDOUT_FILENO;
	}
	else
	{
		w->path = xstrdup(path);
		const char *slash = strrchr(path, '/');
		if (slash)
			w->tmp_path = xasprintf("%.*s/.%s.partial", (int) (slash - path), path, slash + 1);
		else
			w->tmp_path = xasprintf(".%s.partial", path);
		w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (w->fd < 0)
		{
			err_set(err, "could not create \"%s\": %s", path, strerror(errno));
			tarstream_writer_destroy(w);
			return NULL;
		}
	}
	w->a = archive_write_new();
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
		archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
		archive_write_open_fd(w->a, w->fd) != ARCHIVE_OK)
	{
		err_set(err, "could not start a tar stream on \"%s\": %s", path, archive_error_string(w->a));
		tarstream_writer_destroy(w);
		return NULL;
	}
	return w;
}

static int
tarstream_header(tarstream_writer *w, const char *name, bool dir, int64_t size, pgc_err *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0700 : 0600);
	archive_entry_set_size(e, dir ? 0 : size);
	archive_entry_set_mtime(e, time(NULL), 0);
	int rc = archive_write_header(w->a, e);
	archive_entry_free(e);
	if (rc != ARCHIVE_OK)
	{
		w->failed = true;
		err_set(err, "could not write to the tar stream: %s", archive_error_string(w->a));
		return -1;
	}
	return 0;
}

/* Writes directory entries for every parent of name not written yet. */
static int
tarstream_parents(tarstream_writer *w, const char *name, pgc_err *err)
{
	for (const char *p = strchr(name, '/'); p; p = strchr(p + 1, '/'))
	{
		char *dir = xstrndup(name, (size_t) (p - name));
		bool seen = false;
		for (int i = 0; i < w->ndirs && !seen; i++)
			seen = strcmp(w->dirs[i], dir) == 0;
		if (seen)
		{
			free(dir);
			continue;
		}
		if (tarstream_header(w, dir, true, 0, err) != 0)
		{
			free(dir);
			return -1;
		}
		w->dirs = xrealloc(w->dirs, sizeof(char *) * (size_t) (w->ndirs + 1));
		w->dirs[w->ndirs++] = dir;
	}
	return 0;
}

int
tarstream_writer_add_file(tarstream_writer *w, const char *name, const char *src_path, pgc_err *err)
{
	if (w->failed)
	{
		err_set(err, "the tar stream cannot be written any more");
		return -1;
	}
	int fd = open(src_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
	{
		err_set(err, "could not read \"%s\": %s", src_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (tarstream_parents(w, name, err) != 0 || tarstream_header(w, name, false, st.st_size, err) != 0)
	{
		close(fd);
		return -1;
	}
	char *b = xmalloc(TARSTREAM_BUFSZ);
	int rc = 0;
	int64_t left = st.st_size;
	while (left > 0)
	{
		ssize_t n = read(fd, b, TARSTREAM_BUFSZ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			err_set(err, "could not read \"%s\": %s", src_path, n < 0 ? strerror(errno) : "file shrank");
			rc = -1;
			break;
		}
		if (n > left)
			n = (ssize_t) left;
		if (archive_write_data(w->a, b, (size_t) n) != n)
		{
			err_set(err, "could not write to the tar stream: %s", archive_error_string(w->a));
			rc = -1;
			break;
		}
		left -= n;
	}
	free(b);
	close(fd);
	if (rc != 0)
		w->failed = true;
	return rc;
}

int
tarstream_writer_finish(tarstream_writer *w, pgc_err *err)
{
	if (w->failed)
	{
		err_set(err, "the tar stream cannot be finished");
		return -1;
	}
	if (archive_write_close(w->a) != ARCHIVE_OK)
	{
		w->failed = true;
		err_set(err, "could not finish the tar stream: %s", archive_error_string(w->a));
		return -1;
	}
	if (!w->to_stdout)
	{
		if (fsync(w->fd) != 0 || close(w->fd) != 0)
		{
			w->fd = -1;
			w->failed = true;
			err_set(err, "could not write \"%s\": %s", w->path, strerror(errno));
			return -1;
		}
		w->fd = -1;
		if (rename(w->tmp_path, w->path) != 0)
		{
			w->failed = true;
			err_set(err, "could not rename \"%s\": %s", w->path, strerror(errno));
			return -1;
		}
	}
	w->finished = true;
	return 0;
}

void
tarstream_writer_destroy(tarstream_writer *w)
{
	if (!w)
		return;
	if (w->a)
		archive_write_free(w->a);
	if (!w->to_stdout && w->fd >= 0)
		close(w->fd);
	if (!w->finished && w->tmp_path)
		unlink(w->tmp_path);
	for (int i = 0; i < w->ndirs; i++)
		free(w->dirs[i]);
	free(w->dirs);
	free(w->path);
	free(w->tmp_path);
	free(w);
}

/* -------------------------------------------------------------- reader */

static struct archive *
tarstream_open_read(const char *path, int *fd_out, pgc_err *err)
{
	int fd = STDIN_FILENO;
	if (strcmp(path, "-") != 0)
	{
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
		{
			if (err)
				err_set(err, "could not open \"%s\": %s", path, strerror(errno));
			return NULL;
		}
	}
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_fd(a, fd, TARSTREAM_BUFSZ) != ARCHIVE_OK)
	{
		if (err)
			err_set(err, "could not read \"%s\" as a tar archive: %s",
					strcmp(path, "-") == 0 ? "standard input" : path, archive_error_string(a));
		archive_read_free(a);
		if (fd != STDIN_FILENO)
			close(fd);
		return NULL;
	}
	*fd_out = fd;
	return a;
}

struct tarstream_reader
{
	struct archive *a;
	int			fd;
	char	   *what;			/* "standard input" or the path */
	char	   *name;			/* the current entry */
	int			nentries;
	bool		failed;
};

tarstream_reader *
tarstream_reader_open(const char *path, pgc_err *err)
{
	int fd;
	struct archive *a = tarstream_open_read(path, &fd, err);
	if (!a)
		return NULL;
	tarstream_reader *r = xcalloc(1, sizeof *r);
	r->a = a;
	r->fd = fd;
	r->what = xstrdup(strcmp(path, "-") == 0 ? "standard input" : path);
	return r;
}

int
tarstream_reader_next(tarstream_reader *r, const char **name, int64_t *size, pgc_err *err)
{
	for (;;)
	{
		if (r->failed)
		{
			err_set(err, "the tar archive %s cannot be read any more", r->what);
			return -1;
		}
		struct archive_entry *e;
		int rc = archive_read_next_header(r->a, &e);
		if (rc == ARCHIVE_EOF)
			return 0;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
		{
			r->failed = true;
			err_set(err, r->nentries ? "the tar archive %s is truncated or damaged" : "%s is not a tar archive",
					r->what);
			err_detail(err, "%s.", archive_error_string(r->a));
			return -1;
		}
		r->nentries++;
		const char *raw = archive_entry_pathname(e);
		while (raw && raw[0] == '.' && raw[1] == '/')
			raw += 2;
		free(r->name);
		r->name = xstrdup(raw ? raw : "");
		for (size_t n = strlen(r->name); n > 0 && r->name[n - 1] == '/'; n--)
			r->name[n - 1] = '\0';
		mode_t type = archive_entry_filetype(e);
		if (!archive_file_path_safe(r->name) || (type != AE_IFREG && type != AE_IFDIR))
		{
			r->failed = true;
			err_set(err, "the tar archive %s holds an entry pgcarry does not unpack: \"%s\"", r->what, r->name);
			err_detail(err, "Only plain files and directories with relative paths are allowed.");
			return -1;
		}
		if (type == AE_IFDIR)
			continue;
		*name = r->name;
		*size = archive_entry_size(e);
		return 1;
	}
}

ssize_t
tarstream_reader_read(void *arg, void *buf, size_t len, pgc_err *err)
{
	tarstream_reader *r = arg;
	la_ssize_t n = archive_read_data(r->a, buf, len);
	if (n < 0)
	{
		r->failed = true;
		err_set(err, "the tar archive %s is truncated or damaged", r->what);
		err_detail(err, "Entry \"%s\": %s.", r->name ? r->name : "", archive_error_string(r->a));
		return -1;
	}
	return (ssize_t) n;
}

void
tarstream_reader_close(tarstream_reader *r)
{
	if (!r)
		return;
	archive_read_free(r->a);
	if (r->fd != STDIN_FILENO)
		close(r->fd);
	free(r->what);
	free(r->name);
	free(r);
}

int
tarstream_extract(const char *path, const char *dest, pgc_err *err)
{
	tarstream_reader *r = tarstream_reader_open(path, err);
	if (!r)
		return -1;
	int rc = 0;
	char *b = xmalloc(TARSTREAM_BUFSZ);
	const char *name;
	int64_t size;
	while (rc == 0 && (rc = tarstream_reader_next(r, &name, &size, err)) == 1)
	{
		rc = 0;
		archive_file_writer *fw = archive_file_writer_create(dest, name, 0, err);
		if (!fw)
		{
			rc = -1;
			break;
		}
		for (;;)
		{
			ssize_t n = tarstream_reader_read(r, b, TARSTREAM_BUFSZ, err);
			if (n == 0)
				break;
			if (n < 0 || archive_file_writer_write(fw, b, (size_t) n, err) != 0)
			{
				rc = -1;
				break;
			}
		}
		if (rc == 0 && archive_file_writer_finish(fw, NULL, err) != 0)
			rc = -1;
		archive_file_writer_destroy(fw);
	}
	free(b);
	tarstream_reader_close(r);
	return rc;
}

char *
tarstream_first_entry(const char *path)
{
	int fd;
	struct archive *a = tarstream_open_read(path, &fd, NULL);
	if (!a)
		return NULL;
	struct archive_entry *e;
	char *name = NULL;
	int r = archive_read_next_header(a, &e);
	if ((r == ARCHIVE_OK || r == ARCHIVE_WARN) && archive_entry_pathname(e))
		name = xstrdup(archive_entry_pathname(e));
	archive_read_free(a);
	close(fd);
	return name;
}
