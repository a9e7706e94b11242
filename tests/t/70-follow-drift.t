#!/usr/bin/env bash
# A schema that drifts during the follow (logical replication carries no
# DDL) is found by cutover with every --verify mode, and never taken for a
# good cutover.  The oracle: the source's own catalog and whether it still
# takes writes.
#  - a column added on the source during the follow (and a row that uses
#    it, which stops the target's apply): cutover, with --verify full and
#    with --verify count, exits 3 before the fence, naming the table and
#    the column and the way out; nothing is fenced, the follow stays.  With
#    the same column added on the target, cutover completes (exit 0).
#  - a column added on the source after cutover compared the schema and
#    before the fence (the probe row kept from cutover by a lock meanwhile):
#    found behind the fence, exit 3, the fence lifted, the follow kept.
#  - an index made on both servers in that same window: no drift, exit 0.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/70-follow-lib.bash"

pg_start src
pg_start dst
SRC=$(pg_uri src)
DST=$(pg_uri dst)

for db in app shop stock; do
	pg_sql src postgres "CREATE DATABASE $db"
	pg_sql src "$db" "CREATE TABLE items (id int PRIMARY KEY, name text);
		INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g" || bail "could not fill $db"
done
run_pgcarry copy --source "$SRC" --target "$DST" --progress none --follow app shop stock
is "$RC" 0 "copy --follow of three databases" || diag "$ERR"

# --- A column added on the source during the follow -----------------------
pg_sql src app "ALTER TABLE items ADD COLUMN note text; INSERT INTO items VALUES (1000, 'new', 'uses note')"
for mode in full count; do
	run_pgcarry cutover --source "$SRC" --target "$DST" --progress none --verify "$mode" app
	is "$RC" 3 "--verify $mode: a column added on the source during the follow: exit 3" || diag "$ERR"
	like "$OUT" "app table public\.items: definition differs: source \"[^\"]*note text" "--verify $mode: the report names the table and the column"
	like "$ERR" "error: the schema of database \"app\" differs between the source and the target" \
		"--verify $mode: it says the schema differs"
	like "$ERR" "detail: Logical replication does not carry schema changes; the differences are listed above\." \
		"--verify $mode: and why"
	like "$ERR" "hint: Make the same change on the target \(or undo it on the source\), check with pgcarry compare --schema-only, then run cutover again\.  Nothing was fenced; the target keeps following\." \
		"--verify $mode: and the way out"
	unlike "$ERR" "are fenced|RESET default_transaction_read_only" "--verify $mode: nothing is fenced"
done
is "$(pg_sql src app "SHOW default_transaction_read_only")" "off" "the source is not fenced"
out=$(pg_sql src app "INSERT INTO items VALUES (1001, 'still', 'writable')" 2>&1)
is "$out" "" "the source still takes writes"
is "$(pg_sql src app "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgcarry\_%'")" 3 \
	"every follow stays on the source"

pg_sql dst app "ALTER TABLE items ADD COLUMN note text"
follow_wait '[ "$(pg_sql dst app "SELECT note FROM items WHERE id = 1001")" = writable ]' \
	|| diag "the target did not apply the rows that use the column"
run_pgcarry cutover --source "$SRC" --target "$DST" --progress none --verify count --lag-max 30 app
is "$RC" 0 "with the same column added on the target, cutover completes" || diag "$ERR"
is "$(pg_sql dst app "SELECT note FROM items WHERE id = 1001")" "writable" "and the target holds the row that uses it"

# --- A column added after the check, before the fence -----------------------
# cut_late DB SQL_SRC SQL_DST: cutover --verify count of DB in the
# background; once it compared the schema and waits to read its probe row
# on the target (the marker table locked there), SQL_SRC runs on the source
# and SQL_DST on the target, then the lock goes.
cut_late() {
	follow_hold dst "$1" "LOCK pgcarry_follow.marker IN ACCESS EXCLUSIVE MODE"
	pgcarry_start cutover --source "$SRC" --target "$DST" --progress none --verify count --lag-max 60 "$1"
	pg_wait_for dst "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'
		AND backend_type = 'client backend' AND wait_event_type = 'Lock'" 1 \
		|| diag "the probe row did not wait on the target: $(pg_sql dst postgres "SELECT datname, backend_type, wait_event_type, wait_event, state FROM pg_stat_activity")"
	pg_sql src "$1" "$2"
	[ -z "$3" ] || pg_sql dst "$1" "$3"
	follow_release
	pgcarry_wait
}

cut_late shop "ALTER TABLE items ADD COLUMN late int" ""
is "$RC" 3 "a column added on the source after the check, before the fence: exit 3" || diag "$ERR"
like "$ERR" "writes to database \"shop\" on the source are fenced" "it was found behind the fence"
like "$ERR" "warning: database \"shop\": the schema of the source changed after it was compared with the target's" \
	"the change is seen behind the fence"
like "$OUT" "shop table public\.items: definition differs: source \"[^\"]*late integer" "the report names the table and the column"
like "$ERR" "error: the schema of database \"shop\" changed on the source after it was compared with the target's" \
	"it says the schema changed"
like "$ERR" "Writes on the source are no longer fenced; the target keeps following\." "and what became of the fence"
like "$ERR" "writes to database \"shop\" on the source are no longer fenced" "the fence is lifted"
unlike "$ERR" "cutover complete" "the target is not declared ready"
is "$(pg_sql src shop "SHOW default_transaction_read_only")" "off" "the source is not fenced any more"
out=$(pg_sql src shop "INSERT INTO items VALUES (1001, 'after', 1)" 2>&1)
is "$out" "" "the source takes writes again"
is "$(follow_leftovers src shop | cut -d/ -f2)" 2 "the follow stays on the source (publication, helper schema)"
is "$(pg_sql src shop "SELECT count(*) FROM pg_replication_slots WHERE database = 'shop'")" 1 "and its slot"

# --- An index made on both servers in that window: no drift ------------------
cut_late stock "CREATE INDEX items_name ON items (name)" "CREATE INDEX items_name ON items (name)"
is "$RC" 0 "an index made on both servers after the check: the schema is equal, exit 0" || diag "$ERR"
like "$ERR" "the schema of the source changed after it was compared" "the change was seen behind the fence"
like "$ERR" "cutover complete: the target is ready" "and the cutover completed"
unlike "$ERR" "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "no sanitizer report"

done_testing
