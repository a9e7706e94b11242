#!/usr/bin/env bash
# Every refusal of export, import and verify-archive: a flipped byte, a
# truncated file, a missing file, a cut tar, an archive without manifest,
# a difference found by the verification (exit 3, target left marked
# unfinished), an unfinished import refused then resumed, a non-empty output
# directory, an existing tar file, bad option combinations (exit 2).  Also
# export --resume after an interruption.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

mj() { perl -MJSON::PP -0777 -ne '$m = JSON::PP->new->decode($_); '"$2" "$1"; }
# mjw FILE PERL: edits the JSON file in place ($m decoded, written back).
mjw() { perl -MJSON::PP -0777 -i -ne '$m = JSON::PP->new->decode($_); '"$2"'; print JSON::PP->new->pretty->canonical->encode($m)' "$1"; }
marked() {
	pg_sql tgt postgres "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
		WHERE d.datname = '$1' AND 'pgcarry.import=unfinished' = ANY (s.setconfig)"
}
db_exists() { pg_sql tgt postgres "SELECT count(*) FROM pg_database WHERE datname = '$1'"; }

pg_start src
pg_start tgt
for db in shop books; do
	pg_sql src postgres "CREATE DATABASE $db"
	pg_sql src "$db" "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);
		INSERT INTO items SELECT i, 'item ' || i, i * 1.5 FROM generate_series(1, 2000) i;
		CREATE TABLE notes (id serial, body text); INSERT INTO notes (body) SELECT repeat('x', i) FROM generate_series(1, 50) i;
		SELECT lo_from_bytea(0, 'a large object');" >/dev/null
done

A=$T_TMP/a
run_pgcarry export --source "$(pg_uri src)" shop books --output "$A" --jobs 2 --progress log
is "$RC" 0 "export of two databases exits 0"
like "$ERR" "export finished: .* 4102 rows, 6/6 tables" "--progress log reports the export (4 tables, 2 sets of large objects)"
file=$(mj "$A/manifest.json" 'print $m->{databases}[0]{tables}[0]{parts}[0]{file}')
like "$file" '^databases/01-shop/data/0000[12]-public\.(items|notes)\.000\.copy\.zst$' "data file named after its table"

# ----------------------------------------------------------- damage

cp -a "$A" "$T_TMP/flip"
perl -e 'open(F, "+<", $ARGV[0]) or die; seek(F, 30, 0); read(F, $c, 1); seek(F, 30, 0); print F chr(ord($c) ^ 0x55); close F' "$T_TMP/flip/$file"
run_pgcarry verify-archive "$T_TMP/flip"
is "$RC" 3 "verify-archive: a flipped byte exits 3"
like "$ERR" "error: archive file \"$file\" has the wrong checksum: expected sha256 [0-9a-f]{64}, found [0-9a-f]{64}" \
	"verify-archive names the file with the flipped byte, expected and found"
like "$ERR" "error: archive \"$T_TMP/flip\" failed verification: 1 problem" "verify-archive counts the problems"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/flip"
is "$RC" 1 "import: a flipped byte exits 1"
is "$(grep -c 'error:' <<<"$ERR")" 2 "import gives the damaged file's error, then the summary's"
is "$(head -1 <<<"$ERR")" "pgcarry: error: archive file \"$file\" has the wrong checksum: expected sha256 $(mj "$A/manifest.json" 'print map { $_->{sha256} } grep { $_->{path} eq "'"$file"'" } @{$m->{files}}'), found $(sha256sum "$T_TMP/flip/$file" | cut -c1-64)" \
	"import names the damaged file"
like "$ERR" 'hint: Database "shop" is not loaded; the others are' "import says the damaged database was not loaded"
like "$ERR" "error: import failed: 1 of 2 databases not imported" "import ends with how many failed"
is "$(db_exists shop)" 0 "the damaged database never touched the target"
is "$(db_exists books)" 1 "the other database was loaded all the same"
pg_sql tgt postgres "DROP DATABASE books"

