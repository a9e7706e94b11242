#!/usr/bin/env bash
# Expand/contract acceptance: the cat lovers club (200,000 members) moves its
# cats into their own table while the application runs, first as the old
# version (cat_name/cat_color), then as the new one (cats).  Zero failed
# application transactions, no statement waiting longer than the lock
# timeout (plus a margin for this busy machine), every cat present exactly
# once at the end, status showing phase, progress and verification.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

LOCK_TIMEOUT=1000
MARGIN=1000  # execution time on a busy two-core machine, on top of the lock wait

pg_start s
pg_sql s postgres "CREATE DATABASE club"
club_load s 200000
URI=$(pg_uri s club)
build_catapp || bail "could not build bench/catapp.c"

app_start s old
sleep 1
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "start exits 0 with the old application writing"
like "$ERR" "expand 2/2: install sync triggers" "start installs the sync triggers"
like "$ERR" "backfill .*cat_lovers.* -> .*cats.*: done, [0-9]+ rows" "start backfills"
like "$OUT" "verified cats_own_table: [0-9]{6} rows compared row by row, 0 differences" "start verifies every member"
like "$OUT" "is ready" "start says the migration is ready"
is "$(pg_sql s club "SELECT phase FROM pgcarry_expand.migrations WHERE name = 'cats_own_table'")" "ready" "phase is ready"

mkdir -p "$T_TMP/migrations"
run_pgcarry schema status --dir "$T_TMP/migrations" --target "$URI"
like "$OUT" "cats_own_table +phase ready" "status shows the phase"
like "$OUT" "backfill done" "status shows the backfill"
like "$OUT" "last verification .*: [0-9]+ rows compared, 0 difference" "status shows the last verification"
run_pgcarry schema status --json --dir "$T_TMP/migrations" --target "$URI"
FLAT=$(tr -d ' \n' <<<"$OUT")
like "$FLAT" '"expand":\[\{"name":"cats_own_table","phase":"ready"' "status --json has the migration"
like "$FLAT" '"verification":\{"at":"[^"]+","ok":true,"rows":[0-9]+,"differences":0' "status --json has the verification"

# The old version keeps working for a while against both shapes.
sleep 2
app_stop old
like "$APP_OUT" "errors=0 " "old application version: zero errors (${APP_OUT})"
app_max_below "$APP_OUT" $((LOCK_TIMEOUT + MARGIN)) "old application: no statement waited longer than the lock timeout"
is "$(pg_sql s club "SELECT count(*) > 0 FROM cats c JOIN cat_lovers m ON m.id = c.cat_lover_id WHERE m.name LIKE 'member-%'")" "t" \
	"cats written by the old version reached the new table"

# The new version takes over, and complete runs while it writes.
app_start s new
sleep 2
run_pgcarry schema complete cats_own_table --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "complete exits 0 with the new application writing"
like "$OUT" "verified cats_own_table: [0-9]{6} rows compared row by row, 0 differences" "complete verifies again"
like "$OUT" "is complete" "complete says so"
sleep 2
app_stop new
like "$APP_OUT" "errors=0 " "new application version: zero errors (${APP_OUT})"
app_max_below "$APP_OUT" $((LOCK_TIMEOUT + MARGIN)) "new application: no statement waited longer than the lock timeout"

is "$(pg_psql s club -f "$HARNESS_ROOT/bench/catclub-check.sql" | cut -d'|' -f1,2)" "0|0" "every cat is present exactly once"
is "$(pg_sql s club "SELECT count(*) FROM information_schema.columns WHERE table_name = 'cat_lovers' AND column_name LIKE 'cat_%'")" 0 \
	"the old columns are gone"
is "$(pg_sql s club "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN ('cat_lovers'::regclass, 'cats'::regclass)")" 0 \
	"the sync triggers are gone"
is "$(pg_sql s club "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgcarry_expand'::regnamespace")" 0 \
	"the sync functions are gone"
is "$(pg_sql s club "SELECT phase FROM pgcarry_expand.migrations WHERE name = 'cats_own_table'")" "complete" "phase is complete"

run_pgcarry schema complete cats_own_table --target "$URI"
is "$RC" 0 "complete again is harmless"
like "$OUT" "already complete" "and says so"
run_pgcarry schema rollback cats_own_table --target "$URI"
is "$RC" 1 "rollback after complete is refused"
is "$(head -1 <<<"$ERR")" 'pgcarry: [cats_own_table] error: cannot roll back expand/contract migration "cats_own_table": it is in phase complete' \
	"rollback after complete message"

done_testing
