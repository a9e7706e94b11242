#!/usr/bin/env bash
# Children die with pgcarry: kill -9 of a copy while its pg_dump waits on
# the source (a session holds a lock pg_dump needs) ends that pg_dump at
# once, and its statement on the source with it; the private temporary
# directory the killed run left is removed by the next run, while one of a
# live process, one naming no process, one others may read and other files
# are left alone.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst
PGTMP=$T_TMP/tmp
mkdir -m 700 "$PGTMP"
pg_sql src postgres "CREATE DATABASE kd"
pg_sql src kd "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g;
               CREATE TABLE pt (k int) PARTITION BY RANGE (k)"

# A session that holds the partitioned table pg_dump must lock.
pg_psql src kd -c "BEGIN; LOCK TABLE ONLY pt IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300)" >/dev/null 2>&1 &
LOCKER=$!
wait_for() {
	local i
	for i in $(seq 1 "$1"); do
		eval "$2" && return 0
		sleep 0.5
	done
	return 1
}
wait_for 40 '[ "$(pg_sql src kd "SELECT count(*) FROM pg_locks WHERE relation = '"'"'pt'"'"'::regclass AND mode = '"'"'AccessExclusiveLock'"'"' AND granted")" = 1 ]'
ok $? "a session holds the lock pg_dump needs"

TMPDIR=$PGTMP pgcarry_start copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none \
	--state-dir "$T_TMP/state" kd
CARRY=$PGCARRY_PID
wait_for 120 '[ "$(pg_sql src kd "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'"'pg_dump'"'"' AND wait_event_type = '"'"'Lock'"'"'")" = 1 ]'
ok $? "pg_dump, started by copy, waits for the lock"
CHILDREN=$(pgrep -P "$CARRY" | tr '\n' ' ')
isnt_empty=0
[ -n "$CHILDREN" ] && isnt_empty=1
is "$isnt_empty" 1 "copy has a child process running"
is "$(ls "$PGTMP" | grep -c '^pgcarry\.')" 1 "the run made one private temporary directory"

kill -9 "$CARRY"
pgcarry_wait
gone() {
	local p
	for p in $CHILDREN; do kill -0 "$p" 2>/dev/null && return 1; done
	return 0
}
wait_for 20 gone
ok $? "every child of the killed copy ended with it"
wait_for 20 '[ "$(pg_sql src kd "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'"'pg_dump'"'"'")" = 0 ]'
ok $? "pg_dump's statement on the source ended too, while the lock is still held"
kill -0 "$LOCKER" 2>/dev/null
ok $? "(the lock was still held)"
is "$(ls "$PGTMP" | grep -c '^pgcarry\.')" 1 "kill -9 left the private directory behind"
LEFT=$(ls -d "$PGTMP"/pgcarry.*)

# Directories the next run must leave alone: a live process's (this
# shell's pid and start time in its name), one whose name names no process,
# one that others may read, and a plain file.
LIVE="$PGTMP/pgcarry.$$-$(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f20).abcdef"
mkdir -m 700 "$LIVE" "$PGTMP/pgcarry.noowner"
mkdir -m 755 "$PGTMP/pgcarry.1-1.opened"
touch "$PGTMP/pgcarry.file"
like "$(ls "$PGTMP")" "pgcarry\.[0-9]+-[0-9]+\.[A-Za-z0-9]{6}" "(the killed run's directory is named after its process)"

pg_sql src postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'kd' AND query LIKE 'BEGIN; LOCK%'" >/dev/null
wait "$LOCKER" 2>/dev/null
TMPDIR=$PGTMP run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none \
	--state-dir "$T_TMP/state" --resume --verbose kd
is "$RC" 0 "the next copy (--resume) exits 0"
[ ! -e "$LEFT" ]
ok $? "the next run removed the directory the killed run left"
like "$ERR" "removed \"$LEFT\", left behind by a pgcarry run that was killed" "and says so"
[ -d "$LIVE" ] && [ -d "$PGTMP/pgcarry.noowner" ] && [ -d "$PGTMP/pgcarry.1-1.opened" ] && [ -f "$PGTMP/pgcarry.file" ]
ok $? "a live process's directory, one naming no process, one others may read and a file are left alone"
is "$(ls "$PGTMP" | grep -c '^pgcarry\.')" 4 "nothing else is left behind"
dbcheck_compare src dst kd >/dev/null 2>&1
is "$?" 0 "the copy is equal to the source for the independent checker"

done_testing
