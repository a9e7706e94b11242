#!/usr/bin/env bash
# Expand/contract: the cat lovers sync triggers, case by case.  Between start
# and complete, every write of the old version (cat_name/cat_color) reaches
# cats, and every write of the new version (cats) reaches the old columns,
# which mirror each member's first cat: inserts, updates, clearing a cat,
# several cats, deleting the first one, moving a cat, deleting a member.
# The two directions never recurse, and complete's verification agrees.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

pg_start s
pg_sql s postgres "CREATE DATABASE club"
club_load s 100
URI=$(pg_uri s club)
run_pgcarry schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI"
is "$RC" 0 "start exits 0"

old() { pg_sql s club "SELECT coalesce(cat_name, '-') || '/' || coalesce(cat_color, '-') FROM cat_lovers WHERE id = $1"; }
new() { pg_sql s club "SELECT coalesce(string_agg(coalesce(name, '-') || '/' || coalesce(color, '-'), ',' ORDER BY id), 'none') FROM cats WHERE cat_lover_id = $1"; }

is "$(new 1)" "cat 1/white" "backfill: member 1's cat is in cats"
is "$(new 3)" "none" "backfill: member 3 has no cat"

pg_sql s club "UPDATE cat_lovers SET cat_color = 'blue' WHERE id = 1"
is "$(new 1)" "cat 1/blue" "old version updates a colour: cats follows"

pg_sql s club "INSERT INTO cat_lovers (id, name, cat_name, cat_color) VALUES (1000, 'new member', 'felix', 'black')"
is "$(new 1000)" "felix/black" "old version inserts a member with a cat: cats follows"

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

run_pgcarry schema complete cats_own_table --target "$URI"
is "$RC" 0 "complete's verification agrees with every case"
like "$OUT" "0 differences" "no difference"
is "$(pg_sql s club "SELECT string_agg(name || '/' || color, ',' ORDER BY id) FROM cats WHERE cat_lover_id IN (1, 4, 5)")" \
	"cat 5/white,cat 7/grey,second/violet,extra/red" "the new shape keeps every cat after contract"

done_testing
