/*
 * stream.c: COPY streams with checksums (see stream.h).
 */
#include "core/stream.h"
#include "core/catalog.h"
#include "conn.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <libpq/libpq-fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Call the progress callback about this often. */
#define STREAM_TICK_BYTES (1024 * 1024)

/* The binary COPY signature, flags and header-extension length. */
static const char stream_binary_signature[11] = "PGCOPY\n\377\r\n\0";
#define STREAM_BINARY_HEADER 19

/* Session settings every data session gets (see stream_conn_open), on top
 * of conn_open's (stable text output, no statement or lock timeouts). */
static const char stream_session_sql_fmt[] =
	"SET client_encoding = %s; SET row_security = off; "
	"SELECT pg_catalog.set_config('search_path', '', false); "
	"SET lc_monetary = 'C'; SET xmloption = content; "
	"SET default_transaction_read_only = %s";

const char *
stream_format_name(stream_format f)
{
	return f == STREAM_BINARY ? "binary" : "text";
}

/* ------------------------------------------------------------------------
 * Sessions
 * ------------------------------------------------------------------------ */

/* Server notices on data sessions go through the log, whole lines, tagged
 * like everything else (libpq would print them raw on stderr). */
static void
stream_notice(void *arg, const PGresult *res)
{
	(void) arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	if (!msg)
		return;
	bool		loud = sev && (strcmp(sev, "WARNING") == 0 || strcmp(sev, "ERROR") == 0
							   || strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0);
	char	   *line = xasprintf("server %s: %s", sev ? sev : "NOTICE", msg);
	for (char *p = line + 7; *p && p < line + 7 + (sev ? strlen(sev) : 6); p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char) (*p + 32);
	log_report(loud ? LOG_WARNING : LOG_INFO, line, detail, NULL);
	free(line);
}

PGconn *
stream_conn_open(const char *conninfo, const char *dbname, const char *side,
				 const char *encoding, bool read_only, pgc_err *err)
{
	PGconn	   *conn = conn_open(conninfo, dbname, side, err);
	if (!conn)
		return NULL;
	PQsetNoticeReceiver(conn, stream_notice, NULL);
	char	   *enc = conn_quote_literal(conn, encoding && *encoding ? encoding : "UTF8");
	char	   *sql = xasprintf(stream_session_sql_fmt, enc, read_only ? "on" : "off");
	int			rc = conn_exec(conn, sql, err);
	free(sql);
	free(enc);
	if (rc != 0)
	{
		err_prefix(err, "could not prepare a session on the %s server: ", side);
		conn_close(conn);
		return NULL;
	}
	return conn;
}

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static const char *
stream_format_option(stream_format fmt)
{
	return fmt == STREAM_BINARY ? " (FORMAT binary)" : "";
}

char *
stream_copy_out_sql(const char *qualified, const char *columns, const stream_range *range,
					const char *filter, stream_format fmt)
{
	bool		ranged = range && range->first_page >= 0;
	bool		tree = range && range->first_page == STREAM_WHOLE_TREE.first_page;
	if (tree)
		return xasprintf("COPY (SELECT %s FROM %s%s%s%s) TO STDOUT%s", columns && *columns ? columns : "",
						 qualified, filter ? " WHERE (" : "", filter ? filter : "", filter ? ")" : "",
						 stream_format_option(fmt));
	if (!ranged && !filter)
	{
		if (columns && *columns)
			return xasprintf("COPY %s (%s) TO STDOUT%s", qualified, columns, stream_format_option(fmt));
		return xasprintf("COPY %s TO STDOUT%s", qualified, stream_format_option(fmt));
	}
	buf_t		b = {0};
	buf_printf(&b, "COPY (SELECT %s FROM ONLY %s WHERE ", columns ? columns : "", qualified);
	if (ranged)
	{
		buf_printf(&b, "ctid >= '(%lld,0)'::pg_catalog.tid", (long long) range->first_page);
		if (range->end_page >= 0)
			buf_printf(&b, " AND ctid < '(%lld,0)'::pg_catalog.tid", (long long) range->end_page);
	}
	if (filter)
		buf_printf(&b, "%s(%s)", ranged ? " AND " : "", filter);
	buf_printf(&b, ") TO STDOUT%s", stream_format_option(fmt));
	return buf_steal(&b);
}

stream_range
stream_whole(bool via_root)
{
	return via_root ? STREAM_WHOLE_TREE : STREAM_WHOLE_TABLE;
}

