#!/usr/bin/env bash
# pgcarry compare: equal databases exit 0; then each kind of difference is
# found and named, with exit status 3: a changed row, a missing row, a
# duplicate row, a sequence, a large object, a materialized view's
# contents, a missing index, a table only on one side, changed columns, a
# database missing on the target.  Both servers are only read.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state

pg_sql src postgres "CREATE DATABASE app"
pg_psql src app >/dev/null <<'SQL' || bail "could not fill app"
CREATE TABLE users (id int PRIMARY KEY, name text, score float8);
INSERT INTO users SELECT g, 'user ' || g, g / 7.0 FROM generate_series(1, 3000) g;
CREATE TABLE events (user_id int, kind text);
INSERT INTO events SELECT g % 100, 'k' || (g % 5) FROM generate_series(1, 5000) g;
CREATE INDEX events_kind ON events (kind);
CREATE SEQUENCE tickets;
SELECT nextval('tickets') FROM generate_series(1, 5);
CREATE MATERIALIZED VIEW kinds AS SELECT kind, count(*) FROM events GROUP BY kind;
CREATE TABLE wide (a int, b text);
SELECT lo_from_bytea(4242, 'large object contents');
SQL

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" app
is "$RC" 0 "copy for the comparison exits 0"

compare() { run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none "$@"; }

compare app
is "$RC" 0 "compare of equal databases exits 0"
like "$OUT" "app +table public.users +3000 +3000 +equal +ok" "a table line"
like "$OUT" "app +materialized view public.kinds +5 +5 +equal +ok" "a populated materialized view is compared"
like "$OUT" "app +sequence public.tickets +5 +5 +- +ok" "a sequence line"
like "$OUT" "app +large objects +1 +1 +equal +ok" "large objects line"
like "$OUT" "app: [0-9]+ schema objects, 3 tables, 1 materialized view, 1 sequence, 1 large object: all equal" "summary"
like "$OUT" "Verified: 1 database, every object equal\." "verdict"
is "$(pg_sql src postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcarry'")" "0" "no session left on the source"

# A changed value: same row count, different checksum.
pg_sql dst app "UPDATE users SET name = 'changed' WHERE id = 17"
compare app
is "$RC" 3 "a changed row exits 3"
like "$OUT" "app +table public.users +3000 +3000 +differs +different" "the table is named, checksum differs"
like "$OUT" "Verification found 1 problem in 1 of 1 database\." "one problem"
like "$ERR" "\[w[0-9] app public.users\] error: table public.users differs: 3000 rows on the source, 3000 on the target, checksums differ" \
	"stderr says what differs"
pg_sql dst app "UPDATE users SET name = 'user 17' WHERE id = 17"

# A duplicated row, with the row count unchanged: an XOR checksum would miss it.
pg_sql dst app "DELETE FROM events WHERE ctid = (SELECT min(ctid) FROM events WHERE user_id = 1);
                INSERT INTO events SELECT user_id, kind FROM events WHERE user_id = 2 LIMIT 1"
compare app
is "$RC" 3 "a row replaced by a duplicate of another exits 3"
like "$OUT" "app +table public.events +5000 +5000 +differs +different" "found despite equal counts"

# A missing row.
pg_sql dst app "TRUNCATE events; DELETE FROM users WHERE id = 3000"
pg_sql src app "COPY events TO STDOUT" | pg_sql dst app "COPY events FROM STDIN" 2>/dev/null ||
	PGPASSFILE=$NO_PGPASS psql -X -q -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -d app -c "COPY events TO STDOUT" |
	PGPASSFILE=$NO_PGPASS psql -X -q -h "$(pg_sockdir dst)" -p "$(pg_port dst)" -U postgres -d app -c "COPY events FROM STDIN"
compare app
is "$RC" 3 "a missing row exits 3"
like "$OUT" "app +table public.users +3000 +2999 +differs +different" "row counts differ"
like "$OUT" "app +table public.events +5000 +5000 +equal +ok" "a reloaded table is equal again"
pg_sql dst app "INSERT INTO users VALUES (3000, 'user 3000', 3000 / 7.0)"

# Sequence, large object, materialized view contents.
pg_sql dst app "SELECT setval('tickets', 99)" >/dev/null
pg_sql dst app "SELECT lo_put(4242, 0, 'L')" >/dev/null
pg_sql dst app "INSERT INTO events VALUES (1, 'new kind'); REFRESH MATERIALIZED VIEW kinds; DELETE FROM events WHERE kind = 'new kind'"
compare app
is "$RC" 3 "sequence, large object, matview differences exit 3"
like "$OUT" "app +sequence public.tickets +5 +99 +- +different" "the sequence is named with both values"
like "$OUT" "app +large objects +1 +1 +differs +different" "the large objects differ"
like "$OUT" "app +materialized view public.kinds +5 +6 +differs +different" "the matview contents differ"
pg_sql dst app "SELECT setval('tickets', 5); SELECT lo_put(4242, 0, 'l'); REFRESH MATERIALIZED VIEW kinds" >/dev/null

# Schema: a missing index, a table only on the target, changed columns.
pg_sql dst app "DROP INDEX events_kind; CREATE TABLE extra (x int); ALTER TABLE wide ADD COLUMN c int"
compare app
is "$RC" 3 "schema differences exit 3"
like "$OUT" "app +index public.events_kind +- +- +- +missing on target" "a missing index"
like "$OUT" "app +table public.extra +- +- +- +missing on source" "a table only on the target"
like "$OUT" "app +table public.wide +- +- +- +different" "changed columns"
like "$OUT" 'app table public.wide: definition differs: source "a integer, b text", target "a integer, b text, c integer"' \
	"the column difference is spelled out"
like "$ERR" "table public.wide has other columns on the target: its rows are not compared" \
	"the rows of a table with other columns are not compared, and it says so"
pg_sql dst app "CREATE INDEX events_kind ON events (kind); DROP TABLE extra; ALTER TABLE wide DROP COLUMN c"

# A database missing on the target, and one unknown to the source.
pg_sql src postgres "CREATE DATABASE only_here"
compare app only_here
is "$RC" 3 "a database missing on the target exits 3"
like "$OUT" "only_here +database only_here +- +- +- +missing on target" "the missing database is named"
like "$OUT" "app: .*all equal" "the other database is still compared, and equal"
compare nosuchdb
is "$RC" 1 "an unknown database exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: database \"nosuchdb\" does not exist on the source server 127.0.0.1:$(pg_port src)" \
	"unknown database message"
compare --all
is "$RC" 3 "--all compares every database of both servers"
like "$OUT" "only_here +database only_here" "--all includes databases of the source"

# A wrong password.
PGPASSWORD=wrong-pw-31c PGPASSFILE=$NO_PGPASS compare app
echo "wrong-pw-31c" >>"$TEST_LOG_DIR/.passwords"
is "$RC" 1 "a wrong password exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: could not connect to the source server 127.0.0.1:$(pg_port src)/postgres: password authentication failed for user \"postgres\"" \
	"wrong password message"

done_testing
