#!/usr/bin/env bash
# make install / make uninstall into a scratch DESTDIR, and what they put there:
# - the file list (binary, man pages, completions, unit, config, library, header, synprobe.pc),
#   and nothing left after make uninstall;
# - every man page renders without a warning (man --warnings), and each command's long options
#   are the same in its --help, its man page, the bash completion and the zsh one's _arguments
#   specs (both directions; zsh -n parses the zsh one); the man entries of check's and ping's
#   options past the handshake (--tls ... --close) start with their --help words;
# - the bash completion completes commands, options, durations, interfaces, files;
# - the unit passes systemd-analyze verify without a message;
# - libsynprobe.so exports exactly the calls of libsynprobe.h under its soname, and
#   examples/check_targets.c, built with pkg-config against the installed copy, checks an open
#   and a closed port in a network namespace (no accept()).
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "make install, man pages, completion and the library's example"
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

top=$(cd "$(dirname "$0")/../.." && pwd)
SYNPROBE=$(readlink -f "$SYNPROBE")
export LC_ALL=C
dest=$SP_TMP/dest
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "")
libdir=/usr/lib${multiarch:+/$multiarch}

# --- make install: exactly these files
if make -C "$top" OUTPUT="$SP_OUTPUT" install DESTDIR="$dest" PREFIX=/usr LIBDIR="$libdir" \
	>"$SP_TMP/install.log" 2>&1; then
	ok "make install DESTDIR PREFIX=/usr"
else
	not_ok "make install DESTDIR PREFIX=/usr: $(tail -n 3 "$SP_TMP/install.log")"
fi
version=$(cat "$top/VERSION")
sort >"$SP_TMP/want" <<EOF
/etc/synprobe/synprobe.yaml
$libdir/libsynprobe.a
$libdir/libsynprobe.so
$libdir/libsynprobe.so.0
$libdir/libsynprobe.so.$version
$libdir/pkgconfig/synprobe.pc
/usr/include/synprobe/libsynprobe.h
/usr/include/synprobe/synprobe.h
/usr/lib/systemd/system/synprobe.service
/usr/sbin/synprobe
/usr/share/bash-completion/completions/synprobe
/usr/share/man/man5/synprobe.yaml.5
/usr/share/man/man8/synprobe-check.8
/usr/share/man/man8/synprobe-cleanup.8
/usr/share/man/man8/synprobe-halfclose.8
/usr/share/man/man8/synprobe-keepalive.8
/usr/share/man/man8/synprobe-ping.8
/usr/share/man/man8/synprobe-serve.8
/usr/share/man/man8/synprobe.8
/usr/share/zsh/vendor-completions/_synprobe
EOF
(cd "$dest" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort) >"$SP_TMP/got"
if diff -u "$SP_TMP/want" "$SP_TMP/got" >"$SP_TMP/diff"; then
	ok "make install puts down the binary, man pages, completion, unit, config, library"
else
	not_ok "make install file list: $(grep '^[-+]/' "$SP_TMP/diff" | tr '\n' ' ')"
fi
check "the installed binary runs" grep -q "synprobe $version" <("$dest/usr/sbin/synprobe" --version)
check "the unit runs the installed paths" grep -q \
	'^ExecStart=/usr/sbin/synprobe serve -c /etc/synprobe/synprobe.yaml' \
	"$dest/usr/lib/systemd/system/synprobe.service"
config_good() { "$SYNPROBE" serve -c "$dest/etc/synprobe/synprobe.yaml" --check-config >/dev/null; }
check "the installed config is good" config_good

