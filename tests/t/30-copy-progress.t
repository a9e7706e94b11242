#!/usr/bin/env bash
# Progress on stderr: JSON lines with --progress json, plain log lines when
# stderr is not a terminal, a live display redrawn in place on a terminal,
# nothing with --progress none; the report on stdout is the same in every
# mode.  Peak memory does not grow with the size of the data.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state

pg_sql src postgres "CREATE DATABASE one"
pg_sql src postgres "CREATE DATABASE two"
pg_sql src one "CREATE TABLE a (id int, v text); INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
                CREATE TABLE b (id int); INSERT INTO b SELECT generate_series(1, 100)"
pg_sql src two "CREATE TABLE c (id int); INSERT INTO c SELECT generate_series(1, 3000)"

copy() {
	pg_sql dst postgres "DROP DATABASE IF EXISTS one" 2>/dev/null
	pg_sql dst postgres "DROP DATABASE IF EXISTS two" 2>/dev/null
	run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --state-dir "$STATE" "$@" one two
}

PGCARRY_PROGRESS_INTERVAL_MS=100 copy --progress json
is "$RC" 0 "--progress json: exit 0"
json=$(grep '^{"progress"' <<<"$ERR")
ok "$([ -n "$json" ] && echo 0 || echo 1)" "--progress json writes JSON lines on stderr"
final=$(grep '"final":true' <<<"$json")
is "$(wc -l <<<"$final")" 1 "exactly one final JSON line"
is "$(perl -MJSON::PP -ne 'my $m = JSON::PP->new->decode($_); print join(" ", map { "$_->{database}:$_->{tables_done}/$_->{tables_total}:$_->{rows}" } @{$m->{databases}}), " total:$m->{total}{tables_done}/$m->{total}{tables_total}:$m->{total}{rows}"' <<<"$final")" \
	"one:2/2:20100 two:1/1:3000 total:3/3:23100" "the final line counts tables and rows per database and in total"
is "$(grep -v '^{' <<<"$ERR" | grep -c 'copy progress\|copy finished')" 0 "no log-style progress lines in json mode"
report=$OUT

PGCARRY_PROGRESS_INTERVAL_MS=100 copy --progress log
is "$RC" 0 "--progress log: exit 0"
like "$ERR" "pgcarry: copy finished: [0-9.]+ [kM]?B, 23100 rows, 3/3 tables, [0-9.]+ [kM]?B/s, [0-9]+s elapsed" "a final log line"
is "$(sed -e 's/ in [0-9.]* s//' <<<"$OUT")" "$(sed -e 's/ in [0-9.]* s//' <<<"$report")" "the report on stdout does not depend on the progress mode"

copy
is "$RC" 0 "--progress auto, stderr not a terminal: exit 0"
like "$ERR" "copy finished: .*3/3 tables" "auto without a terminal means log lines"
unlike "$ERR" $'\033\\[' "no terminal control sequences when stderr is not a terminal"

copy --progress none
is "$RC" 0 "--progress none: exit 0"
unlike "$ERR" "copy (progress|finished)" "--progress none: no progress at all"

# On a terminal: one line per database and one overall, redrawn in place.
pg_sql dst postgres "DROP DATABASE one"
pg_sql dst postgres "DROP DATABASE two"
pgcarry_tty "$T_TMP/tty.log" copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --state-dir "$STATE" one two
is "$RC" 0 "on a terminal: exit 0"
tty=$(cat "$T_TMP/tty.log")
like "$tty" "one +done .*rows +2/2 tables" "on a terminal: a line for the first database"
like "$tty" "two +done .*rows +1/1 tables" "on a terminal: a line for the second database"
like "$tty" "all databases +done .*23100 rows +3/3 tables" "on a terminal: an overall line"
like "$tty" $'\033\\[2K' "on a terminal: lines are redrawn in place"

# Bounded memory: ten times the data, about the same peak RSS.
pg_sql src postgres "CREATE DATABASE big"
pg_sql src big "CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 40000) g"
# rss ROWS: copies big; the peak RSS in kB lands in RSS.
rss() {
	pg_sql dst postgres "DROP DATABASE IF EXISTS big" 2>/dev/null
	run_pgcarry_via /usr/bin/time -f "%M" -o "$T_TMP/rss" -- copy --source "$(pg_uri src)" --target "$(pg_uri dst)" \
		--state-dir "$STATE" --progress none big
	is "$RC" 0 "copy of $1 rows exits 0"
	like "$OUT" "big +table public.t +$1 +$1 +equal +ok" "and all $1 rows were copied"
	RSS=$(cat "$T_TMP/rss")
}
rss 40000
small=$RSS
pg_sql src big "INSERT INTO t SELECT g, repeat(md5(g::text), 8) FROM generate_series(40001, 400000) g"
rss 400000
large=$RSS
note "peak RSS: $small kB for 40000 rows, $large kB for 400000 rows"
if nm -D "$PGCARRY" 2>/dev/null | grep -q __asan_init || ldd "$PGCARRY" | grep -q libasan; then
	# AddressSanitizer keeps freed memory in quarantine: RSS means nothing there.
	ok 0 "# SKIP peak memory is not measured on a sanitizer build"
else
	ok "$([ "$large" -lt $((small * 3 / 2)) ] && echo 0 || echo 1)" "ten times the rows do not make peak memory grow ($small kB, then $large kB)"
fi

done_testing
