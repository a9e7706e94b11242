#!/usr/bin/env bash
# Quiet means quiet, JSON means JSON: -q leaves stderr empty on success
# (copy, compare, export, import); with --log-format json every stderr line
# is a JSON object, usage errors included, wherever the option stands; -?
# is help; ping --json, checked against the server's own catalog.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src shop "CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 2000) g"

all_json() { perl -MJSON::PP -ne 'eval { JSON::PP->new->decode($_); 1 } or print' <<<"$1"; }

# -? is help, for pgcarry and for each command.
for cmd in "" ping copy compare export import verify-archive schema "schema status"; do
	run_pgcarry $cmd -?
	is "$RC" 0 "pgcarry $cmd -? exits 0"
	like "$OUT" "Usage:|Options:" "pgcarry $cmd -? prints the help"
done

# Usage errors honour --log-format json, before or after the bad option.
run_pgcarry copy --bogus --log-format json
is "$RC" 2 "a bad option exits 2"
is "$(all_json "$ERR")" "" "a usage error with --log-format json after it: JSON only"
like "$ERR" '"level":"error","message":"unrecognized option \\"--bogus\\"","hint":"Try \\"pgcarry copy --help\\" for more information."' \
	"the --help pointer is the JSON object's hint"
run_pgcarry export --log-format=json --jobs 0
is "$RC" 2 "a bad value exits 2"
is "$(all_json "$ERR")" "" "a bad value with --log-format=json before it: JSON only"
run_pgcarry nosuchcommand --log-format json
is "$(all_json "$ERR")" "" "an unknown command with --log-format json: JSON only"
like "$ERR" '"hint":"Try \\"pgcarry --help\\" for more information."' "the pointer names pgcarry --help"
run_pgcarry ping --bogus
is "$ERR" 'pgcarry: error: unrecognized option "--bogus"
Try "pgcarry ping --help" for more information.' "text usage errors are unchanged"

# -q: nothing on stderr when all goes well.
run_pgcarry copy -q --source "$(pg_uri src)" --target "$(pg_uri dst)" --state-dir "$T_TMP/state" shop
is "$RC" 0 "copy -q exits 0"
is "$ERR" "" "copy -q: stderr is empty"
like "$OUT" "every object equal" "copy -q: the report is still on stdout"
run_pgcarry compare -q --source "$(pg_uri src)" --target "$(pg_uri dst)" shop
is "$RC" 0 "compare -q exits 0"
is "$ERR" "" "compare -q: stderr is empty"
run_pgcarry export -q --source "$(pg_uri src)" --output "$T_TMP/arch" shop
is "$RC" 0 "export -q exits 0"
is "$ERR" "" "export -q: stderr is empty (no \"export finished\")"
pg_sql dst postgres "DROP DATABASE shop"
run_pgcarry import -q --target "$(pg_uri dst)" --input "$T_TMP/arch"
is "$RC" 0 "import -q exits 0"
is "$ERR" "" "import -q: stderr is empty"

# A whole copy with --log-format json: stderr holds JSON objects only.
pg_sql dst postgres "DROP DATABASE shop"
run_pgcarry copy --log-format json --verbose --source "$(pg_uri src)" --target "$(pg_uri dst)" --state-dir "$T_TMP/state" shop
is "$RC" 0 "copy --log-format json exits 0"
is "$(all_json "$ERR")" "" "copy --log-format json: every stderr line is JSON, progress lines included"

# ping --json, against what the server says of itself.
run_pgcarry ping --json --source "$(pg_uri src)"
is "$RC" 0 "ping --json exits 0"
is "$(all_json "$(tr -d '\n' <<<"$OUT")")" "" "ping --json prints one JSON document"
got=$(perl -MJSON::PP -e 'my $d = JSON::PP->new->decode(join "", <STDIN>); my $s = $d->{servers}[0];
	print join("|", $d->{ok} ? "ok" : "bad", $s->{side}, $s->{server}, $s->{version_num}, $s->{role},
		$s->{superuser} ? "super" : "plain", $s->{rights}{read_every_table} ? "read" : "noread",
		join(",", map { "$_->{name}:$_->{size_bytes}:$_->{encoding}:$_->{owner}" } @{$s->{databases}}))' <<<"$OUT")
want="ok|source|127.0.0.1:$(pg_port src)/postgres|$(pg_sql src postgres "SHOW server_version_num")|postgres|super|read|$(pg_sql src postgres \
	"SELECT string_agg(datname || ':' || pg_database_size(oid) || ':' || pg_encoding_to_char(encoding) || ':' || pg_get_userbyid(datdba), ',' ORDER BY datname)
	 FROM pg_database WHERE NOT datistemplate AND datallowconn")"
is "$got" "$want" "ping --json: server, version, role, rights and databases as the server's catalog has them"
run_pgcarry ping --json --source "$(pg_uri src)" --target "postgresql://postgres@127.0.0.1:$(free_port)/postgres"
is "$RC" 1 "ping --json with a server down exits 1"
is "$(perl -MJSON::PP -e 'my $d = JSON::PP->new->decode(join "", <STDIN>); print join("|", $d->{ok} ? 1 : 0, map { "$_->{side}:" . ($_->{ok} ? 1 : 0) . ":" . ($_->{error} // "") } @{$d->{servers}})' <<<"$OUT" | sed -E 's/:[0-9]+\/postgres/:PORT\/postgres/')" \
	"0|source:1:|target:0:could not connect to the target server 127.0.0.1:PORT/postgres: Connection refused" \
	"ping --json names the server that did not answer, with the reason"

done_testing
