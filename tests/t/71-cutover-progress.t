#!/usr/bin/env bash
# cutover --progress: the phases of each database (fence, marker, sequences,
# verifying, done) as JSON events, one object per line in the file given,
# the share done never going back, and one final event at 100 %.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/70-follow-lib.bash"

pg_start src
pg_start dst
pg_sql src postgres "CREATE DATABASE app"
follow_app_schema src app || bail "could not fill app"
run_pgcarry copy --source "$(pg_uri src)" --target "$(pg_uri dst)" --progress none --follow app
is "$RC" 0 "copy --follow exits 0" || diag "$ERR"
sleep 2

PGCARRY_PROGRESS_INTERVAL_MS=20 run_pgcarry cutover --source "$(pg_uri src)" --target "$(pg_uri dst)" \
	--progress json --progress-file "$T_TMP/progress.json" app
is "$RC" 0 "cutover with --progress json exits 0" || diag "$ERR"
unlike "$ERR" '^\{"progress"' "the events go to the file, not to stderr"
events=$(cat "$T_TMP/progress.json")
is "$(perl -MJSON::PP -ne 'eval { JSON::PP->new->decode($_); 1 } or print "bad: $_"' <<<"$events")" "" \
	"every line of the file is one JSON object"
like "$(head -1 <<<"$events")" '^\{"progress":"cutover"' "the events name the cutover"
phases=$(perl -MJSON::PP -ne 'my $m = JSON::PP->new->decode($_); print $m->{databases}[0]{phase}, "\n"' <<<"$events" | uniq | xargs)
like "$phases" "^(fence )?(marker )?(sequences )?(verifying )?done$" "the phases come in their order ($phases)"
like "$phases" "done" "and end done"
back=$(perl -MJSON::PP -ne 'my $m = JSON::PP->new->decode($_); my $p = $m->{total}{percent}; print "back: $prev -> $p\n" if defined $prev && $p < $prev; $prev = $p' <<<"$events")
is "$back" "" "the share done never goes back"
final=$(grep '"final":true' <<<"$events")
is "$(wc -l <<<"$final")" 1 "one final event"
is "$(perl -MJSON::PP -ne 'my $m = JSON::PP->new->decode($_); print "$m->{databases}[0]{database} $m->{databases}[0]{phase} $m->{total}{percent}"' <<<"$final")" \
	"app done 100" "the final event: the database done, 100 %"

done_testing
