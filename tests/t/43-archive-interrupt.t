#!/usr/bin/env bash
# An export interrupted (SIGINT) while it waits on a lock: it stops, leaves
# no manifest and no half-written file, and "export --resume" finishes it.
# An import interrupted the same way leaves the target marked unfinished,
# and "import --resume" finishes it.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start tgt
pg_sql src postgres "CREATE DATABASE app"
pg_sql src app "CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT i, md5(i::text) FROM generate_series(1, 20000) i;
	CREATE TABLE locked (id int); INSERT INTO locked SELECT generate_series(1, 100)"

# wait_lock SERVER DB: waits (up to 60 s) until a pgcarry or pg_dump session waits on a lock.
wait_lock() {
	for _ in $(seq 1 300); do
		n=$(pg_sql "$1" "$2" "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
			AND (application_name LIKE 'pgcarry%' OR application_name LIKE 'pg_dump%' OR application_name LIKE 'pg_restore%')")
		[ "$n" -gt 0 ] && return 0
		sleep 0.2
	done
	return 1
}

A=$T_TMP/archive
# A session holds an exclusive lock on one table: the export blocks on it.
pg_psql src app -c "BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" >/dev/null 2>&1 &
locker=$!
sleep 0.5
base="$TEST_LOG_DIR/$T_NAME.int"
"$PGCARRY" export --source "$(pg_uri src)" app --output "$A" --jobs 2 --progress none >"$base.out" 2>"$base.err" &
pid=$!
wait_lock src app
ok $? "the export is waiting on the lock"
kill -INT "$pid"
wait "$pid"
rc=$?
is "$rc" 1 "an interrupted export exits 1"
ok "$([ ! -e "$A/manifest.json" ] && echo 0 || echo 1)" "an interrupted export has no manifest"
is "$(find "$A" -name '.*.partial' | wc -l)" 0 "no half-written file is left"
is "$(pg_sql src app "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgcarry%' OR application_name LIKE 'pg_dump%'")" 0 \
	"no pgcarry or pg_dump session is left on the source"
run_pgcarry verify-archive "$A"
is "$RC" 3 "the interrupted archive does not verify"
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
pg_sql src app "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null

run_pgcarry export --source "$(pg_uri src)" app --output "$A" --jobs 2 --resume
is "$RC" 0 "export --resume finishes the interrupted export"
run_pgcarry verify-archive "$A"
is "$RC" 0 "the finished archive is whole"

# Import, interrupted while a target table is locked.
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --jobs 2 --verify none
is "$RC" 0 "a first import loads"
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --db app2 --jobs 2 --progress none
is "$RC" 0 "a second import into another database loads"
pg_sql tgt app2 "ALTER DATABASE app2 SET pgcarry.import = 'unfinished'"
pg_sql tgt app2 "TRUNCATE a"
pg_psql tgt app2 -c "BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)" >/dev/null 2>&1 &
locker=$!
sleep 0.5
"$PGCARRY" import --target "$(pg_uri tgt)" --input "$A" --db app2 --jobs 2 --resume --progress none >"$base.iout" 2>"$base.ierr" &
pid=$!
wait_lock tgt app2
ok $? "the resumed import is waiting on the lock"
kill -INT "$pid"
wait "$pid"
is "$?" 1 "an interrupted import exits 1"
unlike "$(cat "$base.iout")" "imported" "an interrupted import is not reported done"
is "$(pg_sql tgt app2 "SHOW pgcarry.import")" "unfinished" "the target stays marked unfinished"
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
pg_sql tgt postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --db app2 --jobs 2 --resume
is "$RC" 0 "import --resume finishes it"
is "$(pg_sql tgt app2 "SELECT count(*) FROM a")" 20000 "the truncated table was loaded again"
is "$(pg_sql tgt postgres "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'app2'")" 0 \
	"the finished database is no longer marked"

done_testing
