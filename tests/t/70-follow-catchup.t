#!/usr/bin/env bash
# copy --follow returns once the target has caught up: a transaction of
# about 10 MB of WAL committed on the source while the copy runs must be
# applied on the target when copy --follow returns (the source's own
# catalog says its slot is less than 1 MB behind, and the target holds every
# row).  --progress json shows the lag shrinking, database by database:
# "catching up", then "caught up".
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/70-follow-lib.bash"

pg_start src
pg_start dst
SRC=$(pg_uri src)
DST=$(pg_uri dst)
pg_sql src postgres "CREATE DATABASE app"
# A table whose load on the target takes 2 s at least (a CHECK that pauses
# there every 10000th row), so that the source writes during the copy.
pg_psql src app >/dev/null <<SQL || bail "could not fill app"
CREATE FUNCTION pace(id int) RETURNS bool LANGUAGE plpgsql AS \$\$
	BEGIN IF id % 10000 = 0 AND current_setting('port')::int = $(pg_port dst) THEN PERFORM pg_sleep(0.05); END IF;
	RETURN true; END \$\$;
CREATE TABLE bulk (id int PRIMARY KEY CHECK (pace(id)), v text);
INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, 400000) g;
CREATE TABLE later (id int PRIMARY KEY, v text);
SQL

PGCARRY_PROGRESS_INTERVAL_MS=50 pgcarry_start copy --source "$SRC" --target "$DST" --follow \
	--progress json --progress-file "$T_TMP/progress.json" app
follow_wait '[ "$(pg_sql dst postgres "SELECT count(*) FROM pg_stat_progress_copy WHERE tuples_processed > 20000")" -gt 0 ]' \
	|| diag "the copy did not start"
# About 10 MB of WAL in one transaction, after the slot's snapshot.
pg_sql src app "INSERT INTO later SELECT g, repeat(md5(g::text), 2) FROM generate_series(1, 80000) g"
wal=$(pg_sql src postgres "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots")
pgcarry_wait
is "$RC" 0 "copy --follow exits 0" || diag "$ERR"
lag=$(pg_sql src postgres "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots")
is "$(pg_sql dst app "SELECT count(*) FROM later")" 80000 "when it returns, the target holds the rows written during the copy"
ok "$([ "$lag" -lt 1048576 ] && echo 0 || echo 1)" "and the source's slot is less than 1 MB behind ($lag bytes; $wal while the copy ran)"
like "$ERR" "database \"app\" caught up with the source \([0-9]+ bytes of WAL behind, [0-9.]+ s after it began to follow\)" \
	"it says so"

events=$(grep '"progress":"catch-up"' "$T_TMP/progress.json")
is "$(perl -MJSON::PP -ne 'eval { JSON::PP->new->decode($_); 1 } or print "bad: $_"' "$T_TMP/progress.json")" "" \
	"every line of the progress file is one JSON object"
phases=$(perl -MJSON::PP -ne 'my $m = JSON::PP->new->decode($_); print $m->{databases}[0]{phase}, "\n"' <<<"$events" | uniq | xargs)
like "$phases" "^(catching up )+caught up$" "the catch-up events: catching up, then caught up ($phases)"
first=$(perl -MJSON::PP -ne 'my $m = JSON::PP->new->decode($_); my $d = $m->{databases}[0]; print $d->{estimated_bytes} - $d->{bytes}, "\n"' <<<"$events" | head -1)
ok "$([ "$first" -ge 1048576 ] && echo 0 || echo 1)" "the first one shows the lag at the start ($first bytes)"
back=$(perl -MJSON::PP -ne 'my $m = JSON::PP->new->decode($_); my $p = $m->{total}{percent}; print "back: $prev -> $p\n" if defined $prev && $p < $prev; $prev = $p' <<<"$events")
is "$back" "" "the share done never goes back"
is "$(grep -c '"final":true' <<<"$events")" 1 "one final catch-up event"

run_pgcarry follow stop --source "$SRC" --target "$DST" app
is "$RC" 0 "follow stop exits 0" || diag "$ERR"
is "$(follow_leftovers src app)/$(follow_leftovers dst app)" "0/0/0/0" "nothing of pgcarry is left"

done_testing
