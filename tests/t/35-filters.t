#!/usr/bin/env bash
# Choosing what moves: -n/-N/-t/-T on copy, judged by pg_dump itself.  For
# each choice, pg_dump with the same patterns, restored by pg_restore into a
# server of its own, is the oracle: the set of tables pgcarry carried equals
# the set of TABLE DATA entries pg_restore -l lists, and dbcheck finds the
# target equal (rows, sequences, schema) to what pg_dump | pg_restore made.
# Excluded tables are no difference; bad patterns are pinned usage errors.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

S="--source postgresql://u@127.0.0.1:1/postgres"
T="--target postgresql://u@127.0.0.1:2/postgres"

# usage_is ARGS... -- EXPECTED-FIRST-LINE NAME

usage_is copy $S $T -t 'a.b.c' shop -- 'invalid table pattern "a.b.c": improper qualified name (too many dotted names)' \
	"three-part table pattern"
usage_is copy $S $T -n 'a.b' shop -- 'invalid schema pattern "a.b": a dot outside double quotes is not allowed here' \
	"dotted schema pattern"
usage_is copy $S $T --table '"abc' shop -- 'invalid table pattern ""abc": a double quote is not closed' \
	"unclosed quote"
usage_is copy $S $T -T '' shop -- 'invalid table pattern "": the pattern is empty' "empty pattern"
usage_is copy $S $T --follow -t x shop -- '--follow cannot be used with -n, -N, -t or -T yet' "--follow with -t"

pg_start src
pg_start dst
pg_start ora

pg_sql src postgres "CREATE DATABASE shop"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 300) g;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, who int REFERENCES users, total int);
INSERT INTO orders (who, total) SELECT 1 + g % 300, g FROM generate_series(1, 500) g;
CREATE TABLE ordinal (n int);
INSERT INTO ordinal SELECT generate_series(1, 10);
CREATE SCHEMA sales;
CREATE TABLE sales."Q1" (id serial, v text);
INSERT INTO sales."Q1" (v) SELECT 'q1-' || g FROM generate_series(1, 40) g;
CREATE TABLE sales.q2 (v text);
INSERT INTO sales.q2 VALUES ('a'), ('b');
CREATE TABLE sales.archive_2020 (v text);
INSERT INTO sales.archive_2020 VALUES ('old');
CREATE TABLE sales.users (v text);
INSERT INTO sales.users VALUES ('not the public one');
CREATE SCHEMA "Odd.Schema";
CREATE TABLE "Odd.Schema".t (v int);
INSERT INTO "Odd.Schema".t VALUES (7);
CREATE SCHEMA audit;
CREATE TABLE audit.log (v text);
INSERT INTO audit.log VALUES ('x');
SELECT lo_from_bytea(0, 'a large object: pg_dump leaves it out of a choice');
SQL

# oracle PATTERN-ARGS...: PostgreSQL's own tools' result for the same
# choice, in shop on server ora (dbcheck_pgdump_choice); ORACLE_TABLES.
oracle() { dbcheck_pgdump_choice src ora shop "$@"; }

# check NAME PATTERN-ARGS...: copy shop with the options, then judge it.
check() {
	local name=$1
	shift
	pg_sql dst postgres "DROP DATABASE IF EXISTS shop"
	run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none "$@" shop
	is "$RC" 0 "$name: copy exits 0"
	[ "$RC" = 0 ] || diag "$ERR"
	oracle "$@"
	is "$(dbcheck_tables_of dst shop)" "$ORACLE_TABLES" "$name: the tables carried are those pg_dump dumps"
	local out
	out=$(dbcheck_compare ora dst shop 2>&1)
	is "$?" 0 "$name: the target equals pg_dump | pg_restore of the same choice"
	[ -z "$out" ] || diag "$out"
}

check "schemas, one excluded table" -n sales -n '"Odd.Schema"' -T 'sales.archive_*'
like "$OUT" "sales.q2" "the report lists a chosen table"
unlike "$OUT" "archive_2020|audit.log|public.users" "the report leaves out what was not chosen"
check "tables, unqualified and wildcards" -t users -t 'ORD?RS' -t 'public.ordinal'
check "excluded schemas" -N sales -N audit -N '"Odd.Schema"' -T orders

# compare covers exactly what was chosen: the target now lacks sales and
# orders, which is no difference when they are not chosen, and a difference
# when they are.
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none -N sales -N audit \
	-N '"Odd.Schema"' -T orders shop
is "$RC" 0 "compare of the same choice: equal"
[ "$RC" = 0 ] || diag "$OUT$ERR"
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none -t orders -t users shop
is "$RC" 3 "compare: a chosen table missing on the target is a difference"
like "$OUT" "TABLE public orders .*missing on target" "compare names the chosen table that is missing"
unlike "$OUT" "sales|audit" "compare says nothing of what was not chosen"
pg_sql dst shop "DELETE FROM users WHERE id = 5"
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none -n public -T orders shop
is "$RC" 3 "compare: a chosen table that differs is a difference"
like "$OUT" "public.users" "compare names the chosen table that differs"
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none -T users -N sales -N audit \
	-N '"Odd.Schema"' -T orders shop
is "$RC" 0 "compare: an excluded table that differs is not a difference"
[ "$RC" = 0 ] || diag "$OUT$ERR"
# export and import: the archive holds the chosen part, import loads it
# whole, and the result is what pg_dump | pg_restore makes of the same choice.
pg_sql dst postgres "DROP DATABASE shop"
run_pgcarry export --source "$(pg_uri src)" --progress none -n sales -T 'sales.archive_*' --output "$T_TMP/arch" shop
is "$RC" 0 "export with -n/-T exits 0"
[ "$RC" = 0 ] || diag "$ERR"
run_pgcarry import --target "$(pg_uri dst)" --progress none --input "$T_TMP/arch"
is "$RC" 0 "import of the chosen part exits 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
oracle -n sales -T 'sales.archive_*'
is "$(dbcheck_tables_of dst shop)" "$ORACLE_TABLES" "export: the tables carried are those pg_dump dumps"
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "export, import: the target equals pg_dump | pg_restore of the same choice"
[ -z "$out" ] || diag "$out"
usage_is export --source x --output y -t 'a.b.c' shop -- \
	'invalid table pattern "a.b.c": improper qualified name (too many dotted names)' "export: bad pattern"

# --schema-only: the tables empty, sequences at their start, no large
# object, as pg_dump --schema-only | pg_restore leaves them.
pg_sql dst postgres "DROP DATABASE IF EXISTS shop"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --schema-only -N audit shop
is "$RC" 0 "--schema-only: copy exits 0"
[ "$RC" = 0 ] || diag "$ERR"
oracle --schema-only -N audit
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "--schema-only: the target equals pg_dump --schema-only | pg_restore"
[ -z "$out" ] || diag "$out"
is "$(pg_sql dst shop "SELECT count(*) FROM users")" 0 "--schema-only: no rows moved"
usage_is copy $S $T --schema-only --follow shop -- "--schema-only and --follow cannot be used together" \
	"--schema-only with --follow"

usage_is compare $S $T -n '"x' shop -- 'invalid schema pattern ""x": a double quote is not closed' \
	"compare: unclosed quote"

done_testing
