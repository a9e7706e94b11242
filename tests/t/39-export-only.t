#!/usr/bin/env bash
# export --schema-only and --data-only: partial archives with a manifest of
# their own kind (with -n/-N/-t/-T, and --all --exclude-database), directory
# and tar (a file, and standard output into standard input).  Oracles, none of them pgcarry's: the source's catalog
# for the tables a schema-only manifest lists; pg_dump --schema-only |
# pg_restore for what a schema-only archive imports into; pg_dump |
# pg_restore for what a data-only archive loads into tables that
# pg_dump --schema-only | pg_restore made (tests/lib/dbcheck.sh compares).
# verify-archive and import hold each kind to what it promises, and an
# edited "content" field never lets a damaged archive pass.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

S="--source postgresql://u@127.0.0.1:2/postgres"
usage_is export $S --output "$T_TMP/x" --schema-only --data-only shop -- \
	"--schema-only and --data-only cannot be used together" "export --schema-only --data-only"
usage_is export $S --output "$T_TMP/x" --exclude-database 'x*' shop -- \
	"--exclude-database works with --all only" "export --exclude-database without --all"

pg_start src
pg_start dst
pg_start ora
pg_sql src postgres "CREATE DATABASE shop"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE users (id serial PRIMARY KEY, name text, shout text GENERATED ALWAYS AS (upper(name)) STORED);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 300) g;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, who int REFERENCES users, total int);
INSERT INTO orders (who, total) SELECT 1 + g % 300, g FROM generate_series(1, 500) g;
CREATE INDEX orders_who ON orders (who);
CREATE TABLE events (at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events SELECT date '2025-06-01' + g, 'e' || g FROM generate_series(1, 400) g;
CREATE SCHEMA sales;
CREATE TABLE sales.q (v text);
INSERT INTO sales.q VALUES ('a'), ('b');
CREATE SEQUENCE sales.counter;
SELECT setval('sales.counter', 42);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 250;
SELECT lo_from_bytea(0, 'an object');
SQL
SRC=(--source "$(pg_uri src)" --progress none)
IMPORT=(import --target "$(pg_uri dst)" --progress none)
# The tables that hold rows, from the source's catalog.
CATALOG_TABLES=$(pg_sql src shop "SELECT n.nspname || '.' || c.relname FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'
	AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1" | LC_ALL=C sort)
manifest_tables() { jq -r '.databases[].tables[] | .schema + "." + .name' "$1/manifest.json" | LC_ALL=C sort; }
# relabel DIR CONTENT VERSION: edits the manifest's kind (CONTENT "" drops it).
relabel() {
	local f=$1/manifest.json
	if [ -n "$2" ]; then
		jq --arg c "$2" --argjson v "$3" '.content = $c | .format_version = $v' "$f" >"$f.new"
	else
		jq --argjson v "$3" 'del(.content) | .format_version = $v' "$f" >"$f.new"
	fi
	mv "$f.new" "$f"
}

# ------------------------------------------------------------ schema-only
run_pgcarry export "${SRC[@]}" --schema-only --output "$T_TMP/so" shop
is "$RC" 0 "export --schema-only: exit 0"
[ "$RC" = 0 ] || diag "$ERR"
is "$(jq -r '.content + " " + (.format_version | tostring)' "$T_TMP/so/manifest.json")" "schema-only 2" \
	"the manifest says schema-only, format version 2"
is "$(manifest_tables "$T_TMP/so")" "$CATALOG_TABLES" "it lists the source catalog's tables"
is "$(jq '[.databases[].tables[] | select(has("rows") or has("checksum") or has("parts"))] | length' \
	"$T_TMP/so/manifest.json")" 0 "with no rows, checksums or data files"
is "$(jq -c '[.databases[0].sequences, .databases[0].sequences_file, .databases[0].large_objects]' \
	"$T_TMP/so/manifest.json")" '[[],null,null]' "no sequence values and no large objects (as pg_dump --schema-only)"
is "$(cd "$T_TMP/so" && find . -type f ! -name '*.json' | sort)" "./databases/01-shop/schema.dump" \
	"the schema dump is its only file"
run_pgcarry verify-archive "$T_TMP/so"
is "$RC" 0 "verify-archive of the schema-only archive: exit 0"
like "$OUT" "archive .* is whole \(schema only\): 1 database, 5 tables" "it says what kind it checked"

run_pgcarry export "${SRC[@]}" --output "$T_TMP/so" --resume shop
is "$RC" 1 "export --resume without --schema-only into the complete schema-only archive: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	"archive \"$T_TMP/so\" is complete, and schema-only: it is not the whole archive asked for" "its message"
run_pgcarry export "${SRC[@]}" --output "$T_TMP/so" --resume --schema-only shop
is "$RC" 0 "with --schema-only: exit 0"
like "$ERR" "is already complete: nothing to resume" "nothing to do"
run_pgcarry export "${SRC[@]}" --schema-only --dry-run --output "$T_TMP/so-dry" shop
is "$RC" 0 "export --schema-only --dry-run: exit 0"
like "$OUT" 'database "shop": would be exported \(schema only: no rows\)' "the plan says schema only"

run_pgcarry "${IMPORT[@]}" --input "$T_TMP/so" --data-only
is "$RC" 2 "import --data-only of a schema-only archive: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	"archive \"$T_TMP/so\" is schema-only: it holds no rows for --data-only" "its message"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop'")" 0 "nothing was created"

run_pgcarry "${IMPORT[@]}" --input "$T_TMP/so"
is "$RC" 0 "import of the schema-only archive: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
dbcheck_pgdump_choice src ora shop --schema-only
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "the target equals pg_dump --schema-only | pg_restore"
[ -z "$out" ] || diag "$out"
is "$(pg_sql dst shop "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM events)")" 0 "its tables are empty"

run_pgcarry export "${SRC[@]}" --schema-only --format tar --output "$T_TMP/so.tar" shop
is "$RC" 0 "export --schema-only --format tar: exit 0"
is "$(tar -tf "$T_TMP/so.tar" | grep -v '/$' | LC_ALL=C sort | tr '\n' ' ')" "databases/01-shop/schema.dump manifest.json " \
	"the tar holds the schema dump and the manifest"
run_pgcarry verify-archive "$T_TMP/so.tar"
is "$RC" 0 "verify-archive of the schema-only tar: exit 0"

# --all --exclude-database: the source's databases (its catalog) but those.
pg_sql src postgres "CREATE DATABASE post_office"
run_pgcarry export "${SRC[@]}" --schema-only --all --exclude-database 'post*' --output "$T_TMP/so-all"
is "$RC" 0 "export --schema-only --all --exclude-database 'post*': exit 0"
[ "$RC" = 0 ] || diag "$ERR"
is "$(jq -r '.databases[].name' "$T_TMP/so-all/manifest.json" | LC_ALL=C sort | tr '\n' ' ')" \
	"$(pg_sql src postgres "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate
		AND datname NOT LIKE 'post%' ORDER BY 1" | LC_ALL=C sort | tr '\n' ' ')" "the databases not excluded"
run_pgcarry export "${SRC[@]}" --all --exclude-database '*' --output "$T_TMP/none"
is "$RC" 1 "export --all --exclude-database '*': exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" "no database of the source is left to export" "its message"
pg_sql src postgres "DROP DATABASE post_office"

# With a filter, and as a tar on standard output read from standard input.
pg_sql dst postgres "DROP DATABASE shop"
run_pgcarry_pipe export "${SRC[@]}" --schema-only -n sales --format tar --output - shop \
	'|' "${IMPORT[@]}" --input -
is "$RC" "0 0" "export --schema-only -n sales --output - | import --input -: both exit 0"
[ "$RC" = "0 0" ] || diag "$ERR1$ERR"
dbcheck_pgdump_choice src ora shop --schema-only -n sales
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "the target equals pg_dump --schema-only -n sales | pg_restore"
[ -z "$out" ] || diag "$out"

# -------------------------------------------------------------- data-only
run_pgcarry export "${SRC[@]}" --data-only --output "$T_TMP/do" shop
is "$RC" 0 "export --data-only: exit 0"
[ "$RC" = 0 ] || diag "$ERR"
is "$(jq -r '.content + " " + (.format_version | tostring)' "$T_TMP/do/manifest.json")" "data-only 2" \
	"the manifest says data-only, format version 2"
is "$(manifest_tables "$T_TMP/do")" "$CATALOG_TABLES" "it lists the source catalog's tables"
run_pgcarry verify-archive "$T_TMP/do"
is "$RC" 0 "verify-archive of the data-only archive: exit 0"
like "$OUT" "archive .* is whole \(data only\): 1 database, 5 tables" "it says what kind it checked"

run_pgcarry "${IMPORT[@]}" --input "$T_TMP/do" --schema-only
is "$RC" 2 "import --schema-only of a data-only archive: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	"archive \"$T_TMP/do\" is data-only: it cannot be imported with --schema-only" "its message"
run_pgcarry "${IMPORT[@]}" --input "$T_TMP/do" --clean
is "$RC" 2 "import --clean of a data-only archive: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	"archive \"$T_TMP/do\" is data-only: it loads into tables that exist, and cannot be imported with --clean" \
	"its message"
pg_sql dst postgres "DROP DATABASE shop"
run_pgcarry "${IMPORT[@]}" --input "$T_TMP/do"
is "$RC" 1 "import of a data-only archive into a missing database: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" 'database "shop" does not exist on the target' \
	"with import --data-only's message"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop'")" 0 "and nothing created"

dbcheck_pgdump_choice src dst shop --schema-only
run_pgcarry "${IMPORT[@]}" --input "$T_TMP/do" --dry-run
is "$RC" 0 "import --dry-run of the data-only archive: exit 0"
like "$OUT" 'database "shop": exists with the tables, empty: the rows would be loaded' "it plans a data-only load"
run_pgcarry "${IMPORT[@]}" --input "$T_TMP/do"
is "$RC" 0 "import of the data-only archive into pg_dump --schema-only's tables: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
like "$OUT" "shop: 5 tables, 3 sequences, 1 large object: all equal" "verified against the archive"
dbcheck_pgdump_choice src ora shop
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "the target equals pg_dump | pg_restore"
[ -z "$out" ] || diag "$out"
run_pgcarry "${IMPORT[@]}" --input "$T_TMP/do"
is "$RC" 1 "again, into tables that hold rows: exit 1"
like "$ERR" 'already holds rows in 5 of the archive' "with import --data-only's refusal"

# A filter, and a tar file.
run_pgcarry export "${SRC[@]}" --data-only -t users -t orders --format tar --output "$T_TMP/do.tar" shop
is "$RC" 0 "export --data-only -t users -t orders --format tar: exit 0"
is "$(tar -tf "$T_TMP/do.tar" | grep -c plan.json)" 0 "a partial tar has no plans"
run_pgcarry verify-archive "$T_TMP/do.tar"
is "$RC" 0 "verify-archive of the data-only tar: exit 0"
dbcheck_pgdump_choice src dst shop --schema-only -t users -t orders
run_pgcarry "${IMPORT[@]}" --input "$T_TMP/do.tar"
is "$RC" 0 "import of the data-only tar: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
dbcheck_pgdump_choice src ora shop -t users -t orders
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "the target equals pg_dump -t users -t orders | pg_restore"
[ -z "$out" ] || diag "$out"

# The whole data-only archive as a tar on standard output, read from
# standard input (kept whole in the private directory: it has no plans).
dbcheck_pgdump_choice src dst shop --schema-only
run_pgcarry_pipe export "${SRC[@]}" --data-only --format tar --output - shop '|' "${IMPORT[@]}" --input -
is "$RC" "0 0" "export --data-only --output - | import --input -: both exit 0"
[ "$RC" = "0 0" ] || diag "$ERR1$ERR"
dbcheck_pgdump_choice src ora shop
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "the target equals pg_dump | pg_restore"
[ -z "$out" ] || diag "$out"

# ------------------------------------------- an edited kind never passes
run_pgcarry export "${SRC[@]}" --output "$T_TMP/whole" shop
is "$RC" 0 "a whole archive"
cp -a "$T_TMP/whole" "$T_TMP/w2so"
relabel "$T_TMP/w2so" schema-only 2
run_pgcarry verify-archive "$T_TMP/w2so"
is "$RC" 3 "a whole archive relabelled schema-only: verify-archive exit 3"
like "$ERR" 'table public.users of database "shop" has data in the manifest, but the archive is schema-only' \
	"each table with data named"
like "$ERR" 'database "shop" has sequence values in the manifest, but the archive is schema-only' "and the sequences"
pg_sql dst postgres "DROP DATABASE IF EXISTS shop"
run_pgcarry "${IMPORT[@]}" --input "$T_TMP/w2so"
is "$RC" 1 "import of it: exit 1"
like "$ERR" 'has data in the manifest, but the archive is schema-only' "with the same finding"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop'")" 0 "nothing was created"

# A whole tar (its plans load it as it arrives) relabelled data-only: the
# plans give it away before anything is verified; nothing is left.
run_pgcarry export "${SRC[@]}" --format tar --output "$T_TMP/whole.tar" shop
is "$RC" 0 "a whole tar"
mkdir "$T_TMP/forge"
tar -xf "$T_TMP/whole.tar" -C "$T_TMP/forge"
relabel "$T_TMP/forge" data-only 2
(cd "$T_TMP/forge" && tar -cf "$T_TMP/forged.tar" --no-recursion $(tar -tf "$T_TMP/whole.tar" | grep -v '/$'))
pg_sql dst postgres "DROP DATABASE IF EXISTS shop"
run_pgcarry "${IMPORT[@]}" --input "$T_TMP/forged.tar"
is "$RC" 1 "import of a whole tar relabelled data-only: exit 1"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	"archive \"$T_TMP/forged.tar\" is data-only, but its tar stream has a plan for database \"shop\"" "its message"
is "$(pg_sql dst postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop'")" 0 \
	"the database its plan created is dropped again"

