#!/usr/bin/env bash
# Faults on an archive that every check must catch, each judged against
# what pgcarry did not write (pg_dump's table of contents in schema.dump,
# the data files themselves, the source server through the independent
# checker tests/lib/dbcheck.sh):
#   - a table entry deleted from manifest.json (its file kept and listed,
#     or also removed from files[], or also deleted): verify-archive exits
#     3 naming it, import refuses that database and loads the others;
#   - an edited row count or checksum: verify-archive recounts the rows;
#   - an edited part checksum: import fails that database (its table is
#     never reported equal), loads the others, and exits 1;
#   - an export that fills its disk: exit 1, no manifest, no database
#     record for a database whose files were not all written, and
#     "export --resume" elsewhere finishes an archive that imports equal.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start tgt
for db in one two three; do pg_sql src postgres "CREATE DATABASE $db" 2>/dev/null; done
pg_sql src one "CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT i, md5(i::text) FROM generate_series(1, 100) i;
	CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b SELECT i, 'b' || i FROM generate_series(1, 200) i;
	CREATE TABLE c (id int); INSERT INTO c SELECT generate_series(1, 50);
	CREATE TABLE p (id int) PARTITION BY RANGE (id); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (1000);
	INSERT INTO p SELECT generate_series(1, 20)"
pg_sql src two "CREATE TABLE x (id int PRIMARY KEY); INSERT INTO x SELECT generate_series(1, 30)"
pg_sql src three "CREATE TABLE y (id int PRIMARY KEY); INSERT INTO y SELECT generate_series(1, 40)"

A=$T_TMP/archive
run_pgcarry export --source "$(pg_uri src)" one two three --output "$A" --jobs 2 --progress none
is "$RC" 0 "export exits 0"
run_pgcarry verify-archive "$A"
is "$RC" 0 "the archive is whole"

F=$T_TMP/f
M=$F/manifest.json
B='(.databases[] | select(.name == "one") | .tables[] | select(.name == "b"))'
BFILE=$(jq -r "$B.parts[0].file" "$A/manifest.json")
fresh() { rm -rf "$F"; cp -a "$A" "$F"; }
edit() { jq "$1" "$M" >"$M.new" && mv "$M.new" "$M"; }
drop_b='(.databases[] | select(.name == "one") | .tables) |= map(select(.name != "b"))'
unlist_b='.files |= map(select(.path != "'"$BFILE"'"))'

# 1. The table's entry deleted; its file kept and listed.
fresh
edit "$drop_b"
run_pgcarry verify-archive "$F"
is "$RC" 3 "entry deleted, file listed: verify-archive exits 3"
like "$ERR" "archive file \"$BFILE\" belongs to no table or other entry of the manifest" "the orphan file is named"
like "$ERR" 'table public.b is in the schema dump of database "one" but not in the manifest' \
	"the table pg_dump's table of contents lists is named"

# 2. Also removed from files[].
fresh
edit "$drop_b | $unlist_b"
run_pgcarry verify-archive "$F"
is "$RC" 3 "entry deleted, file unlisted: verify-archive exits 3"
like "$ERR" "archive file \"$BFILE\" is not listed in the manifest" "the unlisted file on disk is named"

# 3. Also deleted: only pg_dump's table of contents remembers the table.
fresh
edit "$drop_b | $unlist_b"
rm "$F/$BFILE"
run_pgcarry verify-archive "$F"
is "$RC" 3 "entry and file deleted: verify-archive exits 3"
is "$(printf '%s\n' "$ERR" | grep -c 'error: table public.b is in the schema dump of database "one" but not in the manifest')" 1 \
	"the missing table is named, once"
run_pgcarry import --target "$(pg_uri tgt)" --input "$F" --jobs 2 --progress none
is "$RC" 1 "import of that archive exits 1"
unlike "$OUT" "every object equal" "import does not say every object is equal"
like "$OUT" "one: failed: the archive is damaged" "the summary names the refused database"
like "$OUT" "two: imported and verified" "the summary names the databases loaded"
is "$(pg_sql tgt postgres "SELECT count(*) FROM pg_database WHERE datname = 'one'")" 0 \
	"the damaged database never touched the target"