cp -a "$A" "$T_TMP/cut"
size=$(stat -c %s "$T_TMP/cut/$file")
truncate -s $((size / 2)) "$T_TMP/cut/$file"
run_pgcarry verify-archive "$T_TMP/cut"
is "$RC" 3 "verify-archive: a truncated file exits 3"
like "$ERR" "archive file \"$file\" has the wrong size: expected $size bytes, found $((size / 2))" "truncated file named with sizes"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/cut"
is "$RC" 1 "import: a truncated file exits 1"
like "$(head -1 <<<"$ERR")" "error: archive file \"$file\" has the wrong size" "import names the truncated file"
is "$(db_exists shop)" 0 "the database with the truncated file never touched the target"
pg_sql tgt postgres "DROP DATABASE books"

cp -a "$A" "$T_TMP/gone"
rm "$T_TMP/gone/$file"
run_pgcarry verify-archive "$T_TMP/gone"
is "$RC" 3 "verify-archive: a missing file exits 3"
like "$ERR" "error: archive file \"$file\" is missing" "missing file named"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/gone" books
is "$RC" 0 "import of the other database is not stopped by the missing file"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/gone" shop
is "$RC" 1 "import: a missing file exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: archive file \"$file\" is missing" "import names the missing file"
is "$(db_exists shop)" 0 "the target is left as it was"

cp -a "$A" "$T_TMP/nomanifest"
rm "$T_TMP/nomanifest/manifest.json"
run_pgcarry verify-archive "$T_TMP/nomanifest"
is "$RC" 3 "verify-archive: no manifest exits 3"
is "$(head -1 <<<"$ERR")" "pgcarry: error: archive \"$T_TMP/nomanifest\" has no manifest.json" "no manifest named"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/nomanifest"
is "$RC" 1 "import: an archive without manifest exits 1"
like "$ERR" "neither a pgcarry archive nor a pg_dump directory archive" "import says what is missing"

# A tar archive, cut short.
run_pgcarry export --source "$(pg_uri src)" shop --output "$T_TMP/shop.tar" --format tar
is "$RC" 0 "export --format tar to a file exits 0"
is "$(stat -c %a "$T_TMP/shop.tar")" 600 "the tar file is mode 0600"
run_pgcarry verify-archive "$T_TMP/shop.tar"
is "$RC" 0 "verify-archive reads a tar archive"
run_pgcarry_in "$T_TMP/shop.tar" verify-archive -
is "$RC" 0 "verify-archive - reads a tar from standard input"
like "$OUT$ERR" "archive - is whole: 1 database" "and says it is whole"
head -c $(( $(stat -c %s "$T_TMP/shop.tar") - 3000 )) "$T_TMP/shop.tar" >"$T_TMP/cut.tar"
run_pgcarry verify-archive "$T_TMP/cut.tar"
is "$RC" 3 "verify-archive: a cut tar exits 3"
like "$ERR" "error: (the tar archive .*cut.tar is truncated or damaged|archive \".*cut.tar\" has no manifest.json)" "the cut tar named"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/cut.tar"
is "$RC" 1 "import: a cut tar exits 1"
is "$(grep -c 'error:' <<<"$ERR")" 1 "one error for a cut tar"
is "$(db_exists shop)" 0 "nothing created from a cut tar"

# ------------------------------------------ verification differences

# The manifest promises other large objects than the archive holds: the
# load goes through, the verification finds the difference.
cp -a "$A" "$T_TMP/lie"
mjw "$T_TMP/lie/manifest.json" '$_->{large_objects}{checksum} = "0" x 32 for @{$m->{databases}}'
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/lie" shop
is "$RC" 3 "import: a difference found by the verification exits 3"
like "$ERR" "error: large objects differ from the archive: expected 1 \(checksum 0{32}\), found 1 \(checksum [0-9a-f]{32}\)" \
	"the difference is named"
