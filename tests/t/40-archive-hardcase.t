#!/usr/bin/env bash
# pgcarry export and import of the hard-case database between two servers,
# judged by the independent checker (tests/lib/dbcheck.sh): a directory
# archive with roles, then the same through one tar stream on a pipe.
# Files 0600 in 0700 directories, no password anywhere in the archive, the
# archive checked without a server, the target not left marked unfinished,
# and a second import into the loaded database refused.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

FIX=$HARNESS_ROOT/tests/fixtures
# mj FILE PERL: runs PERL with $m set to the decoded JSON file (core perl only).
mj() { perl -MJSON::PP -0777 -ne '$m = JSON::PP->new->decode($_); '"$2" "$1"; }

pg_start src
pg_start tgt
pg_psql src postgres -f "$FIX/hardcase-roles.sql" >/dev/null || bail "roles did not load"
pg_sql src postgres "CREATE DATABASE hardcase"
pg_psql src hardcase -f "$FIX/hardcase.sql" >/dev/null || bail "hardcase.sql did not load"
pg_sql src postgres "CREATE DATABASE small"
pg_sql src small "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 500) i"

A=$T_TMP/archive
run_pgcarry export --source "$(pg_uri src)" hardcase small --output "$A" --jobs 2 --roles
is "$RC" 0 "export of the hard-case database exits 0"
like "$ERR" 'archive ".*/archive" is complete: 2 databases' "export says the archive is complete"
ok "$([ -f "$A/manifest.json" ] && echo 0 || echo 1)" "the manifest is there"
ok "$([ -f "$A/roles.sql" ] && echo 0 || echo 1)" "--roles writes roles.sql"
# The default compression: zstd at level 1 (as small as level 3 on the
# seven databases, at half the CPU: bench/profile.sh).
is "$(mj "$A/manifest.json" 'print "$m->{compression}{method}:$m->{compression}{level}"')" "zstd:1" \
	"export compresses with zstd at level 1 by default"

is "$(find "$A" -type f ! -perm 600 | wc -l)" 0 "every archive file is mode 0600"
is "$(find "$A" -type d ! -perm 700 | wc -l)" 0 "every archive directory is mode 0700"
is "$(find "$A" -name '.*partial' | wc -l)" 0 "no temporary file is left behind"

# No password, no connection string in the archive: every byte of it,
# compressed and decompressed, searched for both servers' passwords.
printf '%s\n' "$(pg_password src)" "$(pg_password tgt)" >"$T_TMP/pw"
{ find "$A" -type f -exec cat {} +; for f in "$A"/databases/*/data/*.zst "$A"/databases/*/*.zst; do
	[ -f "$f" ] && zstd -dc "$f"; done; } >"$T_TMP/everything"
found=$(grep -caFf "$T_TMP/pw" "$T_TMP/everything")
is "$found" 0 "no password in any archive file, compressed or not"
unlike "$(cat "$A/manifest.json")" "postgresql://|127\.0\.0\.1|:$(pg_port src)" "the manifest holds no connection string"
like "$(mj "$A/manifest.json" 'print scalar @{$m->{databases}[0]{tables}}')" "^[1-9][0-9]*$" "the manifest lists the tables"
is "$(mj "$A/manifest.json" 'print "$m->{format} $m->{format_version}"')" "pgcarry-archive 1" "format and version"
is "$(mj "$A/manifest.json" 'print scalar(grep { $_->{sha256} =~ /^[0-9a-f]{64}$/ } @{$m->{files}}) == @{$m->{files}} ? "yes" : "no"')" \
	"yes" "every file has a SHA-256"

# The schema file is pg_dump's custom format: pg_restore reads it alone.
hd=$(mj "$A/manifest.json" 'print map { $_->{schema} } grep { $_->{name} eq "hardcase" } @{$m->{databases}}')
pg_restore -l "$A/$hd" >/dev/null 2>&1
is "$?" 0 "pg_restore reads the schema file without pgcarry"
# The data files are zstd COPY text: zstd reads them alone, row counts agree.
f=$(mj "$A/manifest.json" 'print map { $_->{tables}[0]{parts}[0]{file} } grep { $_->{name} eq "small" } @{$m->{databases}}')
is "$(zstd -dc "$A/$f" | wc -l)" 500 "a data file is zstd-compressed COPY text"

run_pgcarry verify-archive "$A"
is "$RC" 0 "verify-archive exits 0 on a whole archive"
like "$OUT" "archive .* is whole: 2 databases" "verify-archive says so"

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --jobs 2 --roles
is "$RC" 0 "import of the archive exits 0"
like "$OUT" 'imported database "hardcase": [0-9]+ tables, [0-9]+ rows loaded, [0-9]+ sequences, 4 large objects; verified against the archive' \
	"import reports what it loaded and that it verified"
like "$OUT" 'imported database "small"' "both databases imported"

diffs=$(dbcheck_compare src tgt hardcase 2>/dev/null)
is "$?" 0 "the checker finds the imported hard-case database equal to the source, data and schema (pg_dump --create of both sides)"
[ -n "$diffs" ] && diag "$(head -60 <<<"$diffs")"
diffs=$(dbcheck_compare src tgt small 2>/dev/null)
is "$?" 0 "the second database is equal too" || diag "$diffs"
# A table of a few rows loads with DELETE and a plain COPY into the file
# pre-data created for it; one of 500 rows with TRUNCATE and COPY FREEZE,
# which gives it a new file: the target's catalog says which.
is "$(pg_sql tgt hardcase "SELECT relfilenode = oid FROM pg_class WHERE oid = '\"Mixed Case\".\"a.b\"'::regclass")/$(pg_sql tgt small "SELECT relfilenode = oid FROM pg_class WHERE oid = 't'::regclass")" \
	"t/f" "a small table keeps its file (no TRUNCATE), one of 500 rows is truncated for COPY FREEZE"
is "$(pg_sql tgt postgres "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'hardcase' AND 'pgcarry.import=unfinished' = ANY (s.setconfig)")" \
	0 "the imported database is not marked unfinished"

# pgcarry compare agrees.
run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri tgt)" hardcase
is "$RC" 0 "pgcarry compare finds source and target equal"

# A database that holds objects is not loaded into again.
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" small
is "$RC" 1 "import into a loaded database exits 1"
is "$(head -1 <<<"$ERR")" 'pgcarry: error: database "small" on the target already holds objects' \
	"import into a loaded database is refused"
like "$ERR" "hint: Replace it with --clean, or import into another database" "the refusal names the way out"

# The same archive as one tar stream, through a pipe, replacing the target.
run_pgcarry_pipe export --source "$(pg_uri src)" hardcase --format tar --output - --jobs 2 \
	'|' import --target "$(pg_uri tgt)" --input - --clean --jobs 2
is "$RC" "0 0" "export --output - | import --input - exits 0 on both sides"
like "$OUT" 'imported database "hardcase"' "import from standard input loads the database"
diffs=$(dbcheck_compare src tgt hardcase 2>/dev/null)
is "$?" 0 "the checker finds the piped import equal to the source, data and schema"
[ -n "$diffs" ] && diag "$(head -60 <<<"$diffs")"

done_testing
