#!/usr/bin/env bash
# scale.sh: the seven databases at two (or more) sizes, to see that time per
# GB and pgcarry's peak memory stay flat as the data grows (run by `make
# bench-scale`).
#
# Two throwaway servers (bench/lib.sh's settings).  For each scale in
# BENCH_SCALES (default "0.1 0.5": the issue asks for 1 and 5, which take
# an hour on two shared cores; BENCH_SCALES="1 5" runs them), the seven
# databases are built on the source at that scale, then, one after the
# other: pgcarry copy, pgcarry export, pgcarry import (of that archive),
# each --jobs N with default verification, the target's databases dropped
# before each.  For each: wall and CPU seconds (client tree and both
# servers), seconds per GB of the source's databases, and pgcarry's own
# peak RSS (bench_rss_run in bench/lib.sh).  Then, from the smallest scale to each larger one: the ratio of
# seconds per GB and of peak RSS (aim: both about 1).
#
#   make bench-scale
#   BENCH_SCALES="1 5" bash bench/scale.sh
#
# Prints the table and writes it as markdown into bench/results/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALES=${BENCH_SCALES:-0.1 0.5}
N=${BENCH_JOBS:-2}
STEPS="copy export import"
DBS="accounts analysis filestore jobs metrics results results201709"
export PGCARRY_BIN=${PGCARRY_BIN:-$ROOT/pgcarry}
[ -x "$PGCARRY_BIN" ] || { echo "scale: build pgcarry first (make)" >&2; exit 1; }

exec 3>&1 4>&2
# shellcheck source=../tests/lib/harness.sh
source "$ROOT/tests/lib/harness.sh"
exec 1>&3 2>&4 3>&- 4>&-
trap 'echo "scale: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

BENCH_NAME=scale
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"

SCALE=${SCALES%% *}
bench_start
ARCHIVE=$WORK/archive

step_copy() {
	# shellcheck disable=SC2086
	bench_rss_run "$WORK/rss.copy" "$PGCARRY_BIN" copy --source "$(pg_uri src)" --target "$(pg_uri tgt)" $DBS \
		--jobs "$N" >"$WORK/copy.out" 2>"$WORK/copy.log"
}
step_export() {
	rm -rf "$ARCHIVE"
	# shellcheck disable=SC2086
	bench_rss_run "$WORK/rss.export" "$PGCARRY_BIN" export --source "$(pg_uri src)" $DBS \
		--output "$ARCHIVE" --jobs "$N" >"$WORK/export.out" 2>"$WORK/export.log"
}
step_import() {
	bench_rss_run "$WORK/rss.import" "$PGCARRY_BIN" import --target "$(pg_uri tgt)" --input "$ARCHIVE" \
		--jobs "$N" >"$WORK/import.out" 2>"$WORK/import.log"
}

declare -A R_WALL=() R_CPU=() R_MB=() R_RSS=() R_LOAD=() R_NOTE=() R_CHECK=()
first=1
for sc in $SCALES; do
	if [ "$first" = 0 ]; then
		bench_say "building the seven databases at scale $sc"
		t0=$(date +%s)
		bash "$ROOT/tests/fixtures/seven.sh" --host "$(pg_sockdir src)" --port "$SRC_PORT" --scale "$sc" --jobs 2 --drop
		bench_say "built in $(($(date +%s) - t0)) s"
	fi
	first=0
	bytes=$(pg_sql src postgres "SELECT sum(pg_database_size(datname)) FROM pg_database WHERE datname IN ($DBLIST)")
	R_MB[$sc]=$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
	SOURCE_CENSUS=$(bench_census src)
	for s in $STEPS; do
		case $s in
		export) pg_sql src postgres "CHECKPOINT" >/dev/null ;;
		*) bench_drop_targets ;;
		esac
		bench_say "scale $sc, $s: running"
		rm -f "$WORK/rss.$s"
		bench_measure "step_$s"
		k="$sc $s"
		R_WALL[$k]=$M_WALL
		R_CPU[$k]=$(awk -v a="$M_CPU" -v b="$M_SRV" 'BEGIN { printf "%.1f", a + b }')
		R_LOAD[$k]=$M_LOAD
		R_RSS[$k]=$(cat "$WORK/rss.$s" 2>/dev/null || echo 0)
		[ "$M_RC" = 0 ] || R_NOTE[$k]="exit status $M_RC"
		R_CHECK[$k]=""
		if [ "$s" != export ]; then
			if [ "$(bench_census tgt)" = "$SOURCE_CENSUS" ]; then R_CHECK[$k]=same; else R_CHECK[$k]=DIFFERENT; fi
		fi
		bench_say "scale $sc, $s: $M_WALL s wall, ${R_CPU[$k]} s CPU, peak RSS $((R_RSS[$k] / 1024)) MB ${R_CHECK[$k]}${R_NOTE[$k]:+ ${R_NOTE[$k]}}"
	done
