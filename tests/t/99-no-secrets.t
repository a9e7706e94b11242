#!/usr/bin/env bash
# No secret leaks: every password the test run gave its servers and roles is
# searched for in everything the tests printed and everything pgcarry wrote
# to stdout and stderr during the run.  Runs last (prove runs files in order).
source "$(dirname "$0")/../lib/harness.sh"

pwfile=$TEST_LOG_DIR/.passwords
ok $([ -s "$pwfile" ] && echo 0 || echo 1) "the run recorded the passwords it used"
logs=$(find "$TEST_LOG_DIR" -type f ! -name '.passwords' ! -name "$T_NAME.*" | wc -l)
ok $([ "$logs" -gt 0 ] && echo 0 || echo 1) "there is output to scan ($logs files)"

leaks=0
while IFS= read -r pw; do
	[ -n "$pw" ] || continue
	hits=$(grep -rlF --exclude=.passwords --exclude="$T_NAME.*" -- "$pw" "$TEST_LOG_DIR" || true)
	if [ -n "$hits" ]; then
		leaks=$((leaks + 1))
		diag "a password appears in: $hits"
	fi
done < <(sort -u "$pwfile")
is "$leaks" 0 "no password appears in any test or pgcarry output"

# The scan itself must be able to fail: a planted password is found.
probe="planted-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "leaked: $probe" >"$T_TMP/planted.log"
ok $(grep -rqF -- "$probe" "$T_TMP" && echo 0 || echo 1) "the scan finds a planted password"

done_testing
