#!/usr/bin/env bash
# Expand/contract, the column operations (add_column with a default and NOT
# NULL, change_type, rename_column, with a check constraint and an index
# beside them), proven against the applications' own
# record of their writes.  The old version writes qty (int) and label; the
# new one qty_new (bigint), title and flag.  Both write the same rows at the
# same time through start and the interim, the new one also through
# complete (with the names that survive contract): single and multi-row
# INSERT, INSERT ... SELECT, ON CONFLICT DO UPDATE, UPDATE ... FROM, updates
# of other columns, DELETE ... USING, a savepoint that rolls back, COPY.
# Each write is recorded in w_item in the same transaction, with the
# application's own values; after contract items must hold exactly that:
# qty, title and flag of every row, no row missing and none extra.  The
# applications connect as a role of their own (not a superuser, not the
# role that runs the migration); what the sync overwrote is recorded and
# shown by complete, all of it explained by an explicit write.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

ROWS=3000
pg_start s
pg_sql s postgres "CREATE DATABASE shop"
pg_psql s shop -v rows=$ROWS <<'SQL'
CREATE TABLE items (id bigserial PRIMARY KEY, qty int NOT NULL DEFAULT 0, label text, code text);
INSERT INTO items (qty, label, code) SELECT g % 50, 'label ' || g, 'code ' || g FROM generate_series(1, :rows) AS g;
-- The witness: what the applications wrote (flag NULL: nobody set it, the
-- column's default applies).
CREATE TABLE w_item (id bigint PRIMARY KEY, qty bigint, title text, flag boolean);
INSERT INTO w_item SELECT id, qty, label, NULL FROM items;
CREATE ROLE shop_app LOGIN;
GRANT SELECT, INSERT, UPDATE, DELETE ON items, w_item TO shop_app;
GRANT USAGE ON SEQUENCE items_id_seq TO shop_app;
SQL
export SCRIPT_APP_USER=shop_app
URI=$(pg_uri s shop)
cat >"$T_TMP/ops.json" <<'JSON'
{"name": "items_v2", "operations": [
  {"op": "add_column", "table": "items", "column": "flag", "type": "boolean", "default": "true", "not_null": true},
  {"op": "change_type", "table": "items", "column": "qty", "type": "bigint"},
  {"op": "rename_column", "table": "items", "column": "label", "to": "title"},
  {"op": "add_constraint", "table": "items", "name": "items_code_not_empty", "check": "code <> ''"},
  {"op": "create_index", "table": "items", "name": "items_code_idx", "columns": ["code"]}]}
JSON

A=$T_TMP/apps
mkdir -p "$A"
pick='\set k random(1, '$ROWS')
\set q random(0, 1000000)'
# ---- the old version: qty and label
cat >"$A/old-insert.sql" <<'SQL'
\set q random(0, 1000000)
BEGIN;
WITH i AS (INSERT INTO items (qty, label, code) VALUES (:q, 'old ' || :q, 'o'), (:q + 1, NULL, 'o') RETURNING id, qty, label)
INSERT INTO w_item (id, qty, title) SELECT id, qty, label FROM i;
WITH i AS (INSERT INTO items (qty, label) SELECT g, 'gen ' || g FROM generate_series(1, 2) AS g RETURNING id, qty, label)
INSERT INTO w_item (id, qty, title) SELECT id, qty, label FROM i;
END;
SQL
cat >"$A/old-update.sql" <<SQL
$pick
BEGIN;
UPDATE items i SET qty = v.q, label = v.l FROM (VALUES (:k::bigint, :q, 'old set ' || :q)) AS v (id, q, l) WHERE i.id = v.id;
UPDATE w_item SET qty = :q, title = 'old set ' || :q WHERE id = :k;
UPDATE items SET code = 'touched' WHERE id = :k;
END;
SQL
cat >"$A/old-upsert.sql" <<SQL
$pick
BEGIN;
INSERT INTO items (id, qty, label) VALUES (:k, :q, 'old up') ON CONFLICT (id) DO UPDATE SET qty = EXCLUDED.qty;
INSERT INTO w_item (id, qty, title) VALUES (:k, :q, 'old up') ON CONFLICT (id) DO UPDATE SET qty = EXCLUDED.qty;
END;
SQL
cat >"$A/old-delete.sql" <<SQL
$pick
\\set d random(1, 5)
BEGIN;
DELETE FROM items i USING w_item w WHERE w.id = i.id AND i.id = :k AND :d = 1;
DELETE FROM w_item WHERE id = :k AND :d = 1;
END;
SQL
cat >"$A/old-savepoint.sql" <<SQL
$pick
BEGIN;
UPDATE items SET label = NULL WHERE id = :k;
UPDATE w_item SET title = NULL WHERE id = :k;
SAVEPOINT s;
UPDATE items SET qty = -1, label = 'undone' WHERE id = :k;
UPDATE w_item SET qty = -1, title = 'undone' WHERE id = :k;
ROLLBACK TO SAVEPOINT s;
END;
SQL
# ---- the new version: qty_new, title and flag (then, through complete,
# only the names that survive it)
cat >"$A/new-insert.sql" <<'SQL'
\set q random(0, 1000000)
BEGIN;
WITH i AS (INSERT INTO items (qty_new, title, flag) VALUES (:q * 1000, 'new ' || :q, false), (:q, NULL, true)
           RETURNING id, qty_new, title, flag)
INSERT INTO w_item (id, qty, title, flag) SELECT id, qty_new, title, flag FROM i;
END;
SQL
cat >"$A/new-update.sql" <<SQL
$pick
BEGIN;
UPDATE items i SET qty_new = v.q * 1000, flag = false FROM (VALUES (:k::bigint, :q)) AS v (id, q) WHERE i.id = v.id;
UPDATE w_item SET qty = :q * 1000, flag = false WHERE id = :k;
END;
SQL
cat >"$A/new-upsert.sql" <<SQL
$pick
BEGIN;
INSERT INTO items (id, qty_new, title) VALUES (:k, :q, 'new up') ON CONFLICT (id) DO UPDATE SET qty_new = EXCLUDED.qty_new, title = EXCLUDED.title;
INSERT INTO w_item (id, qty, title) VALUES (:k, :q, 'new up') ON CONFLICT (id) DO UPDATE SET qty = EXCLUDED.qty, title = EXCLUDED.title;
END;
SQL
cat >"$A/new-title.sql" <<SQL
$pick
BEGIN;
UPDATE items SET title = 'titled ' || :q, flag = true WHERE id = :k;
UPDATE w_item SET title = 'titled ' || :q, flag = true WHERE id = :k;
SAVEPOINT s;
DELETE FROM items WHERE id = :k;
DELETE FROM w_item WHERE id = :k;
ROLLBACK TO SAVEPOINT s;
END;
SQL
cp "$A/old-delete.sql" "$A/new-delete.sql"  # both versions delete rows alike

app_run() { script_app_run s shop "$A" "$@"; }
app_end() { script_app_end "$@"; }

app_run old old-insert old-update old-upsert old-delete old-savepoint
sleep 1
pgcarry_start schema start "$T_TMP/ops.json" --target "$URI" --batch-size 100 --pause 20ms
for _ in $(seq 1 300); do
	[ "$(pg_sql s shop "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal")" -ge 2 ] && break
	sleep 0.1
done
app_run new new-insert new-update new-upsert new-title new-delete
pgcarry_wait
is "$RC" 0 "start exits 0 while both versions write" || diag "$ERR $OUT"
like "$ERR" "backfill .*: done" "start backfilled while both versions wrote"

pg_psql s shop <<'SQL'
BEGIN;
COPY items (id, qty, label) FROM STDIN;
9000001	7	copied old
9000002	8	\N
\.
INSERT INTO w_item (id, qty, title) VALUES (9000001, 7, 'copied old'), (9000002, 8, NULL);
COMMIT;
BEGIN;
COPY items (id, qty_new, title, flag) FROM STDIN;
9000011	2000000000	copied new	false
9000012	80	\N	true
\.
INSERT INTO w_item (id, qty, title, flag) VALUES (9000011, 2000000000, 'copied new', false), (9000012, 80, NULL, true);
COMMIT;
SQL
sleep 2
app_end old
app_end new
app_run newer new-title new-delete
sleep 1
run_pgcarry schema complete items_v2 --target "$URI"
is "$RC" 0 "complete exits 0 while the new version writes" || diag "$ERR"
like "$OUT" "new shape public\\.items\\.qty_new: [0-9]+ rows? overwritten, 0 without an explicit old-version change" \
	"complete shows what the sync overwrote in the new column"
like "$OUT" "old shape public\\.items\\.label: [0-9]+ rows? overwritten, 0 without" "and in the old columns"
unlike "$OUT" "[1-9][0-9]* without an explicit" "every overwrite is explained by an explicit write"
sleep 1
app_end newer

CHECK="
WITH want AS (SELECT id, qty, title, coalesce(flag, true) AS flag FROM w_item),
     have AS (SELECT id, qty, title, flag FROM items)
SELECT 'missing or changed', * FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM have) AS a
UNION ALL SELECT 'extra', * FROM (SELECT * FROM have EXCEPT ALL SELECT * FROM want) AS b"
is "$(pg_sql s shop "SELECT count(*) FROM ($CHECK) AS d")" 0 \
	"every row holds what the applications wrote ($(pg_sql s shop "SELECT count(*) FROM items") rows)" ||
	diag "$(pg_sql s shop "$CHECK LIMIT 10")"
is "$(pg_sql s shop "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped")" \
	"id bigint true, code text false, flag boolean true, qty bigint true, title text false" "the new shape, as the catalog has it"
ok $([ "$(pg_sql s shop "SELECT count(*) FROM w_item WHERE flag IS NOT NULL")" -gt 10 ] && echo 0 || echo 1) "the new version wrote rows"
is "$(pg_sql s shop "SELECT (SELECT convalidated FROM pg_constraint WHERE conname = 'items_code_not_empty')::text || ' ' || (SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_code_idx'::regclass)::text")" \
	"true true" "the check constraint is validated and the index valid"

done_testing