char *
stream_truncate_sql(const char *qualified, bool via_root)
{
	return xasprintf("TRUNCATE %s%s", via_root ? "" : "ONLY ", qualified);
}

int
stream_config_load_begin(PGconn *conn, pgc_err *err)
{
	bool		super = false;
	if (catalog_is_superuser(conn, &super, err) != 0)
		return -1;
	return super ? conn_exec(conn, "SET LOCAL session_replication_role = replica", err) : 0;
}

char *
stream_delete_sql(const char *qualified, const char *filter)
{
	if (!filter)
		return xasprintf("DELETE FROM ONLY %s", qualified);
	return xasprintf("DELETE FROM ONLY %s WHERE (%s)", qualified, filter);
}

char *
stream_copy_in_sql(const char *qualified, const char *columns, stream_format fmt, bool freeze)
{
	const char *opts;
	if (fmt == STREAM_BINARY)
		opts = freeze ? " (FORMAT binary, FREEZE)" : " (FORMAT binary)";
	else
		opts = freeze ? " (FREEZE)" : "";
	if (columns && *columns)
		return xasprintf("COPY %s (%s) FROM STDIN%s", qualified, columns, opts);
	return xasprintf("COPY %s FROM STDIN%s", qualified, opts);
}

/* ------------------------------------------------------------------------
 * Hashing messages
 * ------------------------------------------------------------------------ */

typedef struct stream_msgs
{
	stream_format fmt;
	bool		header_done;
	stream_result *res;
	const stream_tick *tick;
	int64_t		tick_bytes;
	int64_t		tick_rows;
} stream_msgs;

static void
stream_msgs_init(stream_msgs *m, stream_format fmt, stream_result *res, const stream_tick *tick)
{
	memset(m, 0, sizeof *m);
	m->fmt = fmt;
	m->res = res;
	m->tick = tick && tick->fn ? tick : NULL;
	memset(res, 0, sizeof *res);
	rowhash_init(&res->hash);
}

static void
stream_msgs_flush_tick(stream_msgs *m)
{
	if (m->tick && (m->tick_bytes || m->tick_rows))
		m->tick->fn(m->tick->arg, m->tick_bytes, m->tick_rows);
	m->tick_bytes = m->tick_rows = 0;
}

/* Adds one CopyData message: the row it holds (binary: minus the header in
 * the first message, and the trailer message is no row). */
static void
stream_msgs_add(stream_msgs *m, const char *data, size_t len)
{
	m->res->bytes += (int64_t) len;
	m->tick_bytes += (int64_t) len;
	if (m->fmt == STREAM_BINARY)
	{
		if (!m->header_done)
		{
			m->header_done = true;
			if (len >= STREAM_BINARY_HEADER
				&& memcmp(data, stream_binary_signature, sizeof stream_binary_signature) == 0)
			{
				uint32_t	ext = ((uint32_t) (unsigned char) data[15] << 24)
					| ((uint32_t) (unsigned char) data[16] << 16)
					| ((uint32_t) (unsigned char) data[17] << 8)
					| (uint32_t) (unsigned char) data[18];
				size_t		skip = STREAM_BINARY_HEADER + (size_t) ext;
				if (skip > len)
					skip = len;
				data += skip;
				len -= skip;
			}
			if (len == 0)
				return;
		}
		if (len == 2 && (unsigned char) data[0] == 0xff && (unsigned char) data[1] == 0xff)
			return;
	}
	rowhash_add(&m->res->hash, data, len);
	m->tick_rows++;
	if (m->tick_bytes >= STREAM_TICK_BYTES)
		stream_msgs_flush_tick(m);
}

/* ------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------ */

/* Reads every remaining result of conn, keeping the first error. */
static int
stream_finish_results(PGconn *conn, const char *query, pgc_err *err)
{
	int			rc = 0;
	PGresult   *r;
	while ((r = PQgetResult(conn)) != NULL)
	{
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COPY_IN)
		{
			/* Should not happen: end that COPY so the session is usable. */
			PQputCopyEnd(conn, "pgcarry ended an unexpected COPY");
		}
		else if (st == PGRES_COPY_OUT)
		{
			char	   *buf;
			while (PQgetCopyData(conn, &buf, 0) > 0)
				PQfreemem(buf);
		}
		else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		{
			conn_err_from_result(err, conn, r, query);
			rc = -1;
		}
		PQclear(r);
		if (PQstatus(conn) == CONNECTION_BAD)
		{
			conn_err_from_result(err, conn, NULL, query);
			rc = -1;
			break;
		}
	}
	return rc;
}

