#!/usr/bin/env bash
# pgcarry schema against a real server: init, new, up, down (with --to),
# status in human and JSON form, plan with table sizes, lint (and up
# refusing dangerous files unless acknowledged or forced), statements that
# cannot run in a transaction, malformed migration files and usage errors,
# each with its pinned message and exit status.
source "$(dirname "$0")/../lib/harness.sh"

pg_start db
pg_sql db postgres "CREATE DATABASE app"
U=$(pg_uri db app)
# json EXPR: evaluates a Perl expression over the JSON on stdin ($d)
json() { perl -MJSON::PP -0777 -e 'my $d = decode_json(<STDIN>); my $r = eval $ARGV[0]; die $@ if $@; print defined $r ? $r : "null"' "$1"; }
cd "$T_TMP" || bail "no temp dir"

# ------------------------------------------------------------ init and new
run_pgcarry schema init --target "$U"
is "$RC" 0 "init exits 0"
like "$ERR" "created migration directory migrations" "init creates the directory"
is "$(pg_sql db app "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgcarry_schema'")" 2 "init creates the history tables"
run_pgcarry schema init --target "$U"
is "$RC" 0 "init twice is fine"
like "$ERR" "already exists" "second init says the directory exists"

run_pgcarry schema new create_users
is "$RC" 0 "new exits 0"
like "$OUT" '^migrations/[0-9]{14}_create_users\.sql$' "new prints the file with a timestamp version"
f1=$OUT
is "$(stat -c %a "$f1")" 644 "new file is mode 0644"
like "$(cat "$f1")" "-- migrate:up" "template has an up section"
like "$(cat "$f1")" "-- migrate:down" "template has a down section"
run_pgcarry schema new create_users
f1b=$OUT
ok "$([ "$f1" != "$f1b" ] && echo 0 || echo 1)" "two files created in the same second get different versions"
rm -f "$f1b"

cat >"$f1" <<'SQL'
-- migrate:up
CREATE TABLE users (id int PRIMARY KEY, name text, note text);
INSERT INTO users SELECT g, 'user ' || g, 'it''s; fine' FROM generate_series(1, 2000) g;
CREATE FUNCTION users_count() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT count(*) FROM users); -- a semicolon inside dollar quotes
END $$;

-- migrate:down
-- pgcarry:allow drop-table the table is new in this migration's up section
DROP TABLE users;
DROP FUNCTION users_count();
SQL
v1=$(basename "$f1" | cut -d_ -f1)
cat >migrations/20990101000000_users_email.sql <<'SQL'
-- migrate:up
ALTER TABLE users ADD COLUMN email text;
CREATE INDEX CONCURRENTLY users_name ON users (name);
VACUUM users;
COMMENT ON COLUMN users.email IS 'where we write';

-- migrate:down
DROP INDEX CONCURRENTLY users_name;
-- pgcarry:allow drop-column added by this migration's up section
ALTER TABLE users DROP COLUMN email;
SQL
cat >migrations/20990102000000_seed.sql <<'SQL'
-- migrate:up
INSERT INTO users (id, name) VALUES (5000, E'o\'brien; the second');
-- migrate:down
DELETE FROM users WHERE id = 5000;
SQL

# ------------------------------------------------------------ status before
run_pgcarry schema status --target "$U"
is "$RC" 0 "status exits 0 before anything is applied"
like "$OUT" "version none \(0 applied, 3 pending\)" "status counts pending migrations"
like "$OUT" "pending +$v1 +create_users" "status lists a pending migration"

# ------------------------------------------------------------ plan
run_pgcarry schema plan --target "$U"
is "$RC" 0 "plan exits 0"
like "$OUT" "CREATE INDEX CONCURRENTLY; lock SHARE UPDATE EXCLUSIVE; scans the table; table users; outside a transaction" \
	"plan names the lock and the transaction of a concurrent index"
like "$OUT" "ALTER TABLE; lock ACCESS EXCLUSIVE; catalog only; table users; in the migration's transaction" \
	"plan names the lock of ADD COLUMN"

