#!/usr/bin/env bash
# pgcarry copy of the hard-case database (tests/fixtures/hardcase.sql: every
# common type, odd identifiers, partitions, inheritance, generated and
# identity columns, matviews, RLS, comments, grants, large objects, roles),
# with --roles, judged by the independent checker (tests/lib/dbcheck.sh):
# every table, sequence, populated matview and large object equal, and a
# schema-only pg_dump of both sides identical.  Then pgcarry compare agrees,
# and a copy with big tables cut into slices gives the same result.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

FIX=$HARNESS_ROOT/tests/fixtures
pg_start src
pg_start dst
pg_start dst2
STATE=$T_TMP/state
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"

pg_psql src postgres -f "$FIX/hardcase-roles.sql" >/dev/null || bail "roles did not load"
pg_sql src postgres "CREATE DATABASE hardcase"
pg_psql src hardcase -f "$FIX/hardcase.sql" >/dev/null || bail "hardcase.sql did not load"

# Every table's indexes and constraints built as soon as its data is in.
PGCARRY_EARLY_INDEX_BYTES=0 run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --roles --jobs 2 \
	--progress none --state-dir "$STATE" --verbose hardcase
is "$RC" 0 "copy of the hard-case database with --roles exits 0"
like "$OUT" "Verified: 1 database, every object equal\." "pgcarry's own verification agrees"
like "$ERR" "roles copied \([0-9]+ already existed on the target and were left as they are\)" "roles are copied first"
unlike "$ERR" "do(es)? not exist on the target" "no role is missing on the target"
like "$ERR" "info: copied [0-9]+ rows \([0-9]+ bytes, binary\)" "tables of built-in types travel in binary"
like "$ERR" "info: copied [0-9]+ rows \([0-9]+ bytes, text\)" "tables of other types travel in text"
like "$ERR" "info: [0-9]+ indexes and constraints built in" "a table's indexes are built as soon as its data is in"
unlike "$ERR" "warning" "no warning"

diffs=$(dbcheck_compare src dst hardcase 2>/dev/null)
is "$?" 0 "independent check: every table, sequence, matview and large object equal, and the schema-only pg_dump of both sides (owners, grants, comments, policies)"
[ -n "$diffs" ] && diag "$(head -60 <<<"$diffs")"
diffs=$(dbcheck_roles src dst 2>/dev/null)
is "$?" 0 "independent check: roles equal (attributes, memberships, settings, comments, password hashes)"
[ -n "$diffs" ] && diag "$diffs"

is "$(pg_sql dst postgres "SELECT string_agg(r.rolname || ' in ' || g.rolname, ', ' ORDER BY r.rolname)
                            FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
                            WHERE r.rolname LIKE 'hc%'")" "hc_login in hc_writer, hc_writer in hc_reader" "role memberships copied"
PGPASSWORD=hc-login-fixture-pw PGPASSFILE=$NO_PGPASS psql -X -At -h 127.0.0.1 -p "$(pg_port dst)" -U hc_login -d hardcase \
	-c "SELECT current_user" >/dev/null 2>&1
is "$?" 0 "a role's password is carried: the login role logs in on the target"

run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none hardcase
is "$RC" 0 "pgcarry compare agrees"
like "$OUT" "hardcase: [0-9]+ schema objects, [0-9]+ tables, [0-9]+ materialized views?, [0-9]+ sequences, 4 large objects: all equal" \
	"compare's summary"

# The same with every table of more than 64 kB cut into slices.
pg_psql dst2 postgres -f "$FIX/hardcase-roles.sql" >/dev/null || bail "roles did not load on dst2"
PGCARRY_SPLIT_BYTES=65536 run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst2)" --jobs 3 \
	--progress none --state-dir "$STATE" --verbose hardcase
is "$RC" 0 "copy with slices exits 0"
like "$ERR" "info: table [^ ]+ \([0-9]+ MB\) is copied in [0-9]+ slices" "some tables were cut into slices"
like "$ERR" "\[w[0-9] hardcase app.bulk\] info: verifying the target in [0-9]+ slices" "and verified in slices of the target's pages"
like "$OUT" "hardcase +table app.bulk +[0-9]+ +[0-9]+ +equal +ok" "a table verified in slices is equal"
diffs=$(dbcheck_compare src dst2 hardcase 2>/dev/null)
is "$?" 0 "with slices: every table and the schema equal (independent check)"
[ -n "$diffs" ] && diag "$(head -60 <<<"$diffs")"
PGCARRY_SPLIT_BYTES=65536 run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst2)" --jobs 3 --progress none hardcase
is "$RC" 0 "compare reading in slices agrees"

is "$(ls "$TMPDIR")" "" "no temporary file left"

done_testing
