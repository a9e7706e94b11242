#!/usr/bin/env bash
# copy-bench.sh: pgcarry copy against the other ways of moving the guide's
# seven databases from one server to another, on the same data, one method
# after the other in the same run (run by `make bench`).
#
# Two throwaway local servers (tests/lib/harness.sh) get the same settings;
# tests/fixtures/seven.sh builds the seven databases on the source at
# BENCH_SCALE (1 = about 1.1 GB).  Then, with the target's seven databases
# dropped (and a CHECKPOINT) before each method, each method moves all seven:
#
#   guide        the migration guide: per database pg_dump -F t to a file,
#                createdb, pg_restore, delete the file; one after another
#   dump-dir-jN  per database pg_dump -F d -j N (its default gzip
#                compression), createdb, pg_restore -j N, delete the directory
#   floor        about the least work any tool can do: per database the
#                schema's pre-data (pg_dump -s | pg_restore --section=pre-data),
#                then every table piped through two psql's, COPY TO STDOUT
#                (FORMAT binary) -> COPY FROM STDIN (FORMAT binary), N at a
#                time, large objects and sequences, then post-data with
#                pg_restore -j N
#   pgcarry      pgcarry copy --jobs N (default verification: full)
#   pgcarry-count  pgcarry copy --jobs N --verify count
#
# Every method connects over TCP with a password from a private PGPASSFILE,
# as the guide's servers would.  For each: wall seconds; CPU seconds of the
# whole client process tree (rusage of waited-for children, via bash's
# `times`); CPU seconds of both servers (postmaster and its children, from
# /proc/PID/stat before and after); the ratio of its wall time to pgcarry's;
# pgcarry's peak RSS (its own VmHWM polled from /proc; bench_rss_run in
# bench/lib.sh); and a check, not
# timed, that the target holds as many tables, rows and large objects as
# the source.  No method is given an advantage: the same servers, the same
# data, caches warm from the build.
#
#   bash bench/copy-bench.sh
#   BENCH_SCALE=0.05 BENCH_JOBS=2 bash bench/copy-bench.sh
#   BENCH_METHODS="floor pgcarry-count" bash bench/copy-bench.sh
#
# Prints the table and writes it as markdown into bench/results/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${BENCH_SCALE:-1}
N=${BENCH_JOBS:-2}
METHODS=${BENCH_METHODS:-guide dump-dir floor pgcarry pgcarry-count}
DBS="accounts analysis filestore jobs metrics results results201709"
export PGCARRY_BIN=${PGCARRY_BIN:-$ROOT/pgcarry}
[ -x "$PGCARRY_BIN" ] || { echo "copy-bench: build pgcarry first (make)" >&2; exit 1; }

exec 3>&1 4>&2
# shellcheck source=../tests/lib/harness.sh
source "$ROOT/tests/lib/harness.sh"
exec 1>&3 2>&4 3>&- 4>&-
trap 'echo "copy-bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM


BENCH_NAME=copy-bench
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
bench_start

# ------------------------------------------------------------------ methods

method_guide() {
	local db
	for db in $DBS; do
		"$PG_DUMP" -F t -f "$WORK/$db.sql.tar" -d "$(src_uri "$db")"
		"$CREATEDB" -h 127.0.0.1 -p "$TGT_PORT" -U postgres "$db"
		"$PG_RESTORE" -d "$(tgt_uri "$db")" "$WORK/$db.sql.tar"
		rm -f "$WORK/$db.sql.tar"
	done
}

method_dump-dir() {
	local db
	for db in $DBS; do
		"$PG_DUMP" -F d -j "$N" -f "$WORK/$db.dir" -d "$(src_uri "$db")"
		"$CREATEDB" -h 127.0.0.1 -p "$TGT_PORT" -U postgres "$db"
		"$PG_RESTORE" -j "$N" -d "$(tgt_uri "$db")" "$WORK/$db.dir"
		rm -rf "$WORK/$db.dir"
	done
}

# floor_table DB TABLE: one table, binary COPY piped between two psql's.
floor_table() {
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "postgresql://postgres@127.0.0.1:$SRC_PORT/$1" \
		-c "COPY $2 TO STDOUT (FORMAT binary)" |
		"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "postgresql://postgres@127.0.0.1:$TGT_PORT/$1" \
			-c "COPY $2 FROM STDIN (FORMAT binary)"
	local st=("${PIPESTATUS[@]}")
	[ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ]
}
export -f floor_table

