#!/usr/bin/env bash
# The migration guide's seven databases (tests/fixtures/seven.sh, small
# scale) exported into one archive and imported on a second server; the
# independent checker and pgcarry compare (when built) find every database
# equal to its source.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

SEVEN="accounts analysis filestore jobs metrics results results201709"
pg_start src
pg_start tgt
bash "$HARNESS_ROOT/tests/fixtures/seven.sh" --host "$(pg_sockdir src)" --port "$(pg_port src)" --scale 0.01 \
	>"$T_TMP/seven.log" 2>&1 || { cat "$T_TMP/seven.log" >&2; bail "seven.sh failed"; }

A=$T_TMP/seven.tar
# shellcheck disable=SC2086
run_pgcarry export --source "$(pg_uri src)" $SEVEN --output "$A" --format tar --jobs 2
is "$RC" 0 "export of the seven databases into one tar exits 0"
like "$ERR" "archive \".*seven.tar\" is complete: 7 databases" "the archive holds seven databases"
run_pgcarry verify-archive "$A"
is "$RC" 0 "the tar archive verifies"

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --jobs 2
is "$RC" 0 "import of the seven databases exits 0"
is "$(grep -c '^imported database ".*verified against the archive' <<<"$OUT")" 7 "seven databases imported and verified"

# shellcheck disable=SC2086
diffs=$(dbcheck_compare_all src tgt $SEVEN 2>/dev/null)
is "$?" 0 "the checker finds all seven databases equal to their sources, data and schema"
[ -n "$diffs" ] && diag "$(head -40 <<<"$diffs")"

# shellcheck disable=SC2086
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri tgt)" $SEVEN --progress none
is "$RC" 0 "pgcarry compare finds the seven databases identical"

done_testing
