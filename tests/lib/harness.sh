# harness.sh: what every pgcarry test script sources.
#
# TAP output (plan, ok, is, like, unlike, done_testing), a wrapper that runs
# pgcarry and keeps its output for the secrets scan, and throwaway PostgreSQL
# servers: initdb into a temporary directory, a free port on 127.0.0.1, a
# private socket directory, fsync=off, wal_level=logical.  Servers run as
# the "postgres" OS user when the tests run as root.  Everything is removed
# at exit; with PGCARRY_KEEP=1 a failed test's directory is kept and named.
#
# Servers authenticate TCP connections with SCRAM and a random password per
# server, found by pgcarry through a private PGPASSFILE; local socket
# connections (psql in the tests themselves) are trusted.

set -u

HARNESS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGCARRY=${PGCARRY_BIN:-$HARNESS_ROOT/build/pgcarry}
UNIT_DIR=${PGCARRY_UNIT_DIR:-$HARNESS_ROOT/build/tests}
PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}
# Every pgcarry output of the test run lands here, for the secrets scan.
TEST_LOG_DIR=${PGCARRY_TEST_LOG_DIR:-$HARNESS_ROOT/build/test-logs}
mkdir -p "$TEST_LOG_DIR"
export PGCARRY_CONNECT_RETRIES=${PGCARRY_CONNECT_RETRIES:-1}

T_NUM=0
T_FAILED=0
T_NAME=$(basename "$0" .t)
# Keep a copy of everything this script prints, for the secrets scan.
exec > >(tee -a "$TEST_LOG_DIR/$T_NAME.tap") 2> >(tee -a "$TEST_LOG_DIR/$T_NAME.stderr" >&2)
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pgcarry-test.XXXXXX")
chmod 755 "$T_TMP"
T_SERVERS=()
export PGPASSFILE=$T_TMP/pgpass
: >"$PGPASSFILE"
chmod 600 "$PGPASSFILE"
# An empty password file: "no password known" without libpq warnings.
NO_PGPASS=$T_TMP/no-pgpass
: >"$NO_PGPASS"
chmod 600 "$NO_PGPASS"
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGCARRY_SOURCE PGCARRY_TARGET

# ---------------------------------------------------------------- TAP

plan() { echo "1..$1"; }

ok() {
	local cond=$1 name=$2
	T_NUM=$((T_NUM + 1))
	if [ "$cond" = 0 ]; then
		echo "ok $T_NUM - $name"
	else
		echo "not ok $T_NUM - $name"
		T_FAILED=$((T_FAILED + 1))
	fi
	return "$cond"
}

# is GOT EXPECTED NAME
is() {
	if [ "$1" == "$2" ]; then ok 0 "$3"; else
		ok 1 "$3"
		diag "got:      '$1'"
		diag "expected: '$2'"
		return 1
	fi
}

# like TEXT REGEX NAME (extended regex, grep -E)
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
		ok 1 "$3"
		diag "text:  '$(printf '%s' "$1" | head -c 2000)'"
		diag "wanted: /$2/"
		return 1
	fi
}

# unlike TEXT REGEX NAME: passes only when grep ran and found no match (a
# regex grep cannot use fails the test instead of passing it).
unlike() {
	local st=0
	printf '%s' "$1" | grep -Eq -- "$2" || st=$?
	if [ "$st" = 1 ]; then ok 0 "$3"; else
		ok 1 "$3"
		diag "text:  '$(printf '%s' "$1" | head -c 2000)'"
		if [ "$st" = 0 ]; then diag "unwanted: /$2/"; else diag "grep failed (status $st) on /$2/"; fi
		return 1
	fi
}

diag() { printf '# %s\n' "$*" | sed '2,$s/^/# /' >&2; }
note() { printf '# %s\n' "$*"; }
done_testing() { echo "1..$T_NUM"; }
bail() { echo "Bail out! $*"; exit 255; }

# ------------------------------------------------------------- pgcarry

# Every way of running pgcarry below keeps its output in the run's log
# directory (for the secrets scan) and fails the test on a sanitizer report;
# tests never run "$PGCARRY" themselves.
RUN_SEQ=0

# _pgcarry_base ARGS...: the next run's file name stem in the log
# directory, in PGCARRY_BASE; ARGS go to its .cmd file.
_pgcarry_base() {
	RUN_SEQ=$((RUN_SEQ + 1))
	PGCARRY_BASE="$TEST_LOG_DIR/$T_NAME.$RUN_SEQ"
	printf '%s\n' "$*" >"$PGCARRY_BASE.cmd"
}

# _pgcarry_collect OUTFILE ERRFILE: OUT and ERR from a finished run's files,
# and the sanitizer scan of its stderr.
_pgcarry_collect() {
	OUT=$(cat "$1")
	ERR=$(cat "$2")
	pgcarry_scan "$2"
}

