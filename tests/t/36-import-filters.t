#!/usr/bin/env bash
# Choosing what import loads: -n/-N/-t/-T and --exclude-database on a whole
# pgcarry archive, judged by pg_dump and pg_restore themselves.  For each
# choice the oracle is pg_dump of the source with the same patterns,
# restored by pg_restore into a server of its own: the tables import loads
# are the TABLE DATA entries pg_restore -l lists, and dbcheck finds the
# target equal (rows, sequences, schema) to what pg_dump | pg_restore made.
# A table left out is neither loaded nor reported; bad patterns and a
# pg_dump file are pinned usage errors.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"


T="--target postgresql://u@127.0.0.1:2/postgres"
usage_is import $T --input "$T_TMP" -t 'a.b.c' -- \
	'invalid table pattern "a.b.c": improper qualified name (too many dotted names)' "import: three-part pattern"
usage_is import $T --input "$T_TMP" -N '"x' -- 'invalid schema pattern ""x": a double quote is not closed' \
	"import: unclosed quote"
usage_is import $T --input "$T_TMP" --exclude-database 'a.b' -- \
	'invalid database pattern "a.b": a dot outside double quotes is not allowed here' "import: database pattern"

pg_start src
pg_start dst
pg_start ora

pg_sql src postgres "CREATE DATABASE shop"
pg_sql src postgres "CREATE DATABASE other"
pg_sql src other "CREATE TABLE t (v int); INSERT INTO t VALUES (1)"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE users (id serial PRIMARY KEY, name text);
CREATE INDEX users_name ON users (name);
COMMENT ON COLUMN users.name IS 'the name';
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 300) g;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, who int REFERENCES users, total int);
INSERT INTO orders (who, total) SELECT 1 + g % 300, g FROM generate_series(1, 500) g;
CREATE TABLE ordinal (n int);
INSERT INTO ordinal SELECT generate_series(1, 10);
CREATE SCHEMA sales;
CREATE FUNCTION sales.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TABLE sales."Q1" (id serial, v text CHECK (v <> ''));
CREATE TRIGGER q1_touch BEFORE INSERT ON sales."Q1" FOR EACH ROW EXECUTE FUNCTION sales.touch();
INSERT INTO sales."Q1" (v) SELECT 'q1-' || g FROM generate_series(1, 40) g;
CREATE TABLE sales.q2 (v text);
INSERT INTO sales.q2 VALUES ('a'), ('b');
CREATE VIEW sales.q2_view AS SELECT v FROM sales.q2;
CREATE TABLE sales.archive_2020 (v text);
INSERT INTO sales.archive_2020 VALUES ('old');
CREATE TABLE sales.users (v text);
INSERT INTO sales.users VALUES ('not the public one');
CREATE SCHEMA "Odd.Schema";
CREATE TABLE "Odd.Schema".t (v int);
INSERT INTO "Odd.Schema".t VALUES (7);
CREATE SCHEMA kinds;
CREATE TYPE kinds.mood AS ENUM ('ok', 'sad');
CREATE TABLE feelings (m kinds.mood);
INSERT INTO feelings VALUES ('ok');
CREATE SCHEMA audit;
CREATE TABLE audit.log (v text);
INSERT INTO audit.log VALUES ('x');
SELECT lo_from_bytea(0, 'a large object: pg_dump leaves it out of a choice');
SQL

run_pgcarry export --source "$(pg_uri src)" --progress none --output "$T_TMP/arch" shop other
is "$RC" 0 "the whole archive is written"
[ "$RC" = 0 ] || diag "$ERR"

# oracle PATTERN-ARGS...: PostgreSQL's own tools' result for the same
# choice, in shop on server ora (dbcheck_pgdump_choice); ORACLE_TABLES.
oracle() { dbcheck_pgdump_choice src ora shop "$@"; }

