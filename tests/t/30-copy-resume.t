#!/usr/bin/env bash
# Interrupted copies: Ctrl-C stops cleanly (statements cancelled, no
# session left, exit 1 with the way out) and --resume finishes; kill -9
# mid-copy, then --resume keeps the finished tables (their files on the
# target are the same ones: not truncated, not reloaded) and redoes the
# half-copied one; a backend terminated on the target or the source
# mid-COPY is retried and the copy still ends verified.
#
# To have a copy in progress for long enough, the target server runs with
# pgcarry_test.slow = on, which makes a domain check sleep 3 ms per row
# there (and not on the source): loading table "slow" takes several seconds.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst "pgcarry_test.slow = on"
STATE=$T_TMP/state
# Every table's indexes are built as soon as its data is in, so a resume
# meets indexes of the finished tables already there.
export PGCARRY_EARLY_INDEX_BYTES=0
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"

pg_sql src postgres "CREATE DATABASE app"
pg_psql src app >/dev/null <<'SQL' || bail "could not fill app"
CREATE FUNCTION slow_ok(int) RETURNS bool LANGUAGE sql AS
  $$SELECT CASE WHEN current_setting('pgcarry_test.slow', true) = 'on' THEN pg_sleep(0.003) IS NOT NULL ELSE true END$$;
CREATE DOMAIN slow_int AS int CHECK (slow_ok(VALUE));
CREATE TABLE slow (id slow_int PRIMARY KEY, pad text);
INSERT INTO slow SELECT g, repeat(md5(g::text), 800) FROM generate_series(1, 800) g;
CREATE SEQUENCE s;
SELECT setval('s', 77);
DO $$ BEGIN
  FOR i IN 1..8 LOOP
    EXECUTE format('CREATE TABLE fast%s (id int PRIMARY KEY, v text)', i);
    EXECUTE format('INSERT INTO fast%s SELECT g, %L || g FROM generate_series(1, 1000) g', i, 'v' || i || '-');
  END LOOP;
END $$;
SQL

filenodes() { pg_sql dst app "SELECT string_agg(relname || '=' || relfilenode, ' ' ORDER BY relname) FROM pg_class WHERE relname LIKE 'fast%' AND relkind = 'r'"; }

slow_loading="SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry' AND query LIKE 'COPY \"public\".\"slow\" %FROM STDIN%'"
fast_done() { [ "$(grep -c 'info: copied 1000 rows' "$1")" = 8 ]; }

# start_copy NAME ARGS...: pgcarry copy in the background; sets BG_PID, BG_OUT, BG_ERR.
start_copy() {
	local name=$1
	shift
	pgcarry_start copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none \
		--state-dir "$STATE" --verbose "$@" app
	BG_PID=$PGCARRY_PID
}
copy() { run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none --state-dir "$STATE" "$@" app; }

# ------------------------------------------------------------ Ctrl-C

start_copy sigint
pg_wait_for dst "$slow_loading" 1 || diag "the slow table never started loading"
for _ in $(seq 1 100); do fast_done "$BG_ERR" && break; sleep 0.1; done
kill -INT "$BG_PID"
pgcarry_wait
is "$RC" 1 "Ctrl-C: exit 1"
err=$ERR
like "$err" "warning: interrupted: cancelling running statements and stopping" "Ctrl-C: says it is stopping"
like "$err" "error: copy interrupted" "Ctrl-C: says the copy was interrupted"
like "$err" "hint: Run the same command with --resume to finish: finished tables are kept\." "Ctrl-C: points to --resume"
ok "$(pg_wait_for dst "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry'" 0; echo $?)" "Ctrl-C: no pgcarry session left on the target"
# (a backend notices its client is gone a moment after pgcarry exits)
ok "$(pg_wait_for src "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry'" 0; echo $?)" "Ctrl-C: no pgcarry session left on the source"
is "$(pg_sql dst app "SELECT count(*) FROM slow")" "0" "Ctrl-C: the table being loaded was rolled back"
is "$(ls "$TMPDIR")" "" "Ctrl-C: the temporary directory is removed"

before=$(filenodes)
copy --resume
is "$RC" 0 "after Ctrl-C, --resume finishes: exit 0"
like "$OUT" "app +table public.fast1 +1000 +1000 +equal +ok \(copied by an earlier run\)" "--resume keeps a finished table"
like "$OUT" "app +table public.slow +800 +800 +equal +ok$" "--resume copies the interrupted table"
is "$(filenodes)" "$before" "finished tables were not truncated or reloaded"
out=$(dbcheck_compare src dst app 2>/dev/null)
is "$?" 0 "after Ctrl-C and --resume: every table, the sequence and the schema equal (independent check)" || diag "$out"

