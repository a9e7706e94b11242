#!/usr/bin/env bash
# pgcarry import of dumps made by pg_dump itself: the migration guide's
# "pg_dump -F t" DB.sql.tar, a custom archive (-j 2), a directory archive
# (-j 2), a plain SQL file; a plain SQL file with an error in its middle
# stops there, says the file and line, keeps nothing and leaves the
# database marked unfinished; a failing pg_restore names the object.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

marked() {
	pg_sql tgt postgres "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
		WHERE d.datname = '$1' AND 'pgcarry.import=unfinished' = ANY (s.setconfig)"
}
dump() { PGPASSFILE=$NO_PGPASS pg_dump -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres "$@"; }

pg_start src
pg_start tgt
pg_sql src postgres "CREATE DATABASE accounts"
pg_sql src accounts "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, created timestamptz DEFAULT '2020-01-01');
	INSERT INTO users (id, email) SELECT i, 'u' || i || '@example.com' FROM generate_series(1, 3000) i;
	CREATE TABLE orders (id bigserial PRIMARY KEY, user_id int REFERENCES users, total numeric(10,2));
	INSERT INTO orders (user_id, total) SELECT 1 + i % 3000, i / 7.0 FROM generate_series(1, 5000) i;
	CREATE INDEX ON orders (user_id);
	CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
	CREATE FUNCTION f(int) RETURNS int LANGUAGE sql AS 'SELECT \$1 + 1';
	SELECT lo_from_bytea(0, 'contract');" >/dev/null

D=$T_TMP/dumps
mkdir -p "$D"
dump -F t -f "$D/accounts.sql.tar" accounts
dump -F c -f "$D/accounts.dump" accounts
dump -F d -f "$D/accounts.dir" accounts
dump -F p -f "$D/accounts.sql" accounts

# The guide's tar dump: the name comes from the dump.
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/accounts.sql.tar" --jobs 2
is "$RC" 0 "the guide's pg_dump -F t file imports"
is "$OUT" "imported pg_dump tar archive \"$D/accounts.sql.tar\" into database \"accounts\": 2 tables, 1 views, 1 sequences, 4 indexes, 1 functions, 1 large objects" \
	"the report says what was restored"
diffs=$(dbcheck_compare src tgt accounts 2>/dev/null)
is "$?" 0 "the checker finds the tar import equal to the source, data and schema" || diag "$diffs"
is "$(marked accounts)" 0 "the database is not left marked"

run_pgcarry import --target "$(pg_uri tgt)" --input "$D/accounts.dump" --jobs 2
is "$RC" 1 "a dump into a database that holds objects exits 1"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: database "accounts" on the target already holds objects' "refused without --clean"

for f in accounts.dump accounts.dir accounts.sql; do
	run_pgcarry import --target "$(pg_uri tgt)" --input "$D/$f" --jobs 2 --clean --verbose
	is "$RC" 0 "$f imports with --clean"
	diffs=$(dbcheck_compare src tgt accounts 2>/dev/null)
	is "$?" 0 "the checker finds the $f import equal to the source, data and schema" || diag "$diffs"
done
like "$(cat "$TEST_LOG_DIR/$T_NAME.$((RUN_SEQ - 2)).out")" 'imported pg_dump custom archive' "custom format recognised"
like "$(cat "$TEST_LOG_DIR/$T_NAME.$((RUN_SEQ - 1)).out")" 'imported pg_dump directory archive' "directory format recognised"
like "$OUT" 'imported plain SQL file' "plain SQL recognised"

# --db names the target; the custom archive loads in parallel.
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/accounts.dump" --db other -j 2
is "$RC" 0 "--db names the target database"
is "$(pg_sql tgt other "SELECT count(*) FROM orders")" 5000 "the renamed database holds the rows"

# A plain SQL file with an error in its middle.
cat >"$D/broken.sql" <<'EOF'
CREATE TABLE first_table (id int);
INSERT INTO first_table VALUES (1), (2);
-- the next statement is wrong
INSERT INTO first_table VALUES ('not a number');
CREATE TABLE after_error (id int);
EOF
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/broken.sql"
is "$RC" 1 "a SQL file with an error exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: plain SQL file \"$D/broken.sql\" failed at line 4: invalid input syntax for type integer: \"not a number\"" \
	"the error names the file and the line"
