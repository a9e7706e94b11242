#!/usr/bin/env bash
# copy --follow checks the servers before it creates anything: wal_level,
# free replication slots, superuser rights, tables that cannot replicate
# UPDATE and DELETE, unlogged tables; each with its message and the fix,
# exit 1 and nothing left on either server.  Then the exits of a started
# follow: Ctrl-C leaves nothing behind; after kill -9, follow stop removes
# everything.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/70-follow-lib.bash"

pg_start old "wal_level = replica" "max_replication_slots = 2" "max_wal_senders = 0" "max_logical_replication_workers = 0"
pg_start src
pg_start dst

pg_sql old postgres "CREATE DATABASE app"
pg_sql old postgres "SELECT pg_create_physical_replication_slot('standby_a'), pg_create_physical_replication_slot('standby_b')" >/dev/null
run_pgcarry copy --source "$(pg_uri old)" --target "$(pg_uri dst)" --progress none --follow app
is "$RC" 1 "wal_level replica: exit 1"
like "$ERR" "error: wal_level on the source is \"replica\": following needs \"logical\"" "wal_level is named"
like "$ERR" "hint: Set wal_level = logical on the source and restart it\.  On Amazon RDS and Aurora: rds\.logical_replication = 1" \
	"with the fix, managed services included"
like "$ERR" "error: the source has 0 free replication slots, 1 needed \(one per database\)" "no free slot"
like "$ERR" "detail: max_replication_slots = 2, 2 in use" "with the figures"
like "$ERR" "error: the source has 0 free WAL senders, 1 needed \(one per database\)
pgcarry: detail: max_wal_senders = 0, 0 in use
pgcarry: hint: Raise max_wal_senders on the source \(a restart is needed\)\." "no free WAL sender"
like "$ERR" "error: copy --follow cannot start: 3 problems found, nothing was created" "one summary"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'app'")" 0 "no database created on the target"
is "$(follow_leftovers old app)" "2/0" "nothing created on the source"

pg_sql src postgres "CREATE DATABASE app"
pg_psql src app >/dev/null <<'SQL' || bail "could not fill app"
CREATE TABLE keyed (id int PRIMARY KEY, v text);
INSERT INTO keyed SELECT g, 'v' || g FROM generate_series(1, 20000) g;
CREATE TABLE "no key" (a int, b text);
CREATE TABLE nothing (id int PRIMARY KEY);
ALTER TABLE nothing REPLICA IDENTITY NOTHING;
CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY);
SELECT lo_from_bytea(0, 'x');
CREATE ROLE weak LOGIN PASSWORD 'weak-pw-1';
SQL
echo "127.0.0.1:$(pg_port src):*:weak:weak-pw-1" >>"$PGPASSFILE"
weak_uri="postgresql://weak@127.0.0.1:$(pg_port src)/postgres"
run_pgcarry copy --source "$weak_uri" --target "$(pg_uri dst)" --progress none --follow app
is "$RC" 1 "a source role that is not a superuser: exit 1"
like "$ERR" "error: the source role \"weak\" is not a superuser, so it cannot create a publication FOR ALL TABLES and a replication slot" \
	"the missing right is named"

pg_sql dst postgres "CREATE ROLE weak LOGIN PASSWORD 'weak-pw-2'"
echo "127.0.0.1:$(pg_port dst):*:weak:weak-pw-2" >>"$PGPASSFILE"
run_pgcarry copy --source "$(pg_uri src)" --target "postgresql://weak@127.0.0.1:$(pg_port dst)/postgres" --progress none --follow app
is "$RC" 1 "a target role that is not a superuser: exit 1"
like "$ERR" "error: the target role \"weak\" is not a superuser, so it cannot create a subscription
pgcarry: hint: Connect as a superuser of that server \(on a managed service, its administrator role with logical replication enabled\)\." \
	"the missing right is named, with the way out"

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri old)" --progress none --follow app
is "$RC" 1 "a target without a free apply worker: exit 1"
like "$ERR" "error: the target has 0 free logical replication workers, 1 needed \(one per database\)
pgcarry: detail: max_logical_replication_workers = 0, 0 subscriptions enabled; max_worker_processes = [0-9]+
pgcarry: hint: Raise max_logical_replication_workers on the target, and max_worker_processes with it \(a restart is needed\)\." \
	"it says so, with the way out"

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --follow app
is "$RC" 1 "tables that cannot replicate: exit 1"
like "$ERR" "error: 2 tables of database \"app\" cannot replicate UPDATE and DELETE: no primary key and no replica identity" \
	"the tables are counted"
like "$ERR" "detail: public\.\"no key\"
public\.nothing" "and named"
like "$ERR" "hint: Add a primary key to each, or run ALTER TABLE \.\.\. REPLICA IDENTITY FULL on it" "with the choice"
like "$ERR" "error: database \"app\" has 1 unlogged table, which logical replication does not carry" "unlogged tables"
like "$ERR" "detail: public\.scratch" "named"
like "$ERR" "database \"app\" has 1 large objects: logical replication does not carry them, so cutover copies them again while writes are fenced" \
	"large objects get a notice"
