#!/usr/bin/env bash
# profile.sh: where every CPU second of copy, export and import goes (run by
# `make bench-profile`), next to the anchors they are measured against.
#
# Two throwaway servers and the seven databases as in copy-bench.sh (same
# settings, bench/lib.sh), at BENCH_SCALE (default 0.2 here, about 230 MB:
# a whole run takes a few minutes on two shared cores).  Steps, one after
# the other in the same run (PROFILE_STEPS, default all):
#
#   guide     the migration guide's loop (pg_dump -F t, createdb, pg_restore)
#   copy      pgcarry copy --jobs N (default verification: full)
#   dump0     pg_dump -F d -j N -Z0, per database (the export anchor)
#   export    pgcarry export --jobs N
#   restore   pg_restore -j N of pg_dump's directory dumps (default compression)
#   import    pgcarry import --jobs N of export's archive
#   copy-before, export-before, import-before
#             the same with another pgcarry binary, PGCARRY_BEFORE (say, a
#             build of the commit before a change; PGCARRY_BEFORE_LABEL
#             names it), in the same run: the profile before and after side
#             by side.  Both imports load the archive of the last export.
#
# For each step, bench/procsample.pl reads /proc every PROFILE_INTERVAL
# seconds (default 0.2) and charges each process's CPU (utime + stime) to a
# phase and a process kind: server backends by the command in their process
# title (COPY, CREATE INDEX, ALTER TABLE, ANALYZE, SELECT, ...), on which
# server, and by the client program at the other end of their connection;
# parallel workers for their leader; checkpointer, WAL writer and
# background writer as server background; clients by program (pgcarry,
# pg_dump, pg_restore, others).  CPU of processes that lived less than one
# interval (short connections, small pg_dump runs) is counted from the
# step's totals (rusage of the client tree, the postmasters' reaped
# children) as "not sampled".  "wall s" of a phase is the time during which
# it used any CPU: phases overlap, so they do not add up to the step's wall.
#
# pgcarry's own CPU is split by what it runs (hashing, compression, libpq,
# the kernel's side of its sockets and files, ...) with `perf record -e
# cpu-clock` when perf works here (PROFILE_PERF=0 turns it off), and its
# log's timed phases (schema dumped, pre-data applied, tables copied,
# indexes built, post-data applied, verification) are summed.  Peak RSS of
# each pgcarry process itself (bench_rss_run in bench/lib.sh: VmHWM from
# /proc, not GNU time's, which counts pg_dump and pg_restore too).
#
#   make bench-profile
#   BENCH_SCALE=0.05 PROFILE_STEPS="copy import export" bash bench/profile.sh
#
# Prints the tables and writes them as markdown into bench/results/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${BENCH_SCALE:-0.2}
N=${BENCH_JOBS:-2}
STEPS=${PROFILE_STEPS:-guide copy dump0 export restore import}
DBS="accounts analysis filestore jobs metrics results results201709"
export PGCARRY_BIN=${PGCARRY_BIN:-$ROOT/pgcarry}
[ -x "$PGCARRY_BIN" ] || { echo "profile: build pgcarry first (make)" >&2; exit 1; }
BEFORE_BIN=${PGCARRY_BEFORE:-}
if [[ " $STEPS " == *-before* ]] && ! [ -x "$BEFORE_BIN" ]; then
	echo "profile: steps *-before need PGCARRY_BEFORE, the path of another pgcarry binary" >&2
	exit 2
fi

exec 3>&1 4>&2
# shellcheck source=../tests/lib/harness.sh
source "$ROOT/tests/lib/harness.sh"
exec 1>&3 2>&4 3>&- 4>&-
trap 'echo "profile: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

BENCH_NAME=profile
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"

PERF=""
if [ "${PROFILE_PERF:-1}" != 0 ] && command -v perf >/dev/null &&
	perf record -q -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
	PERF=perf
fi
PERF_PERIOD=2000000 # ns of CPU per perf sample (cpu-clock)

bench_start
DUMPDIR=$WORK/pg_dump
DUMP0DIR=$WORK/pg_dump0
ARCHIVE=$WORK/pgcarry-archive

# pgcarry_run NAME ARGS...: pgcarry under bench_rss_run (peak RSS in
# $WORK/NAME.rss) and, when it works, perf record ($WORK/NAME.perf).
pgcarry_run() {
	local name=$1
	shift
	local bin=$PGCARRY_BIN
	[[ $name == *-before ]] && bin=$BEFORE_BIN
	local cmd=("$bin" "$@")
	if [ -n "$PERF" ]; then
		cmd=(perf record -q -e cpu-clock -c "$PERF_PERIOD" -o "$WORK/$name.perf" -- "${cmd[@]}")
	fi
	bench_rss_run "$WORK/$name.rss" "${cmd[@]}" >"$WORK/$name.out" 2>"$WORK/$name.log"
}

