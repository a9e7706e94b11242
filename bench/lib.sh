# bench/lib.sh: what copy-bench.sh and archive-bench.sh share: two local
# servers with the same settings, the seven databases, and measuring a step
# (wall time, CPU of the client process tree, CPU of both servers).
# Sourced after tests/lib/harness.sh, with ROOT, SCALE and DBS set.

# PostgreSQL's own binaries, not Debian's wrapper scripts (a perl start-up
# per call would weigh on the methods that call psql per table).
PSQL=$PG_BINDIR/psql
PG_DUMP=$PG_BINDIR/pg_dump
PG_RESTORE=$PG_BINDIR/pg_restore
CREATEDB=$PG_BINDIR/createdb
export PSQL

BENCH_SETTINGS=("shared_buffers = 256MB" "max_wal_size = 4GB" "checkpoint_timeout = 30min"
	"maintenance_work_mem = 256MB" "max_connections = 100")

bench_say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }

# bench_start: the source (src) and target (tgt) servers, the seven
# databases on the source, a work directory.  Sets SRC_PORT, TGT_PORT,
# TOTAL_MB, WORK, DBLIST.
bench_start() {
	bench_say "starting two servers ($(pg_config --version))"
	pg_start src "${BENCH_SETTINGS[@]}"
	pg_start tgt "${BENCH_SETTINGS[@]}"
	SRC_PORT=$(pg_port src)
	TGT_PORT=$(pg_port tgt)
	export SRC_PORT TGT_PORT PGPASSFILE

	bench_say "building the seven databases at scale $SCALE"
	local t0
	t0=$(date +%s)
	bash "$ROOT/tests/fixtures/seven.sh" --host "$(pg_sockdir src)" --port "$SRC_PORT" --scale "$SCALE" --jobs 2
	bench_say "built in $(($(date +%s) - t0)) s"
	DBLIST=$(printf "'%s'," $DBS)
	DBLIST=${DBLIST%,}
	local bytes
	bytes=$(pg_sql src postgres "SELECT sum(pg_database_size(datname)) FROM pg_database WHERE datname IN ($DBLIST)")
	TOTAL_MB=$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }')

	WORK=$T_TMP/work
	mkdir -p "$WORK"
	if [ "$(id -u)" = 0 ]; then chown postgres "$WORK"; fi
	CLK_TCK=$(getconf CLK_TCK)
}

src_uri() { pg_uri src "$1"; }
tgt_uri() { pg_uri tgt "$1"; }

# bench_drop_targets: the seven databases dropped on the target, and both
# servers checkpointed, so that every method starts from the same state.
bench_drop_targets() {
	local db
	for db in $DBS; do
		PGOPTIONS="-c client_min_messages=warning" pg_sql tgt postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
	done
	pg_sql tgt postgres "CHECKPOINT" >/dev/null
	pg_sql src postgres "CHECKPOINT" >/dev/null
}

# _bench_children_cpu FILE: user+sys seconds from the second line of bash's
# `times` saved in FILE (all waited-for children and their descendants).
_bench_children_cpu() {
	tail -n 1 "$1" | awk '{
		s = 0
		for (i = 1; i <= NF; i++) { m = $i; sub(/s$/, "", m); split(m, p, "m"); s += p[1] * 60 + p[2] }
		printf "%.2f", s }'
}

