#!/usr/bin/env bash
# synprobe check with bad input: every mistake gives exactly one line on stderr that starts with
# "Error: " and names the input, exit status 2, nothing on stdout, and no BPF program loaded or
# attached. The same in --json mode as one {"error": ...} object on stdout. Without CAP_BPF, one
# line that says to run as root or give CAP_BPF.
#
# Everything runs in the client namespace: its resolv.conf points at 127.0.0.1 and its hosts file
# is lib.sh's, so an unknown name fails at once and no query leaves the namespace.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "the parsing of options, targets and files, each refused before anything is loaded"
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

SP_TCX_QUERY=$SP_OUTPUT/tests/sp_tcx_query
HAVE_STRACE=$(command -v strace >/dev/null && echo 1)
# LeakSanitizer cannot run under ptrace: in a sanitizer build (make test SANITIZE=1) no strace.
if [ -n "${SP_SANITIZE:-}" ]; then
	HAVE_STRACE=
	diag "sanitizer build: LeakSanitizer does not work under strace, so no strace"
fi
HAVE_JQ=$(command -v jq >/dev/null && echo 1)
[ -n "$HAVE_STRACE" ] || diag "no strace: the 'no BPF program loaded' checks are skipped"
[ -x "$SP_TCX_QUERY" ] || diag "no $SP_TCX_QUERY (make tests-build): the TCX checks are skipped"

# ns_clean: nothing of synprobe on the client namespace's interfaces: no TCX program (asked of
# the kernel, see tests/helpers/sp_tcx_query.c) and no clsact qdisc or filter.
ns_clean() {
	local ifc out
	for ifc in lo "$VETH_C"; do
		# A kernel without TCX (6.1) fails the query: nothing can be attached that way there.
		if [ -x "$SP_TCX_QUERY" ] && out=$(in_c "$SP_TCX_QUERY" "$ifc" 2>/dev/null); then
			[ "$(tr -d '\n' <<<"$out")" = "ingress:egress:" ] || return 1
		fi
		tc -n "$NS_C" qdisc show dev "$ifc" | grep -q clsact && return 1
		[ -z "$(tc -n "$NS_C" filter show dev "$ifc" ingress 2>/dev/null)" ] || return 1
		[ -z "$(tc -n "$NS_C" filter show dev "$ifc" egress 2>/dev/null)" ] || return 1
	done
	return 0
}

# run_sp NAME ARGS...: synprobe check ARGS in the client namespace (under strace for bpf(), when
# there is strace); stdout, stderr and the trace go to $SP_TMP/NAME.{out,err,trace}; sets RC.
run_sp() {
	local name=$1
	shift
	if [ -n "$HAVE_STRACE" ]; then
		in_c strace -f -qq -o "$SP_TMP/$name.trace" -e trace=bpf \
			"$SYNPROBE" check "$@" >"$SP_TMP/$name.out" 2>"$SP_TMP/$name.err"
	else
		in_c "$SYNPROBE" check "$@" >"$SP_TMP/$name.out" 2>"$SP_TMP/$name.err"
	fi
	RC=$?
}

# one_error_line FILE NEEDLE: FILE is exactly one line, "Error: ...", that contains NEEDLE.
one_error_line() {
	[ "$(wc -l <"$1")" -eq 1 ] && grep -q '^Error: ' "$1" && grep -qF -- "$2" "$1"
}

# no_bpf_load NAME: the trace of run NAME has no bpf(BPF_PROG_LOAD) (no strace: true).
no_bpf_load() {
	[ -z "$HAVE_STRACE" ] && return 0
	[ -f "$SP_TMP/$1.trace" ] && ! grep -q 'BPF_PROG_LOAD' "$SP_TMP/$1.trace"
}

# show NAME: what run NAME did, for the TAP log when a check fails.
show() {
	diag "  exit $RC; stdout: $(tr '\n' '|' <"$SP_TMP/$1.out")"
	diag "  stderr: $(tr '\n' '|' <"$SP_TMP/$1.err")"
}

n=0
# bad DESCRIPTION NEEDLE ARGS...: the plain-text error case.
bad() {
	local desc=$1 needle=$2 name
	shift 2
	n=$((n + 1))
	name=bad$n
	run_sp "$name" "$@"
	if [ $RC -eq 2 ] && [ ! -s "$SP_TMP/$name.out" ] && one_error_line "$SP_TMP/$name.err" "$needle"; then
		ok "$desc: exit 2, stdout empty, one 'Error:' line naming '$needle'"
	else
		not_ok "$desc: exit 2, stdout empty, one 'Error:' line naming '$needle'"
		show "$name"
	fi
	if no_bpf_load "$name" && ns_clean; then
		ok "$desc: no BPF program loaded, nothing attached"
	else
		not_ok "$desc: no BPF program loaded, nothing attached"
	fi
}

# bad_json DESCRIPTION NEEDLE ARGS...: the --json error case: one object {"error": "..."} on
# stdout that contains NEEDLE, nothing on stderr.
bad_json() {
	local desc=$1 needle=$2 name
	shift 2
	n=$((n + 1))
	name=bad$n
	run_sp "$name" "$@"
	if [ $RC -eq 2 ] && [ ! -s "$SP_TMP/$name.err" ] && [ "$(wc -l <"$SP_TMP/$name.out")" -eq 1 ] &&
		grep -qF -- "$needle" "$SP_TMP/$name.out" &&
		{ [ -z "$HAVE_JQ" ] ||
			jq -e 'type == "object" and keys == ["error"] and (.error | type == "string")' \
				"$SP_TMP/$name.out" >/dev/null; }; then
		ok "--json, $desc: exit 2, one {\"error\": ...} object naming '$needle', stderr empty"
	else
		not_ok "--json, $desc: exit 2, one {\"error\": ...} object naming '$needle', stderr empty"
		show "$name"
	fi
	if no_bpf_load "$name" && ns_clean; then
		ok "--json, $desc: no BPF program loaded, nothing attached"
	else
		not_ok "--json, $desc: no BPF program loaded, nothing attached"
	fi
}

