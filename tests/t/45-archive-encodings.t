#!/usr/bin/env bash
# Names in any server encoding travel through an archive byte for byte: a
# LATIN1 table "tëst" (with a LATIN1 column name), an SQL_ASCII table whose
# name is not valid UTF-8, an EUC_JP table.  Directory and tar archives are
# exported, checked without a server, imported, and the target judged
# against the source by the independent checker (tests/lib/dbcheck.sh).
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start tgt
pg_sql src postgres "CREATE DATABASE tt_latin1 ENCODING 'LATIN1' LOCALE 'C' TEMPLATE template0"
pg_sql src postgres "CREATE DATABASE tt_ascii ENCODING 'SQL_ASCII' LOCALE 'C' TEMPLATE template0"
pg_sql src postgres "CREATE DATABASE tt_euc ENCODING 'EUC_JP' LOCALE 'C' TEMPLATE template0"
# UTF-8 from psql, converted by the server into LATIN1 and EUC_JP bytes.
PGCLIENTENCODING=UTF8 pg_sql src tt_latin1 "CREATE TABLE \"tëst\" (id int, \"prénom\" text);
	INSERT INTO \"tëst\" SELECT i, 'é' || i FROM generate_series(1, 4) i;
	CREATE TABLE plain (id int); INSERT INTO plain VALUES (1), (2)"
PGCLIENTENCODING=UTF8 pg_sql src tt_euc "CREATE SCHEMA \"スキーマ\"; CREATE TABLE \"スキーマ\".\"表\" (\"列\" text);
	INSERT INTO \"スキーマ\".\"表\" VALUES ('あ'), ('い'), ('う')"
# SQL_ASCII stores any bytes: a table name that is not UTF-8 at all.
PGCLIENTENCODING=SQL_ASCII pg_sql src tt_ascii "$(printf 'CREATE TABLE "x\xff\xfe" (id int); INSERT INTO "x\xff\xfe" SELECT generate_series(1, 7); CREATE SEQUENCE "s\xe9q"; SELECT setval(\x27"s\xe9q"\x27, 42)')" >/dev/null

DBS="tt_latin1 tt_ascii tt_euc"
A=$T_TMP/archive
run_pgcarry export --source "$(pg_uri src)" $DBS --output "$A" --jobs 2 --progress none
is "$RC" 0 "export of LATIN1, SQL_ASCII and EUC_JP databases exits 0"
is "$(jq -r '.databases[] | "\(.name) \(.tables | length)"' "$A/manifest.json" | sort)" \
	"tt_ascii 1
tt_euc 1
tt_latin1 2" "the manifest lists every table of every database"
is "$(jq -r '.databases[] | select(.name == "tt_latin1") | .tables[] | select(.name_hex) | .name_hex' "$A/manifest.json")" \
	"74eb7374" "the LATIN1 name is recorded as its exact bytes"
is "$(jq -r '.databases[] | select(.name == "tt_ascii") | .tables[0].name_hex' "$A/manifest.json")" \
	"78fffe" "the SQL_ASCII name is recorded as its exact bytes"
run_pgcarry verify-archive "$A"
is "$RC" 0 "verify-archive: the archive is whole"
like "$OUT" "is whole: 3 databases, 4 tables" "verify-archive counts every table"

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --jobs 2 --progress none
is "$RC" 0 "import exits 0"
like "$OUT" 'imported database "tt_latin1": 2 tables, 6 rows' "import loads the LATIN1 table"
diffs=$(dbcheck_compare_all src tgt $DBS 2>/dev/null)
is "$?" 0 "the independent checker finds the imported databases equal to the source"
[ -n "$diffs" ] && diag "$diffs"

# The same through one tar stream.
for db in $DBS; do pg_sql tgt postgres "DROP DATABASE $db"; done
run_pgcarry export --source "$(pg_uri src)" $DBS --format tar --output "$T_TMP/a.tar" --jobs 2 --progress none
is "$RC" 0 "tar export exits 0"
run_pgcarry verify-archive "$T_TMP/a.tar"
like "$OUT" "is whole: 3 databases, 4 tables" "the tar archive is whole, every table in it"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/a.tar" --jobs 2 --progress none
is "$RC" 0 "import of the tar exits 0"
diffs=$(dbcheck_compare_all src tgt $DBS 2>/dev/null)
is "$?" 0 "the independent checker finds the databases from the tar equal to the source"
[ -n "$diffs" ] && diag "$diffs"

done_testing
