#!/usr/bin/env bash
# copy --data-only: the rows, sequences and large objects into the tables of
# a database that exists (here made by copy --schema-only): the target then
# equals the source (dbcheck: rows, sequences, large objects, schema).
# Refused, touching nothing, when the database is missing, lacks a table,
# or holds rows already.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

S="--source postgresql://u@127.0.0.1:1/postgres"
T="--target postgresql://u@127.0.0.1:2/postgres"
usage_is copy $S $T --schema-only --data-only shop -- "--schema-only and --data-only cannot be used together" "both"
usage_is copy $S $T --data-only --clean shop -- "--data-only cannot be used with --clean yet" "--data-only --clean"
usage_is copy $S $T --data-only --follow shop -- "--data-only cannot be used with --follow yet" "--data-only --follow"

pg_start src
pg_start dst
STATE=$T_TMP/state
pg_sql src postgres "CREATE DATABASE shop"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 3000) g;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, who int REFERENCES users, total int);
INSERT INTO orders (who, total) SELECT 1 + g % 3000, g FROM generate_series(1, 5000) g;
CREATE SCHEMA sales;
CREATE TABLE sales.q (v text);
INSERT INTO sales.q VALUES ('a'), ('b');
SELECT lo_from_bytea(0, 'an object');
SQL
COPY=(copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --state-dir "$STATE" --progress none)

run_pgcarry "${COPY[@]}" --data-only shop
is "$RC" 1 "--data-only into a missing database: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" 'database "shop" does not exist on the target' \
	"--data-only into a missing database: message"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop'")" 0 "and nothing created"

run_pgcarry "${COPY[@]}" --schema-only shop
is "$RC" 0 "--schema-only first: exit 0"
run_pgcarry "${COPY[@]}" --data-only shop
is "$RC" 0 "--data-only into that schema: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
out=$(dbcheck_compare src dst shop 2>&1)
is "$?" 0 "--schema-only then --data-only: the target equals the source"
[ -z "$out" ] || diag "$out"

run_pgcarry "${COPY[@]}" --data-only shop
is "$RC" 1 "--data-only into tables that hold rows: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'database "shop" on the target already holds rows in 3 of the tables to copy: public.orders, public.users, sales.q' \
	"--data-only into tables that hold rows: message"
is "$(pg_sql dst shop "SELECT count(*) FROM users")" 3000 "the rows there are left alone"

pg_sql dst shop "DROP TABLE sales.q"
pg_sql dst shop "TRUNCATE users, orders"
run_pgcarry "${COPY[@]}" --data-only shop
is "$RC" 1 "--data-only into a database that lacks a table: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'database "shop" on the target lacks 1 of the tables to copy: sales.q' \
	"--data-only into a database that lacks a table: message"
is "$(pg_sql dst shop "SELECT count(*) FROM users")" 0 "nothing was copied"

done_testing
