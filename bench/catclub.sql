-- catclub.sql: the cat lovers club, old shape, for the expand/contract demo,
-- acceptance test and benchmark.  psql -v rows=N -f bench/catclub.sql
--
-- Two members in three have a cat.  catapp_expect and catapp_extra belong to
-- the simulated application (bench/catapp.c): what it believes each member's
-- cats are, written in the same transaction as its own writes, so a test can
-- prove at the end that every cat is present exactly once.
SET client_min_messages = warning;
DROP TABLE IF EXISTS cats, cat_lovers, catapp_expect, catapp_extra CASCADE;
CREATE TABLE cat_lovers (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  email text,
  cat_name text,
  cat_color text
);
INSERT INTO cat_lovers (name, email, cat_name, cat_color)
SELECT 'member ' || g, 'member' || g || '@example.org',
       CASE WHEN g % 3 <> 0 THEN 'cat ' || g END,
       CASE WHEN g % 3 <> 0 THEN (ARRAY['black', 'white', 'ginger', 'grey'])[g % 4 + 1] END
FROM generate_series(1, :rows) AS g;
CREATE TABLE catapp_expect (member_id bigint PRIMARY KEY, cat_name text, cat_color text);
INSERT INTO catapp_expect SELECT id, cat_name, cat_color FROM cat_lovers;
CREATE TABLE catapp_extra (cat_id bigint PRIMARY KEY, member_id bigint NOT NULL, name text, color text);
VACUUM ANALYZE cat_lovers;
VACUUM ANALYZE catapp_expect;
