-- catclub-check.sql: after the cats moved, is every cat present exactly once?
-- Prints "missing|unexpected|cats": the cats the application wrote (or the
-- club had) that are not in cats, the cats in cats nobody wrote, and the
-- number of cats.  0|0|N means nothing was lost and nothing was invented.
WITH want AS (
  SELECT e.member_id, e.cat_name AS name, e.cat_color AS color
  FROM catapp_expect e
  WHERE (e.cat_name IS NOT NULL OR e.cat_color IS NOT NULL)
    AND EXISTS (SELECT 1 FROM cat_lovers m WHERE m.id = e.member_id)
  UNION ALL
  SELECT member_id, name, color FROM catapp_extra
), have AS (
  SELECT cat_lover_id, name, color FROM cats
)
SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM have) AS a) || '|' ||
       (SELECT count(*) FROM (SELECT * FROM have EXCEPT ALL SELECT * FROM want) AS b) || '|' ||
       (SELECT count(*) FROM have);
