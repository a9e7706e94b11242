#!/usr/bin/env bash
# kill -9 during the import of a table exported in several parts
# (--part-size): the parts of a big table load in parallel, each in its own
# transaction, so when the import dies some parts are committed and others
# are not.  "import --resume" must end with every row once: no part lost,
# none loaded twice.  Judged by the independent checker
# (tests/lib/dbcheck.sh: data and schema) against the source database, not
# by pgcarry's own verification.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start tgt
ROWS=35000
pg_sql src postgres "CREATE DATABASE parts"
# Rows load slowly on the target only: the CHECK sleeps on every 100th row
# when the session's role asks it to (set on the target's role below).
# No unique key, on purpose: a part loaded twice would not be refused by
# the server, only found by the checker.
pg_sql src parts "CREATE FUNCTION public.slow(i int) RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
		IF i % 100 = 0 AND pg_catalog.current_setting('pgc.slow', true) <> '' THEN
			PERFORM pg_catalog.pg_sleep(pg_catalog.current_setting('pgc.slow')::float8);
		END IF;
		RETURN true;
	END \$\$;
	CREATE TABLE big (id int NOT NULL, v text, CHECK (public.slow(id)));
	INSERT INTO big SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, $ROWS) i;
	CREATE INDEX big_v ON big (v);
	CREATE SEQUENCE tick; SELECT setval('tick', 77)" >/dev/null

A=$T_TMP/archive
run_pgcarry export --source "$(pg_uri src)" parts --output "$A" --part-size 1 --progress none
is "$RC" 0 "export with --part-size 1 exits 0" || diag "$ERR"
nparts=$(find "$A" -name '*public.big.*.copy*' | wc -l)
ok "$([ "$nparts" -ge 4 ]; echo $?)" "the table is in several parts ($nparts files)"

pg_sql tgt postgres "ALTER ROLE postgres SET pgc.slow = '0.01'"
# Two sessions for one table: its parts load in parallel, each committed alone.
pgcarry_start import --target "$(pg_uri tgt)" --input "$A" --jobs 2 --progress none
n=0
for _ in $(seq 1 600); do
	n=$(pg_sql tgt parts "SELECT count(*) FROM big" 2>/dev/null)
	[ "${n:-0}" -gt 0 ] && break
	sleep 0.1
done
kill -KILL "$PGCARRY_PID"
pgcarry_wait
is "$RC" 137 "kill -9 ends the import"
n=$(pg_sql tgt parts "SELECT count(*) FROM big")
ok "$([ "$n" -gt 0 ] && [ "$n" -lt $ROWS ]; echo $?)" "killed with some parts committed and some not ($n of $ROWS rows)"
pg_sql tgt postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'parts'" >/dev/null
pg_sql tgt postgres "ALTER ROLE postgres RESET pgc.slow"

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --jobs 2 --resume --progress none
is "$RC" 0 "import --resume exits 0" || diag "$ERR"
out=$(dbcheck_compare src tgt parts 2>/dev/null)
is "$?" 0 "after --resume the target equals the source: every row once, data and schema (independent check)" ||
	diag "$(head -20 <<<"$out")"

done_testing
