#!/usr/bin/env bash
# follow-bench.sh: the downtime of a move of the guide's seven databases,
# the guide's way against pgcarry copy --follow + cutover, in the same run
# (run by `make bench-follow`).
#
# Two throwaway local servers (tests/lib/harness.sh, bench/lib.sh) and the
# seven databases at BENCH_SCALE (1 = about 1.1 GB).  Tables that have no
# primary key get REPLICA IDENTITY FULL on the source first (the preflight
# of copy --follow asks for it; the guide's way does not care).
#
#   guide    per database pg_dump -F t, createdb, pg_restore, delete the
#            file, one after another, with no load: the application is down
#            for the whole of it, so its wall time is the guide's downtime
#   follow   a steady application load on all seven databases (per
#            database one session, BENCH_RATE transactions a second, each
#            an UPDATE, an INSERT and a DELETE on one of its tables with an
#            integer key), then pgcarry copy --follow --jobs N, sampled
#            every second: the WAL each slot holds beyond what its target
#            confirmed (the lag, in MB; the largest of the seven), until
#            every slot is within 1 MB of the source (caught up: copy
#            --follow itself returns only then, so this is the sampler's
#            own check of it); then pgcarry cutover --verify count, and its
#            fenced seconds
#   follow   the same again (the fence lifted, the targets dropped), ended
#   (full)   by pgcarry cutover --verify full
#
# After each cutover, with the load stopped and the fence lifted (it is a
# database setting on the source: the one intended difference), the
# independent checker (tests/lib/dbcheck.sh) compares every database
# of the target with the fenced source, and both servers' catalogs are
# searched for anything of pgcarry's follow mode left behind.
#
# Writes the table as markdown into bench/results/follow-STAMP.md, the lag
# samples into follow-STAMP.dat and the lag over time drawn by gnuplot
# (gnuplot-nox) into follow-STAMP.png and bench/follow-lag.png
# (the one README shows).
#
#   bash bench/follow-bench.sh
#   BENCH_SCALE=0.1 BENCH_RATE=5 bash bench/follow-bench.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${BENCH_SCALE:-1}
N=${BENCH_JOBS:-2}
RATE=${BENCH_RATE:-10}
DBS="accounts analysis filestore jobs metrics results results201709"
export PGCARRY_BIN=${PGCARRY_BIN:-$ROOT/pgcarry}
[ -x "$PGCARRY_BIN" ] || { echo "follow-bench: build pgcarry first (make)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "follow-bench: gnuplot is missing (scripts/deps.sh installs gnuplot-nox)" >&2; exit 1; }

exec 3>&1 4>&2
# shellcheck source=../tests/lib/harness.sh
source "$ROOT/tests/lib/harness.sh"
exec 1>&3 2>&4 3>&- 4>&-
trap 'echo "follow-bench: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

BENCH_NAME=follow-bench
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=../tests/lib/dbcheck.sh
source "$ROOT/tests/lib/dbcheck.sh"
# Seven subscriptions on the target: seven apply workers.
BENCH_SETTINGS+=("max_logical_replication_workers = 10" "max_worker_processes = 20")
bench_start

for db in $DBS; do
	pg_sql src "$db" "SELECT format('ALTER TABLE %s REPLICA IDENTITY FULL', c.oid::regclass)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND c.relreplident = 'd' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname !~ '^pg_' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)" |
		while read -r stmt; do pg_sql src "$db" "$stmt"; done
done

# ------------------------------------------------------------------ load

# load_tables DB: the tables of DB with an integer column "id" that is its
# primary key (partitioned tables as a whole), one per line.
load_tables() {
	pg_sql src "$1" "SELECT c.oid::regclass FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND i.indnatts = 1 AND a.attname = 'id'
		  AND a.atttypid IN ('int4'::regtype, 'int8'::regtype) ORDER BY 1"
}

# load_session DB STOPFILE: one application session on DB: RATE
# transactions a second until STOPFILE exists or the session is ended (the
# cutover's fence).  Each one updates a row, inserts a copy of it under a
# new key and deletes that copy's predecessor; one that fails (a foreign
# key, a unique column) changes nothing.
load_session() {
	local db=$1 stop=$2 tables i=0 t
	mapfile -t tables < <(load_tables "$db")
	local PAUSE
	PAUSE=$(awk -v r="$RATE" 'BEGIN { printf "%.3f", 1 / r }')
	[ "${#tables[@]}" -gt 0 ] || return 0
	{
		while [ ! -e "$stop" ]; do
			t=${tables[$((i % ${#tables[@]}))]}
			i=$((i + 1))
			# A builtin write: once psql has ended (the fence), SIGPIPE ends this loop.
			printf '%s\n' "DO \$\$ DECLARE m bigint; r bigint; BEGIN
	SELECT max(id) INTO m FROM $t;
	r := 1 + floor(random() * coalesce(m, 1));
	UPDATE $t SET id = id WHERE id = r;
	BEGIN
		INSERT INTO $t SELECT (jsonb_populate_record(NULL::$t, to_jsonb(x) || jsonb_build_object('id', m + 1))).* FROM $t x WHERE id = r;
		DELETE FROM $t WHERE id = m AND m > r;
	EXCEPTION WHEN others THEN NULL;
	END;
END \$\$;" || break
			sleep "$PAUSE"
		done
	} | PGPASSFILE=$NO_PGPASS "$PSQL" -X -q -h "$(pg_sockdir src)" -p "$SRC_PORT" -U postgres -d "$db" >/dev/null 2>&1 || true
}

LOAD_PIDS=()
load_start() {
	LOAD_STOP=$WORK/load-stop.$RANDOM
	LOAD_PIDS=()
	for db in $DBS; do
		load_session "$db" "$LOAD_STOP" &
		LOAD_PIDS+=($!)
	done
}
load_stop() {
	touch "$LOAD_STOP"
	wait "${LOAD_PIDS[@]}" 2>/dev/null || true
}

# load_count: transactions the application committed so far (the source's
# xact_commit of the seven databases).
load_commits() {
	pg_sql src postgres "SELECT sum(xact_commit) FROM pg_stat_database WHERE datname IN ($DBLIST)"
}

# ------------------------------------------------------------------ lag

# lag_mb: the largest WAL (MB) a pgcarry slot holds beyond what its target
# confirmed, and how many pgcarry slots exist.
lag_mb() {
	pg_sql src postgres "SELECT coalesce(round(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)) / 1048576.0, 2), 0), count(*)
		FROM pg_replication_slots WHERE slot_name LIKE 'pgcarry\_%'" | tr '|' ' '
}

# bench_independent_check: with the load stopped and the fence lifted, the
# project's independent checker (tests/lib/dbcheck.sh: every
# table's rows, sequences, large objects, the schema by pg_dump) compares
# each database on the target with the fenced source, and the catalogs of
# both servers are read for anything of pgcarry's follow mode left behind
# (slots, publications, subscriptions, helper schemas).  Materialized views
# are refreshed on the source first, as the target's were at cutover: their stored rows on the
# source may be older than its tables.  Sets R_CHECK and R_LEFT.
bench_independent_check() {
	local db bad="" left=0 mv
	left=$(pg_sql src postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgcarry\_%'")
	left=$((left + $(pg_sql tgt postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgcarry\_%'")))
	for db in $DBS; do
		for mv in $(pg_sql src "$db" "SELECT format('%I.%I', schemaname, matviewname) FROM pg_matviews WHERE ispopulated"); do
			pg_sql src "$db" "REFRESH MATERIALIZED VIEW $mv" >/dev/null
		done
		dbcheck_compare src tgt "$db" >"$WORK/dbcheck-$db.txt" 2>&1 || bad="$bad $db"
		left=$((left + $(pg_sql src "$db" "SELECT (SELECT count(*) FROM pg_publication WHERE pubname LIKE 'pgcarry\_%')
			+ (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pgcarry\_%')")))
		left=$((left + $(pg_sql tgt "$db" "SELECT (SELECT count(*) FROM pg_subscription WHERE subname LIKE 'pgcarry\_%')
			+ (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pgcarry\_%')")))
	done
	if [ -z "$bad" ]; then
		R_CHECK="identical (all seven)"
	else
		R_CHECK="differ:$bad (see $WORK/dbcheck-*.txt)"
		cat "$WORK"/dbcheck-*.txt >&2
	fi
	R_LEFT=$left
	bench_say "independent check: $R_CHECK; pgcarry objects left on either server: $R_LEFT"
}

# follow_run LABEL VERIFY DATFILE: load, copy --follow sampled each second,
# catch-up, cutover --verify VERIFY.  Sets R_COPY, R_CATCHUP, R_FENCED,
# R_CUTOVER, R_TX.
follow_run() {
	local label=$1 verify=$2 dat=$3
	bench_drop_targets
	load_start
	sleep 2
	local tx0 t0 now mb nslots
	tx0=$(load_commits)
	t0=$(date +%s%N)
	pgcarry_start copy --source "$(src_uri postgres)" --target "$(tgt_uri postgres)" --progress none \
		--jobs "$N" --follow $DBS
	local copy_pid=$PGCARRY_PID copied=""
	echo "# $label: seconds since copy --follow started, lag (MB), slots, phase" >>"$dat"
	while :; do
		now=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
		read -r mb nslots < <(lag_mb)
		if [ -z "$copied" ] && ! kill -0 "$copy_pid" 2>/dev/null; then
			pgcarry_wait
			[ "$RC" = 0 ] || { cat "$BG_ERR" >&2; bench_say "copy --follow failed"; exit 1; }
			copied=$now
			bench_say "$label: copy --follow returned after $copied s"
		fi
		echo "$now $mb $nslots ${copied:+follow}${copied:-copy}" >>"$dat"
		if [ -n "$copied" ] && awk -v m="$mb" 'BEGIN { exit !(m < 1) }'; then
			break
		fi
		sleep 1
	done
	R_COPY=$copied
	R_CATCHUP=$(awk -v a="$copied" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
	printf '\n\n' >>"$dat"
	sleep 5
	# (|| true: under set -e a status other than 0 would end the script.)
	run_pgcarry cutover --source "$(src_uri postgres)" --target "$(tgt_uri postgres)" --progress none -v \
		--verify "$verify" $DBS || true
	# Exit 3 (a difference, named on stdout) still has its fenced time.
	[ "$RC" = 0 ] || [ "$RC" = 3 ] || { printf '%s\n' "$ERR" >&2; bench_say "cutover failed"; exit 1; }
	R_FENCED=$(printf '%s\n' "$ERR" | sed -nE 's/.*writes on the source were fenced for ([0-9.]+) s.*/\1/p' | tail -n 1)
	R_VERDICT=$([ "$RC" = 0 ] && echo "equal" || echo "differs: $(printf '%s\n' "$ERR" | grep -oE '[a-z ]+ [^ ]+ differs' | sort -u | paste -sd ';' -)")
	R_STEPS=$(printf '%s\n' "$ERR" | sed -nE 's/.*writes fenced: (.*)/\1/p' | tail -n 1)
	R_TX=$(($(load_commits) - tx0))
	load_stop
	# The fence is the one intended difference (a database setting on the
	# source): lifted, with the application stopped, before the check.
	for db in $DBS; do
		pg_sql src postgres "ALTER DATABASE $db RESET default_transaction_read_only" >/dev/null
	done
	bench_independent_check
	bench_say "$label: caught up $R_CATCHUP s after the copy; cutover --verify $verify fenced writes for $R_FENCED s"
}

# ------------------------------------------------------------------ runs

stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$ROOT/bench/results"
DAT=$ROOT/bench/results/follow-$stamp.dat
: >"$DAT"

bench_say "guide: pg_dump -F t | pg_restore, one database after another"
bench_drop_targets
method_guide() {
	local db
	for db in $DBS; do
		"$PG_DUMP" -F t -f "$WORK/$db.sql.tar" -d "$(src_uri "$db")"
		"$CREATEDB" -h 127.0.0.1 -p "$TGT_PORT" -U postgres "$db"
		"$PG_RESTORE" -d "$(tgt_uri "$db")" "$WORK/$db.sql.tar"
		rm -f "$WORK/$db.sql.tar"
	done
}
bench_measure method_guide
[ "$M_RC" = 0 ] || { bench_say "the guide's way failed"; exit 1; }
GUIDE=$M_WALL
bench_say "guide: $GUIDE s of downtime"

follow_run "count" count "$DAT"
C_COPY=$R_COPY C_CATCHUP=$R_CATCHUP C_FENCED=$R_FENCED C_TX=$R_TX C_STEPS=$R_STEPS C_VERDICT=$R_VERDICT C_CHECK=$R_CHECK C_LEFT=$R_LEFT
follow_run "full" full "$DAT"
F_COPY=$R_COPY F_CATCHUP=$R_CATCHUP F_FENCED=$R_FENCED F_TX=$R_TX F_STEPS=$R_STEPS F_VERDICT=$R_VERDICT F_CHECK=$R_CHECK F_LEFT=$R_LEFT

PNG=$ROOT/bench/results/follow-$stamp.png
gnuplot <<GP
set terminal pngcairo size 900,420 font ",10"
set output "$PNG"
set title "copy --follow of the seven databases ($TOTAL_MB MB) under load: the lag"
set xlabel "seconds since copy --follow started"
set ylabel "WAL a slot holds beyond its target (MB, largest)"
set key top left
set grid
set arrow from $C_COPY, graph 0 to $C_COPY, graph 1 nohead dt 2 lc rgb "#1f77b4"
set arrow from $F_COPY, graph 0 to $F_COPY, graph 1 nohead dt 3 lc rgb "#ff7f0e"
plot "$DAT" index 0 using 1:2 with lines lw 2 lc rgb "#1f77b4" title "run 1 (then cutover --verify count); dashed: copy done", \\
     "$DAT" index 1 using 1:2 with lines lw 2 lc rgb "#ff7f0e" title "run 2 (then cutover --verify full); dotted: copy done"
GP
cp "$PNG" "$ROOT/bench/follow-lag.png"

RESULT=$ROOT/bench/results/follow-$stamp.md
{
	echo "| run | initial copy (s) | caught up after (s) | writes fenced (s) | application transactions | pgcarry's verification | independent check, target against the fenced source | pgcarry objects left |"
	echo "|---|---:|---:|---:|---:|---|---|---:|"
	echo "| guide: pg_dump -F t + pg_restore, one database after another | - | - | **$GUIDE** (down the whole time) | 0 (stopped) | none | - | - |"
	echo "| copy --follow, cutover --verify count | $C_COPY | $C_CATCHUP | **$C_FENCED** | $C_TX | $C_VERDICT | $C_CHECK | $C_LEFT |"
	echo "| copy --follow, cutover --verify full | $F_COPY | $F_CATCHUP | **$F_FENCED** | $F_TX | $F_VERDICT | $F_CHECK | $F_LEFT |"
	echo
	echo "Fenced time, --verify count: $C_STEPS."
	echo
	echo "Fenced time, --verify full: $F_STEPS."
	echo
	echo "Seven databases, $TOTAL_MB MB (BENCH_SCALE=$SCALE), --jobs $N, load: $RATE transactions a second per database."
	bench_machine
	echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$RESULT"
bench_say "wrote $RESULT, $DAT, $PNG"
