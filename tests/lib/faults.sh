#!/usr/bin/env bash
# faults.sh: proof that the tests catch what they promise to catch (run by
# "make check-faults").  The binary under test (PGCARRY_BIN) is the fault
# build (-DPGCARRY_FAULTS, see src/util/fault.h): with PGCARRY_FAULT=NAME
# it makes one known mistake.  For each fault below, the tests named next
# to it run with the fault on, and must fail; and the fault must have fired
# (pgcarry records it in PGCARRY_FAULT_LOG), so that a test failing for
# another reason proves nothing.  First every test named runs once with no
# fault, and must pass on this build.
#
# Exits 0 when every fault was caught, 1 otherwise, with a table of the
# results on stdout.
#
#   bash tests/lib/faults.sh [FAULT...]     (default: every fault)

set -u
cd "$(dirname "$0")/../.." || exit 1

# fault            tests that must catch it            what the fault does
FAULTS=(
	"copy-drop-row           tests/t/30-copy-basic.t     copy: one row of a table is neither sent nor hashed"
	"copy-change-byte        tests/t/30-copy-basic.t     copy: one byte of one value changes before it is hashed and sent"
	"copy-skip-setval        tests/t/30-copy-basic.t     copy: one sequence's setval is skipped"
	"skip-large-object       tests/t/30-copy-basic.t     copy: one large object's contents are not copied"
	"verify-equal-unchecked  tests/t/31-compare-basic.t  verification: every table reported equal without comparing"
	"manifest-drop-table     tests/t/40-archive-hardcase.t  export: the last table of a database is left out of the manifest"
	"sync-trigger-delete-row tests/t/60-expand-sync.t    expand: a sync trigger deletes the first row an application inserts"
	"expand-resume-too-far   tests/t/60-expand-resume.t  expand: a resumed backfill starts one batch after the last committed one"
)

: "${PGCARRY_BIN:?PGCARRY_BIN must name the fault build of pgcarry}"
LOGS=${PGCARRY_TEST_LOG_DIR:-$PWD/build-faults/test-logs}
mkdir -p "$LOGS"
export PGCARRY_TEST_LOG_DIR=$LOGS

want=("$@")
selected=()
for f in "${FAULTS[@]}"; do
	name=${f%% *}
	if [ ${#want[@]} = 0 ] || printf '%s\n' "${want[@]}" | grep -qxF -- "$name"; then
		selected+=("$f")
	fi
done
[ ${#selected[@]} -gt 0 ] || { echo "faults.sh: no such fault: ${want[*]}" >&2; exit 2; }

rc=0
t0=$SECONDS

# The tests pass on this build when no fault is named.
declare -A base_ok=()
for f in "${selected[@]}"; do
	read -r _ test _ <<<"$f"
	[ -n "${base_ok[$test]:-}" ] && continue
	if PGCARRY_FAULT= prove --exec bash "$test" >"$LOGS/faults.base.$(basename "$test").log" 2>&1; then
		base_ok[$test]=yes
	else
		base_ok[$test]=no
		echo "faults.sh: $test fails with no fault injected (see $LOGS/faults.base.$(basename "$test").log)"
		rc=1
	fi
done

printf '%-24s %-30s %s\n' "fault" "test" "result"
for f in "${selected[@]}"; do
	read -r name test what <<<"$f"
	flog=$LOGS/faults.$name.fired
	rm -f "$flog"
	start=$SECONDS
	if PGCARRY_FAULT=$name PGCARRY_FAULT_LOG=$flog prove --exec bash "$test" >"$LOGS/faults.$name.log" 2>&1; then
		result="NOT CAUGHT: the test passed"
		rc=1
	elif ! grep -qxF -- "$name" "$flog" 2>/dev/null; then
		result="NOT PROVEN: the test failed but the fault never fired"
		rc=1
	elif [ "${base_ok[$test]}" != yes ]; then
		result="NOT PROVEN: the test fails without the fault too"
	else
		result="caught ($(grep -m1 -E 'Failed tests?:' "$LOGS/faults.$name.log" | sed 's/^ *//' | cut -c1-60))"
	fi
	printf '%-24s %-30s %s (%d s)\n' "$name" "$(basename "$test")" "$result" $((SECONDS - start))
	printf '%-24s   %s\n' "" "$what"
done
echo "faults.sh: $((SECONDS - t0)) s in all; $([ $rc = 0 ] && echo "every fault was caught" || echo "SOME FAULTS WERE NOT CAUGHT")"
exit "$rc"