# ------------------------------------------------------------ up --to, up
run_pgcarry schema up --target "$U" --to "$v1"
is "$RC" 0 "up --to exits 0"
like "$ERR" "1 migration applied; the database is at version $v1" "up --to stops at the version"
is "$(pg_sql db app "SELECT users_count()")" 2000 "first migration ran (function with dollar quotes intact)"
is "$(pg_sql db app "SELECT note FROM users WHERE id = 1")" "it's; fine" "string with a semicolon intact"

run_pgcarry schema plan --target "$U"
like "$OUT" "ALTER TABLE; lock ACCESS EXCLUSIVE; catalog only; table users \([0-9]+ kB\)" "plan shows the size of an existing table"
unlike "$OUT" "create_users" "plan leaves out applied migrations"

run_pgcarry schema up --target "$U"
is "$RC" 0 "up exits 0"
like "$ERR" "step 2 of 4 runs outside a transaction: CREATE INDEX CONCURRENTLY" "concurrent index runs as its own step"
like "$ERR" "step 3 of 4 runs outside a transaction: VACUUM" "VACUUM runs as its own step"
like "$ERR" "2 migrations applied; the database is at version 20990102000000" "up reports the new version"
is "$(pg_sql db app "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_name'::regclass")" t "index built and valid"
is "$(pg_sql db app "SELECT name FROM users WHERE id = 5000")" "o'brien; the second" "E'' string applied"
is "$(pg_sql db app "SELECT count(*) FROM pgcarry_schema.steps")" 0 "no step rows left after success"
is "$(pg_sql db app "SELECT string_agg(applied_by || ':' || (duration_ms >= 0)::text || ':' || length(checksum) || ':' || length(chain), ',' ORDER BY seq) FROM pgcarry_schema.migrations")" \
	"postgres:true:64:64,postgres:true:64:64,postgres:true:64:64" "history rows: who, how long, checksum, chain"

run_pgcarry schema up --target "$U"
is "$RC" 0 "up with nothing pending exits 0"
like "$ERR" "nothing to apply: the database is at version 20990102000000" "up says there is nothing to apply"

# ------------------------------------------------------------ status, human and JSON
run_pgcarry schema status --target "$U"
is "$RC" 0 "status exits 0 when in sync"
like "$OUT" "version 20990102000000 \(3 applied, 0 pending\)" "status shows the version"
like "$OUT" "applied +20990101000000 +users_email +[0-9T:-]+Z +postgres +[0-9]+ ms" "status shows when, who, how long"

run_pgcarry schema status --json --target "$U"
is "$RC" 0 "status --json exits 0"
is "$(json '$d->{version}' <<<"$OUT")" 20990102000000 "JSON version"
is "$(json '"$d->{applied} $d->{pending}"' <<<"$OUT")" "3 0" "JSON counts"
is "$(json 'my $m = $d->{migrations}[1]; "$m->{state} $m->{name} $m->{applied_by}"' <<<"$OUT")" \
	"applied users_email postgres" "JSON migration entry"
is "$(json 'scalar @{$d->{drift}}' <<<"$OUT")" 0 "JSON drift is empty"
is "$(json '$d->{in_progress}' <<<"$OUT")" null "JSON nothing in progress"
is "$(json 'exists $d->{expand} ? "yes" : "no"' <<<"$OUT")" yes "JSON carries the expand/contract section"

# ------------------------------------------------------------ down
run_pgcarry schema down --target "$U"
is "$RC" 0 "down exits 0"
like "$ERR" "1 migration rolled back; the database is at version 20990101000000" "down rolls back the last one"
is "$(pg_sql db app "SELECT count(*) FROM users WHERE id = 5000")" 0 "down section ran"
run_pgcarry schema down --target "$U" --to "$v1"
is "$RC" 0 "down --to exits 0"
is "$(pg_sql db app "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'")" 0 "column dropped by down"
is "$(pg_sql db app "SELECT count(*) FROM pg_class WHERE relname = 'users_name'")" 0 "index dropped concurrently by down"
run_pgcarry schema down --target "$U" --to 42
is "$RC" 2 "down --to an unknown version is a usage error"
is "$(head -1 <<<"$ERR")" "pgcarry: error: version 42 is not applied on this database" "down --to unknown version message"
run_pgcarry schema down --target "$U" --to 0
is "$RC" 0 "down --to 0 rolls back everything"
is "$(pg_sql db app "SELECT count(*) FROM pgcarry_schema.migrations")" 0 "history empty after down --to 0"
run_pgcarry schema down --target "$U"
is "$RC" 0 "down with nothing applied exits 0"
like "$ERR" "nothing to roll back" "down says there is nothing to roll back"
run_pgcarry schema up --target "$U"
is "$RC" 0 "up again after down"

