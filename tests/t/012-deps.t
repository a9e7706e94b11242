#!/usr/bin/env bash
# scripts/deps.sh, which make check and make demo run first: silent when
# every package is there; without root, it names the exact apt-get line.
source "$(dirname "$0")/../lib/harness.sh"

deps=$HARNESS_ROOT/scripts/deps.sh

out=$(sh "$deps" 2>&1)
is "$?" 0 "every package present: exit 0"
is "$out" "" "every package present: nothing printed"

# A dpkg-query that reports two packages as missing (Debian's package
# database is the input here, not PostgreSQL).
mkdir -p "$T_TMP/stub"
cat >"$T_TMP/stub/dpkg-query" <<'STUB'
#!/bin/sh
for last; do :; done
case "$last" in
	libjansson-dev|zstd) echo "unknown ok not-installed" ;;
	*) echo "install ok installed" ;;
esac
STUB
chmod 755 "$T_TMP/stub/dpkg-query" "$T_TMP/stub" "$T_TMP"
cp "$deps" "$T_TMP/deps.sh"
chmod 644 "$T_TMP/deps.sh"

if [ "$(id -u)" = 0 ]; then
	out=$(runuser -u nobody -- env PATH="$T_TMP/stub:$PATH" sh "$T_TMP/deps.sh" 2>&1)
else
	out=$(env PATH="$T_TMP/stub:$PATH" sh "$T_TMP/deps.sh" 2>&1)
fi
rc=$?
is "$rc" 1 "missing packages without root: exit 1"
is "$out" "pgcarry: these Debian packages are missing: libjansson-dev zstd
pgcarry: install them with:
  sudo apt-get install -y libjansson-dev zstd" "missing packages without root: the exact apt-get line"

done_testing
