#!/usr/bin/env bash
# No leaks on full commands: pgcarry run under valgrind's memcheck against a
# real server reports no definite or indirect leak and no memory error:
# ping (also failing and refused), copy, export, import, and an
# expand/contract migration from start to complete.
source "$(dirname "$0")/../lib/harness.sh"

if ! command -v valgrind >/dev/null; then
	echo "Bail out! valgrind is not installed (make deps installs it)"
	exit 1
fi
if nm -D "$PGCARRY" 2>/dev/null | grep -q __asan_init || ldd "$PGCARRY" | grep -q libasan; then
	echo "1..0 # SKIP the sanitizer build checks leaks with LeakSanitizer instead"
	exit 0
fi

pg_start src
pg_sql src postgres "CREATE DATABASE accounts"

vg() {
	local name=$1
	shift
	run_pgcarry_via valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --error-exitcode=99 \
		--log-file="$T_TMP/vg-$name.log" -- "$@"
	VG_RC=$RC
	VG_LOG=$(cat "$T_TMP/vg-$name.log")
}

vg ping ping --source "$(pg_uri src)"
is "$VG_RC" 0 "ping under valgrind exits 0"
is "$VG_LOG" "" "ping: no leaks or memory errors"

vg pingfail ping --source "$(pg_uri src nosuchdb)"
is "$VG_RC" 1 "a failing ping under valgrind exits 1 (not 99)"
is "$VG_LOG" "" "failing ping: no leaks or memory errors"

vg usage ping --source 'postgresql://u:pw-leakcheck@h/db'
is "$VG_RC" 2 "a usage error under valgrind exits 2"
is "$VG_LOG" "" "usage error: no leaks or memory errors"

pg_start tgt
pg_sql src accounts "CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, repeat('x', g % 50) FROM generate_series(1, 5000) g"
vg copy copy --source "$(pg_uri src)" --target "$(pg_uri tgt)" accounts --jobs 2 --progress none
is "$VG_RC" 0 "copy under valgrind exits 0"
is "$VG_LOG" "" "copy: no leaks or memory errors"

vg export export --source "$(pg_uri src)" --output "$T_TMP/arch" accounts --jobs 2 --progress none
is "$VG_RC" 0 "export under valgrind exits 0"
is "$VG_LOG" "" "export: no leaks or memory errors"
pg_sql tgt postgres "DROP DATABASE accounts"
vg import import --input "$T_TMP/arch" --target "$(pg_uri tgt)" --jobs 2 --progress none
is "$VG_RC" 0 "import under valgrind exits 0"
is "$VG_LOG" "" "import: no leaks or memory errors"

# An expand/contract migration from start to complete (the cat lovers, small).
pg_sql src postgres "CREATE DATABASE club"
pg_psql src club -v rows=2000 -f "$HARNESS_ROOT/bench/catclub.sql" >/dev/null
vg start schema start "$HARNESS_ROOT/bench/cats.json" --target "$(pg_uri src club)" --batch-size 300
is "$VG_RC" 0 "schema start under valgrind exits 0"
is "$VG_LOG" "" "schema start: no leaks or memory errors"
vg complete schema complete cats_own_table --target "$(pg_uri src club)"
is "$VG_RC" 0 "schema complete under valgrind exits 0"
is "$VG_LOG" "" "schema complete: no leaks or memory errors"

done_testing
