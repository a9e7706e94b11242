#!/usr/bin/env bash
# pgcarry copy of object kinds a stranger's database holds
# (tests/fixtures/hardcase-kinds.sql: a stale materialized view, event
# triggers, foreign tables, publications, a tablespace, a comment on every
# kind of object), judged against the reference, what pg_dump | pg_restore
# makes of the same database on a third server: data and schema equal
# (tests/lib/dbcheck.sh).  Then row-level security copied by the tables'
# owner, a role that is not a superuser.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

FIX=$HARNESS_ROOT/tests/fixtures
pg_start src
pg_start ref
pg_start dst
STATE=$T_TMP/state

for s in src ref dst; do
	pg_psql "$s" postgres -f "$FIX/hardcase-roles.sql" >/dev/null || bail "roles did not load on $s"
	mkdir -p "$T_TMP/$s-space"
	[ "$(id -u)" = 0 ] && chown postgres "$T_TMP/$s-space"
	pg_sql "$s" postgres "CREATE TABLESPACE kinds_space LOCATION '$T_TMP/$s-space'" || bail "no tablespace on $s"
done
pg_sql src postgres "CREATE DATABASE kinds"
pg_psql src kinds -f "$FIX/hardcase-kinds.sql" >/dev/null || bail "hardcase-kinds.sql did not load"

# The fixture holds what it promises.
q() { pg_sql src kinds "$*"; }
is "$(q "SELECT n FROM kinds.sales_by_region ORDER BY region" | tr '\n' ' ')$(q "SELECT count(*) FROM kinds.sales")" \
	"100 200 360" "the materialized view is populated and stale (300 sales in it, 360 in its table)"
is "$(q "SELECT count(*) FROM pg_event_trigger")" 2 "two event triggers"
ok "$([ "$(q "SELECT count(*) FROM kinds.ddl_log")" -gt 5 ]; echo $?)" "the event trigger logged the fixture's own DDL"
is "$(q "SELECT count(*) FROM pg_foreign_table")" 2 "two foreign tables"
is "$(q "SELECT string_agg(pubname, ' ' ORDER BY pubname) FROM pg_publication")" "kinds_clicks kinds_schema" "two publications"
is "$(q "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class WHERE relkind IN ('r', 'i') AND relnamespace = 'kinds'::regnamespace
          AND reltablespace = (SELECT oid FROM pg_tablespace WHERE spcname = 'kinds_space')")" \
	"archived archived_note archived_pk" "a table and two indexes in a tablespace"
is "$(q "SELECT string_agg(DISTINCT classoid::regclass::text, ' ') FROM pg_description WHERE objoid >= 16384")" \
	"pg_am pg_cast pg_class pg_collation pg_constraint pg_conversion pg_event_trigger pg_extension pg_foreign_server pg_largeobject pg_namespace pg_opclass pg_operator pg_opfamily pg_policy pg_proc pg_publication pg_rewrite pg_statistic_ext pg_trigger pg_ts_config pg_ts_dict pg_ts_parser pg_ts_template pg_type" \
	"comments on objects of 25 catalogs (and on the database)"

# The reference: pg_dump | pg_restore, as the migration guide does it.
PGPASSFILE=$NO_PGPASS pg_dump -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -F c --create -f "$T_TMP/kinds.dump" kinds
is "$?" 0 "pg_dump of the fixture"
PGPASSFILE=$NO_PGPASS pg_restore -h "$(pg_sockdir ref)" -p "$(pg_port ref)" -U postgres --exit-on-error --create -d postgres \
	"$T_TMP/kinds.dump"
is "$?" 0 "pg_restore of the fixture (the reference)"

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none --state-dir "$STATE" kinds
is "$RC" 0 "copy of the database exits 0" || diag "$ERR"
out=$(dbcheck_compare ref dst kinds 2>/dev/null)
is "$?" 0 "the copy equals what pg_dump | pg_restore makes of the database: data and schema" || diag "$(head -60 <<<"$out")"
is "$(pg_sql dst kinds "SELECT count(*) FROM kinds.ddl_log")" "$(q "SELECT count(*) FROM kinds.ddl_log")" \
	"the event trigger did not fire while the copy built the schema"
