#!/usr/bin/env bash
# Expand/contract, change_type and rename_column: what their sync triggers
# overwrite in the other column is recorded in pgcarry's bookkeeping, even
# though they run as the application's role (a role of its own here, neither
# a superuser nor the role that runs the migration), which has no rights on
# pgcarry's schema.  The application writes through the interim as the old
# version (amount int, label) and the new one (amount_new numeric, title),
# recording each write in its own table w_price in the same transaction; a
# deliberate overwrite by the old version shows in status and in complete,
# and an overwrite of a value the old version could not see (2.75, which
# its integer column shows as 3) makes complete refuse until --force.  After
# contract, prices holds exactly what the application wrote.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

pg_start s
pg_sql s postgres "CREATE DATABASE shop"
pg_psql s shop <<'SQL'
CREATE ROLE shop_app LOGIN;
CREATE TABLE prices (id bigint PRIMARY KEY, amount int NOT NULL DEFAULT 0, label text);
INSERT INTO prices SELECT g, g * 10, 'label ' || g FROM generate_series(1, 20) AS g;
CREATE TABLE w_price (id bigint PRIMARY KEY, amount numeric, title text);
INSERT INTO w_price SELECT id, amount, label FROM prices;
GRANT SELECT, INSERT, UPDATE, DELETE ON prices, w_price TO shop_app;
SQL
URI=$(pg_uri s shop)
cat >"$T_TMP/prices.json" <<'JSON'
{"name": "prices_v2", "operations": [
  {"op": "change_type", "table": "prices", "column": "amount", "type": "numeric(12,2)"},
  {"op": "rename_column", "table": "prices", "column": "label", "to": "title"}]}
JSON

# app SQL: one transaction as the application's role
app() {
	PGPASSFILE=$NO_PGPASS psql -X -q -v ON_ERROR_STOP=1 -At -h "$(pg_sockdir s)" -p "$(pg_port s)" \
		-U shop_app -d shop -c "BEGIN" -c "$1" -c "COMMIT"
}
is "$(pg_sql s shop "SELECT rolsuper::text FROM pg_roles WHERE rolname = 'shop_app'")" "false" \
	"the application's role is not a superuser"

run_pgcarry schema start "$T_TMP/prices.json" --target "$URI"
is "$RC" 0 "start exits 0" || diag "$ERR"

# Writes that say nothing about the columns under change.
app "UPDATE prices SET amount = amount, label = label WHERE id BETWEEN 7 AND 9;
     INSERT INTO prices (id, amount) VALUES (8, 80) ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount"
app "SAVEPOINT s; UPDATE prices SET amount = -1, label = 'undone' WHERE id = 10; ROLLBACK TO SAVEPOINT s"
# Inserts by either version: no row was there, nothing is overwritten.
app "INSERT INTO prices (id, amount, label) VALUES (101, 5, 'old insert');
     INSERT INTO w_price VALUES (101, 5, 'old insert')"
app "INSERT INTO prices (id, amount_new, title) VALUES (201, 7, 'new insert');
     INSERT INTO w_price VALUES (201, 7, 'new insert')"
is "$(pg_sql s shop "SELECT count(*) FROM pgcarry_expand.sync_changes")" 0 \
	"writes that overwrite no value of the other column record nothing"
is "$(pg_sql s shop "SELECT has_table_privilege('shop_app', 'pgcarry_expand.sync_changes', 'INSERT')::text || ' ' || has_schema_privilege('shop_app', 'pgcarry_expand', 'USAGE')::text")" \
	"false false" "the application's role has no rights on pgcarry's bookkeeping"
is "$(pg_sql s shop "SELECT count(*) || ' ' || count(*) FILTER (WHERE has_function_privilege('shop_app', oid, 'EXECUTE')) FROM pg_proc WHERE pronamespace = 'pgcarry_expand'::regnamespace AND prosecdef")" \
	"2 0" "nor may it run the functions that record the sync's overwrites with pgcarry's rights"

# The old version updates values it sees; the new version updates through
# the new columns.
app "UPDATE prices SET amount = 11 WHERE id = 1; UPDATE w_price SET amount = 11 WHERE id = 1"
app "UPDATE prices SET amount = CASE WHEN id = 12 THEN 121 ELSE amount END WHERE id IN (11, 12, 13);
     UPDATE w_price SET amount = 121 WHERE id = 12"
