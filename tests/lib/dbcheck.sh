# dbcheck.sh: an independent checker that two databases hold the same data
# and the same schema.  Tests source it after tests/lib/harness.sh and use it
# to judge pgcarry's copy, export and import; it shares no code with pgcarry
# and trusts nothing pgcarry says: every figure comes from psql and pg_dump,
# run on each server through the harness's trusted local socket.
#
#   dbcheck_compare SRC TGT DB      data: every table (relkind r, partitions
#                                   included, each read with ONLY), populated
#                                   materialized views, sequences (last_value
#                                   and is_called), large objects; then the
#                                   schema (dbcheck_schema_diff), always.
#                                   Prints one line per difference on stdout
#                                   (and the schema diff), a summary on
#                                   stderr; returns 0 when equal, 1 when
#                                   anything differs or any psql or pg_dump
#                                   run fails.
#   dbcheck_compare_all SRC TGT DB...  dbcheck_compare for each database;
#                                   returns 1 when any differs.
#   dbcheck_schema_diff SRC TGT DB  pg_dump --schema-only --create of both
#                                   sides, diffed; only the header lines
#                                   (versions, \restrict keys) are removed.
#                                   Prints the diff; returns 0 or 1.
#   dbcheck_roles SRC TGT           the roles of both clusters (all but the
#                                   pg_* roles): attributes, memberships
#                                   (with admin option), settings (global and
#                                   per database), comments, and passwords:
#                                   the stored hashes compared where both
#                                   sides have one, and a password on one
#                                   side only is a difference.  The bootstrap
#                                   superuser's password (each test server
#                                   has its own) is left out.  Prints one
#                                   line per difference; returns 0 or 1.
#
# DBCHECK_WHOLE_TREES, when set, names partitioned tables (space-separated,
# as schema.name) whose rows are compared as one whole tree instead of
# partition by partition: where a hash partition key's hash differs between
# clusters (an enum's hash is that of its OID), the same rows may rightly sit
# in other partitions on the other side, as pg_dump | pg_restore leaves them.
#
# SRC and TGT are harness server names (pg_start NAME).  How a table is
# summed up: its row count, and the md5 of its rows' text forms sorted
# bytewise (COLLATE "C"), one row per line as COPY writes them.  Every
# session runs with fixed output settings, so that a database's own
# defaults (ALTER DATABASE ... SET DateStyle, extra_float_digits, ...) do not
# change the text of a value.  Row-level security is off (an error rather
# than silently hidden rows).
#
# Limits: relation names holding a newline are not supported; values of a
# single large object over 1 GB cannot be read with lo_get.

# Output settings for every checker session.
DBCHECK_PGOPTIONS="-c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 -c TimeZone=UTC -c bytea_output=hex -c lc_monetary=C -c search_path=pg_catalog -c xmloption=content -c row_security=off -c statement_timeout=0"

# _dbcheck_psql SERVER DB [psql args...]: psql with the checker's settings.
_dbcheck_psql() {
	PGOPTIONS="$DBCHECK_PGOPTIONS" pg_psql "$@"
}

# _dbcheck_db_exists SERVER DB: 0 when the database exists.
_dbcheck_db_exists() {
	local got
	got=$(printf '%s\n' "SELECT count(*) FROM pg_database WHERE datname = :'dbname';" |
		_dbcheck_psql "$1" postgres -v dbname="$2") || return 1
	[ "$got" = 1 ]
}

# _dbcheck_relations SERVER DB: "KIND NAME" per relation, NUL-terminated,
# sorted; KIND is r, m (populated matview), u (unpopulated matview), S, or
# p (a partitioned table of DBCHECK_WHOLE_TREES, read as a whole).
_dbcheck_relations() {
	local trees=${DBCHECK_WHOLE_TREES:-}
	trees=${trees//\'/\'\'}
	_dbcheck_psql "$1" "$2" -0 -c "
		WITH trees AS (SELECT x::regclass AS oid FROM unnest(string_to_array('$trees', ' ')) x WHERE x <> '')
		SELECT CASE WHEN c.relkind = 'm' AND NOT c.relispopulated THEN 'u' ELSE c.relkind::text END
		       || ' ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE ((c.relkind IN ('r', 'm', 'S')
		        AND NOT EXISTS (SELECT 1 FROM pg_partition_ancestors(c.oid) a WHERE a.relid IN (SELECT oid FROM trees)))
		       OR c.oid IN (SELECT oid FROM trees))
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
		ORDER BY 1" | sort -z
	return "${PIPESTATUS[0]}"
}

