#!/usr/bin/env bash
# The live display in a narrow terminal (a 40-column tmux pane): no line is
# wider than the pane (checked with wrapped lines joined back), and every
# redraw replaces the last one: at each screen taken during the copy and at
# the end, each database's line and the overall line appear once, log lines
# (--verbose, wider than the pane) scroll above the display without leaving
# copies of it behind, on the screen or in the scrollback.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
pg_sql src postgres "CREATE DATABASE accounts"
pg_sql src postgres "CREATE DATABASE analysis_with_a_long_name_for_a_narrow_pane"
pg_sql src accounts "CREATE TABLE users (id int, v text); INSERT INTO users SELECT g, lpad(g::text, 300, 'u') FROM generate_series(1, 120000) g;
                     CREATE TABLE orders (id int, v text); INSERT INTO orders SELECT g, lpad(g::text, 200, 'o') FROM generate_series(1, 100000) g"
pg_sql src analysis_with_a_long_name_for_a_narrow_pane "CREATE TABLE runs (id int, v text); INSERT INTO runs SELECT g, lpad(g::text, 300, 'r') FROM generate_series(1, 60000) g"
# The load on the target takes a few seconds whatever the machine's speed,
# so that the display is seen while it runs: a CHECK that pauses 20 ms every
# 1000th row, on the target's port only (pg_dump carries it).
for db in accounts analysis_with_a_long_name_for_a_narrow_pane; do
	pg_sql src "$db" "CREATE FUNCTION pace(id int) RETURNS boolean LANGUAGE plpgsql AS \$\$
	                   BEGIN IF id % 1000 = 0 AND current_setting('port')::int = $(pg_port dst) THEN PERFORM pg_sleep(0.02); END IF;
	                   RETURN true; END \$\$" >/dev/null
done
pg_sql src accounts "ALTER TABLE users ADD CONSTRAINT paced CHECK (pace(id)); ALTER TABLE orders ADD CONSTRAINT paced CHECK (pace(id))" >/dev/null
pg_sql src analysis_with_a_long_name_for_a_narrow_pane "ALTER TABLE runs ADD CONSTRAINT paced CHECK (pace(id))" >/dev/null

W=40
sock=tmux-$$
pgcarry_cmdline copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --state-dir "$T_TMP/state" \
	--jobs 2 --verbose accounts analysis_with_a_long_name_for_a_narrow_pane
tmux -L "$sock" new-session -d -x $W -y 30 "$PGCARRY_CMDLINE; echo EXIT=\$?; sleep 60"
# A display line: a database's name (or "all databases"), then its phase.
disp='^(accounts|analysis_with[a-z_]*|all databases) +(waiting|schema|data|sequences|indexes|analyze|propert[a-z]*|verifying|done|failed|running)( |$)'
screens=0 wide=0 stale=0 seen_running=0
for _ in $(seq 1 600); do
	# -J joins lines the terminal wrapped: a wrapped line shows wider than the pane.
	screen=$(tmux -L "$sock" capture-pane -p -J 2>/dev/null) || break
	screens=$((screens + 1))
	w=$(grep -E "$disp" <<<"$screen" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
	[ "$w" -gt $W ] && { wide=$((wide + 1)); printf '%s\n' "$screen" >"$TEST_LOG_DIR/$T_NAME.wide-screen"; }
	for label in "accounts " "analysis_with" "all databases"; do
		n=$(grep -E "$disp" <<<"$screen" | grep -c "^$label")
		[ "$n" -gt 1 ] && { stale=$((stale + 1)); printf '%s\n' "$screen" >"$TEST_LOG_DIR/$T_NAME.stale-screen"; }
	done
	grep -Eq "^all databases +running" <<<"$screen" && seen_running=$((seen_running + 1))
	grep -q "EXIT=" <<<"$screen" && break
	sleep 0.05
done
final=$(tmux -L "$sock" capture-pane -p -J -S -200 2>/dev/null)
tmux -L "$sock" kill-server 2>/dev/null
printf '%s\n' "$final" >"$TEST_LOG_DIR/$T_NAME.final-screen"
pgcarry_cmdline_end "$final"
note "$screens screens taken, $seen_running with the display running"

like "$final" "EXIT=0" "the copy in a 40-column pane exits 0"
ok "$([ "$seen_running" -ge 2 ] && echo 0 || echo 1)" "the display was seen while the copy ran ($seen_running screens)"
is "$wide" 0 "no line was ever wider than the pane"
is "$stale" 0 "no screen ever held two copies of a display line"
is "$(grep -Ec "$disp" <<<"$final")" 3 "at the end, the display's three lines once each in the whole scrollback"
like "$final" "all databases +done +100\.0%" "the final overall line says done, 100 %"
like "$final" 'copied and verified' "log lines are shown above the display"

done_testing
