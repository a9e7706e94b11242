#!/usr/bin/env bash
# Servers are named as libpq reached them: the host and port a service file
# or PG* variables chose (PQhost/PQport after connecting), and a Unix socket
# by its path, as psql names it, on success and when it is refused.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
port=$(pg_port src)
sock=$(pg_sockdir src)

# A service file that names the server; the connection string says nothing
# of host or port.
svc=$T_TMP/pg_service.conf
dead=$(free_port)
cat >"$svc" <<SVC
[oldsrv]
host=127.0.0.1
port=$port
dbname=postgres
user=postgres

[deadsrv]
host=127.0.0.1
port=$dead
dbname=postgres
user=postgres
SVC

PGSERVICEFILE=$svc run_pgcarry ping --source service=oldsrv
is "$RC" 0 "ping through a service file exits 0"
like "$OUT" "^source server 127\.0\.0\.1:$port/postgres$" "the service file's host and port are shown"
unlike "$OUT" "localhost:5432" "not the defaults"

PGSERVICEFILE=$svc run_pgcarry ping --source service=deadsrv
is "$RC" 1 "a refused service connection exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: could not connect to the source server 127.0.0.1:$dead/postgres: Connection refused" \
	"a refused service connection names the port the service file chose"

# PG* variables.
PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres run_pgcarry ping --source dbname=postgres
is "$RC" 0 "ping through PGHOST/PGPORT exits 0"
like "$OUT" "^source server 127\.0\.0\.1:$port/postgres$" "PGHOST and PGPORT are shown"

# A Unix socket: named by its path.
run_pgcarry ping --target "host=$sock port=$port user=postgres dbname=postgres"
is "$RC" 0 "ping through a socket exits 0"
like "$OUT" "^target server on socket \"$sock/\.s\.PGSQL\.$port\" \(database postgres\)$" "the socket path is shown"

# A socket where no server listens: the path, as psql names it.
PGCARRY_CONNECT_RETRIES=0 run_pgcarry ping --source "host=$T_TMP/nowhere port=$port user=postgres dbname=postgres"
is "$RC" 1 "a refused socket connection exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: could not connect to the source server on socket \"$T_TMP/nowhere/.s.PGSQL.$port\" (database postgres): No such file or directory" \
	"a refused socket connection names the socket path"

# The same socket through PGHOST, with copy: the error names it too.
PGHOST=$T_TMP/nowhere PGPORT=$port PGCARRY_CONNECT_RETRIES=0 run_pgcarry copy --source "user=postgres dbname=postgres" \
	--target "$(pg_uri src)" --all
is "$RC" 1 "copy from a missing socket exits 1"
like "$(head -1 <<<"$ERR")" "could not connect to the source server on socket \"$T_TMP/nowhere/\.s\.PGSQL\.$port\"" \
	"copy names the socket PGHOST chose"

done_testing