# --- man pages: no warning, found by name
warn_ok=1
for page in "$dest"/usr/share/man/man*/*; do
	out=$(man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$out" ] || { warn_ok=0; diag "$page: $out"; }
done
check "man --warnings -l prints nothing for any page" [ $warn_ok = 1 ]
check "man -M finds synprobe-check(8)" grep -q 'synprobe-check - half-open' \
	<(MANWIDTH=100 man -M "$dest/usr/share/man" 8 synprobe-check 2>/dev/null)

# --- the long options of --help, the man page and the completion are the same
# help_opts ARGS...: the long options --help defines (the option lines, not the prose).
help_opts() {
	"$SYNPROBE" "$@" --help | grep -oE '^ {2,6}(-[A-Za-z0-9], )?--[a-z0-9][a-z0-9.-]*' |
		grep -oE -- '--[a-z0-9.-]+' | sort -u
}
# man_opts PAGE: the long options its option lists define (lines at the list's indent).
man_opts() {
	MANWIDTH=200 man -l "$dest/usr/share/man/man8/$1.8" 2>/dev/null | col -b |
		grep -oE '^ {7}(-[A-Za-z0-9], )?--[a-z0-9][a-z0-9.-]*' | grep -oE -- '--[a-z0-9.-]+' |
		sort -u
}
# comp_opts WORDS...: what the completion offers after "synprobe WORDS... --".
comp_opts() {
	(
		# shellcheck disable=SC1091
		. "$dest/usr/share/bash-completion/completions/synprobe"
		COMP_WORDS=(synprobe "$@" --)
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_synprobe 2>/dev/null
		printf '%s\n' "${COMPREPLY[@]}" | sort -u
	)
}
# zsh_opts WORDS...: the long options of the _arguments specs the zsh completion gives after
# "synprobe WORDS... --" (_arguments stubbed: it prints its specs, or for '*::argument:->args'
# shifts words and sets state, as the real one does).
ZSH_COMP=$dest/usr/share/zsh/vendor-completions/_synprobe
zsh_opts() {
	# shellcheck disable=SC2016
	zsh -f -c '
		_arguments() {
			if (( ${@[(I)\*::argument:->args]} )); then
				shift words
				state=args
				return 0
			fi
			print -rl -- "$@"
		}
		file=$1
		shift
		words=(synprobe "$@" --)
		CURRENT=$#words
		source $file' zsh_opts "$ZSH_COMP" "$@" |
		sed -E 's/^\([^)]*\)//; s/^\*//' | grep -oE -- '^--[a-z0-9][a-z0-9.-]*' | sort -u
}
check "zsh -n parses the zsh completion" zsh -n "$ZSH_COMP"
for cmd in check ping serve keepalive cleanup halfclose; do
	if [ $cmd = halfclose ]; then
		sort -u <(help_opts halfclose server) <(help_opts halfclose client) >"$SP_TMP/help"
		sort -u <(comp_opts halfclose server) <(comp_opts halfclose client) >"$SP_TMP/comp"
		sort -u <(zsh_opts halfclose server) <(zsh_opts halfclose client) >"$SP_TMP/zsh"
	else
		help_opts $cmd >"$SP_TMP/help"
		comp_opts $cmd >"$SP_TMP/comp"
		zsh_opts $cmd >"$SP_TMP/zsh"
	fi
	man_opts synprobe-$cmd >"$SP_TMP/man"
	if [ -s "$SP_TMP/help" ] && diff "$SP_TMP/help" "$SP_TMP/man" >"$SP_TMP/diff"; then
		ok "$cmd: --help and synprobe-$cmd(8) have the same $(wc -l <"$SP_TMP/help") long options"
	else
		not_ok "$cmd: --help (<) and synprobe-$cmd(8) (>) differ: $(grep '^[<>]' "$SP_TMP/diff" | tr '\n' ' ')"
	fi
	if diff "$SP_TMP/help" "$SP_TMP/comp" >"$SP_TMP/diff"; then
		ok "$cmd: --help and the bash completion have the same long options"
	else
		not_ok "$cmd: --help (<) and the completion (>) differ: $(grep '^[<>]' "$SP_TMP/diff" | tr '\n' ' ')"
	fi
	if diff "$SP_TMP/help" "$SP_TMP/zsh" >"$SP_TMP/diff"; then
		ok "$cmd: --help and the zsh completion have the same long options"
	else
		not_ok "$cmd: --help (<) and the zsh completion (>) differ: $(grep '^[<>]' "$SP_TMP/diff" | tr '\n' ' ')"
	fi
done