# run_pgcarry ARGS...: runs the binary under test; sets RC, OUT, ERR.
run_pgcarry() {
	_pgcarry_run /dev/null "$PGCARRY" "$@"
}

# run_pgcarry_via CMD... -- ARGS...: as run_pgcarry, with pgcarry run by
# another program (e.g. /usr/bin/time -o FILE -- copy ...).
# usage_is ARGS... -- EXPECTED NAME: pgcarry ARGS is a usage error: exit 2,
# "pgcarry: error: EXPECTED" as the first line of stderr, and the pointer
# to the command's --help as the second.
usage_is() {
	local args=() expected name
	while [ "$1" != "--" ]; do args+=("$1"); shift; done
	expected=$2
	name=$3
	run_pgcarry "${args[@]}"
	is "$RC" 2 "$name: exit 2"
	is "$(head -1 <<<"$ERR")" "pgcarry: error: $expected" "$name: message"
	is "$(sed -n 2p <<<"$ERR")" "Try \"pgcarry ${args[0]} --help\" for more information." "$name: points to --help"
}

run_pgcarry_via() {
	local -a pre=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
	shift
	_pgcarry_run /dev/null "${pre[@]}" "$PGCARRY" "$@"
}

# run_pgcarry_in FILE ARGS...: as run_pgcarry, with standard input from FILE.
run_pgcarry_in() {
	local in=$1
	shift
	_pgcarry_run "$in" "$PGCARRY" "$@"
}

# _pgcarry_run STDIN CMD...: runs CMD (pgcarry, or a program that runs it)
# with standard input from STDIN; sets RC, OUT, ERR; keeps the output.
_pgcarry_run() {
	local in=$1
	shift
	_pgcarry_base "$@"
	local base=$PGCARRY_BASE
	"$@" >"$base.out" 2>"$base.err" <"$in"
	RC=$?
	_pgcarry_collect "$base.out" "$base.err"
	return 0
}