# ------------------------------------------------------------ no down section
cat >migrations/20990103000000_nodown.sql <<'SQL'
-- migrate:up
CREATE TABLE audit (id int);
SQL
run_pgcarry schema up --target "$U"
is "$RC" 0 "migration without a down section applies"
run_pgcarry schema down --target "$U"
is "$RC" 1 "down of a migration without a down section fails"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration 20990103000000_nodown.sql has no \"-- migrate:down\" section, so it cannot be rolled back" \
	"no down section message"

# ------------------------------------------------------------ lint and up refusing
cat >migrations/20990104000000_risky.sql <<'SQL'
-- migrate:up
CREATE INDEX users_note ON users (note);
ALTER TABLE users ALTER COLUMN id TYPE bigint;
-- migrate:down
DROP INDEX users_note;
SQL
run_pgcarry schema lint
is "$RC" 1 "lint exits 1 with findings"
like "$OUT" "20990104000000_risky.sql:2: index-not-concurrent: CREATE INDEX without CONCURRENTLY blocks every write to users while the index builds" \
	"lint names file, line, rule and danger"
like "$OUT" "instead: use CREATE INDEX CONCURRENTLY" "lint gives the safe alternative"
like "$OUT" "20990104000000_risky.sql:3: type-change: changing the type of users.id rewrites the table" "lint flags the type change"
like "$OUT" "2 findings to fix or acknowledge, [0-9]+ acknowledged, in 5 files" "lint summary"

run_pgcarry schema status --target "$U"
is "$RC" 0 "status exits 0 with dangerous pending migrations (nothing drifted)"
like "$OUT" "lint: 2 dangerous statements in the pending migrations; \"pgcarry schema up\" refuses them until they are made safe or acknowledged" \
	"status warns that up will refuse"
run_pgcarry schema status --json --target "$U"
is "$(json '"$d->{lint_findings} " . $d->{migrations}[-1]{lint_findings}' <<<"$OUT")" "2 2" "JSON counts lint findings of pending migrations"
run_pgcarry schema up --target "$U"
is "$RC" 1 "up refuses dangerous migrations"
like "$ERR" "warning: 20990104000000_risky.sql:2: index-not-concurrent" "up shows the findings"
like "$ERR" "error: 2 dangerous statements in the pending migrations; nothing was applied" "up refusal message"
like "$ERR" "hint: Make each one safe as its warning says, acknowledge it with a comment \"-- pgcarry:allow RULE reason\" before the statement, or run with --force." "up refusal hint"
is "$(pg_sql db app "SELECT count(*) FROM pg_class WHERE relname = 'users_note'")" 0 "nothing of the refused file ran"

cat >migrations/20990104000000_risky.sql <<'SQL'
-- migrate:up
-- pgcarry:allow index-not-concurrent the table has 2000 rows and no writers yet
CREATE INDEX users_note ON users (note);
ALTER TABLE users ALTER COLUMN id TYPE bigint;
-- migrate:down
DROP INDEX users_note;
SQL
run_pgcarry schema up --target "$U"
is "$RC" 1 "one acknowledged finding is not enough"
like "$ERR" "error: 1 dangerous statement in the pending migrations" "only the unacknowledged finding counts"
run_pgcarry schema up --target "$U" --force
is "$RC" 0 "--force runs it anyway"
is "$(pg_sql db app "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'id'")" bigint "forced migration applied"

