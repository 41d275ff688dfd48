#!/usr/bin/env bash
# synprobe cleanup, and the clsact attach's own clean-up: a SIGKILLed --clsact run leaves its tc
# filters; `synprobe cleanup --dry-run` lists them, `synprobe cleanup` removes them and nothing
# else: not a foreign filter on the same hooks, not the filters of a synprobe that still runs
# (unless --force), and the clsact qdisc only when no filter at all is left on it. A new --clsact
# run removes a dead run's leftovers from the interfaces it attaches to, and nothing else.
#
# --clsact works on every kernel (TCX or not), so every assertion here runs everywhere. Each one
# is about the program IDs of our own processes and the interfaces of our own namespaces.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

FILTERED=8082
# Under emulation (the kernel matrix's QEMU/TCG) loading the programs takes seconds, not 0.3 s.
START_S=10
sp_emulated && START_S=90
in_s nft -f - <<NFT || not_ok "nft rule for the filtered port"
table inet sptest {
	chain input { type filter hook input priority 0; tcp dport $FILTERED drop; }
}
NFT

# --- helpers ---

# sp_bg NAME ARGS...: `synprobe check -v --clsact -t 120s ARGS $S4:$FILTERED` in the client
# namespace, in the background; it waits for its timeout, so it runs until it is killed. Its
# stdout/stderr in $SP_TMP/NAME.{out,err}. Sets BG_PID (synprobe's own: ip netns exec execs it).
sp_bg() {
	local name=$1
	shift
	ip netns exec "$NS_C" "$SYNPROBE" check -v --clsact -t 120s "$@" "$S4:$FILTERED" \
		>"$SP_TMP/$name.out" 2>"$SP_TMP/$name.err" &
	BG_PID=$!
	SP_PIDS+=("$BG_PID")
}

