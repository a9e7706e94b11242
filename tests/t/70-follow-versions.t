#!/usr/bin/env bash
# A major-version upgrade with seconds of downtime: copy --follow, a live
# write load, then cutover, on each pair 12->15, 12->17 and 15->17.  The
# independent checker then finds the fenced source and the target
# identical: data, sequences and large objects on every pair, and the
# schema (pg_dump --schema-only of both) where this machine's pg_dump (15)
# can read the target; nothing of pgcarry is left on either server.
#
# Servers of 12 and 17 come from scripts/pgversions.sh (cached under
# build/pg, as for tests/t/45-oracle-versions.t); 15 is Debian's.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"
source "$(dirname "$0")/70-follow-lib.bash"

out=$("$HARNESS_ROOT/scripts/pgversions.sh" 12 17 2>&1)
ok $? "PostgreSQL 12 and 17 are installed and run (scripts/pgversions.sh)" || diag "$out"
while read -r major bin; do
	case $major in
	12) PG_BINDIR_src12=$bin ;;
	17) PG_BINDIR_dst17=$bin ;;
	esac
done <<<"$out"
[ -n "${PG_BINDIR_src12:-}" ] && [ -n "${PG_BINDIR_dst17:-}" ] || bail "no PostgreSQL 12 or 17 server"

for s in src12 src15 dst15 dst17; do pg_start "$s"; done

# pair SRC DST: one upgrade, under load.
pair() {
	local src=$1 dst=$2 db=app_$1_$2
	local name="${src#src}->${dst#dst}"
	pg_sql "$src" postgres "CREATE DATABASE $db"
	follow_app_schema "$src" "$db" || bail "could not fill $db"
	follow_writer_start "$src" "$db"
	run_pgcarry copy --source "$(pg_uri "$src")" --target "$(pg_uri "$dst")" --progress none --follow "$db"
	is "$RC" 0 "$name: copy --follow under load exits 0" || diag "$ERR"
	like "$ERR" "database \"$db\" follows the source" "$name: the target follows"
	sleep 3
	run_pgcarry follow status --source "$(pg_uri "$src")" --target "$(pg_uri "$dst")" "$db"
	like "$OUT" "$db +following " "$name: follow status says following" || diag "$ERR"
	run_pgcarry cutover --source "$(pg_uri "$src")" --target "$(pg_uri "$dst")" --progress none "$db"
	is "$RC" 0 "$name: cutover under load exits 0" || diag "$ERR"
	like "$ERR" "cutover complete: the target is ready; writes on the source were fenced for [0-9.]+ s" \
		"$name: it prints how long writes were fenced"
	note "$name: $(printf '%s\n' "$ERR" | grep -o 'fenced for [0-9.]* s')"
	follow_writer_stop
	ticks=$(pg_sql "$src" "$db" "SELECT count(*) FROM accounts WHERE id > 100000")
	ok "$([ "$ticks" -gt 5 ] && echo 0 || echo 1)" "$name: the application wrote during the follow ($ticks transactions)"
	is "$(follow_leftovers "$src" "$db")" "0/0" "$name: nothing of pgcarry is left on the source"
	is "$(follow_leftovers "$dst" "$db")" "0/0" "$name: nothing of pgcarry is left on the target"
	pg_sql "$src" postgres "ALTER DATABASE $db RESET default_transaction_read_only"
	# (The checker's output is shown masked: a subscription left behind
	# would show its connection string, password included.)
	local check=dbcheck_compare what="data and schema"
	[ "$dst" = dst17 ] && check=_dbcheck_data what="data"
	"$check" "$src" "$dst" "$db" >"$T_TMP/dbcheck.out" 2>&1
	is "$?" 0 "$name: the independent checker finds $what identical" ||
		diag "$(sed -E "s/password=[^ ]*/password=.../g" "$T_TMP/dbcheck.out" | head -n 40)"
}

pair src12 dst15
pair src12 dst17
pair src15 dst17

# A target older than the source: refused before anything is created.
pg_sql src15 postgres "CREATE DATABASE down"
pg_sql src15 down "CREATE TABLE t (id int PRIMARY KEY)"
run_pgcarry copy --source "$(pg_uri src15)" --target "$(pg_uri src12)" --progress none --follow down
is "$RC" 1 "15->12: exit 1"
like "$ERR" "error: the target runs PostgreSQL 12, older than the source's 15: a follow moves to the same major version or a newer one
pgcarry: detail: The schema pg_dump writes for the source may not load into an older server, and an older subscriber may not apply what the newer publisher sends\.
pgcarry: hint: Follow into a server of the source's major version or a newer one\." "15->12: the older target is named, with the way out"
like "$ERR" "error: copy --follow cannot start: 1 problem found, nothing was created" "15->12: nothing was created"
is "$(follow_leftovers src15 down)" "0/0" "15->12: nothing on the source"
is "$(pg_sql src12 postgres "SELECT count(*) FROM pg_database WHERE datname = 'down'")" 0 "15->12: nor on the target"

done_testing