# run_pgcarry_pipe ARGS1... '|' ARGS2...: pgcarry ARGS1 | pgcarry ARGS2; sets
# RC to both exit statuses ("0 0"), OUT to the second one's output, ERR1
# and ERR to each one's standard error.
run_pgcarry_pipe() {
	local -a first=()
	while [ $# -gt 0 ] && [ "$1" != '|' ]; do first+=("$1"); shift; done
	shift
	_pgcarry_base "${first[@]}" '|' "$@"
	local base=$PGCARRY_BASE
	"$PGCARRY" "${first[@]}" 2>"$base.1.err" </dev/null | "$PGCARRY" "$@" >"$base.out" 2>"$base.err"
	RC="${PIPESTATUS[*]}"
	OUT=$(cat "$base.out")
	ERR1=$(cat "$base.1.err")
	ERR=$(cat "$base.err")
	pgcarry_scan "$base.1.err"
	pgcarry_scan "$base.err"
	return 0
}

# pgcarry_start ARGS...: runs pgcarry in the background; sets PGCARRY_PID,
# and BG_OUT and BG_ERR (the files its output goes to).  pgcarry_wait
# collects it.
pgcarry_start() {
	_pgcarry_base "$@"
	local base=$PGCARRY_BASE
	BG_OUT=$base.out
	BG_ERR=$base.err
	"$PGCARRY" "$@" >"$BG_OUT" 2>"$BG_ERR" </dev/null &
	PGCARRY_PID=$!
}

# pgcarry_wait: waits for the run pgcarry_start began; sets RC, OUT, ERR.
pgcarry_wait() {
	RC=0
	wait "$PGCARRY_PID" 2>/dev/null || RC=$?
	_pgcarry_collect "$BG_OUT" "$BG_ERR"
	return 0
}

# pgcarry_tty FILE ARGS...: runs pgcarry on a terminal (script(1)); what
# it wrote lands in FILE; sets RC.
pgcarry_tty() {
	local file=$1
	shift
	_pgcarry_base "$@"
	local base=$PGCARRY_BASE
	RC=0
	script -qec "$(printf '%q ' "$PGCARRY" "$@")" "$file" >/dev/null 2>&1 </dev/null || RC=$?
	cp "$file" "$base.err"
	pgcarry_scan "$base.err"
}

# pgcarry_cmdline ARGS...: for a program that runs pgcarry on a terminal
# of its own (tmux): sets PGCARRY_CMDLINE, a shell command line that runs
# pgcarry with ARGS and sends its sanitizer reports to files in the log
# directory (what it writes goes to that terminal, not to a file).  Once it
# has ended, pgcarry_cmdline_end SCREEN keeps SCREEN (the text it left on
# the terminal) for the secrets scan and scans it and the reports.
pgcarry_cmdline() {
	_pgcarry_base "$@"
	CMDLINE_BASE=$PGCARRY_BASE
	PGCARRY_CMDLINE="env $(printf '%q ' "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$CMDLINE_BASE.san" \
		"UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$CMDLINE_BASE.san" "$PGCARRY" "$@")"
}

# pgcarry_cmdline_end SCREEN: see pgcarry_cmdline.
pgcarry_cmdline_end() {
	{
		printf '%s\n' "$1"
		cat "$CMDLINE_BASE".san* 2>/dev/null
	} >"$CMDLINE_BASE.err"
	pgcarry_scan "$CMDLINE_BASE.err"
}

# pgcarry_scan FILE: in the sanitizer build any report in FILE (a pgcarry
# run's stderr) is a failure of its own.
pgcarry_scan() {
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$1"; then
		ok 1 "sanitizer report from: pgcarry $(head -c 200 "${1%.*}.cmd" 2>/dev/null)"
		diag "$(head -c 4000 "$1")"
	fi
}

# ------------------------------------------------------------- servers

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 25000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# pg_start NAME [extra postgresql.conf lines...]: a new server, from the
# programs in PG_BINDIR_NAME when that is set (another major version, see
# scripts/pgversions.sh), else in PG_BINDIR.
pg_start() {
	local name=$1
	shift
	local dir=$T_TMP/$name
	local bindir
	bindir=$(pg_bindir "$name")
	mkdir -p "$dir/sock"
	local pw
	pw="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	printf '%s\n' "$pw" >"$dir/pwfile"
	echo "$pw" >>"$TEST_LOG_DIR/.passwords"
	[ "$(id -u)" = 0 ] && chown -R postgres "$dir"
	if ! as_pg "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		bail "initdb failed for $name"
	fi
	rm -f "$dir/pwfile"
	local port started=1
	for _ in 1 2 3 4 5; do
		port=$(free_port) || bail "no free port"
		{
			echo "port = $port"
			echo "listen_addresses = '127.0.0.1'"
			echo "unix_socket_directories = '$dir/sock'"
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
			echo "wal_level = logical"
			echo "max_wal_senders = 10"
			echo "max_replication_slots = 10"
			echo "max_connections = 60"
			echo "shared_buffers = 64MB"
			echo "log_min_messages = warning"
			for line in "$@"; do echo "$line"; done
		} >>"$dir/data/postgresql.conf"
		if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
			started=0
			break
		fi
	done
	[ $started = 0 ] || { cat "$dir/server.log" >&2; bail "could not start server $name"; }
	T_SERVERS+=("$name")
	echo "127.0.0.1:$port:*:postgres:$pw" >>"$PGPASSFILE"
	eval "PORT_$name=$port"
	eval "PW_$name=$pw"
}

pg_port() { eval "echo \$PORT_$1"; }
# pg_bindir NAME: the directory of server NAME's initdb, pg_ctl and postgres.
pg_bindir() { eval "echo \${PG_BINDIR_$1:-\$PG_BINDIR}"; }
pg_password() { eval "echo \$PW_$1"; }
# pg_uri NAME [DB]: password-free URI pgcarry gets (the password comes from PGPASSFILE)
pg_uri() { echo "postgresql://postgres@127.0.0.1:$(pg_port "$1")/${2:-postgres}"; }
pg_sockdir() { echo "$T_TMP/$1/sock"; }

# pg_sql NAME DB SQL: runs SQL through psql on the trusted socket; output unaligned
pg_sql() {
	local name=$1 db=$2
	shift 2
	PGPASSFILE=$NO_PGPASS psql -X -q -v ON_ERROR_STOP=1 -At -h "$(pg_sockdir "$name")" -p "$(pg_port "$name")" \
		-U postgres -d "$db" -c "$*"
}

# pg_wait_for NAME SQL EXPECTED: polls (up to 30 s) until SQL, run in the
# postgres database of server NAME, returns EXPECTED; 1 if it never does.
pg_wait_for() {
	for _ in $(seq 1 300); do
		[ "$(pg_sql "$1" postgres "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# pg_psql NAME DB [psql args...]: psql with stdin, e.g. for a SQL file
pg_psql() {
	local name=$1 db=$2
	shift 2
	PGPASSFILE=$NO_PGPASS psql -X -q -v ON_ERROR_STOP=1 -At -h "$(pg_sockdir "$name")" -p "$(pg_port "$name")" \
		-U postgres -d "$db" "$@"
}

pg_stop() {
	as_pg "$(pg_bindir "$1")/pg_ctl" -D "$T_TMP/$1/data" -m immediate -w stop >/dev/null 2>&1 || true
}

harness_cleanup() {
	local rc=$?
	for s in "${T_SERVERS[@]}"; do pg_stop "$s"; done
	if [ "$T_FAILED" -gt 0 ] && [ "${PGCARRY_KEEP:-0}" = 1 ]; then
		echo "# kept $T_TMP for inspection" >&2
	else
		rm -rf "$T_TMP"
	fi
	exit $rc
}
trap harness_cleanup EXIT
