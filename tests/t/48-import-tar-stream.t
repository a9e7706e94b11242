#!/usr/bin/env bash
# A tar archive is imported as it arrives: "export --output - | import
# --input -" loads two databases (a table in several parts, a partitioned
# table, sequences, large objects), judged by the independent checker; the
# import's private scratch directory stays far smaller than the archive
# while it runs (sampled), and PGCARRY_SCRATCH_MAX bounds it (an archive
# written without plans needs it whole, and is refused clearly under a
# small limit, yet imports without one).  A cut or corrupted stream fails
# with nothing reported verified and no database left behind; a streamed
# import killed with -9 is finished by "import --resume" from standard
# input.  verify-archive on standard input checks the same stream.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

pg_start src
pg_start tgt
pg_sql src postgres "CREATE DATABASE big"
# About 30 MB of rows that compress poorly (hex digests), in parts of 4 MB.
pg_sql src big "CREATE TABLE blobs (id int PRIMARY KEY, a text, b text, c text, d text);
	INSERT INTO blobs SELECT i, md5(i::text), md5((i * 7)::text), md5((i * 13)::text) || md5((i * 17)::text),
		md5((i * 19)::text) || md5((i * 23)::text) FROM generate_series(1, 150000) i;
	CREATE SEQUENCE tick; SELECT setval('tick', 4242);
	SELECT lo_from_bytea(0, 'a large object');" >/dev/null
pg_sql src postgres "CREATE DATABASE small"
pg_sql src small "CREATE TABLE items (id serial PRIMARY KEY, name text UNIQUE);
	INSERT INTO items (name) SELECT 'item ' || i FROM generate_series(1, 500) i;
	CREATE TABLE m (k int, v text) PARTITION BY RANGE (k);
	CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (100);
	CREATE TABLE m2 PARTITION OF m FOR VALUES FROM (100) TO (200);
	INSERT INTO m SELECT i % 200, 'v' || i FROM generate_series(1, 1000) i;
	CREATE INDEX m_v ON m (v);" >/dev/null

judge() {
	diffs=$(dbcheck_compare_all src tgt big small 2>/dev/null)
	is "$?" 0 "$1: the target equals the source (independent checker, data and schema)"
	[ -n "$diffs" ] && diag "$(printf '%s' "$diffs" | head -20)"
}
drop_all() { for db in big small; do pg_sql tgt postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done; }
db_exists() { pg_sql tgt postgres "SELECT count(*) FROM pg_database WHERE datname = '$1'"; }

# ------------------------------------------------------------ the pipe

run_pgcarry_pipe export --source "$(pg_uri src)" big small --format tar --output - --part-size 4 --jobs 2 \
	'|' import --target "$(pg_uri tgt)" --input - --jobs 2 --progress none
is "$RC" "0 0" "export --output - | import --input - exits 0 on both sides"
like "$OUT" 'imported database "big": 1 tables, 150000 rows loaded.*verified against the archive' \
	"the big database is loaded and verified"
like "$OUT" 'imported database "small"' "the small database is loaded"
judge "export | import"

# A tar file, for the runs below.
TAR=$T_TMP/both.tar
run_pgcarry export --source "$(pg_uri src)" big small --format tar --output "$TAR" --part-size 4 --jobs 2
is "$RC" 0 "export --format tar to a file"
tar_bytes=$(stat -c %s "$TAR")
ok "$([ "$tar_bytes" -gt 10000000 ] && echo 0 || echo 1)" "the archive holds more than 10 MB ($tar_bytes bytes)"
nparts=$(tar -tf "$TAR" | grep -c '/data/00001-public\.blobs\.')
ok "$([ "$nparts" -ge 3 ] && echo 0 || echo 1)" "the big table travels in several parts ($nparts)"
first_data=$(tar -tf "$TAR" | grep -n '01-big/data/' | head -1 | cut -d: -f1)
schema_at=$(tar -tf "$TAR" | grep -n '01-big/schema.dump$' | cut -d: -f1)
plan_at=$(tar -tf "$TAR" | grep -n '01-big/plan.json$' | cut -d: -f1)
ok "$([ -n "$plan_at" ] && [ "$plan_at" -lt "$schema_at" ] && [ "$schema_at" -lt "$first_data" ] && echo 0 || echo 1)" \
	"in the tar, a database's plan comes before its schema, and its schema before its data"
