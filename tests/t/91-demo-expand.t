#!/usr/bin/env bash
# `make demo-expand` (scripts/demo-expand.sh) run at a small scale: it exits
# 0 and prints the application's errors (zero), its longest wait, the rows
# verified at start and at complete, and the exactly-once check of the cats.
source "$(dirname "$0")/../lib/harness.sh"

out=$(DEMO_ROWS=20000 DEMO_RATE=200 PGCARRY_BIN=$PGCARRY bash "$HARNESS_ROOT/scripts/demo-expand.sh" 2>&1 </dev/null)
rc=$?
printf '%s\n' "$out" >"$TEST_LOG_DIR/$T_NAME.demo-output"
# The demo runs pgcarry itself: its output gets the harness's scans.
pgcarry_scan "$TEST_LOG_DIR/$T_NAME.demo-output"
is "$rc" 0 "the expand demo exits 0" || diag "$(tail -n 40 <<<"$out")"
like "$out" "== the old application version starts" "the old version runs first"
like "$out" "verified cats_own_table: [0-9]+ rows compared row by row, 0 differences" "start verifies row by row"
like "$out" "is complete" "complete runs"
like "$out" "application errors: +0" "it prints zero application errors"
like "$out" "longest application wait: +[0-9.]+ ms \(lock timeout 1000 ms\)" "it prints the longest wait"
like "$out" "rows verified row by row: +[0-9]+/[0-9]+ \(at start / at complete\)" "it prints the rows verified twice"
like "$out" "cats missing\|invented\|total: 0\|0\|[0-9]+" "no cat missing or invented"
like "$out" "== the interim's rules for the new application version" "it tells the interim's rules"
like "$out" "lock the member first" "including the lock order"
like "$out" "one statement: member [0-9]+: cat felix \\(black\\) kept, old columns show felix" "the one-statement member and cat keeps the cat"
like "$out" "sync changes of cats_own_table" "complete shows what the sync deleted or overwrote"
like "$out" "one-statement cat after complete: 1" "the cat is still there after complete"
like "$out" "done: zero application errors, every cat present exactly once" "its verdict"

done_testing
