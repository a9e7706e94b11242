#!/usr/bin/env bash
# many-tables.sh: cost that grows as the number of tables grows, and no
# faster (run by `make bench-many-tables`).
#
# Two throwaway servers (bench/lib.sh's settings, with max_locks_per_
# transaction raised so that one transaction can lock every table, as
# pg_dump and pgcarry do).  For each size in BENCH_TABLES (default "10000
# 30000"), one database "many" on the source holds that many small tables
# (an integer key, a text column, BENCH_ROWS rows each, default 3), and
# these run one after the other:
#
#   pg_dump -s             pg_dump --schema-only -F c alone: the reading of
#                          the schema that every method pays (pgcarry dumps
#                          its DDL with pg_dump too), as a floor
#   pg_dump | pg_restore   pg_dump -F c | pg_restore -d (the anchor)
#   pgcarry copy           pgcarry copy --jobs N
#   pgcarry export         pgcarry export --jobs N
#   pgcarry import         pgcarry import --jobs N of that archive
#   copy-before, export-before, import-before
#                          (only when asked for in BENCH_METHODS) the same
#                          with another binary, PGCARRY_BEFORE: before and
#                          after a change side by side (both imports load
#                          the archive of the last export)
#
# For each: wall seconds, CPU seconds (client tree and both servers),
# pgcarry's peak RSS, and a check that the target has as many tables and
# rows as the source; for the largest size, where the CPU went by phase
# and process kind (bench/procsample.pl, as in profile.sh).  Then the growth from the smallest size to each
# larger one: time ratio over table ratio (aim: at most 1.1, i.e. 11x the
# time for 10x the tables).
#
#   make bench-many-tables
#   BENCH_TABLES="10000 100000" bash bench/many-tables.sh   (about 20 minutes)
#
# Prints the table and writes it as markdown into bench/results/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${BENCH_TABLES:-10000 30000}
ROWS=${BENCH_ROWS:-3}
N=${BENCH_JOBS:-2}
METHODS=${BENCH_METHODS:-schema pg_dump copy export import}
export PGCARRY_BIN=${PGCARRY_BIN:-$ROOT/pgcarry}
[ -x "$PGCARRY_BIN" ] || { echo "many-tables: build pgcarry first (make)" >&2; exit 1; }

# The servers' data directories go to memory (BENCH_DIR, default /dev/shm
# when it is a tmpfs with room): with tens of thousands of tables each step
# creates and deletes hundreds of thousands of files, and on a disk
# filesystem what that costs the kernel depends on what was deleted just
# before (other steps, other work on the machine), not on pgcarry.
# BENCH_DIR=/tmp (or any directory) puts them on disk instead.
BENCH_DIR=${BENCH_DIR:-}
if [ -z "$BENCH_DIR" ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] &&
	[ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((8 * 1024 * 1024)) ]; then
	BENCH_DIR=/dev/shm
fi
[ -n "$BENCH_DIR" ] && export TMPDIR=$BENCH_DIR
BENCH_WHERE="${TMPDIR:-/tmp} ($(stat -f -c %T "${TMPDIR:-/tmp}" 2>/dev/null || echo '?'))"

exec 3>&1 4>&2
# shellcheck source=../tests/lib/harness.sh
source "$ROOT/tests/lib/harness.sh"
exec 1>&3 2>&4 3>&- 4>&-
trap 'echo "many-tables: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

BENCH_NAME=many-tables
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"

largest=0
for n in $SIZES; do [ "$n" -gt "$largest" ] && largest=$n; done
# Locks: pg_dump and pgcarry each hold one per table (and index) in one
# transaction; the lock table has max_locks_per_transaction *
# max_connections slots.
LOCKS=$(((largest * 3) / 100 + 64))
bench_say "starting two servers ($(pg_config --version))"
# WAL kept to 1 GB a server: in memory, 100,000 tables take about 4 GB a
# database already.
pg_start src "${BENCH_SETTINGS[@]}" "max_locks_per_transaction = $LOCKS" "max_wal_size = 1GB"
pg_start tgt "${BENCH_SETTINGS[@]}" "max_locks_per_transaction = $LOCKS" "max_wal_size = 1GB"
SRC_PORT=$(pg_port src)
TGT_PORT=$(pg_port tgt)
export SRC_PORT TGT_PORT PGPASSFILE
WORK=$T_TMP/work
mkdir -p "$WORK"
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK"; fi
CLK_TCK=$(getconf CLK_TCK)
DBS=many

# build N: database "many" on the source with N small tables.
build() {
	local n=$1
	pg_sql src postgres "DROP DATABASE IF EXISTS many" >/dev/null
	pg_sql src postgres "CREATE DATABASE many" >/dev/null
	# 1000 tables per transaction, in one session.
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sockdir src)" -p "$SRC_PORT" -U postgres -d many <<-SQL >/dev/null
		SELECT format('BEGIN; %s COMMIT;', string_agg(format(
			'CREATE TABLE t%s (id int PRIMARY KEY, v text); INSERT INTO t%s SELECT g, ''row '' || g FROM generate_series(1, $ROWS) g;', i, i), ' '))
		FROM generate_series(1, $n) i GROUP BY (i - 1) / 1000 ORDER BY (i - 1) / 1000
		\gexec
		VACUUM ANALYZE;
	SQL
}

