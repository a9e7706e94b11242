#!/usr/bin/env bash
# pgcarry copy and compare: every bad command line gets one pinned message
# and exit status 2, before any server is contacted.
source "$(dirname "$0")/../lib/harness.sh"

S="--source postgresql://u@127.0.0.1:1/postgres"
T="--target postgresql://u@127.0.0.1:2/postgres"

# usage_is CMD... -- EXPECTED-FIRST-LINE NAME

run_pgcarry copy --help
is "$RC" 0 "copy --help exits 0"
like "$OUT" "pgcarry copy --source URI --target URI \[OPTION\]\.\.\. DBNAME\.\.\." "copy --help shows usage"
like "$OUT" "--verify MODE +full \(rows and checksum, default\), count, or none" "copy --help documents --verify"
like "$OUT" "Exit status: 0 copied and verified" "copy --help documents exit statuses"

usage_is copy $S $T --clean --resume db -- "--clean and --resume cannot be used together" "--clean with --resume"
usage_is copy $S $T --all db -- "give database names or --all, not both" "names with --all"
usage_is copy $S $T -- "name the databases to copy, or give --all" "no database"
usage_is copy $S $T --jobs 0 db -- '--jobs must be a whole number from 1 to 64, not "0"' "--jobs 0"
usage_is copy $S $T -j many db -- '--jobs must be a whole number from 1 to 64, not "many"' "-j not a number"
usage_is copy $S $T --verify fast db -- '--verify must be "full", "count" or "none", not "fast"' "bad --verify"
usage_is copy $S $T --progress fancy db -- '--progress must be "auto", "tty", "log", "json" or "none", not "fancy"' "bad --progress"
usage_is copy $S $T --state-dir "" db -- "--state-dir is empty" "empty --state-dir"
usage_is copy $T db -- "--source is required (or set PGCARRY_SOURCE)" "no --source"
usage_is copy $S db -- "--target is required (or set PGCARRY_TARGET)" "no --target"
usage_is copy $S $T --bogus db -- 'unrecognized option "--bogus"' "unknown option"
usage_is copy $S $T "" -- "a database name is empty" "empty database name"
run_pgcarry copy --source 'postgresql://u:secret-pw-31@h/db' $T db
is "$RC" 2 "password on argv: exit 2"
is "$(head -1 <<<"$ERR")" "pgcarry: error: --source holds a password, and passwords are not accepted on the command line" \
	"password on argv: message"
unlike "$ERR" "secret-pw-31" "the refused password is not repeated"

run_pgcarry compare --help
is "$RC" 0 "compare --help exits 0"
like "$OUT" "pgcarry compare --source URI --target URI \[OPTION\]\.\.\. DBNAME\.\.\." "compare --help shows usage"

usage_is compare $S $T --all db -- "give database names or --all, not both" "compare: names with --all"
usage_is compare $S $T -- "name the databases to compare, or give --all" "compare: no database"
usage_is compare $S $T --jobs 0 db -- '--jobs must be a whole number from 1 to 64, not "0"' "compare: --jobs 0"
usage_is compare $T db -- "--source is required (or set PGCARRY_SOURCE)" "compare: no --source"
usage_is compare $S $T "" -- "a database name is empty" "compare: empty database name"

done_testing