done

table() {
	echo "| scale | MB | step | wall s | CPU s (all) | wall s per GB | CPU s per GB | pgcarry peak RSS MB | target | load at start |"
	echo "|---:|---:|---|---:|---:|---:|---:|---:|---|---:|"
	local sc s k
	for sc in $SCALES; do
		for s in $STEPS; do
			k="$sc $s"
			[ -n "${R_WALL[$k]:-}" ] || continue
			awk -v sc="$sc" -v mb="${R_MB[$sc]}" -v s="pgcarry $s --jobs $N" -v w="${R_WALL[$k]}" -v c="${R_CPU[$k]}" -v r="${R_RSS[$k]}" \
				-v chk="${R_CHECK[$k]}${R_NOTE[$k]:+ (${R_NOTE[$k]})}" -v l="${R_LOAD[$k]}" 'BEGIN {
				printf "| %s | %d | %s | %.1f | %.1f | %.1f | %.1f | %d | %s | %s |\n", sc, mb, s, w, c, w * 1024 / mb, c * 1024 / mb, r / 1024, chk, l }'
		done
	done
}
growth() {
	local lo=${SCALES%% *} sc s
	echo "| step | from scale | to scale | data × | wall per GB × | CPU per GB × | peak RSS × |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for sc in $SCALES; do
		[ "$sc" = "$lo" ] && continue
		for s in $STEPS; do
			[ -n "${R_WALL[$sc $s]:-}" ] && [ -n "${R_WALL[$lo $s]:-}" ] || continue
			awk -v s="pgcarry $s" -v lo="$lo" -v hi="$sc" -v m1="${R_MB[$lo]}" -v m2="${R_MB[$sc]}" \
				-v w1="${R_WALL[$lo $s]}" -v w2="${R_WALL[$sc $s]}" -v c1="${R_CPU[$lo $s]}" -v c2="${R_CPU[$sc $s]}" \
				-v r1="${R_RSS[$lo $s]}" -v r2="${R_RSS[$sc $s]}" 'BEGIN {
				printf "| %s | %s | %s | %.1f | %.2f | %.2f | %s |\n", s, lo, hi, m2 / m1, (w2 / m2) / (w1 / m1), (c2 / m2) / (c1 / m1),
					(r1 > 0 ? sprintf("%.2f", r2 / r1) : "-") }'
		done
	done
}

mkdir -p "$ROOT/bench/results"
stamp=$(date -u +%Y%m%d-%H%M%S)
result=$ROOT/bench/results/scale-$stamp.md
{
	echo "# the seven databases at scales $SCALES, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	bench_machine
	echo "Command: \`BENCH_SCALES=\"$SCALES\" BENCH_JOBS=$N bash bench/scale.sh\`"
	echo
	table
	echo
	growth
	echo
	echo "CPU s (all): the client process tree and both servers. Peak RSS measured by $BENCH_RSS_HOW."
	echo "Target: tables, rows and large objects of the seven databases counted on both sides after the step."
} >"$result"
echo
cat "$result"
echo
bench_say "written to ${result#"$ROOT"/}"
