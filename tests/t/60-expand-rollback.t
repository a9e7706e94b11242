#!/usr/bin/env bash
# Expand/contract: rollback leaves the old shape exactly as before (md5 of the
# table), refuses to drop rows that exist only in the new shape unless
# forced; complete refuses (exit 3) when a row differs and names it; and
# every refusal of a bad command line, a malformed file, a changed file, a
# missing table or a second runner has one clear, pinned message.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

pg_start s
pg_sql s postgres "CREATE DATABASE club"
club_load s 20000
URI=$(pg_uri s club)
build_catapp || bail "could not build bench/catapp.c"
SUM="SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cat_lovers t"

# ---- rollback without a workload: the table is bit for bit as before
before=$(pg_sql s club "$SUM")
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI"
is "$RC" 0 "start exits 0"
run_pgcarry schema rollback cats_own_table --target "$URI"
is "$RC" 0 "rollback exits 0"
like "$OUT" "is rolled back" "rollback says so"
is "$(pg_sql s club "$SUM")" "$before" "rollback leaves cat_lovers exactly as before (md5)"
is "$(pg_sql s club "SELECT to_regclass('cats') IS NULL")" "t" "the new table is gone"
is "$(pg_sql s club "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")" 0 "no trigger is left"
is "$(pg_sql s club "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgcarry_expand'::regnamespace")" 0 "no function is left"
is "$(pg_sql s club "SELECT phase FROM pgcarry_expand.migrations")" "rolled back" "phase is rolled back"
run_pgcarry schema rollback cats_own_table --target "$URI"
is "$RC" 0 "rollback again is harmless"
like "$OUT" "already rolled back" "and says so"

# ---- started again after a rollback, with the old application writing
app_start s old 2 200
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI"
is "$RC" 0 "start after a rollback plans afresh and exits 0"
app_stop old
like "$APP_OUT" "errors=0 " "old application: zero errors"
during=$(pg_sql s club "$SUM")

# ---- complete refuses when the shapes differ, naming the rows
pg_sql s club "SET session_replication_role = replica; UPDATE cats SET color = 'tampered' WHERE cat_lover_id = 1; DELETE FROM cats WHERE cat_lover_id = 2"
run_pgcarry schema complete cats_own_table --target "$URI"
is "$RC" 3 "complete refuses with exit 3 when rows differ"
is "$(head -1 <<<"$ERR")" 'pgcarry: [cats_own_table] error: refusing to contract: verification of "cats_own_table" found 3 differences' \
	"refusal message with the count"
like "$ERR" "key 1 has \('cat 1', '[a-z]+'\) but .*cats.* has \('cat 1', 'tampered'\)" "names a changed row"
like "$ERR" "key 2 has \('cat 2', '[a-z]+'\) but no row in .*cats" "names a missing row"
like "$ERR" "hint: The old shape is untouched" "says the old shape is untouched"
is "$(pg_sql s club "SELECT count(*) FROM information_schema.columns WHERE table_name = 'cat_lovers' AND column_name = 'cat_name'")" 1 \
	"nothing was dropped"
is "$(pg_sql s club "SELECT phase FROM pgcarry_expand.migrations")" "verify" "phase is back to verify"

# ---- rollback refuses to lose rows only the new shape holds
pg_sql s club "SET session_replication_role = replica; DELETE FROM cats WHERE cat_lover_id IN (1, 2)"
pg_sql s club "INSERT INTO cats (name, color, cat_lover_id) VALUES ('second cat', 'black', 4)"
run_pgcarry schema rollback cats_own_table --target "$URI"
is "$RC" 1 "rollback refuses when rows exist only in the new shape"
is "$ERR" 'pgcarry: [cats_own_table] error: rollback of "cats_own_table" would lose 1 row that exists only in the new shape
pgcarry: detail: The new application version wrote them; the old shape cannot hold them.
pgcarry: hint: Run rollback with --force to drop them anyway.' "rollback refusal message"
run_pgcarry schema rollback cats_own_table --target "$URI" --force
is "$RC" 0 "rollback --force exits 0"
is "$(pg_sql s club "$SUM")" "$during" "rollback left cat_lovers as the old application left it"

# ---- a changed file while a migration is under way
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI"
is "$RC" 0 "start once more"
sed 's/"reference": "cat_lover_id"/"reference": "owner_id"/' "$HARNESS_ROOT/bench/cats.json" >"$T_TMP/cats.json"
run_pgcarry schema start "$T_TMP/cats.json" --target "$URI"
is "$RC" 1 "a changed file is refused"
is "$(head -1 <<<"$ERR")" "pgcarry: [cats_own_table] error: migration file \"$T_TMP/cats.json\" changed since \"cats_own_table\" was started" \
	"changed file message"