# _dbcheck_script_add SCRIPT OUTDIR N KIND NAME: appends to a psql script
# the statements that sum up relation number N: a line "N rows=COUNT" or
# "N last_value=... is_called=..." on stdout, and for tables the md5 of the
# sorted row texts in OUTDIR/N.md5.  One psql session per side then runs the
# whole script, instead of one psql per table.
_dbcheck_script_add() {
	local script=$1 outdir=$2 n=$3 kind=$4 name=$5 only=""
	case $kind in
	S)
		printf "SELECT '%s last_value=' || last_value || ' is_called=' || is_called FROM %s;\n" "$n" "$name" >>"$script"
		;;
	r | m | p)
		[ "$kind" = r ] && only="ONLY"
		{
			# A materialized view is computed again wherever it is
			# refreshed (pg_restore refreshes it), and a float sum or
			# average depends on the order its rows are read in, which
			# differs between two copies of the same rows: its floats are
			# compared to 9 significant digits (float8: 15 - 6), a
			# table's exactly.
			if [ "$kind" = m ]; then printf 'SET extra_float_digits = -6;\n'; fi
			printf "SELECT '%s rows=' || count(*) FROM %s %s;\n" "$n" "$only" "$name"
			printf '\\o | md5sum > %s/%s.md5\n' "$outdir" "$n"
			printf 'COPY (SELECT r FROM (SELECT x_dbcheck_row_x::text AS r FROM %s %s x_dbcheck_row_x) s ORDER BY r COLLATE "C") TO STDOUT;\n' "$only" "$name"
			printf '\\o\n'
			if [ "$kind" = m ]; then printf 'SET extra_float_digits = 3;\n'; fi
		} >>"$script"
		;;
	esac
}