drop_target() {
	PGOPTIONS="-c client_min_messages=warning" pg_sql tgt postgres "DROP DATABASE IF EXISTS many WITH (FORCE)" >/dev/null
	pg_sql tgt postgres "CHECKPOINT" >/dev/null
	pg_sql src postgres "CHECKPOINT" >/dev/null
}

census() {
	pg_sql "$1" many "SELECT count(*) || ' tables, ' || sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', relname), false, true, '')))[1]::text::bigint) || ' rows'
		FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace" 2>/dev/null || echo missing
}

method_pg_dump() {
	"$CREATEDB" -h 127.0.0.1 -p "$TGT_PORT" -U postgres many
	# The pipeline under bench_rss_run: its .tree figure is the larger of
	# pg_dump's and pg_restore's peaks.
	# shellcheck disable=SC2016 # expanded by the inner bash
	bench_rss_run "$WORK/rss.pg_dump.sh" bash -c '"$1" -F c -d "$2" | "$3" -d "$4"' pipeline \
		"$PG_DUMP" "$(pg_uri src many)" "$PG_RESTORE" "$(pg_uri tgt many)"
}
method_schema() {
	"$PG_DUMP" --schema-only -F c -f "$WORK/schema.dump" -d "$(pg_uri src many)"
	rm -f "$WORK/schema.dump"
}
method_copy() { copy_with "$PGCARRY_BIN" copy; }
method_copy-before() { copy_with "$PGCARRY_BEFORE" copy-before; }
copy_with() {
	bench_rss_run "$WORK/rss.$2" "$1" copy --source "$(pg_uri src)" --target "$(pg_uri tgt)" many \
		--jobs "$N" >"$WORK/$2.out" 2>"$WORK/$2.log"
}
method_export() { export_with "$PGCARRY_BIN" export; }
method_export-before() { export_with "$PGCARRY_BEFORE" export-before; }
export_with() {
	rm -rf "$WORK/archive"
	bench_rss_run "$WORK/rss.$2" "$1" export --source "$(pg_uri src)" many \
		--output "$WORK/archive" --jobs "$N" >"$WORK/$2.out" 2>"$WORK/$2.log"
}
method_import() { import_with "$PGCARRY_BIN" import; }
method_import-before() { import_with "$PGCARRY_BEFORE" import-before; }
import_with() {
	bench_rss_run "$WORK/rss.$2" "$1" import --target "$(pg_uri tgt)" --input "$WORK/archive" \
		--jobs "$N" >"$WORK/$2.out" 2>"$WORK/$2.log"
}

declare -A R_WALL=() R_CPU=() R_SRV=() R_RSS=() R_TREE=() R_CHECK=() R_LOAD=() R_NOTE=()
# The methods once each, for the report (a method asked for twice is
# reported by its last run).
SHOWN=$(tr ' ' '\n' <<<"$METHODS" | awk 'NF && !seen[$0]++' | tr '\n' ' ')
for n in $SIZES; do
	bench_say "building $n tables of $ROWS rows"
	t0=$(date +%s)
	build "$n"
	bench_say "built in $(($(date +%s) - t0)) s"
	SOURCE_CENSUS=$(census src)
	for m in $METHODS; do
		case $m in
		pg_dump | copy | copy-before | import | import-before) drop_target ;;
		schema | export | export-before) pg_sql src postgres "CHECKPOINT" >/dev/null ;;
		*) bench_say "unknown method $m"; exit 2 ;;
		esac
		bench_say "$n tables, $m: running"
		rm -f "$WORK/rss.$m" "$WORK/rss.$m.tree" "$WORK/rss.pg_dump.sh.tree"
		bench_sampler_start "$WORK/phases.$n.$m"
		bench_measure "method_$m"
		bench_sampler_stop
		k="$n $m"
		R_WALL[$k]=$M_WALL R_CPU[$k]=$M_CPU R_SRV[$k]=$M_SRV R_LOAD[$k]=$M_LOAD
		[ "$M_RC" = 0 ] || R_NOTE[$k]="exit status $M_RC"
		R_RSS[$k]=$(cat "$WORK/rss.$m" 2>/dev/null || true)
		R_TREE[$k]=$(cat "$WORK/rss.$m.tree" 2>/dev/null || true)
		[ "$m" = pg_dump ] && R_TREE[$k]=$(cat "$WORK/rss.pg_dump.sh.tree" 2>/dev/null || true)
		case $m in
		schema | export | export-before) R_CHECK[$k]="" ;;
		*) if [ "$(census tgt)" = "$SOURCE_CENSUS" ]; then R_CHECK[$k]=same; else R_CHECK[$k]=DIFFERENT; fi ;;
		esac
		bench_say "$n tables, $m: $M_WALL s wall, $M_CPU s client CPU, $M_SRV s server CPU${R_NOTE[$k]:+, ${R_NOTE[$k]}} ${R_CHECK[$k]}"
		if [ "$M_RC" != 0 ] && [ -f "$WORK/$m.log" ]; then tail -n 10 "$WORK/$m.log" | sed 's/^/    /' >&2; fi
	done
