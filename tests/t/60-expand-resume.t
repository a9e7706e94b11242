#!/usr/bin/env bash
# Expand/contract after a crash: pgcarry is killed (-9) in the middle of the
# cat lovers backfill while the old application writes; started again, it
# resumes after the last committed batch (not from the start) and reaches the
# same result: zero application errors, every cat present exactly once, as
# the application's own record of its writes says, right after the resume
# and again after complete.
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
# Small batches with a pause, so the kill lands in the middle of the backfill.
pgcarry_start schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms \
	--batch-size 500 --pause 5ms
done_rows=0
for _ in $(seq 1 600); do
	done_rows=$(pg_sql s club "SELECT rows_done FROM pgcarry_expand.migrations WHERE phase = 'backfill'" 2>/dev/null)
	[ "${done_rows:-0}" -ge 30000 ] && break
	kill -0 $PGCARRY_PID 2>/dev/null || break
	sleep 0.1
done
kill -9 $PGCARRY_PID
pgcarry_wait
ok $([ "${done_rows:-0}" -ge 30000 ] && echo 0 || echo 1) "killed during the backfill (${done_rows:-0} rows done)"
read -r phase rows_done rows_total <<<"$(pg_sql s club "SELECT phase, rows_done, rows_total FROM pgcarry_expand.migrations" | tr '|' ' ')"
is "$phase" "backfill" "the state says backfill"
ok $([ "$rows_done" -gt 0 ] && [ "$rows_done" -lt "$rows_total" ] && echo 0 || echo 1) \
	"the state holds the progress ($rows_done of $rows_total)"
cats_at_kill=$(pg_sql s club "SELECT count(*) FROM cats")
mkdir -p "$T_TMP/migrations"
run_pgcarry schema status --dir "$T_TMP/migrations" --target "$URI"
like "$OUT" "cats_own_table +phase backfill" "status shows the interrupted phase"
like "$OUT" "backfill item 1 of 1: ${rows_done}/${rows_total} rows \([0-9]+%\)" "status shows the backfill's progress"
like "$OUT" "not verified yet" "status says it is not verified yet"

run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms --batch-size 2000
is "$RC" 0 "start again exits 0"
like "$ERR" "resuming expand/contract migration cats_own_table in phase backfill" "it resumes the backfill phase"
like "$ERR" "resuming after key [0-9]+ \(${rows_done} of ${rows_total} rows done\)" "it resumes after the last committed batch"
redone=$(sed -n 's/.*: done, \([0-9]*\) rows in.*/\1/p' <<<"$ERR")
ok $([ -n "$redone" ] && [ "$redone" -lt "$rows_total" ] && echo 0 || echo 1) \
	"only the rest was backfilled (${redone:-?} of $rows_total rows)"
unlike "$ERR" "expand [0-9]/[0-9]" "no expand step runs twice"
like "$OUT" "0 differences" "verification after the resume finds no difference"
# The application's own record (catapp_expect/catapp_extra, written in its
# transactions), read in one snapshot with cats while it still writes.
is "$(pg_psql s club -f "$HARNESS_ROOT/bench/catclub-check.sql" | cut -d'|' -f1,2)" "0|0" \
	"right after the resume, every cat the club had or the application wrote is in cats once ($cats_at_kill were there at the kill)"

app_stop old
like "$APP_OUT" "errors=0 " "old application: zero errors through the kill (${APP_OUT})"
app_max_below "$APP_OUT" $((LOCK_TIMEOUT + MARGIN)) "old application: no statement waited longer than the lock timeout"

app_start s new
sleep 1
run_pgcarry schema complete "$HARNESS_ROOT/bench/cats.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "complete (given the file) exits 0"
sleep 1
app_stop new
like "$APP_OUT" "errors=0 " "new application: zero errors (${APP_OUT})"
app_max_below "$APP_OUT" $((LOCK_TIMEOUT + MARGIN)) "new application: no statement waited longer than the lock timeout"
is "$(pg_psql s club -f "$HARNESS_ROOT/bench/catclub-check.sql" | cut -d'|' -f1,2)" "0|0" \
	"every cat is present exactly once after the crash and resume"

done_testing