cp -a "$T_TMP/so" "$T_TMP/so2w"
relabel "$T_TMP/so2w" "" 1
run_pgcarry verify-archive "$T_TMP/so2w"
is "$RC" 3 "a schema-only archive relabelled whole: verify-archive exit 3"
like "$ERR" 'table public.users of database "shop" has no data file in the manifest' "each table without data named"

cp -a "$T_TMP/so" "$T_TMP/so2do"
relabel "$T_TMP/so2do" data-only 2
run_pgcarry verify-archive "$T_TMP/so2do"
is "$RC" 3 "a schema-only archive relabelled data-only: verify-archive exit 3"

# A data-only archive that lost a data file fails as whole, as data-only,
# and as schema-only.
f=$(jq -r '.databases[0].tables[0].parts[0].file' "$T_TMP/do/manifest.json")
for kind in data-only whole schema-only; do
	rm -rf "$T_TMP/dmg"
	cp -a "$T_TMP/do" "$T_TMP/dmg"
	rm "$T_TMP/dmg/$f"
	case $kind in
		whole) relabel "$T_TMP/dmg" "" 1 ;;
		*) relabel "$T_TMP/dmg" "$kind" 2 ;;
	esac
	run_pgcarry verify-archive "$T_TMP/dmg"
	is "$RC" 3 "a data-only archive without $f, labelled $kind: verify-archive exit 3"
	like "$ERR" "archive file \"$f\" is missing|has data in the manifest, but the archive is schema-only" \
		"labelled $kind: the damage is named"
done

cp -a "$T_TMP/so" "$T_TMP/sov1"
jq '.format_version = 1' "$T_TMP/so/manifest.json" >"$T_TMP/sov1/manifest.json"
run_pgcarry verify-archive "$T_TMP/sov1"
is "$RC" 3 "a schema-only manifest with format version 1: exit 3"
like "$ERR" 'the archive.s manifest.json is malformed' "malformed"
like "$ERR" '\$.format_version: a schema-only or data-only archive has format version 2' "the field named"
cp -a "$T_TMP/so" "$T_TMP/sobad"
jq '.content = "most"' "$T_TMP/so/manifest.json" >"$T_TMP/sobad/manifest.json"
run_pgcarry verify-archive "$T_TMP/sobad"
is "$RC" 3 "an unknown content: exit 3"
like "$ERR" '\$.content: expected "whole", "schema-only" or "data-only"' "the field named"

done_testing
