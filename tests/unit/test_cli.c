/* test_cli.c: shared option handling, quoting, log line formatting,
 * servers named as libpq reached them, and the live display's line cut. */
#include "cli.h"
#include "conn.h"
#include "core/progress.h"
#include "tap.h"
#include "util/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs fn with stderr sent to a file, and returns what it wrote (owned). */
static char *
capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/pgcarry-test-cli.XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t len = lseek(fd, 0, SEEK_END);
	char *s = calloc(1, (size_t) len + 1);
	pread(fd, s, (size_t) len, 0);
	close(fd);
	unlink(path);
	return s;
}

static void
emit_usage_json(void)
{
	char *argv[] = {"pgcarry", "copy", "--bogus", "--log-format", "json", NULL};
	cli_early_options(5, argv);
	cli_usage_error("copy", "unrecognized option \"%s\"", "--bogus");
	log_setup(LOG_NOTICE, LOG_FORMAT_TEXT);
}

static void
emit_tagged(void)
{
	log_set_worker(3);
	log_set_database("accounts");
	log_set_table("public.users");
	log_report(LOG_ERROR, "could not copy", "the detail", "the hint");
	log_set_worker(-1);
	log_set_database(NULL);
	log_set_table(NULL);
}

static void
emit_json(void)
{
	log_setup(LOG_NOTICE, LOG_FORMAT_JSON);
	log_set_database("jobs");
	log_report(LOG_WARNING, "a \"quoted\" warning", NULL, "do this");
	log_set_database(NULL);
	log_setup(LOG_NOTICE, LOG_FORMAT_TEXT);
}

static void
emit_filtered(void)
{
	log_setup(LOG_WARNING, LOG_FORMAT_TEXT);
	log_info("hidden info");
	log_warning("shown warning");
	log_setup(LOG_NOTICE, LOG_FORMAT_TEXT);
}

static void
emit_bad_int(void)
{
	long v = 0;
	(void) cli_parse_int("copy", "--jobs", "0", 1, 64, &v);
}

int
main(void)
{
	long v = 0;
	TAP_EQ_INT(cli_parse_int("copy", "--jobs", "8", 1, 64, &v), 0, "parse 8");
	TAP_EQ_INT(v, 8, "parsed value 8");
	char *e = capture_stderr(emit_bad_int);
	TAP_EQ_STR(e, "pgcarry: error: --jobs must be a whole number from 1 to 64, not \"0\"\n"
			   "Try \"pgcarry copy --help\" for more information.\n", "out-of-range message");
	free(e);
	TAP_EQ_INT(cli_parse_int("copy", "--jobs", "3x", 1, 64, &v) != 0, 1, "trailing junk refused");
	TAP_EQ_INT(cli_parse_int("copy", "--jobs", "", 1, 64, &v) != 0, 1, "empty refused");

	log_setup(LOG_NOTICE, LOG_FORMAT_TEXT);
	TAP_EQ_INT(cli_common_option("x", CLI_OPT_VERBOSE, NULL), 1, "--verbose is shared");
	TAP_EQ_INT(log_threshold(), LOG_INFO, "--verbose shows info");
	TAP_EQ_INT(cli_common_option("x", CLI_OPT_DEBUG, NULL), 1, "--debug is shared");
	TAP_EQ_INT(log_threshold(), LOG_DEBUG, "--debug shows debug");
	TAP_EQ_INT(cli_common_option("x", CLI_OPT_QUIET, NULL), 1, "--quiet is shared");
	TAP_EQ_INT(log_threshold(), LOG_WARNING, "--quiet shows warnings and errors only");
	TAP_EQ_INT(cli_common_option("x", CLI_OPT_LOG_FORMAT, "json"), 1, "--log-format json");
	TAP_EQ_INT(log_get_format(), LOG_FORMAT_JSON, "json format set");
	TAP_EQ_INT(cli_common_option("x", CLI_OPT_HELP, NULL), 2, "--help asks for the command's help");
	TAP_EQ_INT(cli_common_option("x", 'Z', NULL), 0, "other options are not shared");
	log_setup(LOG_NOTICE, LOG_FORMAT_TEXT);

	e = capture_stderr(emit_tagged);
	TAP_EQ_STR(e, "pgcarry: [w3 accounts public.users] error: could not copy\n"
			   "pgcarry: detail: the detail\npgcarry: hint: the hint\n", "tagged text line with detail and hint");
	free(e);
	e = capture_stderr(emit_json);
	TAP_CONTAINS(e, "\"level\":\"warning\",\"database\":\"jobs\",\"message\":\"a \\\"quoted\\\" warning\",\"hint\":\"do this\"}\n",
				 "json line escapes and tags");
	free(e);
	e = capture_stderr(emit_filtered);
	TAP_EQ_STR(e, "pgcarry: warning: shown warning\n", "threshold filters info under --quiet");
	free(e);

	/* Quoting needs a PGconn for its encoding; an unconnected one will do. */
	PGconn *c = PQconnectdb("host=/nonexistent-pgcarry-dir connect_timeout=1");
	char *q = conn_quote_ident(c, "Mixed \"Case\"");
	TAP_EQ_STR(q, "\"Mixed \"\"Case\"\"\"", "identifier with quotes");
	free(q);
	q = conn_quote_ident(c, "plain");
	TAP_EQ_STR(q, "\"plain\"", "plain identifier is quoted too");
	free(q);
	q = conn_qualify(c, "my schema", "t");
	TAP_EQ_STR(q, "\"my schema\".\"t\"", "qualified name");
	free(q);
	q = conn_quote_literal(c, "it's");
	TAP_EQ_STR(q, "'it''s'", "literal with a quote");
	free(q);
	PQfinish(c);

	/* Servers as libpq reached them: a socket by its path, TCP as host:port/db. */
	c = PQconnectdb("host=/nonexistent-pgcarry-dir port=5999 dbname=shop user=u connect_timeout=1");
	q = conn_describe_live(c);
	TAP_EQ_STR(q, "on socket \"/nonexistent-pgcarry-dir/.s.PGSQL.5999\" (database shop)", "a socket is named by its path");
	free(q);
	PQfinish(c);
	c = PQconnectdb("host=127.0.0.1 port=1 dbname=shop user=u connect_timeout=1");
	q = conn_describe_live(c);
	TAP_EQ_STR(q, "127.0.0.1:1/shop", "TCP as host:port/database");
	free(q);
	PQfinish(c);
	TAP_OK(conn_describe_live(NULL) == NULL, "no connection, no description");

	/* Usage errors as one JSON object, the --help pointer as its hint. */
	e = capture_stderr(emit_usage_json);
	TAP_CONTAINS(e, "\"level\":\"error\",\"message\":\"unrecognized option \\\"--bogus\\\"\","
				 "\"hint\":\"Try \\\"pgcarry copy --help\\\" for more information.\"}\n", "usage error as JSON");
	TAP_NOT_CONTAINS(e, "\nTry", "no text line beside it");
	free(e);

	/* The live display's lines are cut to the terminal, never inside a
	 * UTF-8 sequence. */
	TAP_EQ_INT((int) progress_fit("abcdef", 6, 4), 4, "ASCII cut at 4 columns");
	TAP_EQ_INT((int) progress_fit("abc", 3, 10), 3, "a short line is kept whole");
	TAP_EQ_INT((int) progress_fit("h\xc3\xa9llo", 6, 2), 3, "two columns of h\xc3\xa9llo are 3 bytes");
	TAP_EQ_INT((int) progress_fit("abc", 3, 0), 0, "no column, nothing");
	return TAP_DONE();
}
