#!/usr/bin/env bash
# The independent checker (tests/lib/dbcheck.sh) and the hard-case fixture
# (tests/fixtures/hardcase.sql) tested on their own, with no pgcarry at all:
# the fixture loads and holds the hard cases it promises; a pg_dump /
# pg_restore clone of it is found equal, data and schema; and each kind of
# difference a copy could make (a changed value, a missing row, a row in the
# wrong table of a hierarchy, a sequence, a large object, a materialized
# view, a missing table, a comment, a database setting) is found and named.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

FIX=$HARNESS_ROOT/tests/fixtures

pg_start src
pg_start tgt
for s in src tgt; do
	pg_psql "$s" postgres -f "$FIX/hardcase-roles.sql" || bail "roles did not load on $s"
done
pg_sql src postgres "CREATE DATABASE hardcase"
pg_psql src hardcase -f "$FIX/hardcase.sql"
is "$?" 0 "hardcase.sql loads with ON_ERROR_STOP"

# ------------------------------------------------ the fixture's promises

q() { pg_sql src hardcase "$*"; }
is "$(q "SELECT length(b), count(DISTINCT get_byte(b, i)) FROM app.t_bytea, generate_series(0, 255) i WHERE id = 0 GROUP BY b")" \
	"256|256" "a bytea holds all 256 byte values"
is "$(q "SELECT count(*) FILTER (WHERE t IS NULL), count(*) FILTER (WHERE t = E'\\\\N') FROM app.t_text WHERE id IN (2, 3)")" \
	"1|1" "NULL next to the text \\N"
is "$(q "SELECT bool_and(pg_column_size(coalesce(t, raw::text)) > 1000000 OR id = 1) FROM app.big_values WHERE id IN (2, 3)") $(q "SELECT octet_length(t) > 3000000 FROM app.big_values WHERE id = 1")" \
	"t t" "multi-megabyte TOASTed text and bytea"
is "$(q "SELECT num::text || ' ' || f8::text FROM app.t_numeric WHERE id IN (2, 3, 4) ORDER BY id" | tr '\n' ' ')" \
	"NaN NaN Infinity Infinity -Infinity -Infinity " "numeric and float NaN and infinities"
is "$(q "SELECT j::text FROM app.t_json WHERE id = 1")" '{"b":1,"a":2,"b":3}' "json keeps key order and duplicate keys"
is "$(q "SELECT length(relname), octet_length(relname) FROM pg_class WHERE relkind = 'r' AND (relname LIKE 't\\_63%' OR relname LIKE 'ééé%') ORDER BY 1")" \
	"32|63
63|63" "two 63-byte table names, one of them multibyte"
is "$(q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = relnamespace WHERE nspname IN ('app', 'parts', 'Mixed Case', 'ünï code', 'audit', 'public') AND relkind = 'r'")" \
	"56" "56 tables in six schemas"
is "$(q "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relispartition AND c.relkind IN ('r', 'p')")" "15" "15 partitions, on two levels"
is "$(q "SELECT count(*) FROM app.zero_cols")" "3" "a table with three rows and no columns"
is "$(q "SELECT relispopulated FROM pg_class WHERE oid IN ('app.mv_totals'::regclass, 'app.mv_unpopulated'::regclass) ORDER BY relname")" \
	"t
f" "one populated, one unpopulated materialized view"
is "$(q "SELECT last_value || ':' || is_called FROM app.seq_called UNION ALL SELECT last_value || ':' || is_called FROM app.seq_not_called")" \
	"42:true
7:false" "sequences with is_called true and false"
is "$(q "SELECT count(*), max(length(lo_get(oid))) > 1000000 FROM pg_largeobject_metadata")" "4|t" "four large objects, one over a megabyte"
is "$(q "SELECT count(*) FROM audit.log")" "1" "one audit row, written by a trigger"
like "$(q "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = 'hardcase')")" \
	"DateStyle=SQL, DMY.*extra_float_digits=0" "database-level session defaults set"
is "$(q "SELECT count(*) FROM pg_policy")" "3" "row-level security policies"

# --------------------------------------- a pg_dump / pg_restore clone is equal

dump=$T_TMP/hardcase.dump
PGPASSFILE=$NO_PGPASS pg_dump -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -F c --create -f "$dump" hardcase
is "$?" 0 "pg_dump of the fixture"
PGPASSFILE=$NO_PGPASS pg_restore -h "$(pg_sockdir tgt)" -p "$(pg_port tgt)" -U postgres --exit-on-error -j 2 --create -d postgres "$dump"
is "$?" 0 "pg_restore of the fixture"