is "$(follow_leftovers src app)" "0/0" "a failed preflight leaves nothing on the source"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'app'")" 0 "nor on the target"

pg_psql src app >/dev/null <<'SQL'
ALTER TABLE "no key" REPLICA IDENTITY FULL;
ALTER TABLE nothing REPLICA IDENTITY DEFAULT;
ALTER TABLE scratch SET LOGGED;
SQL

slot_count() { pg_sql src postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgcarry\_%' ${1:-}"; }
start_copy() {
	pgcarry_start copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --clean --follow app
	COPY=$PGCARRY_PID
}
# hold SERVER SQL [CONDITION]: a session holding what SQL takes (once
# CONDITION holds), until release
hold() {
	coproc HOLDER { pg_psql "$1" postgres 2>&1; }
	[ -z "${3:-}" ] || wait_for "$3"
	echo "BEGIN; $2; SELECT 'held';" >&"${HOLDER[1]}"
	read -r -t 20 _ <&"${HOLDER[0]}"
}
release() {
	echo "ROLLBACK;" >&"${HOLDER[1]}"
	exec {HOLDER[1]}>&-
	wait "$HOLDER_PID" 2>/dev/null
}
wait_for() {
	for _ in $(seq 1 150); do eval "$1" && return 0; sleep 0.1; done
	return 1
}

# Ctrl-C while the slot waits for a transaction in progress to end.
hold src "CREATE TABLE app_wait (x int)"
start_copy
wait_for '[ "$(slot_count)" = 1 ]'
kill -INT $COPY
pgcarry_wait
is "$RC" 1 "Ctrl-C while the slot waits for a transaction: exit 1"
release
is "$(follow_leftovers src app)" "0/0" "it leaves nothing on the source"

# Once the slot is made and its snapshot taken over (the slot is no longer
# active), a lock on the target's pg_database keeps the copy waiting for its
# target database (pg_dump runs first, which leaves the time to take it).
slot_made='[ "$(slot_count "AND NOT active")" = 1 ]'
lock_target='LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE'
start_copy
hold dst "$lock_target" "$slot_made"
is "$(follow_leftovers src app)" "1/2" "the slot, the publication and the helper schema exist while the copy runs"
kill -INT $COPY
sleep 1
release
pgcarry_wait
is "$RC" 1 "Ctrl-C during the initial copy: exit 1"
like "$ERR" "no publication, slot or subscription was left behind" "it says nothing was left behind"
is "$(follow_leftovers src app)" "0/0" "Ctrl-C leaves nothing on the source"

start_copy
hold dst "$lock_target" "$slot_made"
sleep 0.5
kill -9 $COPY
{ pgcarry_wait; } 2>/dev/null	# no "Killed" notice from bash
release
is "$(follow_leftovers src app)" "1/2" "kill -9 leaves the slot, the publication and the helper schema"
# A forgotten slot keeps WAL: follow status says so loudly.
pg_sql src app "INSERT INTO keyed SELECT g, repeat('w', 200) FROM generate_series(100001, 130000) g" >/dev/null
run_pgcarry follow status --source "$(pg_uri src)" --target "$(pg_uri dst)" --max-slot-wal 1
is "$RC" 1 "follow status of a forgotten slot: exit 1"
like "$OUT" "app +no subscription +[0-9]+ +- +[0-9]+ " "its state: no subscription"
like "$ERR" "error: database \"app\" is not following the source: no subscription" "said as an error"
like "$ERR" "error: replication slot pgcarry_[0-9a-f]{16} of database \"app\" holds [0-9]+ MB of WAL on the source, more than the ceiling of 1 MB" \
	"the WAL it holds is reported loudly"
like "$ERR" "hint: Finish with pgcarry cutover, or remove it with pgcarry follow stop\." "with the way out"
run_pgcarry follow stop --source "$(pg_uri src)" --target "$(pg_uri dst)"
is "$RC" 0 "follow stop exits 0" || diag "$ERR"
like "$ERR" "database \"app\": no longer followed \(3 objects removed\)" "it says what it removed"
is "$(follow_leftovers src app)" "0/0" "after follow stop nothing is left on the source"
if [ "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'app'")" = 1 ]; then
	is "$(follow_leftovers dst app)" "0/0" "nor on the target"
fi

run_pgcarry follow bogus
is "$RC" 2 "an unknown follow action: exit 2"
like "$ERR" "unknown action \"bogus\": give status or stop" "it is named"
run_pgcarry follow
is "$RC" 2 "follow without an action: exit 2"
like "$ERR" "name the action: status or stop" "it asks for one"
run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --verify none app
is "$RC" 2 "cutover --verify none: exit 2"
like "$ERR" "--verify must be \"full\" or \"count\", not \"none\"" "cutover always verifies"
run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" --lag-max soon app
is "$RC" 2 "a bad --lag-max: exit 2"
like "$ERR" "--lag-max must be a number of seconds, not \"soon\"" "it is named"

done_testing