is "$(pg_sql dst kinds "SELECT evtenabled FROM pg_event_trigger ORDER BY evtname" | tr '\n' ' ')" "O D " \
	"event triggers arrive enabled and disabled as on the source"
is "$(pg_sql dst kinds "SELECT spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace WHERE relname = 'archived'")" \
	"kinds_space" "the table is in its tablespace"
# pg_restore refreshes materialized views, and so does the copy: the
# source's stale rows are not what the target holds.  Said here so that a
# change of either is seen.
out=$(dbcheck_compare src dst kinds 2>/dev/null)
is "$(grep -c . <<<"$out")" 1 "against the source, only the stale materialized view differs" || diag "$out"
like "$out" "materialized view kinds.sales_by_region differs: source rows=2 md5=[0-9a-f]+; target rows=3 md5=" \
	"the target's is refreshed (three regions), as pg_restore's is"

# ------------------------------------ row-level security, copied by its owner
#
# The owner of the tables (not a superuser, no BYPASSRLS) copies its own
# database.  Policies do not apply to a table's owner unless the table
# FORCEs them: every row of "docs" must arrive.  On "forced" they would
# hide rows from the owner: the copy must refuse rather than copy part of
# it.
pw=owner-fixture-pw-30k
echo "$pw" >>"$TEST_LOG_DIR/.passwords"
for s in src ref dst; do
	pg_sql "$s" postgres "CREATE ROLE kinds_owner LOGIN CREATEDB PASSWORD '$pw'"
	echo "127.0.0.1:$(pg_port "$s"):*:kinds_owner:$pw" >>"$PGPASSFILE"
done
pg_sql src postgres "CREATE DATABASE tenants OWNER kinds_owner"
pg_psql src tenants >/dev/null <<'SQL' || bail "could not fill tenants"
SET ROLE kinds_owner;
CREATE TABLE docs (id int PRIMARY KEY, tenant text NOT NULL, body text);
INSERT INTO docs SELECT g, CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END, 'doc ' || g FROM generate_series(1, 40) g;
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_docs ON docs USING (tenant = current_user);
CREATE TABLE forced (id int PRIMARY KEY, tenant text NOT NULL);
INSERT INTO forced SELECT g, 'alice' FROM generate_series(1, 10) g;
SQL
owner_uri() { echo "postgresql://kinds_owner@127.0.0.1:$(pg_port "$1")/postgres"; }
run_pgcarry copy --source "$(owner_uri src)" --target "$(owner_uri dst)" --progress none --state-dir "$STATE" tenants
is "$RC" 0 "the owner copies its database with row-level security: exit 0" || diag "$ERR"
like "$OUT" "tenants +table public.docs +40 +40 +equal +ok" "every row of the table with policies"
out=$(dbcheck_compare src dst tenants 2>/dev/null)
is "$?" 0 "data and schema equal, policies included (independent check)" || diag "$out"

pg_sql src tenants "ALTER TABLE forced ENABLE ROW LEVEL SECURITY; ALTER TABLE forced FORCE ROW LEVEL SECURITY;
                    CREATE POLICY bob_only ON forced USING (tenant = 'bob')"
run_pgcarry copy --source "$(owner_uri src)" --target "$(owner_uri dst)" --progress none --state-dir "$STATE" --clean tenants
is "$RC" 1 "policies forced on the owner: the copy fails (exit 1)"
like "$ERR" "error: reading from the source: query would be affected by row-level security policy for table \"forced\"" \
	"and names the table and the cause"
is "$(pg_sql dst tenants "SELECT count(*) FROM forced")" 0 "no row of that table is on the target"

done_testing
