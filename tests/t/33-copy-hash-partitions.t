#!/usr/bin/env bash
# Tables partitioned by hash on a key whose hash is not the same on every
# cluster (an enum's hash is the hash of its label's OID) are carried by
# copy and by export -> import: rows load through the partition root, so
# PostgreSQL puts each row where the target's own hash says.  Multi-level
# (a hash-on-enum level under a range level), a domain over an enum and an
# array of enums too; a hash on int still loads partition by partition.
# Judged by the independent checker against the source, each such tree
# compared as a whole (its rows may rightly sit in other partitions, as
# pg_dump | pg_restore leaves them too).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state
TREES="public.t public.m_2024 public.d public.a"

pg_sql src postgres "CREATE DATABASE hp"
pg_psql src hp >/dev/null <<'SQL' || bail "could not fill hp"
-- OIDs taken on the source only, so that the enum's labels get other OIDs
-- on the target.
DO $$ BEGIN
  EXECUTE (SELECT 'CREATE TYPE filler AS ENUM (' || string_agg(quote_literal('l' || g), ',') || ')'
             FROM generate_series(1, 500) g);
END $$;
DROP TYPE filler;
CREATE TYPE colour AS ENUM ('red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black', 'white');
CREATE DOMAIN shade AS colour;

CREATE TABLE t (c colour, n int) PARTITION BY HASH (c);
CREATE TABLE t_0 PARTITION OF t FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE t_1 PARTITION OF t FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE t_2 PARTITION OF t FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE t_3 PARTITION OF t FOR VALUES WITH (MODULUS 4, REMAINDER 3);
CREATE INDEX t_n ON t (n);
INSERT INTO t SELECT (enum_range(NULL::colour))[1 + g % 8], g FROM generate_series(1, 2000) g;

CREATE TABLE m (day date, c colour, n int) PARTITION BY RANGE (day);
CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY HASH (c);
CREATE TABLE m_2024_0 PARTITION OF m_2024 FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE m_2024_1 PARTITION OF m_2024 FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE m_2024_2 PARTITION OF m_2024 FOR VALUES WITH (MODULUS 3, REMAINDER 2);
CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO m SELECT date '2024-01-01' + g % 700, (enum_range(NULL::colour))[1 + g % 8], g FROM generate_series(1, 1500) g;

CREATE TABLE d (s shade, n int) PARTITION BY HASH (s);
CREATE TABLE d_0 PARTITION OF d FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE d_1 PARTITION OF d FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO d SELECT (enum_range(NULL::colour))[1 + g % 8], g FROM generate_series(1, 500) g;

CREATE TABLE a (cs colour[], n int) PARTITION BY HASH (cs);
CREATE TABLE a_0 PARTITION OF a FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE a_1 PARTITION OF a FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO a SELECT ARRAY[(enum_range(NULL::colour))[1 + g % 8], (enum_range(NULL::colour))[1 + g % 3]], g
  FROM generate_series(1, 500) g;

CREATE TABLE h (k int, v text) PARTITION BY HASH (k);
CREATE TABLE h_0 PARTITION OF h FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE h_1 PARTITION OF h FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO h SELECT g, 'v' || g FROM generate_series(1, 500) g;
SQL

# copy
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" --jobs 2 hp
is "$RC" 0 "copy of hash partitions on an enum exits 0"
unlike "$ERR" "violates partition constraint" "no row is refused by a partition constraint"
like "$OUT" "hp +table public.t +2000 +2000 +equal +ok" "the hash-on-enum tree is verified as one table, all rows"
like "$OUT" "hp +table public.m_2024 +[0-9]+ +[0-9]+ +equal +ok" "a hash-on-enum level under a range level is verified as one table"
like "$OUT" "hp +table public.m_2025 +[0-9]+ +[0-9]+ +equal +ok" "the range level's plain partition is verified on its own"
like "$OUT" "hp +table public.d +500 +500 +equal +ok" "a domain over an enum loads through its root"
like "$OUT" "hp +table public.a +500 +500 +equal +ok" "an array of enums loads through its root"
like "$OUT" "hp +table public.h_0 +[0-9]+ +[0-9]+ +equal +ok" "a hash on int loads partition by partition"
DBCHECK_WHOLE_TREES=$TREES dbcheck_compare src dst hp
is "$?" 0 "the independent checker finds every row of every tree on the target"
dbcheck_compare src dst hp >/dev/null 2>&1
is "$?" 1 "rows sit in other partitions on the target than on the source (the enum's hash differs)"
is "$(pg_sql dst hp "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 't_%n_idx' OR indexname = 't_n'")" 5 \
	"the partitioned index and its partitions' indexes are built"

run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none hp
is "$RC" 0 "compare finds the copy equal"

# export -> import
A=$T_TMP/archive
run_pgcarry export --source "$(pg_uri src)" hp --output "$A" --progress none
is "$RC" 0 "export of hash partitions on an enum exits 0"
run_pgcarry verify-archive "$A"
is "$RC" 0 "verify-archive: the root's file stands for its partitions in the schema dump's list"
pg_sql dst postgres "DROP DATABASE hp"
run_pgcarry import --target "$(pg_uri dst)" --input "$A" --progress none --jobs 2
is "$RC" 0 "import of hash partitions on an enum exits 0"
unlike "$ERR" "violates partition constraint" "import: no row is refused by a partition constraint"
DBCHECK_WHOLE_TREES=$TREES dbcheck_compare src dst hp
is "$?" 0 "the independent checker finds every imported row of every tree"
run_pgcarry import --target "$(pg_uri dst)" --input "$A" --progress none --jobs 2 --verify count --clean
is "$RC" 0 "import again with --clean and --verify count exits 0"
DBCHECK_WHOLE_TREES=$TREES dbcheck_compare src dst hp
is "$?" 0 "the independent checker finds every row after the second import"

done_testing