# _bench_server_ticks: clock ticks used by both servers: each postmaster's
# own and reaped children's (utime stime cutime cstime), plus its live
# children's.
_bench_server_ticks() {
	local name pm sum=0 pid rest
	for name in src tgt; do
		pm=$(head -n 1 "$T_TMP/$name/data/postmaster.pid")
		for pid in "$pm" $(pgrep -P "$pm" || true); do
			rest=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
			rest=${rest##*) }
			# fields after "pid (comm) ": utime stime cutime cstime are 12..15
			sum=$((sum + $(awk '{ print $12 + $13 + $14 + $15 }' <<<"$rest")))
		done
	done
	echo "$sum"
}

# bench_measure FUNCTION [ARGS...]: runs FUNCTION in a subshell with set -e
# (it stops at its first failing command); sets M_WALL, M_CPU, M_SRV
# (seconds, one decimal), M_RC, and M_LOAD (the 1-minute load average when
# it started: other work on the machine makes wall times longer).  Must be called in the main shell, not in
# a command substitution, for the CPU figures to be right.
bench_measure() {
	local t0 t1 s0 s1
	M_LOAD=$(cut -d' ' -f1 /proc/loadavg)
	times >"$WORK/times0"
	s0=$(_bench_server_ticks)
	t0=$(date +%s%N)
	set +e
	(
		set -e
		"$@"
	)
	M_RC=$?
	set -e
	t1=$(date +%s%N)
	s1=$(_bench_server_ticks)
	times >"$WORK/times1"
	M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	M_CPU=$(awk -v a="$(_bench_children_cpu "$WORK/times0")" -v b="$(_bench_children_cpu "$WORK/times1")" 'BEGIN { printf "%.1f", b - a }')
	M_SRV=$(awk -v a="$s0" -v b="$s1" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (b - a) / hz }')
}

# bench_sampler_start FILE: bench/procsample.pl in the background, charging
# the CPU of the client tree (this script's descendants) and of both
# servers to phases until bench_sampler_stop, which writes FILE.  Every
# BENCH_INTERVAL seconds (PROFILE_INTERVAL, default 0.2).
BENCH_INTERVAL=${PROFILE_INTERVAL:-0.2}
bench_sampler_start() {
	perl "$ROOT/bench/procsample.pl" "$1" "$BENCH_INTERVAL" "$$" \
		"$(head -n 1 "$T_TMP/src/data/postmaster.pid")" "$(head -n 1 "$T_TMP/tgt/data/postmaster.pid")" \
		"host=$(pg_sockdir src) port=$(pg_port src) user=postgres dbname=postgres" \
		"host=$(pg_sockdir tgt) port=$(pg_port tgt) user=postgres dbname=postgres" &
	BENCH_SAMPLER=$!
}
bench_sampler_stop() {
	kill -TERM "$BENCH_SAMPLER"
	wait "$BENCH_SAMPLER" || true
}

# bench_phases FILE CLIENT_CPU SERVER_CPU: a markdown table of CPU seconds
# per phase and process kind from the sampler's FILE, with what it did not
# see (short-lived processes) from the step's totals (bench_measure's
# M_CPU and M_SRV).
bench_phases() {
	awk -F'\t' -v hz="$CLK_TCK" -v ccpu="$2" -v scpu="$3" '
		$1 == "cpu" { cpu[$2 "\t" $3] += $4 / hz; ph[$2] = 1; kind[$3] = 1; tot[$2] += $4 / hz; ktot[$3] += $4 / hz }
		$1 == "wall" { wall[$2] = $3 }
		$1 == "seen" { seen[$2] = $3 / hz }
		END {
			nk = 0
			# the kinds in a fixed order, those present only
			n = split("pgcarry,pg_dump,pg_restore,other clients,source backends,target backends,server background", ko, ",")
			for (i = 1; i <= n; i++) if (ko[i] in kind) kk[++nk] = ko[i]
			printf "| phase | wall s |"
			for (i = 1; i <= nk; i++) printf " %s |", kk[i]
			printf " all |\n|---|---:|"
			for (i = 1; i <= nk; i++) printf "---:|"
			printf "---:|\n"
			# phases by CPU, largest first
			m = 0
			for (p in ph) names[++m] = p
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (tot[names[j]] > tot[names[i]]) { t = names[i]; names[i] = names[j]; names[j] = t }
			all = 0
			for (i = 1; i <= m; i++) {
				p = names[i]
				printf "| %s | %.1f |", p, wall[p]
				for (k = 1; k <= nk; k++) { v = cpu[p "\t" kk[k]]; printf " %s |", (v > 0 ? sprintf("%.1f", v) : "") }
				printf " %.1f |\n", tot[p]
				all += tot[p]
			}
			cl = seen["pgcarry"] + seen["pg_dump"] + seen["pg_restore"] + seen["other clients"]
			sv = seen["src"] + seen["tgt"]
			printf "| not sampled (processes shorter than one sample): clients %.1f, servers %.1f | |", ccpu - cl, scpu - sv
			for (k = 1; k <= nk; k++) printf " |"
			printf " %.1f |\n", ccpu - cl + scpu - sv
			printf "| **all** | |"
			for (k = 1; k <= nk; k++) printf " %.1f |", ktot[kk[k]]
			printf " %.1f |\n", ccpu + scpu
		}' "$1"
}


# bench_census SERVER: tables, rows and large objects of each of the seven
# databases, one line per database ("missing" when it does not exist).
bench_census() {
	local db
	for db in $DBS; do
		printf '%s ' "$db"
		pg_sql "$1" "$db" "
			SELECT count(*) || ' tables ' ||
			       coalesce(sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM ONLY %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint), 0) || ' rows ' ||
			       (SELECT count(*) FROM pg_largeobject_metadata) || ' large objects'
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'" 2>/dev/null ||
			echo "missing"
	done
}

# bench_available COMMAND: 0 when "pgcarry COMMAND" is in this build.
bench_available() {
	local help
	help=$("$PGCARRY_BIN" "$1" --help 2>&1 || true)
	! grep -q "is not available in this build" <<<"$help"
}

