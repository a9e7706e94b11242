#!/usr/bin/env bash
# One schema object that cannot be created does not lose its database.
#  - pg_dump orders a cast before the binary-coercible cast its function
#    needs: copy and import carry the table AND the cast (pg_restore alone
#    loses the cast), judged against the source's own pg_cast.
#  - A table the target refuses (its column's collation exists in the
#    source's pg_catalog only, which pg_dump does not carry, as a column
#    COMPRESSION lz4 meets a target built without lz4): every other object
#    and all other rows arrive, the
#    table is named with the server's whole message and its whole statement,
#    exit 1, never "Verified"; --exit-on-error stops at it.
#  - copy --clean shows the server's real reason when DROP DATABASE is
#    refused by a logical replication subscription.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state
COPY=(copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --state-dir "$STATE")

pg_sql src postgres "CREATE DATABASE casts" >/dev/null
pg_psql src casts >/dev/null 2>&1 <<'SQL' || bail "could not fill casts"
CREATE TYPE ctt;
CREATE FUNCTION ctt_in(cstring) RETURNS ctt AS 'textin' LANGUAGE internal STRICT IMMUTABLE;
CREATE FUNCTION ctt_out(ctt) RETURNS cstring AS 'textout' LANGUAGE internal STRICT IMMUTABLE;
CREATE TYPE ctt (internallength = variable, input = ctt_in, output = ctt_out);
CREATE CAST (text AS ctt) WITHOUT FUNCTION AS IMPLICIT;
CREATE FUNCTION int4_text(int4) RETURNS text LANGUAGE sql AS $$ SELECT $1::text $$;
CREATE CAST (int4 AS ctt) WITH FUNCTION int4_text(int4) AS IMPLICIT;
CREATE TABLE t AS SELECT g AS id FROM generate_series(1,1000) g;
SQL
CASTS_SQL="SELECT string_agg(format('%s->%s %s', castsource::regtype, casttarget::regtype, castmethod), ', ' ORDER BY 1)
             FROM pg_cast WHERE casttarget = 'ctt'::regtype"
SRC_CASTS=$(pg_sql src casts "$CASTS_SQL")

# What pg_dump | pg_restore makes of it: the cast is lost (the reference).
createdb_ref() { pg_sql dst postgres "CREATE DATABASE $1" >/dev/null; }
createdb_ref ref
as_pg "$PG_BINDIR/pg_dump" -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -Fc casts 2>/dev/null |
	as_pg "$PG_BINDIR/pg_restore" -h "$(pg_sockdir dst)" -p "$(pg_port dst)" -U postgres -d ref >/dev/null 2>&1
unlike "$(pg_sql dst ref "$CASTS_SQL")" "integer->ctt" "pg_dump | pg_restore loses the cast (the case is real)"

run_pgcarry "${COPY[@]}" casts
is "$RC" 0 "copy of the cast case: exit 0"
is "$(pg_sql dst casts "$CASTS_SQL")" "$SRC_CASTS" "copy carries both casts, as the source's pg_cast has them"
is "$(pg_sql dst casts "SELECT count(*) FROM t")" "1000" "and the table with its rows"
like "$OUT" "Verified: 1 database, every object equal\." "verified"

A=$T_TMP/casts.archive
run_pgcarry export --source "$(pg_uri src)" casts --output "$A" --progress none
is "$RC" 0 "export of the cast case"
run_pgcarry import --target "$(pg_uri dst)" --input "$A" --db casts_imported --progress none
is "$RC" 0 "import of the cast case: exit 0"
is "$(pg_sql dst casts_imported "$CASTS_SQL")" "$SRC_CASTS" "import carries both casts"
is "$(pg_sql dst casts_imported "SELECT count(*) FROM t")" "1000" "and the table"

# A dump pg_dump made (custom and directory formats) loaded by import:
# the same carriage as pgcarry's own archive.
as_pg "$PG_BINDIR/pg_dump" -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -Fc casts >"$T_TMP/casts.dump" ||
	bail "could not dump casts"
mkdir "$T_TMP/pgd"
[ "$(id -u)" = 0 ] && chown postgres "$T_TMP/pgd"
as_pg "$PG_BINDIR/pg_dump" -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres -Fd -f "$T_TMP/pgd/casts.dir" casts ||
	bail "could not dump casts as a directory"
