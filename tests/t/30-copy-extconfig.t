#!/usr/bin/env bash
# An extension's configuration tables (pg_extension_config_dump): pg_partman
# keeps the partition sets a user made in partman.part_config and
# partman.part_config_sub, tables that belong to the extension yet whose
# rows pg_dump dumps as data (tests/fixtures/extconfig.sql).  copy, and
# export then import, must carry those rows as pg_dump | pg_restore does:
# each is judged by the independent checker (tests/lib/dbcheck.sh, data and
# schema) against the reference, what pg_dump | pg_restore makes of the
# database on a third server.  Without the extension (Debian package
# postgresql-15-partman, scripts/deps.sh) the fixture does not load and the
# test fails.
#
# Then the same with a condition on one configuration table: only the rows
# matching it are data (pg_dump's rule), and compare reads both sides with
# the source's condition.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start ref
pg_start dst
pg_sql src postgres "CREATE DATABASE ext"
pg_psql src ext -f "$HARNESS_ROOT/tests/fixtures/extconfig.sql" >/dev/null
is "$?" 0 "the fixture loads (pg_partman is installed)" || bail "tests/fixtures/extconfig.sql needs pg_partman (postgresql-15-partman)"
q() { pg_sql "$1" ext "$2"; }
CONFIG="SELECT string_agg(parent_table || ' ' || partition_interval || ' ' || coalesce(retention, '-'), ', ' ORDER BY parent_table) FROM partman.part_config"
SUB="SELECT string_agg(sub_parent || ' ' || sub_partition_interval, ', ' ORDER BY sub_parent) FROM partman.part_config_sub"
is "$(q src "$CONFIG")" "public.events 1 day 30 days, public.readings 10 -, public.readings_p0 5 -, public.readings_p10 5 -" \
	"the fixture holds rows in the extension's configuration table"
is "$(q src "$SUB")" "public.readings 5" "and in its sub-partition configuration table"
is "$(q src "SELECT string_agg(c.relname || ':' || x.cond, ' ' ORDER BY c.relname)
	FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(oid, cond) JOIN pg_class c ON c.oid = x.oid WHERE e.extname = 'pg_partman'")" \
	"custom_time_partitions: part_config: part_config_sub:" "the extension marks its three configuration tables (no filter condition)"

# The reference: pg_dump | pg_restore on a third server.
PGPASSFILE=$NO_PGPASS pg_dump -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -F c --create -f "$T_TMP/ext.dump" ext
is "$?" 0 "pg_dump of the fixture"
PGPASSFILE=$NO_PGPASS pg_restore -h "$(pg_sockdir ref)" -p "$(pg_port ref)" -U postgres --exit-on-error --create -d postgres \
	"$T_TMP/ext.dump"
is "$?" 0 "pg_restore of the fixture (the reference)"
is "$(q ref "$CONFIG")" "$(q src "$CONFIG")" "the reference holds the configuration rows"

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none --state-dir "$T_TMP/state" ext
is "$RC" 0 "copy of a database with an extension's configuration tables exits 0" || diag "$ERR"
out=$(dbcheck_compare ref dst ext 2>/dev/null)
is "$?" 0 "the copy equals what pg_dump | pg_restore makes of it: data (configuration rows included) and schema" ||
	diag "$(head -40 <<<"$out")"
is "$(q dst "$SUB")" "$(q src "$SUB")" "the copy holds the sub-partition configuration"

pg_sql dst postgres "DROP DATABASE ext"
run_pgcarry export --source "$(pg_uri src)" ext --output "$T_TMP/archive" --progress none
is "$RC" 0 "export exits 0" || diag "$ERR"
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/archive" --progress none
is "$RC" 0 "import exits 0" || diag "$ERR"
out=$(dbcheck_compare ref dst ext 2>/dev/null)
is "$?" 0 "export then import equals what pg_dump | pg_restore makes of it: data (configuration rows included) and schema" ||
	diag "$(head -40 <<<"$out")"
is "$(q dst "$CONFIG")" "$(q src "$CONFIG")" "the import holds the configuration rows"