# _dbcheck_result OUTDIR N KIND: the summary of relation N from the files
# the script wrote (OUTDIR/out holds its stdout).
_dbcheck_result() {
	local outdir=$1 n=$2 kind=$3 line
	[ "$kind" = u ] && { echo "unpopulated"; return; }
	line=$(grep -m1 "^$n " "$outdir/out")
	[ -n "$line" ] || { echo "not read (psql failed, see above)"; return; }
	line=${line#"$n "}
	if [ "$kind" = S ]; then
		echo "$line"
	else
		echo "$line md5=$(cut -c1-32 "$outdir/$n.md5" 2>/dev/null)"
	fi
}

# _dbcheck_large_objects SERVER DB: one line per large object: oid, size,
# md5, owner, privileges, comment.
_dbcheck_large_objects() {
	_dbcheck_psql "$1" "$2" -c "
		SELECT m.oid || ' size=' || length(d.data) || ' md5=' || md5(d.data)
		       || ' owner=' || pg_get_userbyid(m.lomowner)
		       || ' acl=' || coalesce(m.lomacl::text, '-')
		       || ' comment=' || coalesce(quote_literal(obj_description(m.oid, 'pg_largeobject')), '-')
		FROM pg_largeobject_metadata m
		CROSS JOIN LATERAL (SELECT lo_get(m.oid) AS data) d
		ORDER BY m.oid"
}

# dbcheck_compare SRC TGT DB: see the top of this file.
dbcheck_compare() {
	local rc=0
	_dbcheck_data "$@" || rc=1
	# Both databases exist (or the data check said which does not).
	if [ "$rc" = 0 ] || { _dbcheck_db_exists "$1" "$3" && _dbcheck_db_exists "$2" "$3"; }; then
		dbcheck_schema_diff "$@" || rc=1
	fi
	return "$rc"
}

# _dbcheck_data SRC TGT DB: the data part of dbcheck_compare.
_dbcheck_data() {
	local src=$1 tgt=$2 db=$3
	local diffs=0 tmp
	local p="dbcheck: $db:"
	if ! _dbcheck_db_exists "$src" "$db"; then
		echo "$p database missing on the source ($src)"
		return 1
	fi
	if ! _dbcheck_db_exists "$tgt" "$db"; then
		echo "$p database missing on the target ($tgt)"
		return 1
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbcheck.XXXXXX")

	_dbcheck_relations "$src" "$db" >"$tmp/rels.src" || { echo "$p cannot list relations on $src"; rm -rf "$tmp"; return 1; }
	_dbcheck_relations "$tgt" "$db" >"$tmp/rels.tgt" || { echo "$p cannot list relations on $tgt"; rm -rf "$tmp"; return 1; }

	# Relations by name on each side (the kind may differ: an unpopulated
	# matview on one side and a populated one on the other).
	local rec kind name nrel=0
	declare -A kind_src=() kind_tgt=()
	while IFS= read -r -d '' rec; do kind_src["${rec#* }"]=${rec%% *}; done <"$tmp/rels.src"
	while IFS= read -r -d '' rec; do kind_tgt["${rec#* }"]=${rec%% *}; done <"$tmp/rels.tgt"

	local names n=0
	local -a rel_name=() rel_ks=() rel_kt=()
	mkdir "$tmp/src" "$tmp/tgt"
	: >"$tmp/src.sql"
	: >"$tmp/tgt.sql"
	names=$( { printf '%s\n' "${!kind_src[@]}"; printf '%s\n' "${!kind_tgt[@]}"; } | LC_ALL=C sort -u)
	while IFS= read -r name; do
		[ -n "$name" ] || continue
		local ks=${kind_src[$name]:-} kt=${kind_tgt[$name]:-}
		if [ -z "$kt" ]; then
			echo "$p $(_dbcheck_kind_word "$ks") $name is missing on the target"
			diffs=$((diffs + 1))
			continue
		fi
		if [ -z "$ks" ]; then
			echo "$p $(_dbcheck_kind_word "$kt") $name exists only on the target"
			diffs=$((diffs + 1))
			continue
		fi
		n=$((n + 1))
		rel_name[n]=$name
		rel_ks[n]=$ks
		rel_kt[n]=$kt
		_dbcheck_script_add "$tmp/src.sql" "$tmp/src" "$n" "$ks" "$name"
		_dbcheck_script_add "$tmp/tgt.sql" "$tmp/tgt" "$n" "$kt" "$name"
	done <<<"$names"
	nrel=$n

	# Both sides at once, one psql session each.
	_dbcheck_psql "$src" "$db" -f "$tmp/src.sql" >"$tmp/src/out" &
	local bg=$!
	_dbcheck_psql "$tgt" "$db" -f "$tmp/tgt.sql" >"$tmp/tgt/out"
	local st_t=$? st_s=0
	wait "$bg" || st_s=$?
	[ "$st_s" = 0 ] || { echo "$p reading the source ($src) failed"; diffs=$((diffs + 1)); }
	[ "$st_t" = 0 ] || { echo "$p reading the target ($tgt) failed"; diffs=$((diffs + 1)); }

	local i a b
	for ((i = 1; i <= n; i++)); do
		a=$(_dbcheck_result "$tmp/src" "$i" "${rel_ks[i]}")
		b=$(_dbcheck_result "$tmp/tgt" "$i" "${rel_kt[i]}")
		if [ "$a" != "$b" ]; then
			echo "$p $(_dbcheck_kind_word "${rel_ks[i]}") ${rel_name[i]} differs: source $a; target $b"
			diffs=$((diffs + 1))
		fi
	done

	# Large objects.
	_dbcheck_large_objects "$src" "$db" >"$tmp/lo.src" &
	local bg_lo=$! st_lo=0
	_dbcheck_large_objects "$tgt" "$db" >"$tmp/lo.tgt" ||
		{ echo "$p reading the large objects of the target ($tgt) failed"; diffs=$((diffs + 1)); }
	wait "$bg_lo" || st_lo=$?
	[ "$st_lo" = 0 ] || { echo "$p reading the large objects of the source ($src) failed"; diffs=$((diffs + 1)); }
	local nlo_s nlo_t
	nlo_s=$(grep -c . "$tmp/lo.src")
	nlo_t=$(grep -c . "$tmp/lo.tgt")
	if [ "$nlo_s" != "$nlo_t" ]; then
		echo "$p large objects: $nlo_s on the source, $nlo_t on the target"
		diffs=$((diffs + 1))
	fi
	local line
	while IFS= read -r line; do
		case $line in
		"< "*) echo "$p large object ${line#< } (source) differs or is missing on the target"; diffs=$((diffs + 1)) ;;
		"> "*) echo "$p large object ${line#> } (target) differs or is missing on the source"; diffs=$((diffs + 1)) ;;
		esac
	done < <(diff "$tmp/lo.src" "$tmp/lo.tgt")

	rm -rf "$tmp"
	_dbcheck_verdict "$db" "$diffs" "$src" "$tgt" "$nrel relations and $nlo_s large objects"
}

