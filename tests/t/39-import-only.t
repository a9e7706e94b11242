#!/usr/bin/env bash
# import --schema-only and --data-only.  --schema-only leaves the target as
# pg_dump --schema-only | pg_restore leaves it (dbcheck against that
# oracle); --data-only then loads the rows into those tables, and the
# target equals the source (dbcheck: rows, sequences, large objects,
# schema).  --data-only refuses, touching nothing, a database that is
# missing, lacks a table, or holds rows already.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

T="--target postgresql://u@127.0.0.1:2/postgres"
usage_is import $T --input "$T_TMP" --schema-only --data-only -- \
	"--schema-only and --data-only cannot be used together" "both"
usage_is import $T --input "$T_TMP" --data-only --clean -- \
	"--data-only loads into tables that exist: it cannot be used with --clean" "--data-only --clean"
usage_is import $T --input "$T_TMP" --data-only --resume -- \
	"--data-only loads into tables that exist: it cannot be used with --resume" "--data-only --resume"

pg_start src
pg_start dst
pg_start ora
pg_sql src postgres "CREATE DATABASE shop"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 300) g;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, who int REFERENCES users, total int);
INSERT INTO orders (who, total) SELECT 1 + g % 300, g FROM generate_series(1, 500) g;
CREATE INDEX orders_who ON orders (who);
CREATE SCHEMA sales;
CREATE TABLE sales.q (v text);
INSERT INTO sales.q VALUES ('a'), ('b');
SELECT lo_from_bytea(0, 'an object');
SQL
run_pgcarry export --source "$(pg_uri src)" --progress none --output "$T_TMP/arch" shop
is "$RC" 0 "the archive is written"
PGPASSFILE=$NO_PGPASS "$PG_BINDIR/pg_dump" -Fc --create --schema-only -h "$(pg_sockdir src)" -p "$(pg_port src)" \
	-U postgres -f "$T_TMP/schema.dump" shop || bail "pg_dump failed"
PGPASSFILE=$NO_PGPASS "$PG_BINDIR/pg_restore" --create -h "$(pg_sockdir ora)" -p "$(pg_port ora)" -U postgres \
	-d postgres "$T_TMP/schema.dump" || bail "pg_restore failed"
IMPORT=(import --target "$(pg_uri dst)" --input "$T_TMP/arch" --progress none)

run_pgcarry "${IMPORT[@]}" --data-only
is "$RC" 1 "--data-only into a missing database: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" 'database "shop" does not exist on the target' \
	"--data-only into a missing database: message"
like "$ERR" "hint: Create its schema first \(pgcarry import --schema-only\)" "with the way out"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop'")" 0 "and nothing created"

run_pgcarry "${IMPORT[@]}" --schema-only
is "$RC" 0 "--schema-only: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "--schema-only: the target equals pg_dump --schema-only | pg_restore"
[ -z "$out" ] || diag "$out"

run_pgcarry "${IMPORT[@]}" --data-only --dry-run
is "$RC" 0 "--data-only --dry-run into the empty schema: exit 0"
like "$OUT" 'database "shop": exists with the tables, empty: the rows would be loaded' "the plan says so"
is "$(pg_sql dst shop "SELECT count(*) FROM users")" 0 "and loads nothing"
run_pgcarry "${IMPORT[@]}" --data-only
is "$RC" 0 "--data-only into the schema: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
like "$OUT" "shop: 3 tables, 2 sequences, 1 large object: all equal" "--data-only: verified against the archive"
out=$(dbcheck_compare src dst shop 2>&1)
is "$?" 0 "--schema-only then --data-only: the target equals the source"
[ -z "$out" ] || diag "$out"

run_pgcarry "${IMPORT[@]}" --data-only
is "$RC" 1 "--data-only into tables that hold rows: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'database "shop" on the target already holds rows in 3 of the archive'"'"'s tables: public.orders, public.users, sales.q' \
	"--data-only into tables that hold rows: message"
is "$(pg_sql dst shop "SELECT count(*) FROM users")" 300 "the rows there are left alone"
run_pgcarry "${IMPORT[@]}" --data-only --dry-run
is "$RC" 1 "--data-only --dry-run into tables that hold rows: exit 1"
like "$ERR" 'already holds rows in 3 of the archive' "the dry run gives the import's refusal"

pg_sql dst postgres "CREATE DATABASE partial"
pg_sql dst partial "CREATE TABLE users (id int, name text)"
run_pgcarry "${IMPORT[@]}" --data-only --rename shop=partial
is "$RC" 1 "--data-only into a database that lacks tables: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'database "partial" on the target lacks 2 of the archive'"'"'s tables: public.orders, sales.q' \
	"--data-only into a database that lacks tables: message"
is "$(pg_sql dst partial "SELECT count(*) FROM users")" 0 "nothing was loaded"

usage_is import --target "$(pg_uri dst)" --input "$T_TMP/schema.dump" --db x --data-only -- \
	"--schema-only and --data-only work with pgcarry archives only; pg_restore has its own for a pg_dump file" \
	"--data-only of a pg_dump file"

done_testing
