#!/usr/bin/env bash
# pgcarry's schema dumps (copy's and export's of the source, import's
# read-back of the target) take pg_dump's pre-data and post-data sections.
# For a database with neither large objects nor materialized views they add
# --schema-only, which skips pg_dump's query for materialized views'
# dependencies (most of a minute at 100,000 tables on a freshly restored
# catalog).  That is sound only if pg_dump writes the same entries either
# way for such a database: held here against pg_dump itself on the
# hard-case database, with and without those two kinds.  Then export,
# import and copy: which form each server saw, the result judged by the
# independent checker, and a difference still found through the
# --schema-only form.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

FIX=$HARNESS_ROOT/tests/fixtures
pg_start src "log_statement = all" "log_line_prefix = '%m [%p] db=%d '"
pg_start tgt "log_statement = all" "log_line_prefix = '%m [%p] db=%d '"
for s in src tgt; do pg_psql "$s" postgres -f "$FIX/hardcase-roles.sql" >/dev/null || bail "roles did not load"; done
for db in hardcase plain; do
	pg_sql src postgres "CREATE DATABASE $db"
	pg_psql src "$db" -f "$FIX/hardcase.sql" >/dev/null || bail "hardcase.sql did not load"
done
# plain: the hard-case database without its materialized views and large
# objects (everything else stays: views, partitions, grants, comments ...).
pg_sql src plain "DO \$\$ DECLARE r record; BEGIN
	FOR r IN SELECT oid::regclass AS n FROM pg_class WHERE relkind = 'm' LOOP
		EXECUTE format('DROP MATERIALIZED VIEW IF EXISTS %s CASCADE', r.n);
	END LOOP; END \$\$;
	SELECT count(lo_unlink(oid)) FROM pg_largeobject_metadata" >/dev/null
is "$(pg_sql src plain "SELECT (SELECT count(*) FROM pg_class WHERE relkind = 'm') + (SELECT count(*) FROM pg_largeobject_metadata)")" 0 \
	"plain has no materialized view and no large object"
ok "$([ "$(pg_sql src hardcase "SELECT count(*) FROM pg_class WHERE relkind = 'm'")" -gt 0 ] &&
	[ "$(pg_sql src hardcase "SELECT count(*) FROM pg_largeobject_metadata")" -gt 0 ] && echo 0 || echo 1)" \
	"hardcase has materialized views and large objects"

# toc DB [OPTION]: pg_restore's list of pg_dump's schema dump of DB, without
# dump ids and object oids.
toc() {
	local db=$1 f=$T_TMP/toc.$RANDOM.dump
	shift
	"$PG_BINDIR/pg_dump" --format=custom --create --section=pre-data --section=post-data "$@" -f "$f" \
		-d "$(pg_uri src "$db")" && "$PG_BINDIR/pg_restore" -l "$f" | grep -v '^;' | sed -E 's/^[0-9]+; [0-9]+ [0-9]+ //' | sort
	rm -f "$f"
}
is "$(diff <(toc plain) <(toc plain --schema-only) | grep -c '^[<>]')" 0 \
	"pg_dump: without large objects and materialized views, --schema-only lists the same entries"
only=$(diff <(toc hardcase) <(toc hardcase --schema-only) | grep '^[<>]')
ok "$([ -n "$only" ] && echo 0 || echo 1)" "pg_dump: with them, --schema-only lists fewer entries"
is "$(grep -cvE '^< (BLOB|BLOB METADATA|(COMMENT|ACL|SECURITY LABEL) - LARGE OBJECT|MATERIALIZED VIEW DATA) ' <<<"$only")" 0 \
	"pg_dump: and only large objects' and materialized views' data entries" || diag "$only"

# sql DB [OPTION]: the SQL pg_restore writes from that dump (without the
# \restrict key pg_restore draws at random for each run).
sql() {
	local db=$1 f=$T_TMP/sql.$RANDOM.dump
	shift
	"$PG_BINDIR/pg_dump" --format=custom --create --section=pre-data --section=post-data "$@" -f "$f" \
		-d "$(pg_uri src "$db")" && "$PG_BINDIR/pg_restore" -f - "$f" | grep -v '^\\\(un\)\?restrict '
	rm -f "$f"
}
ok "$([ "$(sql plain | grep -c '^CREATE TABLE ')" -gt 10 ] && echo 0 || echo 1)" "pg_restore writes plain's tables"
is "$(diff <(sql plain) <(sql plain --schema-only) | grep -c '^[<>]')" 0 \
	"pg_dump: and writes the same SQL for each entry"

# mvq SERVER DB: how many times pg_dump's query for materialized views'
# dependencies ran in DB on SERVER.
mvq() { grep -c "db=$2 .*WITH RECURSIVE w AS .*relkind = 'm'" "$T_TMP/$1/server.log"; }
plain0=$(mvq src plain) hard0=$(mvq src hardcase)