out=$(dbcheck_compare src tgt hardcase 2>"$T_TMP/summary")
is "$?" 0 "dbcheck_compare: the clone is equal"
is "$out" "" "dbcheck_compare prints nothing when equal"
like "$(cat "$T_TMP/summary")" "hardcase: $(q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = relnamespace WHERE relkind IN ('r', 'm', 'S') AND nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_toast%'") relations and 4 large objects equal" "every table, matview and sequence was compared"
out=$(dbcheck_schema_diff src tgt hardcase)
is "$?" 0 "dbcheck_schema_diff: the clone's schema is equal"
is "$out" "" "dbcheck_schema_diff prints nothing when equal"

# The checker pins its own output settings: a database's defaults do not
# change what it sees (the schema diff does see the setting).
pg_sql tgt postgres "ALTER DATABASE hardcase RESET ALL"
out=$(_dbcheck_data src tgt hardcase)
is "$?" 0 "data equal although the target's DateStyle and extra_float_digits differ"
out=$(dbcheck_schema_diff src tgt hardcase)
is "$?" 1 "schema diff finds the lost database settings"
like "$out" "^-ALTER DATABASE hardcase SET \"?DateStyle\"? TO 'SQL, DMY'" "and shows the missing ALTER DATABASE line"
out=$(dbcheck_compare src tgt hardcase 2>/dev/null)
is "$?" 1 "dbcheck_compare always diffs the schema: it finds the lost settings"
like "$out" "^-ALTER DATABASE hardcase SET \"?DateStyle\"? TO 'SQL, DMY'" "and shows the schema diff"
pg_sql tgt postgres "ALTER DATABASE hardcase SET DateStyle = 'SQL, DMY'; ALTER DATABASE hardcase SET IntervalStyle = 'sql_standard'; ALTER DATABASE hardcase SET extra_float_digits = 0; ALTER DATABASE hardcase SET bytea_output = 'escape'"

# ------------------------------------------------ each difference is found

t() { pg_sql tgt hardcase "$*" >/dev/null; }

t "UPDATE app.t_text SET t = t || ' ' WHERE id = 1"
out=$(dbcheck_compare src tgt hardcase)
is "$?" 1 "a changed value: exit 1"
like "$out" '^dbcheck: hardcase: table app.t_text differs: source rows=14 md5=[0-9a-f]{32}; target rows=14 md5=[0-9a-f]{32}$' "a changed value is named with its table"
is "$(wc -l <<<"$out")" 1 "and nothing else is reported"
t "UPDATE app.t_text SET t = 'plain' WHERE id = 1"
out=$(dbcheck_compare src tgt hardcase)
is "$?" 0 "the value put back: equal again"

t "UPDATE app.big_values SET raw = set_byte(raw, 2000000, get_byte(raw, 2000000) # 1) WHERE id = 3"
t "DELETE FROM app.nopk_dups WHERE ctid = (SELECT min(ctid) FROM app.nopk_dups WHERE a = 1)"
t "UPDATE \"Mixed Case\".\"measure 2024-02\" SET v = v + 1 WHERE id = (SELECT min(id) FROM \"Mixed Case\".\"measure 2024-02\")"
t "INSERT INTO app.car VALUES (12, 'a car only the target has', 3)"
t "SELECT setval('app.seq_not_called', 7, true)"
t "SELECT setval('\"Mixed Case\".\"Seq \"\"Name\"\"\"', 1005)"
t "SELECT lo_put(424203, 1000, '\\x00')"
t "SELECT lo_unlink(424201)"
t "REFRESH MATERIALIZED VIEW app.mv_unpopulated"
t "DROP TABLE public.\"Quote\"\"Table\""
t "CREATE TABLE public.extra (id int)"
out=$(_dbcheck_data src tgt hardcase)
is "$?" 1 "many differences: exit 1"
like "$out" "table app.big_values differs: source rows=5 md5=[0-9a-f]+; target rows=5 md5=" "one flipped bit in a 2.5 MB bytea"
like "$out" "table app.nopk_dups differs: source rows=7 md5=[0-9a-f]+; target rows=6 md5=" "a missing duplicate row"
like "$out" "table \"Mixed Case\".\"measure 2024-02\" differs" "a changed row in a partition with a quoted name"
like "$out" "table app.car differs: source rows=2 .*target rows=3" "an extra row in an inheritance child"
unlike "$out" "app.vehicle" "the parent's own rows are compared alone (ONLY)"
like "$out" "sequence app.seq_not_called differs: source last_value=7 is_called=false; target last_value=7 is_called=true" "a sequence's is_called"
like "$out" "sequence \"Mixed Case\".\"Seq \"\"Name\"\"\" differs: source last_value=1000 is_called=true; target last_value=1005" "a sequence's last_value"
like "$out" "large objects: 4 on the source, 3 on the target" "a missing large object"
like "$out" "large object 424203 size=1280000 md5=[0-9a-f]+ owner=postgres .*\(source\) differs" "a changed large object"
like "$out" "materialized view app.mv_unpopulated differs: source unpopulated; target rows=97" "a materialized view populated on one side only"
like "$out" "table public.\"Quote\"\"Table\" is missing on the target" "a missing table"
like "$out" "table public.extra exists only on the target" "an extra table"
is "$(grep -c . <<<"$out")" 13 "exactly these differences (a changed large object shows on both sides)" || diag "$out"