like "$ERR" 'error: database "shop" differs from the archive: 1 difference' "the database is named"
like "$OUT" 'Verification found 1 problem' "the verification report counts the problem"
is "$(marked shop)" 1 "the database stays marked unfinished"
is "$(pg_sql tgt shop "SHOW pgcarry.import")" "unfinished" "the mark is visible in the database"

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" shop --progress none
is "$RC" 1 "import into an unfinished import without --resume exits 1"
is "$ERR" 'pgcarry: error: database "shop" on the target holds an unfinished import
pgcarry: detail: An earlier import into it stopped before it was verified.
pgcarry: hint: Finish it with --resume, or replace it with --clean.' "the unfinished import is refused with the way out"

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" shop --resume --progress log
is "$RC" 0 "import --resume finishes the unfinished import"
like "$ERR" "import finished: .* rows" "--progress log reports the import"
like "$OUT" "shop: 2 tables, 1 sequence, 1 large object: all equal" "the verification report says every object is equal"
like "$OUT" 'imported database "shop": 2 tables, 0 rows loaded \(some kept from an earlier run\)' "resume keeps the tables already loaded"
is "$(marked shop)" 0 "the finished database is no longer marked"
is "$(pg_sql tgt shop "SELECT count(*), sum(price) FROM items")" "$(pg_sql src shop "SELECT count(*), sum(price) FROM items")" "the data is there"

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" shop --db shop_copy --progress none
is "$RC" 0 "a second copy under another name"
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" shop --db shop_copy --progress none
is "$ERR" 'pgcarry: error: database "shop_copy" on the target already holds objects
pgcarry: detail: pgcarry does not load into a database that holds objects of its own, such as relation public.items.
pgcarry: hint: Replace it with --clean, or import into another database.' "a loaded database is refused, naming one of its objects"

run_pgcarry import --target "$(pg_uri tgt)" --input "$A" shop --clean
is "$RC" 0 "import --clean replaces a database"
like "$ERR" 'dropped database "shop" on the target \(--clean\)' "--clean says what it dropped"

# The data file does not hold what the manifest says (manifest edited, files
# intact): refused at load time, before COMMIT.
cp -a "$A" "$T_TMP/rows"
mjw "$T_TMP/rows/manifest.json" 'for my $d (@{$m->{databases}}) { for my $t (@{$d->{tables}}) { $_->{rows} += 1 for @{$t->{parts}}; $t->{rows} += 1 } }'
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/rows" books --db books2
is "$RC" 1 "a data file that does not match its manifest entry exits 1"
like "$ERR" "error: archive file \"databases/02-books/data/.*\" does not match the manifest" "the file is named"
like "$ERR" "detail: Expected [0-9]+ rows with checksum [0-9a-f]{32}, found [0-9]+ rows" "expected and found rows"
is "$(marked books2)" 1 "the database is left marked unfinished"

# Objects owned by a role the target lacks: the error says what to do.
pg_sql src postgres "CREATE ROLE only_on_src"
pg_sql src postgres "CREATE DATABASE owned OWNER only_on_src"
pg_sql src owned "CREATE TABLE t (id int); ALTER TABLE t OWNER TO only_on_src; INSERT INTO t VALUES (1)"
run_pgcarry export --source "$(pg_uri src)" owned --output "$T_TMP/owned"
is "$RC" 0 "export of a database owned by another role"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/owned" --progress none
is "$RC" 1 "import without the owner role exits 1"
is "$(head -1 <<<"$ERR")" 'pgcarry: [owned] warning: role "only_on_src", owner of database "owned" on the source, does not exist on the target; the database belongs to the importing role' \
	"the missing database owner is a warning"
like "$ERR" 'error: (could not restore the pre-data schema of database "owned"|1 schema object of database "owned" could not be created)' \
	"the pre-data failure is named"
