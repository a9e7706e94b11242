#!/usr/bin/env bash
# pgcarry schema on PostgreSQL's own parser, checked against the server:
# a syntax error is found by lint, plan and up before anything runs, at the
# line and column psql reports for the same file; a statement that fails
# during up is reported with the SQLSTATE psql reports, a caret and what
# was rolled back (the catalog shows nothing of it); SET NOT NULL on a
# column the catalog already has NOT NULL is not flagged with --target;
# plan shows a foreign key's lock on both tables, as pg_locks does; each
# verb has its own --help.
source "$(dirname "$0")/../lib/harness.sh"

pg_start db
pg_sql db postgres "CREATE DATABASE app"
pg_sql db postgres "CREATE DATABASE scratch"
U=$(pg_uri db app)
cd "$T_TMP" || bail "no temp dir"
pg_sql db app "CREATE TABLE orgs (id int PRIMARY KEY);
CREATE TABLE users (id int PRIMARY KEY, org int, email text NOT NULL, name text)"
pg_sql db scratch "CREATE TABLE users (id int PRIMARY KEY, org int, email text NOT NULL, name text)"

# ------------------------------------------------------------ syntax errors, before anything runs
mkdir syn
printf -- '-- migrate:up\nCREATE TABLE audit (id int);\n\nALTER TABL users ADD COLUMN note text;\n' >syn/1_typo.sql
# What PostgreSQL itself says of the same file: message, line (psql's), column (its caret).
psql_err=$(pg_psql db scratch -1 -f syn/1_typo.sql 2>&1)
server_msg=$(sed -n 's/^psql:[^:]*:\([0-9]*\): ERROR:  \(.*\)$/\1: \2/p' <<<"$psql_err")
caret=$(grep -A1 '^LINE 1:' <<<"$psql_err" | tail -1)
server_col=$((${#caret} - 8))
is "$server_msg" '4: syntax error at or near "TABL"' "(psql reports the syntax error on line 4)"

for verb in lint plan; do
	run_pgcarry schema "$verb" --dir syn
	is "$RC" 1 "$verb exits 1 on a syntax error"
	is "$OUT" "" "$verb prints no plan or findings for a file that does not parse"
	is "$ERR" "pgcarry: error: migration file 1_typo.sql:4:$server_col: syntax error at or near \"TABL\"
pgcarry: detail: Where PostgreSQL's parser stopped:
  4 | ALTER TABL users ADD COLUMN note text;
    |       ^
pgcarry: hint: Correct the statement; pgcarry reads migrations with PostgreSQL 15's parser before it runs anything." \
		"$verb names file, line and column as the server does, with a caret"
done
is "$server_col" 7 "(the server's caret is under column 7)"

run_pgcarry schema up --dir syn --target "$U"
is "$RC" 1 "up exits 1 on a syntax error"
like "$ERR" "error: migration file 1_typo.sql:4:7: syntax error at or near \"TABL\"" "up reports it the same way"
is "$(pg_sql db app "SELECT to_regclass('audit') IS NULL AND to_regclass('pgcarry_schema.migrations') IS NULL")" t \
	"nothing ran: not the statement before it, not even the history tables"

mkdir syn2
printf -- '-- migrate:up\nSELECT 1;\n-- migrate:down\nDROP TABLE x;\nSELECT 1 +;\n' >syn2/1_down.sql
run_pgcarry schema lint --dir syn2
is "$RC" 1 "a syntax error in a down section is found too"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration file 1_down.sql:5:11: syntax error at or near \";\"" \
	"line and column in the down section count from the top of the file"

# ------------------------------------------------------------ a failing statement: SQLSTATE, caret, rolled back
mkdir run
printf -- '-- migrate:up\nCREATE TABLE audit (id int);\nINSERT INTO audit\n  SELECT nosuch FROM users;\n' >run/1_bad.sql
psql_err=$(pg_psql db scratch -v VERBOSITY=verbose -c "SELECT nosuch FROM users" 2>&1)
server_state=$(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): column "nosuch".*/\1/p' <<<"$psql_err")
is "$server_state" 42703 "(the server's SQLSTATE for the missing column)"
run_pgcarry schema up --dir run --target "$U"
is "$RC" 1 "a failing statement exits 1"
is "$ERR" "pgcarry: applying 1_bad.sql (2 statements)
pgcarry: error: applying 1_bad.sql, line 3: column \"nosuch\" does not exist (SQLSTATE $server_state)
pgcarry: detail: Where the server points:
  4 |   SELECT nosuch FROM users
    |          ^
The migration's transaction was rolled back: nothing of 1_bad.sql was applied." \
	"the server's message with its SQLSTATE, a caret under the place, and what was rolled back"
is "$(pg_sql db app "SELECT (to_regclass('audit') IS NULL) || ' ' || count(*) FROM pgcarry_schema.migrations")" "true 0" \
	"the catalog agrees: the table made before the failure is gone, nothing is recorded"

mkdir step
printf -- '-- migrate:up\nCREATE TABLE audit (id int);\nCREATE INDEX CONCURRENTLY audit_id ON audit (id);\nINSERT INTO audit VALUES (1), (-1);\nALTER TABLE audit ADD CONSTRAINT c CHECK (id > 0) NOT VALID;\nALTER TABLE audit VALIDATE CONSTRAINT c;\n' >step/1_steps.sql
run_pgcarry schema up --dir step --target "$U"
is "$RC" 1 "a failing statement in a later step exits 1"
like "$ERR" "error: applying 1_steps.sql, line 6: check constraint \"c\" of relation \"audit\" is violated by some row \(SQLSTATE 23514\)" \
	"the failing statement of the last step, with its SQLSTATE"
like "$ERR" "  6 \| ALTER TABLE audit VALIDATE CONSTRAINT c
    \| \^
The transaction of this step was rolled back; the steps before it stay committed and recorded." \
	"no position from the server: the caret is under the statement; only this step was rolled back"
is "$(pg_sql db app "SELECT count(*) FROM pg_index WHERE indexrelid = to_regclass('audit_id')")" 1 \
	"the catalog agrees: the index of the step before stays"

# ------------------------------------------------------------ SET NOT NULL on a column already NOT NULL
is "$(pg_sql db app "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'")" t \
	"(the catalog has users.email NOT NULL)"
mkdir nn
printf -- '-- migrate:up\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n' >nn/1_nn.sql
run_pgcarry schema lint --dir nn
is "$RC" 1 "without a server, lint cannot know the column is NOT NULL"
run_pgcarry schema lint --dir nn --target "$U"
is "$RC" 0 "with --target, SET NOT NULL on a column already NOT NULL is no finding"
is "$OUT" "0 findings to fix or acknowledge, 1 acknowledged, in 1 file" "lint counts it as safe"
run_pgcarry schema plan --dir nn --target "$U"
like "$OUT" "safe here \(the column is already NOT NULL\) set-not-null: SET NOT NULL on users.email" "plan says why it is safe"

# ------------------------------------------------------------ a foreign key locks both tables
mkdir fk
printf -- '-- migrate:up\nALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES orgs (id) NOT VALID;\n' >fk/1_fk.sql
# What the server locks for the same statement.
locks=$(pg_sql db app "BEGIN; ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES orgs (id) NOT VALID;
SELECT string_agg(relation::regclass || ' ' || mode, ', ' ORDER BY relation::regclass::text) FROM pg_locks
WHERE pid = pg_backend_pid() AND relation IN ('users'::regclass, 'orgs'::regclass)
  AND mode <> 'AccessShareLock'; ROLLBACK")
is "$locks" "orgs ShareRowExclusiveLock, users ShareRowExclusiveLock" "(the server takes SHARE ROW EXCLUSIVE on both tables)"
run_pgcarry schema plan --dir fk --target "$U"
is "$RC" 0 "plan exits 0"
like "$OUT" "ALTER TABLE; lock SHARE ROW EXCLUSIVE; catalog only; table users \([0-9]+ kB\); lock SHARE ROW EXCLUSIVE on the referenced table orgs \([0-9]+ (kB|bytes)\); in the migration's transaction" \
	"plan shows the lock on the referencing and on the referenced table"

printf -- '-- migrate:up\nALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org) REFERENCES orgs (id);\n' >fk/2_fk_valid.sql
run_pgcarry schema lint --dir fk
like "$OUT" "2_fk_valid.sql:2: constraint-not-valid: ADD CONSTRAINT users_org_fk FOREIGN KEY without NOT VALID checks every row of users while holding a lock that blocks writes to users and to orgs" \
	"lint names both tables whose writes a validating foreign key blocks"

# ------------------------------------------------------------ each verb has its own --help
for verb in init new status up down plan lint repair; do
	run_pgcarry schema "$verb" --help
	is "$RC" 0 "schema $verb --help exits 0"
	like "$OUT" "^pgcarry schema $verb " "schema $verb --help opens with what $verb does"
	like "$OUT" "Usage:
  pgcarry schema $verb( |$)" "schema $verb --help shows how $verb is called"
	eval "help_$verb=\$(md5sum <<<\"\$OUT\")"
done
is "$(printf '%s\n' "$help_init" "$help_new" "$help_status" "$help_up" "$help_down" "$help_plan" "$help_lint" "$help_repair" | sort -u | wc -l)" 8 \
	"eight verbs, eight different pages"
run_pgcarry schema lint --help
unlike "$OUT" "--lock-timeout" "lint's page has no options lint does not take"
run_pgcarry schema up -h
like "$OUT" "--lock-timeout D" "up's page has its options (-h too)"

done_testing
