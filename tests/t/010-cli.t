#!/usr/bin/env bash
# The command line: help, version, unknown options, bad values, passwords on
# argv refused, environment fallbacks.  No server needed.
source "$(dirname "$0")/../lib/harness.sh"

run_pgcarry --help
is "$RC" 0 "--help exits 0"
like "$OUT" "^pgcarry moves and evolves PostgreSQL databases" "--help opens with what pgcarry is"
like "$OUT" "copy +copy databases from a source server" "--help lists copy"
like "$OUT" "Exit status: 0 success, 1 failure, 2 usage error, 3 verification found a difference" "--help documents exit statuses"

run_pgcarry --version
is "$RC" 0 "--version exits 0"
like "$OUT" "^pgcarry [0-9]+\.[0-9]+\.[0-9]+$" "--version prints the version"

run_pgcarry
is "$RC" 2 "no command is a usage error"

run_pgcarry frobnicate
is "$RC" 2 "unknown command exits 2"
is "$ERR" 'pgcarry: error: unknown command "frobnicate"
Try "pgcarry --help" for more information.' "unknown command message"

run_pgcarry --frob
is "$RC" 2 "unknown global option exits 2"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: unrecognized option "--frob" before the command' "unknown global option message"

run_pgcarry ping --help
is "$RC" 0 "ping --help exits 0"
like "$OUT" "pgcarry ping --source URI" "ping --help shows usage"

run_pgcarry help ping
is "$RC" 0 "help ping exits 0"
like "$OUT" "pgcarry ping --source URI" "help ping shows ping's help"

run_pgcarry ping --bogus
is "$RC" 2 "unknown option exits 2"
is "$ERR" 'pgcarry: error: unrecognized option "--bogus"
Try "pgcarry ping --help" for more information.' "unknown option message"

run_pgcarry ping -Z
is "$RC" 2 "unknown short option exits 2"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: unrecognized option "-Z"' "unknown short option message"

run_pgcarry ping --source
is "$RC" 2 "missing option value exits 2"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: option --source needs a value' "missing value message"

run_pgcarry ping
is "$RC" 2 "ping without a server exits 2"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: give --source or --target (or set PGCARRY_SOURCE or PGCARRY_TARGET)' "ping without a server message"

run_pgcarry ping --source 'postgresql://alice:hunter2-cli@db.example:5432/app'
is "$RC" 2 "password in a URI on argv exits 2"
is "$ERR" 'pgcarry: error: --source holds a password, and passwords are not accepted on the command line
pgcarry: detail: Every user of this machine can read a program'"'"'s command line.
pgcarry: hint: Remove the password from --source and put it in PGPASSWORD, ~/.pgpass or a service file (PGSERVICE).' "password on argv message"
unlike "$OUT$ERR" "hunter2-cli" "the refused password is not repeated"

run_pgcarry ping --target 'host=db.example password=hunter2-kv'
is "$RC" 2 "password in key=value on argv exits 2"
like "$ERR" "--target holds a password" "key=value password refused"
unlike "$OUT$ERR" "hunter2-kv" "the key=value password is not repeated"

run_pgcarry ping --source 'host=db.example password'
is "$RC" 2 "malformed connection string exits 2"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: --source is not a valid connection URI or key=value string' "malformed connection string message"

run_pgcarry ping --source x --log-format yaml
is "$RC" 2 "bad --log-format exits 2"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: --log-format must be "text" or "json", not "yaml"' "bad --log-format message"

run_pgcarry ping --source x --connect-timeout 0
is "$RC" 2 "bad --connect-timeout exits 2"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: --connect-timeout must be a whole number from 1 to 3600, not "0"' "bad --connect-timeout message"

run_pgcarry ping --source x extra
is "$RC" 2 "stray argument exits 2"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: unexpected argument "extra"' "stray argument message"

run_pgcarry ping --source "host=127.0.0.1 port=1 user=nobody" --log-format json
is "$RC" 1 "unreachable server exits 1"
like "$ERR" '^\{"time":"[0-9T:.-]+Z","level":"error","message":"could not connect to the source server 127.0.0.1:1/nobody: Connection refused"' "json log line for a refused connection"

done_testing