is "$(tar -tf "$TAR" | tail -1)" manifest.json "the manifest is the last entry"

run_pgcarry_in "$TAR" verify-archive -
is "$RC" 0 "verify-archive - checks the stream"
like "$OUT" "is whole: 2 databases, 4 tables" "verify-archive names what it checked"

# ------------------------------------------------ bounded scratch space

# The import's private directory lives under its own TMPDIR, sampled while
# it runs: it never holds more than a small part of the archive.
drop_all
ITMP=$T_TMP/itmp
mkdir -p "$ITMP"
chmod 0777 "$ITMP"
( while :; do du -sb "$ITMP" 2>/dev/null | cut -f1; sleep 0.05; done ) >"$T_TMP/samples" &
sampler=$!
TMPDIR=$ITMP PGCARRY_SCRATCH_MAX=2M run_pgcarry_in "$TAR" import --target "$(pg_uri tgt)" --input - --jobs 2 --progress none
kill "$sampler"
wait "$sampler" 2>/dev/null
is "$RC" 0 "import --input - under PGCARRY_SCRATCH_MAX=2M exits 0"
max=$(sort -n "$T_TMP/samples" | tail -1)
nsamples=$(wc -l <"$T_TMP/samples")
ok "$([ "$nsamples" -gt 5 ] && [ "${max:-0}" -lt $((tar_bytes / 8)) ] && echo 0 || echo 1)" \
	"the scratch directory peaked at $max bytes ($nsamples samples), under 1/8 of the $tar_bytes-byte archive"
judge "import from standard input under a scratch limit"
is "$(find "$ITMP" -mindepth 1 | wc -l)" 0 "the private directory is removed at the end"

# An archive without plans (as written before them) is spooled whole: under
# a small limit it is refused before the target is touched, and without a
# limit it is imported as before.
OLD=$T_TMP/old.tar
mkdir "$T_TMP/old"
tar -xf "$TAR" -C "$T_TMP/old"
(cd "$T_TMP/old" && tar -cf "$OLD" --no-recursion $(tar -tf "$TAR" | grep -v '/$' | grep -v plan.json))
is "$(tar -tf "$OLD" | grep -c plan.json)" 0 "a tar without plans"
run_pgcarry verify-archive "$OLD"
is "$RC" 0 "the tar without plans is whole"
drop_all
TMPDIR=$ITMP PGCARRY_SCRATCH_MAX=2M run_pgcarry_in "$OLD" import --target "$(pg_uri tgt)" --input - --progress none
is "$RC" 1 "a tar without plans under a small PGCARRY_SCRATCH_MAX exits 1"
like "$ERR" "error: the tar stream needs more scratch space than PGCARRY_SCRATCH_MAX allows \\(2097152 bytes\\)" \
	"the limit is named"
like "$ERR" "hint: Raise PGCARRY_SCRATCH_MAX, or unpack the tar" "the way out is named"
is "$(db_exists big)$(db_exists small)" 00 "nothing was created on the target"
is "$(find "$ITMP" -mindepth 1 | wc -l)" 0 "the private directory is removed after the refusal"
run_pgcarry_in "$OLD" import --target "$(pg_uri tgt)" --input - --progress none
is "$RC" 0 "a tar without plans imports without a limit"
judge "a tar without plans"
PGCARRY_SCRATCH_MAX=lots run_pgcarry_in "$TAR" verify-archive -
is "$RC" 1 "a PGCARRY_SCRATCH_MAX that is not a size exits 1"
like "$ERR" 'error: PGCARRY_SCRATCH_MAX must be a size in bytes \(a number, optionally followed by k, M or G\), not "lots"' \
	"a bad PGCARRY_SCRATCH_MAX is named"

# ------------------------------------------------ cut and damaged streams

drop_all
head -c $((tar_bytes / 2)) "$TAR" >"$T_TMP/cut.tar"
run_pgcarry_in "$T_TMP/cut.tar" import --target "$(pg_uri tgt)" --input - --progress none
is "$RC" 1 "a cut stream exits 1"
like "$ERR" "error: the tar archive standard input is truncated or damaged" "the cut stream is named"
unlike "$OUT" "verified|equal" "nothing is reported verified"
is "$(db_exists big)$(db_exists small)" 00 "no database is left behind by a cut stream"

