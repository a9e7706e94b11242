#!/usr/bin/env bash
# copy --rename OLD=NEW: a source database copied into a target database of
# another name, verified there; the old name is not created on the target;
# a copy killed with -9 resumes under the new name.  dbcheck judges the
# renamed database against the source, once renamed back by the server.
#
# The target server runs with pgcarry_test.slow = on (as 30-copy-resume.t):
# a domain check sleeps 3 ms per row there, so table "slow" loads for
# seconds and the copy can be killed mid-way.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"


E="--source postgresql://u@127.0.0.1:1/postgres --target postgresql://u@127.0.0.1:2/postgres"
usage_is copy $E --rename shop shop -- \
	'--rename needs OLD=NEW (a database and its new name), not "shop"' "--rename without ="
usage_is copy $E --rename =x shop -- \
	'--rename needs OLD=NEW (a database and its new name), not "=x"' "--rename without OLD"
usage_is copy $E --rename a=b --rename a=c a -- \
	'--rename gives database "a" two new names' "--rename twice"
usage_is copy $E --rename a=b --follow a -- \
	'--rename cannot be used with --follow yet' "--rename with --follow"

pg_start src
pg_start dst "pgcarry_test.slow = on"
STATE=$T_TMP/state
pg_sql src postgres "CREATE DATABASE shop"
pg_sql src postgres "CREATE DATABASE extra"
pg_psql src shop >/dev/null <<'SQL' || bail "could not fill shop"
CREATE FUNCTION slow_ok(int) RETURNS bool LANGUAGE sql AS
  $$SELECT CASE WHEN current_setting('pgcarry_test.slow', true) = 'on' THEN pg_sleep(0.003) IS NOT NULL ELSE true END$$;
CREATE DOMAIN slow_int AS int CHECK (slow_ok(VALUE));
CREATE TABLE slow (id slow_int PRIMARY KEY, pad text);
INSERT INTO slow SELECT g, md5(g::text) FROM generate_series(1, 800) g;
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 300) g;
CREATE SCHEMA sales;
CREATE TABLE sales.q (v text);
INSERT INTO sales.q VALUES ('a'), ('b');
SELECT lo_from_bytea(0, 'an object');
COMMENT ON DATABASE shop IS 'the shop';
SQL
pg_sql src extra "CREATE TABLE e (a int); INSERT INTO e VALUES (1)"

COPY=(copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE")
target_dbs() {
	pg_sql dst postgres "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname IN ('shop', 'extra', 'shop_copy', 'extra_2')"
}

run_pgcarry "${COPY[@]}" --dry-run --rename shop=shop_copy shop
is "$RC" 0 "dry run with --rename: exit 0"
like "$OUT" 'database "shop_copy" \("shop" on the source\): would be created' "the plan names the new name"
is "$(target_dbs)" "" "the dry run created nothing"

# Bad input, refused before anything is written.
run_pgcarry "${COPY[@]}" --rename nosuch=x shop
is "$RC" 2 "--rename of a database the source lacks: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'--rename nosuch=x names a database that is not on the source' "its message"
run_pgcarry "${COPY[@]}" --rename extra=x shop
is "$RC" 2 "--rename of a database not copied: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'--rename extra=x names a database that is not being copied' "its message"
run_pgcarry "${COPY[@]}" --rename shop=extra shop extra
is "$RC" 2 "--rename onto another database's name: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" \
	'databases "shop" and "extra" would both be copied into "extra"' "its message"
is "$(target_dbs)" "" "refused runs created nothing"

# kill -9 mid-copy, then --resume with the same --rename finishes.
slow_loading="SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry' AND datname = 'shop_copy' AND query LIKE 'COPY \"public\".\"slow\" %FROM STDIN%'"
pgcarry_start "${COPY[@]}" --jobs 2 --verbose --rename shop=shop_copy --rename extra=extra_2 shop extra
for _ in $(seq 1 300); do
	[ "$(pg_sql dst postgres "$slow_loading" 2>/dev/null)" = 1 ] && break
	sleep 0.1
done
is "$(pg_sql dst postgres "$slow_loading")" 1 "the slow table loads into the new name"
# Killed once database extra is done (a kill while a database is being
# created is another case) and table users too, while slow is loading.
for _ in $(seq 1 100); do
	grep -q 'info: copied 300 rows' "$BG_ERR" && grep -q 'database "extra_2" copied and verified' "$BG_ERR" && break
	sleep 0.1
done
is "$(pg_sql dst postgres "$slow_loading")" 1 "killed while the slow table loads"
kill -9 "$PGCARRY_PID"
pgcarry_wait
is "$RC" 137 "the copy was killed"

run_pgcarry "${COPY[@]}" --jobs 2 --resume --rename shop=shop_copy --rename extra=extra_2 shop extra
is "$RC" 0 "--resume with --rename after kill -9: exit 0"
[ "$RC" = 0 ] || diag "$OUT$ERR"
like "$OUT" 'shop_copy +table public.users +300 +300 +equal +ok \(copied by an earlier run\)' \
	"a table finished before the kill is kept, under the new name"
like "$OUT" 'shop_copy +table public.slow +800 +800 +equal +ok$' "the interrupted table is copied again"
like "$OUT" 'shop_copy: 3 tables, 1 sequence, 1 large object: all equal' "the verification is of the new database"
unlike "$ERR" 'error:' "no error on resume"
like "$ERR" 'database "extra_2" was copied and verified by an earlier run' "the database finished before the kill is kept"
like "$OUT" 'extra_2 +table "?public"?\."?e"? +1 +1 +equal +ok \(copied by an earlier run\)' "and reported under its new name"
is "$(target_dbs)" "extra_2,shop_copy" "only the new names exist on the target"
is "$(pg_sql dst postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'shop_copy'")" \
	"the shop" "the database's properties are applied to the new name"

# A second copy into the renamed database is refused under its new name.
run_pgcarry "${COPY[@]}" --rename shop=shop_copy shop
is "$RC" 1 "a second copy into the renamed database is refused"
like "$ERR" 'database "shop_copy" already exists on the target and holds objects' "the refusal names the new name"

pg_sql dst postgres "ALTER DATABASE shop_copy RENAME TO shop"
pg_sql dst postgres "ALTER DATABASE extra_2 RENAME TO extra"
out=$(dbcheck_compare src dst shop 2>&1)
is "$?" 0 "the renamed database holds what the source does (independent check)"
[ -z "$out" ] || diag "$out"
out=$(dbcheck_compare src dst extra 2>&1)
is "$?" 0 "so does the other one"
[ -z "$out" ] || diag "$out"

done_testing