out=$(dbcheck_compare src tgt hardcase 2>/dev/null)
is "$?" 1 "dbcheck_compare: data and schema differences"
like "$out" "table app.nopk_dups differs" "data differences are reported"
like "$out" "^-CREATE TABLE public.\"Quote\"\"Table\"" "and so is the schema diff"

# A psql that fails while reading large objects is a difference: a page of
# large object 424203 made longer than a page can be (lo_get then errors).
t "UPDATE pg_largeobject SET data = data || data WHERE loid = 424203 AND pageno = 0"
out=$(_dbcheck_data src tgt hardcase 2>/dev/null)
is "$?" 1 "an unreadable large object: exit 1"
like "$out" "^dbcheck: hardcase: reading the large objects of the target \(tgt\) failed$" "and the failed read is named"

t "COMMENT ON TABLE app.t_numeric IS 'changed'"
out=$(dbcheck_schema_diff src tgt hardcase)
is "$?" 1 "schema diff: exit 1"
like "$out" "^\+COMMENT ON TABLE app.t_numeric IS 'changed';" "a changed comment"
like "$out" "^-CREATE TABLE public.\"Quote\"\"Table\"" "a dropped table"

out=$(dbcheck_compare src tgt nosuchdb)
is "$?" 1 "a database missing on both sides is a difference"
like "$out" "database missing on the source" "and says so"
pg_sql src postgres "CREATE DATABASE only_src"
out=$(dbcheck_compare src tgt only_src)
is "$?" 1 "a database missing on the target"
like "$out" "^dbcheck: only_src: database missing on the target \(tgt\)$" "is named"

for s in src tgt; do
	pg_sql "$s" postgres "CREATE DATABASE tiny"
	pg_sql "$s" tiny "CREATE TABLE t AS SELECT g FROM generate_series(1, 10) g"
done
out=$(dbcheck_compare_all src tgt tiny 2>/dev/null)
is "$?" 0 "dbcheck_compare_all: equal databases"
out=$(dbcheck_compare_all src tgt tiny only_src 2>/dev/null)
is "$?" 1 "dbcheck_compare_all: one database of two differs"
is "$out" "dbcheck: only_src: database missing on the target (tgt)" "and only that one is reported"

# ------------------------------------------- seven.sh is deterministic

# Two of the seven databases built independently on both servers hold the
# same rows (no random(), no now()): the checker finds them equal.
SEVEN=$HARNESS_ROOT/tests/fixtures/seven.sh
for s in src tgt; do
	bash "$SEVEN" --host "$(pg_sockdir "$s")" --port "$(pg_port "$s")" --scale 0.01 --only metrics,results201709 2>"$T_TMP/seven.$s"
	is "$?" 0 "seven.sh builds metrics and results201709 on $s"
done
out=$(dbcheck_compare_all src tgt metrics results201709 2>/dev/null)
is "$?" 0 "seven.sh is deterministic: two builds are equal" || diag "$out"
out=$(dbcheck_schema_diff src tgt metrics)
is "$?" 0 "and so are their schemas" || diag "$out"
bash "$SEVEN" --host "$(pg_sockdir src)" --port "$(pg_port src)" --scale 0.01 --only metrics 2>"$T_TMP/seven.again"
is "$?" 1 "seven.sh refuses a database that exists"
like "$(cat "$T_TMP/seven.again")" "these databases exist already: metrics \(use --drop to replace them\)" "and says how to replace it"

# ------------------------------------------------------------ roles

