#!/usr/bin/env bash
# demo-expand.sh: the cat lovers club moves its cats into their own table
# while its application keeps running ("make demo-expand").
#
# A throwaway server gets the club (100,000 members, two in three with a
# cat).  The simulated application (bench/catapp.c) writes and reads as the
# old version while "pgcarry schema start" adds the cats table, installs the
# sync triggers, backfills and verifies; then the new version takes over and
# "pgcarry schema complete" verifies again and drops the old columns.  At the
# end: the application's errors (zero), its longest wait, the rows verified,
# and an independent check that every cat is present exactly once.  On the
# way it prints the interim's rules for the new version's authors, and shows
# the new version's one-statement insert of a member and their cat.
#
#   DEMO_ROWS=100000 DEMO_THREADS=4 DEMO_RATE=300 bash scripts/demo-expand.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PGCARRY_BIN=${PGCARRY_BIN:-$ROOT/pgcarry}
[ -x "$PGCARRY_BIN" ] || { echo "demo-expand: build pgcarry first (make)" >&2; exit 1; }
# The test harness gives us a private server that is removed at exit.
source "$ROOT/tests/lib/harness.sh"

ROWS=${DEMO_ROWS:-100000}
THREADS=${DEMO_THREADS:-4}
RATE=${DEMO_RATE:-300}
LOCK_TIMEOUT=${DEMO_LOCK_TIMEOUT:-1000}
say() { printf '\n== %s\n' "$*"; }

say "a throwaway PostgreSQL server and the cat lovers club ($ROWS members)"
pg_start demo >/dev/null
pg_sql demo postgres "CREATE DATABASE club"
pg_psql demo club -v rows="$ROWS" -f "$ROOT/bench/catclub.sql" >/dev/null 2>&1
pg_sql demo club "SELECT id, name, cat_name, cat_color FROM cat_lovers ORDER BY id LIMIT 3" | sed 's/^/   /'
URI=$(pg_uri demo club)
APPDB="host=$(pg_sockdir demo) port=$(pg_port demo) user=postgres dbname=club"
CATAPP=$T_TMP/catapp
cc -O2 -std=c11 -pthread -D_GNU_SOURCE -I"$(pg_config --includedir)" -o "$CATAPP" "$ROOT/bench/catapp.c" -lpq ||
	{ echo "demo-expand: could not build bench/catapp.c" >&2; exit 1; }

say "the old application version starts: $THREADS clients, $RATE transactions/s on cat_name/cat_color"
PGPASSFILE=$NO_PGPASS "$CATAPP" --db "$APPDB" --mode old --threads "$THREADS" --rate "$RATE" >"$T_TMP/old.out" 2>"$T_TMP/old.err" &
OLD=$!
sleep 2

say "pgcarry schema start bench/cats.json  (expand, sync triggers, backfill, verify; lock timeout ${LOCK_TIMEOUT} ms)"
cat "$ROOT/bench/cats.json" | sed 's/^/   /'
"$PGCARRY_BIN" schema start "$ROOT/bench/cats.json" --target "$URI" --lock-timeout "${LOCK_TIMEOUT}ms" 2>&1 | tee "$T_TMP/start.log"
mkdir -p "$T_TMP/migrations"
"$PGCARRY_BIN" schema status --dir "$T_TMP/migrations" --target "$URI" | sed -n '/expand\/contract/,$p'
sleep 2

say "the interim's rules for the new application version (docs/expand-contract.md)"
cat <<'RULES'
   1. start it once "schema start" has created the cats table; it may run during the backfill
   2. write cats only (never cat_name/cat_color): the old columns follow the member's first cat
   3. lock the member first (SELECT ... FOR NO KEY UPDATE) when the old version may write it too
   4. a member inserted without cat values keeps the cats you give it, even in the same statement;
      only the old version clearing cat_name/cat_color (or deleting the member) removes a cat
   5. retire the old version before "schema complete": it drops cat_name and cat_color
   6. keep your own record of what you wrote, and compare it with cats after complete
RULES

say "the new application version takes over: it writes cats, and may give a member several"
kill -TERM $OLD
wait $OLD
OLD_REPORT=$(cat "$T_TMP/old.out")
echo "   old version: $OLD_REPORT"
PGPASSFILE=$NO_PGPASS "$CATAPP" --db "$APPDB" --mode new --threads "$THREADS" --rate "$RATE" >"$T_TMP/new.out" 2>"$T_TMP/new.err" &
NEW=$!
sleep 1
echo "   the new version adds a member and their cat in one statement:"
pg_sql demo club "WITH m AS (INSERT INTO cat_lovers (name, email) VALUES ('demo member', 'demo@example.org') RETURNING id), c AS (INSERT INTO cats (name, color, cat_lover_id) SELECT 'felix', 'black', id FROM m RETURNING id, cat_lover_id, name, color) INSERT INTO catapp_extra SELECT id, cat_lover_id, name, color FROM c"
pg_sql demo club "SELECT 'member ' || m.id || ': cat ' || c.name || ' (' || c.color || ') kept, old columns show ' || coalesce(m.cat_name, 'nothing') FROM cat_lovers m JOIN cats c ON c.cat_lover_id = m.id WHERE m.email = 'demo@example.org'" | sed 's/^/   one statement: /'
sleep 2

say "pgcarry schema complete cats_own_table  (verify again, show what the sync deleted or overwrote, then drop the old columns and the triggers)"
"$PGCARRY_BIN" schema complete cats_own_table --target "$URI" --lock-timeout "${LOCK_TIMEOUT}ms" 2>&1 | tee "$T_TMP/complete.log"
sleep 2
kill -TERM $NEW
wait $NEW
NEW_REPORT=$(cat "$T_TMP/new.out")
echo "   new version: $NEW_REPORT"
cat "$T_TMP/old.err" "$T_TMP/new.err" | sed 's/^/   /'

say "the result"
pg_sql demo club "SELECT m.id, m.name, c.name, c.color FROM cat_lovers m JOIN cats c ON c.cat_lover_id = m.id ORDER BY m.id, c.id LIMIT 3" | sed 's/^/   /'
CHECK=$(pg_psql demo club -f "$ROOT/bench/catclub-check.sql")
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
errors=$(( $(field errors "$OLD_REPORT") + $(field errors "$NEW_REPORT") ))
longest=$(printf '%s\n%s\n' "$(field max_ms "$OLD_REPORT")" "$(field max_ms "$NEW_REPORT")" | sort -g | tail -1)
verified=$(grep -ho 'verified cats_own_table: [0-9]* rows' "$T_TMP/start.log" "$T_TMP/complete.log" | awk '{print $3}' | paste -sd/ -)
printf '   application errors:         %s\n' "$errors"
printf '   longest application wait:   %s ms (lock timeout %s ms)\n' "$longest" "$LOCK_TIMEOUT"
printf '   rows verified row by row:   %s (at start / at complete)\n' "$verified"
printf '   cats missing|invented|total: %s\n' "$CHECK"
felix=$(pg_sql demo club "SELECT count(*) FROM cats c JOIN cat_lovers m ON m.id = c.cat_lover_id WHERE m.email = 'demo@example.org' AND c.name = 'felix'")
printf '   one-statement cat after complete: %s\n' "$felix"
if [ "$errors" = 0 ] && [ "${CHECK%%|*}" = 0 ] && grep -q '^0|0|' <<<"$CHECK" && [ "$felix" = 1 ]; then
	say "done: zero application errors, every cat present exactly once"
	exit 0
fi
say "FAILED: see above"
exit 1
