#!/usr/bin/env bash
# pgcarry copy, the plain case: two databases with tables of many kinds,
# sequences, a large object, partitions, generated and identity columns,
# materialized views, copied in parallel into a fresh server; the report on
# stdout; the result checked independently (row counts and md5 of every
# table, sequences, large objects, a schema-only pg_dump of both sides);
# exit 3 when verification finds a difference.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state

pg_sql src postgres "CREATE DATABASE shop"
pg_sql src postgres "CREATE DATABASE metrics"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE,
                        created timestamptz DEFAULT '2024-01-01 10:00+02');
INSERT INTO customers (name, email) SELECT 'name ' || g, 'e' || g || '@example.org' FROM generate_series(1, 5000) g;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     customer int REFERENCES customers (id), total numeric(12,2),
                     doubled bigint GENERATED ALWAYS AS (id * 2) STORED, note text);
INSERT INTO orders (customer, total, note)
  SELECT (g % 5000) + 1, g * 1.5, CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('x', g % 50) END
  FROM generate_series(1, 20000) g;
CREATE TABLE empty_table (a int);
CREATE TABLE "Odd ""Name"" Here" ("Mixed Col" text, b bytea, f float8, j json, arr int[]);
INSERT INTO "Odd ""Name"" Here" VALUES (E'tab\there\nnewline', '\x00ff10', 'NaN', '{"b":1,"a":2,"b":3}', '{1,NULL,3}'),
  (NULL, NULL, '-Infinity', NULL, NULL), ('\N', '', 1.0000000000000002, '[]', '{}');
CREATE TABLE nopk (a int, b text);
INSERT INTO nopk VALUES (1, 'dup'), (1, 'dup'), (1, 'dup'), (2, NULL);
CREATE TABLE parted (id int, k text) PARTITION BY LIST (k);
CREATE TABLE parted_a PARTITION OF parted FOR VALUES IN ('a');
CREATE TABLE parted_b PARTITION OF parted FOR VALUES IN ('b');
INSERT INTO parted SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 1000) g;
CREATE TABLE parent (id int, v text);
CREATE TABLE child (extra int) INHERITS (parent);
INSERT INTO parent VALUES (1, 'parent row');
INSERT INTO child VALUES (2, 'child row', 7);
CREATE UNLOGGED TABLE scratch (k int);
INSERT INTO scratch SELECT generate_series(1, 10);
CREATE MATERIALIZED VIEW order_count AS SELECT count(*) AS n FROM orders;
CREATE MATERIALIZED VIEW never_filled AS SELECT 1 AS one WITH NO DATA;
CREATE SEQUENCE not_called START 7;
SELECT lo_from_bytea(0, 'a large object');
SQL
pg_psql src metrics <<'SQL' || bail "could not fill metrics"
CREATE TABLE samples (t timestamptz, host text, value double precision);
INSERT INTO samples SELECT '2024-01-01'::timestamptz + g * interval '1 minute', 'h' || (g % 3), g / 3.0
  FROM generate_series(1, 30000) g;
CREATE INDEX ON samples (host, t);
SQL

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none \
	--state-dir "$STATE" shop metrics
is "$RC" 0 "copy exits 0"
like "$OUT" "^Verification \(row count and checksum\), source against target:" "the report opens with what was checked"
like "$OUT" "shop +table public.orders +20000 +20000 +equal +ok" "a table line: rows on both sides, checksum, status"
like "$OUT" "shop +table public.Odd \"Name\" Here +3 +3 +equal +ok" "a table with an odd name"
# A small table (a few kB) loads with DELETE and a plain COPY into the file
# pre-data created for it; a bigger one with TRUNCATE and COPY FREEZE, which
# gives it a new file: the catalog of the target says which.
is "$(pg_sql dst shop "SELECT relname || ':' || (relfilenode = oid) FROM pg_class WHERE relname IN ('nopk', 'orders') ORDER BY 1")" \
	"nopk:true
