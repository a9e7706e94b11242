#!/usr/bin/env bash
# pgcarry ping against a real server: version, databases, rights; a wrong
# password, a missing database, an unknown role, a refused port; the
# environment fallback; a password typed nowhere but PGPASSWORD.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_sql src postgres "CREATE DATABASE accounts"
pg_sql src postgres "CREATE ROLE reader LOGIN PASSWORD 'reader-pw-9f2'"
echo "reader-pw-9f2" >>"$TEST_LOG_DIR/.passwords"

run_pgcarry ping --source "$(pg_uri src)"
is "$RC" 0 "ping exits 0"
like "$OUT" "source server 127.0.0.1:$(pg_port src)/postgres" "names the server"
like "$OUT" "version +PostgreSQL [0-9]+\.[0-9]+" "prints the version"
like "$OUT" "role +postgres \(superuser\)" "prints the role"
like "$OUT" "read every table: yes; create databases: yes; create roles: yes; read role passwords: yes" "superuser has every right"
like "$OUT" "accounts +[0-9]+ [kMG]?B +UTF8" "lists databases with sizes"
unlike "$OUT" "template0" "templates are not listed"

PGCARRY_SOURCE="$(pg_uri src)" run_pgcarry ping
is "$RC" 0 "PGCARRY_SOURCE is the fallback for --source"

run_pgcarry ping --target "$(pg_uri src)"
is "$RC" 0 "ping --target works"
like "$OUT" "^target server" "target side named"

# A non-superuser sees what it lacks.
PGPASSWORD=reader-pw-9f2 run_pgcarry ping --source "postgresql://reader@127.0.0.1:$(pg_port src)/postgres"
is "$RC" 0 "ping as a plain role exits 0"
like "$OUT" "read every table: no; create databases: no; create roles: no" "plain role's rights"
like "$ERR" 'warning: role "reader" may not be able to read every table of the source' "warns about missing read rights"

# Wrong password, through PGPASSWORD (PGPASSFILE would give the right one).
PGPASSWORD=wrong-pw-77x PGPASSFILE=$NO_PGPASS run_pgcarry ping --source "$(pg_uri src)"
echo "wrong-pw-77x" >>"$TEST_LOG_DIR/.passwords"
is "$RC" 1 "wrong password exits 1"
is "$ERR" "pgcarry: error: could not connect to the source server 127.0.0.1:$(pg_port src)/postgres: password authentication failed for user \"postgres\"
pgcarry: hint: Check the password in PGPASSWORD, ~/.pgpass or the service file; passwords are never read from the command line." "wrong password message"

# No password at all and no terminal to ask on.
PGPASSFILE=$NO_PGPASS run_pgcarry ping --source "$(pg_uri src)"
is "$RC" 1 "missing password exits 1"
like "$ERR" "could not connect to the source server .*: (fe_sendauth: )?no password supplied" "missing password message"

run_pgcarry ping --source "$(pg_uri src nosuchdb)"
is "$RC" 1 "missing database exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: database \"nosuchdb\" does not exist on the source server 127.0.0.1:$(pg_port src)/nosuchdb" "missing database message"

run_pgcarry ping --source "postgresql://ghost@127.0.0.1:$(pg_port src)/postgres"
is "$RC" 1 "unknown role exits 1"
like "$ERR" "could not connect to the source server" "unknown role message"

port=$(free_port)
start=$(date +%s%N)
PGCARRY_CONNECT_RETRIES=2 run_pgcarry ping --source "postgresql://postgres@127.0.0.1:$port/postgres" --verbose
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$RC" 1 "refused connection exits 1"
like "$ERR" "could not connect to the source server 127.0.0.1:$port/postgres: Connection refused" "refused connection message"
is "$(grep -c 'retrying in' <<<"$ERR")" 2 "refused connections are retried with backoff"
ok $([ "$ms" -ge 250 ] && echo 0 || echo 1) "backoff waits between attempts (${ms} ms)"

# The session settings pgcarry relies on for stable text output.
pg_sql src postgres "ALTER DATABASE accounts SET DateStyle = 'SQL, DMY'"
run_pgcarry ping --source "$(pg_uri src accounts)"
is "$RC" 0 "ping works on a database with odd session defaults"

# A password typed at the prompt: asked on the terminal, not echoed, used.
sock=tmux-$$
pw=$(pg_password src)
pgcarry_cmdline ping --source "$(pg_uri src)"
tmux -L "$sock" new-session -d -x 200 -y 40 \
	"env PGPASSFILE=$NO_PGPASS PGCARRY_CONNECT_RETRIES=0 $PGCARRY_CMDLINE; echo EXIT=\$?; sleep 60"
screen=""
for _ in $(seq 1 100); do
	screen=$(tmux -L "$sock" capture-pane -p 2>/dev/null)
	grep -q "Password for the source server" <<<"$screen" && break
	sleep 0.1
done
like "$screen" "Password for the source server \(127.0.0.1:$(pg_port src)/postgres\):" "prompts for the password on the terminal"
tmux -L "$sock" send-keys "$pw" Enter
for _ in $(seq 1 100); do
	screen=$(tmux -L "$sock" capture-pane -p -S -100 2>/dev/null)
	grep -q "EXIT=" <<<"$screen" && break
	sleep 0.1
done
tmux -L "$sock" kill-server 2>/dev/null
printf '%s\n' "$screen" >"$TEST_LOG_DIR/$T_NAME.prompt-screen"
pgcarry_cmdline_end "$screen"
like "$screen" "EXIT=0" "the typed password is used"
like "$screen" "version +PostgreSQL" "ping output follows the prompt"
unlike "$screen" "$pw" "the typed password is not echoed"

done_testing
