#!/usr/bin/env bash
# demo.sh: pgcarry in two minutes, run by `make demo`.
#
# Starts two throwaway PostgreSQL servers on this machine (a "source" and a
# "target", each in a temporary directory, on a free port, run as the
# postgres OS user when started as root), builds the migration guide's seven
# databases on the source with sample data, checks both servers with
# `pgcarry ping`, copies the seven databases with `pgcarry copy --jobs 2`
# (progress shown), and prints the verification report.  Everything is
# stopped and removed at the end, on Ctrl-C too.
#
#   DEMO_SCALE=0.05   size of the sample data (1 is about 1.1 GB; default 0.05)
#   DEMO_JOBS=2       --jobs for pgcarry copy
#   PGCARRY_BIN=...   the pgcarry binary (default ./pgcarry, then build/pgcarry)
#
# Exit status: pgcarry copy's (0 copied and verified, 3 a difference found).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${DEMO_SCALE:-0.05}
JOBS=${DEMO_JOBS:-2}
DBS="accounts analysis filestore jobs metrics results results201709"
if [ -z "${PGCARRY_BIN:-}" ]; then
	if [ -x "$ROOT/pgcarry" ]; then PGCARRY_BIN=$ROOT/pgcarry; else PGCARRY_BIN=$ROOT/build/pgcarry; fi
fi
export PGCARRY_BIN
[ -x "$PGCARRY_BIN" ] || { echo "demo: no pgcarry binary at $PGCARRY_BIN (run make first)" >&2; exit 1; }

# The test harness gives us servers and cleanup.  It copies this script's
# output to a log through a pipe; keep the terminal instead, so that pgcarry
# can show its live progress display.
exec 3>&1 4>&2
# shellcheck source=../tests/lib/harness.sh
source "$ROOT/tests/lib/harness.sh"
exec 1>&3 2>&4 3>&- 4>&-
# Ctrl-C and kill end through the harness's exit path: servers stopped,
# temporary directory removed.
trap 'echo; echo "demo: interrupted, cleaning up" >&2; exit 130' INT
trap 'exit 143' TERM

if [ -t 1 ]; then
	step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	step() { printf '\n== %s\n' "$*"; }
fi

# show pgcarry ARGS...: prints the command as a user would type it, then runs it.
show() {
	printf '$ pgcarry %s\n' "${*:2}"
	"$@"
}

step "Starting two throwaway PostgreSQL servers"
pg_start source
pg_start target
SRC=$(pg_uri source)
TGT=$(pg_uri target)
echo "source: $SRC"
echo "target: $TGT"
echo "(passwords are in a private PGPASSFILE, never on a command line)"

step "Building the guide's seven databases on the source (scale $SCALE)"
bash "$ROOT/tests/fixtures/seven.sh" --host "$(pg_sockdir source)" --port "$(pg_port source)" --scale "$SCALE" --jobs 2 2>&1

step "Checking both servers"
show "$PGCARRY_BIN" ping --source "$SRC"
echo
show "$PGCARRY_BIN" ping --target "$TGT"

# Is copy in this build yet?
copy_help=$("$PGCARRY_BIN" copy --help 2>&1 || true)
if grep -q "is not available in this build" <<<"$copy_help"; then
	step "Copying"
	echo "demo: pgcarry copy is not available in this build yet; skipping the copy."
	echo "demo: the source databases, for the record:"
	pg_sql source postgres "SELECT datname || '  ' || pg_size_pretty(pg_database_size(datname))
		FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1"
	step "Done (without a copy); cleaning up"
	exit 0
fi

step "Copying the seven databases, $JOBS jobs at a time"
# shellcheck disable=SC2086
set +e
start=$(date +%s%N)
show "$PGCARRY_BIN" copy --source "$SRC" --target "$TGT" $DBS --jobs "$JOBS"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
set -e
echo
echo "demo: pgcarry copy exited with status $rc after $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"

if [ "$rc" = 0 ]; then
	step "The target now holds"
	pg_sql target postgres "SELECT datname || '  ' || pg_size_pretty(pg_database_size(datname))
		FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1"
	step "Done: copied and verified; cleaning up"
else
	step "The copy did not finish cleanly (status $rc); cleaning up"
fi
exit "$rc"