/* Starts a COPY; returns 0 when the server entered the expected state. */
static int
stream_start(PGconn *conn, const char *sql, ExecStatusType want, pgc_err *err)
{
	conn_log_sql(conn, sql, 0);
	PGresult   *r = PQexec(conn, sql);
	if (PQresultStatus(r) == want)
	{
		PQclear(r);
		return 0;
	}
	conn_err_from_result(err, conn, r, sql);
	PQclear(r);
	(void) stream_finish_results(conn, sql, err);
	return -1;
}

/* After a failure on the source side, ends the target's COPY with an error
 * so the target rolls it back. */
static void
stream_abort_copy_in(PGconn *dst, const char *why)
{
	if (PQstatus(dst) != CONNECTION_OK)
		return;
	pgc_err		ignore = PGC_ERR_INIT;
	(void) PQputCopyEnd(dst, why);
	(void) stream_finish_results(dst, NULL, &ignore);
	err_clear(&ignore);
}

/* After a failure on the target side, stops the source's COPY: cancel it,
 * then drain what is in flight. */
static void
stream_abort_copy_out(PGconn *src)
{
	if (PQstatus(src) != CONNECTION_OK)
		return;
	PGcancel   *c = PQgetCancel(src);
	if (c)
	{
		char		errbuf[256];
		(void) PQcancel(c, errbuf, sizeof errbuf);
		PQfreeCancel(c);
	}
	char	   *buf;
	int			n;
	while ((n = PQgetCopyData(src, &buf, 0)) > 0)
		PQfreemem(buf);
	pgc_err		ignore = PGC_ERR_INIT;
	(void) stream_finish_results(src, NULL, &ignore);
	err_clear(&ignore);
}

int
stream_copy(PGconn *src, const char *out_sql, PGconn *dst, const char *in_sql,
			stream_format fmt, const stream_tick *tick, stream_result *res, pgc_err *err)
{
	stream_msgs m;
	stream_msgs_init(&m, fmt, res, tick);

	if (stream_start(dst, in_sql, PGRES_COPY_IN, err) != 0)
	{
		err_prefix(err, "writing to the target: ");
		return -1;
	}
	if (stream_start(src, out_sql, PGRES_COPY_OUT, err) != 0)
	{
		err_prefix(err, "reading from the source: ");
		stream_abort_copy_in(dst, "the source failed");
		return -1;
	}

	for (;;)
	{
		char	   *buf = NULL;
		int			n = PQgetCopyData(src, &buf, 0);
		if (n > 0)
		{
			FAULT_ONCE("copy-drop-row", res->hash.rows == 1 && !(fmt == STREAM_BINARY && n == 2)) { PQfreemem(buf); continue; }
			FAULT_DO(fault_change_copy_byte("copy-change-byte", buf, (size_t) n, fmt == STREAM_BINARY));
			stream_msgs_add(&m, buf, (size_t) n);
			int			put = PQputCopyData(dst, buf, n);
			PQfreemem(buf);
			if (put != 1)
			{
				conn_err_from_result(err, dst, NULL, in_sql);
				err_prefix(err, "writing to the target: ");
				stream_abort_copy_out(src);
				return -1;
			}
			continue;
		}
		if (n == -1)
			break;
		/* n == -2: the source failed */
		conn_err_from_result(err, src, NULL, out_sql);
		(void) stream_finish_results(src, out_sql, err);
		err_prefix(err, "reading from the source: ");
		stream_abort_copy_in(dst, "the source failed");
		return -1;
	}
	if (stream_finish_results(src, out_sql, err) != 0)
	{
		err_prefix(err, "reading from the source: ");
		stream_abort_copy_in(dst, "the source failed");
		return -1;
	}
	if (PQputCopyEnd(dst, NULL) != 1)
	{
		conn_err_from_result(err, dst, NULL, in_sql);
		err_prefix(err, "writing to the target: ");
		return -1;
	}
	if (stream_finish_results(dst, in_sql, err) != 0)
	{
		err_prefix(err, "writing to the target: ");
		return -1;
	}
	stream_msgs_flush_tick(&m);
	return 0;
}

