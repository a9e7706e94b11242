#!/usr/bin/env bash
# Copy's expected set is the source's catalog: its report has one line per
# table that the source's own catalog lists as holding rows (read here with
# psql, not from pgcarry), with the source's row count; a table missing on
# the target, or rows lost there, is a difference for compare (exit 3),
# named table by table, never a silent omission.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
pg_sql src postgres "CREATE DATABASE ex"
pg_psql src ex >/dev/null <<'SQL' || bail "could not fill ex"
CREATE SCHEMA "Odd schema";
CREATE TABLE plain (id int PRIMARY KEY, v text);
INSERT INTO plain SELECT g, 'v' || g FROM generate_series(1, 300) g;
CREATE TABLE "Odd schema"."Mixed Case" (id int);
INSERT INTO "Odd schema"."Mixed Case" SELECT generate_series(1, 7);
CREATE UNLOGGED TABLE scratch (id int);
INSERT INTO scratch SELECT generate_series(1, 11);
CREATE TABLE empty_one (id int);
CREATE TABLE no_columns ();
INSERT INTO no_columns SELECT FROM generate_series(1, 5);
CREATE TABLE parent (id int, kind text);
CREATE TABLE child (extra int) INHERITS (parent);
INSERT INTO parent VALUES (1, 'p'), (2, 'p');
INSERT INTO child VALUES (3, 'c', 30);
CREATE TABLE byrange (d int, v text) PARTITION BY RANGE (d);
CREATE TABLE byrange_low PARTITION OF byrange FOR VALUES FROM (0) TO (100);
CREATE TABLE byrange_high PARTITION OF byrange FOR VALUES FROM (100) TO (MAXVALUE);
INSERT INTO byrange SELECT g, 'r' || g FROM generate_series(0, 199) g;
CREATE VIEW a_view AS SELECT * FROM plain;
CREATE MATERIALIZED VIEW a_matview AS SELECT id FROM plain WHERE id < 10;
SQL

# The tables holding rows, by the source's own catalog, with their counts.
EXPECTED=$(pg_sql src ex "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                            AND n.nspname !~ '^pg_' ORDER BY 1")
is "$(printf '%s\n' "$EXPECTED" | grep -c .)" 9 "the source's catalog lists 9 tables holding rows"

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$T_TMP/state" ex
is "$RC" 0 "copy exits 0"
while IFS= read -r name; do
	schema=${name%%.*}
	table=${name#*.}
	rows=$(pg_sql src ex "SELECT count(*) FROM ONLY $(pg_sql src ex "SELECT quote_ident('$schema') || '.' || quote_ident('$table')")")
	like "$OUT" "ex +table $(printf '%s' "$name" | sed 's/[].[*^$()+?{}|\\]/\\&/g') +$rows +$rows +equal +ok" \
		"the report lists $name with the source's $rows rows"
done <<<"$EXPECTED"
is "$(printf '%s\n' "$OUT" | grep -cE '^ex +table ')" 9 "and no other table"

# Losses on the target, made the way a stranger would: compare names them.
pg_sql dst ex "DROP TABLE empty_one; DELETE FROM plain WHERE id = 17; DELETE FROM \"Odd schema\".\"Mixed Case\" WHERE id = 1;
               UPDATE child SET extra = 31"
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none ex
is "$RC" 3 "compare exits 3 when tables differ"
like "$OUT" "ex +table public.empty_one .*missing on target" "a table missing on the target is named"
like "$OUT" "ex +table public.plain +300 +299 .*differ" "a lost row is a difference"
like "$OUT" "ex +table Odd schema.Mixed Case +7 +6 .*differ" "a lost row in an odd name is a difference"
like "$OUT" "ex +table public.child +1 +1 +differ" "a changed value is a difference"
like "$OUT" "ex +table public.byrange_low +100 +100 +equal +ok" "equal tables are still listed"

done_testing
