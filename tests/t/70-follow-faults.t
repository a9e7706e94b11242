#!/usr/bin/env bash
# Every phase of a follow under a live write load, with a fault in it.
# Initial copy: kill -9, a dropped connection, a restart of the source;
# each ends with exactly what remains said, and follow stop removing it.
# Then copy --follow --resume after a kill -9 in the initial copy (the copy
# starts again from a new slot, and says so) and after a kill -9 once the
# copy was verified (the slot is taken over: nothing is copied again).
# Follow: the source's WAL sender killed (a dropped connection), the target
# crashed (kill -9 of its apply worker, an immediate stop), the source
# restarted.  Cutover: kill -9 after the fence; the next run finishes.  In
# the end the independent checker finds the fenced source and the target
# identical, and nothing of pgcarry is left on either server.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"
source "$(dirname "$0")/70-follow-lib.bash"

pg_start src
pg_start dst "wal_retrieve_retry_interval = 500ms"

pg_sql src postgres "CREATE DATABASE app"
follow_app_schema src app || bail "could not fill app"
# A table whose load on the target takes 2 s at least (a CHECK that pauses
# there every 10000th row), so that each fault lands during the copy.
pg_psql src app >/dev/null <<SQL || bail "could not fill app"
CREATE FUNCTION pace(id int) RETURNS bool LANGUAGE plpgsql AS \$\$
	BEGIN IF id % 10000 = 0 AND current_setting('port')::int = $(pg_port dst) THEN PERFORM pg_sleep(0.05); END IF;
	RETURN true; END \$\$;
CREATE TABLE bulk (id int PRIMARY KEY CHECK (pace(id)), v text);
INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, 400000) g;
SQL
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src shop "CREATE TABLE items (id serial PRIMARY KEY, name text); INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 1000) g"

SRC=$(pg_uri src)
DST=$(pg_uri dst)
copying='[ "$(pg_sql dst postgres "SELECT count(*) FROM pg_stat_progress_copy WHERE tuples_processed > 20000")" -gt 0 ]'
start_copy() {
	pgcarry_start copy --source "$SRC" --target "$DST" --progress none --follow --clean "$@"
}
# stop_all: follow stop removes every pgcarry object of app from both servers.
stop_all() {
	run_pgcarry follow stop --source "$SRC" --target "$DST" app
	is "$RC" 0 "$1: follow stop exits 0" || diag "$ERR"
	is "$(follow_leftovers src app)" "0/0" "$1: then nothing is left on the source"
	if [ "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'app'")" = 1 ]; then
		is "$(follow_leftovers dst app)" "0/0" "$1: nor on the target"
	fi
}
# remains_said WHAT: after a failed copy, what is left on the source is
# either nothing (and said so) or named with follow stop as the way out.
remains_said() {
	if [ "$(follow_leftovers src app)" = 0/0 ]; then
		like "$ERR" "no publication, slot or subscription was left behind" "$1: it says nothing was left behind"
	else
		like "$ERR" "Some follow objects could not be removed:.*
.*hint: Run pgcarry follow stop with the same --source and --target once the servers are back\." \
			"$1: it names what remains and the way out"
	fi
}

follow_writer_start src app

# --- Initial copy -----------------------------------------------------

start_copy app
follow_wait "$copying" || diag "the copy did not start"
kill -9 "$PGCARRY_PID"
{ pgcarry_wait; } 2>/dev/null
is "$(follow_leftovers src app)" "1/2" "kill -9 during the initial copy leaves the slot, the publication and the helper schema"
run_pgcarry follow status --source "$SRC" --target "$DST" app
like "$OUT" "app +no subscription " "follow status says the copy did not end"
stop_all "kill -9 in the initial copy"

start_copy app
follow_wait "$copying" || diag "the copy did not start"
pg_sql src postgres "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'app' AND application_name = 'pgcarry'" >/dev/null
pgcarry_wait
# A worker's session is retried (the copy then ends following, exit 0);
# the session holding the slot's snapshot is not (exit 1).  Which sessions
# the terminate hits depends on how far the copy is.
if [ "$RC" = 0 ]; then
	run_pgcarry follow status --source "$SRC" --target "$DST" app
	like "$OUT" "app +following" "a dropped connection during the initial copy: retried, the target follows"
else
	is "$RC" 1 "a dropped connection during the initial copy: exit 1"
	remains_said "a dropped connection"
fi
stop_all "a dropped connection in the initial copy"

start_copy app
follow_wait "$copying" || diag "the copy did not start"
pg_restart src fast
pgcarry_wait
is "$RC" 1 "a restart of the source during the initial copy: exit 1"
remains_said "a restart of the source"
stop_all "a restart of the source in the initial copy"

# --- copy --follow --resume -------------------------------------------

start_copy app
follow_wait "$copying" || diag "the copy did not start"
kill -9 "$PGCARRY_PID"
{ pgcarry_wait; } 2>/dev/null
old_slot=$(pg_sql src postgres "SELECT slot_name FROM pg_replication_slots")
ticks_before=$(pg_sql src app "SELECT count(*) FROM accounts WHERE id > 100000")
run_pgcarry copy --source "$SRC" --target "$DST" --progress none --follow --resume app
is "$RC" 0 "copy --follow --resume after kill -9 in the initial copy exits 0" || diag "$ERR"
like "$ERR" "database \"app\": the interrupted initial copy cannot be resumed, so it is copied again from a new replication slot
pgcarry: detail: The snapshot it read was exported by the slot's replication connection and ended with the interrupted run; a copy read under any other snapshot would not match the slot\." \
	"it says the copy starts again, and why"