# bench_rss_run RSSFILE CMD...: runs CMD, writing the peak RSS in kB of
# the pgcarry process it starts (itself, or under a wrapper such as perf)
# to RSSFILE: VmHWM, read from /proc every 50 ms while it runs; and, with
# GNU time, the peak of the whole tree (pgcarry or any program it ran,
# pg_dump and pg_restore among them) to RSSFILE.tree.  GNU time alone
# would not do for the first: the maximum it reports is that of the
# process or of any child it waited for, whichever is larger, and pg_dump
# of many tables is larger.  BENCH_RSS_HOW says how.
BENCH_RSS_HOW="VmHWM of the pgcarry process itself, read from /proc every 50 ms"
[ -x /usr/bin/time ] && BENCH_RSS_HOW="$BENCH_RSS_HOW (the programs it ran, pg_dump and pg_restore, apart: GNU time)"
# _bench_find_pgcarry PID: PID or the first of its descendants (breadth
# first) that runs a pgcarry binary (PGCARRY_BIN or PGCARRY_BEFORE, by the
# file it executes, whatever it is named), or nothing.  Always succeeds:
# a process that exits during the walk is skipped, and never ends the
# step it measures (under set -e a failed read here once did, leaving
# pgcarry running on behind the next step).
_bench_find_pgcarry() {
	local queue=("$1") p exe want=() kids
	[ -n "${PGCARRY_BIN:-}" ] && want+=("$(readlink -f "$PGCARRY_BIN" 2>/dev/null || true)")
	[ -n "${PGCARRY_BEFORE:-}" ] && want+=("$(readlink -f "$PGCARRY_BEFORE" 2>/dev/null || true)")
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		exe=$(readlink "/proc/$p/exe" 2>/dev/null || true)
		for w in "${want[@]}"; do
			if [ -n "$exe" ] && [ "$exe" = "$w" ]; then
				echo "$p"
				return 0
			fi
		done
		kids=$(cat /proc/"$p"/task/*/children 2>/dev/null || true)
		# shellcheck disable=SC2206
		queue+=($kids)
	done
	return 0
}
bench_rss_run() {
	local rssfile=$1
	shift
	local timer=()
	rm -f "$rssfile.tree.raw"
	[ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%M' -o "$rssfile.tree.raw")
	# The watch below runs inside the measured step, and its CPU is charged
	# to it (bash's `times`), so it starts no process per sample: it sleeps
	# with read's timeout on a FIFO nobody writes and reads VmHWM with
	# bash's own read.  It looks for a pgcarry process only when CMD names
	# a pgcarry binary (not for pg_dump | pg_restore), and stops looking
	# after 2 s.
	local look=0 a w bins=()
	[ -n "${PGCARRY_BIN:-}" ] && bins+=("$PGCARRY_BIN")
	[ -n "${PGCARRY_BEFORE:-}" ] && bins+=("$PGCARRY_BEFORE")
	for a in "$@"; do for w in "${bins[@]}"; do [ "$a" = "$w" ] && look=40; done; done
	"${timer[@]}" "$@" &
	local pid=$! own="" hwm="" k v rc=0 fifo=$rssfile.tick fd
	rm -f "$fifo"
	mkfifo -m 600 "$fifo"
	exec {fd}<>"$fifo"
	rm -f "$fifo"
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$own" ] && [ "$look" -gt 0 ]; then
			own=$(_bench_find_pgcarry "$pid")
			look=$((look - 1))
		fi
		if [ -n "$own" ]; then
			while read -r k v _; do
				[ "$k" = VmHWM: ] && hwm=$v && break
			done 2>/dev/null <"/proc/$own/status" || true
		fi
		read -r -t 0.05 -u "$fd" _ || true
	done
	exec {fd}<&-
	wait "$pid" || rc=$?
	echo "$hwm" >"$rssfile"
	if [ -f "$rssfile.tree.raw" ]; then tail -n 1 "$rssfile.tree.raw" | tr -cd 0-9 >"$rssfile.tree"; fi
	return "$rc"
}

# bench_binary_label: which pgcarry is measured: the checkout's commit, or
# the path of another binary given as PGCARRY_BIN.
bench_binary_label() {
	if [ -n "${PGCARRY_BIN:-}" ] && [ "$PGCARRY_BIN" != "$ROOT/pgcarry" ]; then
		echo "$PGCARRY_BIN"
	else
		git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'
	fi
}

# bench_machine: one line describing where the figures come from.
bench_machine() {
	echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; $(pg_config --version);" \
		"pgcarry $(bench_binary_label); both servers and the client on this machine;" \
		"load average before the run: $BENCH_LOAD_BEFORE."
}
BENCH_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