# --- the options past the handshake: their man entries start with their --help text
# help_desc CMD OPT: OPT's text in CMD --help, after its synopsis, lines joined (mawk has no
# interval expressions: the indents are counted in awk).
help_desc() {
	"$SYNPROBE" "$1" --help | awk -v o="$2" '
		{ match($0, /^ */); ind = RLENGTH; rest = substr($0, ind + 1) }
		on && ind == 25 { t = t " " rest; next }
		on { exit }
		ind == 6 && (rest == o || index(rest, o " ") == 1) {
			on = 1; sub(/^--[a-z-]+( [^ ]+)? +/, "", rest); t = rest
		}
		END { print t }' | tr -s ' '
}
# man_desc PAGE OPT: the paragraph of OPT in PAGE(8), rendered in ASCII on one line.
man_desc() {
	LC_ALL=C MANWIDTH=1000 man -l "$dest/usr/share/man/man8/$1.8" 2>/dev/null | col -bx |
		awk -v o="$2" '
		{ match($0, /^ */); ind = RLENGTH; rest = substr($0, ind + 1) }
		on && ind > 7 && rest != "" { print rest; exit }
		ind == 7 && (rest == o || index(rest, o " ") == 1) { on = 1 }' | tr -s ' '
}
for cmd in check ping; do
	same=0 differ=
	for opt in --tls --sni --ca --insecure --alpn --send --expect --proxy-protocol --close; do
		h=$(help_desc $cmd $opt) m=$(man_desc synprobe-$cmd $opt)
		# The man page's sentence starts with a capital and goes on after the help's text.
		if [ -n "$h" ] && [[ "$m" == "${h^}"* ]]; then
			same=$((same + 1))
		else
			differ="$differ $opt (help: '$h'; man: '$m')"
		fi
	done
	check "$cmd: the 9 options past the handshake have their --help words in synprobe-$cmd(8)${differ:+:$differ}" \
		[ $same = 9 ]
done

