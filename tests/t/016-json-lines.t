#!/usr/bin/env bash
# Every line pgcarry writes on stderr honours --log-format json: each
# command run with it, in a success and a failure path, leaves nothing on
# stderr that is not one JSON object per line, each with a level and a
# message (the server's own notices and warnings included: an auditing
# event trigger on the target); stdout keeps the reports.
SRC_DIR=$(cd "$(dirname "$0")/../../src" && pwd)
source "$(dirname "$0")/../lib/harness.sh"

# No line reaches stderr around the log: only the log module writes there
# (and the allocation wrapper's out-of-memory message, which cannot
# allocate a log line).
stray=$(cd "$SRC_DIR" && grep -rnE 'fprintf\(stderr|fputs\([^;]*stderr|perror\(|fwrite\([^;]*stderr|write\(STDERR_FILENO|write\(2,' \
	--include='*.c' . | grep -vE '^\./util/(log|xalloc)\.c:')
is "$stray" "" "no source file writes to stderr except through the log"

pg_start src
pg_start dst
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src shop "CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 500) g"
S=$(pg_uri src)
D=$(pg_uri dst)
cd "$T_TMP" || bail "no temp dir"

# Lines of stderr that are not a JSON object with a level and a message.
not_json() {
	perl -MJSON::PP -ne 'my $o = eval { JSON::PP->new->decode($_) };
		print unless ref $o eq "HASH" && defined $o->{level} && defined $o->{message}' <<<"$1"
}
# json_run WANT_RC WHAT ARGS...: runs pgcarry ARGS with --log-format json.
json_run() {
	local want=$1 what=$2
	shift 2
	run_pgcarry "$@" --log-format json
	is "$RC" "$want" "$what exits $want"
	is "$(not_json "$ERR")" "" "$what: every stderr line is a JSON object"
}

json_run 0 "ping" ping --source "$S" --verbose
json_run 1 "ping of a server that is down" ping --source "postgresql://postgres@127.0.0.1:$(free_port)/postgres"
json_run 0 "copy" copy --verbose --source "$S" --target "$D" --state-dir "$T_TMP/state" shop
json_run 1 "copy of a missing database" copy --source "$S" --target "$D" --state-dir "$T_TMP/state2" nosuchdb
json_run 1 "copy into a database that holds data" copy --source "$S" --target "$D" --state-dir "$T_TMP/state3" shop
json_run 0 "copy --clean (the target's notices too)" copy --clean --verbose --source "$S" --target "$D" --state-dir "$T_TMP/state4" shop
pg_sql dst shop "DELETE FROM items WHERE id = 7"
json_run 3 "compare that finds a difference" compare --verbose --source "$S" --target "$D" shop
json_run 0 "export" export --verbose --source "$S" --output "$T_TMP/arch" shop
json_run 0 "verify-archive" verify-archive --verbose "$T_TMP/arch"
json_run 1 "export into an archive that exists" export --source "$S" --output "$T_TMP/arch" shop
pg_sql dst postgres "DROP DATABASE shop"
json_run 0 "import" import --verbose --target "$D" --input "$T_TMP/arch"
json_run 1 "import of a missing archive" import --target "$D" --input "$T_TMP/nosuch"
data=$(find "$T_TMP/arch" -name '*.zst' | head -1)
printf 'x' >>"$data"
json_run 3 "verify-archive of a damaged archive" verify-archive "$T_TMP/arch"

U=$(pg_uri dst shop)
# An auditing event trigger on the target: its warnings reach pgcarry's
# control connections, which must log them, not let libpq print them raw.
pg_sql dst shop "CREATE FUNCTION audit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE WARNING 'ddl audited: %', tg_tag; END \$\$;
CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION audit_ddl()"
json_run 0 "schema init" schema init --dir mig --target "$U"
like "$ERR" '"level":"warning","message":"server WARNING: ddl audited: CREATE SCHEMA"' "schema init: the event trigger's warning is a JSON log line"
json_run 0 "schema init again" schema init --dir mig --target "$U"
json_run 0 "schema new" schema new add_note --dir mig
file=$(ls mig/*.sql)
printf -- '-- migrate:up\nALTER TABLE items ADD COLUMN note text;\nDO $$ BEGIN RAISE NOTICE $q$hello from the migration$q$; END $$;\n-- migrate:down\n-- pgcarry:allow drop-column added just above\nALTER TABLE items DROP COLUMN note;\n' >"$file"
json_run 0 "schema lint" schema lint --verbose --dir mig
json_run 0 "schema plan" schema plan --dir mig --target "$U"
json_run 0 "schema up" schema up --verbose --dir mig --target "$U"
like "$ERR" '"message":"server NOTICE: hello from the migration"' "schema up: the migration's notice is a JSON log line"
json_run 0 "schema status" schema status --dir mig --target "$U"
json_run 0 "schema down" schema down --dir mig --target "$U"
printf -- '-- migrate:up\nALTER TABL items ADD COLUMN x int;\n' >mig/99_bad.sql
json_run 1 "schema lint of a file with a syntax error" schema lint --dir mig
json_run 1 "schema up of a file with a syntax error" schema up --dir mig --target "$U"
json_run 2 "a usage error" schema up --bogus
json_run 2 "follow status without --source" follow status --target "$D"

done_testing
