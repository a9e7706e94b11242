#!/usr/bin/env bash
# Roles: without --roles, missing owners and grantees get a clear warning
# and the objects belong to the target's user; with --roles, roles and
# memberships come first (existing roles on the target left alone) and
# ownership and grants come out as on the source, passwords included; from
# a source role that is not a superuser (as on a managed service), a clear
# warning and roles without passwords.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start dst1
pg_start dst2
pg_start dst3
STATE=$T_TMP/state

pg_psql src postgres >/dev/null <<'SQL' || bail "could not create roles"
CREATE ROLE alice LOGIN PASSWORD 'alice-pw-30x';
CREATE ROLE bob NOLOGIN;
GRANT bob TO alice;
CREATE ROLE migrator LOGIN PASSWORD 'migrator-pw-30x' IN ROLE pg_read_all_data;
CREATE DATABASE owned OWNER alice;
SQL
printf '%s\n%s\n' alice-pw-30x migrator-pw-30x >>"$TEST_LOG_DIR/.passwords"
echo "127.0.0.1:$(pg_port src):*:migrator:migrator-pw-30x" >>"$PGPASSFILE"
pg_psql src owned >/dev/null <<'SQL' || bail "could not fill owned"
SET ROLE alice;
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes VALUES (1, 'hello'), (2, 'world');
GRANT SELECT ON notes TO bob;
SQL
pg_sql dst2 postgres "CREATE ROLE bob NOLOGIN CREATEDB"

owner_of() { pg_sql "$1" owned "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'notes'"; }
copy_to() { local t=$1; shift; run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri "$t")" --progress none --state-dir "$STATE" "$@" owned; }

copy_to dst1
is "$RC" 0 "without --roles: exit 0"
like "$ERR" "warning: roles \"alice\", \"bob\" of database \"owned\" do not exist on the target: its objects will belong to the target's user, and grants are not copied" \
	"without --roles: the missing roles are named"
like "$ERR" "hint: Create the roles first, or copy them with --roles\." "without --roles: the way out"
is "$(owner_of dst1)" "postgres" "without --roles: the table belongs to the target's user"
is "$(pg_sql dst1 owned "SELECT count(*) FROM notes")" "2" "without --roles: the data is there"

copy_to dst2 --roles
is "$RC" 0 "with --roles: exit 0"
like "$ERR" "roles copied \(2 already existed on the target and were left as they are\)" "existing roles are counted and left alone"
is "$(owner_of dst2)" "alice" "with --roles: the table's owner as on the source"
is "$(pg_sql dst2 postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'owned'")" "alice" "with --roles: the database's owner as on the source"
is "$(pg_sql dst2 owned "SELECT has_table_privilege('bob', 'notes', 'SELECT')")" "t" "with --roles: grants as on the source"
is "$(pg_sql dst2 postgres "SELECT rolcreatedb FROM pg_roles WHERE rolname = 'bob'")" "t" "an existing role keeps its attributes"
is "$(pg_sql dst2 postgres "SELECT pg_has_role('alice', 'bob', 'MEMBER')")" "t" "memberships of new roles are copied"
PGPASSWORD=alice-pw-30x PGPASSFILE=$NO_PGPASS psql -X -At -h 127.0.0.1 -p "$(pg_port dst2)" -U alice -d owned -c "SELECT 1" >/dev/null 2>&1
is "$?" 0 "with --roles from a superuser: passwords are copied"
out=$(dbcheck_roles src dst2 2>/dev/null)
is "$out" "dbcheck: roles: source only: role bob super=false inherit=true createrole=false createdb=false login=false replication=false bypassrls=false connlimit=-1 validuntil=-
dbcheck: roles: target only: role bob super=false inherit=true createrole=false createdb=true login=false replication=false bypassrls=false connlimit=-1 validuntil=-" \
	"independent check: roles as on the source (password hashes, memberships, settings, comments), but for the one left alone"
out=$(dbcheck_compare src dst2 owned 2>/dev/null)
is "$?" 0 "independent check: data and schema (owners, grants) as on the source" || diag "$out"

run_pgcarry copy --source "postgresql://migrator@127.0.0.1:$(pg_port src)/postgres" --target "$(pg_uri dst3)" \
	--roles --progress none --state-dir "$STATE" owned
is "$RC" 0 "--roles from a role that is not a superuser: exit 0"
like "$ERR" "warning: the source role is not a superuser, so role passwords cannot be read: roles are created on the target without passwords" \
	"a clear warning about passwords"
like "$ERR" "hint: Set the passwords on the target afterwards \(ALTER ROLE \.\.\. PASSWORD\)\." "and what to do"
is "$(owner_of dst3)" "alice" "ownership as on the source"
is "$(pg_sql dst3 postgres "SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'alice'")" "t" "the role has no password on the target"
is "$(pg_sql dst3 owned "SELECT count(*) FROM notes")" "2" "the data is there"
out=$(dbcheck_roles src dst3 2>/dev/null)
is "$out" "dbcheck: roles: role alice has a password on the source only
dbcheck: roles: role migrator has a password on the source only" \
	"independent check: roles as on the source but for their passwords"
out=$(dbcheck_compare src dst3 owned 2>/dev/null)
is "$?" 0 "independent check: data and schema as on the source" || diag "$out"

# A source role that may not read pg_largeobject_metadata (a catalog
# hardened with REVOKE ... FROM PUBLIC): before its schema dump, copy asks
# the source whether the database holds large objects or materialized
# views; that question fails, and the copy stops there with one message
# that names it and the way out, and nothing on the target.
pg_psql src postgres >/dev/null <<'SQL' || bail "could not create the hardened database"
CREATE ROLE keeper LOGIN PASSWORD 'keeper-pw-30x';
CREATE DATABASE hardened OWNER keeper;
SQL
echo keeper-pw-30x >>"$TEST_LOG_DIR/.passwords"
echo "127.0.0.1:$(pg_port src):*:keeper:keeper-pw-30x" >>"$PGPASSFILE"
pg_psql src hardened >/dev/null <<'SQL' || bail "could not fill the hardened database"
SET ROLE keeper;
CREATE TABLE kept (id int PRIMARY KEY);
INSERT INTO kept VALUES (1), (2);
RESET ROLE;
REVOKE SELECT ON pg_catalog.pg_largeobject_metadata FROM PUBLIC;
SQL
run_pgcarry copy --source "postgresql://keeper@127.0.0.1:$(pg_port src)/hardened" --target "$(pg_uri dst3)" \
	--progress none --state-dir "$T_TMP/state-hardened" hardened
is "$RC" 1 "a source role that may not read pg_largeobject_metadata: exit 1"
like "$ERR" "\[hardened\] error: on the source: could not look for large objects and materialized views: permission denied for table pg_largeobject_metadata" \
	"the message names the side, the question that failed and the server's reason"
like "$ERR" "hint: Connect as a role that may read the system catalogs \(pg_dump reads them too\), or have a superuser grant this role SELECT on the catalog named\." \
	"and the way out"
is "$(pg_sql dst3 postgres "SELECT count(*) FROM pg_database WHERE datname = 'hardened'")" "0" \
	"nothing was made on the target"

done_testing