# ------------------------------------------------------------ SET NOT NULL after a validated check
cat >migrations/20990105000000_name_check.sql <<'SQL'
-- migrate:up
ALTER TABLE users ADD CONSTRAINT users_name_nn CHECK (name IS NOT NULL) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_name_nn;
SQL
run_pgcarry schema up --target "$U"
is "$RC" 0 "check added NOT VALID and validated"
cat >migrations/20990106000000_name_not_null.sql <<'SQL'
-- migrate:up
ALTER TABLE users ALTER COLUMN name SET NOT NULL;
SQL
run_pgcarry schema lint
is "$RC" 1 "without a server, lint cannot know about the validated check"
like "$OUT" "20990106000000_name_not_null.sql:2: set-not-null: SET NOT NULL on users.name scans the whole table" "set-not-null flagged"
run_pgcarry schema lint --target "$U"
unlike "$OUT" "set-not-null" "with --target, lint sees the validated check on the server"
like "$OUT" "type-change" "and still reports the other findings"
run_pgcarry schema plan --target "$U"
like "$OUT" "safe here \(a validated CHECK \(col IS NOT NULL\) exists\) set-not-null" "plan says why it is safe"
run_pgcarry schema up --target "$U" --verbose
is "$RC" 0 "up applies SET NOT NULL backed by a validated check"
like "$ERR" "SET NOT NULL on users.name uses the validated constraint users_name_nn, so it does not scan the table" "up says why"
is "$(pg_sql db app "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'name'")" t "column is NOT NULL"

# ------------------------------------------------------------ malformed files
mkdir bad1 && printf 'CREATE TABLE x (id int);\n' >bad1/1_noup.sql
run_pgcarry schema lint --dir bad1
is "$RC" 1 "file without sections exits 1"
is "$ERR" "pgcarry: error: migration file 1_noup.sql has SQL before its \"-- migrate:up\" line (line 1)
pgcarry: hint: Put the statements that apply the change after a line \"-- migrate:up\", and those that undo it after a line \"-- migrate:down\"." \
	"SQL before the up section message"

mkdir bad2 && printf -- '-- just a comment\n-- migrate:down\nDROP TABLE x;\n' >bad2/1_noup.sql
run_pgcarry schema up --dir bad2 --target "$U"
is "$RC" 1 "file without an up section exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration file 1_noup.sql has no \"-- migrate:up\" section" "no up section message"

mkdir bad3 && printf -- '-- migrate:up\n' >bad3/add-users.sql
run_pgcarry schema status --dir bad3 --target "$U"
is "$RC" 1 "bad file name exits 1"
is "$ERR" "pgcarry: error: migration file name \"add-users.sql\" is not VERSION_NAME.sql
pgcarry: detail: VERSION is digits that sort in the order to apply (for example 20261122093000), NAME is letters, digits, '_' or '-'.
pgcarry: hint: Rename the file, for example to 20261122093000_add_users.sql; \"pgcarry schema new NAME\" creates files with the right name." \
	"bad file name message"

mkdir bad4 && printf -- '-- migrate:up\n-- migrate:down\nDROP TABLE x;\n' >bad4/1_empty.sql
run_pgcarry schema lint --dir bad4
is "$RC" 1 "empty up section exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration file 1_empty.sql has an empty \"-- migrate:up\" section" "empty up section message"

mkdir bad5 && printf -- '-- migrate:up\nBEGIN;\nCREATE TABLE x (id int);\nCOMMIT;\n' >bad5/1_tx.sql
run_pgcarry schema lint --dir bad5
is "$RC" 1 "BEGIN in a file exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration file 1_tx.sql has a transaction statement (BEGIN) on line 2" "BEGIN message"
like "$ERR" "hint: Remove BEGIN, COMMIT and similar statements from the file." "BEGIN hint"

mkdir bad6 && printf -- "-- migrate:up\nSELECT 1;\nSELECT 'oops;\n" >bad6/1_quote.sql
run_pgcarry schema lint --dir bad6
is "$RC" 1 "unterminated string exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration file 1_quote.sql: unterminated string starting on line 3" "unterminated string message"

mkdir bad7 && printf -- '-- migrate:up\nSELECT 1;\n' >bad7/1_a.sql && cp bad7/1_a.sql bad7/01_b.sql
run_pgcarry schema lint --dir bad7
is "$RC" 1 "duplicate version exits 1"
like "$(head -1 <<<"$ERR")" "pgcarry: error: migration files (01_b.sql and 1_a.sql|1_a.sql and 01_b.sql) have the same version" "duplicate version message"

mkdir bad8 && printf -- '-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n' >bad8/1_twice.sql
run_pgcarry schema lint --dir bad8
is "$RC" 1 "two up sections exit 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration file 1_twice.sql has more than one \"-- migrate:up\" line (line 3)" "two up sections message"

