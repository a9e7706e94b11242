#!/usr/bin/env bash
# copy --follow then cutover under a live write load: inserts, updates and
# deletes in every table, a TOASTed value whose row is updated without
# touching it, a table with REPLICA IDENTITY FULL and no key, a transaction
# that begins before the slot and commits after it, a large object.  The
# cutover fences the source, and the independent checker then finds source
# and target identical, sequences included; nothing of pgcarry is left on
# either server.  A second run: a target that drifted makes cutover exit 3,
# with the fence kept and the way back printed.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"
source "$(dirname "$0")/70-follow-lib.bash"

pg_start src "max_prepared_transactions = 2"
pg_start dst

pg_sql src postgres "CREATE DATABASE app"
follow_app_schema src app || bail "could not fill app"

# Large objects with what pg_dump carries of them: a comment on the one the
# copy finds, one the application unlinks while following, and (below) one
# created while following with a comment and a privilege.
pg_sql src app "DO \$\$ BEGIN EXECUTE format('COMMENT ON LARGE OBJECT %s IS %L', (SELECT min(oid) FROM pg_largeobject_metadata), 'the app''s object'); END \$\$"
pg_sql src app "SELECT lo_from_bytea(424241, 'unlinked while following')" >/dev/null
for s in src dst; do pg_sql $s postgres "CREATE ROLE lo_reader"; done

# A transaction that begins before the slot and commits after it.
coproc EARLY { pg_psql src app 2>&1; }
echo "BEGIN; INSERT INTO accounts VALUES (99999, 42); SELECT 'began';" >&"${EARLY[1]}"
read -r -t 20 began <&"${EARLY[0]}"
is "$began" "began" "a transaction is open before the copy starts"

follow_writer_start src app
pgcarry_start copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --follow app
COPY=$PGCARRY_PID
sleep 3
echo "COMMIT;" >&"${EARLY[1]}"
exec {EARLY[1]}>&-
pgcarry_wait
is "$RC" 0 "copy --follow under load exits 0" || diag "$ERR"
like "$ERR" "database \"app\" follows the source" "it returns once the target follows"
unlike "$ERR" "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "no sanitizer report"

pg_psql src app >/dev/null <<'SQL'
SELECT lo_unlink(424241);
SELECT lo_from_bytea(424242, 'made while following');
COMMENT ON LARGE OBJECT 424242 IS 'new while following';
GRANT SELECT ON LARGE OBJECT 424242 TO lo_reader;
SQL

sleep 3
run_pgcarry follow status --source "$(pg_uri src)" --target "$(pg_uri dst)" --json
is "$RC" 0 "follow status exits 0 while following" || diag "$ERR"
like "$OUT" '"state": "following"' "follow status --json says following"
like "$OUT" '"apply_errors": 0' "with no apply error"
like "$OUT" '"slot_wal_bytes": [0-9]+' "and the WAL the slot holds"
run_pgcarry follow status --source "$(pg_uri src)" --target "$(pg_uri dst)" app
like "$OUT" "app +following +[0-9]+ " "follow status as text"

run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none app
is "$RC" 0 "cutover under load exits 0" || diag "$ERR"
like "$ERR" "writes to database \"app\" on the source are fenced \([0-9]+ sessions? ended\)" "it fences the source"
like "$ERR" "cutover complete: the target is ready; writes on the source were fenced for [0-9.]+ s" \
	"it prints how long writes were fenced"
note "$(printf '%s\n' "$ERR" | grep -o 'fenced for [0-9.]* s')"
follow_writer_stop

