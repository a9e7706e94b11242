#!/usr/bin/env bash
# Crash safety of pgcarry schema on a real server: a CREATE UNIQUE INDEX
# CONCURRENTLY that fails midway leaves an INVALID index, and the rerun
# (after the data is fixed) drops and rebuilds it; a migration cut into
# steps stops at a failing step and the rerun continues after the finished
# ones (never running them twice, refusing a changed file and a rollback of
# the half-applied migration); a step that finished without being recorded
# is recognised; pgcarry killed with -9 leaves nothing that needs a force.
source "$(dirname "$0")/../lib/harness.sh"

pg_start db
U=$(pg_uri db postgres)
json() { perl -MJSON::PP -0777 -e 'my $d = decode_json(<STDIN>); my $r = eval $ARGV[0]; die $@ if $@; print defined $r ? $r : "null"' "$1"; }
cd "$T_TMP" || bail "no temp dir"
mkdir migrations
cat >migrations/001_users.sql <<'SQL'
-- migrate:up
CREATE TABLE users (id int PRIMARY KEY, name text, email text);
INSERT INTO users SELECT g, 'user ' || g, CASE WHEN g % 1000 = 0 THEN 'dup@example.org' ELSE g || '@example.org' END
FROM generate_series(1, 5000) g;
SQL
run_pgcarry schema up --target "$U"
is "$RC" 0 "table created"

# ------------------------------------------------------------ CREATE INDEX CONCURRENTLY fails midway
cat >migrations/002_email_unique.sql <<'SQL'
-- migrate:up
CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email);
-- migrate:down
DROP INDEX CONCURRENTLY users_email;
SQL
run_pgcarry schema up --target "$U"
is "$RC" 1 "unique index over duplicates fails"
like "$ERR" "error: applying 002_email_unique.sql, line 2: could not create unique index \"users_email\"" "the server's reason is shown"
like "$ERR" "detail: Key \(email\)=\(dup@example.org\) is duplicated." "the server's detail is shown"
is "$(pg_sql db postgres "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email'::regclass")" f \
	"the failed build left an INVALID index behind"
run_pgcarry schema status --target "$U"
like "$OUT" "pending +002 +email_unique" "the migration is still pending"

pg_sql db postgres "UPDATE users SET email = id || '@example.org' WHERE email = 'dup@example.org'"
run_pgcarry schema up --target "$U"
is "$RC" 0 "rerun after fixing the data succeeds"
like "$ERR" "dropping invalid index \"public\".\"users_email\" left by an earlier failed CREATE INDEX CONCURRENTLY; building it again" \
	"rerun drops the invalid leftover first"
