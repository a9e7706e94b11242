#!/usr/bin/env bash
# pgcarry schema on a live database: two runners at once (the second waits,
# then names the first and exits 1); an application transaction holding a
# lock on the table (pgcarry retries and succeeds once it is released, and
# meanwhile a third session's SELECT on that table never waits longer than
# the lock timeout); the retry budget running out (clear error naming the
# blocking session, nothing applied); --statement-timeout.
source "$(dirname "$0")/../lib/harness.sh"

pg_start db
U=$(pg_uri db postgres)
cd "$T_TMP" || bail "no temp dir"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

mkdir migrations
cat >migrations/001_users.sql <<'SQL'
-- migrate:up
CREATE TABLE users (id int PRIMARY KEY, name text);
INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 20000) g;
SQL
run_pgcarry schema up --target "$U"
is "$RC" 0 "table created"

# ------------------------------------------------------------ two runners
cat >migrations/002_slow.sql <<'SQL'
-- migrate:up
SELECT pg_sleep(4);
SQL
pgcarry_start schema up --target "$U"
a_pid=$PGCARRY_PID
a_err=$BG_ERR
holder=""
for _ in $(seq 1 100); do
	holder=$(pg_sql db postgres "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2")
	[ -n "$holder" ] && break
	sleep 0.1
done
ok "$([ -n "$holder" ] && echo 0 || echo 1)" "first runner holds the advisory lock"
t0=$(now_ms)
run_pgcarry schema up --target "$U" --lock-wait 1s
waited=$(($(now_ms) - t0))
is "$RC" 1 "second runner exits 1"
like "$ERR" "pgcarry: another pgcarry schema run holds the migration lock; waiting up to 1 s" "second runner says it waits"
like "$ERR" "pgcarry: error: another pgcarry schema run holds the migration lock on this database" "second runner's error"
like "$ERR" "detail: Held by pid $holder \(application \"pgcarry schema \(lock since [0-9-]+ [0-9:]+Z\)\", user postgres, connected since [0-9-]+ [0-9:]+Z, active: SELECT pg_sleep\(4\)\)" \
	"second runner names the holder, since when and what it runs"
like "$ERR" "hint: Wait for that run to finish, or give --lock-wait more seconds" "second runner's way out"
ok "$([ "$waited" -ge 900 ] && echo 0 || echo 1)" "second runner polled for --lock-wait (${waited} ms)"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND NOT l.granted")" 0 \
	"nobody queues for the advisory lock (it is polled, not waited for)"

run_pgcarry schema up --target "$U" --lock-wait 20s
is "$RC" 0 "a runner with a longer --lock-wait waits for the first and succeeds"
like "$ERR" "nothing to apply" "it finds the work done"
PGCARRY_PID=$a_pid BG_OUT=${a_err%.err}.out BG_ERR=$a_err pgcarry_wait
is "$RC" 0 "first runner exits 0"
like "$ERR" "1 migration applied" "first runner applied the migration"

# ------------------------------------------------------------ an application holds a lock, then releases it
cat >migrations/003_nickname.sql <<'SQL'
-- migrate:up
ALTER TABLE users ADD COLUMN nickname text;
SQL
PGAPPNAME=app pg_sql db postgres "BEGIN; SELECT count(*) FROM users; SELECT pg_sleep(10); COMMIT" >/dev/null &
app=$!
sleep 0.5
app_pid=$(pg_sql db postgres "SELECT pid FROM pg_stat_activity WHERE application_name = 'app'")
pgcarry_start schema up --target "$U" --lock-timeout 500ms --retry-budget 30s
b=$PGCARRY_PID
sleep 1
# A third session reads the table again and again while pgcarry waits.
max=0
for _ in 1 2 3 4 5 6; do
	s=$(now_ms)
	pg_sql db postgres "SELECT count(*) FROM users" >/dev/null
	d=$(($(now_ms) - s))
	[ "$d" -gt "$max" ] && max=$d
	sleep 0.4
done
note "longest SELECT on users while pgcarry waited: ${max} ms (lock_timeout 500 ms)"
ok "$([ "$max" -le 2000 ] && echo 0 || echo 1)" "the application's SELECTs never waited much longer than the lock timeout (${max} ms)"
ok "$(kill -0 "$b" 2>/dev/null && echo 0 || echo 1)" "pgcarry is still retrying while the application holds its lock"
pgcarry_wait
is "$RC" 0 "pgcarry succeeds once the application's transaction ends"
wait "$app"
berr=$ERR
like "$berr" "waiting for a lock \(up to lock_timeout\); blocked by pid $app_pid \(application \"app\", active, transaction open for [0-9]+ s, last query: BEGIN; SELECT count\(\*\) FROM users; SELECT pg_sleep\(10\); COMMIT\)" \
	"pgcarry names the blocking session and what it runs"
like "$berr" "lock not granted within lock_timeout; retrying in [0-9]+ ms \(attempt 2," "pgcarry retries with backoff"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'nickname'")" 1 "column added"

# ------------------------------------------------------------ the budget runs out
cat >migrations/004_age.sql <<'SQL'
-- migrate:up
ALTER TABLE users ADD COLUMN age int;
SQL
PGAPPNAME=app pg_sql db postgres "BEGIN; SELECT count(*) FROM users; SELECT pg_sleep(30); COMMIT" >/dev/null 2>&1 &
app=$!
sleep 0.5
app_pid=$(pg_sql db postgres "SELECT pid FROM pg_stat_activity WHERE application_name = 'app'")
run_pgcarry schema up --target "$U" --lock-timeout 300ms --retry-budget 2s
is "$RC" 1 "pgcarry stops when the retry budget is spent"
like "$ERR" "pgcarry: error: applying 004_age.sql, line 2: gave up waiting for a lock after [0-9]+ attempts in [0-9]+ s \(retry budget 2 s\)" \
	"budget message"
