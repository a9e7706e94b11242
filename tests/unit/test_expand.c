/*
 * test_expand.c: unit tests of expand/contract migration files
 * (src/expand/expand_spec.c): every malformed-file message, pinned, and
 * the well-formed files of every built-in operation accepted.
 */
#include "tap.h"

#include "expand/expand_spec.h"

#include <stdlib.h>
#include <unistd.h>

/* Checks text; returns the message ("" when accepted), owned by the caller. */
static char *
check(const char *text)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	if (!root)
		return strdup("(test bug: not JSON)");
	pgc_err err = PGC_ERR_INIT;
	int rc = expand_spec_check(root, "m.json", &err);
	char *msg = strdup(rc == 0 ? "" : err.message);
	if (rc != 0 && err.exit_status != EXIT_USAGE)
	{
		free(msg);
		msg = strdup("(exit status is not EXIT_USAGE)");
	}
	err_clear(&err);
	json_decref(root);
	return msg;
}

#define CHECK_MSG(text, want, name) \
	do { char *m_ = check(text); TAP_EQ_STR(m_, want, name); free(m_); } while (0)

#define OPS(x) "{\"name\": \"m1\", \"operations\": [" x "]}"

int
main(void)
{
	/* accepted: one of each built-in operation, and raw SQL */
	CHECK_MSG(OPS("{\"op\": \"add_column\", \"table\": \"t\", \"column\": \"c\", \"type\": \"int\", "
				  "\"default\": \"0\", \"not_null\": true}"), "", "add_column accepted");
	CHECK_MSG(OPS("{\"op\": \"add_constraint\", \"table\": \"t\", \"name\": \"k\", \"check\": \"c > 0\"}"),
			  "", "check constraint accepted");
	CHECK_MSG(OPS("{\"op\": \"add_constraint\", \"table\": \"t\", \"name\": \"k\", \"foreign_key\": "
				  "{\"columns\": [\"o\"], \"references\": \"owners\", \"ref_columns\": [\"id\"]}}"),
			  "", "foreign key accepted");
	CHECK_MSG(OPS("{\"op\": \"add_constraint\", \"table\": \"t\", \"name\": \"k\", \"unique\": [\"a\", \"b\"]}"),
			  "", "unique constraint accepted");
	CHECK_MSG(OPS("{\"op\": \"create_index\", \"table\": \"t\", \"name\": \"i\", \"columns\": [\"a\"], "
				  "\"unique\": false, \"where\": \"a > 0\"}"), "", "create_index accepted");
	CHECK_MSG(OPS("{\"op\": \"change_type\", \"table\": \"t\", \"column\": \"c\", \"type\": \"bigint\"}"),
			  "", "change_type accepted");
	CHECK_MSG(OPS("{\"op\": \"rename_column\", \"schema\": \"s\", \"table\": \"t\", \"column\": \"c\", \"to\": \"d\"}"),
			  "", "rename_column accepted");
	CHECK_MSG(OPS("{\"op\": \"move_columns_to_table\", \"table\": \"cat_lovers\", \"new_table\": \"cats\", "
				  "\"columns\": [{\"from\": \"cat_name\", \"to\": \"name\"}], \"reference\": \"cat_lover_id\"}"),
			  "", "move_columns_to_table accepted");
	CHECK_MSG(OPS("{\"op\": \"sql\", \"expand\": [\"CREATE TABLE x (i int)\"], \"rollback\": [\"DROP TABLE x\"]}"),
			  "", "raw sql accepted");

	/* refused, one clear message each */
	CHECK_MSG("[1]", "migration file \"m.json\" must hold one JSON object", "not an object");
	CHECK_MSG("{\"operations\": [{\"op\": \"sql\", \"expand\": []}]}",
			  "migration file \"m.json\": \"name\" is missing or not a valid name", "no name");
	CHECK_MSG("{\"name\": \"Bad-Name\", \"operations\": [{\"op\": \"sql\", \"expand\": []}]}",
			  "migration file \"m.json\": \"name\" is missing or not a valid name", "bad name");
	CHECK_MSG("{\"name\": \"m1\", \"operations\": []}",
			  "migration file \"m.json\": \"operations\" must be a non-empty list", "no operations");
	CHECK_MSG("{\"name\": \"m1\", \"operations\": [{\"op\": \"sql\", \"expand\": []}], \"extra\": 1}",
			  "migration file \"m.json\": unknown key \"extra\"", "unknown top-level key");
	CHECK_MSG("{\"name\": \"m1\", \"description\": 5, \"operations\": [{\"op\": \"sql\", \"expand\": []}]}",
			  "migration file \"m.json\": \"description\" must be a string", "description not a string");
	CHECK_MSG(OPS("3"), "migration file \"m.json\": operation 1 is not an object", "operation not an object");
	CHECK_MSG(OPS("{\"table\": \"t\"}"), "migration file \"m.json\": operation 1 has no \"op\"", "no op");
	CHECK_MSG(OPS("{\"op\": \"drop_everything\"}"),
			  "migration file \"m.json\": operation 1: unknown operation \"drop_everything\"", "unknown op");
	CHECK_MSG(OPS("{\"op\": \"add_column\", \"table\": \"t\", \"column\": \"c\", \"type\": \"int\", \"defualt\": \"0\"}"),
			  "migration file \"m.json\": operation 1 (add_column): unknown key \"defualt\"", "typo in a key");
	CHECK_MSG(OPS("{\"op\": \"add_column\", \"table\": \"t\", \"column\": \"c\"}"),
			  "migration file \"m.json\": operation 1 (add_column): \"type\" is missing", "missing key");
	CHECK_MSG(OPS("{\"op\": \"add_column\", \"table\": \"t\", \"column\": \"c\", \"type\": \"int\", \"not_null\": \"yes\"}"),
			  "migration file \"m.json\": operation 1 (add_column): \"not_null\" must be true or false", "bool type");
	CHECK_MSG(OPS("{\"op\": \"create_index\", \"table\": \"t\", \"name\": \"i\", \"columns\": []}"),
			  "migration file \"m.json\": operation 1 (create_index): \"columns\" must be a non-empty list of strings",
			  "empty column list");
	CHECK_MSG(OPS("{\"op\": \"move_columns_to_table\", \"table\": \"a\", \"new_table\": \"b\", \"reference\": \"r\", "
				  "\"columns\": [{\"from\": \"x\"}]}"),
			  "migration file \"m.json\": operation 1 (move_columns_to_table): \"columns\" must be a non-empty list of "
			  "{\"from\": ..., \"to\": ...} objects", "pairs");
	CHECK_MSG(OPS("{\"op\": \"add_constraint\", \"table\": \"t\", \"name\": \"k\"}"),
			  "migration file \"m.json\": operation 1 (add_constraint): give exactly one of \"check\", \"foreign_key\" and \"unique\"",
			  "constraint kind missing");
	CHECK_MSG(OPS("{\"op\": \"add_constraint\", \"table\": \"t\", \"name\": \"k\", \"check\": \"a\", \"unique\": [\"a\"]}"),
			  "migration file \"m.json\": operation 1 (add_constraint): give exactly one of \"check\", \"foreign_key\" and \"unique\"",
			  "two constraint kinds");
	CHECK_MSG(OPS("{\"op\": \"add_constraint\", \"table\": \"t\", \"name\": \"k\", \"foreign_key\": {\"columns\": [\"a\"]}}"),
			  "migration file \"m.json\": operation 1 (add_constraint): \"foreign_key\" needs \"columns\", \"references\" and as many \"ref_columns\"",
			  "incomplete foreign key");
	CHECK_MSG(OPS("{\"op\": \"add_constraint\", \"table\": \"t\", \"name\": \"k\", \"foreign_key\": {\"colums\": [\"a\"]}}"),
			  "migration file \"m.json\": operation 1 (add_constraint): unknown key \"colums\" in \"foreign_key\"",
			  "typo in foreign key");
	CHECK_MSG(OPS("{\"op\": \"move_columns_to_table\", \"table\": \"a\", \"new_table\": \"b\", \"reference\": \"r\", "
				  "\"columns\": [{\"from\": \"x\", \"to\": \"y\"}], \"on_delete\": \"explode\"}"),
			  "migration file \"m.json\": operation 1 (move_columns_to_table): \"on_delete\" must be cascade, restrict, no action or set null",
			  "bad on_delete");
	CHECK_MSG(OPS("{\"op\": \"sql\", \"expand\": [], \"backfill\": \"UPDATE t SET a = 1\"}"),
			  "migration file \"m.json\": operation 1 (sql): \"backfill\" needs \"table\"", "sql backfill without table");
	CHECK_MSG(OPS("{\"op\": \"sql\", \"expand\": [], \"verify\": \"SELECT 1\"}, {\"op\": \"add_column\"}"),
			  "migration file \"m.json\": operation 2 (add_column): \"table\" is missing", "second operation named");

	/* loading: not JSON, with line and column; a missing file */
	char path[] = "/tmp/pgcarry-test-expand-XXXXXX";
	int fd = mkstemp(path);
	TAP_OK(fd >= 0, "temporary file");
	if (fd >= 0)
	{
		const char bad[] = "{\"name\": \"m1\",\n  \"operations\": [\n";
		TAP_EQ_INT(write(fd, bad, sizeof bad - 1), (long long) (sizeof bad - 1), "wrote the file");
		close(fd);
		pgc_err err = PGC_ERR_INIT;
		char *sum = NULL;
		json_t *root = expand_spec_load(path, &sum, &err);
		TAP_OK(root == NULL && sum == NULL, "truncated file refused");
		char want[256];
		snprintf(want, sizeof want, "migration file \"%s\" is not valid JSON", path);
		TAP_EQ_STR(err.message, want, "not-JSON message");
		TAP_CONTAINS(err.detail, "line 3", "detail names the line");
		TAP_EQ_INT(err.exit_status, EXIT_USAGE, "malformed file is a usage error");
		err_clear(&err);
		unlink(path);

		root = expand_spec_load(path, &sum, &err);
		snprintf(want, sizeof want, "could not open migration file \"%s\": No such file or directory", path);
		TAP_EQ_STR(err.message, want, "missing file message");
		err_clear(&err);
	}

	/* a good file: checksum is 64 hex digits and stable */
	char p2[] = "/tmp/pgcarry-test-expand-XXXXXX";
	fd = mkstemp(p2);
	if (fd >= 0)
	{
		const char good[] = OPS("{\"op\": \"sql\", \"expand\": [\"SELECT 1\"]}");
		TAP_EQ_INT(write(fd, good, sizeof good - 1), (long long) (sizeof good - 1), "wrote a good file");
		close(fd);
		pgc_err err = PGC_ERR_INIT;
		char *s1 = NULL, *s2 = NULL;
		json_t *a = expand_spec_load(p2, &s1, &err);
		json_t *b = expand_spec_load(p2, &s2, &err);
		TAP_OK(a && b && !err.set, "good file loads");
		TAP_EQ_INT(s1 ? (long long) strlen(s1) : 0, 64, "checksum is SHA-256 hex");
		TAP_EQ_STR(s1, s2, "checksum is stable");
		TAP_EQ_STR(expand_spec_str(a, "name", NULL), "m1", "name read");
		json_decref(a);
		json_decref(b);
		free(s1);
		free(s2);
		unlink(p2);
	}
	return TAP_DONE();
}
