#!/usr/bin/env bash
# Expand/contract, the cat lovers move, proven against the applications' own
# record of their writes.  Two application versions, written from their own
# point of view (SQL only, no knowledge of pgcarry's triggers), write at the
# same time through start (expand, backfill), the interim and complete:
#
#   old version (cat_lovers.cat_name/cat_color): single and multi-row INSERT,
#     INSERT ... SELECT, ON CONFLICT DO UPDATE, UPDATE ... FROM, updates of
#     unrelated columns, clearing a cat, DELETE ... USING, a savepoint that
#     rolls back, COPY;
#   new version (cats): a member and their cat in one data-modifying CTE, a
#     member's second and third cat, INSERT ... SELECT, UPDATE ... FROM,
#     ON CONFLICT DO UPDATE, DELETE ... USING of a cat, deletes of members, a
#     savepoint that rolls back, a deferred unique constraint, COPY.
#
# Each version records every write in its own witness tables (w_member,
# w_cat) in the same transaction, with its own SQL.  Each version owns its
# members (the old one the even ones it loaded and the ones it inserted, the
# new one the odd ones and its own), so what each wrote has one meaning; how
# the two shapes answer writes to one member by both versions is pinned case
# by case in 60-expand-sync.t.  After contract the cats table must hold
# exactly what the witnesses say: nothing missing, changed, duplicated or
# extra, and the members likewise.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/60-expand-lib.bash"

ROWS=4000
pg_start s
pg_sql s postgres "CREATE DATABASE club"
club_load s $ROWS
pg_psql s club <<'SQL'
ALTER TABLE cat_lovers ADD CONSTRAINT cat_lovers_email_key UNIQUE (email) DEFERRABLE INITIALLY IMMEDIATE;
-- The witnesses: each member and the cat the old shape gives it, and every
-- cat the new version created (cat_id from RETURNING; NULL for COPY).
CREATE TABLE w_member (member_id bigint PRIMARY KEY, owner text NOT NULL, cat_name text, cat_color text);
INSERT INTO w_member SELECT id, CASE WHEN id % 2 = 0 THEN 'old' ELSE 'new' END, cat_name, cat_color FROM cat_lovers;
CREATE TABLE w_cat (wid bigserial PRIMARY KEY, cat_id bigint UNIQUE, member_id bigint NOT NULL, name text, color text);
CREATE INDEX ON w_cat (member_id);
CREATE INDEX ON w_member (owner, member_id);
SQL
URI=$(pg_uri s club)

A=$T_TMP/apps
mkdir -p "$A"
# Every script picks a member of its own version, at random.
pick() {
	cat <<SQL
\\set r random(1, $ROWS)
SELECT coalesce((SELECT member_id FROM w_member WHERE owner = '$1' AND member_id >= :r ORDER BY member_id LIMIT 1),
                (SELECT min(member_id) FROM w_member WHERE owner = '$1'), 0) AS k \\gset
SQL
}

# ---- the old version
cat >"$A/old-insert.sql" <<'SQL'
\set n random(1, 1000000000)
BEGIN;
WITH m AS (INSERT INTO cat_lovers (name, email, cat_name, cat_color)
           VALUES ('old ' || :n, md5(random()::text) || '@old', 'tom ' || :n, 'black'),
                  ('old b' || :n, NULL, NULL, NULL)
           RETURNING id, cat_name, cat_color)
INSERT INTO w_member (member_id, owner, cat_name, cat_color) SELECT id, 'old', cat_name, cat_color FROM m;
WITH m AS (INSERT INTO cat_lovers (name, cat_name, cat_color)
           SELECT 'old g' || g, 'gen ' || g, 'white' FROM generate_series(1, 2) AS g
           RETURNING id, cat_name, cat_color)