# ---- a second runner
PGPASSFILE=$NO_PGPASS psql -X -q -h "$(pg_sockdir s)" -p "$(pg_port s)" -U postgres -d club \
	-c "SELECT pg_advisory_lock(hashtext('pgcarry_expand'), hashtext('cats_own_table'))" -c "SELECT pg_sleep(40)" \
	>/dev/null 2>&1 &
HOLDER=$!
sleep 1
run_pgcarry schema complete cats_own_table --target "$URI"
is "$RC" 1 "a second runner is refused"
is "$(head -1 <<<"$ERR")" 'pgcarry: [cats_own_table] error: another pgcarry is running expand/contract migration "cats_own_table"' \
	"second runner message"
like "$ERR" "detail: It is held by pid [0-9]+" "names the holder"
kill $HOLDER 2>/dev/null
pg_sql s club "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(40)%' AND pid <> pg_backend_pid()" >/dev/null
wait $HOLDER 2>/dev/null

# ---- command line and files
run_pgcarry schema start --target "$URI"
is "$RC" 2 "start without a file is a usage error"
like "$ERR" 'error: give the migration file' "missing file argument message"
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --force
is "$RC" 2 "--force with start is a usage error"
like "$ERR" 'error: --force applies to complete and rollback only' "--force message"
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --batch-size 0
is "$RC" 2 "--batch-size 0 is a usage error"
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --pause 5q
is "$RC" 2 "a bad duration is a usage error"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: --pause must be a duration such as 2s, 500ms or 1min, not "5q"' "bad duration message"
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --lock-timeout 0
is "$RC" 2 "--lock-timeout 0 is a usage error"
like "$ERR" "error: --lock-timeout must be more than 0: without it the application's queries could queue behind pgcarry without limit" \
	"--lock-timeout 0 message"

printf '{"name": "broken", "operations": [\n' >"$T_TMP/broken.json"
run_pgcarry schema start "$T_TMP/broken.json" --target "postgresql://postgres@127.0.0.1:1/none"
is "$RC" 2 "a malformed file is refused with exit 2, before connecting"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration file \"$T_TMP/broken.json\" is not valid JSON" "malformed file message"
like "$ERR" "detail: line 2" "names the line"

printf '{"name": "typo", "operations": [{"op": "add_column", "table": "cat_lovers", "column": "x", "type": "int", "defualt": "1"}]}' \
	>"$T_TMP/typo.json"
run_pgcarry schema start "$T_TMP/typo.json" --target "$URI"
is "$RC" 2 "an unknown key is refused"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration file \"$T_TMP/typo.json\": operation 1 (add_column): unknown key \"defualt\"" \
	"unknown key message"

printf '{"name": "nope", "operations": [{"op": "add_column", "table": "nope", "column": "x", "type": "int"}]}' >"$T_TMP/nope.json"
run_pgcarry schema start "$T_TMP/nope.json" --target "$URI"
is "$RC" 1 "a missing table is refused"
is "$(head -1 <<<"$ERR")" "pgcarry: [nope] error: migration file \"$T_TMP/nope.json\": operation 1 (add_column): table \"public\".\"nope\" does not exist" \
	"missing table message"
is "$(pg_sql s club "SELECT count(*) FROM pgcarry_expand.migrations WHERE name = 'nope'")" 0 "nothing is recorded for it"

printf '{"name": "badtype", "operations": [{"op": "change_type", "table": "cat_lovers", "column": "email", "type": "no_such_type"}]}' >"$T_TMP/badtype.json"
run_pgcarry schema start "$T_TMP/badtype.json" --target "$URI"
is "$RC" 1 "an unknown type is refused"
is "$(head -1 <<<"$ERR")" "pgcarry: [badtype] error: migration file \"$T_TMP/badtype.json\": operation 1 (change_type): type \"no_such_type\" does not exist" \
	"unknown type message"

printf '{"name": "nokey", "operations": [{"op": "add_column", "table": "nokey", "column": "x", "type": "int", "default": "1"}]}' >"$T_TMP/nokey.json"
pg_sql s club "CREATE TABLE nokey (a int, b int)"
run_pgcarry schema start "$T_TMP/nokey.json" --target "$URI"
is "$RC" 1 "a table without a single-column primary key is refused"
is "$(head -1 <<<"$ERR")" "pgcarry: [nokey] error: migration file \"$T_TMP/nokey.json\": operation 1 (add_column): table \"public\".\"nokey\" has no single-column primary key" \
	"no primary key message"

run_pgcarry schema complete nosuch --target "$URI"
is "$RC" 1 "complete of an unknown migration fails"
is "$(head -1 <<<"$ERR")" 'pgcarry: [nosuch] error: no expand/contract migration named "nosuch" was started on this database' \
	"unknown migration message"

done_testing
