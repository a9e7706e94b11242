#!/usr/bin/env bash
# A copy while an application keeps writing to the source: the target holds
# exactly the source as it was at one instant (the snapshot).  The writer
# commits, one transaction after another, a row with the next id into two
# tables, a transfer between two accounts and a nextval; so on the target
# the ids must be exactly 1..K in both tables (one snapshot for every table),
# the accounts must still sum to their total, the sequence must be past K,
# and K must lie between what was committed before the copy and after it.
# The writer sees no error.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state

pg_sql src postgres "CREATE DATABASE live"
pg_psql src live >/dev/null <<'SQL' || bail "could not fill live"
CREATE TABLE ledger (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp());
CREATE TABLE ledger_copy (id int PRIMARY KEY);
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 1000 FROM generate_series(0, 9) g;
CREATE SEQUENCE ticket;
CREATE TABLE history (id bigint, payload text);
INSERT INTO history SELECT g, md5(g::text) || repeat('h', 100) FROM generate_series(1, 300000) g;
SQL

flag=$T_TMP/writing
touch "$flag"
writer_log=$T_TMP/writer.log
(
	k=0
	while [ -f "$flag" ]; do
		k=$((k + 1))
		echo "BEGIN; INSERT INTO ledger (id) VALUES ($k); INSERT INTO ledger_copy VALUES ($k);
		      UPDATE accounts SET balance = balance - 3 WHERE id = $((k % 10));
		      UPDATE accounts SET balance = balance + 3 WHERE id = $(((k + 3) % 10));
		      SELECT nextval('ticket'); COMMIT;"
		[ $((k % 20)) = 0 ] && echo "SELECT pg_sleep(0.01);"
	done
) | PGPASSFILE=$NO_PGPASS psql -X -q -v ON_ERROR_STOP=1 -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -d live \
	>/dev/null 2>"$writer_log" &
writer=$!

for _ in $(seq 1 100); do
	[ "$(pg_sql src live "SELECT count(*) >= 200 FROM ledger")" = t ] && break
	sleep 0.1
done
before=$(pg_sql src live "SELECT count(*) FROM ledger")
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 2 --progress none --state-dir "$STATE" live
sleep 0.5
after=$(pg_sql src live "SELECT count(*) FROM ledger")
rm -f "$flag"
wait "$writer"
writer_rc=$?

is "$RC" 0 "copy under a live writer exits 0 (the target equals the snapshot)"
is "$writer_rc" 0 "the writer saw no error"
is "$(cat "$writer_log")" "" "the writer's stderr is empty"

k=$(pg_sql dst live "SELECT count(*) FROM ledger")
is "$(pg_sql dst live "SELECT count(*) = coalesce(max(id), 0) AND min(id) = 1 FROM ledger")" "t" "ledger ids on the target are exactly 1..K (K = $k)"
is "$(pg_sql dst live "SELECT count(*) || ' ' || max(id) FROM ledger_copy")" "$k $k" "the second table stops at the same K: one snapshot"
is "$(pg_sql dst live "SELECT sum(balance) FROM accounts")" "10000" "the accounts still sum to their total"
ok "$([ "$k" -ge "$before" ] && [ "$k" -lt "$after" ] && echo 0 || echo 1)" \
	"K lies between the rows committed before the copy ($before) and after it ($after)"
ok "$([ "$(pg_sql dst live "SELECT last_value FROM ticket")" -ge "$k" ] && echo 0 || echo 1)" \
	"the sequence on the target is at least K"
is "$(pg_sql dst live "SELECT count(*) FROM history")" "300000" "the static table is whole"

# The source moved on: compare says so, table by table.
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none live
is "$RC" 3 "compare after the writer went on exits 3"
like "$OUT" "live +table public.ledger +[0-9]+ +$k +differs +different" "compare names the table that grew"
like "$OUT" "live +table public.history +300000 +300000 +equal +ok" "and the static table is equal"

done_testing
