#!/bin/sh
# deps.sh: make sure the Debian packages pgcarry builds and tests with are
# installed.  As root it installs what is missing with apt-get; otherwise it
# prints the exact apt-get line to run and fails.
set -e

PACKAGES="gcc make libc6-dev libpq-dev libzstd-dev libjansson-dev libxxhash-dev
libsqlite3-dev libssl-dev libarchive-dev libpg-query-dev postgresql postgresql-client postgresql-contrib
postgresql-15-partman zstd
perl tar procps valgrind tmux time util-linux gnuplot-nox"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "pgcarry: installing missing packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
else
	echo "pgcarry: these Debian packages are missing:$missing" >&2
	echo "pgcarry: install them with:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
