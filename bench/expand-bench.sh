#!/usr/bin/env bash
# expand-bench.sh: what an expand/contract backfill costs a live application.
#
# On a throwaway server with the cat lovers club (1,000,000 members by
# default), the simulated application (bench/catapp.c, old version) runs at a
# fixed rate twice: once with nothing else going on (the baseline), once
# while "pgcarry schema start bench/cats.json" backfills the cats table.
# Reported: the backfill's throughput (rows/s) and the application's p50/p99
# statement latency in both runs.  Aims: p99 within 2x of the baseline,
# backfill at least 50,000 rows/s.
#
#   bash bench/expand-bench.sh
#   BENCH_ROWS=1000000 BENCH_BATCH=5000 BENCH_PAUSE=10ms BENCH_THREADS=4 BENCH_RATE=400 bash bench/expand-bench.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PGCARRY_BIN=${PGCARRY_BIN:-$ROOT/pgcarry}
[ -x "$PGCARRY_BIN" ] || { echo "expand-bench: build pgcarry first (make)" >&2; exit 1; }
source "$ROOT/tests/lib/harness.sh"

ROWS=${BENCH_ROWS:-1000000}
BATCH=${BENCH_BATCH:-5000}
PAUSE=${BENCH_PAUSE:-10ms}
THREADS=${BENCH_THREADS:-4}
RATE=${BENCH_RATE:-400}
BASE_SECONDS=${BENCH_BASE_SECONDS:-20}

pg_start bench "shared_buffers = 256MB" "max_wal_size = 4GB" "checkpoint_timeout = 30min" >/dev/null
pg_sql bench postgres "CREATE DATABASE club"
echo "expand-bench: loading $ROWS members"
pg_psql bench club -v rows="$ROWS" -f "$ROOT/bench/catclub.sql" >/dev/null 2>&1
# The load's dirty pages written out now, not during the baseline.
pg_sql bench club "CHECKPOINT" >/dev/null
URI=$(pg_uri bench club)
APPDB="host=$(pg_sockdir bench) port=$(pg_port bench) user=postgres dbname=club"
CATAPP=$T_TMP/catapp
cc -O2 -std=c11 -pthread -D_GNU_SOURCE -I"$(pg_config --includedir)" -o "$CATAPP" "$ROOT/bench/catapp.c" -lpq || exit 1
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
# The CPU counters of /proc/stat, and the share of time a virtual machine's
# CPUs were taken by its host (steal) between two readings: it makes
# latency figures noisy, so each window reports it.
cpu_now() { sed -n 's/^cpu  *//p' /proc/stat; }
steal_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { na = split(a, x, " "); split(b, y, " "); t = 0;
		for (i = 1; i <= 8 && i <= na; i++) t += y[i] - x[i];
		if (t > 0) printf "%.0f", 100 * (y[8] - x[8]) / t; else print "?" }'
}

echo "expand-bench: baseline, the application alone for ${BASE_SECONDS}s ($THREADS clients, $RATE tx/s)"
c0=$(cpu_now)
BASE=$(PGPASSFILE=$NO_PGPASS "$CATAPP" --db "$APPDB" --mode old --threads "$THREADS" --rate "$RATE" --seconds "$BASE_SECONDS")
base_steal=$(steal_pct "$c0" "$(cpu_now)")
echo "  $BASE"

echo "expand-bench: the same application during the backfill (batch size $BATCH, pause $PAUSE)"
PGPASSFILE=$NO_PGPASS "$CATAPP" --db "$APPDB" --mode old --threads "$THREADS" --rate "$RATE" >"$T_TMP/during.out" 2>"$T_TMP/during.err" &
APP=$!
sleep 2
c0=$(cpu_now)
: >"$T_TMP/start.err"
"$PGCARRY_BIN" schema start "$ROOT/bench/cats.json" --target "$URI" --batch-size "$BATCH" --pause "$PAUSE" \
	>"$T_TMP/start.out" 2>"$T_TMP/start.err" &
PGC=$!
# The application's window is the backfill itself: stop it when the backfill says done.
while kill -0 $PGC 2>/dev/null && ! grep -q ': done, ' "$T_TMP/start.err"; do sleep 0.2; done
during_steal=$(steal_pct "$c0" "$(cpu_now)")
kill -TERM $APP
wait $APP
wait $PGC
PGC_RC=$?
DURING=$(cat "$T_TMP/during.out")
echo "  $DURING"
cat "$T_TMP/start.err" "$T_TMP/start.out" | sed 's/^/  | /'

BACKFILL=$(sed -n 's/.*: done, \([0-9]*\) rows in \([0-9.]*\) s (\([0-9]*\) rows\/s).*/\1 \2 \3/p' "$T_TMP/start.err")
read -r bf_rows bf_secs bf_rate <<<"$BACKFILL"
b50=$(field p50_ms "$BASE"); b99=$(field p99_ms "$BASE")
d50=$(field p50_ms "$DURING"); d99=$(field p99_ms "$DURING")
ratio=$(awk -v a="$d99" -v b="$b99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
echo
echo "expand-bench results ($ROWS members, batch size $BATCH, pause $PAUSE, $THREADS clients at $RATE tx/s, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
walked=$(awk -v n="$ROWS" -v s="${bf_secs:-0}" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "?" }')
printf '  backfill:                      %s members walked in %s s = %s rows/s (%s cats copied = %s rows/s; the rest had no cat)\n' \
	"$ROWS" "${bf_secs:-?}" "$walked" "${bf_rows:-?}" "${bf_rate:-?}"
printf '  application p50 / p99 alone:   %s / %s ms (errors %s; CPU steal %s%%)\n' "$b50" "$b99" "$(field errors "$BASE")" "$base_steal"
printf '  application p50 / p99 during:  %s / %s ms (errors %s; CPU steal %s%%)\n' "$d50" "$d99" "$(field errors "$DURING")" "$during_steal"
printf '  p99 during / alone:            %s\n' "$ratio"
[ "$PGC_RC" = 0 ] || { echo "expand-bench: pgcarry schema start failed (exit $PGC_RC)"; exit 1; }
