#!/usr/bin/env bash
# Progress that tells the truth: with --progress json at a fast rate, every
# event's ETA is checked against the time that actually remained (taken from
# the clock of this script, not from pgcarry's own final line); the share
# done only grows; the default rate is about one event a second; stderr then
# holds JSON lines only; --progress-file takes the events off stderr; every
# field is documented in docs/progress.md.  copy, compare, export, import.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_start dst
STATE=$T_TMP/state
DOC=$HARNESS_ROOT/docs/progress.md

# Four tables of different sizes, biggest first as a DBA's database would be.
pg_sql src postgres "CREATE DATABASE big"
# About 200 MB, biggest first as a DBA's database would be: long enough for
# a copy to take a few seconds even on an idle machine.
pg_sql src big "CREATE TABLE t1 (id int, v text); INSERT INTO t1 SELECT g, lpad(g::text, 400, 'x') FROM generate_series(1, 250000) g;
                CREATE TABLE t2 (id int, v text); INSERT INTO t2 SELECT g, lpad(g::text, 400, 'y') FROM generate_series(1, 150000) g;
                CREATE TABLE t3 (id int, v text); INSERT INTO t3 SELECT g, repeat(md5(g::text), 2) FROM generate_series(1, 200000) g;
                CREATE TABLE t4 (id bigint, n numeric); INSERT INTO t4 SELECT g, g * 1.5 FROM generate_series(1, 300000) g"
# The load on the target takes several seconds whatever the machine's speed
# (a quiet machine copied the 200 MB in 2 s, too fast for several ticks): a
# CHECK that pauses 30 ms every 5000th row, on the target's port only
# (pg_dump carries it), so copy and import load at a steady, known pace.
pg_sql src big "CREATE FUNCTION pace(id bigint) RETURNS boolean LANGUAGE plpgsql AS \$\$
                BEGIN IF id % 5000 = 0 AND current_setting('port')::int = $(pg_port dst) THEN PERFORM pg_sleep(0.03); END IF;
                RETURN true; END \$\$;
                ALTER TABLE t1 ADD CONSTRAINT paced CHECK (pace(id)); ALTER TABLE t2 ADD CONSTRAINT paced CHECK (pace(id));
                ALTER TABLE t3 ADD CONSTRAINT paced CHECK (pace(id)); ALTER TABLE t4 ADD CONSTRAINT paced CHECK (pace(id))" >/dev/null
pg_sql src big "VACUUM ANALYZE"
note "source ready after ${SECONDS}s"

# Runs pgcarry with stderr lines stamped by this script's clock (ms since
# the start); sets RC, and STAMPED to "ms<TAB>line" lines.
run_stamped() {
	local start
	start=$(date +%s%3N)
	# shellcheck disable=SC2016
	run_pgcarry_via bash -c 'start=$1; shift
		"$@" 2> >(while IFS= read -r line; do printf "%s\t%s\n" "$(($(date +%s%3N) - start))" "$line"; done >&2)
		rc=$?; wait $!; exit $rc' stamp "$start" -- "$@"
	END_MS=$(($(date +%s%3N) - start))
	STAMPED=$ERR
}