# _dbcheck_verdict WHAT DIFFS SRC TGT EQUAL: the summary line on stderr
# ("N difference(s)", or "EQUAL equal"); returns 1 when DIFFS > 0.
_dbcheck_verdict() {
	if [ "$2" -gt 0 ]; then
		echo "# dbcheck: $1: $2 difference(s) between $3 and $4" >&2
		return 1
	fi
	echo "# dbcheck: $1: $5 equal on $3 and $4" >&2
	return 0
}

# dbcheck_compare_all SRC TGT DB...: see the top of this file.
dbcheck_compare_all() {
	local src=$1 tgt=$2 db rc=0
	shift 2
	for db in "$@"; do
		dbcheck_compare "$src" "$tgt" "$db" || rc=1
	done
	return "$rc"
}

_dbcheck_kind_word() {
	case $1 in
	r) echo "table" ;;
	m) echo "materialized view" ;;
	u) echo "materialized view" ;;
	S) echo "sequence" ;;
	p) echo "partitioned table" ;;
	*) echo "relation" ;;
	esac
}

# _dbcheck_dump SERVER DB: the schema, as pg_dump writes it, header removed.
_dbcheck_dump() {
	PGPASSFILE=$NO_PGPASS pg_dump -h "$(pg_sockdir "$1")" -p "$(pg_port "$1")" -U postgres \
		--schema-only --create "$2" |
		sed -e '/^-- Dumped from database version /d' \
			-e '/^-- Dumped by pg_dump version /d' \
			-e '/^\\restrict /d' -e '/^\\unrestrict /d'
	return "${PIPESTATUS[0]}"
}

# dbcheck_schema_diff SRC TGT DB: see the top of this file.
dbcheck_schema_diff() {
	local src=$1 tgt=$2 db=$3 tmp rc
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbcheck.XXXXXX")
	if ! _dbcheck_dump "$src" "$db" >"$tmp/src.sql"; then
		echo "dbcheck: $db: pg_dump failed on the source ($src)"
		rm -rf "$tmp"
		return 1
	fi
	if ! _dbcheck_dump "$tgt" "$db" >"$tmp/tgt.sql"; then
		echo "dbcheck: $db: pg_dump failed on the target ($tgt)"
		rm -rf "$tmp"
		return 1
	fi
	diff -u --label "$src/$db" --label "$tgt/$db" "$tmp/src.sql" "$tmp/tgt.sql" >"$tmp/diff"
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "dbcheck: $db: the schemas differ ($(grep -c '^[-+][^-+]' "$tmp/diff") lines):"
		head -n 200 "$tmp/diff"
		rc=1
	fi
	rm -rf "$tmp"
	return "$rc"
}

# _dbcheck_role_lines SERVER: one line per fact about the cluster's roles
# (all but pg_*), sorted; passwords as "password <role> <hash>" lines.
_dbcheck_role_lines() {
	_dbcheck_psql "$1" postgres -c "
		SELECT 'role ' || quote_ident(rolname) || ' super=' || rolsuper || ' inherit=' || rolinherit
		       || ' createrole=' || rolcreaterole || ' createdb=' || rolcreatedb
		       || ' login=' || rolcanlogin || ' replication=' || rolreplication
		       || ' bypassrls=' || rolbypassrls || ' connlimit=' || rolconnlimit
		       || ' validuntil=' || coalesce(rolvaliduntil::text, '-')
		FROM pg_authid WHERE rolname !~ '^pg_'
		UNION ALL
		SELECT 'comment ' || quote_ident(rolname) || ' ' || quote_literal(shobj_description(oid, 'pg_authid'))
		FROM pg_authid WHERE rolname !~ '^pg_' AND shobj_description(oid, 'pg_authid') IS NOT NULL
		UNION ALL
		SELECT 'member ' || quote_ident(m.rolname) || ' of ' || quote_ident(r.rolname)
		       || ' admin=' || a.admin_option
		FROM pg_auth_members a JOIN pg_authid r ON r.oid = a.roleid JOIN pg_authid m ON m.oid = a.member
		WHERE m.rolname !~ '^pg_'
		UNION ALL
		SELECT 'setting ' || coalesce(quote_ident(r.rolname), '(every role)')
		       || ' in ' || coalesce(quote_ident(d.datname), '(every database)') || ' ' || c.cfg
		FROM pg_db_role_setting s
		LEFT JOIN pg_authid r ON r.oid = s.setrole
		LEFT JOIN pg_database d ON d.oid = s.setdatabase
		CROSS JOIN LATERAL unnest(s.setconfig) c(cfg)
		WHERE s.setrole <> 0 AND r.rolname !~ '^pg_'
		UNION ALL
		SELECT 'password ' || quote_ident(rolname) || E'\\t' || rolpassword
		FROM pg_authid WHERE rolname !~ '^pg_' AND rolpassword IS NOT NULL AND oid <> 10" | LC_ALL=C sort
	return "${PIPESTATUS[0]}"
}

