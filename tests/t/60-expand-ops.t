#!/usr/bin/env bash
# Expand/contract: every built-in operation on a small table while an
# application (pgbench, writing and reading continuously) runs through start
# and complete: add_column with a default and NOT NULL, check / foreign key /
# unique constraints, create_index, change_type; then rename_column, and raw
# SQL with its own backfill and verification.  Zero failed application
# transactions, no transaction waiting longer than the lock timeout plus a
# margin, a rollback that removes every trace, and the final shape checked in
# the catalog.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

LOCK_TIMEOUT=1000
MARGIN=1000  # execution time on a busy two-core machine, on top of the lock wait

pg_start s
pg_sql s postgres "CREATE DATABASE club"
pg_psql s club <<'SQL'
CREATE TABLE owners (id int PRIMARY KEY, name text);
INSERT INTO owners SELECT g, 'owner ' || g FROM generate_series(1, 100) AS g;
CREATE TABLE items (id bigserial PRIMARY KEY, qty int NOT NULL DEFAULT 0, label text, code text, owner_id int);
INSERT INTO items (qty, label, code, owner_id)
SELECT g % 50, 'label ' || g, 'code-' || g, 1 + g % 100 FROM generate_series(1, 20000) AS g;
SQL
URI=$(pg_uri s club)

# The application keeps its own record of what it writes (app_log: the
# item, the quantity it set, in order): the values after complete are
# judged against it, not against anything pgcarry reports.
pg_sql s club "CREATE TABLE app_log (seq bigserial PRIMARY KEY, item bigint NOT NULL, qty int NOT NULL)"
cat >"$T_TMP/old.sql" <<'SQL'
\set id random(1, 20000)
\set q random(0, 100)
\set o random(1, 100)
BEGIN;
UPDATE items SET qty = :q, label = 'label ' || :q WHERE id = :id;
INSERT INTO app_log (item, qty) VALUES (:id, :q);
SELECT qty, label, code, owner_id FROM items WHERE id = :id;
INSERT INTO items (qty, label, code, owner_id) VALUES (:q, 'new', md5(random()::text || clock_timestamp()::text), :o) RETURNING id AS new_id
\gset
INSERT INTO app_log (item, qty) VALUES (:new_id, :q);
END;
SQL
sed 's/label/title/g' "$T_TMP/old.sql" >"$T_TMP/new.sql"

# bench_start SCRIPT SECONDS / bench_stop NAME: pgbench in the background,
# every transaction logged; no failed transaction, none slower than the limit.
bench_start() {
	rm -f "$T_TMP"/pgb.*
	PGPASSFILE=$NO_PGPASS pgbench -n -c 2 -j 2 -R 100 -T "$2" -f "$1" -l --log-prefix="$T_TMP/pgb" \
		-h "$(pg_sockdir s)" -p "$(pg_port s)" -U postgres club >"$T_TMP/pgbench.out" 2>&1 &
	BENCH_PID=$!
}
bench_stop() {
	wait $BENCH_PID
	local rc=$? max
	is "$rc" 0 "$1: pgbench finished without a failed transaction"
	unlike "$(cat "$T_TMP/pgbench.out")" "aborted|ERROR" "$1: no error reported by the application"
	# A line: client, transaction, latency (us), script, epoch s, us, and with
	# --rate the schedule lag (us), which the latency includes: a client
	# held up by a lock starts its next transactions late.  The time a
	# transaction itself took is latency minus lag.
	max=$(cat "$T_TMP"/pgb.* | awk 'BEGIN { m = 0 } { t = $3 - (NF >= 7 ? $7 : 0) } t > m { m = t } END { printf "%d", m / 1000 }')
	ok $([ "$max" -lt $((LOCK_TIMEOUT + MARGIN)) ] && echo 0 || echo 1) \
		"$1: no transaction waited longer than the lock timeout (longest ${max} ms)"
}

