#!/usr/bin/env bash
# Every PostgreSQL program pgcarry runs comes from the directory it chooses
# and checks (PG_BINDIR, else the newest of pg_config --bindir and
# /usr/lib/postgresql/N/bin), never from whatever PATH holds: export and
# import run with a PATH whose pg_dump, pg_restore, pg_dumpall and psql are
# impostors, and none of them runs.
source "$(dirname "$0")/../lib/harness.sh"

pg_start src
pg_sql src postgres "CREATE DATABASE pp"
pg_sql src pp "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 50) g;
               CREATE INDEX t_v ON t (v)"
STUB=$T_TMP/stub
mkdir -p "$STUB"
for p in pg_dump pg_restore pg_dumpall psql; do
	printf '#!/bin/sh\necho "%s" >>"%s/ran"\nexit 1\n' "$p" "$STUB" >"$STUB/$p"
	chmod +x "$STUB/$p"
done
# pg_config stays the real one, so the chosen directory is found as usual.
ln -s "$(command -v pg_config)" "$STUB/pg_config"

PATH="$STUB:$PATH" run_pgcarry export --source "$(pg_uri src)" pp --output "$T_TMP/a" --progress none
is "$RC" 0 "export exits 0 with impostors on PATH"
pg_sql src postgres "DROP DATABASE pp"
PATH="$STUB:$PATH" run_pgcarry import --target "$(pg_uri src)" --input "$T_TMP/a" --progress none
is "$RC" 0 "import exits 0 with impostors on PATH"
is "$(pg_sql src pp "SELECT count(*) FROM t")" 50 "the rows are back"
is "$(pg_sql src pp "SELECT count(*) FROM pg_indexes WHERE indexname = 't_v'")" 1 "the index is back (pg_restore ran)"
[ ! -e "$STUB/ran" ]
ok $? "no program was taken from PATH"
[ -e "$STUB/ran" ] && diag "ran: $(cat "$STUB/ran")"

done_testing
