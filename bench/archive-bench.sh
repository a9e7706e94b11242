#!/usr/bin/env bash
# archive-bench.sh: pgcarry export / import against pg_dump -F d -j N /
# pg_restore -j N, on the seven databases (issue 4, item 8).
#
# Two throwaway local servers (tests/lib/harness.sh, same settings for
# both); tests/fixtures/seven.sh builds the seven databases on the source at
# BENCH_SCALE (1 = about 1.1 GB).  Then, one after the other in the same run:
#
#   pg_dump      per database pg_dump -F d -j N into one directory each,
#                with the best compression this PostgreSQL's pg_dump offers
#                (zstd when pg_dump --help lists it, PostgreSQL 16 and later;
#                otherwise gzip at pg_dump's default level, as on
#                PostgreSQL 15: said in the results)
#   pg_restore   per database createdb, pg_restore -j N
#   pgcarry export   pgcarry export --source URI DB... --output DIR --jobs N
#                    (its default compression)
#   pgcarry import   pgcarry import --target URI --input DIR --jobs N
#
# The target's seven databases are dropped (and both servers checkpointed)
# before each import.  For each step: wall seconds, CPU seconds of the
# client process tree and of both servers, and the archive's size on disk
# (du); after each import, a check (not timed) that the target holds the
# source's tables, rows and large objects.  Ratios compare each pgcarry step
# with its pg_dump/pg_restore counterpart.  While pgcarry export or import
# is not in the build, its rows say so and the pg_dump side is still timed.
#
#   bash bench/archive-bench.sh
#   BENCH_SCALE=0.05 BENCH_JOBS=2 bash bench/archive-bench.sh
#
# Prints the table and writes it as markdown into bench/results/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${BENCH_SCALE:-1}
N=${BENCH_JOBS:-2}
DBS="accounts analysis filestore jobs metrics results results201709"
export PGCARRY_BIN=${PGCARRY_BIN:-$ROOT/pgcarry}
[ -x "$PGCARRY_BIN" ] || { echo "archive-bench: build pgcarry first (make)" >&2; exit 1; }

exec 3>&1 4>&2
# shellcheck source=../tests/lib/harness.sh
source "$ROOT/tests/lib/harness.sh"
exec 1>&3 2>&4 3>&- 4>&-
trap 'echo "archive-bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

BENCH_NAME=archive-bench
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"

# The best compression pg_dump offers here.
if "$PG_DUMP" --help | grep -q 'compress=METHOD'; then
	DUMP_Z=(-Z zstd)
	DUMP_Z_NOTE="zstd (pg_dump -Z zstd)"
else
	DUMP_Z=()
	DUMP_Z_NOTE="gzip at pg_dump's default level: this pg_dump ($("$PG_DUMP" --version | awk '{ print $3 }')) offers gzip only (-Z 0-9); zstd and lz4 came with PostgreSQL 16"
fi

bench_start

DUMPDIR=$WORK/pg_dump
ARCHIVE=$WORK/pgcarry-archive

# ------------------------------------------------------------------ steps

step_pg_dump() {
	local db
	mkdir -p "$DUMPDIR"
	for db in $DBS; do
		"$PG_DUMP" -F d -j "$N" "${DUMP_Z[@]}" -f "$DUMPDIR/$db" -d "$(src_uri "$db")"
	done
}

step_pg_restore() {
	local db
	for db in $DBS; do
		"$CREATEDB" -h 127.0.0.1 -p "$TGT_PORT" -U postgres "$db"
		"$PG_RESTORE" -j "$N" -d "$(tgt_uri "$db")" "$DUMPDIR/$db"
	done
}

step_pgcarry_export() {
	# shellcheck disable=SC2086
	bench_rss_run "$WORK/rss.export" "$PGCARRY_BIN" export --source "$(pg_uri src)" $DBS \
		--output "$ARCHIVE" --jobs "$N" >"$WORK/export.out" 2>"$WORK/export.log"
}

step_pgcarry_import() {
	bench_rss_run "$WORK/rss.import" "$PGCARRY_BIN" import --target "$(pg_uri tgt)" --input "$ARCHIVE" \
		--jobs "$N" >"$WORK/import.out" 2>"$WORK/import.log"
}

size_mb() { du -sb "$1" 2>/dev/null | awk '{ printf "%.1f", $1 / 1048576 }'; }

# ------------------------------------------------------------------- run

SOURCE_CENSUS=$(bench_census src)
declare -A R_WALL=() R_CPU=() R_SRV=() R_SIZE=() R_CHECK=() R_NOTE=() R_RSS=() R_LOAD=()

run_step() {
	local key=$1 fn=$2
	bench_say "$key: running"
	bench_measure "$fn"
	R_WALL[$key]=$M_WALL
	R_CPU[$key]=$M_CPU
	R_SRV[$key]=$M_SRV
	R_LOAD[$key]=$M_LOAD
	[ "$M_RC" = 0 ] || R_NOTE[$key]="exit status $M_RC"
	bench_say "$key: $M_WALL s wall, $M_CPU s client CPU, $M_SRV s server CPU${R_NOTE[$key]:+, ${R_NOTE[$key]}}"
}

