/* test_conn.c: connection-string checks, masking and description. */
#include "conn.h"
#include "tap.h"

#include <stdlib.h>

int
main(void)
{
	pgc_err err = PGC_ERR_INIT;

	TAP_EQ_INT(conn_check_arg("postgresql://bob@db.example/app", "--source", true, &err), 0,
			   "URI without password accepted");
	TAP_EQ_INT(conn_check_arg("host=h dbname=d user=u", "--source", true, &err), 0,
			   "key=value without password accepted");
	TAP_EQ_INT(conn_check_arg("accounts", "--source", true, &err), 0, "bare database name accepted");

	TAP_EQ_INT(conn_check_arg("postgresql://bob:s3cret@db.example/app", "--source", true, &err), -1,
			   "URI with password refused on argv");
	TAP_EQ_STR(err.message, "--source holds a password, and passwords are not accepted on the command line",
			   "password refusal message");
	TAP_CONTAINS(err.hint, "PGPASSWORD, ~/.pgpass or a service file", "refusal points to the ways out");
	TAP_EQ_INT(err.exit_status, EXIT_USAGE, "refusal is a usage error");
	TAP_NOT_CONTAINS(err.message, "s3cret", "refusal does not repeat the password");
	err_clear(&err);

	TAP_EQ_INT(conn_check_arg("host=h password=s3cret", "--target", true, &err), -1,
			   "key=value with password refused on argv");
	err_clear(&err);
	TAP_EQ_INT(conn_check_arg("postgresql://bob:s3cret@db.example/app", "PGCARRY_SOURCE", false, &err), 0,
			   "password allowed in the environment");

	TAP_EQ_INT(conn_check_arg("host=h password", "--source", true, &err), -1, "malformed string refused");
	TAP_EQ_STR(err.message, "--source is not a valid connection URI or key=value string", "malformed message");
	err_clear(&err);
	TAP_EQ_INT(conn_check_arg("", "--source", true, &err), -1, "empty string refused");
	TAP_EQ_STR(err.message, "--source is empty", "empty message");
	err_clear(&err);

	char *m = conn_mask("postgresql://bob:s3cret@db.example:5433/app?sslmode=require");
	TAP_NOT_CONTAINS(m, "s3cret", "masked URI hides the password");
	TAP_CONTAINS(m, "password=********", "masked URI marks the password");
	TAP_CONTAINS(m, "host=db.example", "masked URI keeps the host");
	free(m);
	m = conn_mask("host=h password='a b' user=u");
	TAP_NOT_CONTAINS(m, "a b", "masked key=value hides a quoted password");
	free(m);
	m = conn_mask("host=h password");
	TAP_EQ_STR(m, "(unreadable connection string)", "unparseable strings are not echoed");
	free(m);

	/* Passwords nested in dbname (libpq reads dbname='host=... password=...'
	 * as a database's name; the string must still never be accepted on the
	 * command line or shown). */
	static const char *const nested_pw[] = {
		"dbname='host=h password=s3cret'",
		"host=h dbname='host=x user=u password=s3cret'",
		"postgresql://h/?dbname=host%3Dx%20password%3Ds3cret",
		"host=h dbname='postgresql://bob:s3cret@x/db'",
		"dbname='dbname=\\'host=x password=s3cret\\''",
		"postgresql://h:5432/app?password=s3cret",
		NULL
	};
	for (int i = 0; nested_pw[i]; i++)
	{
		TAP_EQ_INT(conn_check_arg(nested_pw[i], "--source", true, &err), -1,
				   "a password anywhere in the string is refused on argv");
		TAP_EQ_STR(err.message, "--source holds a password, and passwords are not accepted on the command line",
				   "nested password refusal message");
		TAP_NOT_CONTAINS(err.message, "s3cret", "the refusal does not repeat the password");
		TAP_NOT_CONTAINS(err.detail, "s3cret", "the detail does not repeat the password");
		TAP_EQ_INT(err.exit_status, EXIT_USAGE, "nested password: a usage error");
		err_clear(&err);
		m = conn_mask(nested_pw[i]);
		TAP_NOT_CONTAINS(m, "s3cret", "masking hides a nested password");
		TAP_CONTAINS(m, "********", "masking marks a nested password");
		free(m);
		char *dd = conn_describe(nested_pw[i]);
		TAP_NOT_CONTAINS(dd, "s3cret", "the description hides a nested password");
		free(dd);
	}
	TAP_EQ_INT(conn_check_arg("host=h dbname='host=x password=s3cret'", "--source", true, &err), -1,
			   "nested password refused");
	TAP_CONTAINS(err.detail, "nested in dbname", "the detail says where the password is");
	err_clear(&err);
	TAP_EQ_INT(conn_check_arg("dbname='host=h password=s3cret'", "PGCARRY_SOURCE", false, &err), -1,
			   "a connection string nested in dbname is refused from the environment too");
	TAP_EQ_STR(err.message, "PGCARRY_SOURCE names a database that is itself a connection string",
			   "nested connection string message");
	TAP_CONTAINS(err.hint, "postgresql://user@host:5432/dbname", "the hint shows the way out");
	TAP_NOT_CONTAINS(err.message, "s3cret", "no password in the message");
	TAP_EQ_INT(err.exit_status, EXIT_USAGE, "nested connection string: a usage error");
	err_clear(&err);
	TAP_EQ_INT(conn_check_arg("host=h dbname='host=x port=5'", "--target", true, &err), -1,
			   "a nested connection string without password is refused");
	TAP_EQ_STR(err.message, "--target names a database that is itself a connection string", "its message");
	err_clear(&err);
	TAP_EQ_INT(conn_check_arg("host=h dbname='a=b'", "--target", true, &err), 0,
			   "a database name with '=' that is no connection string is accepted");
	char *sc = conn_scrub("database \"host=x password=s3cret\" does not exist",
						  "host=h dbname='host=x password=s3cret'");
	TAP_EQ_STR(sc, "database \"host=x password=********\" does not exist", "libpq's messages are scrubbed");
	free(sc);

	char *d = conn_describe("postgresql://bob:s3cret@db.example:5433/app");
	TAP_EQ_STR(d, "db.example:5433/app", "describe URI");
	free(d);
	d = conn_describe("host=10.0.0.1 port=6000");
	TAP_EQ_STR(d, "10.0.0.1:6000", "describe key=value");
	free(d);

	char *v = conn_version_string(150004);
	TAP_EQ_STR(v, "15.4", "version 15.4");
	free(v);
	v = conn_version_string(90624);
	TAP_EQ_STR(v, "9.6.24", "version 9.6.24");
	free(v);

	TAP_EQ_INT(conn_check_version(120000, "source", "h:5432", &err), 0, "PostgreSQL 12 accepted");
	TAP_EQ_INT(conn_check_version(110019, "source", "h:5432", &err), -1, "PostgreSQL 11 refused");
	TAP_EQ_STR(err.message, "the source server h:5432 runs PostgreSQL 11.19, older than 12, the oldest version pgcarry supports",
			   "old server message");
	TAP_EQ_STR(err.hint, "Upgrade the server first, or move this database with pg_dump and pg_restore.", "old server hint");
	err_clear(&err);

	TAP_OK(conn_sqlstate_retryable("08006"), "08006 retryable");
	TAP_OK(conn_sqlstate_retryable("57P01"), "57P01 retryable");
	TAP_OK(!conn_sqlstate_retryable("28P01"), "28P01 not retryable");
	TAP_OK(!conn_sqlstate_retryable("23505"), "23505 not retryable");
	return TAP_DONE();
}