# ------------------------------------------------------------ kill -9

pg_sql dst postgres "DROP DATABASE app"
start_copy kill9
pg_wait_for dst "$slow_loading" 1 || diag "the slow table never started loading"
for _ in $(seq 1 100); do fast_done "$BG_ERR" && break; sleep 0.1; done
ok "$(fast_done "$BG_ERR"; echo $?)" "kill -9: the fast tables were done before the kill"
{
	kill -KILL "$BG_PID"
	pgcarry_wait
} 2>/dev/null
ok "$(pg_wait_for dst "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry'" 0; echo $?)" "kill -9: the target ends the orphaned sessions itself"

copy
is "$RC" 1 "after kill -9, a copy without --resume is refused"
like "$ERR" "database \"app\" already exists on the target and holds objects" "the half-copied database is not touched"

before=$(filenodes)
copy --resume --verbose
is "$RC" 0 "after kill -9, --resume finishes: exit 0"
like "$ERR" "resuming database \"app\" \(pre-data done\)" "--resume says where it starts from"
is "$(grep -c 'info: copied 1000 rows' <<<"$ERR")" "0" "no finished table is copied again"
like "$ERR" "info: copied 800 rows" "the half-copied table is copied again"
like "$OUT" "app +table public.fast8 +1000 +1000 +equal +ok \(copied by an earlier run\)" "the report says which tables an earlier run copied"
is "$(filenodes)" "$before" "finished tables kept their files"
out=$(dbcheck_compare src dst app 2>/dev/null)
is "$?" 0 "after kill -9 and --resume: every table, the sequence and the schema equal (independent check)" || diag "$out"
is "$(pg_sql dst app "SELECT count(*) FROM pg_indexes WHERE tablename = 'slow'")" "1" "post-data applied (the primary key index exists)"
is "$(pg_sql dst app "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'fast%'")" "8" "indexes built by the killed run are kept, not doubled"
like "$ERR" "pg_restore met objects that already exist in database \"app\" \(left as they are\)" "post-data leaves them as they are"

copy --resume
is "$RC" 0 "--resume of a finished copy exits 0"
like "$ERR" "database \"app\" was copied and verified by an earlier run" "and says there is nothing left to do"

# ------------------------------------------- backends terminated mid-COPY

for side in dst src; do
	pg_sql dst postgres "DROP DATABASE app"
	rm -rf "$STATE"
	start_copy "terminate-$side"
	pg_wait_for dst "$slow_loading" 1 || diag "the slow table never started loading"
	if [ "$side" = dst ]; then
		what="SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pgcarry' AND query LIKE 'COPY \"public\".\"slow\" %FROM STDIN%'"
	else
		what="SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pgcarry' AND query LIKE 'COPY \"public\".\"slow\" %TO STDOUT%'"
	fi
	sleep 0.5
	is "$(pg_sql "$side" postgres "$what")" "1" "terminate on the $side: pgcarry's COPY backend is terminated"
	pgcarry_wait
	is "$RC" 0 "terminate on the $side: the copy still succeeds"
	like "$ERR" "\[w[0-9] app public.slow\] warning: copying the table failed: .*; retrying in [0-9]+ ms \(attempt 2 of 3\)" \
		"terminate on the $side: the table is retried, and it says why"
	like "$OUT" "app +table public.slow +800 +800 +equal +ok" "terminate on the $side: the table is verified"
	out=$(dbcheck_compare src dst app 2>/dev/null)
	is "$?" 0 "terminate on the $side: every table, the sequence and the schema equal (independent check)" || diag "$out"
done

# ------------------------------- a big table copied in slices, interrupted
#
# PGCARRY_SPLIT_BYTES makes slices of 8 pages, so table "big" (about 70
# pages, loaded slowly by the target's domain check) is copied in about
# eight slices, two at a time.  First kill -9 once some slices committed:
# --resume must empty the table and copy it again in slices.  Then a slice
# whose COMMIT went out but whose outcome pgcarry cannot know: the target
# waits at COMMIT for a synchronous standby that does not exist, and the
# backend is terminated there (the rows are committed); the table must be
# reported failed, and --resume must copy it again without doubling rows.
export PGCARRY_SPLIT_BYTES=65536
pg_sql src postgres "CREATE DATABASE sliced"
pg_psql src sliced >/dev/null <<'SQL' || bail "could not fill sliced"
CREATE FUNCTION slow_ok(int) RETURNS bool LANGUAGE sql AS
  $$SELECT CASE WHEN current_setting('pgcarry_test.slow', true) = 'on' THEN pg_sleep(0.003) IS NOT NULL ELSE true END$$;
