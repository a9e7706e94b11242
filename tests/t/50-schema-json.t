#!/usr/bin/env bash
# schema plan --json and schema lint --json: one JSON document each, with
# the same statements, locks, verdicts and findings as the text output,
# checked against the server's catalog (the locked tables exist in
# pg_class, with the sizes and row estimates it has), against the
# migration file itself (lines and columns) and against psql (a syntax
# error's line and column); exit statuses as without --json.
source "$(dirname "$0")/../lib/harness.sh"

cd "$T_TMP" || bail "no temp dir"
pg_start db
pg_sql db postgres "CREATE DATABASE app"
U=$(pg_uri db app)
# A small application: organisations and their users, analyzed.
pg_sql db app "CREATE TABLE orgs (id int PRIMARY KEY);
INSERT INTO orgs SELECT g FROM generate_series(1, 300) g;
CREATE TABLE users (id int PRIMARY KEY, org int, email text NOT NULL, name text);
INSERT INTO users SELECT g, g % 300 + 1, 'u' || g || '@example.org', 'n' || g FROM generate_series(1, 5000) g;
ANALYZE"

# perl one-liners over the JSON document on stdin
jq_pl() { perl -MJSON::PP -e 'my $d = JSON::PP->new->decode(join "", <STDIN>); '"$1" <<<"$2"; }

mkdir m
cat >m/1_org.sql <<'SQL'
-- migrate:up
ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES orgs (id) NOT VALID;
  CREATE INDEX users_name ON users (name);
-- pgcarry:allow set-not-null the application never writes NULL names
ALTER TABLE users ALTER COLUMN name SET NOT NULL;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
CREATE TABLE audit (id int);
-- migrate:down
DROP INDEX users_name;
SQL

# ------------------------------------------------------------ plan --json against plan's text and the catalog
run_pgcarry schema plan --dir m --target "$U"
is "$RC" 0 "plan exits 0"
text_plan=$OUT
run_pgcarry schema plan --json --dir m --target "$U"
is "$RC" 0 "plan --json exits 0 as plan does"
json_plan=$OUT
is "$(jq_pl 'print ref $d' "$json_plan")" HASH "plan --json prints one JSON document"

# The text's two lines per statement: "line N  SQL" then "KIND; lock L; EFFECT; ...".
want=$(perl -ne 'if (/^  line (\d+)/) { $l = $1 } elsif ($l && /^\s+([^;]+); lock ([^;]+); ([^;]+);/) { print "$l|$1|$2|$3\n"; $l = 0 }' <<<"$text_plan")
got=$(jq_pl 'for my $m (@{$d->{migrations}}) { print "$_->{line}|$_->{kind}|$_->{lock}|$_->{effect_text}\n" for @{$m->{statements}} }' "$json_plan")
is "$got" "$want" "plan --json: each statement's line, kind, lock and effect as the text shows them"
is "$(wc -l <<<"$got")" 5 "(five statements)"
is "$(jq_pl 'print join ",", map { "$_->{file}:$_->{version}:$_->{name}" } @{$d->{migrations}}' "$json_plan")" "1_org.sql:1:org" \
	"plan --json names the pending migration"
# Lines and columns, from the file itself: where each statement's first word stands.
want=$(awk '/^ *(ALTER|CREATE)/ { match($0, /[A-Z]/); print NR ":" RSTART }' m/1_org.sql)
got=$(jq_pl 'print "$_->{line}:$_->{column}\n" for @{$d->{migrations}[0]{statements}}' "$json_plan")
is "$got" "$want" "plan --json: each statement's line and column as they stand in the file"

# Locks: every locked table exists in pg_class, with the size and row estimate the catalog has.
got=$(jq_pl 'for my $s (@{$d->{migrations}[0]{statements}}) { print "$s->{line}|$_->{table}|$_->{mode}|" . ($_->{referenced} ? "ref" : "own") . "|$_->{size_bytes}|$_->{rows_estimate}|$_->{size}\n" for @{$s->{locks}} }' "$json_plan")
want=""
while IFS='|' read -r line table mode kind bytes rows pretty; do
	want+="$line|$table|$mode|$kind|$(pg_sql db app "SELECT pg_total_relation_size(oid) || '|' || reltuples::bigint || '|' || pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class WHERE oid = to_regclass('$table')")"$'\n'