for f in casts.dump pgd/casts.dir; do
	f=${f##*.}
	in=$T_TMP/casts.dump
	[ "$f" = dir ] && in=$T_TMP/pgd/casts.dir
	run_pgcarry import --target "$(pg_uri dst)" --input "$in" --db "casts_pgdump_$f" --jobs 2 --progress none
	is "$RC" 0 "import of pg_dump's $f dump of the cast case: exit 0"
	is "$(pg_sql dst "casts_pgdump_$f" "$CASTS_SQL")" "$SRC_CASTS" "import of pg_dump's $f dump carries both casts"
	is "$(pg_sql dst "casts_pgdump_$f" "SELECT count(*) FROM t")" "1000" "and the table with its rows"
done

# A table the target refuses: its collation is in the source's pg_catalog.
pg_sql src postgres "CREATE DATABASE blocked" >/dev/null
pg_psql src blocked >/dev/null <<'SQL' || bail "could not fill blocked"
CREATE COLLATION pg_catalog.only_here (locale = 'C');
CREATE TABLE blocker (id int PRIMARY KEY,
                      note text COLLATE pg_catalog.only_here);
INSERT INTO blocker VALUES (1, 'a');
CREATE TABLE fine (id int PRIMARY KEY, b int, t text);
INSERT INTO fine SELECT g, g, 't' || g FROM generate_series(1, 300) g;
CREATE VIEW fine_v AS SELECT id FROM fine;
CREATE INDEX fine_b ON fine (b);
-- A post-data object the target refuses too, after the data is verified.
CREATE INDEX fine_t ON fine (t COLLATE pg_catalog.only_here);
SQL

run_pgcarry "${COPY[@]}" blocked
is "$RC" 1 "a table the target refuses: exit 1"
like "$ERR" "error: could not create TABLE blocker in database \"blocked\" on the target" "the table is named"
like "$ERR" "detail: ERROR:  collation \"pg_catalog.only_here\".* does not exist" "with the server's message"
like "$ERR" "Command was: CREATE TABLE public.blocker \(" "and its statement"
like "$ERR" "    note text COLLATE pg_catalog.only_here" "whole, not cut at its first line"
like "$OUT" "blocked +schema object TABLE blocker .*failed" "the report marks the object failed"
like "$OUT" "blocked +schema object INDEX fine_t .*failed" "and the index post-data could not build"
unlike "$OUT" "Verified: " "never called verified"
like "$ERR" "error: database \"blocked\" is incomplete: 3 schema objects could not be created \(named above\); once the cause is fixed, copy it again with --clean" \
	"the database is said to be incomplete"
is "$(pg_sql dst blocked "SELECT count(*) FROM fine")" "300" "every other table arrives with its rows"
is "$(pg_sql dst blocked "SELECT count(*) FROM pg_indexes WHERE indexname IN ('fine_b', 'fine_pkey', 'fine_t')")" "2" \
	"with its indexes (post-data ran)"
is "$(pg_sql dst blocked "SELECT count(*) FROM fine_v")" "300" "and the view"

run_pgcarry "${COPY[@]}" --clean --exit-on-error blocked
is "$RC" 1 "--exit-on-error: exit 1"
like "$ERR" "pg_restore could not apply the pre-data schema .* to database \"blocked\" on the target server: 1 object could not be created" \
	"--exit-on-error stops at the first object"
is "$(pg_sql dst blocked "SELECT to_regclass('public.fine') IS NULL")" "t" "and nothing after it is created"

run_pgcarry export --source "$(pg_uri src)" blocked --output "$T_TMP/blocked.archive" --progress none
run_pgcarry import --target "$(pg_uri dst)" --input "$T_TMP/blocked.archive" --db blocked_imported --progress none
is "$RC" 1 "import of a table the target refuses: exit 1"
like "$ERR" "error: could not create TABLE blocker in database \"blocked_imported\" on the target
pgcarry: detail: ERROR:  collation \"pg_catalog.only_here\".* does not exist" "import names the table with the server's message"
like "$ERR" "    note text COLLATE pg_catalog.only_here" "and the whole statement"
like "$ERR" "error: could not create CONSTRAINT blocker blocker_pkey in database \"blocked_imported\"" "and its primary key"
like "$ERR" "error: could not create INDEX fine_t in database \"blocked_imported\" on the target
pgcarry: detail: ERROR:  collation \"pg_catalog.only_here\".* does not exist" "and an index post-data could not build, after the rows were verified"
like "$OUT" "blocked_imported +schema object INDEX fine_t .*failed" "the report marks it failed"
like "$ERR" "error: could not restore the pre-data schema of database \"blocked_imported\": 3 schema objects could not be created" "and says the database is incomplete"
unlike "$OUT" "Verified: " "import never calls it verified"
is "$(pg_sql dst blocked_imported "SELECT count(*) FROM fine")" "300" "import loads every other table"

# copy --clean when a subscription uses the target database.
pg_sql src postgres "CREATE DATABASE s1" >/dev/null
pg_sql dst postgres "CREATE DATABASE s1" >/dev/null
pg_sql dst s1 "CREATE SUBSCRIPTION sub CONNECTION 'dbname=nowhere' PUBLICATION p WITH (connect = false)" >/dev/null 2>&1
run_pgcarry "${COPY[@]}" --clean s1
is "$RC" 1 "copy --clean of a database a subscription uses: exit 1"
like "$ERR" "error: could not drop database \"s1\" on the target: database \"s1\" is being used by logical replication subscription" \
	"the server's real reason"
unlike "$ERR" "other sessions are connected" "not a guess"
pg_sql dst s1 "ALTER SUBSCRIPTION sub SET (slot_name = NONE); DROP SUBSCRIPTION sub" >/dev/null 2>&1

done_testing