method_floor() {
	local db
	for db in $DBS; do
		"$PG_DUMP" -F c -s -f "$WORK/$db.schema" -d "$(src_uri "$db")"
		"$CREATEDB" -h 127.0.0.1 -p "$TGT_PORT" -U postgres "$db"
		"$PG_RESTORE" --section=pre-data -d "$(tgt_uri "$db")" "$WORK/$db.schema"
		# Every table with rows of its own (partitions, not their parents),
		# largest first, N at a time.
		"$PSQL" -X -At -d "$(src_uri "$db")" -c "
			SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
			ORDER BY pg_total_relation_size(c.oid) DESC" |
			tr '\n' '\0' | xargs -0 -r -P "$N" -I{} bash -c 'floor_table "$1" "$2"' _ "$db" {}
		# Large objects (none in most databases): oid and contents in one
		# binary COPY, written with lo_from_bytea.
		if [ "$("$PSQL" -X -At -d "$(src_uri "$db")" -c "SELECT count(*) > 0 FROM pg_largeobject_metadata")" = t ]; then
			"$PSQL" -X -q -d "$(src_uri "$db")" -c "COPY (SELECT oid, lo_get(oid) FROM pg_largeobject_metadata) TO STDOUT (FORMAT binary)" |
				"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(tgt_uri "$db")" \
					-c "CREATE TEMP TABLE lo_in (o oid, d bytea)" \
					-c "COPY lo_in FROM STDIN (FORMAT binary)" \
					-c "SELECT count(lo_from_bytea(o, d)) FROM lo_in" >/dev/null
		fi
		# Sequences.
		"$PSQL" -X -At -d "$(src_uri "$db")" -c "
			SELECT format('SELECT setval(%L, %s, true);', format('%I.%I', schemaname, sequencename), last_value)
			FROM pg_sequences WHERE last_value IS NOT NULL" |
			"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(tgt_uri "$db")" >/dev/null
		"$PG_RESTORE" --section=post-data -j "$N" -d "$(tgt_uri "$db")" "$WORK/$db.schema"
		# A schema-only dump leaves materialized views empty: refresh those
		# that are populated on the source, as a full restore would.
		"$PSQL" -X -At -d "$(src_uri "$db")" -c "
			SELECT format('REFRESH MATERIALIZED VIEW %I.%I;', schemaname, matviewname) FROM pg_matviews WHERE ispopulated" |
			"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(tgt_uri "$db")" >/dev/null
		rm -f "$WORK/$db.schema"
	done
}

# run_pgcarry_copy NAME EXTRA...: pgcarry copy, its peak RSS in $WORK/rss.
run_pgcarry_copy() {
	local log=$WORK/pgcarry.$1.log out=$WORK/pgcarry.$1.out
	shift
	# shellcheck disable=SC2086
	bench_rss_run "$WORK/rss" "$PGCARRY_BIN" copy --source "$(pg_uri src)" --target "$(pg_uri tgt)" \
		$DBS --jobs "$N" "$@" >"$out" 2>"$log"
}

method_pgcarry() { run_pgcarry_copy full; }
method_pgcarry-count() { run_pgcarry_copy count --verify count; }

# ------------------------------------------------------------------- run

SOURCE_CENSUS=$(bench_census src)
declare -A R_WALL=() R_CPU=() R_SRV=() R_CHECK=() R_NOTE=() R_LOAD=()
PGCARRY_RSS=""
PGCARRY_COUNT_RSS=""
for m in $METHODS; do
	case $m in
	guide | dump-dir | floor | pgcarry | pgcarry-count) ;;
	*) bench_say "unknown method $m"; exit 2 ;;
	esac
	if [[ $m == pgcarry* ]] && ! bench_available copy; then
		bench_say "$m: pgcarry copy is not available in this build; skipped"
		R_NOTE[$m]="not available in this build"
		continue
	fi
	bench_drop_targets
	bench_say "$m: running"
	bench_measure "method_$m"
	R_WALL[$m]=$M_WALL
	R_CPU[$m]=$M_CPU
	R_SRV[$m]=$M_SRV
	R_LOAD[$m]=$M_LOAD
	if [ "$M_RC" != 0 ]; then
		R_NOTE[$m]="exit status $M_RC"
	fi
	if [ "$(bench_census tgt)" = "$SOURCE_CENSUS" ]; then R_CHECK[$m]="same"; else R_CHECK[$m]="DIFFERENT"; fi
	case $m in
	pgcarry) PGCARRY_RSS=$(cat "$WORK/rss" 2>/dev/null || true) ;;
	pgcarry-count) PGCARRY_COUNT_RSS=$(cat "$WORK/rss" 2>/dev/null || true) ;;
	esac
	bench_say "$m: ${R_WALL[$m]} s wall, ${R_CPU[$m]} s client CPU, ${R_SRV[$m]} s server CPU, target ${R_CHECK[$m]}${R_NOTE[$m]:+, ${R_NOTE[$m]}}"
	if [[ $m == pgcarry* ]] && [ "$M_RC" != 0 ]; then
		# Keep what pgcarry said, next to the results.
		kind=$([ "$m" = pgcarry ] && echo full || echo count)
		mkdir -p "$ROOT/bench/results"
		keep=$ROOT/bench/results/copy-$(date -u +%Y%m%d-%H%M%S)-$m
		cp "$WORK/pgcarry.$kind.log" "$keep.log" 2>/dev/null || true
		cp "$WORK/pgcarry.$kind.out" "$keep.out" 2>/dev/null || true
		bench_say "$m: exit status $M_RC; its report and log are kept in ${keep#"$ROOT"/}.{out,log}; what it reported:"
		grep -Ev ' ok$|^$' "$WORK/pgcarry.$kind.out" 2>/dev/null | head -n 30 | sed 's/^/    /' >&2 || true
		grep -E 'error|warning|differ' "$WORK/pgcarry.$kind.log" 2>/dev/null | head -n 15 | sed 's/^/    /' >&2 || true
	fi