int
stream_copy_out(PGconn *conn, const char *out_sql, stream_format fmt, stream_sink_fn sink,
				void *arg, const stream_tick *tick, stream_result *res, pgc_err *err)
{
	stream_msgs m;
	stream_msgs_init(&m, fmt, res, tick);
	if (stream_start(conn, out_sql, PGRES_COPY_OUT, err) != 0)
		return -1;
	for (;;)
	{
		char	   *buf = NULL;
		int			n = PQgetCopyData(conn, &buf, 0);
		if (n > 0)
		{
			stream_msgs_add(&m, buf, (size_t) n);
			int			rc = sink ? sink(arg, buf, (size_t) n, err) : 0;
			PQfreemem(buf);
			if (rc != 0)
			{
				err_set(err, "the consumer of the COPY stream failed");
				stream_abort_copy_out(conn);
				return -1;
			}
			continue;
		}
		if (n == -1)
			break;
		conn_err_from_result(err, conn, NULL, out_sql);
		(void) stream_finish_results(conn, out_sql, err);
		return -1;
	}
	if (stream_finish_results(conn, out_sql, err) != 0)
		return -1;
	stream_msgs_flush_tick(&m);
	return 0;
}

int
stream_copy_in(PGconn *conn, const char *in_sql, stream_source_fn source, void *arg,
			   const stream_tick *tick, int64_t *bytes, pgc_err *err)
{
	int64_t		total = 0, since = 0;
	if (bytes)
		*bytes = 0;
	if (stream_start(conn, in_sql, PGRES_COPY_IN, err) != 0)
		return -1;
	for (;;)
	{
		const char *data = NULL;
		ssize_t		n = source(arg, &data, err);
		if (n < 0)
		{
			err_set(err, "the producer of the COPY stream failed");
			stream_abort_copy_in(conn, "the data source failed");
			return -1;
		}
		if (n == 0)
			break;
		/* PQputCopyData takes an int length: feed big chunks in pieces. */
		for (ssize_t off = 0; off < n;)
		{
			int			piece = n - off > (1 << 30) ? (1 << 30) : (int) (n - off);
			if (PQputCopyData(conn, data + off, piece) != 1)
			{
				conn_err_from_result(err, conn, NULL, in_sql);
				(void) stream_finish_results(conn, in_sql, err);
				return -1;
			}
			off += piece;
		}
		total += n;
		since += n;
		if (tick && tick->fn && since >= STREAM_TICK_BYTES)
		{
			tick->fn(tick->arg, since, 0);
			since = 0;
		}
	}
	if (PQputCopyEnd(conn, NULL) != 1)
	{
		conn_err_from_result(err, conn, NULL, in_sql);
		return -1;
	}
	if (stream_finish_results(conn, in_sql, err) != 0)
		return -1;
	if (tick && tick->fn && since)
		tick->fn(tick->arg, since, 0);
	if (bytes)
		*bytes = total;
	return 0;
}

/* ------------------------------------------------------------------------
 * Large objects
 * ------------------------------------------------------------------------ */

/* Large objects are read and written this many bytes at a time. */
#define STREAM_LO_CHUNK (256 * 1024)

/* The OIDs of the large objects in [first, end), ascending. */
static const char stream_lo_list_sql[] =
	"SELECT oid FROM pg_catalog.pg_largeobject_metadata "
	"WHERE oid >= $1::oid AND ($2::oid = 0 OR oid < $2::oid) ORDER BY oid";

/* Creates, with the same OIDs, the objects of $1 (JSON array) that do not
 * exist yet. */
static const char stream_lo_create_sql[] =
	"SELECT pg_catalog.lo_create(o::oid) FROM pg_catalog.json_array_elements_text($1::json) o "
	"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = o::oid)";

static PGresult *
stream_lo_list(PGconn *conn, uint32_t first, uint32_t end, pgc_err *err)
{
	char		a[16], b[16];
	snprintf(a, sizeof a, "%u", first);
	snprintf(b, sizeof b, "%u", end);
	const char *params[2] = {a, b};
	return conn_query(conn, stream_lo_list_sql, 2, params, err);
}

static void
stream_lo_add(stream_result *res, uint32_t oid, XXH3_state_t *st)
{
	XXH128_hash_t d = XXH3_128bits_digest(st);
	unsigned char row[20];
	row[0] = (unsigned char) (oid >> 24);
	row[1] = (unsigned char) (oid >> 16);
	row[2] = (unsigned char) (oid >> 8);
	row[3] = (unsigned char) oid;
	for (int i = 0; i < 8; i++)
	{
		row[4 + i] = (unsigned char) (d.high64 >> (56 - 8 * i));
		row[12 + i] = (unsigned char) (d.low64 >> (56 - 8 * i));
	}
	rowhash_add(&res->hash, row, sizeof row);
}