done

label() {
	case $1 in
	schema) echo "pg_dump --schema-only -F c (the schema read alone)" ;;
	pg_dump) echo "pg_dump -F c \| pg_restore" ;;
	copy) echo "pgcarry copy --jobs $N" ;;
	copy-before | export-before | import-before)
		echo "pgcarry ${1%-before} --jobs $N (before: ${PGCARRY_BEFORE_LABEL:-$PGCARRY_BEFORE})" ;;
	export) echo "pgcarry export --jobs $N" ;;
	import) echo "pgcarry import --jobs $N" ;;
	esac
}

table() {
	echo "| tables | method | wall s | client CPU s | servers CPU s | ms per table | wall / pg_dump \| pg_restore | pgcarry peak RSS MB | peak RSS of the tree MB | target | load at start |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
	local n m k r rss tree
	for n in $SIZES; do
		for m in $SHOWN; do
			k="$n $m"
			[ -n "${R_WALL[$k]:-}" ] || continue
			r="-"
			[ "$m" != pg_dump ] && [ -n "${R_WALL[$n pg_dump]:-}" ] && r=$(awk -v a="${R_WALL[$k]}" -v b="${R_WALL[$n pg_dump]}" 'BEGIN { printf "%.2fx", a / b }')
			rss="-"
			[ -n "${R_RSS[$k]}" ] && rss=$((R_RSS[$k] / 1024))
			tree="-"
			[ -n "${R_TREE[$k]}" ] && tree=$((R_TREE[$k] / 1024))
			echo "| $n | $(label "$m") | ${R_WALL[$k]} | ${R_CPU[$k]} | ${R_SRV[$k]} | $(awk -v a="${R_WALL[$k]}" -v n="$n" 'BEGIN { printf "%.2f", 1000 * a / n }') | $r | $rss | $tree | ${R_CHECK[$k]}${R_NOTE[$k]:+ (${R_NOTE[$k]})} | ${R_LOAD[$k]} |"
		done
	done
}

growth() {
	local first n m
	first=${SIZES%% *}
	echo "| method | from | to | tables ×| wall × | CPU × | wall × / tables × (aim ≤ 1.1) | peak RSS × |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for n in $SIZES; do
		[ "$n" = "$first" ] && continue
		for m in $SHOWN; do
			[ -n "${R_WALL[$n $m]:-}" ] && [ -n "${R_WALL[$first $m]:-}" ] || continue
			awk -v m="$(label "$m")" -v f="$first" -v n="$n" -v w1="${R_WALL[$first $m]}" -v w2="${R_WALL[$n $m]}" \
				-v c1="$(awk -v a="${R_CPU[$first $m]}" -v b="${R_SRV[$first $m]}" 'BEGIN { print a + b }')" \
				-v c2="$(awk -v a="${R_CPU[$n $m]}" -v b="${R_SRV[$n $m]}" 'BEGIN { print a + b }')" \
				-v r1="${R_RSS[$first $m]:-0}" -v r2="${R_RSS[$n $m]:-0}" 'BEGIN {
				printf "| %s | %d | %d | %.1f | %.2f | %.2f | %.2f | %s |\n", m, f, n, n / f, w2 / w1, c2 / c1, (w2 / w1) / (n / f),
					(r1 > 0 ? sprintf("%.2f", r2 / r1) : "-") }'
		done
	done
}

mkdir -p "$ROOT/bench/results"
stamp=$(date -u +%Y%m%d-%H%M%S)
result=$ROOT/bench/results/many-tables-$stamp.md
{
	echo "# many small tables, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "One database, $ROWS rows per table (integer key, text). N = $N."
	bench_machine
	echo "Servers' data directories under $BENCH_WHERE."
	echo "Command: \`BENCH_TABLES=\"$SIZES\" BENCH_ROWS=$ROWS BENCH_JOBS=$N bash bench/many-tables.sh\`"
	echo
	table
	echo
	growth
	for m in $SHOWN; do
		[ -s "$WORK/phases.$largest.$m" ] || continue
		echo
		echo "### $largest tables, $(label "$m"): CPU seconds by phase and process kind (bench/procsample.pl)"
		echo
		bench_phases "$WORK/phases.$largest.$m" "${R_CPU[$largest $m]}" "${R_SRV[$largest $m]}"
	done
	echo
	echo "Peak RSS measured by $BENCH_RSS_HOW; the tree's: the largest of pgcarry and the programs it ran (for pg_dump \\| pg_restore: the larger of the two). Target: tables and rows counted on both sides after the method."
} >"$result"
echo
cat "$result"
echo
bench_say "written to ${result#"$ROOT"/}"
