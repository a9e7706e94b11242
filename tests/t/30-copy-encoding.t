#!/usr/bin/env bash
# Values arrive exactly: LATIN1 and SQL_ASCII databases byte for byte
# (including bytes that are not valid UTF-8, and a non-ASCII table name),
# and session defaults of the source database (DateStyle, IntervalStyle,
# extra_float_digits, TimeZone, bytea_output) or of the target server never
# change a value, in binary or in text format; a read-only source database
# with a short statement timeout is copied, exported and imported.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst "DateStyle = 'German, DMY'" "TimeZone = 'Asia/Kathmandu'" "extra_float_digits = -3" "IntervalStyle = 'iso_8601'"
STATE=$T_TMP/state

# Raw bytes of every text value, whatever the encoding.
raw_sums() {
	pg_sql "$1" "$2" "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	                  WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1" >/dev/null
	pg_sql "$1" "$2" "SELECT id, md5(convert_to(t, current_setting('server_encoding'))) FROM bytes ORDER BY id"
}

pg_sql src postgres "CREATE DATABASE latin ENCODING 'LATIN1' LOCALE 'C' TEMPLATE template0"
pg_sql src postgres "CREATE DATABASE ascii ENCODING 'SQL_ASCII' LOCALE 'C' TEMPLATE template0"
pg_sql src latin "CREATE TABLE bytes (id int, t text);
                  INSERT INTO bytes VALUES (1, convert_from('\\xe9e8ff41c0'::bytea, 'LATIN1')), (2, 'plain'), (3, NULL),
                                           (4, convert_from('\\x5c4e'::bytea, 'LATIN1'));
                  CREATE TABLE \"café\" (prix text); INSERT INTO \"café\" VALUES ('crème brûlée')"
pg_sql src ascii "CREATE TABLE bytes (id int, t text);
                  INSERT INTO bytes VALUES (1, convert_from('\\xfffe80c328'::bytea, 'SQL_ASCII')), (2, 'plain'),
                                           (3, convert_from('\\xe9'::bytea, 'SQL_ASCII'))"

run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" latin ascii
is "$RC" 0 "copy of LATIN1 and SQL_ASCII databases exits 0"
like "$OUT" "latin +table public.café +1 +1 +equal +ok" "a non-ASCII table name in a LATIN1 database"
is "$(pg_sql dst postgres "SELECT datname || ' ' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname IN ('latin', 'ascii') ORDER BY 1")" \
	"ascii SQL_ASCII
latin LATIN1" "databases created with the source's encoding"
for db in latin ascii; do
	is "$(raw_sums dst $db)" "$(raw_sums src $db)" "$db: every value byte for byte"
	out=$(dbcheck_compare src dst $db 2>/dev/null)
	is "$?" 0 "$db: data and schema equal for the independent checker" || diag "$out"
done
is "$(pg_sql dst latin "SELECT prix FROM \"café\"")" "crème brûlée" "LATIN1 text reads back right"

# Session defaults of the source database and of the target server.
pg_sql src postgres "CREATE DATABASE odd"
pg_sql src postgres "ALTER DATABASE odd SET DateStyle = 'SQL, DMY'; ALTER DATABASE odd SET extra_float_digits = 0;
                     ALTER DATABASE odd SET IntervalStyle = 'sql_standard'; ALTER DATABASE odd SET TimeZone = 'Pacific/Chatham';
                     ALTER DATABASE odd SET bytea_output = 'escape'; ALTER DATABASE odd SET lc_monetary = 'C'"