cat >"$T_TMP/ops.json" <<'JSON'
{
  "name": "items_v2",
  "operations": [
    {"op": "add_column", "table": "items", "column": "flag", "type": "boolean", "default": "true", "not_null": true},
    {"op": "add_constraint", "table": "items", "name": "items_owner_positive", "check": "owner_id > 0"},
    {"op": "add_constraint", "table": "items", "name": "items_owner_fk",
     "foreign_key": {"columns": ["owner_id"], "references": "owners", "ref_columns": ["id"]}},
    {"op": "add_constraint", "table": "items", "name": "items_code_key", "unique": ["code"]},
    {"op": "create_index", "table": "items", "name": "items_owner_idx", "columns": ["owner_id"]},
    {"op": "change_type", "table": "items", "column": "qty", "type": "bigint"}
  ]
}
JSON

# ---- start, then rollback: every trace goes
run_pgcarry schema start "$T_TMP/ops.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "start of six operations exits 0"
like "$OUT" "0 differences" "verified"
run_pgcarry schema rollback items_v2 --target "$URI"
is "$RC" 0 "rollback exits 0"
is "$(pg_sql s club "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped")" \
	"id,qty,label,code,owner_id" "rollback: the columns are as before"
is "$(pg_sql s club "SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype <> 'p'")" 0 "rollback: no constraint left"
is "$(pg_sql s club "SELECT count(*) FROM pg_index WHERE indrelid = 'items'::regclass AND NOT indisprimary")" 0 "rollback: no index left"
is "$(pg_sql s club "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal")" 0 "rollback: no trigger left"

# ---- start and complete under the workload
bench_start "$T_TMP/old.sql" 25
sleep 2
run_pgcarry schema start "$T_TMP/ops.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "start under the workload exits 0"
like "$ERR" "expand 4/[0-9]+: build unique index .*items_code_key.* concurrently" "the unique index is built concurrently"
like "$ERR" "validate [0-9]/[0-9]: validate constraint .*items_owner_fk" "the foreign key is validated after NOT VALID"
like "$OUT" "0 differences" "verified under the workload"
is "$(pg_sql s club "SELECT count(*) FROM items WHERE qty_new IS DISTINCT FROM qty::bigint")" 0 "change_type: the new column is in sync"
sleep 2
run_pgcarry schema complete items_v2 --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "complete under the workload exits 0"
bench_stop "six operations"

# Every row as the fixture made it or as the application last wrote it.
is "$(pg_sql s club "SELECT count(*) FROM items")" "$(pg_sql s club "SELECT 20000 + count(*) FROM app_log WHERE item > 20000")" \
	"after complete: the fixture's rows and every row the application inserted, none lost"
is "$(pg_sql s club "SELECT count(*) FROM items i LEFT JOIN (SELECT DISTINCT ON (item) item, qty FROM app_log ORDER BY item, seq DESC) l
	ON l.item = i.id WHERE (i.qty, i.label) IS DISTINCT FROM (coalesce(l.qty, i.id % 50),
	CASE WHEN i.id > 20000 THEN 'new' WHEN l.qty IS NULL THEN 'label ' || i.id ELSE 'label ' || l.qty END)")" 0 \
	"after complete: every row holds the values the application last wrote (or the fixture's)"
is "$(pg_sql s club "SELECT format_type(atttypid, atttypmod) || ' ' || attnotnull FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'flag'")" \
	"boolean true" "add_column: flag is boolean NOT NULL"
