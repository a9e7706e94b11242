#!/usr/bin/env bash
# The migration guide's seven databases (tests/fixtures/seven.sh, small
# scale) copied in one run: every one arrives identical for the independent
# checker (data, and a schema-only pg_dump of both sides), and pgcarry
# compare agrees.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

DBS="accounts analysis filestore jobs metrics results results201709"
pg_start src
pg_start dst
STATE=$T_TMP/state

bash "$HARNESS_ROOT/tests/fixtures/seven.sh" --host "$(pg_sockdir src)" --port "$(pg_port src)" --scale 0.01 \
	>/dev/null 2>&1 || bail "seven.sh failed"

# shellcheck disable=SC2086
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none --state-dir "$STATE" $DBS
is "$RC" 0 "the seven databases are copied: exit 0"
like "$OUT" "Verified: 7 databases, every object equal\." "pgcarry verified all seven"

for db in $DBS; do
	diffs=$(dbcheck_compare src dst "$db" 2>/dev/null)
	is "$?" 0 "$db: every table, sequence, matview and large object equal (independent check)"
	[ -n "$diffs" ] && diag "$diffs"
	diffs=$(dbcheck_schema_diff src dst "$db" 2>/dev/null)
	is "$?" 0 "$db: schema-only pg_dump of both sides identical"
	[ -n "$diffs" ] && diag "$(head -20 <<<"$diffs")"
done

# shellcheck disable=SC2086
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none $DBS
is "$RC" 0 "pgcarry compare agrees"
like "$OUT" "Verified: 7 databases, every object equal\." "compare's verdict"

done_testing
