#!/usr/bin/env bash
# The source is only read: pgcarry copy and compare work from a hot standby,
# where any write, temporary table or sequence call would fail.  And on a
# primary, nothing pgcarry does leaves a trace: no write (pg_stat_database
# counts no inserted, updated or deleted row), no temporary object, no
# session left.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src "hot_standby = on"
pg_start dst
STATE=$T_TMP/state

pg_sql src postgres "CREATE DATABASE app"
pg_psql src app >/dev/null <<'SQL' || bail "could not fill app"
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 2000) g;
CREATE SEQUENCE s;
SELECT setval('s', 9);
SELECT lo_from_bytea(0, 'a large object');
CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM t;
SQL

# A hot standby of src: same data, same password, read only.
stby=$T_TMP/stby
mkdir -p "$stby/sock"
[ "$(id -u)" = 0 ] && chown -R postgres "$stby"
as_pg "$PG_BINDIR/pg_basebackup" -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -D "$stby/data" -R -X stream -c fast \
	>/dev/null 2>&1 || bail "pg_basebackup failed"
port=$(free_port)
{
	echo "port = $port"
	echo "unix_socket_directories = '$stby/sock'"
} >>"$stby/data/postgresql.conf"
as_pg "$PG_BINDIR/pg_ctl" -D "$stby/data" -l "$stby/server.log" -w -t 60 start >/dev/null 2>&1 || bail "standby did not start"
T_SERVERS+=(stby)
PORT_stby=$port
echo "127.0.0.1:$port:*:postgres:$(pg_password src)" >>"$PGPASSFILE"
is "$(PGPASSFILE=$NO_PGPASS psql -X -At -h "$stby/sock" -p "$port" -U postgres -d app -c "SELECT pg_is_in_recovery()")" "t" \
	"the source is a hot standby"

run_pgcarry copy --source "postgresql://postgres@127.0.0.1:$port/postgres" --target "$(pg_uri dst)" --progress none \
	--state-dir "$STATE" app
is "$RC" 0 "copy from a hot standby exits 0: nothing was written to the source"
like "$OUT" "Verified: 1 database, every object equal\." "and it is verified"
out=$(dbcheck_compare src dst app 2>/dev/null)
is "$?" 0 "the target equals the source, data and schema (independent check)" || diag "$out"

run_pgcarry compare --source "postgresql://postgres@127.0.0.1:$port/postgres" --target "$(pg_uri dst)" --progress none app
is "$RC" 0 "compare against a hot standby exits 0"

# On the primary: no row written, no temporary object, no session left.
pg_sql dst postgres "DROP DATABASE app"
writes() { pg_sql src app "SELECT tup_inserted + tup_updated + tup_deleted || ' ' || temp_files FROM pg_stat_database WHERE datname = 'app'"; }
pg_sql src app "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1
sleep 1.2
before=$(writes)
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" app
is "$RC" 0 "copy from the primary exits 0"
sleep 1.2
is "$(writes)" "$before" "no row inserted, updated or deleted on the source, no temporary file"
is "$(pg_sql src app "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg_temp%' AND EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = pg_namespace.oid)")" \
	"0" "no temporary object on the source"
is "$(pg_sql src postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry'")" "0" "no session left on the source"
is "$(pg_sql src postgres "SELECT count(*) FROM pg_prepared_xacts")" "0" "no prepared transaction on the source"

as_pg "$PG_BINDIR/pg_ctl" -D "$stby/data" -m immediate -w stop >/dev/null 2>&1
done_testing
