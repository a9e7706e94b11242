#!/usr/bin/env bash
# Expand/contract under lock discipline: an application transaction holds a
# lock that start's DDL needs.  pgcarry waits at most the lock timeout per
# attempt, names the blocker, retries, and succeeds once the lock is
# released, while the application's other queries on the table are never
# queued behind it for longer than the lock timeout (plus a margin); when
# the retry budget runs out it stops with a clear message, and a later start
# continues.  The backfill waits for rows an application transaction holds,
# and a batch that would hold its rows too long is retried with fewer.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

LOCK_TIMEOUT=300
MARGIN=1000  # execution time on a busy two-core machine, on top of the lock wait

pg_start s
pg_sql s postgres "CREATE DATABASE club"
club_load s 20000
URI=$(pg_uri s club)
build_catapp || bail "could not build bench/catapp.c"

# hold SECONDS SQL: a transaction that runs SQL and stays open
hold() {
	PGPASSFILE=$NO_PGPASS psql -X -q -h "$(pg_sockdir s)" -p "$(pg_port s)" -U postgres -d club \
		-c "BEGIN" -c "$2" -c "SELECT pg_sleep($1)" -c "COMMIT" >/dev/null 2>&1 &
	HOLD_PID=$!
	sleep 0.5
}

# ---- the budget runs out: clear stop, nothing half-done
hold 20 "UPDATE cat_lovers SET email = email WHERE id = 1"
app_start s old 2 100
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms --retry-budget 2s
is "$RC" 1 "start stops when the retry budget is spent"
like "$ERR" "expand step 2 \(install sync triggers on .*cat_lovers.*\) failed: gave up waiting for a lock after [0-9]+ attempts" \
	"the message says which step gave up and why"
like "$ERR" "blocked by .*pid [0-9]+" "the blocking session is named"
is "$(pg_sql s club "SELECT phase || ' ' || step FROM pgcarry_expand.migrations")" "expand 1" "the state stays after the last step done"
is "$(pg_sql s club "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")" 0 "nothing of the failed step was kept"

# ---- the lock is released while pgcarry retries: it succeeds
kill $HOLD_PID 2>/dev/null
pg_sql s club "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()" >/dev/null
wait $HOLD_PID 2>/dev/null
hold 3 "UPDATE cat_lovers SET email = email WHERE id = 2"
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "start succeeds once the blocking transaction ends"
like "$ERR" "retrying in [0-9]+ ms" "it retried after lock timeouts"
like "$OUT" "0 differences" "and verified"
wait $HOLD_PID 2>/dev/null
app_stop old
like "$APP_OUT" "errors=0 " "the application saw zero errors (${APP_OUT})"
app_max_below "$APP_OUT" $((LOCK_TIMEOUT + MARGIN)) "no application statement was queued behind pgcarry longer than the lock timeout"

# ---- a batch whose rows an application transaction holds waits and retries
run_pgcarry schema rollback cats_own_table --target "$URI"
is "$RC" 0 "rollback"
pgcarry_start schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms \
	--batch-size 200 --pause 50ms --verbose
for _ in $(seq 1 300); do
	n=$(pg_sql s club "SELECT rows_done FROM pgcarry_expand.migrations WHERE phase = 'backfill'" 2>/dev/null)
	[ "${n:-0}" -ge 2000 ] && break
	sleep 0.05
done
# The backfill is at ~2000 of 20000 rows: hold a row near the end for 8 s.
hold 8 "UPDATE cat_lovers SET cat_color = 'held' WHERE id = 19000"
pgcarry_wait
wait $HOLD_PID
is "$RC" 0 "the backfill gets past rows held by an application transaction"
like "$ERR" "backfill batch after key [0-9]+ could not lock its rows, retrying" "it retried the held batch"
is "$(pg_sql s club "SELECT color FROM cats WHERE cat_lover_id = 19000")" "held" "the held row's final value reached the new table"

# ---- a batch that holds its rows longer than the limit is retried smaller:
# a backfill that takes 1 ms a row, with a 200 ms lock timeout (100 ms per
# batch statement), shrinks from 1000 rows to what fits, and grows back
# where rows need no work.
cat >"$T_TMP/slow.json" <<'JSON'
{"name": "slow_rows", "operations": [{"op": "sql", "table": "cat_lovers",
  "expand": ["ALTER TABLE cat_lovers ADD COLUMN n int"],
  "backfill": "UPDATE cat_lovers SET n = length(pg_sleep(0.001)::text) WHERE ($1::bigint IS NULL OR id > $1::bigint) AND id <= $2::bigint AND id <= 3000 AND n IS NULL",
  "verify": "SELECT id::text, 'n is missing' FROM cat_lovers WHERE id <= 3000 AND n IS NULL",
  "rollback": ["ALTER TABLE cat_lovers DROP COLUMN IF EXISTS n"]}]}
JSON
run_pgcarry schema start "$T_TMP/slow.json" --target "$URI" --lock-timeout 200ms --batch-size 1000 --verbose
is "$RC" 0 "a slow backfill completes"
like "$ERR" "backfill batch after key \(start\) ran longer than 100 ms; retrying with 500 rows" "a batch over the limit is retried with half the rows"
max_rows=$(sed -n 's/.*retrying with \([0-9]*\) rows.*/\1/p' <<<"$ERR" | tail -1)
ok $([ -n "$max_rows" ] && [ "$max_rows" -lt 100 ] && echo 0 || echo 1) "it shrinks until a batch fits (${max_rows:-?} rows)"
is "$(pg_sql s club "SELECT count(*) FROM cat_lovers WHERE id <= 3000 AND n IS NULL")" 0 "every row was backfilled"
like "$OUT" "0 differences" "and verified"

done_testing