check_target() {
	if [ "$(bench_census tgt)" = "$SOURCE_CENSUS" ]; then R_CHECK[$1]="same as the source"; else R_CHECK[$1]="DIFFERENT"; fi
}

# pg_dump / pg_restore
pg_sql src postgres "CHECKPOINT" >/dev/null
run_step pg_dump step_pg_dump
R_SIZE[pg_dump]=$(size_mb "$DUMPDIR")
bench_drop_targets
run_step pg_restore step_pg_restore
check_target pg_restore
rm -rf "$DUMPDIR"

# pgcarry export / import
if bench_available export; then
	pg_sql src postgres "CHECKPOINT" >/dev/null
	run_step export step_pgcarry_export
	R_SIZE[export]=$(size_mb "$ARCHIVE")
	R_RSS[export]=$(cat "$WORK/rss.export" 2>/dev/null || true)
	if [ "${R_NOTE[export]:-}" != "" ]; then
		bench_say "export: last lines of its log:"
		tail -n 15 "$WORK/export.log" | sed 's/^/    /' >&2
	fi
else
	bench_say "pgcarry export is not available in this build: only the pg_dump side is timed"
	R_NOTE[export]="pgcarry export is not available in this build"
fi
if bench_available import && [ -d "$ARCHIVE" ] && [ -z "${R_NOTE[export]:-}" ]; then
	bench_drop_targets
	run_step import step_pgcarry_import
	R_RSS[import]=$(cat "$WORK/rss.import" 2>/dev/null || true)
	check_target import
	if [ "${R_NOTE[import]:-}" != "" ]; then
		bench_say "import: last lines of its log:"
		tail -n 15 "$WORK/import.log" | sed 's/^/    /' >&2
	fi
elif ! bench_available import; then
	bench_say "pgcarry import is not available in this build"
	R_NOTE[import]="pgcarry import is not available in this build"
else
	R_NOTE[import]="not run: no archive from pgcarry export"
fi

# ------------------------------------------------------------------ report

label() {
	case $1 in
	pg_dump) echo "pg_dump -F d -j $N (${DUMP_Z[*]:-gzip default})" ;;
	pg_restore) echo "pg_restore -j $N" ;;
	export) echo "pgcarry export --jobs $N" ;;
	import) echo "pgcarry import --jobs $N" ;;
	esac
}
ratio() { # ratio A B: A's wall time over B's
	if [ -n "${R_WALL[$1]:-}" ] && [ -n "${R_WALL[$2]:-}" ]; then
		awk -v a="${R_WALL[$1]}" -v b="${R_WALL[$2]}" 'BEGIN { printf "%.2fx", a / b }'
	else
		echo "-"
	fi
}

table() {
	echo "| step | wall s | MB/s | client CPU s | servers CPU s | archive MB | pg_dump side / pgcarry | result | load at start |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|---:|"
	local k r mbs
	for k in pg_dump export pg_restore import; do
		case $k in
		pg_dump | export) r=$(ratio pg_dump export) ;;
		*) r=$(ratio pg_restore import) ;;
		esac
		if [ -z "${R_WALL[$k]:-}" ]; then
			echo "| $(label "$k") | - | - | - | - | - | - | ${R_NOTE[$k]:-} | |"
			continue
		fi
		mbs=$(awk -v mb="$TOTAL_MB" -v s="${R_WALL[$k]}" 'BEGIN { printf "%.0f", mb / s }')
		echo "| $(label "$k") | ${R_WALL[$k]} | $mbs | ${R_CPU[$k]} | ${R_SRV[$k]} | ${R_SIZE[$k]:-} | $r | ${R_CHECK[$k]:-}${R_NOTE[$k]:+ ${R_NOTE[$k]}} | ${R_LOAD[$k]} |"
	done
}

mkdir -p "$ROOT/bench/results"
stamp=$(date -u +%Y%m%d-%H%M%S)
result=$ROOT/bench/results/archive-$stamp.md
{
	echo "# pgcarry export/import benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Seven databases at scale $SCALE: $TOTAL_MB MB on the source (pg_database_size). N = $N."
	bench_machine
	echo "Command: \`BENCH_SCALE=$SCALE BENCH_JOBS=$N bash bench/archive-bench.sh\`"
	echo
	table
	echo
	echo "pg_dump's compression: $DUMP_Z_NOTE."
	if [ -n "${R_RSS[export]:-}" ]; then
		echo "pgcarry export peak RSS: $((R_RSS[export] / 1024)) MB; measured by $BENCH_RSS_HOW."
	fi
	if [ -n "${R_RSS[import]:-}" ]; then
		echo "pgcarry import peak RSS: $((R_RSS[import] / 1024)) MB."
	fi
	echo "Aims (issue 4): export and import each at least 1.5x faster than pg_dump/pg_restore, with an archive no larger."
	echo
	echo "Client CPU: the whole client process tree (pg_dump and its workers, pg_restore, pgcarry)."
	echo "Servers CPU: source and target postmasters and all their backends, from /proc."
	echo "Result: tables, rows and large objects of the seven databases counted on both sides after the import."
	echo "Load at start: the machine's 1-minute load average when the step started; wall times are comparable only at similar loads."
} >"$result"
echo
cat "$result"
echo
bench_say "written to ${result#"$ROOT"/}"
