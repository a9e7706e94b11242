# bash completion for pgcarry: its commands, the verbs of schema and
# follow, and each command's options with the values they take.  Commands and options are
# read from "pgcarry --help" and "pgcarry COMMAND --help" of the pgcarry
# being completed, so they are always those of the installed version.

# Options named at the start of the help's option lines.
_pgcarry_options()
{
	"$@" --help 2>/dev/null | sed -nE 's/^ +(-[a-zA-Z?], )*(--[a-z][a-z-]*).*/\2/p'
}

_pgcarry()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local prog=${COMP_WORDS[0]}
	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		local cmds
		cmds=$("$prog" --help 2>/dev/null | sed -nE '/^Commands:/,/^$/s/^  ([a-z][a-z-]*) .*/\1/p')
		COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur"))
		return 0
	fi
	local cmd=${COMP_WORDS[1]} verb=""
	# Commands with verbs (schema, follow) list them in their usage lines.
	local verbs
	verbs=$("$prog" "$cmd" --help 2>/dev/null | sed -nE "s/^  pgcarry $cmd ([a-z]+) \| ([a-z]+) \| ([a-z]+).*/\1 \2 \3/p
		t
		s/^  pgcarry $cmd ([a-z]+)( .*)?$/\1/p")
	if [ -n "$verbs" ]; then
		if [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
			return 0
		fi
		verb=${COMP_WORDS[2]}
	fi
	case "$prev" in
		--progress) COMPREPLY=($(compgen -W "auto tty log json none" -- "$cur")); return 0 ;;
		--verify) COMPREPLY=($(compgen -W "full count none" -- "$cur")); return 0 ;;
		--log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return 0 ;;
		--format) COMPREPLY=($(compgen -W "dir tar" -- "$cur")); return 0 ;;
		--compress) COMPREPLY=($(compgen -W "zstd none zstd:1 zstd:3 zstd:9 zstd:19" -- "$cur")); return 0 ;;
		--output | --input | --dir | --state-dir | --progress-file)
			COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
		--source | --target | --jobs | -j | --to | --db | --rename | --exclude-database | \
			--schema | -n | --exclude-schema | -N | --table | -t | --exclude-table | -T | --part-size | --connect-timeout | \
			--lock-timeout | --statement-timeout | --retry-budget | --lock-wait | --batch-size | --pause | \
			--max-slot-wal | --lag-max | --wait-max)
			return 0 ;;
	esac
	if [[ "$cur" == -* ]]; then
		local opts
		[ -n "$verb" ] && opts=$(_pgcarry_options "$prog" "$cmd" "$verb")
		[ -n "$opts" ] || opts=$(_pgcarry_options "$prog" "$cmd")
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return 0
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
	return 0
}

complete -F _pgcarry pgcarry