step_guide() {
	local db
	for db in $DBS; do
		"$PG_DUMP" -F t -f "$WORK/$db.sql.tar" -d "$(src_uri "$db")"
		"$CREATEDB" -h 127.0.0.1 -p "$TGT_PORT" -U postgres "$db"
		"$PG_RESTORE" -d "$(tgt_uri "$db")" "$WORK/$db.sql.tar"
		rm -f "$WORK/$db.sql.tar"
	done
}
step_copy() { copy_as copy; }
step_copy-before() { copy_as copy-before; }
copy_as() {
	# shellcheck disable=SC2086
	pgcarry_run "$1" copy --source "$(pg_uri src)" --target "$(pg_uri tgt)" $DBS --jobs "$N"
}
step_dump0() {
	local db
	mkdir -p "$DUMP0DIR"
	for db in $DBS; do
		"$PG_DUMP" -F d -j "$N" -Z0 -f "$DUMP0DIR/$db" -d "$(src_uri "$db")"
	done
}
step_export() { export_as export; }
step_export-before() { export_as export-before; }
export_as() {
	rm -rf "$ARCHIVE"
	# shellcheck disable=SC2086
	pgcarry_run "$1" export --source "$(pg_uri src)" $DBS --output "$ARCHIVE" --jobs "$N"
}
step_restore() {
	local db
	for db in $DBS; do
		"$CREATEDB" -h 127.0.0.1 -p "$TGT_PORT" -U postgres "$db"
		"$PG_RESTORE" -j "$N" -d "$(tgt_uri "$db")" "$DUMPDIR/$db"
	done
}
step_import() { import_as import; }
step_import-before() { import_as import-before; }
import_as() {
	pgcarry_run "$1" import --target "$(pg_uri tgt)" --input "$ARCHIVE" --jobs "$N"
}

size_mb() { du -sb "$1" 2>/dev/null | awk '{ printf "%.1f", $1 / 1048576 }'; }

# ------------------------------------------------------------------- run

declare -A R_WALL=() R_CPU=() R_SRV=() R_LOAD=() R_NOTE=() R_SIZE=()

# profile_step NAME: the step measured (bench_measure) with the sampler
# running beside it; its phases in $WORK/NAME.phases.
profile_step() {
	local name=$1
	bench_say "$name: running"
	bench_sampler_start "$WORK/$name.phases"
	bench_measure "step_$name"
	bench_sampler_stop
	R_WALL[$name]=$M_WALL
	R_CPU[$name]=$M_CPU
	R_SRV[$name]=$M_SRV
	R_LOAD[$name]=$M_LOAD
	[ "$M_RC" = 0 ] || R_NOTE[$name]="exit status $M_RC"
	bench_say "$name: $M_WALL s wall, $M_CPU s client CPU, $M_SRV s server CPU${R_NOTE[$name]:+, ${R_NOTE[$name]}}"
	if [ "$M_RC" != 0 ] && [ -f "$WORK/$name.log" ]; then
		tail -n 15 "$WORK/$name.log" | sed 's/^/    /' >&2
	fi
}

for s in $STEPS; do
	case $s in
	guide | copy | dump0 | export | restore | import | copy-before | export-before | import-before) ;;
	*) bench_say "unknown step $s"; exit 2 ;;
	esac
done
for s in $STEPS; do
	case $s in
	guide | copy | copy-before) bench_drop_targets ;;
	restore)
		bench_drop_targets
		# pg_restore's input: pg_dump's directory dumps at their default
		# compression (not timed).
		if [ ! -d "$DUMPDIR" ]; then
			bench_say "restore: dumping its input with pg_dump -F d -j $N (not timed)"
			mkdir -p "$DUMPDIR"
			for db in $DBS; do "$PG_DUMP" -F d -j "$N" -f "$DUMPDIR/$db" -d "$(src_uri "$db")"; done
		fi
		;;
	import | import-before)
		bench_drop_targets
		if [ ! -d "$ARCHIVE" ]; then
			bench_say "import: exporting its input with pgcarry export (not timed)"
			# shellcheck disable=SC2086
			"$PGCARRY_BIN" export --source "$(pg_uri src)" $DBS --output "$ARCHIVE" --jobs "$N" >/dev/null 2>"$WORK/export-input.log"
		fi
		;;
	dump0 | export | export-before) pg_sql src postgres "CHECKPOINT" >/dev/null ;;
	esac
	profile_step "$s"
	case $s in
	dump0) R_SIZE[$s]=$(size_mb "$DUMP0DIR"); rm -rf "$DUMP0DIR" ;;
	export | export-before) R_SIZE[$s]=$(size_mb "$ARCHIVE") ;;
	esac