mkdir bad9 && printf -- '-- migrate:up\nCOPY users (id) FROM stdin;\n1\n\\.\n' >bad9/1_copy.sql
run_pgcarry schema lint --dir bad9
is "$RC" 1 "COPY FROM STDIN in a file exits 1"
is "$ERR" "pgcarry: error: migration file 1_copy.sql has COPY ... FROM STDIN on line 2
pgcarry: detail: Migration files are SQL only; pgcarry sends no COPY data.
pgcarry: hint: Load the rows with INSERT statements in the file, or COPY them from a file on the server." "COPY FROM STDIN message"

run_pgcarry schema status --dir nowhere --target "$U"
is "$RC" 1 "missing directory exits 1"
is "$ERR" "pgcarry: error: migration directory \"nowhere\" does not exist
pgcarry: hint: Create it with \"pgcarry schema init\", or point --dir at it." "missing directory message"

mkdir ok1 && printf -- "-- migrate:up\nSELECT '-- migrate:down';\nSELECT \$\$\n-- migrate:down\n\$\$;\n" >ok1/1_markers.sql
run_pgcarry schema lint --dir ok1
is "$RC" 0 "section markers inside strings and dollar quotes do not count"

# ------------------------------------------------------------ down refuses dangerous down sections
mkdir downrisk
printf -- '-- migrate:up\nALTER TABLE users ADD COLUMN tmp int;\n-- migrate:down\nALTER TABLE users DROP COLUMN tmp;\n' >downrisk/1_tmp.sql
pg_sql db postgres "CREATE DATABASE other"
U2=$(pg_uri db other)
pg_sql db other "CREATE TABLE users (id int)"
run_pgcarry schema up --target "$U2" --dir downrisk
is "$RC" 0 "migration with a risky down section applies"
run_pgcarry schema down --target "$U2" --dir downrisk
is "$RC" 1 "down refuses a dangerous down section"
like "$ERR" "warning: 1_tmp.sql:4: drop-column: DROP COLUMN tmp on users breaks application code that still reads or writes it" "down shows the finding"
like "$ERR" "error: 1 dangerous statement in the down sections to run; nothing was rolled back" "down refusal message"
run_pgcarry schema down --target "$U2" --dir downrisk --force
is "$RC" 0 "down --force rolls back"

# ------------------------------------------------------------ a role without the right to create the history
pg_sql db postgres "CREATE ROLE plain LOGIN PASSWORD 'plain-pw-51x'"
echo "plain-pw-51x" >>"$TEST_LOG_DIR/.passwords"
pg_sql db postgres "CREATE DATABASE fourth"
PGPASSWORD=plain-pw-51x PGPASSFILE=$NO_PGPASS run_pgcarry schema up --target "postgresql://plain@127.0.0.1:$(pg_port db)/fourth" --dir downrisk
is "$RC" 1 "a role that cannot create pgcarry's schema fails clearly"
is "$ERR" "pgcarry: error: could not create pgcarry's history tables in schema pgcarry_schema: permission denied for database fourth
pgcarry: hint: The role needs the CREATE privilege on the database." "missing privilege message"
# Once the tables exist, a role that may only write them can run migrations.
pg_sql db other "GRANT USAGE ON SCHEMA pgcarry_schema TO plain; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pgcarry_schema TO plain"
mkdir plaindir && printf -- '-- migrate:up\nSELECT 1;\n' >plaindir/1_noop.sql
PGPASSWORD=plain-pw-51x PGPASSFILE=$NO_PGPASS run_pgcarry schema up --target "postgresql://plain@127.0.0.1:$(pg_port db)/other" --dir plaindir
is "$RC" 0 "a role without CREATE on the database uses the existing history tables"
is "$(pg_sql db other "SELECT applied_by FROM pgcarry_schema.migrations WHERE version = '1'")" plain "applied_by names the role"