# check_eta: every non-final event with an ETA, at least 1 s from the end:
# ETA within a factor 3 (plus 2 s) of what remained; percent never goes
# back; prints a summary.
check_eta() {
	perl -MJSON::PP -e '
		my ($end) = @ARGV; my ($n, $bad, $back, $last, $first) = (0, 0, 0, -1, undef);
		while (<STDIN>) {
			chomp; my ($ms, $line) = split /\t/, $_, 2;
			next unless $line =~ /^\{"progress"/;
			my $m = JSON::PP->new->decode($line);
			my $t = $m->{total};
			$back++ if $t->{percent} < $last; $last = $t->{percent};
			next if $m->{final} || !defined $t->{eta_seconds};
			my $left = ($end - $ms) / 1000;
			next if $left < 1;
			$n++;
			my $eta = $t->{eta_seconds};
			if ($eta > 3 * $left + 2 || $eta < $left / 3 - 2) {
				$bad++;
				print STDERR "# at ${ms} ms: ETA $eta s, $left s remained ($t->{percent} %)\n";
			}
		}
		print "events=$n bad=$bad back=$back\n";
	' "$END_MS" <<<"$STAMPED"
}

PGCARRY_PROGRESS_INTERVAL_MS=100 run_stamped copy --source "$(pg_uri src)" --target "$(pg_uri dst)" \
	--state-dir "$STATE" --jobs 1 --progress json --verbose big
is "$RC" 0 "copy with --progress json: exit 0"
text=$(cut -f2- <<<"$STAMPED" | perl -MJSON::PP -ne 'eval { JSON::PP->new->decode($_); 1 } or print')
is "$text" "" "with --progress json every stderr line is a JSON object, log lines included"
like "$(cut -f2- <<<"$STAMPED")" '"level":"info"' "log lines are there (--verbose), as JSON"
summary=$(check_eta)
note "copy took $END_MS ms: $summary"
like "$summary" "events=([4-9]|[1-9][0-9]+) " "the ETA is checked at several ticks"
like "$summary" " bad=0 " "at every tick the ETA is within a factor 3 of the time that remained"
like "$summary" " back=0" "the share done never goes back"
final=$(grep -F '"final":true' <<<"$STAMPED" | cut -f2-)
is "$(perl -MJSON::PP -ne 'my $t = JSON::PP->new->decode($_)->{total}; print "$t->{percent} $t->{tables_done}/$t->{tables_total} $t->{rows}"' <<<"$final")" \
	"100 4/4 900000" "the final event: 100 %, every table, every row"
# Estimated bytes: the source's own catalog sizes, read here with psql.
cat_bytes=$(pg_sql src big "SELECT sum(pg_relation_size(c.oid) + COALESCE(pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0))
                            FROM pg_class c WHERE c.relname IN ('t1','t2','t3','t4')")
est=$(perl -MJSON::PP -ne 'print JSON::PP->new->decode($_)->{total}{estimated_bytes}' <<<"$final")
ok "$(perl -e 'exit(abs($ARGV[0] - $ARGV[1]) <= 0.05 * $ARGV[1] ? 0 : 1)' "$est" "$cat_bytes"; echo $?)" \
	"estimated_bytes is the catalog's size of the tables ($est, catalog $cat_bytes)"
midway=$(cut -f2- <<<"$STAMPED" | grep '^{"progress"' | grep -F '"final":false' | grep -c '"current_tables":\["public\.t[1-4]')
ok "$([ "$midway" -ge 1 ] && echo 0 || echo 1)" "events name the table being copied ($midway did)"

# compare: the same events.
PGCARRY_PROGRESS_INTERVAL_MS=200 run_stamped compare --source "$(pg_uri src)" --target "$(pg_uri dst)" --jobs 1 --progress json big
is "$RC" 0 "compare with --progress json: exit 0"
like "$(grep -F '"final":true' <<<"$STAMPED")" '"progress":"compare".*"percent":100' "compare: the final event says 100 %"
summary=$(check_eta)
note "compare took $END_MS ms: $summary"
like "$summary" " back=0" "compare: the share done never goes back"

# export with --progress-file: the events in the file, plain text on stderr.
PGCARRY_PROGRESS_INTERVAL_MS=200 run_pgcarry export --source "$(pg_uri src)" --output "$T_TMP/arch" --jobs 1 \
	--progress-file "$T_TMP/prog.jsonl" big
is "$RC" 0 "export with --progress-file: exit 0"
unlike "$ERR" '\{"progress"' "no progress event on stderr"
like "$ERR" '^pgcarry: ' "stderr keeps its text log lines"
is "$(perl -MJSON::PP -ne '$n++; eval { JSON::PP->new->decode($_); 1 } or $bad++; END { print $n > 0 && !$bad ? "ok" : "bad" }' "$T_TMP/prog.jsonl")" \
	"ok" "the file holds JSON objects, one per line"
is "$(grep -c '"final":true' "$T_TMP/prog.jsonl")" 1 "and one final event"
like "$(grep -F '"final":true' "$T_TMP/prog.jsonl")" '"progress":"export".*"percent":100(\.0)?,' "export: the final event says 100 %"
is "$(perl -MJSON::PP -ne 'my $p = JSON::PP->new->decode($_)->{total}{percent}; $back++ if $p < $last; $last = $p; END { print $back + 0 }' "$T_TMP/prog.jsonl")" \
	0 "export: the share done never goes back"
is "$(stat -c %a "$T_TMP/prog.jsonl")" 600 "the progress file is readable by its owner only"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress-file "$T_TMP/no/such/dir/p.jsonl" big
is "$RC" 2 "an unwritable --progress-file exits 2"
is "$(head -1 <<<"$ERR")" "pgcarry: error: could not open the --progress-file \"$T_TMP/no/such/dir/p.jsonl\": No such file or directory" \
	"an unwritable --progress-file is named"

# Every field of an event is documented.
keys=$(cat "$T_TMP/prog.jsonl" | perl -MJSON::PP -ne '
	my $m = JSON::PP->new->decode($_); $k{$_}++ for keys %$m; $k{$_}++ for keys %{$m->{total}};
	for my $d (@{$m->{databases}}) { $k{$_}++ for keys %$d } END { print join(" ", sort keys %k), "\n" }')
missing=""
for k in $keys; do grep -q "\`$k\`" "$DOC" || missing="$missing $k"; done
is "$missing" "" "every JSON progress field is documented in docs/progress.md ($keys)"
grep -q 'PGCARRY_PROGRESS_INTERVAL_MS' "$DOC"
ok $? "PGCARRY_PROGRESS_INTERVAL_MS is documented"

# import at the default interval: about one event a second; the rows to
# load come from the archive; the share never goes back.
pg_sql dst postgres "DROP DATABASE big"
run_stamped import --target "$(pg_uri dst)" --jobs 1 --progress json --input "$T_TMP/arch"
is "$RC" 0 "import with --progress json: exit 0"
summary=$(check_eta)
gaps=$(grep -P '\t\{"progress"' <<<"$STAMPED" | grep -F '"final":false' | perl -MJSON::PP -ne '
	my ($ms, $l) = split /\t/, $_, 2; push @t, JSON::PP->new->decode($l)->{elapsed_seconds};
	END { my @g = map { $t[$_] - $t[$_ - 1] } 1 .. $#t; @g = sort { $a <=> $b } @g; printf "%d %.2f\n", scalar @t, @g ? $g[int(@g / 2)] : 0 }')
note "import took $END_MS ms: $summary; events and median gap: $gaps"
like "$gaps" "^([2-9]|[1-9][0-9]+) (0\.9|1\.0|1\.1)" "by default about one event a second"
like "$summary" " back=0" "import: the share done never goes back"
like "$(grep -F '"final":true' <<<"$STAMPED")" '"estimated_rows":900000' "import: the rows to load come from the archive before loading"

done_testing
