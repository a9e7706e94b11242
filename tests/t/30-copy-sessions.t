#!/usr/bin/env bash
# copy and export of many small tables: what their sessions leave on the
# source while they run, read from the source's own pg_stat_activity.
#
# A worker reads its next small table in the transaction it read the last
# one in (same snapshot), to save round trips.  No session of pgcarry may
# sit idle in a transaction on the source for longer than it takes to
# start the next table: not while it waits for work, not while another
# worker runs the database's finish step (post-data, verification).  And
# the target still equals the source (an independent check; that all
# tables are read in one snapshot while the source is written is
# 30-copy-writer.t's).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"

NTABLES=400
pg_sql src postgres "CREATE DATABASE app"
pg_psql src app >/dev/null <<SQL || bail "could not fill app"
SELECT format('CREATE TABLE t%s (id int PRIMARY KEY, v text); INSERT INTO t%s SELECT g, md5(g::text) FROM generate_series(1, 3) g;', i, i)
FROM generate_series(1, $NTABLES) i
\gexec
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000000) g;
SQL

# watch: every 50 ms until $T_TMP/stop exists, one line per sample on the
# source: pgcarry's sessions, and those of its workers (last statement a
# COPY of a small table) idle in a transaction for more than 0.5 s.  (The
# session that holds the run's snapshot is idle in its transaction by
# design.  So is, for a moment, the session that read the big table: its
# worker still finishes that table after the COPY ends, copy on the target
# (the load's end, its index, the read-back) and export in its file (the
# end of the zstd frame, an fsync, a rename); on a loaded machine that took
# over 0.5 s, with the same result on the code before this test.  A worker
# waiting for work read small tables last, and waits as long as the big
# table takes.)
watch_source() {
	while [ ! -e "$T_TMP/stop" ]; do
		pg_sql src postgres "SELECT count(*) FILTER (WHERE application_name = 'pgcarry' AND datname = 'app'),
			count(*) FILTER (WHERE application_name = 'pgcarry' AND datname = 'app'
				AND state = 'idle in transaction' AND query ~ '^COPY' AND query !~ '\mbig\M'
				AND now() - state_change > interval '500 ms')
			FROM pg_stat_activity" 2>/dev/null
		sleep 0.05
	done >"$T_TMP/watch"
}
# watched WHAT ARGS...: pgcarry ARGS with the watch beside it; exit 0 and
# none of its sessions idle in a transaction for over 0.5 s.  WATCH_SEEN:
# the samples in which the watch saw its sessions.
watched() {
	local what=$1
	shift
	rm -f "$T_TMP/stop"
	watch_source &
	local watch_pid=$!
	run_pgcarry "$@"
	touch "$T_TMP/stop"
	wait "$watch_pid" 2>/dev/null
	is "$RC" 0 "$what: exit 0" || diag "$ERR"
	local idle
	WATCH_SEEN=$(awk -F'|' '$1 > 0' "$T_TMP/watch" | wc -l)
	idle=$(awk -F'|' '$2 > 0' "$T_TMP/watch" | wc -l)
	is "$idle" 0 "$what: no session sat idle in a transaction on the source for over 0.5 s" ||
		diag "$(awk -F'|' '$2 > 0' "$T_TMP/watch" | head -5)"
}

watched "copy of $NTABLES small tables and a big one" \
	copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none app
# (the copy takes long enough for the watch to see it: proof that the
# watch's query sees pgcarry's sessions at all)
ok "$([ "$WATCH_SEEN" -gt 0 ] && echo 0 || echo 1)" "the watch saw copy's sessions on the source ($WATCH_SEEN samples)"
out=$(dbcheck_compare src dst app 2>&1)
is "$?" 0 "the target equals the source (independent check)" || diag "$out"

# export reads its tables the same way: the same watch, then the archive
# imported into a target without the database, checked the same way.
# (Export's units end quickly here, so a worker that waits with its
# transaction open is caught by the copy half above, which runs through the
# same runner; this half checks export's own path end to end.)
pg_sql dst postgres "DROP DATABASE app" >/dev/null
watched "export of the same tables" \
	export --source "$(pg_uri src)" --output "$T_TMP/archive" --jobs 2 --progress none app
diag "the watch saw export's sessions in $WATCH_SEEN samples"
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/archive" --jobs 2 --progress none
is "$RC" 0 "import of that archive: exit 0" || diag "$ERR"
out=$(dbcheck_compare src dst app 2>&1)
is "$?" 0 "the imported database equals the source (independent check)" || diag "$out"

done_testing
