#!/usr/bin/env bash
# import --dry-run: reads the archive, connects, runs every check an import
# makes before it writes, prints the plan and exits 0 (would work) or 1
# (would fail), writing nothing anywhere: the target's databases, roles,
# settings and objects (read with psql), the archive and the temporary
# directory (read with ls and sha256sum) are the same after it as before.
# The import itself then does what the plan said.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"
chmod 777 "$TMPDIR"

pg_sql src postgres "CREATE ROLE app_owner"
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src postgres "CREATE DATABASE extra"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 200) g;
CREATE TABLE orders (id int, total int);
INSERT INTO orders SELECT g, g FROM generate_series(1, 50) g;
ALTER TABLE orders OWNER TO app_owner;
CREATE SCHEMA audit;
CREATE TABLE audit.log (v text);
SQL
pg_sql src extra "CREATE TABLE e (a int)"
run_pgcarry export --source "$(pg_uri src)" --progress none --output "$T_TMP/arch" shop extra
is "$RC" 0 "the archive is written"
run_pgcarry export --source "$(pg_uri src)" --progress none --format tar --output "$T_TMP/arch.tar" extra
PGPASSFILE=$NO_PGPASS "$PG_BINDIR/pg_dump" -Fc -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres \
	-f "$T_TMP/extra.dump" extra || bail "pg_dump failed"

pg_sql dst postgres "CREATE DATABASE extra"
pg_sql dst extra "CREATE TABLE already_here (a int)"

# snapshot: what a dry run must leave alone, from outside pgcarry
snapshot() {
	pg_sql dst postgres "SELECT datname FROM pg_database ORDER BY 1"
	pg_sql dst postgres "SELECT rolname FROM pg_roles ORDER BY 1"
	pg_sql dst postgres "SELECT setdatabase, setconfig FROM pg_db_role_setting ORDER BY 1"
	pg_sql dst extra "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1"
	ls -A "$TMPDIR"
	(cd "$T_TMP/arch" && find . -type f | LC_ALL=C sort | xargs sha256sum)
}
before=$(snapshot)
IMPORT=(import --target "$(pg_uri dst)" --input "$T_TMP/arch" --progress none)

run_pgcarry "${IMPORT[@]}" --dry-run shop
is "$RC" 1 "dry run with a role missing: exit 1"
like "$OUT" 'database "shop": would be created' "the plan says the database would be created"
like "$ERR" 'error: database "shop" needs roles "app_owner", which the target does not have' \
	"the missing owner is named"
like "$ERR" 'hint: Import the roles too \(--roles\), or load without owners \(--no-owner\)' "with the way out"
like "$OUT" "The import would fail: 1 problem" "the verdict counts the problem"
is "$(snapshot)" "$before" "nothing written"

run_pgcarry "${IMPORT[@]}" --dry-run --no-owner shop
is "$RC" 0 "dry run that would work: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
like "$OUT" "pg_restore from .* \(version [0-9]+\)" "the plan names the pg_restore it would use"
like "$OUT" "3 tables \(250 rows, [0-9]+ bytes in the archive\), 1 sequences, 0 large objects" \
	"the plan sums up the tables"
like "$OUT" "table public.users  200 rows  [0-9]+ bytes" "the plan lists a table with its rows and size"
like "$OUT" "The import would work" "the plan ends with its verdict"
is "$(snapshot)" "$before" "nothing written: databases, roles, settings, archive and temporary directory unchanged"

run_pgcarry "${IMPORT[@]}" --dry-run --no-owner -N audit shop
is "$RC" 0 "dry run with -N: exit 0"
unlike "$OUT" "audit.log" "the plan leaves out an excluded table"
like "$OUT" "2 tables \(250 rows" "the plan counts the chosen tables only"

run_pgcarry "${IMPORT[@]}" --dry-run --no-owner extra
is "$RC" 1 "dry run of an import that would be refused: exit 1"
like "$OUT" 'database "extra": refused' "the plan says which database would be refused"
refusal=$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')
is "$refusal" 'database "extra" on the target already holds objects' "the refusal is pinned"
run_pgcarry "${IMPORT[@]}" --dry-run --no-owner --clean extra
is "$RC" 0 "dry run with --clean: exit 0"
like "$OUT" 'database "extra": would be dropped and created again' "--clean: the plan says it would recreate"
is "$(snapshot)" "$before" "a refused dry run, and --clean in a dry run, write nothing"

# The import does what the plans said.
run_pgcarry "${IMPORT[@]}" --no-owner extra
is "$RC" 1 "the import the plan refused is refused"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" "$refusal" "with the same message"
run_pgcarry "${IMPORT[@]}" --no-owner shop
is "$RC" 0 "the import the plan passed works"
is "$(pg_sql dst shop "SELECT count(*) FROM users")" 200 "and loads the rows"
pg_sql dst shop "ALTER DATABASE shop SET pgcarry.import = 'unfinished'"
run_pgcarry "${IMPORT[@]}" --dry-run --no-owner shop
is "$RC" 1 "dry run into an unfinished import: exit 1"
like "$ERR" 'error: database "shop" on the target holds an unfinished import' "the unfinished import is named"
run_pgcarry "${IMPORT[@]}" --dry-run --no-owner --resume shop
is "$RC" 0 "dry run with --resume: exit 0"
like "$OUT" 'database "shop": holds an unfinished import: would be resumed' "--resume: the plan says it would resume"

usage_is import --target "$(pg_uri dst)" --input "$T_TMP/extra.dump" --db x --dry-run -- \
	"--dry-run works with pgcarry archives only; pg_restore --list shows what a pg_dump file holds" \
	"--dry-run of a pg_dump file"
usage_is import --target "$(pg_uri dst)" --input "$T_TMP/arch.tar" --dry-run -- \
	"--dry-run reads an archive directory, not a tar (it would have to be unpacked): check a tar with pgcarry verify-archive" \
	"--dry-run of a tar"
is "$(ls -A "$TMPDIR")" "" "no temporary file left by any dry run"

done_testing