is "$(pg_sql s club "SELECT count(*) FROM items WHERE flag IS NULL")" 0 "add_column: every row has a value"
is "$(pg_sql s club "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'pgcarry_%'")" 0 "add_column: the helper check is gone"
is "$(pg_sql s club "SELECT string_agg(conname || ':' || contype::text || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype <> 'p'")" \
	"items_code_key:u:true,items_owner_fk:f:true,items_owner_positive:c:true" "constraints: check, foreign key and unique, all validated"
is "$(pg_sql s club "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_owner_idx'::regclass")" "t" "create_index: the index is valid"
is "$(pg_sql s club "SELECT format_type(atttypid, atttypmod) || ' ' || attnotnull || ' ' || pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = 'items'::regclass AND a.attname = 'qty'")" \
	"bigint true 0" "change_type: qty is bigint, NOT NULL, default kept"
is "$(pg_sql s club "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'qty_new' AND NOT attisdropped")" 0 \
	"change_type: the temporary column is gone"
is "$(pg_sql s club "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal")" 0 "no trigger left"

# ---- rename_column: both names work in the interim
cat >"$T_TMP/rename.json" <<'JSON'
{"name": "items_title", "operations": [{"op": "rename_column", "table": "items", "column": "label", "to": "title"}]}
JSON
bench_start "$T_TMP/old.sql" 12
sleep 1
run_pgcarry schema start "$T_TMP/rename.json" --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "rename_column: start under the workload exits 0"
bench_stop "rename, old version"
pg_sql s club "UPDATE items SET title = 'via the new name' WHERE id = 1; UPDATE items SET label = 'via the old name' WHERE id = 2; INSERT INTO items (id, qty, title, code, owner_id) VALUES (-1, 1, 'inserted new', 'x-1', 1); INSERT INTO items (id, qty, label, code, owner_id) VALUES (-2, 1, 'inserted old', 'x-2', 1)"
is "$(pg_sql s club "SELECT string_agg(label || '=' || title, ',' ORDER BY id) FROM items WHERE id IN (-2, -1, 1, 2)")" \
	"inserted old=inserted old,inserted new=inserted new,via the new name=via the new name,via the old name=via the old name" \
	"rename_column: writes through either name show in both"
bench_start "$T_TMP/new.sql" 10
sleep 1
run_pgcarry schema complete items_title --target "$URI" --lock-timeout ${LOCK_TIMEOUT}ms
is "$RC" 0 "rename_column: complete under the new version's workload exits 0"
bench_stop "rename, new version"
is "$(pg_sql s club "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped")" \
	"id,code,owner_id,flag,qty,title" "rename_column: only the new name is left"
is "$(pg_sql s club "SELECT count(*) FROM items WHERE title IS NULL")" 0 "rename_column: every row has its title"

# ---- raw SQL with the same phases
cat >"$T_TMP/raw.json" <<'JSON'
{"name": "items_price", "operations": [{"op": "sql", "table": "items",
  "expand": ["ALTER TABLE items ADD COLUMN price numeric", "ALTER TABLE items ALTER COLUMN price SET DEFAULT 0",
             "CREATE INDEX CONCURRENTLY items_price_idx ON items (price)"],
  "backfill": "UPDATE items SET price = qty * 1.5 WHERE ($1::bigint IS NULL OR id > $1::bigint) AND id <= $2::bigint AND price IS NULL",
  "verify": "SELECT id::text, 'price is missing' FROM items WHERE price IS NULL",
  "contract": ["COMMENT ON COLUMN items.price IS 'backfilled by pgcarry'"],
  "rollback": ["DROP INDEX CONCURRENTLY IF EXISTS items_price_idx", "ALTER TABLE items DROP COLUMN IF EXISTS price"]}]}
JSON
run_pgcarry schema start "$T_TMP/raw.json" --target "$URI" --batch-size 3000
is "$RC" 0 "raw sql: start exits 0"
like "$ERR" "backfill sql backfill of .*items.*: done" "raw sql: backfilled in batches"
is "$(pg_sql s club "SELECT count(*) FROM items WHERE price IS NULL")" 0 "raw sql: every row has a price"
is "$(pg_sql s club "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_price_idx'::regclass")" "t" \
	"raw sql: CREATE INDEX CONCURRENTLY ran outside a transaction"
pg_sql s club "ALTER TABLE items ALTER COLUMN price DROP DEFAULT; INSERT INTO items (id, qty, title, code, owner_id) VALUES (-3, 1, 'no price', 'x-3', 1)"
run_pgcarry schema complete items_price --target "$URI"
is "$RC" 3 "raw sql: complete refuses when its verification finds a row"
like "$ERR" "key -3 price is missing" "raw sql: names the row"
run_pgcarry schema rollback items_price --target "$URI"
is "$RC" 0 "raw sql: rollback exits 0"
is "$(pg_sql s club "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'price' AND NOT attisdropped")" 0 \
	"raw sql: rollback ran its statements"

done_testing
