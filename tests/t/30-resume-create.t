#!/usr/bin/env bash
# kill -9 of copy or import while the target runs its CREATE DATABASE, then
# --resume.  The killed client's CREATE DATABASE goes on in its server
# session and commits later; the resumed run must wait for it, not find
# "no database", create it and fail with "already exists".
#
# To hold the CREATE DATABASE in flight, a session on the target renames
# template0 in an open transaction: that takes the lock CREATE DATABASE ...
# TEMPLATE template0 waits for, until the transaction rolls back.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"

pg_sql src postgres "CREATE DATABASE app"
pg_psql src app >/dev/null <<'SQL' || bail "could not fill app"
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;
CREATE SEQUENCE s;
SELECT setval('s', 42);
SQL

creating="SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND wait_event_type = 'Lock' AND query ~* '^\\s*CREATE\\s+DATABASE'"

# hold_template0 SECONDS: holds template0's lock for SECONDS in the background.
hold_template0() {
	{
		echo "BEGIN; ALTER DATABASE template0 RENAME TO template0_held;"
		sleep "$1"
		echo "ROLLBACK;"
	} | as_pg "$(pg_bindir dst)/psql" -X -q -h "$(pg_sockdir dst)" -p "$(pg_port dst)" -d postgres >/dev/null 2>&1 &
	HOLD_PID=$!
	pg_wait_for dst "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.objid WHERE l.locktype = 'object' AND l.classid = 'pg_database'::regclass AND l.mode = 'AccessExclusiveLock' AND l.granted" 1 \
		|| diag "template0 was not locked"
}

# ------------------------------------------------------------ copy

hold_template0 6
pgcarry_start copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none \
	--state-dir "$STATE" app
ok "$(pg_wait_for dst "$creating" 1; echo $?)" "copy: its CREATE DATABASE waits on the target"
{
	kill -KILL "$PGCARRY_PID"
	pgcarry_wait
} 2>/dev/null
is "$(pg_sql dst postgres "$creating")" 1 "copy killed: its CREATE DATABASE goes on in the server"

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none \
	--state-dir "$STATE" --resume --verbose app
wait "$HOLD_PID" 2>/dev/null
is "$RC" 0 "copy --resume after the kill: exit 0" || diag "$ERR"
like "$ERR" "waiting for the CREATE DATABASE of \"app\" that another session is running to end" \
	"copy --resume says what it waits for"
unlike "$ERR" "already exists" "copy --resume does not meet the database it was about to create"
out=$(dbcheck_compare src dst app 2>/dev/null)
is "$?" 0 "copy --resume: the target equals the source (independent check)" || diag "$out"

# ------------------------------------------------------------ import

run_pgcarry export --source "$(pg_uri src)" --output "$T_TMP/arch" --progress none app
is "$RC" 0 "export for the import case" || diag "$ERR"
pg_sql dst postgres "DROP DATABASE app"

hold_template0 6
pgcarry_start import --target "$(pg_uri dst)" --input "$T_TMP/arch" --jobs 2 --progress none
ok "$(pg_wait_for dst "$creating" 1; echo $?)" "import: its CREATE DATABASE waits on the target"
{
	kill -KILL "$PGCARRY_PID"
	pgcarry_wait
} 2>/dev/null

run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/arch" --jobs 2 --progress none --resume --verbose
wait "$HOLD_PID" 2>/dev/null
is "$RC" 0 "import --resume after the kill: exit 0" || diag "$ERR"
like "$ERR" "waiting for the CREATE DATABASE of \"app\" that another session is running to end" \
	"import --resume says what it waits for"
unlike "$ERR" "already exists" "import --resume does not meet the database it was about to create"
out=$(dbcheck_compare src dst app 2>/dev/null)
is "$?" 0 "import --resume: the target equals the source (independent check)" || diag "$out"

done_testing
