#!/usr/bin/env bash
# Every pgcarry run of the test scripts goes through the harness's wrappers
# (run_pgcarry, run_pgcarry_via, run_pgcarry_in, run_pgcarry_pipe,
# pgcarry_start, pgcarry_tty, pgcarry_cmdline in tests/lib/harness.sh), so
# that its output is kept for the secrets scan (99-no-secrets.t) and its
# sanitizer reports fail the test.  A script that runs "$PGCARRY" itself
# fails here, with the file and line named.  No server is started.
source "$(dirname "$0")/../lib/harness.sh"

# Uses of $PGCARRY that do not run it: looking at the binary, and a demo
# script given the binary (its whole output is scanned by its test).
ALLOWED='(nm -D|ldd|dirname) "\$PGCARRY"|PGCARRY_BIN=\$PGCARRY bash '

# direct_calls FILE: the lines of FILE (number:text) that name $PGCARRY
# other than as ALLOWED; comment lines aside.
direct_calls() {
	grep -nE '\$\{?PGCARRY([^A-Za-z0-9_]|$)' "$1" | grep -vE '^[0-9]+:[[:space:]]*#' | grep -vE "$ALLOWED"
}

# The check finds what it must find.
cat >"$T_TMP/sample.t" <<'SAMPLE'
# "$PGCARRY" in a comment is no call
"$PGCARRY" copy --source x &
out=$($PGCARRY ping)
tmux new-session -d "${PGCARRY} ping; echo EXIT=\$?"
if nm -D "$PGCARRY" | grep -q __asan_init; then :; fi
run_pgcarry ping --source x; echo "$PGCARRY_SOURCE"
SAMPLE
is "$(direct_calls "$T_TMP/sample.t" | cut -d: -f1 | xargs)" "2 3 4" "the check finds a direct call, in a command substitution, in a tmux command line"

bad=""
for f in "$HARNESS_ROOT"/tests/t/*.t "$HARNESS_ROOT"/tests/t/*.bash; do
	name=$(basename "$f")
	[ "$name" = "$T_NAME.t" ] && continue	# its own sample and pattern
	hits=$(direct_calls "$f")
	[ -z "$hits" ] && continue
	bad="$bad$name:$hits"$'\n'
done
is "$bad" "" "no test script runs pgcarry outside the harness's wrappers"

done_testing