like "$ERR" "detail: psql:$D/broken.sql:4: ERROR:  invalid input syntax" "psql's own line is shown"
like "$ERR" "hint: Nothing of the file was kept: it ran in one transaction" "the hint says nothing was kept"
is "$(marked broken)" 1 "the database is marked unfinished, not done"
is "$(pg_sql tgt broken "SELECT count(*) FROM pg_class WHERE relname IN ('first_table', 'after_error')")" 0 \
	"nothing of the file was kept"
unlike "$OUT" "imported" "nothing is reported imported"
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/broken.sql"
is "$RC" 1 "importing into the unfinished database again exits 1"
like "$ERR" 'database "broken" on the target holds an unfinished import' "it is refused as unfinished"

# A file that cannot run in one transaction runs statement by statement.
cat >"$D/concurrent.sql" <<'EOF'
CREATE TABLE t (id int);
INSERT INTO t SELECT generate_series(1, 10);
CREATE INDEX CONCURRENTLY t_id ON t (id);
EOF
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/concurrent.sql"
is "$RC" 0 "a SQL file with CREATE INDEX CONCURRENTLY imports"
like "$ERR" "warning: plain SQL file \".*concurrent.sql\" cannot run in one transaction \(line 3 runs CONCURRENTLY\)" \
	"it says why it does not use one transaction"

# pg_restore's failure names the object: the dump's owner role is missing.
pg_sql src postgres "CREATE ROLE owner_only_on_src"
pg_sql src postgres "CREATE DATABASE owned"
pg_sql src owned "CREATE TABLE mine (id int); ALTER TABLE mine OWNER TO owner_only_on_src"
dump -F c -f "$D/owned.dump" owned
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/owned.dump"
is "$RC" 1 "a failing pg_restore exits 1"
like "$ERR" "error: could not create TABLE mine in database \"owned\" on the target" "the object that failed is named"
like "$ERR" "error: 1 schema object of pg_dump custom archive \"$D/owned.dump\" could not be created in database \"owned\"" \
	"the failure names the dump and the database"
like "$ERR" "hint: A role the dump's objects belong to is missing on the target: create it, or load without owners \(--no-owner\)" \
	"and the way out"
is "$(pg_sql tgt owned "SELECT count(*) FROM mine")" 0 "every other part of the dump was loaded: the table is there"
like "$ERR" 'Command was: ALTER TABLE public.mine OWNER TO owner_only_on_src' "the failing statement and object are named"
like "$ERR" 'role "owner_only_on_src" does not exist' "the server's reason is shown"
is "$(marked owned)" 1 "the database stays marked unfinished"
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/owned.dump" --clean --no-owner
is "$RC" 0 "--no-owner loads it"

# Options that only apply to pgcarry archives.
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/accounts.dump" accounts
is "$RC" 2 "a database name with a pg_dump file exits 2"
is "$(head -1 <<<"$ERR")" "pgcarry: error: a pg_dump file holds one database: name the target database with --db" "pinned"
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/accounts.dump" --resume
is "$RC" 2 "--resume with a pg_dump file exits 2"
is "$(head -1 <<<"$ERR")" "pgcarry: error: --resume works with pgcarry archives only; load a pg_dump file again with --clean" "pinned"
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/accounts.dump" --roles
is "$RC" 2 "--roles with a pg_dump file exits 2"
is "$(head -1 <<<"$ERR")" "pgcarry: error: --roles works with pgcarry archives only; pg_dump files hold no roles" "pinned"
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/nothing-here"
is "$RC" 1 "a missing input exits 1"
is "$ERR" "pgcarry: error: input \"$D/nothing-here\" does not exist" "a missing input is named"
: >"$D/empty.sql"
run_pgcarry import --target "$(pg_uri tgt)" --input "$D/empty.sql"
is "$RC" 1 "an empty input exits 1"
is "$ERR" "pgcarry: error: input \"$D/empty.sql\" is empty" "an empty input is named"

done_testing