# An extension may mark only some rows of a configuration table as data (a
# WHERE condition in pg_extension.extcondition; the rest are its own rows,
# which CREATE EXTENSION makes again on the target).  pg_partman's are empty,
# so the source is given one, as pg_extension_config_dump would record it
# ('WHERE ...'): the row of public.readings_p10 is then the extension's own.
pg_sql src ext "UPDATE pg_extension SET extcondition = ARRAY(SELECT CASE WHEN x.oid = 'partman.part_config'::regclass
	THEN 'WHERE parent_table <> ''public.readings_p10''' ELSE x.cond END
	FROM unnest(extconfig, extcondition) WITH ORDINALITY AS x(oid, cond, i) ORDER BY x.i) WHERE extname = 'pg_partman'"
pg_sql ref postgres "DROP DATABASE ext"
PGPASSFILE=$NO_PGPASS pg_dump -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -F c --create -f "$T_TMP/cond.dump" ext
PGPASSFILE=$NO_PGPASS pg_restore -h "$(pg_sockdir ref)" -p "$(pg_port ref)" -U postgres --exit-on-error --create -d postgres \
	"$T_TMP/cond.dump"
is "$?" 0 "with a condition: pg_restore of the fixture (the reference)"
is "$(q ref "$CONFIG")" "public.events 1 day 30 days, public.readings 10 -, public.readings_p0 5 -" \
	"with a condition: the reference holds the rows matching it"

pg_sql dst postgres "DROP DATABASE ext"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$T_TMP/state2" ext
is "$RC" 0 "with a condition: copy exits 0" || diag "$ERR"
out=$(dbcheck_compare ref dst ext 2>/dev/null)
is "$?" 0 "with a condition: the copy equals what pg_dump | pg_restore makes of it" || diag "$(head -40 <<<"$out")"

# compare reads both sides with the source's condition: a row outside it
# (the extension's own) is no difference, a changed row matching it is.
pg_sql dst ext "INSERT INTO partman.part_config (parent_table, control, partition_interval, partition_type)
	VALUES ('public.readings_p10', 'n', '5', 'native')"
is "$?" 0 "the copy left out the row outside the condition (the target takes one of its own)"
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none ext
is "$RC" 0 "compare: a target row outside the condition is no difference" || diag "$OUT$ERR"
pg_sql dst ext "UPDATE partman.part_config SET retention = '31 days' WHERE parent_table = 'public.events'"
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none ext
is "$RC" 3 "compare: a changed row matching the condition is a difference (exit 3)"
like "$OUT" "partman\.part_config .*differ" "compare: names the configuration table"

run_pgcarry export --source "$(pg_uri src)" ext --output "$T_TMP/archive2" --progress none
is "$RC" 0 "with a condition: export exits 0" || diag "$ERR"
grep -rqF "\"extension_condition\": \"parent_table <> 'public.readings_p10'\"" "$T_TMP/archive2"
is "$?" 0 "the manifest records the condition"
pg_sql dst postgres "DROP DATABASE ext"
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/archive2" --progress none
is "$RC" 0 "with a condition: import exits 0" || diag "$ERR"
out=$(dbcheck_compare ref dst ext 2>/dev/null)
is "$?" 0 "with a condition: export then import equals what pg_dump | pg_restore makes of it" ||
	diag "$(head -40 <<<"$out")"

# An import interrupted before the table's load committed, run again with
# --resume: the target's table holds a row of the extension's own (outside
# the condition) and lacks a row of the source.  The rerun replaces the rows
# matching the condition and keeps the extension's row, doubling nothing.
pg_sql dst postgres "ALTER DATABASE ext SET pgcarry.import = 'unfinished'"
pg_sql dst ext "DELETE FROM partman.part_config WHERE parent_table = 'public.events';
	INSERT INTO partman.part_config (parent_table, control, partition_interval, partition_type)
	VALUES ('public.readings_p10', 'n', '5', 'native')"
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/archive2" --progress none --resume
is "$RC" 0 "with a condition: import --resume exits 0" || diag "$ERR"
is "$(q dst "$CONFIG")" "public.events 1 day 30 days, public.readings 10 -, public.readings_p0 5 -, public.readings_p10 5 -" \
	"import --resume: the source's rows once each, the extension's own row kept"

done_testing
