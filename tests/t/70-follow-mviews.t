#!/usr/bin/env bash
# Materialized views under copy --follow: logical replication does not
# carry them, so cutover refreshes on the target every one the source has
# populated (one that reads another after it), once the last writes
# arrived, and proves each against what its own query gives on the fenced
# source, even when the source's stored rows are older than its tables
# (one that reads another: against its query over the view proven first).
# The oracle: the source refreshed by PostgreSQL itself once fenced, then
# the independent checker.  A view whose query gives other rows at each
# run (random()) is found different, with --verify count as well.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"
source "$(dirname "$0")/70-follow-lib.bash"

pg_start src
pg_start dst
SRC=$(pg_uri src)
DST=$(pg_uri dst)

pg_sql src postgres "CREATE DATABASE metrics"
pg_psql src metrics >/dev/null <<'SQL' || bail "could not fill metrics"
CREATE TABLE points (id serial PRIMARY KEY, h int NOT NULL, v int NOT NULL, f float8 NOT NULL DEFAULT random());
INSERT INTO points (h, v) SELECT g % 24, g FROM generate_series(1, 5000) g;
-- avg(f): a float average, whose last digits depend on the order rows are read.
CREATE MATERIALIZED VIEW points_hourly AS SELECT h, sum(v) AS total, count(*) AS n, avg(f) AS f FROM points GROUP BY h;
-- Reads the first one: refreshed after it.
CREATE MATERIALIZED VIEW busy_hours AS SELECT h FROM points_hourly WHERE n > (SELECT avg(n) FROM points_hourly);
CREATE MATERIALIZED VIEW never_filled AS SELECT h FROM points WITH NO DATA;
SQL
run_pgcarry copy --source "$SRC" --target "$DST" --progress none --follow metrics
is "$RC" 0 "copy --follow of a database with materialized views" || diag "$ERR"

# The source's tables change during the follow; its views are not refreshed.
pg_sql src metrics "INSERT INTO points (h, v) SELECT 3, g FROM generate_series(1, 700) g; DELETE FROM points WHERE h = 5; UPDATE points SET v = v * 2 WHERE h = 7"
want=$(pg_sql src metrics "SELECT count(*), sum(v) FROM points")
follow_wait '[ "$(pg_sql dst metrics "SELECT count(*), sum(v) FROM points")" = "$want" ]' || diag "the target did not catch up"
is "$(pg_sql dst metrics "SELECT count(*) FROM points_hourly WHERE h = 5")" 1 \
	"the target's materialized view still holds what the copy refreshed"

run_pgcarry cutover --source "$SRC" --target "$DST" --progress none metrics
is "$RC" 0 "cutover --verify full exits 0" || diag "$ERR$OUT"
like "$OUT" "metrics materialized view public.points_hourly: refreshed, 23 rows, hash -?[0-9]+, as its query gives on the source" \
	"it proves the refreshed view against its query on the fenced source"
like "$OUT" "metrics materialized view public.busy_hours: refreshed, 1 rows, hash -?[0-9]+, as its query gives on the target, over the materialized views it reads" \
	"and the view that reads it, after it"
unlike "$OUT" "never_filled" "a view the source never populated is left as it is"
is "$(pg_sql dst metrics "SELECT relispopulated FROM pg_class WHERE relname = 'never_filled'")" "f" \
	"the unpopulated view stays unpopulated on the target"
is "$(pg_sql dst metrics "SELECT count(*) FROM points_hourly WHERE h = 5")" 0 "the target's view holds the rows of the last writes"
# The oracle: PostgreSQL refreshes the fenced source's views itself.
pg_sql src postgres "ALTER DATABASE metrics RESET default_transaction_read_only"
pg_sql src metrics "REFRESH MATERIALIZED VIEW points_hourly; REFRESH MATERIALIZED VIEW busy_hours"
dbcheck_compare src dst metrics
is "$?" 0 "the independent checker finds the source, refreshed by PostgreSQL, and the target identical"
is "$(follow_leftovers src metrics)/$(follow_leftovers dst metrics)" "0/0/0/0" "nothing of pgcarry is left"

# A view whose query gives other rows at each run is found different.
pg_sql src postgres "CREATE DATABASE dice"
pg_sql src dice "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10);
	CREATE MATERIALIZED VIEW rolls AS SELECT id, random() AS r FROM t"
run_pgcarry copy --source "$SRC" --target "$DST" --progress none --follow dice
is "$RC" 0 "copy --follow of a database with a volatile materialized view" || diag "$ERR"
run_pgcarry cutover --source "$SRC" --target "$DST" --progress none --verify count dice
is "$RC" 3 "cutover --verify count: exit 3"
like "$OUT" "dice materialized view public.rolls differs: 10 rows, hash -?[0-9]+ on the target, 10 rows, hash -?[0-9]+ from its query on the source" \
	"the report names the view"
like "$OUT" "dice table public.t: 10 rows on both" "the tables are counted too"
like "$ERR" "error: the target differs from the fenced source" "it says the target differs"
is "$(pg_sql src dice "SHOW default_transaction_read_only")" "on" "the fence stays"

done_testing