# dbcheck_roles SRC TGT: see the top of this file.
dbcheck_roles() {
	local src=$1 tgt=$2 tmp diffs=0 line role
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbcheck.XXXXXX")
	if ! _dbcheck_role_lines "$src" >"$tmp/src" || ! _dbcheck_role_lines "$tgt" >"$tmp/tgt"; then
		echo "dbcheck: roles: reading the roles failed"
		rm -rf "$tmp"
		return 1
	fi
	# Passwords: the hashes where both sides have one, presence otherwise.
	grep '^password ' "$tmp/src" | cut -f1 | cut -d' ' -f2- >"$tmp/pw.src"
	grep '^password ' "$tmp/tgt" | cut -f1 | cut -d' ' -f2- >"$tmp/pw.tgt"
	while IFS= read -r line; do
		case $line in
		"< password "*)
			role=${line#< password }; role=${role%%$'\t'*}
			if grep -qxF -- "$role" "$tmp/pw.tgt"; then
				echo "dbcheck: roles: the password of role $role differs"
			else
				echo "dbcheck: roles: role $role has a password on the source only"
			fi
			diffs=$((diffs + 1))
			;;
		"> password "*)
			role=${line#> password }; role=${role%%$'\t'*}
			if ! grep -qxF -- "$role" "$tmp/pw.src"; then
				echo "dbcheck: roles: role $role has a password on the target only"
				diffs=$((diffs + 1))
			fi
			;;
		"< "*) echo "dbcheck: roles: source only: ${line#< }"; diffs=$((diffs + 1)) ;;
		"> "*) echo "dbcheck: roles: target only: ${line#> }"; diffs=$((diffs + 1)) ;;
		esac
	done < <(diff "$tmp/src" "$tmp/tgt")
	local nroles
	nroles=$(grep -c '^role ' "$tmp/src")
	rm -rf "$tmp"
	_dbcheck_verdict roles "$diffs" "$src" "$tgt" "$nroles roles"
}

# dbcheck_tables_of SERVER DB: the ordinary tables of DB, schema.name, sorted.
dbcheck_tables_of() {
	pg_sql "$1" "$2" "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1" | LC_ALL=C sort
}

# dbcheck_pgdump_choice FROM TO DB PG_DUMP-ARGS...: what PostgreSQL's own
# tools make of a choice: pg_dump of DB on server FROM with those options,
# restored with --create into a fresh DB on server TO; sets ORACLE_TABLES
# (the TABLE DATA entries of pg_restore -l, schema.name, sorted).
dbcheck_pgdump_choice() {
	local from=$1 to=$2 db=$3 dump=$T_TMP/oracle.dump
	shift 3
	PGPASSFILE=$NO_PGPASS "$PG_BINDIR/pg_dump" -Fc --create -h "$(pg_sockdir "$from")" -p "$(pg_port "$from")" -U postgres \
		"$@" -f "$dump" "$db" || bail "pg_dump failed"
	ORACLE_TABLES=$("$PG_BINDIR/pg_restore" -l "$dump" | awk '$4 == "TABLE" && $5 == "DATA" { print $6 "." $7 }' |
		LC_ALL=C sort)
	pg_sql "$to" postgres "DROP DATABASE IF EXISTS \"$db\""
	PGPASSFILE=$NO_PGPASS "$PG_BINDIR/pg_restore" --create -h "$(pg_sockdir "$to")" -p "$(pg_port "$to")" -U postgres \
		-d postgres "$dump" 2>"$T_TMP/oracle.err" || { cat "$T_TMP/oracle.err" >&2; bail "pg_restore failed"; }
}
