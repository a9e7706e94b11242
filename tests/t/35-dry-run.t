#!/usr/bin/env bash
# copy --dry-run: connects, runs every check, prints the plan and exits 0
# (would work) or 1 (would fail), writing nothing anywhere: the target's
# databases and roles (read with psql) and the state directory and the
# temporary directory (read with ls) are the same after it as before.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"
chmod 777 "$TMPDIR"

pg_sql src postgres "CREATE DATABASE shop"
pg_sql src postgres "CREATE DATABASE extra"
pg_sql src postgres "CREATE ROLE app_owner"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 200) g;
CREATE TABLE orders (id int, total int);
ALTER TABLE orders OWNER TO app_owner;
CREATE SCHEMA audit;
CREATE TABLE audit.log (v text);
SQL
pg_sql dst postgres "CREATE DATABASE extra"
pg_sql dst extra "CREATE TABLE already_here (a int)"

# snapshot: what a dry run must leave alone, from outside pgcarry
snapshot() {
	pg_sql dst postgres "SELECT datname FROM pg_database ORDER BY 1"
	pg_sql dst postgres "SELECT rolname FROM pg_roles ORDER BY 1"
	pg_sql dst extra "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1"
	ls -A "$TMPDIR"
	ls -A "$STATE" 2>&1
}
before=$(snapshot)
COPY=(copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --state-dir "$STATE" --progress none --dry-run)

run_pgcarry "${COPY[@]}" shop -N audit
is "$RC" 0 "dry run of a copy that would work: exit 0"
[ "$RC" = 0 ] || diag "$ERR"
like "$OUT" 'database "shop": would be created' "the plan says the database would be created"
like "$OUT" "table public.users  [0-9]+ bytes" "the plan lists a chosen table with its size"
unlike "$OUT" "audit.log" "the plan leaves out an excluded table"
like "$OUT" 'role "app_owner" is missing on the target' "the plan names a role missing on the target"
like "$OUT" "pg_dump and pg_restore from .* \(version [0-9]+\)" "the plan names the pg_dump it would use"
like "$OUT" "The copy would work" "the plan ends with its verdict"
is "$(snapshot)" "$before" "nothing written: target databases, roles, state and temporary directories unchanged"

run_pgcarry "${COPY[@]}" shop extra
is "$RC" 1 "dry run of a copy that would be refused: exit 1"
like "$OUT" 'database "extra": refused' "the plan says which database would be refused"
like "$ERR" 'error: database "extra" already exists on the target and holds objects \(relation public.already_here\)' \
	"the refusal is the copy's own message"
like "$OUT" "The copy would fail: 1 problem" "the plan's verdict counts the problem"
is "$(snapshot)" "$before" "a refused dry run writes nothing either"

run_pgcarry "${COPY[@]}" --clean extra
is "$RC" 0 "dry run with --clean: exit 0"
like "$OUT" 'database "extra": would be dropped and created again' "--clean: the plan says it would recreate"
is "$(snapshot)" "$before" "--clean in a dry run drops nothing"

# A tablespace the target lacks: the copy would fail on it.
mkdir -p "$T_TMP/ts1"
[ "$(id -u)" = 0 ] && chown postgres "$T_TMP/ts1"
pg_sql src postgres "CREATE TABLESPACE ts1 LOCATION '$T_TMP/ts1'"
pg_sql src shop "CREATE TABLE spaced (a int) TABLESPACE ts1"
run_pgcarry "${COPY[@]}" shop
is "$RC" 1 "dry run with a tablespace missing on the target: exit 1"
like "$ERR" 'error: database "shop" needs tablespaces "ts1", which the target does not have' \
	"the missing tablespace is named"
like "$ERR" "hint: Create the tablespaces on the target first" "with the way out"
is "$(snapshot)" "$before" "nothing written"

# --exclude-database: the databases --all leaves out are those pg_dumpall
# leaves out with the same pattern.
pg_sql src postgres 'CREATE DATABASE "Shop2"'
run_pgcarry "${COPY[@]}" --all --exclude-database 'sho*' --exclude-database '"Shop2"' --clean
is "$RC" 0 "dry run of --all --exclude-database: exit 0"
[ "$RC" = 0 ] || diag "$ERR"
planned=$(sed -nE 's/^database "([^"]*)": .*/\1/p' <<<"$OUT" | LC_ALL=C sort)
dumped=$(PGPASSFILE=$NO_PGPASS "$PG_BINDIR/pg_dumpall" -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres \
	--schema-only --exclude-database 'sho*' --exclude-database '"Shop2"' |
	sed -nE -e "s/^[\\]connect .*dbname='([^']*)'.*/\\1/p" -e 's/^[\]connect "?([^" ]*)"?$/\1/p' |
	grep -v '^template1$' | LC_ALL=C sort -u)
is "$planned" "$dumped" "the databases planned are those pg_dumpall dumps with the same exclusions"
run_pgcarry copy --source x --target y --exclude-database 'x' shop
is "$RC" 2 "--exclude-database without --all: exit 2"
is "$(head -1 <<<"$ERR")" "pgcarry: error: --exclude-database works with --all only" \
	"--exclude-database without --all: message"

# export --dry-run: the plan, and no archive.
run_pgcarry export --source "$(pg_uri src)" --progress none --dry-run -N audit --output "$T_TMP/arch" shop
is "$RC" 0 "export --dry-run: exit 0"
[ "$RC" = 0 ] || diag "$ERR"
like "$OUT" "table public.users  [0-9]+ bytes" "export --dry-run: the plan lists a chosen table"
unlike "$OUT" "audit.log" "export --dry-run: the plan leaves out an excluded table"
is "$(ls -A "$T_TMP" | grep -c '^arch')" 0 "export --dry-run: no archive written"
mkdir "$T_TMP/full" && touch "$T_TMP/full/x"
run_pgcarry export --source "$(pg_uri src)" --dry-run --output "$T_TMP/full" shop
is "$RC" 1 "export --dry-run into a non-empty directory: exit 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: output directory \"$T_TMP/full\" is not empty" \
	"export --dry-run: the export's own refusal"
is "$(ls -A "$T_TMP/full")" "x" "export --dry-run: the directory is left as it was"
is "$(snapshot)" "$before" "nothing written anywhere by the export dry runs"

run_pgcarry copy --source x --target y --dry-run --resume shop
is "$RC" 2 "--dry-run with --resume: exit 2"
is "$(head -1 <<<"$ERR")" "pgcarry: error: --dry-run cannot be used with --resume yet" "--dry-run with --resume: message"

done_testing