pg_psql src odd >/dev/null <<'SQL' || bail "could not fill odd"
CREATE TYPE pair AS (a float8, b timestamptz);
-- Built-in types only: travels in binary.
CREATE TABLE b_values (id int, f8 float8, f4 float4, ts timestamp, tstz timestamptz, d date, iv interval, ba bytea, n numeric, m money);
-- A composite column: travels in text.
CREATE TABLE t_values (id int, f8 float8, f4 float4, ts timestamp, tstz timestamptz, d date, iv interval, ba bytea, n numeric, m money, p pair);
INSERT INTO b_values VALUES
  (1, 0.1, 0.1, '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.123456+05:45', '0044-03-15 BC', '1 year 2 mons -3 days 04:05:06.789', '\x00ff5c', 1.10, 12.34),
  (2, 1e-310, 3.4e38, 'infinity', '-infinity', 'infinity', '-178000000 years', '', 'NaN', -0.01),
  (3, 'NaN', '-Infinity', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00+14', '2000-01-01', '0', NULL, '-1e-20', NULL);
INSERT INTO t_values SELECT *, ROW(f8, tstz)::pair FROM b_values;
SQL
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" --verbose odd
is "$RC" 0 "copy of a database with odd session defaults exits 0"
like "$ERR" "odd public.b_values\] info: copied 3 rows \([0-9]+ bytes, binary\)" "built-in types in binary"
like "$ERR" "odd public.t_values\] info: copied 3 rows \([0-9]+ bytes, text\)" "a composite type in text"
out=$(dbcheck_compare src dst odd 2>/dev/null)
is "$?" 0 "every value, and the schema, equal for the independent checker" || diag "$out"
fixed="SET DateStyle = ISO; SET extra_float_digits = 3; SET TimeZone = UTC; SET IntervalStyle = postgres; SET bytea_output = hex;"
is "$(pg_sql dst odd "$fixed SELECT * FROM t_values ORDER BY id")" "$(pg_sql src odd "$fixed SELECT * FROM t_values ORDER BY id")" \
	"text-format values equal, read back with fixed settings"
is "$(pg_sql dst odd "SET extra_float_digits = 3; SELECT f8 FROM b_values WHERE id = 1")" "0.1" "a float keeps every digit"
is "$(pg_sql dst odd "SET TimeZone = UTC; SET DateStyle = ISO; SELECT tstz FROM t_values WHERE id = 1")" "2024-02-29 07:29:15.123456+00" "a timestamptz keeps its instant"

# Settings of the source database that would stop a load (read-only, a
# statement timeout far shorter than reading its table takes): pgcarry's
# sessions lift the timeouts, and the database's properties reach the target
# last.
pg_sql src postgres "CREATE DATABASE frozen"
pg_sql src frozen "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat('v', 100) || g FROM generate_series(1, 400000) g;
                   CREATE INDEX t_v ON t (v)"
pg_sql src postgres "COMMENT ON DATABASE frozen IS 'kept read-only';
                     ALTER DATABASE frozen SET default_transaction_read_only = on;
                     ALTER DATABASE frozen SET statement_timeout = '100ms'"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE" frozen
is "$RC" 0 "copy of a read-only database with a 100 ms statement timeout exits 0"
like "$OUT" "frozen +table public.t +400000 +400000 +equal +ok" "its table is copied and verified"
is "$(pg_sql dst postgres "SELECT array_to_string(s.setconfig, ',') FROM pg_db_role_setting s
                           JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'frozen' AND s.setrole = 0")" \
	"default_transaction_read_only=on,statement_timeout=100ms" "its settings reached the target"
is "$(pg_sql dst postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'frozen'")" \
	"kept read-only" "its comment reached the target"
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none frozen
is "$RC" 0 "compare of the read-only databases exits 0"
# The same database through an archive.
pg_sql dst postgres "DROP DATABASE frozen"
run_pgcarry export --source "$(pg_uri src)" --output "$T_TMP/frozen-archive" --progress none frozen
is "$RC" 0 "export of the read-only database exits 0"
run_pgcarry import --input "$T_TMP/frozen-archive" --target "$(pg_uri dst)" --progress none
is "$RC" 0 "import of it exits 0"
is "$(pg_sql dst postgres "SELECT array_to_string(s.setconfig, ',') FROM pg_db_role_setting s
                           JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'frozen' AND s.setrole = 0")" \
	"default_transaction_read_only=on,statement_timeout=100ms" "import: its settings reached the target"
out=$(dbcheck_compare src dst frozen 2>/dev/null)
is "$?" 0 "import: data and schema equal for the independent checker" || diag "$out"

done_testing
