#!/usr/bin/env bash
# A table that cannot be loaded: its error names the database, the table and
# the cause; the other tables are still copied; the database is not reported
# done; exit 1 with the way out.  Once the cause is gone, --resume copies
# only what is missing.  Also --all, with the postgres database among those
# copied.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst "pgcarry_test.fail = on"
STATE=$T_TMP/state

pg_sql src postgres "CREATE DATABASE app"
pg_psql src app >/dev/null <<'SQL' || bail "could not fill app"
-- Row 13 is refused where pgcarry_test.fail is on: only on the target.
CREATE FUNCTION ok_here(int) RETURNS bool LANGUAGE sql AS
  $$SELECT NOT (current_setting('pgcarry_test.fail', true) = 'on' AND $1 = 13)$$;
CREATE DOMAIN picky AS int CHECK (ok_here(VALUE));
CREATE TABLE bad (id picky, v text);
INSERT INTO bad SELECT g, 'v' || g FROM generate_series(1, 100) g;
CREATE TABLE good (id int PRIMARY KEY);
INSERT INTO good SELECT generate_series(1, 500);
SQL

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" app
is "$RC" 1 "a table that cannot be loaded: exit 1"
like "$ERR" "\[w[0-9] app public.bad\] error: writing to the target: value for domain public.picky violates check constraint \"picky_check\"" \
	"the error names the database, the table and the cause"
like "$ERR" "error: database \"app\" was not copied completely" "the database is not reported done"
like "$ERR" "error: copy failed" "the run says it failed"
like "$ERR" "hint: Fix the cause above, then run the same command with --resume: finished tables are kept\." "and the way out"
like "$OUT" "app +table public.bad +- +- +- +failed" "the report marks the table failed"
like "$OUT" "app +table public.good +500 +500 +equal +ok" "the other table is copied and verified"
like "$OUT" "app table public.bad: writing to the target: value for domain public.picky violates check constraint" "the report says why"
like "$OUT" "app: 2 tables, 0 sequences: 1 problem" "the summary counts the problem"
is "$(pg_sql dst app "SELECT count(*) FROM good")" "500" "the good table is on the target"

pg_sql dst postgres "ALTER SYSTEM SET pgcarry_test.fail = off" >/dev/null
pg_sql dst postgres "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" --resume app
is "$RC" 0 "once the cause is gone, --resume finishes: exit 0"
like "$OUT" "app +table public.bad +100 +100 +equal +ok$" "the failed table is copied"
like "$OUT" "app +table public.good +500 +500 +equal +ok \(copied by an earlier run\)" "the other one is kept"
out=$(dbcheck_compare src dst app 2>/dev/null)
is "$?" 0 "after --resume, both tables and the schema equal (independent check)" || diag "$out"

# --all: every database that is not a template, postgres included.
pg_start dst2
pg_sql src postgres "CREATE TABLE in_postgres (x int); INSERT INTO in_postgres VALUES (1)"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst2)" --progress none --state-dir "$STATE" --all
is "$RC" 0 "--all exits 0"
like "$OUT" "postgres +table public.in_postgres +1 +1 +equal +ok" "--all copies the postgres database into the target's own"
like "$OUT" "Verified: 2 databases, every object equal\." "--all: every database"
unlike "$OUT" "template" "--all: no template"
out=$(dbcheck_compare_all src dst2 postgres app 2>/dev/null)
is "$?" 0 "--all: both databases equal (independent check)" || diag "$out"

done_testing
