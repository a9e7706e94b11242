#!/usr/bin/env bash
# compare --schema-only and --data-only: a pair of databases that differs
# only in its schema (an extra index and a changed column default on the
# target) and a pair that differs only in its data (a changed row).
# --schema-only finds the first and not the second, --data-only the second
# and not the first, the plain compare both; each report (text and --json)
# says which part was compared.  --schema-only reads no table (the
# source's own statistics say so).  Both together: a usage error.
source "$(dirname "$0")/../lib/harness.sh"

S="--source postgresql://u@127.0.0.1:1/postgres"
T="--target postgresql://u@127.0.0.1:2/postgres"
run_pgcarry compare $S $T --schema-only --data-only app
is "$RC" 2 "--schema-only with --data-only: exit 2"
is "$(grep -m1 'error:' <<<"$ERR" | sed 's/^.*error: //')" "--schema-only and --data-only cannot be used together" \
	"--schema-only with --data-only: message"

pg_start src
pg_start dst
for db in sch dat; do
	pg_sql src postgres "CREATE DATABASE $db"
	pg_sql src $db "CREATE TABLE items (id int PRIMARY KEY, name text, qty int DEFAULT 0);
	                INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 500) g;
	                CREATE SEQUENCE tickets; SELECT nextval('tickets')" >/dev/null
	# The target as pg_dump and psql make it, not pgcarry.
	pg_sql dst postgres "CREATE DATABASE $db"
	PGPASSFILE=$NO_PGPASS pg_dump -h "$(pg_sockdir src)" -p "$(pg_port src)" -U postgres $db \
		| PGPASSFILE=$NO_PGPASS psql -X -q -h "$(pg_sockdir dst)" -p "$(pg_port dst)" -U postgres -d $db >/dev/null
done
# sch: the schema only differs; dat: the data only.
pg_sql dst sch "CREATE INDEX items_name ON items (name); ALTER TABLE items ALTER qty SET DEFAULT 1"
pg_sql dst dat "UPDATE items SET name = 'changed' WHERE id = 42"

compare() { run_pgcarry compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none "$@"; }

# The plain compare finds both.
compare sch
is "$RC" 3 "plain compare: a schema difference exits 3"
like "$OUT" "sch +index public.items_name +- +- +- +missing on source" "plain compare: the extra index"
like "$OUT" "definition differs" "plain compare: the changed default"
compare dat
is "$RC" 3 "plain compare: a data difference exits 3"
like "$OUT" "dat +table public.items +500 +500 +differs +different" "plain compare: the changed row"

# --schema-only: the schema difference, not the data one, and no table read.
scans() { pg_sql src "$1" "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables"; }
before=$(scans dat)
compare --schema-only sch
is "$RC" 3 "--schema-only: a schema difference exits 3"
like "$OUT" "sch +index public.items_name +- +- +- +missing on source" "--schema-only: the extra index"
like "$OUT" "definition differs" "--schema-only: the changed default"
compare --schema-only dat
is "$RC" 0 "--schema-only: a data difference is not looked for, exit 0"
like "$OUT" "^Verification \(schema only\)" "--schema-only: the header says the schema only"
unlike "$OUT" "table public.items" "--schema-only: no table's rows compared"
unlike "$OUT" "sequence public.tickets" "--schema-only: no sequence compared"
like "$OUT" "dat: [0-9]+ schema objects, data not compared: all equal" "--schema-only: the summary says the data was not compared"
like "$OUT" "Verified: 1 database, every schema object equal; the data not compared \(--schema-only\)\." \
	"--schema-only: the verdict says the data was not compared"
unlike "$OUT" "every object equal" "--schema-only: never says every object is equal"
sleep 1
is "$(scans dat)" "$before" "--schema-only: no table of the source read (pg_stat_user_tables)"
# The same statistics see the plain compare read the tables.
compare dat
sleep 1
[ "$(scans dat)" -gt "$before" ]
ok $? "the plain compare reads the tables (pg_stat_user_tables counts it)"

# --data-only: the data difference, not the schema one.
compare --data-only sch
is "$RC" 0 "--data-only: a schema difference is not looked for, exit 0"
like "$OUT" "^Verification \(data only: row count and checksum\)" "--data-only: the header says the data only"
like "$OUT" "sch +table public.items +500 +500 +equal +ok" "--data-only: the rows are compared"
like "$OUT" "sch +sequence public.tickets +1 +1 +- +ok" "--data-only: the sequence is compared"
unlike "$OUT" "items_name|definition differs" "--data-only: no schema object compared"
like "$OUT" "sch: schema not compared, 1 table, 1 sequence: all equal" "--data-only: the summary says the schema was not compared"
like "$OUT" "Verified: 1 database, every table, sequence and large object equal; the schema of 1 not compared\." \
	"--data-only: the verdict says the schema was not compared"
compare --data-only dat
is "$RC" 3 "--data-only: a data difference exits 3"
like "$OUT" "dat +table public.items +500 +500 +differs +different" "--data-only: the changed row"

# --data-only with a table the target lacks: named, never passed over.
pg_sql src dat "CREATE TABLE extra (a int)"
compare --data-only dat
is "$RC" 3 "--data-only: a table missing on the target exits 3"
like "$OUT" "dat +table public.extra .*missing on target" "--data-only: the missing table is named"
pg_sql src dat "DROP TABLE extra"

# --json says which part was compared.
part() { perl -MJSON::PP -e 'my $d = JSON::PP->new->decode(join "", <STDIN>);
	print join(" ", map { "$_=" . ($d->{compared}{$_} ? "yes" : "no") } qw(schema data)), " equal=", $d->{equal} ? 1 : 0' <<<"$OUT"; }
compare --json --schema-only dat
is "$RC $(part)" "0 schema=yes data=no equal=1" "--json --schema-only: compared.data is false"
compare --json --data-only sch
is "$RC $(part)" "0 schema=no data=yes equal=1" "--json --data-only: compared.schema is false"
compare --json dat
is "$RC $(part)" "3 schema=yes data=yes equal=0" "--json: both parts compared"

done_testing
