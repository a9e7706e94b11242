#!/usr/bin/env bash
# Expand/contract: the cat lovers sync triggers, case by case.  Between start
# and complete, every write of the old version (cat_name/cat_color) reaches
# cats, and every write of the new version (cats) reaches the old columns,
# which mirror each member's first cat: inserts, updates, clearing a cat,
# several cats, deleting the first one, moving a cat, deleting a member.
# The two directions never recurse, and complete's verification agrees.
# A write that says nothing about the cats (a member inserted without one,
# an update of other columns) never removes one; what the sync deleted or
# overwrote is counted, and complete refuses when the new shape lost a row
# that no old-version change explains.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

pg_start s
pg_sql s postgres "CREATE DATABASE club"
club_load s 100
URI=$(pg_uri s club)
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI"
is "$RC" 0 "start exits 0"
is "$(pg_sql s club "SELECT count(*) FILTER (WHERE has_function_privilege('public', oid, 'EXECUTE')) || ' of ' || count(*) FROM pg_proc WHERE prosecdef")" \
	"0 of 1" "the function that records the sync's changes with pgcarry's rights may not be run by PUBLIC"

old() { pg_sql s club "SELECT coalesce(cat_name, '-') || '/' || coalesce(cat_color, '-') FROM cat_lovers WHERE id = $1"; }
new() { pg_sql s club "SELECT coalesce(string_agg(coalesce(name, '-') || '/' || coalesce(color, '-'), ',' ORDER BY id), 'none') FROM cats WHERE cat_lover_id = $1"; }

is "$(new 1)" "cat 1/white" "backfill: member 1's cat is in cats"
is "$(new 3)" "none" "backfill: member 3 has no cat"

pg_sql s club "UPDATE cat_lovers SET cat_color = 'blue' WHERE id = 1"
is "$(new 1)" "cat 1/blue" "old version updates a colour: cats follows"

pg_sql s club "INSERT INTO cat_lovers (id, name, cat_name, cat_color) VALUES (1000, 'new member', 'felix', 'black')"
is "$(new 1000)" "felix/black" "old version inserts a member with a cat: cats follows"

CATS_2_4=$(pg_sql s club "SELECT string_agg(id::text, ', ' ORDER BY id) FROM cats WHERE cat_lover_id IN (2, 4)")
pg_sql s club "UPDATE cat_lovers SET cat_name = NULL, cat_color = NULL WHERE id = 2"
is "$(new 2)" "none" "old version clears a cat: it leaves cats"

pg_sql s club "INSERT INTO cats (name, color, cat_lover_id) VALUES ('tom', 'grey', 3)"
is "$(old 3)" "tom/grey" "new version gives a member a first cat: the old columns follow"

pg_sql s club "INSERT INTO cats (name, color, cat_lover_id) VALUES ('second', 'pink', 1)"
is "$(old 1)" "cat 1/blue" "new version adds a second cat: the old columns keep the first"
is "$(new 1)" "cat 1/blue,second/pink" "member 1 has two cats"

pg_sql s club "DELETE FROM cats WHERE id = (SELECT min(id) FROM cats WHERE cat_lover_id = 1)"
is "$(old 1)" "second/pink" "new version deletes the first cat: the old columns show the next one"

pg_sql s club "UPDATE cats SET color = 'violet' WHERE cat_lover_id = 1"
is "$(old 1)" "second/violet" "new version updates the first cat: the old columns follow"

pg_sql s club "INSERT INTO cats (name, color, cat_lover_id) VALUES ('extra', 'red', 4)"
pg_sql s club "UPDATE cat_lovers SET cat_name = NULL, cat_color = NULL WHERE id = 4"
is "$(new 4)" "extra/red" "old version clears a member with two cats: the first goes, the second stays"
is "$(old 4)" "extra/red" "and the old columns show the cat that stayed"

pg_sql s club "UPDATE cats SET cat_lover_id = 5 WHERE cat_lover_id = 7"
is "$(old 7)" "-/-" "new version moves a cat away: its old member has none"
is "$(old 5)" "cat 5/white" "its new member keeps its own first cat"
is "$(new 5)" "cat 5/white,cat 7/grey" "and has both cats"

pg_sql s club "DELETE FROM cat_lovers WHERE id = 8"
is "$(new 8)" "none" "old version deletes a member: its cats go"

pg_sql s club "BEGIN; UPDATE cat_lovers SET cat_color = 'green' WHERE id = 10; UPDATE cats SET name = 'renamed' WHERE cat_lover_id = 10; COMMIT"
is "$(old 10)/$(new 10)" "renamed/green/renamed/green" "both versions in one transaction: both shapes agree"

is "$(pg_sql s club "SELECT current_setting('pgcarry.expand_sync', true) IS NULL")" "t" "the guard does not leak into sessions"

