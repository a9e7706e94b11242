#!/usr/bin/env bash
# Installable: make install (PREFIX, DESTDIR) puts the binary, a man page for
# pgcarry and for each command, and the bash completion in place; the man
# pages render without warnings and name exactly the options --help names;
# the completion offers the commands and options --help lists; make
# uninstall removes every file it installed.  LICENSE and CHANGELOG exist.
source "$(dirname "$0")/../lib/harness.sh"

ROOT=$HARNESS_ROOT
STAGE=$T_TMP/stage
BUILD_DIR=$(dirname "$PGCARRY")
# The build under test is installed as it is (no rebuild): BUILD names it.
make -s -C "$ROOT" -o "$BUILD_DIR/pgcarry" install BUILD="$BUILD_DIR" DESTDIR="$STAGE" PREFIX=/usr >"$T_TMP/install.log" 2>&1
is "$?" 0 "make install DESTDIR=... PREFIX=/usr exits 0"
BIN=$STAGE/usr/bin/pgcarry
MAN=$STAGE/usr/share/man/man1
COMP=$STAGE/usr/share/bash-completion/completions/pgcarry
ok "$([ -x "$BIN" ] && echo 0 || echo 1)" "the binary is installed, executable"
like "$("$BIN" --version)" '^pgcarry [0-9]+\.[0-9]+' "the installed binary runs"
ok "$([ -f "$COMP" ] && echo 0 || echo 1)" "the bash completion is installed"

# help_run ARGS...: pgcarry ARGS --help, run here through the harness and
# kept in a file; help_text ARGS... prints it.
help_run() { run_pgcarry "$@" --help; printf '%s\n' "$OUT" >"$T_TMP/help.$(IFS=_; echo "$*")"; }
help_text() { cat "$T_TMP/help.$(IFS=_; echo "$*")"; }
help_run
commands=$(help_text | sed -nE '/^Commands:/,/^$/s/^  ([a-z][a-z-]*) .*/\1/p')
for cmd in ping verify-archive $commands; do help_run "$cmd"; done
verbs=$(help_text schema | sed -nE 's/^  pgcarry schema ([a-z]+).*/\1/p')
for v in $verbs start complete rollback; do help_run schema "$v"; done
missing=""
for page in pgcarry $(sed 's/^/pgcarry-/' <<<"$commands"); do
	[ -f "$MAN/$page.1" ] || missing="$missing $page"
done
is "$missing" "" "a man page for pgcarry and for each command ($(echo $commands))"
warn=$(for f in "$MAN"/*.1; do LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$f" 2>&1 | sed "s|^|$(basename "$f"): |"; done)
is "$warn" "" "every man page renders without a warning"

# Options: those at the start of --help's option lines, and those of the
# man pages' .TP entries (roff's \- unescaped).
help_opts() { help_text "$@" | sed -nE 's/^ +(-[a-zA-Z?], )*(--[a-z][a-z-]*).*/\2/p' | sort -u; }
man_opts() { awk 'p { print; p = 0 } /^\.TP/ { p = 1 }' "$1" | sed 's/\\-/-/g' | grep -oE -- '--[a-z][a-z-]*' | sort -u; }
common=$(help_opts ping | comm -12 - <(help_opts verify-archive))
is "$(comm -23 <(echo "$common") <(man_opts "$MAN/pgcarry.1") | xargs)" "" "pgcarry(1) names every common option of --help"
is "$(comm -13 <(echo "$common") <(man_opts "$MAN/pgcarry.1") | xargs)" "" "pgcarry(1) names no option --help lacks"
for cmd in $commands; do
	if [ "$cmd" = schema ]; then
		want=$( { help_opts schema; for v in $verbs start complete rollback; do help_opts schema "$v"; done; } | sort -u | comm -23 - <(echo "$common"))
	else
		want=$(help_opts "$cmd" | comm -23 - <(echo "$common"))
	fi
	have=$(man_opts "$MAN/pgcarry-$cmd.1")
	is "$(comm -23 <(echo "$want") <(echo "$have") | xargs)" "" "pgcarry-$cmd(1) names every option of pgcarry $cmd --help"
	is "$(comm -13 <(echo "$want") <(echo "$have") | grep . | xargs)" "" "pgcarry-$cmd(1) names no option pgcarry $cmd --help lacks"
done

# The completion, as bash runs it, against the installed binary.
complete_words() {
	PATH="$STAGE/usr/bin:$PATH" bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pgcarry; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$COMP" "$@" | sort | xargs
}
is "$(complete_words pgcarry "")" "$(echo $commands --help --version | tr ' ' '\n' | sort | xargs)" "completion: the commands"
is "$(complete_words pgcarry copy --)" "$(help_opts copy | xargs)" "completion: every option of copy"
is "$(complete_words pgcarry copy --progress "")" "auto json log none tty" "completion: the values of --progress"
is "$(complete_words pgcarry schema st)" "start status" "completion: schema's verbs"
is "$(complete_words pgcarry schema start --ba)" "--batch-size" "completion: a schema verb's options"
is "$(complete_words pgcarry follow "")" "status stop" "completion: follow's verbs"

make -s -C "$ROOT" uninstall BUILD="$BUILD_DIR" DESTDIR="$STAGE" PREFIX=/usr >>"$T_TMP/install.log" 2>&1
is "$?" 0 "make uninstall exits 0"
is "$(find "$STAGE" -type f | xargs)" "" "make uninstall removes every installed file"

like "$(head -3 "$ROOT/LICENSE")" "PostgreSQL License" "LICENSE: the PostgreSQL License"
like "$(cat "$ROOT/LICENSE")" "Copyright \(c\) 2026, pgcarry developers" "LICENSE: held by the pgcarry developers"
like "$(head -5 "$ROOT/CHANGELOG.md")" "^# Changelog" "CHANGELOG.md is there"
like "$(sed -n '/^## Install/,/^## /p' "$ROOT/README.md")" "make install" "the README has an Install section"

done_testing