INSERT INTO w_member (member_id, owner, cat_name, cat_color) SELECT id, 'old', cat_name, cat_color FROM m;
END;
SQL
{ pick old; cat <<'SQL'
BEGIN;
INSERT INTO cat_lovers (id, name, cat_name, cat_color) VALUES (:k, 'upserted', 'ups ' || :k, 'grey')
  ON CONFLICT (id) DO UPDATE SET cat_name = EXCLUDED.cat_name, cat_color = EXCLUDED.cat_color;
INSERT INTO w_member (member_id, owner, cat_name, cat_color) VALUES (:k, 'old', 'ups ' || :k, 'grey')
  ON CONFLICT (member_id) DO UPDATE SET cat_name = EXCLUDED.cat_name, cat_color = EXCLUDED.cat_color;
END;
SQL
} >"$A/old-upsert.sql"
{ pick old; cat <<'SQL'
BEGIN;
UPDATE cat_lovers m SET name = m.name || '+', email = NULL FROM w_member w WHERE w.member_id = m.id AND m.id = :k;
UPDATE cat_lovers m SET cat_name = v.name, cat_color = v.color
  FROM (VALUES (:k::bigint, 'renamed ' || :k, 'ginger')) AS v (id, name, color) WHERE m.id = v.id;
UPDATE w_member SET cat_name = 'renamed ' || :k, cat_color = 'ginger' WHERE member_id = :k;
END;
SQL
} >"$A/old-update.sql"
{ pick old; cat <<'SQL'
BEGIN;
UPDATE cat_lovers SET cat_name = NULL, cat_color = NULL WHERE id = :k;
UPDATE w_member SET cat_name = NULL, cat_color = NULL WHERE member_id = :k;
END;
SQL
} >"$A/old-clear.sql"
{ pick old; cat <<'SQL'
BEGIN;
DELETE FROM cat_lovers m USING w_member w WHERE w.member_id = m.id AND w.owner = 'old' AND m.id = :k;
DELETE FROM w_member WHERE member_id = :k;
END;
SQL
} >"$A/old-delete.sql"
{ pick old; cat <<'SQL'
BEGIN;
UPDATE cat_lovers SET cat_color = 'white' WHERE id = :k;
UPDATE w_member SET cat_color = 'white' WHERE member_id = :k;
SAVEPOINT s;
UPDATE cat_lovers SET cat_name = NULL, cat_color = NULL WHERE id = :k;
UPDATE w_member SET cat_name = NULL, cat_color = NULL WHERE member_id = :k;
ROLLBACK TO SAVEPOINT s;
END;
SQL
} >"$A/old-savepoint.sql"

# ---- the new version: it locks the member it works on first, as the guide
# asks (two of its own transactions on one member then take turns), and
# gives cats only to a member that is still there
lock_k='SELECT coalesce((SELECT 1 FROM cat_lovers WHERE id = :k FOR NO KEY UPDATE), 0) AS alive \gset'
cat >"$A/new-cte.sql" <<'SQL'
\set n random(1, 1000000000)
BEGIN;
WITH m AS (INSERT INTO cat_lovers (name, email) VALUES ('new ' || :n, md5(random()::text) || '@new') RETURNING id),
     c AS (INSERT INTO cats (name, color, cat_lover_id) SELECT 'kit ' || :n, 'black', id FROM m
           RETURNING id, cat_lover_id, name, color),
     w AS (INSERT INTO w_member (member_id, owner) SELECT id, 'new' FROM m)
