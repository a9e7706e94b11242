#!/usr/bin/env bash
# An export interrupted (SIGINT) while it waits on a lock: it stops, leaves
# no manifest and no half-written file, and "export --resume" finishes it.
# An import of two databases interrupted while it loads the second one
# (Ctrl-C, then kill -9): the first stays imported, the second marked
# unfinished, nothing is reported equal or verified, and "import --resume"
# finishes both.  Every end is judged by the independent checker
# (tests/lib/dbcheck.sh), data and schema (indexes included).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start tgt
pg_sql src postgres "CREATE DATABASE app"
pg_sql src app "CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT i, md5(i::text) FROM generate_series(1, 20000) i;
	CREATE TABLE locked (id int); INSERT INTO locked SELECT generate_series(1, 100)"
# A table whose rows load slowly on the target only: its CHECK calls a
# function that sleeps when the session's role asks it to (set on the
# target's role below), so an import can be caught in the middle of it.
pg_sql src postgres "CREATE DATABASE slow"
pg_sql src slow "CREATE FUNCTION public.slow(i int) RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
		IF pg_catalog.current_setting('pgc.slow', true) <> '' THEN
			PERFORM pg_catalog.pg_sleep(pg_catalog.current_setting('pgc.slow')::float8);
		END IF;
		RETURN true;
	END \$\$;
	CREATE TABLE s (id int PRIMARY KEY, v text, CHECK (public.slow(id)));
	INSERT INTO s SELECT i, md5(i::text) FROM generate_series(1, 1500) i;
	CREATE INDEX s_v ON s (v);
	CREATE TABLE quick (id int PRIMARY KEY); INSERT INTO quick SELECT generate_series(1, 50)"

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
pgcarry_start export --source "$(pg_uri src)" app slow --output "$A" --jobs 2 --progress none
wait_lock src app
ok $? "the export is waiting on the lock"
kill -INT "$PGCARRY_PID"
pgcarry_wait
is "$RC" 1 "an interrupted export exits 1"
ok "$([ ! -e "$A/manifest.json" ] && echo 0 || echo 1)" "an interrupted export has no manifest"
is "$(find "$A" -name '.*.partial' | wc -l)" 0 "no half-written file is left"
is "$(pg_sql src app "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgcarry%' OR application_name LIKE 'pg_dump%'")" 0 \
	"no pgcarry or pg_dump session is left on the source"
run_pgcarry verify-archive "$A"
is "$RC" 3 "the interrupted archive does not verify"
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
pg_sql src app "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null

run_pgcarry export --source "$(pg_uri src)" app slow --output "$A" --jobs 2 --resume
is "$RC" 0 "export --resume finishes the interrupted export"
run_pgcarry verify-archive "$A"
is "$RC" 0 "the finished archive is whole"

# wait_copy SERVER DB: waits (up to 60 s) until pgcarry runs a COPY into DB.
wait_copy() {
	for _ in $(seq 1 600); do
		n=$(pg_sql "$1" postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = '$2' AND query LIKE 'COPY %'")
		[ "${n:-0}" -gt 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# judge NAME: the target equals the source, data and schema, by the checker.
judge() {
	diffs=$(dbcheck_compare_all src tgt app slow 2>/dev/null)
	is "$?" 0 "$1: the independent checker finds both databases equal to the source"
	[ -n "$diffs" ] && diag "$diffs"
	for db in app slow; do
		d=$(dbcheck_schema_diff src tgt $db 2>/dev/null)
		is "$?" 0 "$1: database $db has the source's schema (indexes included)"
		[ -n "$d" ] && diag "$(printf '%s' "$d" | head -20)"
	done
}

pg_sql tgt postgres "ALTER ROLE postgres SET pgc.slow = '0.003'"
for how in INT KILL; do
	for db in app slow; do pg_sql tgt postgres "DROP DATABASE IF EXISTS $db"; done
	# One database at a time: "app" is finished when "slow" is interrupted.
	pgcarry_start import --target "$(pg_uri tgt)" --input "$A" --jobs 1 --progress none
	wait_copy tgt slow
	ok $? "SIG$how: the import is loading the second database"
	kill -$how "$PGCARRY_PID"
	{ pgcarry_wait; } 2>/dev/null	# no "Killed" notice from bash
	rc=$RC
	if [ $how = INT ]; then
		is "$rc" 1 "an import interrupted by Ctrl-C exits 1"
		out=$OUT
		unlike "$out" "every object equal|slow: .*(all equal|verified)|slow +.* ok" \
			"no line says the interrupted database is equal or verified"
		like "$out" "slow +table public.s .* failed" "its table is in the report, failed"
		like "$out" 'imported database "app"' "the first database is reported imported"
		like "$out" "slow: (failed|not started)" "the summary names the interrupted database"
		like "$ERR" "with --resume" "the interrupt hint says --resume"
		unlike "$ERR" "with --clean" "no hint says --clean"
	else
		is "$rc" 137 "kill -9 ends the import"
	fi
	is "$(pg_sql tgt slow "SHOW pgcarry.import")" "unfinished" "SIG$how: the interrupted database stays marked unfinished"

	run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --jobs 2 --resume --progress none
	is "$RC" 0 "SIG$how: import --resume finishes the import"
	like "$OUT" 'database "app" was imported by an earlier run; verified against the archive' \
		"SIG$how: the database finished earlier is checked, not refused"
	like "$OUT" 'imported database "slow"' "SIG$how: the interrupted database is finished"
	is "$(pg_sql tgt postgres "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname IN ('app', 'slow')")" 0 \
		"SIG$how: no database is left marked"
	judge "SIG$how then --resume"
done

done_testing