/* Reads one object of src in chunks; each chunk is hashed, then written to
 * dst_fd on dst (when dst) and handed to sink (when sink). */
static int
stream_lo_one(PGconn *src, uint32_t oid, PGconn *dst, int dst_fd, stream_lo_sink_fn sink,
			  void *arg, char *chunk, XXH3_state_t *st, stream_msgs *m, pgc_err *err)
{
	int			fd = lo_open(src, oid, INV_READ);
	if (fd < 0)
	{
		conn_err_from_result(err, src, NULL, NULL);
		err_prefix(err, "reading from the source: could not open large object %u: ", oid);
		return -1;
	}
	XXH3_128bits_reset(st);
	for (;;)
	{
		int			n = lo_read(src, fd, chunk, STREAM_LO_CHUNK);
		if (n < 0)
		{
			conn_err_from_result(err, src, NULL, NULL);
			err_prefix(err, "reading from the source: could not read large object %u: ", oid);
			return -1;
		}
		if (n == 0)
			break;
		XXH3_128bits_update(st, chunk, (size_t) n);
		m->res->bytes += n;
		m->tick_bytes += n;
		if (dst && lo_write(dst, dst_fd, chunk, (size_t) n) != n)
		{
			conn_err_from_result(err, dst, NULL, NULL);
			err_prefix(err, "writing to the target: could not write large object %u: ", oid);
			return -1;
		}
		if (sink && sink(arg, oid, chunk, (size_t) n, err) != 0)
		{
			err_set(err, "the consumer of large object %u failed", oid);
			return -1;
		}
		if (m->tick_bytes >= STREAM_TICK_BYTES)
			stream_msgs_flush_tick(m);
	}
	if (lo_close(src, fd) != 0)
	{
		conn_err_from_result(err, src, NULL, NULL);
		err_prefix(err, "reading from the source: ");
		return -1;
	}
	stream_lo_add(m->res, oid, st);
	m->tick_rows++;
	return 0;
}

static int
stream_lo_run(PGconn *src, PGconn *dst, uint32_t first, uint32_t end, stream_lo_sink_fn sink,
			  void *arg, const stream_tick *tick, stream_result *res, pgc_err *err)
{
	stream_msgs m;
	stream_msgs_init(&m, STREAM_BINARY, res, tick);
	PGresult   *list = stream_lo_list(src, first, end, err);
	if (!list)
	{
		err_prefix(err, "reading from the source: ");
		return -1;
	}
	int			n = PQntuples(list);
	if (dst && n > 0)
	{
		buf_t		json = {0};
		buf_putc(&json, '[');
		for (int i = 0; i < n; i++)
			buf_printf(&json, "%s\"%s\"", i ? "," : "", PQgetvalue(list, i, 0));
		buf_putc(&json, ']');
		const char *params[1] = {json.data};
		PGresult   *r = conn_query(dst, stream_lo_create_sql, 1, params, err);
		buf_free(&json);
		if (!r)
		{
			PQclear(list);
			err_prefix(err, "writing to the target: could not create large objects: ");
			return -1;
		}
		PQclear(r);
	}
	char	   *chunk = xmalloc(STREAM_LO_CHUNK);
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		abort();
	int			rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
	{
		uint32_t	oid = (uint32_t) strtoul(PQgetvalue(list, i, 0), NULL, 10);
		int			dfd = -1;
		if (dst)
		{
			dfd = lo_open(dst, oid, INV_WRITE);
			if (dfd < 0 || lo_truncate(dst, dfd, 0) != 0)
			{
				conn_err_from_result(err, dst, NULL, NULL);
				err_prefix(err, "writing to the target: could not open large object %u: ", oid);
				rc = -1;
				break;
			}
		}
		FAULT_ONCE("skip-large-object", dst != NULL) { (void) lo_close(dst, dfd); continue; }
		rc = stream_lo_one(src, oid, dst, dfd, sink, arg, chunk, st, &m, err);
		if (rc == 0 && dst && lo_close(dst, dfd) != 0)
		{
			conn_err_from_result(err, dst, NULL, NULL);
			err_prefix(err, "writing to the target: ");
			rc = -1;
		}
	}
	XXH3_freeState(st);
	free(chunk);
	PQclear(list);
	if (rc == 0)
		stream_msgs_flush_tick(&m);
	return rc;
}