like "$ERR" 'role "only_on_src" does not exist' "with the server's reason"
like "$ERR" 'hint: A role the archive.s objects belong to is missing on the target: import the roles too \(--roles\), or load without owners \(--no-owner\)' \
	"and the ways out"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/owned" --clean --no-owner
is "$RC" 0 "--no-owner loads it"

# --------------------------------------------------- export refusals

mkdir -p "$T_TMP/full"
echo keep >"$T_TMP/full/something"
run_pgcarry export --source "$(pg_uri src)" shop --output "$T_TMP/full"
is "$RC" 1 "export into a non-empty directory exits 1"
is "$ERR" "pgcarry: error: output directory \"$T_TMP/full\" is not empty
pgcarry: hint: Choose a new directory, or finish an interrupted export into it with --resume." "non-empty output refused"
is "$(cat "$T_TMP/full/something")" keep "the directory is untouched"

run_pgcarry export --source "$(pg_uri src)" nosuchdb --output "$T_TMP/nosuch"
is "$RC" 1 "export of a database that does not exist exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: database \"nosuchdb\" does not exist on the source server 127.0.0.1:$(pg_port src)" \
	"the missing database is named"
ok "$([ ! -e "$T_TMP/nosuch/manifest.json" ] && echo 0 || echo 1)" "no manifest for a failed export"

run_pgcarry export --source "$(pg_uri src)" shop --output "$T_TMP/shop.tar" --format tar
is "$RC" 1 "export onto an existing tar file exits 1"
is "$(head -1 <<<"$ERR")" "pgcarry: error: output file \"$T_TMP/shop.tar\" already exists" "existing tar refused"

# An interrupted export (no manifest, one database unfinished) is resumed.
cp -a "$A" "$T_TMP/resume"
rm "$T_TMP/resume/manifest.json" "$T_TMP/resume/databases/02-books/database.json"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/resume" --db never
is "$RC" 1 "an interrupted export cannot be imported"
run_pgcarry export --source "$(pg_uri src)" shop books --output "$T_TMP/resume" --resume
is "$RC" 0 "export --resume exits 0"
like "$ERR" 'database "shop" was exported completely before; keeping its [0-9]+ files' "finished database kept"
unlike "$ERR" 'database "books" was exported completely before' "unfinished database redone"
run_pgcarry verify-archive "$T_TMP/resume"
is "$RC" 0 "the resumed archive is whole"
run_pgcarry export --source "$(pg_uri src)" shop books --output "$T_TMP/resume" --resume
is "$RC" 0 "resuming a complete archive exits 0"
like "$ERR" "is already complete: nothing to resume" "and says there is nothing to do"

# ------------------------------------------------------- usage (exit 2)

usage() { # usage EXPECTED-MESSAGE ARGS...
	local msg=$1
	shift
	run_pgcarry "$@"
	is "$RC" 2 "exit 2: $*"
	is "$(head -1 <<<"$ERR")" "pgcarry: error: $msg" "message: $msg"
}
S=$(pg_uri src)
usage "give where to write the archive with --output" export --source "$S" shop
usage "name the databases to export, or give --all" export --source "$S" --output "$T_TMP/x"
usage "give database names or --all, not both" export --source "$S" --all shop --output "$T_TMP/x"
usage "--output - writes a tar stream: add --format tar" export --source "$S" shop --output -
usage "--resume works with --format dir only" export --source "$S" shop --output "$T_TMP/x.tar" --format tar --resume
usage '--compress must be zstd, zstd:LEVEL (1..19) or none, not "gzip"' export --source "$S" shop --output "$T_TMP/x" --compress gzip
usage '--compress must be zstd, zstd:LEVEL (1..19) or none, not "zstd:25"' export --source "$S" shop --output "$T_TMP/x" --compress zstd:25
usage '--format must be dir or tar, not "zip"' export --source "$S" shop --output "$T_TMP/x" --format zip
usage '--progress must be "auto", "tty", "log", "json" or "none", not "fancy"' export --source "$S" shop --output "$T_TMP/x" --progress fancy
usage '--progress must be "auto", "tty", "log", "json" or "none", not "fancy"' import --target "$(pg_uri tgt)" --input "$A" --progress fancy
usage "give the archive or dump to load with --input" import --target "$(pg_uri tgt)"
usage "--clean and --resume cannot be used together" import --target "$(pg_uri tgt)" --input "$A" --clean --resume
usage "give the archive to check" verify-archive
# A tar stream is not written onto a terminal (script(1) gives pgcarry one).
if command -v script >/dev/null; then
	pgcarry_tty "$T_TMP/tty.out" export --source "$S" shop --output - --format tar
	is "$RC" 2 "export --output - onto a terminal exits 2"
	like "$(tr -d '\r' <"$T_TMP/tty.out")" "pgcarry: error: standard output is a terminal: redirect --output - to a file or a pipe" \
		"a tar stream onto a terminal is refused"