INSERT INTO w_cat (cat_id, member_id, name, color) SELECT id, cat_lover_id, name, color FROM c;
END;
SQL
{ pick new; cat <<SQL
BEGIN;
$lock_k
\\if :alive
WITH c AS (INSERT INTO cats (name, color, cat_lover_id)
           VALUES ('second ' || :k, 'grey', :k), ('third ' || :k, 'white', :k)
           RETURNING id, cat_lover_id, name, color)
INSERT INTO w_cat (cat_id, member_id, name, color) SELECT id, cat_lover_id, name, color FROM c;
\\endif
END;
SQL
} >"$A/new-more-cats.sql"
{ pick new; cat <<SQL
BEGIN;
$lock_k
WITH c AS (INSERT INTO cats (name, color, cat_lover_id)
           SELECT 'pick ' || g, 'ginger', m.id FROM cat_lovers m, generate_series(1, 2) AS g WHERE m.id = :k
           RETURNING id, cat_lover_id, name, color)
INSERT INTO w_cat (cat_id, member_id, name, color) SELECT id, cat_lover_id, name, color FROM c;
END;
SQL
} >"$A/new-insert-select.sql"
{ pick new; cat <<SQL
BEGIN;
$lock_k
UPDATE cats c SET color = 'blue' FROM w_cat w WHERE w.cat_id = c.id AND w.member_id = :k;
UPDATE w_cat SET color = 'blue' WHERE member_id = :k AND cat_id IS NOT NULL;
UPDATE cat_lovers SET name = name || '*' WHERE id = :k;
END;
SQL
} >"$A/new-update.sql"
{ pick new; cat <<SQL
BEGIN;
$lock_k
INSERT INTO cats (id, name, color, cat_lover_id)
  SELECT cat_id, 'upserted', 'red', member_id FROM w_cat WHERE member_id = :k AND cat_id IS NOT NULL
  ORDER BY wid DESC LIMIT 1
  ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, color = EXCLUDED.color;
UPDATE w_cat SET name = 'upserted', color = 'red'
  WHERE wid = (SELECT max(wid) FROM w_cat WHERE member_id = :k AND cat_id IS NOT NULL);
END;
SQL
} >"$A/new-upsert.sql"
{ pick new; cat <<SQL
BEGIN;
$lock_k
WITH d AS (DELETE FROM cats c USING w_cat w WHERE w.cat_id = c.id
             AND w.wid = (SELECT min(wid) FROM w_cat WHERE member_id = :k AND cat_id IS NOT NULL)
           RETURNING c.id)
DELETE FROM w_cat WHERE cat_id IN (SELECT id FROM d);
END;
SQL
} >"$A/new-delete-cat.sql"
{ pick new; cat <<SQL
\\set d random(1, 4)
BEGIN;
$lock_k
DELETE FROM cat_lovers WHERE id = :k AND :d = 1;
DELETE FROM w_cat WHERE member_id = :k AND :d = 1;
DELETE FROM w_member WHERE member_id = :k AND :d = 1;
END;
SQL
} >"$A/new-delete-member.sql"
{ pick new; cat <<SQL
BEGIN;
$lock_k
\\if :alive
SAVEPOINT s;
WITH c AS (INSERT INTO cats (name, color, cat_lover_id) VALUES ('undone', 'pink', :k) RETURNING id, cat_lover_id, name, color)
INSERT INTO w_cat (cat_id, member_id, name, color) SELECT id, cat_lover_id, name, color FROM c;
DELETE FROM cats c USING w_cat w WHERE w.cat_id = c.id AND w.member_id = :k;
DELETE FROM w_cat WHERE member_id = :k;
ROLLBACK TO SAVEPOINT s;
WITH c AS (INSERT INTO cats (name, color, cat_lover_id) VALUES ('kept', 'pink', :k) RETURNING id, cat_lover_id, name, color)
INSERT INTO w_cat (cat_id, member_id, name, color) SELECT id, cat_lover_id, name, color FROM c;
\\endif
END;
SQL
} >"$A/new-savepoint.sql"
# Two members swap e-mail addresses under the deferred unique constraint,
# and one of them gets a cat in the same transaction.
cat >"$A/new-deferred.sql" <<'SQL'
\set n random(1, 1000000000)
BEGIN;
SET CONSTRAINTS cat_lovers_email_key DEFERRED;
WITH m AS (INSERT INTO cat_lovers (name, email) VALUES ('pair a' || :n, 'a' || :n || '@pair'), ('pair b' || :n, 'b' || :n || '@pair') RETURNING id)
INSERT INTO w_member (member_id, owner) SELECT id, 'new' FROM m;
UPDATE cat_lovers SET email = CASE email WHEN 'a' || :n || '@pair' THEN 'b' || :n || '@pair' ELSE 'a' || :n || '@pair' END
  WHERE email IN ('a' || :n || '@pair', 'b' || :n || '@pair');
WITH c AS (INSERT INTO cats (name, color, cat_lover_id) SELECT 'paired', 'grey', id FROM cat_lovers WHERE email = 'a' || :n || '@pair'
           RETURNING id, cat_lover_id, name, color)
INSERT INTO w_cat (cat_id, member_id, name, color) SELECT id, cat_lover_id, name, color FROM c;
END;
SQL

app_run() { script_app_run s club "$A" "$@"; }
app_end() { script_app_end "$@"; }

app_run old old-insert old-upsert old-update old-clear old-delete old-savepoint
sleep 1
pgcarry_start schema start "$HARNESS_ROOT/bench/cats.json" --target "$URI" --batch-size 100 --pause 30ms
# The new version starts as soon as its table exists: during the backfill.
for _ in $(seq 1 300); do
	[ "$(pg_sql s club "SELECT to_regclass('public.cats') IS NOT NULL")" = t ] && break
	sleep 0.1
