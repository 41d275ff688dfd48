#!/usr/bin/env bash
# Loading errors say what happened. A program the verifier rejects (forced with the engine's test
# hook SYNPROBE_TEST_REJECT_PROGRAM, which loads the named program as XDP) is named, with the
# verifier's last lines; that case reads differently from missing privileges; --method auto
# falls back and its warning and the JSON's fallback_reason give the real reason; a normal run
# has "fallback_reason": null. Nothing is left attached by a failed load.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }


# run_sp NAME ARGS...: synprobe in the client namespace; NAME.out, NAME.err; sets RC.
run_sp() {
	local name=$1
	shift
	in_c "$@" >"$SP_TMP/$name.out" 2>"$SP_TMP/$name.err"
	RC=$?
}

# The client namespace's own loopback, where nothing listens: a closed port, answered by RST,
# which is all these tests need.
TARGET=127.0.0.1:18100

run_sp ok env "$SYNPROBE" check --json "$TARGET"
check "a normal run: method bpf and fallback_reason null" \
	grep -q '"method":"bpf","fallback_reason":null' "$SP_TMP/ok.out"

run_sp rej_bpf env SYNPROBE_TEST_REJECT_PROGRAM=sp_tc_ingress "$SYNPROBE" check -m bpf "$TARGET"
check "verifier rejection with -m bpf: exit 2" test "$RC" -eq 2
check "verifier rejection: one Error line naming the program and the verifier" \
	test "$(grep -c '^Error: ' "$SP_TMP/rej_bpf.err")" -eq 1 -a \
	"$(grep -c "^Error: cannot use BPF: the kernel's verifier rejected the BPF program 'sp_tc_ingress'" "$SP_TMP/rej_bpf.err")" -eq 1
check "verifier rejection: the verifier's last lines follow, with its complaint" \
	grep -q '^  | invalid bpf_context access' "$SP_TMP/rej_bpf.err"
check "verifier rejection: not reported as missing privileges" \
	bash -c "! grep -q 'run as root' '$SP_TMP/rej_bpf.err'"
check "verifier rejection: nothing on stdout" test ! -s "$SP_TMP/rej_bpf.out"

run_sp rej_vv env SYNPROBE_TEST_REJECT_PROGRAM=sp_tc_egress "$SYNPROBE" check -m bpf -vv "$TARGET"
check "with -vv: the whole verifier log of the egress program" \
	bash -c "grep -q '^All of the verifier' '$SP_TMP/rej_vv.err' && grep -q '^  | 0: R1=ctx' '$SP_TMP/rej_vv.err' && grep -q \"'sp_tc_egress'\" '$SP_TMP/rej_vv.err'"

run_sp rej_auto env SYNPROBE_TEST_REJECT_PROGRAM=sp_tc_ingress "$SYNPROBE" check --json "$TARGET"
check "auto falls back: method connect, a result all the same" \
	grep -q '"outcome":"closed".*"method":"connect"' "$SP_TMP/rej_auto.out"
check "auto falls back: fallback_reason names the rejected program" \
	grep -q "\"fallback_reason\":\"the kernel's verifier rejected the BPF program 'sp_tc_ingress'" "$SP_TMP/rej_auto.out"
check "auto falls back: one warning line with the same reason" \
	test "$(grep -c "^Warning: cannot use BPF: the kernel's verifier rejected the BPF program 'sp_tc_ingress'" "$SP_TMP/rej_auto.err")" -eq 1

# Without privileges: a different reason.
if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SYNPROBE"; then
	run_sp unpriv setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		--bounding-set=-all "$SYNPROBE" check --json "$TARGET"
	check "unprivileged auto: fallback_reason says privileges, not the verifier" \
		bash -c "grep -q '\"fallback_reason\":\"using BPF was refused (Operation not permitted): run as root' '$SP_TMP/unpriv.out' && ! grep -q verifier '$SP_TMP/unpriv.out'"
else
	skip "unprivileged auto: fallback_reason says privileges" "user 65534 cannot execute $SYNPROBE"
fi

check "nothing left attached after the failed loads" sp_no_bpf_left
sp_finish
