#!/usr/bin/env bash
# `make demo` (scripts/demo.sh) run non-interactively at a small scale: it
# starts its two servers, builds the seven databases, pings both servers,
# copies the seven databases with pgcarry copy and prints the verification
# report, then stops its servers.
source "$(dirname "$0")/../lib/harness.sh"

DBS="accounts analysis filestore jobs metrics results results201709"

out=$(DEMO_SCALE=0.01 PGCARRY_BIN=$PGCARRY bash "$HARNESS_ROOT/scripts/demo.sh" 2>&1 </dev/null)
rc=$?
printf '%s\n' "$out" >"$TEST_LOG_DIR/$T_NAME.demo-output"
# The demo runs pgcarry itself: its output gets the harness's scans.
pgcarry_scan "$TEST_LOG_DIR/$T_NAME.demo-output"
is "$rc" 0 "the demo exits 0" || diag "$(tail -n 40 <<<"$out")"

like "$out" "== Starting two throwaway PostgreSQL servers" "starts the servers"
like "$out" "seven.sh: total +[0-9]+ MB" "builds the seven databases"
like "$out" 'source server 127\.0\.0\.1:[0-9]+/postgres' "pings the source"
like "$out" 'target server 127\.0\.0\.1:[0-9]+/postgres' "pings the target"
missing=""
for db in $DBS; do
	grep -Eq "^    $db +[0-9]+ [kMG]?B" <<<"$out" || missing="$missing $db"
done
is "$missing" "" "the source lists all seven databases"
unlike "$out" 'PGPASSWORD=|password=' "no password on any command line it shows"

# Its servers are gone afterwards.
src_port=$(sed -n 's|^source: postgresql://postgres@127\.0\.0\.1:\([0-9]*\)/.*|\1|p' <<<"$out")
tgt_port=$(sed -n 's|^target: postgresql://postgres@127\.0\.0\.1:\([0-9]*\)/.*|\1|p' <<<"$out")
like "$src_port $tgt_port" '^[0-9]+ [0-9]+$' "the demo names its servers' ports"
alive=""
for p in $src_port $tgt_port; do
	if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then alive="$alive $p"; fi
done
is "$alive" "" "both servers are stopped at the end"

like "$out" "pgcarry copy --source postgresql://[^ ]+ --target postgresql://[^ ]+ $DBS --jobs 2" "runs pgcarry copy"
like "$out" "demo: pgcarry copy exited with status 0 " "copy exits 0"
like "$out" "Verification \(" "prints the verification report"
report=$(sed -n '/^Verification (/,/^demo: pgcarry copy exited/p' <<<"$out")
missing=""
for db in $DBS; do
	grep -Eq "^$db[: ]" <<<"$report" || missing="$missing $db"
done
is "$missing" "" "the report covers all seven databases"
unlike "$report" "MISMATCH|differs|[1-9][0-9]* differences?" "no difference reported"

done_testing