check "the client namespace starts clean" ns_clean

start=$SECONDS
bad "unknown host" "nosuchhost.test" nosuchhost.test:80
# The name fails at the resolver at once, not after a DNS timeout (5 s a try). An emulated CPU runs
# the two strace'd synprobe runs of bad() for several seconds by itself: no bound means anything.
check_timing "the unknown host fails at once ($((SECONDS - start)) s)" \
	"the strace'd runs alone take seconds there" [ $((SECONDS - start)) -le 3 ]
bad "port 0" "$S4:0" "$S4:0"
bad "port 65536" "65536" "$S4:65536"
bad "port 0 with -p" "'0'" -p 0 "$S4"
bad "port 65536 with -p" "65536" -p 65536 "$S4"
bad "port that is not a number" "8o" "$S4:8o"
bad "host without a port and without -p" "server4.test" server4.test
bad "IPv6 literal without a port and without -p" "$S6" "$S6"
bad "malformed IPv6 [zz::1]:80" "zz::1" "[zz::1]:80"
bad "unterminated IPv6 [::1" "[::1" "[::1"
bad "missing interface -i nosuchif0" "nosuchif0" -i nosuchif0 "$S4:80"
bad "timeout -t 0" "'0'" -t 0 "$S4:80"
bad "timeout -t abc" "abc" -t abc "$S4:80"
bad "timeout -t -1s" "-1s" -t -1s "$S4:80"
bad "timeout without a value" "-t" "$S4:80" -t
bad "unknown long option" "--no-such-option" --no-such-option "$S4:80"
bad "unknown short option" "-x" -x "$S4:80"
# getopt keeps going inside "-xv" after the 'x': the error must still name that argument.
bad "unknown short option first in a cluster (-xv)" "-x" -xv "$S4:80"
bad "no targets" "TARGET" -t 1s
bad "-4 and -6 together" "-4 and -6" -4 -6 server.test:80
bad "bad --test-close-delay" "soon" --test-close-delay soon "$S4:80"
bad "unknown --method" "carrier-pigeon" --method carrier-pigeon "$S4:80"

bad_json "unknown host" "nosuchhost.test" --json nosuchhost.test:80
bad_json "port 0" "$S4:0" --json "$S4:0"
bad_json "host without a port" "server4.test" --json server4.test
bad_json "malformed IPv6" "zz::1" --json "[zz::1]:80"
bad_json "missing interface" "nosuchif0" --json -i nosuchif0 "$S4:80"
bad_json "timeout -t 0" "'0'" --json -t 0 "$S4:80"
bad_json "unknown option" "--no-such-option" --json --no-such-option "$S4:80"
bad_json "no targets" "TARGET" --json

# Without any capability: as nobody, every capability set empty, with --method bpf (the default,
# auto, falls back to connect with a warning: test_evidence.sh). The target is fine; loading the
# programs is what fails.
nobody_can_run() { setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SYNPROBE"; }
if ! command -v setpriv >/dev/null; then
	skip "without CAP_BPF" "no setpriv"
elif ! nobody_can_run; then
	skip "without CAP_BPF" "user 65534 cannot execute $SYNPROBE"
else
	unpriv() {
		in_c setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
			"$SYNPROBE" check "$@"
	}
	unpriv --method bpf "$S4:80" >"$SP_TMP/unpriv.out" 2>"$SP_TMP/unpriv.err"
	RC=$?
	if [ $RC -eq 2 ] && [ ! -s "$SP_TMP/unpriv.out" ] && one_error_line "$SP_TMP/unpriv.err" root &&
		grep -q 'CAP_BPF' "$SP_TMP/unpriv.err"; then
		ok "without capabilities, --method bpf: exit 2, stdout empty, one 'Error:' line: run as root or give CAP_BPF"
	else
		not_ok "without capabilities, --method bpf: exit 2, stdout empty, one 'Error:' line: run as root or give CAP_BPF"
		show unpriv
	fi
	check "without capabilities: nothing attached" ns_clean

	unpriv --json --method bpf "$S4:80" >"$SP_TMP/unpriv_json.out" 2>"$SP_TMP/unpriv_json.err"
	RC=$?
	if [ $RC -eq 2 ] && [ ! -s "$SP_TMP/unpriv_json.err" ] && [ "$(wc -l <"$SP_TMP/unpriv_json.out")" -eq 1 ] &&
		grep -q 'CAP_BPF' "$SP_TMP/unpriv_json.out" &&
		{ [ -z "$HAVE_JQ" ] || jq -e 'keys == ["error"]' "$SP_TMP/unpriv_json.out" >/dev/null; }; then
		ok "--json without capabilities, --method bpf: exit 2, one {\"error\": ...} object, stderr empty"
	else
		not_ok "--json without capabilities, --method bpf: exit 2, one {\"error\": ...} object, stderr empty"
		show unpriv_json
	fi
fi

# The checks above can fail: a good run of the same kind is not an error.
run_sp good -t 200ms "$S4:9"
check "control: a well-formed check exits 1 (closed port), prints its result and no 'Error:'" \
	eval '[ $RC -eq 1 ] && grep -q " closed " "$SP_TMP/good.out" && ! grep -q "^Error: " "$SP_TMP/good.err"'
if [ -n "$HAVE_STRACE" ]; then
	check "control: the strace check sees a program load when there is one" \
		grep -q BPF_PROG_LOAD "$SP_TMP/good.trace"
fi
sp_finish