orders:false" "a small table keeps its file (no TRUNCATE), a big one is truncated for COPY FREEZE"
like "$OUT" "shop +table public.parted_a +500 +500 +equal +ok" "partitions carry rows"
like "$OUT" "shop +table public.child +1 +1 +equal +ok" "an inheritance child"
like "$OUT" "shop +table public.parent +1 +1 +equal +ok" "an inheritance parent: its own rows only"
like "$OUT" "shop +sequence public.not_called +7 \(not called\) +7 \(not called\) +- +ok" "a sequence never called"
like "$OUT" "shop +large objects +1 +1 +equal +ok" "large objects"
like "$OUT" "shop: 10 tables, 3 sequences, 1 large object: all equal" "per-database summary"
like "$OUT" "metrics: 1 table, 0 sequences: all equal" "second database summary"
like "$OUT" "Verified: 2 databases, every object equal\." "overall verdict"
unlike "$OUT" "parted " "the partitioned parent carries no rows of its own"
like "$ERR" 'database "shop" copied and verified' "stderr says each database is done"

for db in shop metrics; do
	out=$(dbcheck_compare src dst "$db" 2>/dev/null)
	is "$?" 0 "$db: every table, sequence, large object and the schema equal (independent check)" || diag "$out"
done
is "$(pg_sql dst shop "SELECT relname, relispopulated FROM pg_class WHERE relkind = 'm' ORDER BY 1")" \
	"$(pg_sql src shop "SELECT relname, relispopulated FROM pg_class WHERE relkind = 'm' ORDER BY 1")" \
	"materialized views populated as on the source"
is "$(pg_sql dst shop "SELECT count(*) FROM orders WHERE doubled = id * 2")" "20000" "generated column computed on the target"
is "$(pg_sql dst shop "INSERT INTO orders (customer, total) VALUES (1, 1) RETURNING id")" "20001" "identity continues after the copied rows"
is "$(pg_sql dst shop "SELECT relpersistence FROM pg_class WHERE relname = 'scratch'")" "u" "unlogged table stays unlogged"
is "$(pg_sql dst shop "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NULL AND last_autoanalyze IS NULL AND relname = 'customers'")" \
	"0" "ANALYZE ran on the target"
is "$(pg_sql src postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry'")" "0" "no pgcarry session left on the source"
is "$(stat -c %a "$STATE")" "700" "state directory is private"
is "$(stat -c %a "$STATE"/copy-*.sqlite)" "600" "state file is private"

# --verify count: row counts only, large objects by number.
pg_sql dst postgres "DROP DATABASE shop"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --verify count --progress none --state-dir "$STATE" shop
is "$RC" 0 "copy --verify count exits 0"
like "$OUT" "^Verification \(row count\), source against target:" "--verify count says what it checked"
like "$OUT" "shop +table public.orders +20000 +20000 +- +ok" "--verify count: rows compared, no checksum"
like "$OUT" "shop +large objects +1 +1 +- +ok" "--verify count: large objects counted"
out=$(dbcheck_compare src dst shop 2>/dev/null)
is "$?" 0 "--verify count: every table, sequence, large object and the schema equal (independent check)" || diag "$out"

# Verification catches a difference: copy without verifying, change a row
# on the target, then resume, which verifies what was not verified yet.
pg_sql src postgres "CREATE DATABASE later"
pg_sql src later "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g;
                  CREATE TABLE u (id int); INSERT INTO u VALUES (1)"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --verify none --progress none --state-dir "$STATE" later
is "$RC" 0 "copy --verify none exits 0"
like "$OUT" "later +table public.t +100 +- +- +not verified" "--verify none reports tables as not verified"
like "$OUT" "Not verified: 1 database\." "--verify none verdict"
pg_sql dst later "UPDATE t SET v = 'changed' WHERE id = 42"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --resume --progress none --state-dir "$STATE" later
is "$RC" 3 "a difference found by verification exits 3"
like "$OUT" "later +table public.t +100 +100 +differs +different" "the different table is named, with its checksum"
like "$OUT" "later +table public.u +1 +1 +equal +ok" "the equal table is ok"
like "$OUT" "Verification found 1 problem in 1 of 1 database\." "the verdict counts the problem"
like "$ERR" "\[w[0-9] later public.t\] error: the table differs on the target" "stderr names the database and the table"

done_testing