fi
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" --db one
is "$RC" 2 "--db with two databases exits 2"
is "$(head -1 <<<"$ERR")" "pgcarry: error: --db names the target of one database, and 2 are to be imported" "--db with two databases refused"
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" nosuch
is "$RC" 1 "a database not in the archive exits 1"
is "$ERR" 'pgcarry: error: database "nosuch" is not in the archive
pgcarry: detail: The archive holds "shop", "books".' "a database not in the archive is named, with what the archive holds"

usage '--verify must be "full", "count" or "none", not "some"' import --target "$(pg_uri tgt)" --input "$A" --verify some
usage '--part-size must be a whole number from 1 to 1048576, not "0"' export --source "$S" shop --output "$T_TMP/x" --part-size 0

# A big table in parts: exported by several sessions, loaded by several
# sessions (one table, two jobs), verified whole.
pg_sql src postgres "CREATE DATABASE big"
pg_sql src big "CREATE TABLE wide (id int, pad text); INSERT INTO wide SELECT i, repeat(md5(i::text), 8) FROM generate_series(1, 40000) i"
run_pgcarry export --source "$(pg_uri src)" big --output "$T_TMP/parts" --part-size 2 --jobs 2
is "$RC" 0 "export with --part-size exits 0"
nparts=$(mj "$T_TMP/parts/manifest.json" 'print scalar @{$m->{databases}[0]{tables}[0]{parts}}')
ok "$([ "$nparts" -ge 4 ] && echo 0 || echo 1)" "a 12 MB table in 2 MB parts has several parts ($nparts)"
is "$(mj "$T_TMP/parts/manifest.json" 'my $n = 0; $n += $_->{rows} for @{$m->{databases}[0]{tables}[0]{parts}}; print $n')" 40000 \
	"the parts' rows add up to the table"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/parts" --jobs 2
is "$RC" 0 "a table in parts imports"
like "$OUT" 'imported database "big": 1 tables, 40000 rows loaded, 0 sequences, 0 large objects; verified against the archive' \
	"every row of every part loaded and verified"
diffs=$(dbcheck_compare src tgt big 2>/dev/null)
is "$?" 0 "the table is whole on the target, every row and the schema (independent check)" || diag "$diffs"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/parts" --db big_count --verify count
is "$RC" 0 "--verify count exits 0"
like "$OUT" "row counts verified against the archive" "--verify count says what it checked"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/parts" --db big_none --verify none
is "$RC" 0 "--verify none exits 0"
like "$OUT" "not verified \(--verify none\)" "--verify none says nothing was verified"

# Uncompressed archives work the same way.
run_pgcarry export --source "$(pg_uri src)" books --output "$T_TMP/plain" --compress none
is "$RC" 0 "export --compress none exits 0"
f=$(ls "$T_TMP"/plain/databases/01-books/data/ | head -1)
like "$f" '\.copy$' "uncompressed data files end in .copy"
run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/plain" --db books_plain
is "$RC" 0 "an uncompressed archive imports"

done_testing