done <<<"$got"
is "$got" "${want%$'\n'}" "plan --json: each locked table is in pg_class, with its size and row estimate"
is "$(cut -d'|' -f1-4 <<<"$got" | tr '\n' ' ')" "2|users|SHARE ROW EXCLUSIVE|own 2|orgs|SHARE ROW EXCLUSIVE|ref 3|users|SHARE|own 5|users|ACCESS EXCLUSIVE|own 6|users|ACCESS EXCLUSIVE|own " \
	"plan --json: the foreign key locks the referenced table too; CREATE TABLE of a new table locks none"
# What the server locks for the foreign key, as pg_locks shows it.
locks=$(pg_sql db app "BEGIN; ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES orgs (id) NOT VALID;
SELECT string_agg(relation::regclass || ' ' || mode, ', ' ORDER BY relation::regclass::text) FROM pg_locks
WHERE pid = pg_backend_pid() AND relation IN ('users'::regclass, 'orgs'::regclass) AND mode <> 'AccessShareLock'; ROLLBACK")
is "$locks" "orgs ShareRowExclusiveLock, users ShareRowExclusiveLock" "(pg_locks: the server takes SHARE ROW EXCLUSIVE on both)"
is "$(jq_pl 'my $s = $d->{migrations}[0]{statements}; print join ",", map { ($_->{in_transaction} ? "tx" : "notx") . ":" . ($_->{table} // "-") } @$s' "$json_plan")" \
	"tx:users,tx:users,tx:users,tx:users,tx:audit" "plan --json: the table and whether it runs in the transaction"

# Verdicts as the text gives them: DANGER, acknowledged, safe here.
want=$(perl -ne 'if (/^  line (\d+)/) { $l = $1 } elsif (/^\s+(DANGER|acknowledged|safe here \(([^)]*)\)) ([a-z-]+): (.*)$/) { print "$l|" . ($1 eq "DANGER" ? "error" : "allowed") . "|" . ($2 // "") . "|$3|$4\n" }' <<<"$text_plan")
got=$(jq_pl 'for my $s (@{$d->{migrations}[0]{statements}}) { print "$s->{line}|$_->{severity}|" . ($_->{safe_because} // "") . "|$_->{rule}|$_->{message}\n" for @{$s->{findings}} }' "$json_plan")
is "$got" "$want" "plan --json: the verdicts of the text"
is "$(jq_pl 'print join ",", map { "$_->{line}:$_->{rule}:" . ($_->{allowed_by} // "no") } map { @{$_->{findings}} } @{$d->{migrations}[0]{statements}}' "$json_plan")" \
	"3:index-not-concurrent:no,5:set-not-null:directive,6:set-not-null:catalog" \
	"plan --json: allowed by a directive, by the catalog (users.email is NOT NULL there), or not"

# ------------------------------------------------------------ lint --json against lint's text
for tgt in "" "--target $U"; do
	# shellcheck disable=SC2086
	run_pgcarry schema lint --verbose --dir m $tgt
	text_rc=$RC
	want=$(perl -ne 'print "$1|$2|$3|" . ($4 ? "allowed" : "error") . "|$5\n" if /^([^: ]+):(\d+): ([a-z-]+)( \(acknowledged\))?: (.*)$/' <<<"$OUT")
	want_fix=$(sed -n 's/^\([0-9]*\) findings* to fix or acknowledge, \([0-9]*\) acknowledged.*/\1|\2/p' <<<"$OUT")
	# shellcheck disable=SC2086
	run_pgcarry schema lint --json --dir m $tgt
	is "$RC" "$text_rc" "lint --json ${tgt:+with --target }exits $text_rc as lint does"
	got=$(jq_pl 'print "$_->{file}|$_->{line}|$_->{rule}|$_->{severity}|$_->{message}\n" for @{$d->{findings}}' "$OUT")
	is "$got" "$want" "lint --json ${tgt:+with --target }has the findings of the text, allowed or not"
	is "$(jq_pl 'print "$d->{to_fix}|$d->{allowed}"' "$OUT")" "$want_fix" "lint --json ${tgt:+with --target }counts as the text does"
done
is "$text_rc" 1 "(lint with --target still finds the index built without CONCURRENTLY)"
want=$(awk '/^-- migrate:down/ { down = 1 } /^ *(ALTER|CREATE|DROP)/ { match($0, /[A-Z]/); print NR ":" RSTART ":" (down ? "down" : "up") }' m/1_org.sql)
got=$(jq_pl 'print join("\n", map { "$_->{line}:$_->{column}:$_->{section}" } @{$d->{findings}}), "\n"' "$OUT" | sort -u)
is "$(grep -xF -f <(echo "$got") <<<"$want")" "$got" "lint --json: each finding's line and column are its statement's in the file"
is "$(jq_pl 'print join ",", map { "$_->{rule}:" . ($_->{allowed} ? 1 : 0) . ":" . ($_->{allowed_by} // "-") . ":" . ($_->{safe_because} // "-") } @{$d->{findings}}' "$OUT")" \
	"index-not-concurrent:0:-:-,set-not-null:1:directive:-,set-not-null:1:catalog:the column is already NOT NULL" \
	"lint --json says which finding a pgcarry:allow directive allowed, and which the catalog proves safe"
like "$(jq_pl 'print $d->{findings}[0]{advice}' "$OUT")" "CONCURRENTLY" "lint --json gives the safe way"

mkdir clean
printf -- '-- migrate:up\nCREATE TABLE t (id int);\n' >clean/1_t.sql
run_pgcarry schema lint --json --dir clean
is "$RC" 0 "lint --json without findings exits 0"
is "$(jq_pl 'print scalar(@{$d->{findings}}), "|$d->{files}|", defined $d->{error} ? "error" : "null"' "$OUT")" "0|1|null" \
	"lint --json without findings: an empty list, one file, no error"

# ------------------------------------------------------------ a syntax error as JSON, where psql sees it
mkdir syn
printf -- '-- migrate:up\nCREATE TABLE audit (id int);\n\n  ALTER TABL users ADD COLUMN note text;\n' >syn/1_typo.sql
# psql's report of the same file (in one transaction that rolls back):
# "psql:FILE:LINE: ERROR: ..." then the statement's line and a caret under
# the place; the caret's column is counted in the file's own line.
where=$(pg_psql db app -1 -f syn/1_typo.sql 2>&1 | perl -ne '
	$line = $1 if /^psql:[^:]*:(\d+): ERROR:  syntax error/;
	if (/^LINE 1: (.*)$/) { $text = $1 } elsif (defined $text && /^( *)\^/) { $caret = length($1) - 8 + 1; $text = undef }
	END { open my $f, "<", "syn/1_typo.sql"; my @l = <$f>; my ($lead) = $l[$line - 1] =~ /^(\s*)/; print "$line:", $caret + length($lead) }')
server_line=${where%%:*}
server_col=${where##*:}
for verb in plan lint; do
	run_pgcarry schema "$verb" --json --dir syn
	is "$RC" 1 "$verb --json exits 1 on a syntax error"
	is "$(jq_pl 'my $e = $d->{error}; print join "|", @$e{qw(file line column message)}' "$OUT")" \
		"1_typo.sql|$server_line|$server_col|migration file 1_typo.sql:$server_line:$server_col: syntax error at or near \"TABL\"" \
		"$verb --json: the syntax error's file, line and column are psql's"
	like "$ERR" "error: migration file 1_typo.sql:$server_line:$server_col: syntax error" "$verb --json: the error is logged too"
done
is "$server_line:$server_col" "4:9" "(psql: line 4, column 9)"
mkdir quote
printf -- "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n" >quote/1_twice.sql
run_pgcarry schema plan --json --dir quote
is "$RC" 1 "plan --json on a file with two up sections exits 1"
is "$(jq_pl 'my $e = $d->{error}; print join "|", map { $_ // "null" } @$e{qw(file line column)}' "$OUT")" "1_twice.sql|3|null" \
	"plan --json: a malformed file's error names the file and the line of the second section"
like "$ERR" "error: migration file 1_twice.sql has more than one \"-- migrate:up\" line \(line 3\)" "(the message names line 3)"
run_pgcarry schema lint --json --dir nosuchdir
is "$RC" 1 "lint --json on a missing directory exits 1"
is "$(jq_pl 'my $e = $d->{error}; print join "|", map { $_ // "null" } @$e{qw(file line message hint)}' "$OUT")" \
	"null|null|migration directory \"nosuchdir\" does not exist|Create it with \"pgcarry schema init\", or point --dir at it." \
	"lint --json: an error that names no file"

# ------------------------------------------------------------ --json only where it exists
run_pgcarry schema up --json --target "$U" --dir m
is "$RC" 2 "--json with up is a usage error"
is "$ERR" 'pgcarry: error: --json is only for "schema status", "schema plan" and "schema lint"
Try "pgcarry schema --help" for more information.' "the usage error names the verbs that take --json"

done_testing