# --- bash completion: a few cases
# complete_words WORDS...: the completions of the last word, one line.
complete_words() {
	(
		# shellcheck disable=SC1091
		. "$dest/usr/share/bash-completion/completions/synprobe"
		COMP_WORDS=(synprobe "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_synprobe 2>/dev/null
		echo "${COMPREPLY[*]}"
	)
}
touch "$SP_TMP/targets.txt"
check "completion: commands" [ "$(complete_words c)" = "check cleanup" ]
check "completion: an option" [ "$(complete_words check --ti)" = "--timeout" ]
check "completion: a duration's unit" [ "$(complete_words check -t 5)" = "5ms 5s 5m" ]
check "completion: durations" grep -qw 500ms <<<"$(complete_words serve --probe-timeout-max '')"
check "completion: interfaces for -i" [ "$(in_c bash -c "$(declare -f complete_words); dest=$dest; complete_words check -i spv")" = "$VETH_C" ]
check "completion: the next interface of a list" [ "$(in_c bash -c "$(declare -f complete_words); dest=$dest; complete_words serve -i lo,spv")" = "lo,$VETH_C" ]
check "completion: files for -f" [ "$(complete_words check -f "$SP_TMP/targ")" = "$SP_TMP/targets.txt" ]
check "completion: files for serve -c" [ "$(complete_words serve --config "$SP_TMP/targ")" = "$SP_TMP/targets.txt" ]
check "completion: --opt=value" [ "$(complete_words serve --log-level = w)" = "warn" ]
check "completion: halfclose roles" [ "$(complete_words halfclose c)" = "client" ]

# --- the unit: systemd-analyze verify, with ExecStart pointing at this build
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$SP_TMP/unit"
	sed "s|/usr/sbin/synprobe|$SYNPROBE|" "$dest/usr/lib/systemd/system/synprobe.service" \
		>"$SP_TMP/unit/synprobe.service"
	# verify runs man for each Documentation= page: the installed ones.
	if out=$(MANPATH=$dest/usr/share/man systemd-analyze verify "$SP_TMP/unit/synprobe.service" 2>&1) &&
		[ -z "$out" ]; then
		ok "systemd-analyze verify synprobe.service: no message"
	else
		not_ok "systemd-analyze verify synprobe.service: $out"
	fi
	check "the unit keeps its sandboxing" grep -q '^CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON' \
		"$SP_TMP/unit/synprobe.service"
else
	skip "systemd-analyze verify" "no systemd-analyze"
fi

# --- the library: exports, soname, the example built through pkg-config
lib=$dest$libdir/libsynprobe.so.$version
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort >"$SP_TMP/exports"
grep -oE '\bsynprobe_[a-z_]+\(' "$top/user/libsynprobe.h" | tr -d '(' | sort -u >"$SP_TMP/api"
if diff "$SP_TMP/api" "$SP_TMP/exports" >"$SP_TMP/diff"; then
	ok "libsynprobe.so exports the $(wc -l <"$SP_TMP/api") calls of libsynprobe.h, nothing else"
else
	not_ok "exports (>) differ from libsynprobe.h (<): $(grep '^[<>]' "$SP_TMP/diff" | tr '\n' ' ')"
fi
check "libsynprobe.so's soname is libsynprobe.so.0" grep -q 'SONAME.*\[libsynprobe.so.0\]' \
	<(readelf -d "$lib")
san=()
[ -n "${SP_SANITIZE:-}" ] && san=("-fsanitize=address,undefined")
export PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$dest$libdir/pkgconfig
# shellcheck disable=SC2046
if cc -Wall -Werror "${san[@]}" "$top/examples/check_targets.c" \
	$(pkg-config --cflags --libs synprobe) -o "$SP_TMP/check_targets" 2>"$SP_TMP/cc.log"; then
	ok "examples/check_targets.c builds with pkg-config --cflags --libs synprobe"
else
	not_ok "examples/check_targets.c does not build: $(head -n 3 "$SP_TMP/cc.log")"
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
# Only the installed header: the build did not see the source tree's.
check "the example uses the installed header" [ -z "$(cc -M -I"$dest/usr/include/synprobe" \
	"$top/examples/check_targets.c" | tr ' ' '\n' | grep "^$top/" | grep -v examples/)" ]
sp_listen lib $S4 8080 || not_ok "listener"
LISTEN4=$LISTEN_PID
sp_listen lib6 $S6 8080 || not_ok "listener"
out=$(in_c env LD_LIBRARY_PATH="$dest$libdir" "$SP_TMP/check_targets" $S4 8080 $S4 8081 $S6 8080 2>&1)
rc=$?
diag "$out"
outcomes() { [ $rc = 1 ] && [ "$(awk '{print $3}' <<<"$out" | tr '\n' ' ')" = "open closed open " ]; }
check "the example: open, closed, open over IPv4 and IPv6, exit 1" outcomes
check "the example gives a kernel RTT" [ "$(awk 'NR == 1 {print ($4 > 0)}' <<<"$out")" = 1 ]
check "the example used libsynprobe.so.0 from the install" grep -q "$dest$libdir/libsynprobe.so.0" \
	<(in_c env LD_LIBRARY_PATH="$dest$libdir" ldd "$SP_TMP/check_targets")
check "the listeners accepted no connection" [ "$(sp_accepted lib "$LISTEN4")$(sp_accepted lib6 "$LISTEN_PID")" = 00 ]

# --- make uninstall: nothing left but directories
make -C "$top" OUTPUT="$SP_OUTPUT" uninstall DESTDIR="$dest" PREFIX=/usr LIBDIR="$libdir" \
	>"$SP_TMP/uninstall.log" 2>&1
left=$(cd "$dest" && find . ! -type d)
check "make uninstall removes every file install put down" [ -z "$left" ]
[ -z "$left" ] || diag "left: $left"

# A changed config is kept; a non-/usr PREFIX keeps it under PREFIX/etc.
make -C "$top" OUTPUT="$SP_OUTPUT" install DESTDIR="$dest" >/dev/null 2>&1
check "PREFIX=/usr/local: the config in /usr/local/etc/synprobe" \
	[ -f "$dest/usr/local/etc/synprobe/synprobe.yaml" ]
check "PREFIX=/usr/local: the unit runs /usr/local/sbin/synprobe" grep -q \
	'^ExecStart=/usr/local/sbin/synprobe serve -c /usr/local/etc/synprobe/synprobe.yaml' \
	"$dest/usr/local/lib/systemd/system/synprobe.service"
echo "# changed" >>"$dest/usr/local/etc/synprobe/synprobe.yaml"
make -C "$top" OUTPUT="$SP_OUTPUT" uninstall DESTDIR="$dest" >/dev/null 2>&1
check "make uninstall keeps a changed config, and only it" \
	[ "$(cd "$dest" && find . ! -type d)" = "./usr/local/etc/synprobe/synprobe.yaml" ]

sp_finish