done
app_run new new-cte new-more-cats new-insert-select new-update new-upsert new-delete-cat new-delete-member \
	new-savepoint new-deferred
pgcarry_wait
is "$RC" 0 "start exits 0 while both versions write" || diag "$ERR $OUT"
like "$ERR" "backfill .*: done" "start backfilled while the new version wrote"

# COPY into either table, each version with its witness in the transaction.
pg_psql s club <<'SQL'
BEGIN;
COPY cat_lovers (id, name, cat_name, cat_color) FROM STDIN;
9000001	copied 1	copycat 1	white
9000002	copied 2	\N	\N
9000003	copied 3	copycat 3	black
\.
INSERT INTO w_member VALUES (9000001, 'old', 'copycat 1', 'white'), (9000002, 'old', NULL, NULL), (9000003, 'old', 'copycat 3', 'black');
COMMIT;
BEGIN;
INSERT INTO cat_lovers (id, name) VALUES (9000011, 'bulk 1'), (9000012, 'bulk 2');
INSERT INTO w_member (member_id, owner) VALUES (9000011, 'new'), (9000012, 'new');
COPY cats (name, color, cat_lover_id) FROM STDIN;
bulk a	black	9000011
bulk b	white	9000011
bulk c	grey	9000012
bulk d	grey	1
bulk e	grey	3
\.
INSERT INTO w_cat (member_id, name, color) VALUES (9000011, 'bulk a', 'black'), (9000011, 'bulk b', 'white'),
  (9000012, 'bulk c', 'grey'), (1, 'bulk d', 'grey'), (3, 'bulk e', 'grey');
COMMIT;
SQL
sleep 3
app_end old

run_pgcarry schema complete cats_own_table --target "$URI"
is "$RC" 0 "complete exits 0 while the new version writes" || diag "$ERR"
sleep 1
app_end new

# The witnesses against the new shape.
read -r missing extra total <<<"$(pg_sql s club "
WITH want AS (SELECT member_id, cat_name AS name, cat_color AS color FROM w_member
              WHERE cat_name IS NOT NULL OR cat_color IS NOT NULL
              UNION ALL SELECT member_id, name, color FROM w_cat),
     have AS (SELECT cat_lover_id, name, color FROM cats)
SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM have) AS a),
       (SELECT count(*) FROM (SELECT * FROM have EXCEPT ALL SELECT * FROM want) AS b),
       (SELECT count(*) FROM have)" | tr '|' ' ')"
is "$missing|$extra" "0|0" "every cat the applications wrote is in cats once, nothing else ($total cats)" ||
	diag "$(pg_sql s club "
WITH want AS (SELECT member_id, cat_name AS name, cat_color AS color FROM w_member
              WHERE cat_name IS NOT NULL OR cat_color IS NOT NULL
              UNION ALL SELECT member_id, name, color FROM w_cat),
     have AS (SELECT cat_lover_id, name, color FROM cats)
(SELECT 'missing', * FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM have) AS a LIMIT 5)
UNION ALL (SELECT 'extra', * FROM (SELECT * FROM have EXCEPT ALL SELECT * FROM want) AS b LIMIT 5)")"
is "$(pg_sql s club "SELECT count(*) FROM (SELECT member_id FROM w_member EXCEPT SELECT id FROM cat_lovers) AS a")|$(pg_sql s club "SELECT count(*) FROM (SELECT id FROM cat_lovers EXCEPT SELECT member_id FROM w_member) AS a")" \
	"0|0" "every member the applications kept is there, and no other"
ok $([ "$(pg_sql s club "SELECT count(*) FROM w_cat")" -gt 20 ] && echo 0 || echo 1) \
	"the new version wrote cats ($(pg_sql s club "SELECT count(*) FROM w_cat"))"
ok $([ "$(pg_sql s club "SELECT count(*) FROM w_member WHERE owner = 'old' AND member_id > $ROWS")" -gt 10 ] && echo 0 || echo 1) \
	"the old version wrote members"
is "$(pg_sql s club "SELECT count(*) FROM information_schema.columns WHERE table_name = 'cat_lovers' AND column_name LIKE 'cat_%'")" 0 \
	"the old columns are gone"

done_testing
