#!/usr/bin/env bash
# import --rename OLD=NEW: a database of the archive loaded under another
# name, verified there; the old name is not created.  dbcheck judges the
# renamed database against the source, once renamed back by the server;
# the database's own settings, comment and privileges are the source's
# (read from its catalog), applied to the new name.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"


T="--target postgresql://u@127.0.0.1:2/postgres"
usage_is import $T --input "$T_TMP" --rename shop -- \
	'--rename needs OLD=NEW (a database and its new name), not "shop"' "--rename without ="
usage_is import $T --input "$T_TMP" --rename =x -- \
	'--rename needs OLD=NEW (a database and its new name), not "=x"' "--rename without OLD"
usage_is import $T --input "$T_TMP" --rename a=b --rename a=c -- \
	'--rename gives database "a" two new names' "--rename twice"
usage_is import $T --input "$T_TMP" --rename a=b --db c -- \
	'--db and --rename cannot be used together: --rename OLD=NEW names both' "--rename with --db"

pg_start src
pg_start dst
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src postgres "CREATE DATABASE extra"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 300) g;
CREATE SCHEMA sales;
CREATE TABLE sales.q (v text);
INSERT INTO sales.q VALUES ('a'), ('b');
SELECT lo_from_bytea(0, 'an object');
SQL
pg_psql src postgres >/dev/null <<'SQL' || bail "could not set shop's properties"
CREATE ROLE clerk;
COMMENT ON DATABASE shop IS 'the shop';
ALTER DATABASE shop SET work_mem = '7MB';
ALTER DATABASE shop SET search_path = sales, public;
REVOKE ALL ON DATABASE shop FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE shop TO clerk;
SQL
pg_sql dst postgres "CREATE ROLE clerk"
# props SERVER DB: the database's comment, settings and privileges.
props() {
	pg_sql "$1" postgres "SELECT shobj_description(d.oid, 'pg_database'), datacl,
		(SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = d.oid AND setrole = 0)
		FROM pg_database d WHERE datname = '$2'"
}
pg_sql src extra "CREATE TABLE e (a int); INSERT INTO e VALUES (1)"
run_pgcarry export --source "$(pg_uri src)" --progress none --output "$T_TMP/arch" shop extra
is "$RC" 0 "the archive is written"

IMPORT=(import --target "$(pg_uri dst)" --input "$T_TMP/arch" --progress none)
run_pgcarry "${IMPORT[@]}" --dry-run --rename shop=shop_copy
is "$RC" 0 "dry run with --rename: exit 0"
like "$OUT" 'database "shop_copy" \("shop" in the archive\): would be created' "the plan names the new name"

run_pgcarry "${IMPORT[@]}" --rename shop=shop_copy --rename extra=extra_2
is "$RC" 0 "import with --rename: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
like "$OUT" 'imported database "shop_copy": 2 tables, 302 rows' "the report names the new database"
like "$OUT" 'shop_copy: 2 tables, 1 sequence, 1 large object: all equal' "the verification is of the new database"
is "$(props dst shop_copy)" "$(props src shop)" "the source's settings, comment and privileges are the new name's"
unlike "$ERR" 'are not applied' "with no warning that they are not"
is "$(pg_sql dst postgres "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname IN ('shop', 'extra', 'shop_copy', 'extra_2')")" \
	"extra_2,shop_copy" "only the new names exist on the target"
pg_sql dst postgres "ALTER DATABASE shop_copy RENAME TO shop"
pg_sql dst postgres "ALTER DATABASE extra_2 RENAME TO extra"
out=$(dbcheck_compare src dst shop 2>&1)
is "$?" 0 "the renamed database holds what the source does"
[ -z "$out" ] || diag "$out"
out=$(dbcheck_compare src dst extra 2>&1)
is "$?" 0 "so does the other one"
[ -z "$out" ] || diag "$out"

# A difference in the renamed database is found there.
pg_sql dst postgres "ALTER DATABASE shop RENAME TO shop_copy"
run_pgcarry "${IMPORT[@]}" --rename shop=shop_copy shop
is "$RC" 1 "a second import into the renamed database is refused"
like "$ERR" 'database "shop_copy" on the target already holds objects' "the refusal names the new name"

run_pgcarry "${IMPORT[@]}" --rename nosuch=x
is "$RC" 2 "--rename of a database the archive lacks: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'--rename nosuch=x names a database that is not in the archive' "its message"
run_pgcarry "${IMPORT[@]}" --rename extra=x shop
is "$RC" 2 "--rename of a database not imported: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'--rename extra=x names a database that is not being imported' "its message"
run_pgcarry "${IMPORT[@]}" --rename shop=extra
is "$RC" 2 "--rename onto another database's name: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'databases "shop" and "extra" would both be imported into "extra"' "its message"

done_testing