A=$T_TMP/archive
run_pgcarry export --source "$(pg_uri src)" hardcase plain --output "$A" --progress none
is "$RC" 0 "export exits 0"
is "$(mvq src plain)" "$plain0" "export dumped plain with --schema-only (no materialized-view query)"
ok "$([ "$(mvq src hardcase)" -gt "$hard0" ] && echo 0 || echo 1)" "export dumped hardcase with its sections"
run_pgcarry verify-archive "$A"
is "$RC" 0 "verify-archive finds the archive whole"
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --progress none --jobs 2
is "$RC" 0 "import exits 0"
like "$OUT" "plain: .*all equal" "plain is verified equal"
like "$OUT" "hardcase: .*all equal" "hardcase is verified equal"
out=$(dbcheck_compare src tgt plain)
is "$?" 0 "the independent checker finds plain equal" || diag "$out"

out=$(dbcheck_compare src tgt hardcase)
is "$?" 0 "the independent checker finds hardcase equal" || diag "$out"
is "$(mvq tgt plain)" 0 "the target's plain was read back with --schema-only (no materialized-view query)"
ok "$([ "$(mvq tgt hardcase)" -gt 0 ] && echo 0 || echo 1)" \
	"the target's hardcase was read back with its sections (large objects' and views' entries kept)"

# A difference on the target is still found through the --schema-only form.
pg_sql tgt plain "CREATE TABLE public.stray (i int)"
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" plain --resume --progress none
is "$RC" 3 "import --resume of plain with a table added on the target exits 3"
like "$OUT$ERR" "stray" "the added table is named"
like "$ERR" 'database "plain" differs from the archive' "the database is named"
pg_sql tgt plain "DROP TABLE public.stray"
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" plain --resume --progress none
is "$RC" 0 "and without it, the check passes again"

# copy dumps the source the same way.
pg_sql tgt postgres "DROP DATABASE plain" >/dev/null
pg_sql tgt postgres "DROP DATABASE hardcase" >/dev/null
plain0=$(mvq src plain) hard0=$(mvq src hardcase)
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri tgt)" hardcase plain --progress none --jobs 2
is "$RC" 0 "copy exits 0"
is "$(mvq src plain)" "$plain0" "copy dumped plain with --schema-only (no materialized-view query)"
ok "$([ "$(mvq src hardcase)" -gt "$hard0" ] && echo 0 || echo 1)" "copy dumped hardcase with its sections"
for db in plain hardcase; do
	out=$(dbcheck_compare src tgt $db)
	is "$?" 0 "the independent checker finds the copy of $db equal" || diag "$out"
done

# With -n/-N/-t/-T, copy checks the target (and compare both sides) against
# a pg_dump taken with the same options: the same choice of form there.
pg_sql tgt postgres "DROP DATABASE plain" >/dev/null
pg_sql tgt postgres "DROP DATABASE hardcase" >/dev/null
plain0=$(mvq src plain) hard0=$(mvq src hardcase) tplain0=$(mvq tgt plain) thard0=$(mvq tgt hardcase)
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri tgt)" hardcase plain -T app.nopk_bulk --progress none --jobs 2 -v
is "$RC" 0 "copy -T app.nopk_bulk exits 0" || diag "$ERR"
like "$ERR" "schema verified: [0-9]+ entries of pg_dump's choice, 0 differences" "copy checked the chosen schema"
is "$(mvq src plain)" "$plain0" "copy -T app.nopk_bulk dumped plain with --schema-only"
is "$(mvq tgt plain)" "$tplain0" "and read the target's plain back with --schema-only"
ok "$([ "$(mvq tgt hardcase)" -gt "$thard0" ] && echo 0 || echo 1)" "and the target's hardcase with its sections"
plain0=$(mvq src plain) tplain0=$(mvq tgt plain) hard0=$(mvq src hardcase) thard0=$(mvq tgt hardcase)
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri tgt)" hardcase plain -T app.nopk_bulk --schema-only --progress none
is "$RC" 0 "compare -T app.nopk_bulk --schema-only finds both equal" || diag "$OUT$ERR"
is "$(mvq src plain)$(mvq tgt plain)" "$plain0$tplain0" "compare read plain on both sides with --schema-only"
ok "$([ "$(mvq src hardcase)" -gt "$hard0" ] && [ "$(mvq tgt hardcase)" -gt "$thard0" ] && echo 0 || echo 1)" \
	"and hardcase on both sides with its sections"
pg_sql tgt plain "CREATE TABLE public.stray2 (i int)"
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri tgt)" plain -T app.nopk_bulk --schema-only --progress none
is "$RC" 3 "compare -T app.nopk_bulk of plain with a table added on the target exits 3"
like "$OUT" "stray2" "the added table is named"
pg_sql tgt plain "DROP TABLE public.stray2"

done_testing