diffs=$(dbcheck_compare_all src tgt two three 2>/dev/null)
is "$?" 0 "the other databases were loaded whole (independent checker)"
[ -n "$diffs" ] && diag "$diffs"
for db in two three; do pg_sql tgt postgres "DROP DATABASE $db"; done

# 4. An edited row count.
fresh
edit "$B.rows += 1"
run_pgcarry verify-archive "$F"
is "$RC" 3 "edited table row count: verify-archive exits 3"
like "$ERR" 'table public.b of database "one" disagrees with its data files in the manifest: 201 rows' \
	"the table whose count disagrees is named"

# 5. Row count edited in the part and the table alike: the rows are recounted.
fresh
edit "$B.rows = 199 | $B.parts[0].rows = 199"
run_pgcarry verify-archive "$F"
is "$RC" 3 "edited row counts: verify-archive exits 3"
like "$ERR" "archive file \"$BFILE\" does not match the manifest: expected 199 rows \\(checksum [0-9a-f]{32}\\), found 200 rows" \
	"the data file's rows are counted again"

SUM=0123456789abcdef0123456789abcdef
# 6. A part's checksum edited alone: the table no longer adds up.
fresh
edit "$B.parts[0].checksum = \"$SUM\""
run_pgcarry verify-archive "$F"
is "$RC" 3 "edited part checksum: verify-archive exits 3"
like "$ERR" 'table public.b of database "one" disagrees with its data files in the manifest: 200 rows \(checksum [0-9a-f]{32}\), its parts hold 200 rows \(checksum '"$SUM"'\)' \
	"the table that does not add up is named"
run_pgcarry import --target "$(pg_uri tgt)" --input "$F" one --progress none
is "$RC" 1 "import refuses the database whose part checksum was edited"
is "$(pg_sql tgt postgres "SELECT count(*) FROM pg_database WHERE datname = 'one'")" 0 "before touching the target"

# 7. Checksum edited in the part and the table alike.
fresh
edit "$B.checksum = \"$SUM\" | $B.parts[0].checksum = \"$SUM\""
run_pgcarry verify-archive "$F"
is "$RC" 3 "edited checksums: verify-archive exits 3"
like "$ERR" "archive file \"$BFILE\" does not match the manifest: expected 200 rows \\(checksum $SUM\\), found 200 rows" \
	"the data file's rows are hashed again"
# Import notices it while loading: that database fails, the others load.
run_pgcarry import --target "$(pg_uri tgt)" --input "$F" --jobs 2 --progress none
is "$RC" 1 "import with an edited part checksum exits 1"
like "$ERR" "archive file \"$BFILE\" does not match the manifest" "the file is named"
unlike "$OUT" "every object equal" "no line says every object is equal"
like "$OUT" "one +table public.b .*failed" "the table that did not load is in the report, failed"
like "$OUT" "one: failed" "the summary names the failed database"
like "$OUT" "three: imported and verified" "and the databases loaded"
is "$(pg_sql tgt one "SHOW pgcarry.import")" "unfinished" "the failed database stays marked unfinished"
diffs=$(dbcheck_compare_all src tgt two three 2>/dev/null)
is "$?" 0 "the other databases were loaded whole (independent checker)"
[ -n "$diffs" ] && diag "$diffs"
for db in one two three; do pg_sql tgt postgres "DROP DATABASE $db"; done

