#!/usr/bin/env bash
# Post-data without races: a primary key on a two-level list-partitioned
# table (tp -> tp_p1 -> tp_p1_1, tp_p2 -> tp_p2_2, and more branches so
# that more attachments could meet) and a foreign key referencing tp come
# out valid at every run of copy --jobs 4 and of import --jobs 4: no
# partitioned index left invalid, no foreign key refused for want of its
# key.  Judged by the target's own pg_index and pg_constraint.
#
# PGCARRY_RACE_RUNS copies (default 10, for make check; make check-race
# runs 100), then two imports.
source "$(dirname "$0")/../lib/harness.sh"

RUNS=${PGCARRY_RACE_RUNS:-10}
pg_start src
pg_start dst
STATE=$T_TMP/state

pg_sql src postgres "CREATE DATABASE race" >/dev/null
pg_psql src race >/dev/null <<'SQL' || bail "could not fill race"
CREATE TABLE tp (k int NOT NULL, g int NOT NULL, v text) PARTITION BY LIST (g);
CREATE TABLE tp_p1 PARTITION OF tp FOR VALUES IN (1, 11) PARTITION BY LIST (k);
CREATE TABLE tp_p1_1 PARTITION OF tp_p1 FOR VALUES IN (1, 2, 3);
CREATE TABLE tp_p1_2 PARTITION OF tp_p1 FOR VALUES IN (4, 5, 6);
CREATE TABLE tp_p2 PARTITION OF tp FOR VALUES IN (2, 12) PARTITION BY LIST (k);
CREATE TABLE tp_p2_2 PARTITION OF tp_p2 FOR VALUES IN (1, 2, 3, 4, 5, 6);
CREATE TABLE tp_p3 PARTITION OF tp FOR VALUES IN (3, 13) PARTITION BY LIST (k);
CREATE TABLE tp_p3_1 PARTITION OF tp_p3 FOR VALUES IN (1, 2, 3);
CREATE TABLE tp_p3_2 PARTITION OF tp_p3 FOR VALUES IN (4, 5, 6);
CREATE TABLE tp_p4 PARTITION OF tp FOR VALUES IN (4, 14) PARTITION BY LIST (k);
CREATE TABLE tp_p4_1 PARTITION OF tp_p4 FOR VALUES IN (1, 2, 3, 4, 5, 6);
ALTER TABLE tp ADD PRIMARY KEY (k, g);
CREATE INDEX tp_v ON tp (v);
INSERT INTO tp SELECT k, g, 'v' || k || '-' || g
  FROM generate_series(1, 6) k, unnest(ARRAY[1, 2, 3, 4, 11, 12, 13, 14]) g;
CREATE TABLE ref (id int PRIMARY KEY, k int, g int, FOREIGN KEY (k, g) REFERENCES tp);
INSERT INTO ref SELECT row_number() OVER (), k, g FROM tp;
SQL

# What the target must show: every index valid, the foreign key there and
# validated, as the source's own catalog has them.
CHECK_SQL="SELECT (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND i.indisvalid)
          || ' valid, ' || (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT i.indisvalid)
          || ' invalid, fk ' || (SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated)"
WANT=$(pg_sql src race "$CHECK_SQL")
like "$WANT" "^[0-9]+ valid, 0 invalid, fk [1-9][0-9]*$" "the source's indexes are valid and its foreign key is there"

bad=0
for i in $(seq 1 "$RUNS"); do
	run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" \
		--clean --jobs 4 race
	got=$(pg_sql dst race "$CHECK_SQL")
	if [ "$RC" != 0 ] || [ "$got" != "$WANT" ]; then
		bad=$((bad + 1))
		diag "copy run $i: exit $RC, target: $got"
		diag "$(printf '%s' "$ERR" | grep -E 'error|detail' | head -5)"
	fi
done
is "$bad" 0 "$RUNS copies --jobs 4: every index valid and the foreign key there, every time"

A=$T_TMP/race.archive
run_pgcarry export --source "$(pg_uri src)" race --output "$A" --progress none
is "$RC" 0 "export"
bad=0
for i in 1 2; do
	run_pgcarry import --target "$(pg_uri dst)" --input "$A" --db race_imported --clean --jobs 4 --progress none
	got=$(pg_sql dst race_imported "$CHECK_SQL")
	if [ "$RC" != 0 ] || [ "$got" != "$WANT" ]; then
		bad=$((bad + 1))
		diag "import run $i: exit $RC, target: $got"
	fi
done
is "$bad" 0 "imports --jobs 4: every index valid and the foreign key there"

done_testing