in_epoll_wait() { [ "$(cat "/proc/$1/wchan" 2>/dev/null)" = do_epoll_wait ]; }
# sp_running NAME PID: attached ("checks started" comes after the attach) and in its event loop.
sp_running() {
	wait_until $START_S grep -qs "checks started" "$SP_TMP/$1.err" && wait_until 5 in_epoll_wait "$2"
}
exited() { [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# sp_start NAME ARGS...: sp_bg, then waits until it runs; sets PID and PROGS (its program IDs).
sp_start() {
	sp_bg "$@"
	PID=$BG_PID
	if ! sp_running "$1" "$PID"; then
		not_ok "$1: synprobe started"
		diag "$(cat "$SP_TMP/$1.err")"
	fi
	PROGS=$(cat /proc/"$PID"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -un | tr '\n' ' ')
}

# sp_kill9 PID: SIGKILL, and wait until it is gone.
sp_kill9() {
	{ kill -KILL "$1"; wait_until 3 exited "$1"; wait "$1"; } 2>/dev/null
}

# ids_on IFACE: the program IDs of the eBPF tc filters on IFACE (both hooks), client namespace.
ids_on() {
	{ tc -n "$NS_C" filter show dev "$1" ingress; tc -n "$NS_C" filter show dev "$1" egress; } 2>/dev/null |
		sed -n 's/.* id \([0-9][0-9]*\) .*/\1/p' | sort -un | tr '\n' ' '
}
# on IFACE IDS: two of IDS (a run's programs: it loads more than it attaches) are filters on
# IFACE, ingress and egress. off IFACE IDS: none is (false for no IDS).
on() {
	local id cur n=0
	cur=" $(ids_on "$1") "
	for id in $2; do [[ $cur == *" $id "* ]] && n=$((n + 1)); done
	[ $n -eq 2 ]
}
off() {
	local id cur
	[ -n "${2// /}" ] || return 1
	cur=" $(ids_on "$1") "
	for id in $2; do [[ $cur == *" $id "* ]] && return 1; done
	return 0
}
# attached IFACE IDS: those of IDS that are filters on IFACE.
attached() {
	local id cur out=
	cur=" $(ids_on "$1") "
	for id in $2; do [[ $cur == *" $id "* ]] && out+="$id "; done
	echo "$out"
}
progs_gone() {
	local id
	[ -n "${1// /}" ] || return 1
	for id in $1; do bpftool prog show id "$id" >/dev/null 2>&1 && return 1; done
	return 0
}
clsact_on() { tc -n "$NS_C" qdisc show dev "$1" | grep -q 'qdisc clsact'; }
# A foreign filter on each hook: classic BPF (no program ID, so no name), pref 10, passes all.
FOREIGN=(bpf da bytecode '1,6 0 0 0,')
add_foreign() {
	tc -n "$NS_C" filter add dev "$1" ingress pref 10 "${FOREIGN[@]}" &&
		tc -n "$NS_C" filter add dev "$1" egress pref 10 "${FOREIGN[@]}"
}
foreign_on() {
	tc -n "$NS_C" filter show dev "$1" ingress | grep -q 'pref 10 .*bytecode' &&
		tc -n "$NS_C" filter show dev "$1" egress | grep -q 'pref 10 .*bytecode'
}
nothing_on() {
	! clsact_on "$1" && [ -z "$(tc -n "$NS_C" filter show dev "$1" ingress 2>/dev/null)" ] &&
		[ -z "$(tc -n "$NS_C" filter show dev "$1" egress 2>/dev/null)" ]
}
cleanup_c() { in_c "$SYNPROBE" cleanup "$@"; }

# --- nothing to clean ---
out=$(cleanup_c 2>"$SP_TMP/none.err")
rc=$?
check "nothing left: exit 0, nothing on stdout ($rc, '$out')" test $rc -eq 0 -a -z "$out"
check "nothing left: says so on stderr" grep -q "nothing to remove" "$SP_TMP/none.err"

# --- a dead run beside a live one and a foreign filter ---
tc -n "$NS_C" qdisc add dev "$VETH_C" clsact && add_foreign "$VETH_C" || not_ok "foreign filters added"
sp_start live
live=$PID live_progs=$PROGS
sp_start dead
dead=$PID dead_progs=$PROGS
check "the dead run's start left the live run's filters ($live_progs)" on "$VETH_C" "$live_progs"
sp_kill9 $dead
check "SIGKILL leaves the killed run's clsact filters ($dead_progs)" on "$VETH_C" "$dead_progs"
check "and its programs loaded" eval '! progs_gone "$dead_progs"'

dead_att=$(attached "$VETH_C" "$dead_progs") live_att=$(attached "$VETH_C" "$live_progs")
out=$(cleanup_c --dry-run 2>/dev/null)
rc=$?
diag "cleanup --dry-run: $(tr '\n' ';' <<<"$out")"
check "--dry-run: exit 0 ($rc)" test $rc -eq 0
for id in $dead_att; do
	check "--dry-run lists the dead run's program $id as 'would remove'" \
		grep -qE "^would remove +$VETH_C +(ingress|egress) +sp_tc_\S+ +prog $id " <<<"$out"
done
for id in $live_att; do
	check "--dry-run keeps the live run's program $id, held by pid $live" \
		grep -qE "^kept +$VETH_C .* prog $id .*held by pid $live \(synprobe\)" <<<"$out"
done
check "--dry-run: the qdisc is not to go (other filters on it)" eval '! grep -q "clsact qdisc" <<<"$out"'
check "--dry-run removed nothing" eval 'on "$VETH_C" "$dead_progs" && on "$VETH_C" "$live_progs"'

json=$(cleanup_c --dry-run --json)
check "--dry-run --json: an object per filter and a summary" test "$(wc -l <<<"$json")" -eq 5
check "--dry-run --json: the summary" grep -qx '{"summary":true,"dry_run":true,"force":false,"filters_removed":2,"filters_kept":2,"filters_failed":0,"qdiscs_removed":0}' <<<"$json"
check "--dry-run --json: a live filter names its holder" \
	grep -q "\"held_by_pid\":$live,\"held_by_comm\":\"synprobe\",\"action\":\"kept\"" <<<"$json"

out=$(cleanup_c 2>/dev/null)
rc=$?
check "cleanup: exit 0 ($rc)" test $rc -eq 0
check "cleanup: two filters removed" test "$(grep -c '^removed ' <<<"$out")" -eq 2
check "cleanup: the dead run's filters are gone" off "$VETH_C" "$dead_progs"
check "cleanup: and so are its programs ($dead_progs)" wait_until 5 progs_gone "$dead_progs"
check "cleanup: the live run's filters stay" on "$VETH_C" "$live_progs"
check "cleanup: the foreign filters stay" foreign_on "$VETH_C"
check "cleanup: the qdisc stays" clsact_on "$VETH_C"
check "cleanup: the live run still runs" eval '! exited $live'

# --force: also the live run's. Its own detach at exit then finds nothing, which is no error.
out=$(cleanup_c --force -i "$VETH_C" 2>/dev/null)
rc=$?
check "--force: exit 0, the live run's two filters removed ($rc)" \
	eval '[ $rc -eq 0 ] && [ "$(grep -c "^removed .*held by pid $live" <<<"$out")" -eq 2 ]'
check "--force: the live run's filters are gone" off "$VETH_C" "$live_progs"
check "--force: the foreign filters and the qdisc stay" eval 'foreign_on "$VETH_C" && clsact_on "$VETH_C"'
kill -TERM $live
wait_until 3 exited $live
{ wait $live; } 2>/dev/null
rc=$?
check "--force: the live run still ends normally (status $rc, no Error)" \
	eval '[ $rc -eq 1 ] && ! grep -q "^Error" "$SP_TMP/live.err"'
tc -n "$NS_C" qdisc del dev "$VETH_C" clsact

# --- the qdisc goes when nothing is left on it; -i limits to the interfaces given ---
sp_start dead2 -i "lo,$VETH_C"
dead2=$PID dead2_progs=$PROGS
sp_kill9 $dead2
check "a dead run on lo and $VETH_C: its filters stay on both" \
	eval 'on lo "$dead2_progs" && on "$VETH_C" "$dead2_progs" && clsact_on lo && clsact_on "$VETH_C"'
out=$(cleanup_c -n -i lo 2>/dev/null)
check "-n -i lo: the qdisc of lo would go too" grep -qE "^would remove +lo +clsact qdisc" <<<"$out"
out=$(cleanup_c -i lo 2>/dev/null)
rc=$?
check "-i lo: exit 0, lo clean: no filter, no qdisc ($rc)" eval '[ $rc -eq 0 ] && nothing_on lo'
check "-i lo: $VETH_C untouched" eval 'on "$VETH_C" "$dead2_progs" && clsact_on "$VETH_C"'
out=$(cleanup_c 2>/dev/null)
check "cleanup: $VETH_C clean too, qdisc removed ($(tr '\n' ';' <<<"$out"))" \
	eval 'nothing_on "$VETH_C" && grep -qE "^removed +$VETH_C +clsact qdisc" <<<"$out"'
check "cleanup: the dead run's programs are gone" wait_until 5 progs_gone "$dead2_progs"

# --- a new --clsact run removes a dead run's leftovers itself ---
sp_start live3
live3=$PID live3_progs=$PROGS
sp_start dead3
dead3=$PID dead3_progs=$PROGS
sp_kill9 $dead3
add_foreign "$VETH_C" || not_ok "foreign filters added"
check "before the new run: the dead run's filters are there" on "$VETH_C" "$dead3_progs"
out=$(in_c "$SYNPROBE" check -v --clsact -t 200ms "$S4:$FILTERED" 2>&1)
rc=$?
check "a new --clsact run: a timeout as asked, attached by clsact ($rc)" \
	eval '[ $rc -eq 1 ] && grep -q "attached to $VETH_C (clsact)" <<<"$out"'
check "the new run removed the dead run's filters" off "$VETH_C" "$dead3_progs"
check "and so its programs are gone" wait_until 5 progs_gone "$dead3_progs"
check "it left the live run's filters" on "$VETH_C" "$live3_progs"
check "it left the foreign filters" foreign_on "$VETH_C"
kill -TERM $live3
wait_until 3 exited $live3
{ wait $live3; } 2>/dev/null
tc -n "$NS_C" filter del dev "$VETH_C" ingress pref 10
tc -n "$NS_C" filter del dev "$VETH_C" egress pref 10
check "at the end: the live run's filters went with it, no filter left" \
	wait_until 5 eval 'off "$VETH_C" "$live3_progs" && [ -z "$(ids_on "$VETH_C")" ]'
tc -n "$NS_C" qdisc del dev "$VETH_C" clsact 2>/dev/null

# --- usage errors ---
out=$(cleanup_c -i nosuchif0 2>&1)
rc=$?
check "-i nosuchif0: exit 2, one error line naming it" \
	eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "^Error: .*nosuchif0" <<<"$out"'
out=$(cleanup_c lo 2>&1)
rc=$?
check "an argument: exit 2, one error line" eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ]'
check "the client namespace ends clean" eval 'nothing_on lo && nothing_on "$VETH_C"'
sp_finish
