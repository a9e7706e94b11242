#!/usr/bin/env bash
# kill -9 while the follow objects are being removed, under a live write
# load.  A cutover killed while it removes the target's subscription (the
# fenced part; the statement under way still ends on the server) and one
# killed once the target was declared ready, while it removes the source's
# publication: the next cutover says the database is fenced and no longer
# followed, names what remains on which server and the way out; follow stop
# removes it, and pgcarry compare finds the target equal.  A follow stop
# killed while it removes runs again and removes the rest.  In the end
# nothing of pgcarry is left on either server, and the independent checker
# finds the fenced source and the target identical.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"
source "$(dirname "$0")/70-follow-lib.bash"

pg_start src
pg_start dst "wal_retrieve_retry_interval = 500ms"
SRC=$(pg_uri src)
DST=$(pg_uri dst)
pg_sql src postgres "CREATE DATABASE app"
follow_app_schema src app || bail "could not fill app"
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src shop "CREATE TABLE items (id serial PRIMARY KEY, name text); INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 100) g"

follow_writer_start src app
run_pgcarry copy --source "$SRC" --target "$DST" --progress none --follow app
is "$RC" 0 "copy --follow under load" || diag "$ERR"
sleep 2

# waiting_on SERVER CATALOG: true once a session of SERVER waits for a lock
# on the catalog (pg_locks shows every database's; the oid is fixed).
waiting_on() {
	pg_wait_for "$1" "SELECT count(*) > 0 FROM pg_locks WHERE relation = 'pg_catalog.$2'::regclass AND NOT granted" t
}
# A lock on the source that the fence does not end: held by a replication
# connection (a WAL sender, not a client backend).
hold_source_publications() {
	follow_hold src "dbname=$1 replication=database" "LOCK TABLE pg_catalog.pg_publication IN SHARE MODE"
}

# --- cutover killed while it removes the target's subscription ----------
# The statement under way when pgcarry dies (the subscription disabled)
# still ends on the server; nothing after it runs.
follow_hold dst postgres "LOCK TABLE pg_catalog.pg_subscription IN SHARE MODE"
pgcarry_start cutover --source "$SRC" --target "$DST" --progress none app
waiting_on dst pg_subscription || diag "the cutover did not reach the removal"
kill -9 "$PGCARRY_PID"
{ pgcarry_wait; } 2>/dev/null
follow_release
unlike "$ERR" "cutover complete" "killed while it removes the subscription: the target was not declared ready"
is "$(pg_sql src app "SHOW default_transaction_read_only")" "on" "the fence stays"
follow_writer_stop
run_pgcarry cutover --source "$SRC" --target "$DST" --progress none app
is "$RC" 1 "the next cutover: exit 1"
like "$ERR" "error: database \"app\" is fenced and no longer followed: an earlier cutover ended while it removed the follow objects
pgcarry: detail: Left: replication slot (pgcarry_[0-9a-f]{16}) on the source, publication \\1 on the source, schema pgcarry_follow on the source, subscription \\1 on the target, schema pgcarry_follow on the target\.
pgcarry: hint: Remove what remains with pgcarry follow stop, and check the target with pgcarry compare\." \
	"it names what remains and the way out"
unlike "$ERR" "RESET default_transaction_read_only" "with no way back to a source it no longer follows"
run_pgcarry follow stop --source "$SRC" --target "$DST" app
is "$RC" 0 "follow stop exits 0" || diag "$ERR"
like "$ERR" "database \"app\": no longer followed \(5 objects removed\)" "it removes what remains"
is "$(follow_leftovers src app)/$(follow_leftovers dst app)" "0/0/0/0" "nothing of pgcarry is left"
run_pgcarry compare --source "$SRC" --target "$DST" --progress none app
is "$RC" 0 "pgcarry compare finds the target equal to the fenced source" || diag "$OUT"
pg_sql src postgres "ALTER DATABASE app RESET default_transaction_read_only"
dbcheck_compare src dst app
is "$?" 0 "app: the independent checker finds the fenced source and the target identical"

# --- cutover killed once the target is ready, while it removes the source's
# publication (its slot is dropped first) --------------------------------
run_pgcarry copy --source "$SRC" --target "$DST" --progress none --follow shop
is "$RC" 0 "copy --follow of a second database" || diag "$ERR"
pg_sql src shop "INSERT INTO items (name) VALUES ('late')"
hold_source_publications shop
pgcarry_start cutover --source "$SRC" --target "$DST" --progress none shop
waiting_on src pg_publication || diag "the cutover did not reach the source's removal"
kill -9 "$PGCARRY_PID"
{ pgcarry_wait; } 2>/dev/null
follow_release
like "$ERR" "cutover complete: the target is ready" "killed after the target was declared ready"
is "$(follow_leftovers src shop)" "0/1" "the helper schema stays on the source (the slot and the publication are gone)"
is "$(follow_leftovers dst shop)" "0/0" "nothing is left on the target"
run_pgcarry cutover --source "$SRC" --target "$DST" --progress none shop
is "$RC" 1 "the next cutover: exit 1"
like "$ERR" "error: database \"shop\" is fenced and no longer followed: an earlier cutover ended while it removed the follow objects
pgcarry: detail: Left: schema pgcarry_follow on the source\.
pgcarry: hint: Remove what remains with pgcarry follow stop, and check the target with pgcarry compare\." \
	"it names what remains and the way out"
run_pgcarry follow stop --source "$SRC" --target "$DST" shop
is "$RC" 0 "follow stop exits 0" || diag "$ERR"
like "$ERR" "database \"shop\": no longer followed \(1 objects removed\)" "it removes what remains"
is "$(follow_leftovers src shop)/$(follow_leftovers dst shop)" "0/0/0/0" "nothing of pgcarry is left"
pg_sql src postgres "ALTER DATABASE shop RESET default_transaction_read_only"
dbcheck_compare src dst shop
is "$?" 0 "shop: the independent checker finds the source and the target identical"

# --- follow stop killed while it removes --------------------------------
run_pgcarry copy --source "$SRC" --target "$DST" --progress none --follow --clean shop
is "$RC" 0 "shop followed again" || diag "$ERR"
hold_source_publications shop
pgcarry_start follow stop --source "$SRC" --target "$DST" shop
waiting_on src pg_publication || diag "follow stop did not reach the source's publication"
kill -9 "$PGCARRY_PID"
{ pgcarry_wait; } 2>/dev/null
follow_release
is "$(follow_leftovers src shop)" "0/1" "follow stop killed while it removes: the helper schema remains"
run_pgcarry follow stop --source "$SRC" --target "$DST" shop
is "$RC" 0 "the next follow stop exits 0" || diag "$ERR"
like "$ERR" "database \"shop\": no longer followed \(1 objects removed\)" "and removes the rest"
is "$(follow_leftovers src shop)/$(follow_leftovers dst shop)" "0/0/0/0" "nothing of pgcarry is left"

done_testing
