#!/usr/bin/env bash
# pgcarry copy does not clobber a target: a database that holds objects is
# refused (and nothing else is touched), --clean drops and recreates it but
# never ends other sessions silently, an existing empty database is filled.
# Clear errors: wrong password, unknown database, the same server on both
# sides, a pg_dump older than the source, --resume with nothing to resume.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"

pg_sql src postgres "CREATE DATABASE app"
pg_sql src postgres "CREATE DATABASE other"
pg_sql src app "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 500) g"
pg_sql src other "CREATE TABLE o (x int); INSERT INTO o VALUES (1), (2)"
pg_sql src postgres "COMMENT ON DATABASE app IS 'the app'"

copy() { run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" "$@"; }

# A target database that holds objects is refused; the other database is not touched.
pg_sql dst postgres "CREATE DATABASE app"
pg_sql dst app "CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)"
copy other app
is "$RC" 1 "a target database holding objects is refused with exit 1"
is "$ERR" "pgcarry: error: database \"app\" already exists on the target and holds objects (relation public.precious)
pgcarry: hint: Use --clean to drop and recreate it, or --resume to finish an interrupted copy." "the refusal names the database, an object and the ways out"
is "$OUT" "" "nothing on stdout"
is "$(pg_sql dst app "SELECT x FROM precious")" "42" "the target database is untouched"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'other'")" "0" "no other database was created either"

# --resume with no record of an earlier copy.
copy --resume app
is "$RC" 1 "--resume without state refuses a database holding objects"
like "$ERR" "detail: There is no record of an earlier copy of it to resume \(state file \".*/copy-[0-9a-f]+\.sqlite\"\)\." "says there is nothing to resume"
like "$ERR" "hint: Use --clean to drop and recreate it\." "points to --clean"

# --clean never ends other sessions silently.
PGPASSFILE=$NO_PGPASS psql -X -q -h "$(pg_sockdir dst)" -p "$(pg_port dst)" -U postgres -d app -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
sleeper=$!
for _ in $(seq 1 50); do
	[ "$(pg_sql dst postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND query LIKE '%pg_sleep%'")" = 1 ] && break
	sleep 0.1
done
copy --clean app
is "$RC" 1 "--clean with another session on the target database exits 1"
like "$ERR" "error: could not drop database \"app\" on the target: other sessions are connected to it" "names the database"
like "$ERR" "detail: There is 1 other session using the database\." "says how many sessions"
like "$ERR" "hint: pgcarry does not end other sessions: close them \(or end them with pg_terminate_backend\) and run the command again\." "the way out"
is "$(pg_sql dst app "SELECT x FROM precious")" "42" "the target database is still untouched"
kill "$sleeper" 2>/dev/null
pg_sql dst postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'app' AND pid <> pg_backend_pid()" >/dev/null
wait "$sleeper" 2>/dev/null

copy --clean app
is "$RC" 0 "--clean drops and recreates the database"
like "$ERR" "dropping database \"app\" on the target to copy it again" "--clean says what it drops"
is "$(pg_sql dst app "SELECT count(*) FROM pg_class WHERE relname = 'precious'")" "0" "the old contents are gone"
is "$(pg_sql dst app "SELECT count(*) FROM t")" "500" "the new contents are in"
is "$(pg_sql dst postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'app'")" "the app" "the database comment is carried"

# An existing empty database is filled, and gets the source's properties.
pg_sql dst postgres "CREATE DATABASE other"
pg_sql src postgres "ALTER DATABASE other SET work_mem = '7MB'; COMMENT ON DATABASE other IS 'other db'"
copy other
is "$RC" 0 "an existing empty target database is accepted"
is "$(pg_sql dst other "SELECT count(*) FROM o")" "2" "and filled"
is "$(pg_sql dst postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'other'")" "other db" \
	"the existing database gets the source's comment"
is "$(pg_sql dst postgres "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE datname = 'other'")" \
	"work_mem=7MB" "and its settings"

# Wrong password, unknown database, same server.
PGPASSWORD=wrong-pw-30r PGPASSFILE=$NO_PGPASS copy app
echo "wrong-pw-30r" >>"$TEST_LOG_DIR/.passwords"
is "$RC" 1 "a wrong password exits 1"
is "$ERR" "pgcarry: error: could not connect to the source server 127.0.0.1:$(pg_port src)/postgres: password authentication failed for user \"postgres\"
pgcarry: hint: Check the password in PGPASSWORD, ~/.pgpass or the service file; passwords are never read from the command line." "wrong password message"

copy nosuchdb
is "$RC" 1 "an unknown database exits 1"
is "$ERR" "pgcarry: error: database \"nosuchdb\" does not exist on the source server 127.0.0.1:$(pg_port src)
pgcarry: hint: Check the name; \"pgcarry ping --source URI\" lists the databases of a server." "unknown database message"

run_pgcarry copy --source "$(pg_uri src)" --target "host=127.0.0.1 port=$(pg_port src) user=postgres" \
	--progress none --state-dir "$STATE" app
is "$RC" 2 "the same server on both sides exits 2"
is "$ERR" "pgcarry: error: the source and the target are the same server
pgcarry: hint: Give a different server for --target." "same server message"

# A pg_dump older than the source server.
mkdir -p "$T_TMP/oldbin"
printf '#!/bin/sh\necho "pg_dump (PostgreSQL) 11.22"\n' >"$T_TMP/oldbin/pg_dump"
chmod +x "$T_TMP/oldbin/pg_dump"
PG_BINDIR=$T_TMP/oldbin copy --clean app
is "$RC" 1 "an old pg_dump exits 1"
major=$(pg_sql src postgres "SELECT current_setting('server_version_num')::int / 10000")
version=$(pg_sql src postgres "SELECT regexp_replace(current_setting('server_version'), ' .*', '')")
is "$ERR" "pgcarry: error: pg_dump 11 (in $T_TMP/oldbin) is older than the source server, which runs PostgreSQL $version
pgcarry: detail: pg_dump can dump servers of its own major version or older, never newer ones.
pgcarry: hint: Install the PostgreSQL $major client programs (Debian: apt-get install postgresql-client-$major) and set PG_BINDIR to their directory, for example /usr/lib/postgresql/$major/bin." \
	"old pg_dump message names what to install"
is "$(pg_sql dst app "SELECT count(*) FROM t")" "500" "nothing was dropped"

# Passwords held by connection strings in the environment reach pg_dump,
# pg_restore and psql through PGPASSWORD in their environment only.
pg_sql dst postgres "DROP DATABASE other"
PGCARRY_SOURCE="postgresql://postgres:$(pg_password src)@127.0.0.1:$(pg_port src)/postgres" \
PGCARRY_TARGET="postgresql://postgres:$(pg_password dst)@127.0.0.1:$(pg_port dst)/postgres" \
PGPASSFILE=$NO_PGPASS run_pgcarry copy --progress none --state-dir "$STATE" other
is "$RC" 0 "passwords from connection strings in the environment work for every child program"
unlike "$OUT$ERR" "$(pg_password src)|$(pg_password dst)" "and appear in no output"

is "$(ls "$TMPDIR")" "" "no temporary directory left behind"

done_testing
