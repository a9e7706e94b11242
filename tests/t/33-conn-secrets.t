#!/usr/bin/env bash
# Passwords in connection strings, nested ones included: a connection
# string nested in dbname (dbname='host=... password=...') or a password
# anywhere in a URI (postgresql://u:pw@h, ?password=) is refused on the
# command line with one clear message; a nested connection string is refused
# from the environment too; no message shows the password.  --debug prints
# every SQL statement copy, export, import and ping send, and never a
# password (given in PGCARRY_SOURCE, where passwords are allowed).
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
PORT=$(pg_port src)
PW=$(pg_password src)
# A made-up password, put on argv on purpose (so not one 99-no-secrets.t
# looks for: the command lines are logged); each run checks its own output.
NESTED_PW=s3cret-nested-4d1
pg_sql src postgres "CREATE DATABASE app"
pg_sql src app "CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 100) g"

no_secret() {
	unlike "$OUT$ERR" "$NESTED_PW" "$1: the nested password appears nowhere"
}

ARGV_MSG="error: --source holds a password, and passwords are not accepted on the command line"
for cs in "dbname='host=127.0.0.1 port=$PORT password=$NESTED_PW'" \
	"host=127.0.0.1 port=$PORT dbname='dbname=app password=$NESTED_PW'" \
	"postgresql://postgres@127.0.0.1:$PORT/?dbname=host%3D127.0.0.1%20password%3D$NESTED_PW" \
	"postgresql://postgres:$NESTED_PW@127.0.0.1:$PORT/app" \
	"postgresql://postgres@127.0.0.1:$PORT/app?password=$NESTED_PW"; do
	run_pgcarry ping --source "$cs"
	is "$RC" 2 "ping refuses a password on argv (${cs//$NESTED_PW/PW}): exit 2"
	is "$ERR" "pgcarry: $ARGV_MSG
pgcarry: detail: $(case $cs in *dbname=*password* | *dbname=host%3D*) printf 'The password is in a connection string nested in dbname.  ' ;; esac)Every user of this machine can read a program's command line.
pgcarry: hint: Remove the password from --source and put it in PGPASSWORD, ~/.pgpass or a service file (PGSERVICE)." \
		"the refusal message, pinned"
	no_secret "ping --source"
done

run_pgcarry copy --source "host=127.0.0.1 port=$PORT dbname='host=127.0.0.1 password=$NESTED_PW'" --target "$(pg_uri dst)" app
is "$RC" 2 "copy refuses a nested password on argv: exit 2"
like "$ERR" "$ARGV_MSG" "copy: the same message"
no_secret "copy --source"
run_pgcarry export --source "dbname='host=127.0.0.1 password=$NESTED_PW'" app --output "$T_TMP/a"
is "$RC" 2 "export refuses a nested password on argv: exit 2"
no_secret "export --source"
[ ! -e "$T_TMP/a" ]
ok $? "export refused before writing anything"

# A database name that is a connection string: named, its password masked.
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$T_TMP/state" \
	"host=127.0.0.1 password=$NESTED_PW"
is "$RC" 1 "copy of a database that does not exist exits 1"
like "$ERR" "error: database \"host=127.0.0.1 password=\*\*\*\*\*\*\*\*\" does not exist on the source server" \
	"the missing database is named, its password masked"
no_secret "a database name holding a password"

# From the environment a password is allowed, but a connection string in
# dbname is not (libpq would take it as a database's name, and the server's
# answer would quote it, password and all).
PGCARRY_SOURCE="host=127.0.0.1 port=$PORT user=postgres dbname='host=127.0.0.1 password=$NESTED_PW'" run_pgcarry ping
is "$RC" 2 "a connection string nested in dbname is refused from PGCARRY_SOURCE: exit 2"
is "$ERR" "pgcarry: error: PGCARRY_SOURCE names a database that is itself a connection string
pgcarry: detail: A dbname holding key=value pairs or a URI is taken as the name of a database, not as connection parameters.
pgcarry: hint: Give the parameters in PGCARRY_SOURCE itself, such as postgresql://user@host:5432/dbname or \"host=H port=P dbname=D user=U\"." \
	"the nested connection string message, pinned"
no_secret "PGCARRY_SOURCE"

# --debug: the SQL each command sends, and no password.
SRC_ENV="postgresql://postgres:$PW@127.0.0.1:$PORT/postgres"
PGPASSFILE=$NO_PGPASS PGCARRY_SOURCE=$SRC_ENV run_pgcarry ping --debug
is "$RC" 0 "ping --debug exits 0"
like "$ERR" "debug: sql \(127\.0\.0\.1:$PORT/postgres\): SET DateStyle = ISO" "ping --debug shows the session settings"
like "$ERR" "debug: sql \(127\.0\.0\.1:$PORT/postgres.*\): SELECT" "ping --debug shows its queries"
unlike "$OUT$ERR" "$PW" "ping --debug shows no password"

PGCARRY_SOURCE=$SRC_ENV run_pgcarry copy --target "$(pg_uri dst)" --progress none --state-dir "$T_TMP/state" --debug app
is "$RC" 0 "copy --debug exits 0"
like "$ERR" "debug: sql \(127\.0\.0\.1:$PORT/app\): COPY (\(SELECT .* FROM ONLY )?\"?public\"?\.\"?items\"?.* TO STDOUT" "copy --debug shows the source's COPY"
like "$ERR" "debug: sql \(127\.0\.0\.1:$(pg_port dst)/app\): COPY \"?public\"?\.\"?items\"?.* FROM STDIN" "copy --debug shows the target's COPY"
like "$ERR" "debug: sql .*SET TRANSACTION SNAPSHOT" "copy --debug shows the snapshot being attached"
unlike "$OUT$ERR" "$PW" "copy --debug shows no password"

PGCARRY_SOURCE=$SRC_ENV run_pgcarry export app --output "$T_TMP/arch" --progress none --debug
is "$RC" 0 "export --debug exits 0"
like "$ERR" "debug: sql \(127\.0\.0\.1:$PORT/app\): COPY .*items.* TO STDOUT" "export --debug shows its COPY"
unlike "$OUT$ERR" "$PW" "export --debug shows no password"

run_pgcarry import --target "dbname='host=127.0.0.1 password=$NESTED_PW'" --input "$T_TMP/arch"
is "$RC" 2 "import refuses a nested password on argv: exit 2"
like "$ERR" "error: --target holds a password" "import names --target"
no_secret "import --target"
pg_sql dst postgres "DROP DATABASE app"
PGCARRY_TARGET="postgresql://postgres:$(pg_password dst)@127.0.0.1:$(pg_port dst)/postgres" \
	run_pgcarry import --input "$T_TMP/arch" --progress none --debug
is "$RC" 0 "import --debug exits 0"
like "$ERR" "debug: sql \(127\.0\.0\.1:$(pg_port dst)/app\): COPY .*items.* FROM STDIN" "import --debug shows its COPY"
unlike "$OUT$ERR" "$(pg_password dst)" "import --debug shows no password"

done_testing