done
if [ -d "$DUMPDIR" ]; then R_SIZE[dump]=$(size_mb "$DUMPDIR"); fi

# ------------------------------------------------------------------ report

label() {
	case $1 in
	guide) echo "guide: pg_dump -F t, createdb, pg_restore" ;;
	copy) echo "pgcarry copy --jobs $N" ;;
	dump0) echo "pg_dump -F d -j $N -Z0" ;;
	export) echo "pgcarry export --jobs $N" ;;
	restore) echo "pg_restore -j $N (pg_dump -F d, default compression)" ;;
	import) echo "pgcarry import --jobs $N" ;;
	*-before) echo "$(label "${1%-before}") (before: $BEFORE_LABEL)" ;;
	esac
}
anchor() { case $1 in copy*) echo guide ;; export*) echo dump0 ;; import*) echo restore ;; esac; }
aim() { case $1 in copy*) echo "≤ 0.60x" ;; export*) echo "≤ 1.00x" ;; import*) echo "≤ 0.67x" ;; esac; }
BEFORE_LABEL=""
[ -n "$BEFORE_BIN" ] && BEFORE_LABEL=${PGCARRY_BEFORE_LABEL:-$BEFORE_BIN}

summary() {
	echo "| step | wall s | client CPU s | servers CPU s | all CPU s | pgcarry peak RSS MB | archive MB | wall / anchor (aim) | CPU / anchor | load at start |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|"
	local s a ratio cratio rss size
	for s in $STEPS; do
		[ -n "${R_WALL[$s]:-}" ] || continue
		a=$(anchor "$s")
		ratio="-" cratio="-" rss="-"
		if [ -n "$a" ] && [ -n "${R_WALL[$a]:-}" ]; then
			ratio=$(awk -v x="${R_WALL[$s]}" -v y="${R_WALL[$a]}" 'BEGIN { printf "%.2fx", x / y }')" of $a ($(aim "$s"))"
			cratio=$(awk -v x="${R_CPU[$s]}" -v xs="${R_SRV[$s]}" -v y="${R_CPU[$a]}" -v ys="${R_SRV[$a]}" 'BEGIN { printf "%.2fx", (x + xs) / (y + ys) }')
		fi
		[ -s "$WORK/$s.rss" ] && rss=$(($(cat "$WORK/$s.rss") / 1024))
		# restore's archive: pg_dump's compressed dumps it read, the size
		# export's archive is held to
		size=${R_SIZE[$s]:--}
		[ "$s" = restore ] && size=${R_SIZE[dump]:--}
		echo "| $(label "$s") | ${R_WALL[$s]} | ${R_CPU[$s]} | ${R_SRV[$s]} | $(awk -v a="${R_CPU[$s]}" -v b="${R_SRV[$s]}" 'BEGIN { printf "%.1f", a + b }') | $rss | $size | $ratio${R_NOTE[$s]:+ (${R_NOTE[$s]})} | $cratio | ${R_LOAD[$s]} |"
	done
}

# perf_split STEP: pgcarry's own CPU by what it runs, from perf's samples
# (one per PERF_PERIOD ns of CPU); pg_dump and pg_restore started by
# pgcarry are shown apart.
perf_split() {
	local s=$1 bin=$PGCARRY_BIN self
	[ -n "$PERF" ] && [ -s "$WORK/$s.perf" ] || return 0
	[[ $s == *-before ]] && bin=$BEFORE_BIN
	# The kernel's name of pgcarry's process: its file name, 15 bytes at most
	# (a copied binary, say pgcarry-5025c20, keeps its own name).
	self=$(basename "$bin" | cut -c1-15)
	perf report -i "$WORK/$s.perf" --stdio --no-children -n --sort comm,dso,sym 2>/dev/null |
		awk -v per="$PERF_PERIOD" -v self="$self" '
		/^#/ || NF < 5 { next }
		{
			n = $2; comm = $3; dso = $4; sym = $0; sub(/.*\] /, "", sym)
			if (comm != self) { what = comm " (started by pgcarry)" }
			else if (dso ~ /libzstd/) what = "compression, decompression (libzstd)"
			else if (dso ~ /libxxhash/ || sym ~ /XXH|rowhash/) what = "row hashing (xxHash)"
			else if (dso ~ /libcrypto/) what = "file checksums (SHA-256, libcrypto)"
			else if (dso ~ /libpq/) what = "libpq (protocol, COPY buffers)"
			else if (dso ~ /libarchive/) what = "libarchive"
			else if (dso ~ /kernel/) what = "kernel: system calls (sockets, files)"
			else if (dso ~ /libc/) what = "libc (memcpy, string handling, allocation)"
			else if (dso ~ /sqlite/) what = "SQLite (resume record)"
			else if (dso ~ /jansson/) what = "jansson (manifest, JSON)"
			else what = "pgcarry code (" dso ")"
			c[what] += n; tot += n
			if (comm == self) { top[sym " (" dso ")"] += n }
		}
		END {
			if (tot == 0) exit
			printf "| what pgcarry runs | CPU s | share |\n|---|---:|---:|\n"
			m = 0
			for (w in c) names[++m] = w
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (c[names[j]] > c[names[i]]) { t = names[i]; names[i] = names[j]; names[j] = t }
			for (i = 1; i <= m; i++) printf "| %s | %.1f | %.0f %% |\n", names[i], c[names[i]] * per / 1e9, 100 * c[names[i]] / tot
			m = 0
			for (w in top) tn[++m] = w
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (top[tn[j]] > top[tn[i]]) { t = tn[i]; tn[i] = tn[j]; tn[j] = t }
			printf "\nTop functions of pgcarry itself:"
			for (i = 1; i <= m && i <= 8; i++) printf " %s %.0f %%%s", tn[i], 100 * top[tn[i]] / tot, ((i < 8 && i < m) ? ";" : ".\n")
		}'
}