# A byte flipped inside a data file of the big table (the tar stays whole).
entry=$(tar -tvR -f "$TAR" 2>/dev/null | grep '01-big/data/00001-public\.blobs\.001' | sed -E 's/^block ([0-9]+):.*/\1/')
cp "$TAR" "$T_TMP/flip.tar"
perl -e 'open(F, "+<", $ARGV[0]) or die; seek(F, $ARGV[1], 0); read(F, $c, 1); seek(F, $ARGV[1], 0); print F chr(ord($c) ^ 0x55); close F' \
	"$T_TMP/flip.tar" $(( (entry + 1) * 512 + 100000 ))
run_pgcarry_in "$T_TMP/flip.tar" verify-archive -
is "$RC" 3 "verify-archive - finds the damaged data file"
like "$ERR" 'archive file "databases/01-big/data/00001-public\.blobs\.001\.copy\.zst"' "verify-archive names it"
run_pgcarry_in "$T_TMP/flip.tar" import --target "$(pg_uri tgt)" --input - --progress none
is "$RC" 1 "import of a stream with a damaged data file exits 1"
like "$ERR" 'archive file "databases/01-big/data/00001-public\.blobs\.001\.copy\.zst"' "the damaged file is named"
unlike "$OUT" 'big.*(verified|equal)' "nothing of the damaged database is reported verified"
like "$OUT" 'imported database "small"' "the other database is imported"
is "$(db_exists big)" 0 "the damaged database is not left on the target"

# The manifest (last) says otherwise than the plan the data was loaded by:
# two partitions' entries swapped.  Every file is whole and listed, and the
# schema dump lists the same tables: only the plan check tells.
mkdir "$T_TMP/swap"
tar -xf "$TAR" -C "$T_TMP/swap"
perl -MJSON::PP -0777 -i -ne '$m = JSON::PP->new->decode($_);
	for my $d (@{$m->{databases}}) { next unless $d->{name} eq "small";
		my @t = grep { $_->{name} =~ /^m[12]$/ } @{$d->{tables}};
		($t[0]{name}, $t[1]{name}) = ($t[1]{name}, $t[0]{name}); }
	print JSON::PP->new->canonical->encode($m)' "$T_TMP/swap/manifest.json"
(cd "$T_TMP/swap" && tar -cf "$T_TMP/swap.tar" --no-recursion $(tar -tf "$TAR" | grep -v '/$'))
drop_all
run_pgcarry_in "$T_TMP/swap.tar" import --target "$(pg_uri tgt)" --input - small --progress none
is "$RC" 1 "a manifest that contradicts the plan exits 1"
like "$ERR" 'error: the plan of database "small" in the tar stream does not match the manifest: databases/02-small/plan.json: table public.m[12] is planned otherwise than the manifest lists it' \
	"the contradiction is named"
unlike "$OUT" "verified|equal" "nothing is reported verified"
is "$(db_exists small)" 0 "the database is not left on the target"

# ------------------------------------------------------- kill -9, resume

drop_all
pg_sql tgt postgres "ALTER ROLE postgres SET statement_timeout = 0" >/dev/null
pgcarry_start import --target "$(pg_uri tgt)" --input "$TAR" --progress none
for _ in $(seq 1 300); do
	n=$(pg_sql tgt postgres "SELECT count(*) FROM pg_stat_activity WHERE datname = 'big' AND query LIKE 'COPY%'")
	[ "$n" -gt 0 ] && break
	sleep 0.1
done
ok "$([ "$n" -gt 0 ] && echo 0 || echo 1)" "the streamed import is loading the big table"
kill -KILL "$PGCARRY_PID"
{ pgcarry_wait; } 2>/dev/null
is "$RC" 137 "kill -9 ends the streamed import"
is "$(pg_sql tgt big "SHOW pgcarry.import")" unfinished "the interrupted database is marked unfinished"
TMPDIR=$ITMP PGCARRY_SCRATCH_MAX=2M run_pgcarry_in "$TAR" import --target "$(pg_uri tgt)" --input - --resume --progress none
is "$RC" 0 "import --resume --input - finishes it"
like "$OUT" 'imported database "big"' "the interrupted database is finished"
is "$(pg_sql tgt postgres "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname IN ('big', 'small')")" 0 \
	"no database is left marked"
judge "kill -9 then --resume from standard input"

done_testing