like "$ERR" "pgcarry: detail: Each attempt waited at most 300 ms so the application's queries never queued longer; blocked by pid $app_pid \(application \"app\"" \
	"budget detail names the blocker"
like "$ERR" "pgcarry: hint: Let the blocking transaction finish, or end it with SELECT pg_terminate_backend\($app_pid\), then run again; --retry-budget and --lock-timeout set how long pgcarry keeps trying." \
	"budget hint gives the way out"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'age'")" 0 "nothing applied"
is "$(pg_sql db postgres "SELECT count(*) FROM pgcarry_schema.migrations WHERE version = '004'")" 0 "not recorded as applied"
pg_sql db postgres "SELECT pg_terminate_backend($app_pid)" >/dev/null
wait "$app" 2>/dev/null
run_pgcarry schema up --target "$U" --lock-timeout 300ms
is "$RC" 0 "once the blocker is gone the migration applies"

# ------------------------------------------------------------ CREATE INDEX CONCURRENTLY waits for an old transaction
# It takes only SHARE UPDATE EXCLUSIVE, so it may wait (up to the budget, in
# one attempt) for the application's open transaction, while the
# application keeps writing.
cat >migrations/005_name_idx.sql <<'SQL'
-- migrate:up
CREATE INDEX CONCURRENTLY users_name ON users (name);
SQL
PGAPPNAME=app2 pg_sql db postgres "BEGIN; INSERT INTO users (id, name) VALUES (900001, 'open'); SELECT pg_sleep(4); COMMIT" >/dev/null &
app=$!
sleep 0.5
app_pid=$(pg_sql db postgres "SELECT pid FROM pg_stat_activity WHERE application_name = 'app2'")
pgcarry_start schema up --target "$U" --lock-timeout 300ms --retry-budget 30s
sleep 1
# Each write gives up after 100 ms of waiting for a lock: a CREATE INDEX
# that queued for a lock stronger than SHARE UPDATE EXCLUSIVE would make
# one of them fail.  And the index must be waiting while they run (the
# old transaction ends about 2 s into them).
max=0 blocked=0 index_waiting=0
for i in 1 2 3 4 5; do
	[ "$(pg_sql db postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgcarry%' AND state = 'active' AND query LIKE 'CREATE INDEX CONCURRENTLY%'")" = 1 ] &&
		index_waiting=$((index_waiting + 1))
	s=$(now_ms)
	pg_sql db postgres "SET lock_timeout = '100ms'; INSERT INTO users (id, name) VALUES (91000$i, 'writer')" >/dev/null 2>&1 ||
		blocked=$((blocked + 1))
	d=$(($(now_ms) - s))
	[ "$d" -gt "$max" ] && max=$d
	sleep 0.3
done
note "longest INSERT while the index waited: ${max} ms"
is "$blocked" 0 "the application keeps writing while the index waits: no write waited 100 ms for a lock"
ok "$([ "$index_waiting" -ge 2 ] && echo 0 || echo 1)" "the index was waiting for the old transaction when writes began ($index_waiting of 5)"
pgcarry_wait
is "$RC" 0 "the concurrent index is built once the old transaction ends"
wait "$app"
cerr=$ERR
like "$cerr" "blocked by pid $app_pid \(application \"app2\"" "pgcarry names the transaction the index waits for"
unlike "$cerr" "retrying|dropping invalid index" "it waited in one attempt instead of failing and rebuilding"
is "$(pg_sql db postgres "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_name'::regclass")" t "index valid"

# ------------------------------------------------------------ Ctrl-C while waiting for a lock
cat >migrations/006_score.sql <<'SQL'
-- migrate:up
ALTER TABLE users ADD COLUMN score int;
SQL
PGAPPNAME=app3 pg_sql db postgres "BEGIN; SELECT count(*) FROM users; SELECT pg_sleep(30); COMMIT" >/dev/null 2>&1 &
app=$!
sleep 0.5
pgcarry_start schema up --target "$U" --lock-timeout 300ms --retry-budget 30s
sleep 1.5
kill -INT "$PGCARRY_PID"
pgcarry_wait
is "$RC" 1 "an interrupted run exits 1"
derr=$ERR
like "$derr" "error: applying 006_score.sql, line 2: (interrupted while waiting to retry a statement|canceling statement due to user request)" \
	"it stops at once, whether waiting in the queue or between attempts"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'score'")" 0 "nothing applied"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgcarry%'")" 0 "no pgcarry session left behind"
pg_sql db postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'app3'" >/dev/null
wait "$app" 2>/dev/null
run_pgcarry schema up --target "$U"
is "$RC" 0 "the next run applies it"

# ------------------------------------------------------------ statement timeout
mkdir slow
printf -- '-- migrate:up\nSELECT pg_sleep(5);\n' >slow/1_slow.sql
pg_sql db postgres "CREATE DATABASE other"
run_pgcarry schema up --target "$(pg_uri db other)" --dir slow --statement-timeout 500ms
is "$RC" 1 "--statement-timeout stops a long statement"
like "$ERR" "error: applying 1_slow.sql, line 2: canceling statement due to statement timeout" "statement timeout message"

done_testing