# check NAME PATTERN-ARGS...: import shop with the options, then judge it.
check() {
	local name=$1
	shift
	pg_sql dst postgres "DROP DATABASE IF EXISTS shop"
	run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/arch" --progress none "$@" shop
	is "$RC" 0 "$name: import exits 0"
	[ "$RC" = 0 ] || diag "$OUT$ERR"
	oracle "$@"
	is "$(dbcheck_tables_of dst shop)" "$ORACLE_TABLES" "$name: the tables loaded are those pg_dump dumps"
	local out
	out=$(dbcheck_compare ora dst shop 2>&1)
	is "$?" 0 "$name: the target equals pg_dump | pg_restore of the same choice"
	[ -z "$out" ] || diag "$out"
}

check "schemas, one excluded table" -n sales -n '"Odd.Schema"' -T 'sales.archive_*'
like "$OUT" "shop: 4 tables, 1 sequence: all equal" "the verification covers the chosen tables"
unlike "$OUT" "archive_2020|audit.log|public.users" "the report leaves out what was not chosen"
like "$OUT" 'imported database "shop": 4 tables' "the summary counts the chosen tables"
check "tables, unqualified and wildcards" -t users -t 'ORD?RS' -t 'public.ordinal'
unlike "$OUT" "sales|audit|Odd" "the report says nothing of the tables left out"
check "excluded schemas" -N sales -N audit -N '"Odd.Schema"' -T orders
is "$(pg_sql dst shop "SELECT count(*) FROM pg_largeobject_metadata")" 1 \
	"exclusions alone keep the large objects, as pg_dump does"

# A chosen table that cannot be created (its type is in a schema left out,
# as pg_dump -t leaves it out) is a failure, named, never a silent omission.
pg_sql dst postgres "DROP DATABASE IF EXISTS shop"
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/arch" --progress none -t feelings shop
is "$RC" 1 "a chosen table that cannot be created: exit 1"
like "$ERR" 'could not create TABLE feelings' "the table that could not be created is named"
like "$OUT" 'shop table public.feelings: not loaded' "the report counts it as not loaded"

# pg_restore's own -n (exact schema names, every object of the schema) on a
# full pg_dump: the same result as import -n.
pg_sql dst postgres "DROP DATABASE IF EXISTS shop"
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/arch" --progress none -n audit shop
is "$RC" 0 "-n audit: import exits 0"
PGPASSFILE=$NO_PGPASS "$PG_BINDIR/pg_dump" -Fc -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres \
	-f "$T_TMP/full.dump" shop || bail "pg_dump failed"
pg_sql ora postgres "DROP DATABASE IF EXISTS shop"
pg_sql ora postgres "CREATE DATABASE shop"
pg_sql ora shop "CREATE SCHEMA audit"  # pg_restore -n leaves the schema itself out
PGPASSFILE=$NO_PGPASS "$PG_BINDIR/pg_restore" -n audit -h "$(pg_sockdir ora)" -p "$(pg_port ora)" -U postgres \
	-d shop "$T_TMP/full.dump" 2>"$T_TMP/restore.err" || { cat "$T_TMP/restore.err" >&2; bail "pg_restore failed"; }
out=$(dbcheck_compare ora dst shop 2>&1)
is "$?" 0 "-n audit: the target equals pg_restore -n audit of a full dump"
[ -z "$out" ] || diag "$out"

# --exclude-database: the other database is not loaded, nor named.
pg_sql dst postgres "DROP DATABASE IF EXISTS shop"
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/arch" --progress none --exclude-database 'oth*'
is "$RC" 0 "--exclude-database: import exits 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
is "$(pg_sql dst postgres "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname IN ('shop', 'other')")" \
	"shop" "--exclude-database: only the other databases are loaded"
unlike "$OUT" '"other"' "--exclude-database: the excluded database is not reported"
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/arch" --progress none --exclude-database '*'
is "$RC" 1 "--exclude-database of everything: exit 1"
is "$(grep -m1 'error' <<<"$ERR")" "pgcarry: error: no database of the archive is left to import" \
	"--exclude-database of everything: message"

# A pg_dump file: the filters are refused, naming pg_restore's own way.
usage_is import --target "$(pg_uri dst)" --input "$T_TMP/full.dump" --db x -t users -- \
	"-n, -N, -t, -T and --exclude-database work with pgcarry archives only; for a pg_dump file use pg_restore's own --list and --use-list" \
	"filters on a pg_dump file"

done_testing