CREATE DOMAIN slow_int AS int CHECK (slow_ok(VALUE));
CREATE TABLE big (id slow_int, pad text);
INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 4000) g;
CREATE SEQUENCE big_seq;
SELECT setval('big_seq', 4000);
SQL
copy_sliced() { run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none --state-dir "$STATE" --verbose "$@" sliced; }
big_loading="SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry' AND query LIKE 'COPY \"public\".\"big\" %FROM STDIN%'"
slices_done() { grep -c 'copied slice of pages' "$BG_ERR"; }

pgcarry_start copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none \
	--state-dir "$STATE" --verbose sliced
for _ in $(seq 1 300); do [ "$(slices_done)" -ge 2 ] && break; sleep 0.1; done
{
	kill -KILL "$PGCARRY_PID"
	pgcarry_wait
} 2>/dev/null
like "$ERR" "table public.big \([0-9]+ MB\) is copied in [0-9]+ slices" "slices: the big table is cut into slices"
ok "$([ "$(slices_done)" -ge 2 ] && ! grep -q 'database "sliced" copied' "$BG_ERR"; echo $?)" \
	"slices: killed (-9) after $(slices_done) slices committed, before the table was done"
ok "$([ "$(pg_sql dst sliced "SELECT count(*) FROM big")" -gt 0 ]; echo $?)" "slices: the target holds part of the table"

copy_sliced --resume
is "$RC" 0 "slices: after kill -9, --resume finishes: exit 0"
like "$ERR" "table public.big \([0-9]+ MB\) is copied in [0-9]+ slices" "slices: the table is copied again in slices"
like "$OUT" "sliced +table public.big +4000 +4000 +equal +ok$" "slices: pgcarry's report"
out=$(dbcheck_compare src dst sliced 2>/dev/null)
is "$?" 0 "slices: after kill -9 and --resume, table, sequence and schema equal (independent check)" || diag "$out"

pg_sql dst postgres "DROP DATABASE sliced"
rm -rf "$STATE"
pgcarry_start copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none \
	--state-dir "$STATE" --verbose sliced
pg_wait_for dst "$big_loading" 2 || diag "the slices never started loading"
pg_sql dst postgres "ALTER SYSTEM SET synchronous_commit = on"
pg_sql dst postgres "ALTER SYSTEM SET synchronous_standby_names = 'nobody'"
pg_sql dst postgres "SELECT pg_reload_conf()" >/dev/null
waiting="SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry' AND wait_event = 'SyncRep' AND query = 'COMMIT'"
for _ in $(seq 1 300); do [ "$(pg_sql dst postgres "$waiting")" -ge 1 ] && break; sleep 0.1; done
is "$(pg_sql dst postgres "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE application_name = 'pgcarry' AND wait_event = 'SyncRep' AND query = 'COMMIT' LIMIT 1) w")" \
	"1" "uncertain commit: a slice's backend is terminated while its COMMIT waits"
pg_sql dst postgres "ALTER SYSTEM RESET synchronous_standby_names"
pg_sql dst postgres "ALTER SYSTEM RESET synchronous_commit"
pg_sql dst postgres "SELECT pg_reload_conf()" >/dev/null
pgcarry_wait
is "$RC" 1 "uncertain commit: the copy fails (exit 1)"
like "$ERR" "\[w[0-9] sliced public.big\] error: .*" "uncertain commit: the table is named"
like "$ERR" "hint: Run the same command with --resume: the table will be copied again\." "uncertain commit: and the way out"
copy_sliced --resume
is "$RC" 0 "uncertain commit: --resume finishes: exit 0"
like "$ERR" "table public.big \([0-9]+ MB\) is copied in [0-9]+ slices" "uncertain commit: the table is copied again in slices"
out=$(dbcheck_compare src dst sliced 2>/dev/null)
is "$?" 0 "uncertain commit: after --resume, no row is doubled or lost (independent check)" || diag "$out"

done_testing