int
stream_large_objects_copy(PGconn *src, PGconn *dst, uint32_t first, uint32_t end,
						  const stream_tick *tick, stream_result *res, pgc_err *err)
{
	return stream_lo_run(src, dst, first, end, NULL, NULL, tick, res, err);
}

int
stream_large_objects_read(PGconn *conn, uint32_t first, uint32_t end, stream_lo_sink_fn sink,
						  void *arg, const stream_tick *tick, stream_result *res, pgc_err *err)
{
	return stream_lo_run(conn, NULL, first, end, sink, arg, tick, res, err);
}

/* ------------------------------------------------------------------------
 * Hashing a byte stream
 * ------------------------------------------------------------------------ */

void
stream_hasher_init(stream_hasher *h, stream_format fmt)
{
	memset(h, 0, sizeof *h);
	h->format = fmt;
	rowhash_lines_init(&h->lines);
}

static uint32_t
stream_be32(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

/* Hashes every whole binary tuple in h->pending. */
static void
stream_hasher_binary(stream_hasher *h)
{
	const unsigned char *base = (const unsigned char *) h->pending.data;
	size_t		len = h->pending.len;
	size_t		pos = h->consumed;

	if (!h->header_done)
	{
		if (len - pos < STREAM_BINARY_HEADER)
			return;
		if (memcmp(base + pos, stream_binary_signature, sizeof stream_binary_signature) != 0)
		{
			h->bad = true;
			return;
		}
		size_t		ext = stream_be32(base + pos + 15);
		if (len - pos < STREAM_BINARY_HEADER + ext)
			return;
		pos += STREAM_BINARY_HEADER + ext;
		h->header_done = true;
	}
	while (!h->trailer_seen && !h->bad && len - pos >= 2)
	{
		int16_t		nf = (int16_t) (((unsigned) base[pos] << 8) | base[pos + 1]);
		if (nf == -1)
		{
			h->trailer_seen = true;
			pos += 2;
			break;
		}
		if (nf < 0)
		{
			h->bad = true;
			break;
		}
		size_t		p = pos + 2;
		bool		whole = true;
		for (int f = 0; f < nf; f++)
		{
			if (len - p < 4)
			{
				whole = false;
				break;
			}
			int32_t		fl = (int32_t) stream_be32(base + p);
			p += 4;
			if (fl < -1)
			{
				h->bad = true;
				whole = false;
				break;
			}
			if (fl > 0)
			{
				if (len - p < (size_t) fl)
				{
					whole = false;
					break;
				}
				p += (size_t) fl;
			}
		}
		if (!whole)
			break;
		rowhash_add(&h->lines.hash, base + pos, p - pos);
		pos = p;
	}
	h->consumed = pos;
	/* Drop what was hashed once it is most of the buffer. */
	if (h->consumed > 0 && h->consumed * 2 >= h->pending.len)
	{
		size_t		rest = h->pending.len - h->consumed;
		memmove(h->pending.data, h->pending.data + h->consumed, rest);
		h->pending.len = rest;
		h->pending.data[rest] = '\0';
		h->consumed = 0;
	}
}

void
stream_hasher_feed(stream_hasher *h, const void *data, size_t len)
{
	if (h->format == STREAM_TEXT)
	{
		rowhash_lines_feed(&h->lines, data, len);
		return;
	}
	if (h->bad)
		return;
	if (h->trailer_seen)
	{
		if (len > 0)
			h->bad = true;
		return;
	}
	buf_append(&h->pending, data, len);
	stream_hasher_binary(h);
}

int
stream_hasher_finish(stream_hasher *h, rowhash *out, pgc_err *err)
{
	if (h->format == STREAM_TEXT)
	{
		if (rowhash_lines_pending(&h->lines) != 0)
		{
			err_set(err, "the COPY data ends in the middle of a row");
			return -1;
		}
	}
	else if (h->bad || !h->header_done || !h->trailer_seen || h->pending.len != h->consumed)
	{
		err_set(err, h->bad || !h->header_done ? "the binary COPY data is not valid"
				: "the binary COPY data ends in the middle of a row");
		return -1;
	}
	*out = h->lines.hash;
	return 0;
}

void
stream_hasher_free(stream_hasher *h)
{
	rowhash_lines_free(&h->lines);
	buf_free(&h->pending);
}