app "UPDATE prices SET label = 'old label 2' WHERE id = 2; UPDATE w_price SET title = 'old label 2' WHERE id = 2"
app "UPDATE prices SET amount_new = 45 WHERE id = 4; UPDATE w_price SET amount = 45 WHERE id = 4"
app "UPDATE prices SET amount_new = 2.75 WHERE id = 5; UPDATE w_price SET amount = 2.75 WHERE id = 5"
app "UPDATE prices SET title = 'new title 6' WHERE id = 6; UPDATE w_price SET title = 'new title 6' WHERE id = 6"
is "$(pg_sql s shop "SELECT string_agg(format('%s %s %s %s: %s', shape, action, relation, key, coalesce(cause, '-')), '; ' ORDER BY id) FROM pgcarry_expand.sync_changes")" \
	"new overwritten public.prices.amount_new 1: the old version changed amount; new overwritten public.prices.amount_new 12: the old version changed amount; new overwritten public.prices.title 2: the old version changed label; old overwritten public.prices.amount 4: the new version wrote amount_new; old overwritten public.prices.amount 5: the new version wrote amount_new; old overwritten public.prices.label 6: the new version wrote title" \
	"each value of the other column the sync overwrote is recorded, with the write that caused it, row by row in a multi-row update"

# Deliberate overwrites of values the new version wrote: the old version
# changes row 4's amount (the new version's 45, which it sees) and row 6's
# label; then row 5's amount, whose new value 2.75 it saw as 3.
app "UPDATE prices SET amount = 41 WHERE id = 4; UPDATE w_price SET amount = 41 WHERE id = 4"
app "UPDATE prices SET label = 'old label 6' WHERE id = 6; UPDATE w_price SET title = 'old label 6' WHERE id = 6"
is "$(pg_sql s shop "SELECT amount || ' ' || label FROM prices WHERE id = 5")" "3 label 5" \
	"the old version sees 2.75 as 3"
app "UPDATE prices SET amount = amount + 1 WHERE id = 5; UPDATE w_price SET amount = 4 WHERE id = 5"

mkdir -p "$T_TMP/migrations"
run_pgcarry schema status --dir "$T_TMP/migrations" --target "$URI"
is "$RC" 0 "status exits 0"
like "$OUT" 'new shape public.prices.amount_new: 4 rows overwritten, 1 without an explicit old-version change \(first keys: 1, 12, 4, 5\)' \
	"status shows the new column's values the sync overwrote, with their keys"
like "$OUT" 'new shape public.prices.title: 2 rows overwritten, 0 without an explicit old-version change \(first keys: 2, 6\)' \
	"and the renamed column's"
like "$OUT" 'old shape public.prices.amount: 2 rows overwritten, 0 without an explicit old-version change \(first keys: 4, 5\)' \
	"and the old columns' values the new version's writes replaced"
like "$OUT" 'old shape public.prices.label: 1 row overwritten, 0 without' "for the renamed column too"
run_pgcarry schema status --json --dir "$T_TMP/migrations" --target "$URI"
like "$(tr -d ' \n' <<<"$OUT")" '\{"shape":"new","relation":"public.prices.amount_new","action":"overwritten","rows":4,"unexplained":1,"first_keys":"1,12,4,5"' \
	"status --json has them"

run_pgcarry schema complete prices_v2 --target "$URI"
is "$RC" 3 "complete refuses: the old version overwrote a value it could not see"
like "$OUT" "0 differences" "although both columns agree"
like "$OUT" 'new shape public.prices.amount_new: 4 rows overwritten, 1 without an explicit old-version change \(first keys: 1, 12, 4, 5\)' \
	"complete shows the sync's overwrites first"
is "$(grep -c 'error:' <<<"$ERR")" 1 "one error"
like "$ERR" 'error: refusing to contract: the sync triggers of "prices_v2" removed data of the new shape that no old-version change explains' \
	"refusal message"
like "$ERR" "detail: public.prices.amount_new: 1 row overwritten, first keys: 5" "it names the row"
like "$ERR" "hint: Compare those rows with the application's own records; run complete with --force to contract anyway." \
	"and the way out"
is "$(pg_sql s shop "SELECT count(*) FROM information_schema.columns WHERE table_name = 'prices' AND column_name = 'amount_new'")" 1 \
	"nothing was contracted"

run_pgcarry schema complete prices_v2 --force --target "$URI"
is "$RC" 0 "complete --force contracts" || diag "$ERR"
like "$ERR" "contracting with --force although the sync removed 1 row of the new shape" "and warns"

CHECK="
SELECT 'missing or changed', * FROM (SELECT id, amount, title FROM w_price EXCEPT ALL SELECT id, amount, title FROM prices) AS a
UNION ALL SELECT 'extra', * FROM (SELECT id, amount, title FROM prices EXCEPT ALL SELECT id, amount, title FROM w_price) AS b"
is "$(pg_sql s shop "SELECT count(*) FROM ($CHECK) AS d")" 0 \
	"prices holds what the application wrote ($(pg_sql s shop "SELECT count(*) FROM prices") rows)" ||
	diag "$(pg_sql s shop "$CHECK LIMIT 10")"
is "$(pg_sql s shop "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'prices'::regclass AND attnum > 0 AND NOT attisdropped")" \
	"id bigint, amount numeric(12,2), title text" "the new shape, as the catalog has it"
is "$(pg_sql s shop "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgcarry_expand'::regnamespace AND proname LIKE 'pgcarry_prices_v2_%'")" 0 \
	"contract dropped the sync's functions"

done_testing