done

# ------------------------------------------------------------------ report

label() {
	case $1 in
	guide) echo "guide: pg_dump -F t, createdb, pg_restore, rm" ;;
	dump-dir) echo "pg_dump -F d -j $N / pg_restore -j $N" ;;
	floor) echo "floor: binary COPY → COPY through psql, $N at a time" ;;
	pgcarry) echo "pgcarry copy --jobs $N" ;;
	pgcarry-count) echo "pgcarry copy --jobs $N --verify count" ;;
	esac
}

base=${R_WALL[pgcarry]:-}
table() {
	echo "| method | wall s | MB/s | client CPU s | servers CPU s | wall / pgcarry | target | load at start |"
	echo "|---|---:|---:|---:|---:|---:|---|---:|"
	local m ratio mbs
	for m in $METHODS; do
		if [ -z "${R_WALL[$m]:-}" ]; then
			echo "| $(label "$m") | - | - | - | - | - | ${R_NOTE[$m]:-} | |"
			continue
		fi
		ratio="-"
		[ -n "$base" ] && ratio=$(awk -v a="${R_WALL[$m]}" -v b="$base" 'BEGIN { printf "%.2fx", a / b }')
		mbs=$(awk -v mb="$TOTAL_MB" -v s="${R_WALL[$m]}" 'BEGIN { printf "%.0f", mb / s }')
		echo "| $(label "$m") | ${R_WALL[$m]} | $mbs | ${R_CPU[$m]} | ${R_SRV[$m]} | $ratio | ${R_CHECK[$m]}${R_NOTE[$m]:+ (${R_NOTE[$m]})} | ${R_LOAD[$m]} |"
	done
}

mkdir -p "$ROOT/bench/results"
stamp=$(date -u +%Y%m%d-%H%M%S)
result=$ROOT/bench/results/copy-$stamp.md
{
	echo "# pgcarry copy benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Seven databases at scale $SCALE: $TOTAL_MB MB on the source (pg_database_size). N = $N."
	bench_machine
	echo "Command: \`BENCH_SCALE=$SCALE BENCH_JOBS=$N bash bench/copy-bench.sh\`"
	echo
	table
	echo
	if [ -n "$PGCARRY_RSS" ]; then
		echo "pgcarry copy peak RSS: $((PGCARRY_RSS / 1024)) MB (default verification), measured by $BENCH_RSS_HOW."
	fi
	if [ -n "$PGCARRY_COUNT_RSS" ]; then
		echo "pgcarry copy --verify count peak RSS: $((PGCARRY_COUNT_RSS / 1024)) MB."
	fi
	if [ -n "$base" ] && [ -n "${R_WALL[guide]:-}" ]; then
		echo "The guide's way takes $(awk -v a="${R_WALL[guide]}" -v b="$base" 'BEGIN { printf "%.2f", a / b }')x as long as pgcarry copy (aim: at least 1.5x)."
	fi
	if [ -n "${R_WALL[pgcarry-count]:-}" ] && [ -n "${R_WALL[floor]:-}" ]; then
		echo "pgcarry copy --verify count takes $(awk -v a="${R_WALL[pgcarry-count]}" -v b="${R_WALL[floor]}" 'BEGIN { printf "%.2f", a / b }')x the floor's time (aim: within 1.1x)."
	fi
	echo
	echo "Client CPU: the whole client process tree (pg_dump, pg_restore, psql, pgcarry and their children)."
	echo "Servers CPU: source and target postmasters and all their backends, from /proc."
	echo "Target: tables, rows and large objects of the seven databases counted on both sides after the method."
	echo "Load at start: the machine's 1-minute load average when the method started; wall times are comparable only at similar loads (CPU seconds are steadier)."
} >"$result"
echo
cat "$result"
echo
bench_say "written to ${result#"$ROOT"/}"