is "$(pg_sql src app "SELECT count(*) FROM accounts WHERE id = 99999")" 1 "the early transaction committed on the source"
is "$(pg_sql dst app "SELECT balance FROM accounts WHERE id = 99999")" 42 "and its row is on the target"
ticks=$(pg_sql src app "SELECT count(*) FROM accounts WHERE id > 100000")
ok "$([ "$ticks" -gt 5 ] && echo 0 || echo 1)" "the application wrote during the follow ($ticks transactions)"
out=$(pg_sql src app "INSERT INTO events (what) VALUES ('late')" 2>&1)
like "$out" "cannot execute INSERT in a read-only transaction" "the source stays fenced for every new session"
is "$(follow_leftovers src app)" "0/0" "nothing of pgcarry is left on the source"
is "$(follow_leftovers dst app)" "0/0" "nothing of pgcarry is left on the target"
# The fence is the one intended difference (a database setting on the
# source); with it lifted, the checker compares data and schema whole.
pg_sql src postgres "ALTER DATABASE app RESET default_transaction_read_only"
dbcheck_compare src dst app
is "$?" 0 "the independent checker finds the fenced source and the target identical (large objects' comments and privileges included)"
is "$(pg_sql dst app "SELECT string_agg(oid || '=' || coalesce(obj_description(oid, 'pg_largeobject'), '-'), ' ' ORDER BY oid) FROM pg_largeobject_metadata WHERE oid >= 424241")" \
	"424242=new while following" "a large object made while following has its comment on the target; the unlinked one is gone"

# A target that drifted: cutover finds the difference, exits 3, keeps the fence.
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src shop "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --follow shop
is "$RC" 0 "copy --follow of a second database" || diag "$ERR"
pg_sql dst shop "UPDATE items SET name = 'changed on the target' WHERE id = 7"
run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none shop
is "$RC" 3 "a target that differs: exit 3"
like "$OUT" "shop +table public.items .* differ" "the report names the table"
like "$ERR" "error: the target differs from the fenced source" "it says the target differs"
like "$ERR" "hint: The source is unchanged and still fenced\.  To go back to it, run on the source: ALTER DATABASE \"shop\" RESET default_transaction_read_only; and keep the application there\." \
	"and prints the way back"
is "$(pg_sql src shop "SHOW default_transaction_read_only")" "on" "the fence stays"

# --verify count, and a lag above --lag-max refused before any fence.
pg_sql src postgres "CREATE DATABASE tiny"
pg_sql src tiny "CREATE TABLE t (id serial PRIMARY KEY, v int); INSERT INTO t (v) SELECT generate_series(1, 50)"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --follow tiny
is "$RC" 0 "copy --follow of a third database" || diag "$ERR"
pg_sql src tiny "INSERT INTO t (v) SELECT generate_series(1, 10)"
# Refused before any fence: a prepared transaction, a subscription not applying.
pg_sql src tiny "BEGIN; INSERT INTO t (v) VALUES (0); PREPARE TRANSACTION 'pending one'"
run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none tiny
is "$RC" 1 "a prepared transaction: exit 1"
like "$ERR" "error: database \"tiny\" has prepared transactions, which could commit after the fence
pgcarry: detail: Prepared: pending one
pgcarry: hint: Finish them with COMMIT PREPARED or ROLLBACK PREPARED, then run cutover again; nothing was fenced\." \
	"it names them and the way out"
is "$(pg_sql src tiny "SHOW default_transaction_read_only")" "off" "nothing was fenced"
pg_sql src tiny "ROLLBACK PREPARED 'pending one'"
sub=$(pg_sql dst tiny "SELECT subname FROM pg_subscription")
pg_sql dst tiny "ALTER SUBSCRIPTION $sub DISABLE"
for _ in $(seq 1 100); do
	[ "$(pg_sql src postgres "SELECT active FROM pg_replication_slots WHERE slot_name = '$sub'")" = f ] && break
	sleep 0.1
done
run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none tiny
is "$RC" 1 "a subscription that does not apply: exit 1"
like "$ERR" "error: the target is not applying the changes of database \"tiny\"" "it is refused"
pg_sql dst tiny "ALTER SUBSCRIPTION $sub ENABLE"
for _ in $(seq 1 100); do
	[ "$(pg_sql src postgres "SELECT active FROM pg_replication_slots WHERE slot_name = '$sub'")" = t ] && break
	sleep 0.1