# ------------------------------------------------------------ the second of two migrations fails
pg_sql db postgres "CREATE DATABASE third"
mkdir twofiles
printf -- '-- migrate:up\nCREATE TABLE k (id int PRIMARY KEY);\n' >twofiles/1_k.sql
printf -- '-- migrate:up\nINSERT INTO k VALUES (1), (1);\n' >twofiles/2_dup.sql
run_pgcarry schema up --target "$(pg_uri db third)" --dir twofiles
is "$RC" 1 "a failing second migration exits 1"
is "$ERR" "pgcarry: applying 1_k.sql (1 statement)
pgcarry: applied 1_k.sql in $(grep -o 'applied 1_k.sql in [0-9]* ms' <<<"$ERR" | grep -o '[0-9]* ms')
pgcarry: applying 2_dup.sql (1 statement)
pgcarry: error: applying 2_dup.sql, line 2: duplicate key value violates unique constraint \"k_pkey\" (SQLSTATE 23505)
pgcarry: detail: Key (id)=(1) already exists.
The statement:
  2 | INSERT INTO k VALUES (1), (1)
    | ^
The migration's transaction was rolled back: nothing of 2_dup.sql was applied. 1 migration before it was applied and recorded." \
	"the server's error, SQLSTATE and detail, the statement, what was rolled back and what was applied before it"
is "$(pg_sql db third "SELECT string_agg(version, ',') FROM pgcarry_schema.migrations")" 1 "the first one is recorded, the failed one not"

# ------------------------------------------------------------ init errors
touch notadir
run_pgcarry schema init --dir notadir
is "$RC" 1 "init on a file exits 1"
is "$ERR" "pgcarry: error: the migration directory path exists but is not a directory
pgcarry: hint: Point --dir at a directory." "init on a file message"
run_pgcarry schema init --dir "$T_TMP/no/such/parent"
is "$RC" 1 "init under a missing parent exits 1"
is "$ERR" "pgcarry: error: could not create migration directory $T_TMP/no/such/parent: No such file or directory
pgcarry: hint: Check the path and the permissions of its parent directory." "init under a missing parent message"

# ------------------------------------------------------------ usage errors
run_pgcarry schema status extra --target "$U"
is "$RC" 2 "an extra argument is a usage error"
like "$ERR" "error: unexpected argument \"extra\"" "extra argument message"
run_pgcarry schema
is "$RC" 2 "no verb is a usage error"
like "$ERR" "error: a verb is required: init, new, status, up, down, plan, lint, repair, start, complete or rollback" "no verb message"
run_pgcarry schema frobnicate
is "$RC" 2 "unknown verb is a usage error"
like "$ERR" "error: unknown verb \"frobnicate\"" "unknown verb message"
run_pgcarry schema new
is "$RC" 2 "new without NAME is a usage error"
like "$ERR" "error: \"schema new\" needs a NAME, such as add_users_email" "new without NAME message"
run_pgcarry schema new "add users"
is "$RC" 2 "bad NAME is a usage error"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration name \"add users\" may only hold letters, digits, '_' and '-'" "bad NAME message"
run_pgcarry schema up --target "$U" --lock-timeout soon
is "$RC" 2 "bad duration is a usage error"
like "$ERR" "error: --lock-timeout must be a duration such as 2s, 500ms or 1min, not \"soon\"" "bad duration message"
run_pgcarry schema up --target "$U" --lock-timeout 0
is "$RC" 2 "lock timeout 0 is refused"
like "$ERR" "error: --lock-timeout must be more than 0" "lock timeout 0 message"
run_pgcarry schema up --target "$U" --to v2
is "$RC" 2 "non-numeric --to is a usage error"
like "$ERR" "error: --to must be a version \(digits\), not \"v2\"" "--to message"
run_pgcarry schema up --target "$U" --to 77
is "$RC" 2 "--to an unknown version is a usage error"
like "$ERR" "error: no migration file has version 77" "--to unknown version message"
run_pgcarry schema up --json --target "$U"
is "$RC" 2 "--json with up is a usage error"
like "$ERR" "error: --json is only for \"schema status\"" "--json message"
run_pgcarry schema up
is "$RC" 2 "up without a target is a usage error"
like "$ERR" "error: --target is required \(or set PGCARRY_TARGET\)" "missing target message"
PGCARRY_TARGET=$U run_pgcarry schema status
is "$RC" 0 "PGCARRY_TARGET is the fallback for --target"
run_pgcarry schema --help
is "$RC" 0 "--help exits 0"
like "$OUT" "pgcarry schema up +\[--to VERSION\]" "help lists up"

done_testing
