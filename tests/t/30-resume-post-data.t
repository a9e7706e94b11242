#!/usr/bin/env bash
# kill -9 while the post-data schema is being applied, then --resume: the
# constraints, indexes and triggers the killed run made are met again by
# pg_restore --jobs 2, whose two workers report "already exists" at the same
# moment on one stderr, their lines running into each other.  The resumed
# copy (and import) must still read those reports as objects that exist,
# finish with exit 0, and leave the target equal to the source, judged by
# the independent checker (tests/lib/dbcheck.sh: data and schema).
#
# Each table's primary key is slow to build on the target (an index
# expression that sleeps there and not on the source), so that the kill
# lands with many of them built and many not.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst
NT=120
STATE=$T_TMP/state
pg_sql src postgres "CREATE DATABASE pd"
pg_psql src pd >/dev/null <<SQL || bail "could not fill pd"
CREATE FUNCTION slow_key(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$\$
  BEGIN
    IF pg_catalog.current_setting('pgc.slow', true) = 'on' THEN PERFORM pg_catalog.pg_sleep(0.01); END IF;
    RETURN i;
  END \$\$;
DO \$\$ BEGIN
  FOR i IN 1..$NT LOOP
    EXECUTE format('CREATE TABLE t%s (id int, v text)', i);
    EXECUTE format('INSERT INTO t%s SELECT g, %L || g FROM generate_series(1, 5) g', i, 'v' || i || '-');
    EXECUTE format('ALTER TABLE t%s ADD CONSTRAINT t%s_pkey PRIMARY KEY (id)', i, i);
    EXECUTE format('CREATE UNIQUE INDEX t%s_slow ON t%s (public.slow_key(id))', i, i);
    EXECUTE format('CREATE INDEX t%s_v ON t%s (v)', i, i);
  END LOOP;
END \$\$;
SQL
pg_sql dst postgres "ALTER ROLE postgres SET pgc.slow = 'on'"

built() { pg_sql dst pd "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname ~ '^t[0-9]+\$'" 2>/dev/null || echo 0; }

# kill_in_post_data CMD ARGS...: starts pgcarry, kills it with -9 once a
# quarter of the indexes exist on the target (and before all do).
kill_in_post_data() {
	pgcarry_start "$@"
	local n=0
	for _ in $(seq 1 600); do
		n=$(built)
		[ "$n" -ge $((NT * 3 / 4)) ] && break
		kill -0 "$PGCARRY_PID" 2>/dev/null || break
		sleep 0.05
	done
	{
		kill -KILL "$PGCARRY_PID"
		pgcarry_wait
	} 2>/dev/null
	n=$(built)
	ok "$([ "$n" -ge $((NT * 3 / 4)) ] && [ "$n" -lt $((NT * 3)) ]; echo $?)" "$1: killed during post-data ($n of $((NT * 3)) indexes built)"
	pg_wait_for dst "SELECT count(*) FROM pg_stat_activity WHERE datname = 'pd' AND application_name = 'pgcarry'" 0 ||
		diag "the killed run's sessions did not end"
}

# kill_and_resume WHAT ARGS...: twice, kills "pgcarry ARGS..." in post-data
# on an empty target, then runs it again with --resume and judges the result.
kill_and_resume() {
	local what=$1 round
	shift
	for round in 1 2; do
		pg_sql dst postgres "DROP DATABASE IF EXISTS pd"
		rm -rf "$STATE"
		kill_in_post_data "$@"
		run_pgcarry "$@" --resume --verbose
		is "$RC" 0 "$what, round $round: --resume after kill -9 in post-data exits 0" || diag "$ERR"
		like "$ERR" "pg_restore met objects that already exist in database \"pd\" \(left as they are\)" \
			"$what, round $round: the objects the killed run made are left as they are"
		out=$(dbcheck_compare src dst pd 2>/dev/null)
		is "$?" 0 "$what, round $round: every table, index and constraint equal (independent check)" || diag "$out"
	done
}

kill_and_resume copy copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none \
	--state-dir "$STATE" pd

A=$T_TMP/archive
run_pgcarry export --source "$(pg_uri src)" --output "$A" --progress none pd
is "$RC" 0 "export exits 0" || diag "$ERR"
kill_and_resume import import --target "$(pg_uri dst)" --input "$A" --jobs 2 --progress none

done_testing