# The reported loss: the new version adds a member and their cat in one
# statement; the member's row says nothing about cats, so the cat stays.
pg_sql s club "WITH m AS (INSERT INTO cat_lovers (id, name, email) VALUES (2000, 'one statement', 'os@example.org') RETURNING id) INSERT INTO cats (name, color, cat_lover_id) SELECT 'felix', 'black', id FROM m"
is "$(new 2000)" "felix/black" "new version inserts a member and their cat in one statement: the cat stays"
is "$(old 2000)" "felix/black" "and the old columns show it"
pg_sql s club "UPDATE cat_lovers SET name = 'renamed', email = NULL WHERE id = 2000"
pg_sql s club "UPDATE cat_lovers SET cat_name = cat_name WHERE id = 2000"
is "$(new 2000)" "felix/black" "updates that do not change the cat columns leave cats alone"
pg_sql s club "INSERT INTO cat_lovers (id, name) VALUES (2001, 'no cat yet'); INSERT INTO cats (name, color, cat_lover_id) VALUES ('a', 'b', 2001), ('c', 'd', 2001)"
is "$(new 2001)" "a/b,c/d" "a multi-row insert gives a member two cats"
pg_sql s club "INSERT INTO cat_lovers (id, name) VALUES (2002, 'upserted') ON CONFLICT (id) DO UPDATE SET name = 'upserted'"
pg_sql s club "INSERT INTO cat_lovers (id, name) VALUES (2000, 'upserted') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name"
is "$(new 2000)" "felix/black" "an upsert that says nothing about the cat keeps it"

# What the sync removed, counted with its cause: the old version cleared
# members 2 and 4 (explicit), the old version deleted member 8 (explicit).
mkdir -p "$T_TMP/migrations"
run_pgcarry schema status --dir "$T_TMP/migrations" --target "$URI"
like "$OUT" "new shape public.cats: 2 rows deleted, 0 without an explicit old-version change \\(first keys: $CATS_2_4\\)" \
	"status shows the rows the sync deleted in the new shape, with their keys"
like "$OUT" 'old shape public.cat_lovers: [0-9]+ rows? overwritten, 0 without' "and what it overwrote in the old shape"
run_pgcarry schema status --json --dir "$T_TMP/migrations" --target "$URI"
like "$(tr -d ' \n' <<<"$OUT")" '"sync_changes":\[\{"shape":"old","relation":"public.cat_lovers","action":"overwritten","rows":[0-9]+,"unexplained":0,"first_keys":"[0-9, ]+"\},\{"shape":"new","relation":"public.cats","action":"deleted","rows":2,"unexplained":0' \
	"status --json has them"

# A removal that no old-version change explains, made under the sync's
# guard as the faulty trigger did (it deleted the cat and cleared the old
# columns, so both shapes agreed and verification found nothing):
CAT_11=$(pg_sql s club "SELECT id FROM cats WHERE cat_lover_id = 11")
pg_sql s club "BEGIN; SELECT set_config('pgcarry.expand_sync', 'off', true); DELETE FROM cats WHERE cat_lover_id = 11; UPDATE cat_lovers SET cat_name = NULL, cat_color = NULL WHERE id = 11; COMMIT" >/dev/null
run_pgcarry schema complete cats_own_table --target "$URI"
is "$RC" 3 "complete refuses when the sync removed data nothing explains"
like "$OUT" "0 differences" "although the shapes agree"
like "$OUT" "new shape public.cats: 3 rows deleted, 1 without an explicit old-version change \\(first keys: $CATS_2_4, $CAT_11\\)" \
	"complete shows the sync's changes first"
is "$(grep -c 'error:' <<<"$ERR")" 1 "one error"
like "$ERR" 'error: refusing to contract: the sync triggers of "cats_own_table" removed data of the new shape that no old-version change explains' \
	"refusal message"
like "$ERR" "detail: public.cats: 1 row deleted, first keys: $CAT_11" "it names the rows"
like "$ERR" "hint: Compare those rows with the application's own records; run complete with --force to contract anyway." "and the way out"
is "$(pg_sql s club "SELECT count(*) FROM information_schema.columns WHERE table_name = 'cat_lovers' AND column_name = 'cat_name'")" 1 \
	"nothing was contracted"

run_pgcarry schema complete cats_own_table --force --target "$URI"
is "$RC" 0 "complete --force contracts anyway, after a verification that agrees with every case"
like "$OUT" "0 differences" "no difference"
like "$ERR" "contracting with --force although the sync removed 1 row of the new shape" "and warns"
is "$(pg_sql s club "SELECT string_agg(name || '/' || color, ',' ORDER BY id) FROM cats WHERE cat_lover_id IN (1, 4, 5)")" \
	"cat 5/white,cat 7/grey,second/violet,extra/red" "the new shape keeps every cat after contract"

done_testing