done
# The target more than --lag-max behind (its apply held by a SHARE lock on
# the target, which the schema check's catalog reads pass, while the source
# writes): refused before any fence.
coproc LAG { pg_psql dst tiny 2>&1; }
echo "BEGIN; LOCK TABLE t IN SHARE MODE; SELECT 'held';" >&"${LAG[1]}"
read -r -t 20 _ <&"${LAG[0]}"
pg_sql src tiny "INSERT INTO t (v) VALUES (-1); DELETE FROM t WHERE v = -1"
run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --lag-max 1 tiny
echo "ROLLBACK;" >&"${LAG[1]}"
exec {LAG[1]}>&-
wait "$LAG_PID" 2>/dev/null
is "$RC" 1 "a target further behind than --lag-max: exit 1"
like "$ERR" "error: the target is more than --lag-max 1\.0 s behind the source on database \"tiny\"
pgcarry: detail: A row written on the source was not applied on the target within 1\.0 s; [0-9]+ bytes of WAL were not yet confirmed by the target\.
pgcarry: hint: Wait until pgcarry follow status shows a smaller lag, then run cutover again; nothing was fenced\." \
	"it says so, with the way out"
is "$(pg_sql src tiny "SHOW default_transaction_read_only")" "off" "nothing was fenced"

# The cutover's marker held back on the target: a trigger there (on the
# helper table, so removed with it) locks the table against reads too, and
# waits for an advisory lock this test holds there.  It is made on both
# servers, so that their schemas stay equal for cutover's schema check (on
# the source it takes the advisory lock no one else holds).  A cutover that
# waits too long fails with the way back; one interrupted while it waits
# says so; one killed while it waits leaves the fence, and the next run
# finishes.
for server in src dst; do pg_psql $server tiny >/dev/null <<'SQL'
CREATE FUNCTION pgcarry_follow.hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	LOCK TABLE pgcarry_follow.marker IN ACCESS EXCLUSIVE MODE;
	PERFORM pg_advisory_lock(4242);
	PERFORM pg_advisory_unlock(4242);
	RETURN NEW;
END $$;
CREATE TRIGGER hold BEFORE INSERT ON pgcarry_follow.marker
	FOR EACH ROW WHEN (NEW.name LIKE 'cutover%') EXECUTE FUNCTION pgcarry_follow.hold();
ALTER TABLE pgcarry_follow.marker ENABLE ALWAYS TRIGGER hold;
SQL
done
coproc HOLD { pg_psql dst tiny 2>&1; }
echo "SELECT pg_advisory_lock(4242), 'held';" >&"${HOLD[1]}"
read -r -t 20 _ <&"${HOLD[0]}"
run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --wait-max 2 tiny
is "$RC" 1 "the last writes not applied within --wait-max: exit 1"
like "$ERR" "error: the target did not apply the last writes of database \"tiny\" within 2 s" "it says so"
like "$ERR" "hint: The source is unchanged and still fenced\.  To go back to it, run on the source: ALTER DATABASE \"tiny\" RESET default_transaction_read_only;" \
	"with the way back"
pgcarry_start cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none tiny
sleep 2
kill -INT $PGCARRY_PID
pgcarry_wait
is "$RC" 1 "a cutover interrupted while it waits: exit 1"
# (the held marker keeps the target's helper table locked, so the schema
# check, which reads its definition, is where this run waits)
like "$ERR" "error: cutover interrupted while comparing the schema of database \"tiny\"" \
	"it says so"
like "$ERR" "hint: The source is unchanged and still fenced\.  To go back to it, run on the source: ALTER DATABASE \"tiny\" RESET default_transaction_read_only;" \
	"with the way back"
pgcarry_start cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none tiny
sleep 2
kill -9 $PGCARRY_PID
{ pgcarry_wait; } 2>/dev/null	# no "Killed" notice from bash
echo "SELECT pg_advisory_unlock(4242);" >&"${HOLD[1]}"
exec {HOLD[1]}>&-
wait "$HOLD_PID" 2>/dev/null
is "$(pg_sql src tiny "SHOW default_transaction_read_only")" "on" "a killed cutover leaves the fence"
run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --verify count tiny
is "$RC" 0 "cutover --verify count exits 0" || diag "$ERR"
like "$OUT" "tiny table public.t: 60 rows on both" "it counts every table on both sides"
# 62: the prepared transaction rolled back took a value too, and the row that held the target back.
is "$(pg_sql src tiny "SELECT last_value FROM t_id_seq")" 62 "the source's sequence"
is "$(pg_sql dst tiny "SELECT nextval('t_id_seq')")" 63 "was set on the target"

run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none shop
is "$RC" 1 "cutover of a database no longer followed: exit 1"
like "$ERR" "error: database \"shop\" is not followed by pgcarry" "it says so"

done_testing