is "$(pg_sql db postgres "SELECT count(*) || ' ' || bool_and(i.indisvalid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'users_email%'")" "1 true" \
	"exactly one valid index now"

# ------------------------------------------------------------ a migration in steps stops midway
cat >migrations/003_multi.sql <<'SQL'
-- migrate:up
CREATE TABLE audit (id int);
CREATE INDEX CONCURRENTLY users_name ON users (name);
INSERT INTO audit SELECT id FROM needed;
-- migrate:down
DROP INDEX CONCURRENTLY users_name;
-- pgcarry:allow drop-table made by this migration
DROP TABLE audit;
SQL
cp migrations/003_multi.sql 003.orig
run_pgcarry schema up --target "$U"
is "$RC" 1 "third step fails"
like "$ERR" "error: applying 003_multi.sql, line 4: relation \"needed\" does not exist" "failing step's error"
like "$ERR" "hint: Fix the cause and run again; steps that finished are recorded and will not run twice." "the way out"
is "$(pg_sql db postgres "SELECT string_agg(step::text, ',' ORDER BY step) FROM pgcarry_schema.steps WHERE version = '003'")" "1,2" \
	"the finished steps are recorded"
run_pgcarry schema status --target "$U"
is "$RC" 0 "status exits 0 with a half-applied migration (no drift)"
like "$OUT" "partial +003 +multi" "status marks the half-applied migration"
like "$OUT" "in progress: 003 was interrupted while being applied after 2 steps; run \"pgcarry schema up\" to finish it" \
	"status says how to finish it"
run_pgcarry schema status --json --target "$U"
is "$(json '"$d->{in_progress}{version} $d->{in_progress}{direction} $d->{in_progress}{steps_done}"' <<<"$OUT")" "003 up 2" \
	"JSON in_progress"

run_pgcarry schema down --target "$U"
is "$RC" 1 "down refuses while a migration is half applied"
is "$ERR" "pgcarry: error: migration 003 was interrupted while being applied (2 steps done)
pgcarry: hint: Run \"pgcarry schema up\" again to finish it first." "down refusal message"

sed -i 's/CREATE TABLE audit (id int)/CREATE TABLE audit (id bigint)/' migrations/003_multi.sql
run_pgcarry schema up --target "$U"
is "$RC" 1 "a changed file under a half-applied migration is refused"
is "$(head -1 <<<"$ERR")" "pgcarry: error: migration 003_multi.sql was interrupted after step 1 of up, and its file has changed since" \
	"changed file message"
like "$ERR" "hint: Restore the file as it was when the run stopped" "changed file way out"
cp 003.orig migrations/003_multi.sql

# The index step finished but the crash came before it was recorded.
pg_sql db postgres "DELETE FROM pgcarry_schema.steps WHERE version = '003' AND step = 2"
pg_sql db postgres "CREATE TABLE needed AS SELECT 7 AS id"
run_pgcarry schema up --target "$U"
is "$RC" 0 "rerun finishes the migration"
like "$ERR" "step 1 of 3 already done by an interrupted run; skipping it" "finished step skipped"
like "$ERR" "the index of \"CREATE INDEX CONCURRENTLY users_name ON users \(name\)\" already exists and is valid \(an interrupted run built it\); step counted as done" \
	"a built but unrecorded index is recognised"
is "$(pg_sql db postgres "SELECT count(*) FROM audit")" 1 "last step ran once"
is "$(pg_sql db postgres "SELECT count(*) FROM pgcarry_schema.steps")" 0 "no step rows left"
is "$(pg_sql db postgres "SELECT count(*) FROM pgcarry_schema.migrations WHERE version = '003'")" 1 "migration recorded"

# A rollback that stops midway is finished by the next down, and up waits for it.
pg_sql db postgres "CREATE VIEW audit_view AS SELECT * FROM audit"
run_pgcarry schema down --target "$U"
is "$RC" 1 "down stops at a failing step"
like "$ERR" "error: rolling back 003_multi.sql, line 8: cannot drop table audit because other objects depend on it" "failing down step's error"
run_pgcarry schema up --target "$U"
is "$RC" 1 "up refuses while a rollback is half done"
is "$ERR" "pgcarry: error: migration 003 was interrupted while being rolled back (1 step done)
pgcarry: hint: Run \"pgcarry schema down\" again to finish it first." "up refusal message"
pg_sql db postgres "DROP VIEW audit_view"
run_pgcarry schema down --target "$U"
is "$RC" 0 "down finishes the rollback"
like "$ERR" "step 1 of 2 already done by an interrupted run; skipping it" "the finished down step is not run again"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_class WHERE relname IN ('audit', 'users_name')")" 0 "down removed both"

# ------------------------------------------------------------ an index being built by someone else
PGAPPNAME=writer pg_sql db postgres "BEGIN; INSERT INTO users (id) VALUES (99999); SELECT pg_sleep(5); COMMIT" >/dev/null &
w=$!
sleep 0.5
pg_sql db postgres "CREATE INDEX CONCURRENTLY users_other ON users (name)" >/dev/null 2>&1 &
other=$!
for _ in $(seq 1 50); do
	[ "$(pg_sql db postgres "SELECT count(*) FROM pg_stat_progress_create_index")" = 1 ] && break
	sleep 0.1
done
rm migrations/003_multi.sql
printf -- '-- migrate:up\nCREATE INDEX CONCURRENTLY users_other ON users (name);\n' >migrations/005_other.sql
run_pgcarry schema up --target "$U"
is "$RC" 1 "an index another session is building is left alone"
like "$ERR" "error: applying 005_other.sql, line 2: index \"public\".\"users_other\" is being built right now by another session" "building index message"
like "$ERR" "hint: Wait for that build to finish \(see pg_stat_progress_create_index\), then run again." "building index hint"
wait "$w"
wait "$other"
is "$(pg_sql db postgres "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_other'::regclass")" t "the other session's build finished untouched"
pg_sql db postgres "DROP INDEX users_other"
rm migrations/005_other.sql

# ------------------------------------------------------------ kill -9 in the middle of a migration
cat >migrations/004_sleepy.sql <<'SQL'
-- migrate:up
CREATE TABLE sleepy (id int);
SELECT pg_sleep(3);
SQL
pgcarry_start schema up --target "$U"
k=$PGCARRY_PID
for _ in $(seq 1 50); do
	[ "$(pg_sql db postgres "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()")" = 1 ] && break
	sleep 0.1
done
{
	kill -9 "$k"
	pgcarry_wait
} 2>/dev/null
# The server ends the orphaned session (as it would on its own once it
# notices the client is gone).
pg_sql db postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'pgcarry%'" >/dev/null
sleep 0.5
is "$(pg_sql db postgres "SELECT count(*) FROM pg_class WHERE relname = 'sleepy'")" 0 "the killed run left nothing half done"
run_pgcarry schema up --target "$U" --lock-wait 10s
is "$RC" 0 "the next run applies it without any force"
is "$(pg_sql db postgres "SELECT count(*) FROM pg_class WHERE relname = 'sleepy'")" 1 "migration applied"

done_testing