# The fixture's roles were made on each server from the same file: the same
# LOGIN password gives two different SCRAM hashes (each has its own salt).
out=$(dbcheck_roles src tgt 2>/dev/null)
is "$?" 1 "roles: the same password hashed twice is a difference"
is "$out" "dbcheck: roles: the password of role hc_login differs" "and only that is reported"
pg_sql tgt postgres "ALTER ROLE hc_login PASSWORD '$(pg_sql src postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'hc_login'")'"
out=$(dbcheck_roles src tgt 2>"$T_TMP/summary")
is "$?" 0 "roles: equal once the hash is the source's" || diag "$out"
like "$(cat "$T_TMP/summary")" "roles: 6 roles equal" "every role was compared"

r() { pg_sql tgt postgres "$*" >/dev/null; }
r "ALTER ROLE hc_reader CREATEDB CONNECTION LIMIT 3"
r "REVOKE hc_reader FROM hc_writer"
r "GRANT hc_owner TO hc_writer WITH ADMIN OPTION"
r "ALTER ROLE hc_owner SET work_mem = '8MB'"
r "ALTER ROLE hc_owner IN DATABASE hardcase SET search_path = app"
r "COMMENT ON ROLE \"hc Mixed \"\"Role\"\"\" IS 'changed'"
r "ALTER ROLE hc_login PASSWORD 'another-fixture-pw'"
r "ALTER ROLE hc_writer PASSWORD 'writer-fixture-pw'"
pg_sql src postgres "CREATE ROLE hc_only_source NOLOGIN"
out=$(dbcheck_roles src tgt 2>/dev/null)
is "$?" 1 "roles: differences: exit 1"
like "$out" "source only: role hc_reader .*createdb=false .*connlimit=-1" "an attribute (source side)"
like "$out" "target only: role hc_reader .*createdb=true .*connlimit=3" "an attribute (target side)"
like "$out" "source only: member hc_writer of hc_reader admin=false" "a lost membership"
like "$out" "target only: member hc_writer of hc_owner admin=true" "an extra membership with admin option"
like "$out" "target only: setting hc_owner in \(every database\) work_mem=8MB" "a role setting"
like "$out" "target only: setting hc_owner in hardcase search_path=app" "a role setting in one database"
like "$out" "source only: comment \"hc Mixed \"\"Role\"\"\" 'a role whose name needs quotes'" "a changed comment"
like "$out" "the password of role hc_login differs" "a changed password (hashes compared)"
like "$out" "role hc_writer has a password on the target only" "a password on one side only"
like "$out" "source only: role hc_only_source " "a missing role"
is "$(grep -c . <<<"$out")" 11 "exactly these differences (a changed comment shows on both sides)" || diag "$out"
# A materialized view refreshed on each side from the same rows read in
# another order: a float sum differs in its last bits (0.1 + 0.2 + 0.3 is
# 0.6000000000000001, 0.3 + 0.2 + 0.1 is 0.6), which is no difference; a
# value that differs in its sixth digit is one.
for s in src tgt; do pg_sql "$s" postgres "CREATE DATABASE floats"; done
pg_sql src floats "CREATE TABLE t (v float8); INSERT INTO t VALUES (0.1), (0.2), (0.3)"
pg_sql tgt floats "CREATE TABLE t (v float8); INSERT INTO t VALUES (0.3), (0.2), (0.1)"
for s in src tgt; do pg_sql "$s" floats "CREATE MATERIALIZED VIEW mv AS SELECT sum(v) AS s, 1::int AS k FROM t"; done
is "$(pg_sql src floats "SELECT s::text FROM mv") $(pg_sql tgt floats "SELECT s::text FROM mv")" "0.6000000000000001 0.6" \
	"the two sums differ in their last bits"
out=$(dbcheck_compare src tgt floats 2>/dev/null)
is "$?" 0 "a materialized view's float sum read in another order is equal" || diag "$out"
pg_sql tgt floats "INSERT INTO t VALUES (0.000001); REFRESH MATERIALIZED VIEW mv; DELETE FROM t WHERE v = 0.000001"
out=$(dbcheck_compare src tgt floats 2>/dev/null)
like "$out" "materialized view public.mv differs" "a materialized view's float that differs in its sixth digit is a difference"

pg_stop tgt
out=$(dbcheck_roles src tgt 2>/dev/null)
is "$?" 1 "roles: a server that cannot be read is a difference"
like "$out" "^dbcheck: roles: reading the roles failed$" "and says so"

done_testing
