# 60-expand-lib.bash: what the expand/contract tests share (sourced after
# tests/lib/harness.sh): the cat lovers club, the simulated application
# (bench/catapp.c) started and stopped in the background, and its report;
# application versions written as pgbench scripts, run in the background.

# build_catapp: compiles bench/catapp.c into the test's directory.
build_catapp() {
	CATAPP=$T_TMP/catapp
	cc -O2 -std=c11 -pthread -D_GNU_SOURCE -I"$(pg_config --includedir)" -o "$CATAPP" \
		"$HARNESS_ROOT/bench/catapp.c" -lpq
}

# club_load SERVER ROWS: the club's old shape in database "club".
club_load() {
	pg_psql "$1" club -v rows="$2" -f "$HARNESS_ROOT/bench/catclub.sql" >/dev/null
}

# app_conninfo SERVER: the application's connection (trusted socket).
app_conninfo() {
	echo "host=$(pg_sockdir "$1") port=$(pg_port "$1") user=postgres dbname=club"
}

# app_start SERVER MODE [THREADS] [RATE]: the application in the background.
app_start() {
	local mode=$2
	PGPASSFILE=$NO_PGPASS "$CATAPP" --db "$(app_conninfo "$1")" --mode "$mode" \
		--threads "${3:-4}" --rate "${4:-300}" >"$T_TMP/app-$mode.out" 2>"$T_TMP/app-$mode.err" &
	eval "APP_PID_$mode=$!"
}

# app_stop MODE: stops it; APP_OUT is its report line (plus first errors).
app_stop() {
	local pid
	pid=$(eval "echo \$APP_PID_$1")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	APP_OUT="$(cat "$T_TMP/app-$1.out") $(head -c 1500 "$T_TMP/app-$1.err")"
}

# app_max_below REPORT LIMIT_MS NAME: the longest statement took < LIMIT_MS.
app_max_below() {
	local max
	max=$(sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p' <<<"$1" | head -1)
	if [ -n "$max" ] && awk -v m="$max" -v l="$2" 'BEGIN { exit !(m < l) }'; then
		ok 0 "$3 (longest ${max} ms)"
	else
		ok 1 "$3 (longest ${max:-?} ms, limit $2 ms)"
	fi
}

# script_app_run SERVER DB DIR NAME SCRIPTS...: an application version made
# of pgbench scripts (DIR/SCRIPT.sql, one transaction each, picked at
# random) in the background: 2 clients at 40 transactions/s, until stopped
# with script_app_end.  It connects as SCRIPT_APP_USER (default postgres).
script_app_run() {
	local server=$1 db=$2 dir=$3 name=$4 args=()
	shift 4
	for f in "$@"; do args+=(-f "$dir/$f.sql"); done
	PGPASSFILE=$NO_PGPASS pgbench -n -c 2 -j 1 -R 40 -T 600 "${args[@]}" \
		-h "$(pg_sockdir "$server")" -p "$(pg_port "$server")" -U "${SCRIPT_APP_USER:-postgres}" "$db" \
		>"$T_TMP/$name.out" 2>"$T_TMP/$name.err" &
	eval "SCRIPT_APP_PID_$name=$!"
}

# script_app_end NAME: stops it (a transaction it was in is rolled back,
# with the application's own record of it); zero errors while it ran.
script_app_end() {
	local pid
	pid=$(eval "echo \$SCRIPT_APP_PID_$1")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unlike "$(cat "$T_TMP/$1.err")" "ERROR|aborted|error" "$1 application version: no error" ||
		diag "$(head -c 2000 "$T_TMP/$1.err")"
}