# A database whose import stopped inside its schema (marked unfinished, some
# tables made, others not; made here by hand): --resume makes it again.
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" one --progress none
is "$RC" 0 "import of one database"
pg_sql tgt one "ALTER DATABASE one SET pgcarry.import = 'unfinished'; DROP TABLE c"
run_pgcarry import --target "$(pg_uri tgt)" --input "$A" one --resume --progress none
is "$RC" 0 "import --resume finishes a database whose schema was half made"
like "$ERR" 'the interrupted run left its schema half made; importing it again' "and says so"
like "$ERR" 'dropped database "one" on the target \(--resume: its own unfinished import\)' "and why it was dropped"
diffs=$(dbcheck_compare src tgt one 2>/dev/null)
is "$?" 0 "the independent checker finds it equal to the source"
[ -n "$diffs" ] && diag "$diffs"
pg_sql tgt postgres "DROP DATABASE one"

# 8. An export that fills its disk (a small tmpfs; needs root to mount).
MNT=$T_TMP/mnt
mkdir -p "$MNT"
if mount -t tmpfs -o size=700k,mode=0777 tmpfs "$MNT" 2>/dev/null; then
	for db in fd_big fd_small; do pg_sql src postgres "CREATE DATABASE $db" 2>/dev/null; done
	pg_sql src fd_big "CREATE TABLE big (id int, v text); INSERT INTO big SELECT i, md5(i::text) || md5((-i)::text) FROM generate_series(1, 40000) i;
		CREATE TABLE other (id int); INSERT INTO other SELECT generate_series(1, 300)"
	pg_sql src fd_small "CREATE TABLE s1 (id int); INSERT INTO s1 SELECT generate_series(1, 100);
		CREATE TABLE s2 (id int); INSERT INTO s2 SELECT generate_series(1, 70)"
	# One session: the big table goes first, so the small database's tables
	# are still queued (and dropped) when the disk fills.
	run_pgcarry export --source "$(pg_uri src)" fd_small fd_big --output "$MNT/arch" --compress none --jobs 1 --progress none
	is "$RC" 1 "an export that fills the disk exits 1"
	like "$ERR" "No space left on device" "the full disk is named"
	ok "$([ ! -e "$MNT/arch/manifest.json" ] && echo 0 || echo 1)" "the full disk leaves no manifest"
	# Any database record there is true: its files exist with their sizes,
	# its tables hold the source's rows.
	bad=0
	for rec in "$MNT"/arch/databases/*/database.json; do
		[ -f "$rec" ] || continue
		db=$(jq -r .name "$rec")
		while read -r path size; do
			[ "$(stat -c %s "$MNT/arch/$path" 2>/dev/null)" = "$size" ] || { bad=1; diag "$db: $path missing or cut"; }
		done < <(jq -r '.files[] | "\(.path) \(.size)"' "$rec")
		while IFS=$'\t' read -r t rows; do
			[ "$(pg_sql src "$db" "SELECT count(*) FROM public.$t")" = "$rows" ] || { bad=1; diag "$db.$t: $rows rows recorded"; }
		done < <(jq -r '.tables[] | "\(.name)\t\(.rows)"' "$rec")
	done
	is "$bad" 0 "every database record left by the full disk is true"
	ok "$([ ! -e "$MNT"/arch/databases/02-fd_big/database.json ] && echo 0 || echo 1)" \
		"the database that did not fit has no record"
	cp -a "$MNT/arch" "$T_TMP/arch2"
	umount "$MNT"
	run_pgcarry export --source "$(pg_uri src)" fd_small fd_big --output "$T_TMP/arch2" --compress none --jobs 2 --resume --progress none
	is "$RC" 0 "export --resume on a disk with room finishes the archive"
	run_pgcarry import --target "$(pg_uri tgt)" --input "$T_TMP/arch2" --jobs 2 --progress none
	is "$RC" 0 "the finished archive imports"
	diffs=$(dbcheck_compare_all src tgt fd_small fd_big 2>/dev/null)
	is "$?" 0 "the independent checker finds the imported databases equal to the source"
	[ -n "$diffs" ] && diag "$diffs"
else
	# A missing capability is a failure, never a silent skip.
	ok 1 "the full-disk export needs a tmpfs it can mount (run the tests as root)"
fi

done_testing