like "$ERR" "database \"app\" follows the source" "and the target follows"
is "$(pg_sql src postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name <> '$old_slot'")/$(pg_sql src postgres "SELECT count(*) FROM pg_replication_slots")" \
	"1/1" "the interrupted run's slot is gone, one new slot in its place"
is "$(follow_leftovers dst app)" "0/2" "one subscription and the helper schema on the target"

# A second database, copied and verified, killed while it subscribes (the
# target's pg_subscription held): --resume takes the slot over, so every
# change made since the copy's snapshot arrives without a second copy.
follow_hold dst postgres "LOCK TABLE pg_catalog.pg_subscription IN SHARE MODE"
start_copy shop
follow_wait '[ "$(pg_sql dst postgres "SELECT count(*) FROM pg_locks WHERE relation = '"'"'pg_subscription'"'"'::regclass AND NOT granted")" -gt 0 ]' \
	|| diag "the subscription was not held"
kill -9 "$PGCARRY_PID"
{ pgcarry_wait; } 2>/dev/null
follow_release
pg_sql src shop "INSERT INTO items (name) SELECT 'late ' || g FROM generate_series(1, 50) g; UPDATE items SET name = 'renamed' WHERE id <= 10; DELETE FROM items WHERE id BETWEEN 500 AND 509"
shop_slot=$(pg_sql src shop "SELECT slot_name FROM pg_replication_slots WHERE database = 'shop'")
run_pgcarry copy --source "$SRC" --target "$DST" --progress none --follow --resume shop
is "$RC" 0 "copy --follow --resume after kill -9 once the copy was verified exits 0" || diag "$ERR"
like "$ERR" "database \"shop\" was copied and verified by an earlier run" "nothing is copied again"
like "$ERR" "database \"shop\": the copy was verified by the interrupted run; its replication slot $shop_slot holds every change made since" \
	"the slot is taken over"
like "$ERR" "database \"shop\" follows the source \(subscription $shop_slot\)" "and the target follows from it"
want=$(pg_sql src shop "SELECT count(*), sum(length(name)) FROM items")
follow_wait '[ "$(pg_sql dst shop "SELECT count(*), sum(length(name)) FROM items")" = "$want" ]'
is "$(pg_sql dst shop "SELECT count(*), sum(length(name)) FROM items")" "$want" "the changes made while no run was alive arrive"

# --- Follow -----------------------------------------------------------

# following: true once follow status says both databases follow (60 s).
following() {
	sleep 1
	for _ in $(seq 1 60); do
		run_pgcarry follow status --source "$SRC" --target "$DST"
		[ "$RC" = 0 ] && return 0
		sleep 1
	done
	diag "$OUT"
	return 1
}
pg_sql src postgres "SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots" >/dev/null
ok "$(following && echo 0 || echo 1)" "after the WAL senders were ended (a dropped connection), both follow again"
kill -9 "$(pg_sql dst app "SELECT pid FROM pg_stat_subscription WHERE pid IS NOT NULL LIMIT 1")"
ok "$(following && echo 0 || echo 1)" "after kill -9 of the target's apply worker (the target crashed), both follow again"
pg_restart dst immediate
ok "$(following && echo 0 || echo 1)" "after an immediate stop and start of the target, both follow again"
pg_restart src fast
ok "$(following && echo 0 || echo 1)" "after a restart of the source, both follow again"
sleep 2

# --- Cutover ----------------------------------------------------------

# kill -9 once the fence is up and the last writes arrived: the target's
# sequences are held, so the cutover is stopped while it sets them.
follow_hold dst app "ALTER SEQUENCE events_id_seq CACHE 1"
pgcarry_start cutover --source "$SRC" --target "$DST" --progress none app shop
follow_wait '[ "$(pg_sql dst app "SELECT count(*) FROM pg_locks WHERE relation = '"'"'events_id_seq'"'"'::regclass AND NOT granted" 2>/dev/null || echo 0)" -gt 0 ]' \
	|| diag "the cutover did not reach the sequences"
kill -9 "$PGCARRY_PID"
{ pgcarry_wait; } 2>/dev/null
follow_release
is "$(pg_sql src app "SHOW default_transaction_read_only")" "on" "a cutover killed after the fence leaves the fence"
is "$(pg_sql src postgres "SELECT count(*) FROM pg_replication_slots")" 2 "and the slots, so that it can run again"
run_pgcarry cutover --source "$SRC" --target "$DST" --progress none app shop
is "$RC" 0 "the next cutover finishes" || diag "$ERR"
like "$ERR" "cutover complete: the target is ready; writes on the source were fenced for [0-9.]+ s" "and says so"
follow_writer_stop
ticks=$(pg_sql src app "SELECT count(*) FROM accounts WHERE id > 100000")
ok "$([ "$ticks" -gt "$ticks_before" ] && echo 0 || echo 1)" "the application wrote throughout ($ticks transactions)"
for db in app shop; do
	is "$(follow_leftovers src $db)" "0/0" "$db: nothing of pgcarry is left on the source"
	is "$(follow_leftovers dst $db)" "0/0" "$db: nothing of pgcarry is left on the target"
	pg_sql src postgres "ALTER DATABASE $db RESET default_transaction_read_only"
	dbcheck_compare src dst $db
	is "$?" 0 "$db: the independent checker finds the fenced source and the target identical"
done

done_testing
