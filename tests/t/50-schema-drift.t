#!/usr/bin/env bash
# Drift between the files and the history on a real server: an applied
# migration edited, removed, renumbered (reordered), a new file that sorts
# before the last applied one, a history row changed by hand.  status shows
# each one (exit 3, and in JSON), up and down refuse with the way out, and
# repair accepts intended edits.
source "$(dirname "$0")/../lib/harness.sh"

pg_start db
U=$(pg_uri db postgres)
json() { perl -MJSON::PP -0777 -e 'my $d = decode_json(<STDIN>); my $r = eval $ARGV[0]; die $@ if $@; print defined $r ? $r : "null"' "$1"; }
cd "$T_TMP" || bail "no temp dir"
mkdir migrations
printf -- '-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\n-- pgcarry:allow drop-table\nDROP TABLE a;\n' >migrations/001_a.sql
printf -- '-- migrate:up\nCREATE TABLE b (id int);\n-- migrate:down\n-- pgcarry:allow drop-table\nDROP TABLE b;\n' >migrations/002_b.sql
printf -- '-- migrate:up\nCREATE TABLE c (id int);\n-- migrate:down\n-- pgcarry:allow drop-table\nDROP TABLE c;\n' >migrations/003_c.sql
cp -a migrations pristine

run_pgcarry schema up --target "$U"
is "$RC" 0 "three migrations applied"
run_pgcarry schema status --target "$U"
is "$RC" 0 "status clean"

restore() { rm -rf migrations && cp -a pristine migrations; }

# ------------------------------------------------------------ edited
printf -- '-- a harmless comment\n' >>migrations/002_b.sql
run_pgcarry schema status --target "$U"
is "$RC" 3 "status exits 3 on drift"
like "$OUT" "edited +002 +b" "status marks the edited migration"
like "$OUT" "edited: 002_b.sql was edited after it was applied on [0-9T:-]+Z \(checksum [0-9a-f]{12}, applied [0-9a-f]{12}\)" \
	"status says what changed"
run_pgcarry schema status --json --target "$U"
is "$RC" 3 "status --json exits 3 on drift"
is "$(json '$d->{drift}[0]{kind} . " " . $d->{drift}[0]{version}' <<<"$OUT")" "edited 002" "JSON drift entry"
is "$(json '$d->{migrations}[1]{state}' <<<"$OUT")" edited "JSON migration state"

printf -- '-- migrate:up\nCREATE TABLE d (id int);\n' >migrations/004_d.sql
run_pgcarry schema up --target "$U"
is "$RC" 1 "up refuses on drift"
is "$ERR" "pgcarry: error: the migration history of this database does not match the files in migrations
pgcarry: detail: edited: $(grep -o '002_b.sql was edited[^;]*' <<<"$ERR" | head -1 | sed 's/\.$//').
pgcarry: hint: Restore the applied files as they were (for example with git) and put new changes in new migrations; if the change is intended, \"pgcarry schema repair\" accepts the files as they are." \
	"up refusal message, detail and way out"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_class WHERE relname = 'd'")" 0 "nothing applied while drifted"
run_pgcarry schema down --target "$U"
is "$RC" 1 "down refuses on drift too"
like "$ERR" "error: the migration history of this database does not match the files in migrations" "down refusal message"

run_pgcarry schema repair --target "$U"
is "$RC" 0 "repair accepts the edit"
like "$ERR" "accepting 002_b.sql as it is now" "repair says what it accepted"
run_pgcarry schema status --target "$U"
is "$RC" 0 "status clean after repair"
run_pgcarry schema up --target "$U"
is "$RC" 0 "up runs after repair"
run_pgcarry schema down --target "$U"
is "$RC" 1 "down of 004 without a down section fails"
pg_sql db postgres "DROP TABLE d; DELETE FROM pgcarry_schema.migrations WHERE version = '004'"
rm migrations/004_d.sql
cp migrations/002_b.sql pristine/002_b.sql
restore

# ------------------------------------------------------------ removed
rm migrations/003_c.sql
run_pgcarry schema status --target "$U"
is "$RC" 3 "status exits 3 when an applied file is gone"
like "$OUT" "removed +003 +c" "status marks the removed migration"
like "$OUT" "removed: 003_c.sql was applied on [0-9T:-]+Z but is missing from the directory" "status says it is missing"
run_pgcarry schema up --target "$U"
is "$RC" 1 "up refuses when an applied file is gone"
like "$ERR" "detail: removed: 003_c.sql was applied on" "up names the missing file"
restore
run_pgcarry schema status --target "$U"
is "$RC" 0 "status clean once the file is back"
rm migrations/003_c.sql
run_pgcarry schema repair --target "$U"
is "$RC" 0 "repair forgets a migration whose file is gone"
like "$ERR" "warning: forgetting 003_c: its file is gone \(what it changed stays in the database\)" "repair says what it forgot"
run_pgcarry schema status --target "$U"
is "$RC" 0 "status clean after repair"
like "$OUT" "version 002 \(2 applied, 0 pending\)" "history now ends at 002"
pg_sql db postgres "DROP TABLE c"
restore
run_pgcarry schema up --target "$U"
is "$RC" 0 "the file back means the migration is pending again and applies"

# ------------------------------------------------------------ reordered
mv migrations/001_a.sql migrations/tmp && mv migrations/002_b.sql migrations/001_b.sql && mv migrations/tmp migrations/002_a.sql
run_pgcarry schema status --target "$U"
is "$RC" 3 "status exits 3 when applied migrations are renumbered"
like "$OUT" "reordered: 001_a, applied as version 001, is now 002_a.sql: applied migrations were renumbered" "status names the reordering"
run_pgcarry schema up --target "$U"
is "$RC" 1 "up refuses renumbered migrations"
like "$ERR" "hint: Give applied migrations back their versions, and give a new migration a version after the last applied one" \
	"renumbering hint"
run_pgcarry schema repair --target "$U"
is "$RC" 1 "repair does not paper over renumbering"
like "$ERR" "error: repair cannot fix renumbered or out-of-order migrations" "repair refusal message"
restore

# ------------------------------------------------------------ out of order
printf -- '-- migrate:up\nCREATE TABLE late (id int);\n' >migrations/0_late.sql
run_pgcarry schema status --target "$U"
is "$RC" 3 "status exits 3 for a new file older than the last applied one"
like "$OUT" "out-of-order: 0_late.sql is not applied but sorts before 003_c, the last applied migration" "out-of-order message"
run_pgcarry schema up --target "$U"
is "$RC" 1 "up refuses an out-of-order file"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_class WHERE relname = 'late'")" 0 "out-of-order file not applied"
restore

# ------------------------------------------------------------ history changed by hand
pg_sql db postgres "UPDATE pgcarry_schema.migrations SET checksum = repeat('0', 64) WHERE version = '001'"
run_pgcarry schema status --target "$U"
is "$RC" 3 "status exits 3 when the history was edited"
like "$OUT" "history-changed: the history row of 001_a was changed or a row before it was removed: its hash chain does not match" \
	"hash chain break detected"
pg_sql db postgres "UPDATE pgcarry_schema.migrations SET checksum = '$(sha256sum pristine/001_a.sql | cut -c1-64)' WHERE version = '001'"
run_pgcarry schema status --target "$U"
is "$RC" 0 "status clean when the row is right again"
pg_sql db postgres "DELETE FROM pgcarry_schema.migrations WHERE version = '002'"
run_pgcarry schema status --target "$U"
is "$RC" 3 "a deleted history row breaks the chain"
like "$OUT" "history-changed: the history row of 003_c" "the row after the deleted one is named"

done_testing