# log_phases STEP: pgcarry's log lines that time a phase, summed by kind.
log_phases() {
	local s=$1
	[ -s "$WORK/$s.log" ] || return 0
	awk '
		/ in [0-9.]+ s/ {
			line = $0
			match(line, / in [0-9.]+ s/)
			secs = substr(line, RSTART + 4, RLENGTH - 6) + 0
			k = ""
			if (line ~ /schema of .* dumped/) k = "schema dumped (pg_dump)"
			else if (line ~ /pre-data schema .*applied/) k = "pre-data applied"
			else if (line ~ /post-data schema applied/) k = "post-data applied"
			else if (line ~ /built in/) k = "indexes and constraints built"
			else if (line ~ /copied slice/) k = "table slices copied"
			else if (line ~ /copied/) k = "tables copied"
			else if (line ~ /verif/) k = "verification"
			else { k = line; sub(/^.*\] */, "", k); sub(/ in [0-9.]+ s.*/, "", k); gsub(/[0-9]+/, "N", k); gsub(/"[^"]*"/, "X", k) }
			sum[k] += secs; cnt[k]++
		}
		END {
			m = 0
			for (k in sum) names[++m] = k
			if (m == 0) exit
			printf "| pgcarry log: timed phase | count | seconds summed over jobs |\n|---|---:|---:|\n"
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (sum[names[j]] > sum[names[i]]) { t = names[i]; names[i] = names[j]; names[j] = t }
			for (i = 1; i <= m; i++) printf "| %s | %d | %.1f |\n", names[i], cnt[names[i]], sum[names[i]]
		}' "$WORK/$s.log"
}

mkdir -p "$ROOT/bench/results"
stamp=$(date -u +%Y%m%d-%H%M%S)
result=$ROOT/bench/results/profile-$stamp.md
{
	echo "# pgcarry profile, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Seven databases at scale $SCALE: $TOTAL_MB MB on the source (pg_database_size). N = $N."
	bench_machine
	echo "Command: \`BENCH_SCALE=$SCALE BENCH_JOBS=$N PROFILE_STEPS=\"$STEPS\"${BEFORE_BIN:+ PGCARRY_BEFORE=$BEFORE_BIN} bash bench/profile.sh\`"
	echo
	summary
	echo
	echo "All CPU: client process tree (rusage) + both servers (/proc). CPU / anchor: all CPU over the anchor's."
	for s in $STEPS; do
		[ -s "$WORK/$s.phases" ] || continue
		echo
		echo "## $(label "$s"): CPU seconds by phase and process kind"
		echo
		bench_phases "$WORK/$s.phases" "${R_CPU[$s]}" "${R_SRV[$s]}"
		if [ -n "$(perf_split "$s")" ]; then
			echo
			perf_split "$s"
		fi
		if [ -n "$(log_phases "$s")" ]; then
			echo
			log_phases "$s"
		fi
	done
	echo
	echo "Phases of server backends come from the command in their process title and the statement in pg_stat_activity, on which server, and which client program holds the connection;"
	echo "\"wall s\" is the time during which the phase used CPU (phases overlap). Sampled every $BENCH_INTERVAL s by bench/procsample.pl."
	[ -n "$PERF" ] && echo "pgcarry's split: perf record -e cpu-clock, one sample per $((PERF_PERIOD / 1000000)) ms of CPU."
} >"$result"
echo
cat "$result"
echo
bench_say "written to ${result#"$ROOT"/}"
