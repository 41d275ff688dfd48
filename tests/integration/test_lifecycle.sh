#!/usr/bin/env bash
# Nothing of synprobe stays attached: after a normal run, after SIGINT / SIGTERM mid-check, in
# each attach mode the kernel has: TCX links (kernel >= 6.6) and clsact. With TCX, SIGKILL leaves
# nothing either (NOTES-kernel.md item 6: links die with the process); with clsact the filters
# and the qdisc synprobe made go on a normal end and on SIGTERM, stay after SIGKILL (the known
# clsact behaviour, asserted so the docs stay true), and `synprobe cleanup` removes them. Also
# -i: "-i lo" for a target on the veth attaches to lo only, "-i nosuchif0" fails; a local
# target attaches to lo.
#
# The modes: TCX (the default where the kernel has it) and --clsact; on a kernel without TCX
# (Debian 12's 6.1), the default, which is clsact there. TCX is detected by feature
# (BPF_PROG_QUERY with its attach types, tests/helpers/sp_tcx_query.c), never by version.
#
# Others run tests on this machine at the same time: every "nothing left" check is about the
# program IDs our own synprobe process held (read from /proc/PID/fdinfo while it ran) and about
# the interfaces of our own namespaces, never "no sp_tc program anywhere".
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

SP_TCX_QUERY=$SP_OUTPUT/tests/sp_tcx_query
OPEN=8080 FILTERED=8082 LOCAL=8083
# Under emulation (the kernel matrix's QEMU/TCG) loading the programs takes seconds, not 0.3 s;
# a signal still ends a run promptly, but "promptly" is slower there too. RUN_S: the timeout of
# a run that is looked at while it waits; the looking takes more than 1 s there.
START_S=10 PROMPT_MS=2000 RUN_S=1
sp_emulated && START_S=90 PROMPT_MS=4000 RUN_S=5

sp_listen srv4 $S4 $OPEN || not_ok "listener on $S4"
# The filtered port: its SYNs vanish in the server namespace, so a check waits for its timeout.
in_s nft -f - <<NFT || not_ok "nft rule for the filtered port"
table inet sptest {
	chain input { type filter hook input priority 0; tcp dport $FILTERED drop; }
}
NFT

# --- helpers ---

# sp_bg NAME ARGS...: synprobe check -v ARGS in the client namespace, in the background (its PID
# is synprobe's: ip netns exec execs it); stdout/stderr in $SP_TMP/NAME.{out,err}. Sets BG_PID.
sp_bg() {
	local name=$1
	shift
	# Not through in_c: a function in the background is a subshell, and $! would be its PID.
	ip netns exec "$NS_C" "$SYNPROBE" check -v "$@" >"$SP_TMP/$name.out" 2>"$SP_TMP/$name.err" &
	BG_PID=$!
	SP_PIDS+=("$BG_PID")
}

# in_epoll_wait PID: the process sleeps in epoll_wait(), i.e. in synprobe_poll()'s wait.
in_epoll_wait() {
	[ "$(cat "/proc/$1/wchan" 2>/dev/null)" = do_epoll_wait ]
}

# sp_running NAME PID: synprobe attached ("checks started" comes after the attach) and waits in
# its event loop. Waiting for epoll_wait() keeps a signal off the window between the loop's
# `exiting` test and epoll_wait(), where synprobe would miss it (see the report in the log).
sp_running() {
	wait_until $START_S grep -qs "checks started" "$SP_TMP/$1.err" && wait_until 5 in_epoll_wait "$2"
}

# exited PID: the process is gone or a zombie waiting for `wait`.
exited() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# prog_ids_of PID / link_ids_of PID: the BPF program / link IDs behind the process's fds.
prog_ids_of() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -un | tr '\n' ' '
}
link_ids_of() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "link_id:" { print $2 }' | sort -un | tr '\n' ' '
}

# ours IDS: at least two programs, all synprobe's tc programs, loaded now.
ours() {
	local ids id
	read -r -a ids <<<"$1"
	[ ${#ids[@]} -ge 2 ] || return 1
	for id in "${ids[@]}"; do
		bpftool prog show id "$id" 2>/dev/null | grep -qE 'name sp_tc_' || return 1
	done
}

# progs_gone IDS / links_gone IDS: none of these program / link IDs exists any more (false for
# an empty list: no IDs, no evidence).
progs_gone() {
	local id
	[ -n "${1// /}" ] || return 1
	for id in $1; do bpftool prog show id "$id" >/dev/null 2>&1 && return 1; done
	return 0
}
links_gone() {
	local id
	[ -n "${1// /}" ] || return 1
	for id in $1; do bpftool link show id "$id" >/dev/null 2>&1 && return 1; done
	return 0
}

# tcx_ids IFACE: the program IDs attached by TCX to IFACE in the client namespace, sorted.
tcx_ids() {
	[ $TCX = 1 ] && have_tcx_query || return 0
	in_c "$SP_TCX_QUERY" "$1" | sed 's/^[a-z]*://' | tr ' ' '\n' | grep . | sort -un | tr '\n' ' '
}
have_tcx_query() { [ -x "$SP_TCX_QUERY" ]; }
# filter_ids IFACE: the program IDs of the tc filters on IFACE in the client namespace, sorted.
filter_ids() {
	{ tc -n "$NS_C" filter show dev "$1" ingress; tc -n "$NS_C" filter show dev "$1" egress; } 2>/dev/null |
		sed -n 's/.* id \([0-9][0-9]*\) .*/\1/p' | sort -un | tr '\n' ' '
}
# attached_ids KIND IFACE: the program IDs attached to IFACE by KIND (tcx or clsact).
attached_ids() {
	if [ "$1" = tcx ]; then tcx_ids "$2"; else filter_ids "$2"; fi
}
# held_on KIND IFACE IDS: what is attached to IFACE by KIND is two of IDS (a run's programs: it
# loads more than it attaches), ingress and egress, and nothing else.
held_on() {
	local cur id n=0
	cur=$(attached_ids "$1" "$2")
	for id in $cur; do
		[[ " $3 " == *" $id "* ]] || return 1
		n=$((n + 1))
	done
	[ $n -eq 2 ]
}

# TCX: the kernel answers BPF_PROG_QUERY for TCX's attach types (EINVAL before 6.6). Without
# the helper, ask synprobe itself which mode its default attach took.
if have_tcx_query; then
	if in_c "$SP_TCX_QUERY" lo >/dev/null 2>&1; then TCX=1; else TCX=0; fi
else
	diag "no $SP_TCX_QUERY (make tests-build): TCX attachments are checked through program IDs only"
	if in_c "$SYNPROBE" check -v -t 100ms 127.0.0.1:1 2>&1 | grep -q "attached to lo (tcx)"; then
		TCX=1
	else
		TCX=0
	fi
fi
# MODES: KIND:OPTION, the attach kind the option gives. The default is TCX where it exists.
if [ $TCX = 1 ]; then
	MODES=(tcx: clsact:--clsact)
else
	MODES=(clsact:)
	diag "no TCX in this kernel: the default attach is clsact, the TCX-only checks are skipped"
fi

# clsact_on IFACE: a clsact qdisc on IFACE in the client namespace.
clsact_on() { tc -n "$NS_C" qdisc show dev "$1" | grep -q 'qdisc clsact'; }
# sp_filters_on IFACE: synprobe's programs as tc filters on IFACE, ingress and egress.
sp_filters_on() {
	tc -n "$NS_C" filter show dev "$1" ingress 2>/dev/null | grep -q sp_tc_ingress &&
		tc -n "$NS_C" filter show dev "$1" egress 2>/dev/null | grep -q sp_tc_egress
}
# no_filters_on IFACE: no tc filter at all on IFACE's ingress and egress hooks.
no_filters_on() {
	[ -z "$(tc -n "$NS_C" filter show dev "$1" ingress 2>/dev/null)" ] &&
		[ -z "$(tc -n "$NS_C" filter show dev "$1" egress 2>/dev/null)" ]
}

# iface_clean IFACE: nothing on IFACE in the client namespace: no TCX program, no clsact qdisc,
# no filter.
iface_clean() {
	[ -z "$(tcx_ids "$1")" ] && ! clsact_on "$1" && no_filters_on "$1"
}

# all_clean IDS: the programs are gone and both client interfaces are clean.
all_clean() {
	progs_gone "$1" && iface_clean lo && iface_clean "$VETH_C"
}

check "the client namespace starts clean" eval 'iface_clean lo && iface_clean "$VETH_C"'

# --- a normal run, in each mode ---
for m in "${MODES[@]}"; do
	how=${m%%:*} opt=()
	[ -n "${m#*:}" ] && opt=("${m#*:}")
	run=normal_$how
	sp_bg $run "${opt[@]}" -t ${RUN_S}s "$S4:$FILTERED"
	pid=$BG_PID
	sp_running $run $pid || not_ok "$how normal run: started"
	progs=$(prog_ids_of $pid) links=$(link_ids_of $pid)
	diag "$how normal run: synprobe $pid holds programs $progs, links $links"
	check "$how normal run: the process holds our programs ($progs)" ours "$progs"
	if [ "$how" = tcx ]; then
		check "$how normal run: two TCX links ($links)" test "$(wc -w <<<"$links")" -eq 2
		check "$how normal run: no clsact qdisc on $VETH_C" eval '! clsact_on "$VETH_C"'
	else
		check "$how normal run: a clsact qdisc with our filters on $VETH_C" \
			eval 'clsact_on "$VETH_C" && sp_filters_on "$VETH_C"'
		check "$how normal run: no TCX program on $VETH_C" test -z "$(tcx_ids "$VETH_C")"
	fi
	if [ "$how" = clsact ] || have_tcx_query; then
		# The process's programs read again each time: on an emulated CPU the list read above
		# can predate the load's end (the feature probes load programs of their own).
		held_now() { held_on $how "$VETH_C" "$(prog_ids_of $pid)"; }
		check "$how normal run: the kernel lists two of the process's programs on $VETH_C" \
			wait_until "$(sp_slow 5)" held_now
	fi
	wait_until $((RUN_S + 5)) exited $pid
	{ wait $pid; } 2>/dev/null
	rc=$?
	check "$how normal run: ends at its timeout with status 1 (timeout) ($rc)" \
		eval '[ $rc -eq 1 ] && grep -q " timeout " "$SP_TMP/$run.out"'
	check "$how normal run: attached to $VETH_C ($how)" grep -q "attached to $VETH_C ($how)" "$SP_TMP/$run.err"
	check "$how normal run: nothing left (programs $progs gone, lo and $VETH_C clean)" \
		wait_until 5 all_clean "$progs"
	[ "$how" = tcx ] && check "$how normal run: its links are gone" links_gone "$links"
done

# --- SIGINT / SIGTERM mid-check, in each mode ---
for m in "${MODES[@]}"; do
	how=${m%%:*} opt=()
	[ -n "${m#*:}" ] && opt=("${m#*:}")
	for sig in INT TERM; do
		run=sig_${how}_$sig
		sp_bg $run "${opt[@]}" -t 10s "$S4:$FILTERED"
		pid=$BG_PID
		if ! sp_running $run $pid; then
			not_ok "$how, SIG$sig: synprobe started and waits"
			diag "$(cat "$SP_TMP/$run.err")"
			continue
		fi
		progs=$(prog_ids_of $pid)
		check "$how, SIG$sig: the process holds our programs ($progs)" ours "$progs"
		[ "$how" = clsact ] && check "$how, SIG$sig: our filters on $VETH_C before the signal" sp_filters_on "$VETH_C"
		start=$(date +%s%N)
		kill -$sig $pid
		wait_until 3 exited $pid
		ms=$((($(date +%s%N) - start) / 1000000))
		{ wait $pid; } 2>/dev/null
		rc=$?
		check "$how, SIG$sig: exits promptly ($ms ms, < $PROMPT_MS of the 10 s timeout)" test $ms -lt $PROMPT_MS
		# main.h: 1 "some target not open (or the run was interrupted)".
		check "$how, SIG$sig: exit status 1, interrupted ($rc)" test $rc -eq 1
		check "$how, SIG$sig: no 'Error:' on stderr" eval '[ -f "$SP_TMP/$run.err" ] && ! grep -q "^Error" "$SP_TMP/$run.err"'
		check "$how, SIG$sig: nothing left (programs $progs gone, lo and $VETH_C clean)" \
			wait_until 5 all_clean "$progs"
	done
done

# --- a signal just before the wait is not lost ---
# The check loop tests `exiting` and then sleeps in epoll_wait(); a signal that lands between the
# two must still end the run. strace holds synprobe on the way out of its first
# timerfd_settime() (synprobe_poll() arms the deadline timer right before epoll_wait()) while
# the signal is sent, which puts it in exactly that window every time.
if command -v strace >/dev/null; then
	# On an emulated CPU the hold is longer, so that the test sees it, and the check's timeout
	# too, so that a lost signal (an exit at the timeout) still tells.
	HOLD_MS=800 RACE_T=5s
	sp_emulated && HOLD_MS=4000 RACE_T=30s
	ip netns exec "$NS_C" strace -qq -o /dev/null -e trace=timerfd_settime \
		-e inject=timerfd_settime:delay_exit=$((HOLD_MS * 1000)):when=1 \
		"$SYNPROBE" check -v -t $RACE_T "$S4:$FILTERED" >"$SP_TMP/race.out" 2>"$SP_TMP/race.err" &
	tracer=$!
	SP_PIDS+=("$tracer")
	traced_stopped() {
		pid=$(pgrep -P $tracer | head -n 1)
		[ -n "$pid" ] && grep -q '^State:[[:space:]]*t' "/proc/$pid/status" 2>/dev/null
	}
	if wait_until $START_S grep -qs "checks started" "$SP_TMP/race.err" &&
		wait_until $((HOLD_MS / 1000 + 2)) traced_stopped; then
		start=$(date +%s%N)
		kill -INT "$pid"
		wait_until $((HOLD_MS / 1000 + 5)) exited $tracer
		ms=$((($(date +%s%N) - start) / 1000000))
		{ wait $tracer; } 2>/dev/null
		check "SIGINT just before epoll_wait(): exits promptly ($ms ms, strace holds it $HOLD_MS; the timeout is $RACE_T)" test $ms -lt $((HOLD_MS + PROMPT_MS))
	else
		not_ok "SIGINT just before epoll_wait(): synprobe under strace started"
	fi
else
	skip "SIGINT just before epoll_wait()" "no strace"
fi

# --- SIGKILL, in each mode ---
# TCX: the links die with the process, nothing is left. clsact: a tc filter holds its program,
# and nothing runs synprobe_close() after SIGKILL, so the filters (and the qdisc synprobe made)
# outlive the process (known, asserted so that the documentation stays true); `synprobe
# cleanup` removes them, and the programs with them.
for m in "${MODES[@]}"; do
	how=${m%%:*} opt=()
	[ -n "${m#*:}" ] && opt=("${m#*:}")
	run=kill_$how
	sp_bg $run "${opt[@]}" -t 10s "$S4:$FILTERED"
	pid=$BG_PID
	sp_running $run $pid || not_ok "$how, SIGKILL: started"
	progs=$(prog_ids_of $pid) links=$(link_ids_of $pid)
	check "$how, SIGKILL: the process holds our programs ($progs)" ours "$progs"
	# (stderr off: bash's "Killed" notice about its job is noise here)
	{ kill -KILL $pid; wait_until 3 exited $pid; wait $pid; rc=$?; } 2>/dev/null
	check "$how, SIGKILL: killed ($rc)" test $rc -eq 137
	if [ "$how" = tcx ]; then
		check "$how, SIGKILL: nothing left (programs $progs and links $links gone, lo and $VETH_C clean)" \
			eval 'wait_until 5 all_clean "$progs" && links_gone "$links"'
		continue
	fi
	check "$how, SIGKILL: the clsact qdisc and our filters remain on $VETH_C (known, documented)" \
		eval 'clsact_on "$VETH_C" && sp_filters_on "$VETH_C"'
	check "$how, SIGKILL: the filters keep programs $progs loaded" eval '[ -n "$progs" ] && ! progs_gone "$progs"'
	out=$(in_c "$SYNPROBE" cleanup 2>&1)
	rc=$?
	check "$how, SIGKILL: 'synprobe cleanup' removes the filters and the qdisc ($rc)" \
		eval '[ $rc -eq 0 ] && [ "$(grep -c "^removed  *$VETH_C " <<<"$out")" -eq 3 ]'
	[ $rc -eq 0 ] || diag "$out"
	check "$how, SIGKILL: after 'synprobe cleanup' nothing is left (programs $progs gone)" \
		wait_until 5 all_clean "$progs"
done

# --- a clsact qdisc that was there before synprobe stays ---
tc -n "$NS_C" qdisc add dev "$VETH_C" clsact
out=$(in_c "$SYNPROBE" check -v --clsact "$S4:$OPEN" 2>&1)
rc=$?
check "clsact on an existing qdisc: open ($rc)" test $rc -eq 0
check "clsact on an existing qdisc: the qdisc stays, without filters" \
	eval 'clsact_on "$VETH_C" && no_filters_on "$VETH_C"'
tc -n "$NS_C" qdisc del dev "$VETH_C" clsact

# --- two --clsact runs on one interface: the first one's exit leaves the second attached ---
# The first run makes the qdisc; the second finds it and adds its filters. When the first ends,
# it removes its own filters (and, as the qdisc's maker, the qdisc): the second run's filters
# must stay while it runs, or its checks go on unobserved and their ACKs are no longer dropped.
# filters_hold IFACE IDS: two of the program IDS (a run's programs: it loads more than it
# attaches) are tc filters on IFACE, ingress and egress.
filters_hold() {
	local f id n=0
	f=$(tc -n "$NS_C" filter show dev "$1" ingress; tc -n "$NS_C" filter show dev "$1" egress)
	for id in $2; do grep -qF "[$id]" <<<"$f" && n=$((n + 1)); done
	[ $n -eq 2 ]
}
sp_bg clsact_first --clsact -t 10s "$S4:$FILTERED"
first=$BG_PID
sp_running clsact_first $first || not_ok "two clsact runs: the first started"
sp_bg clsact_second --clsact -t 10s "$S4:$FILTERED"
second=$BG_PID
sp_running clsact_second $second || not_ok "two clsact runs: the second started"
progs_first=$(prog_ids_of $first) progs_second=$(prog_ids_of $second)
check "two clsact runs: both runs' filters on $VETH_C ($progs_first, $progs_second)" \
	eval 'filters_hold "$VETH_C" "$progs_first" && filters_hold "$VETH_C" "$progs_second"'
kill -TERM $first
wait_until 3 exited $first
{ wait $first; } 2>/dev/null
check "two clsact runs: after the first ends, the second's filters are still on $VETH_C" \
	eval 'wait_until 1 progs_gone "$progs_first"; filters_hold "$VETH_C" "$progs_second"'
kill -TERM $second
wait_until 3 exited $second
{ wait $second; } 2>/dev/null
# The second run found the first one's qdisc (EEXIST), so neither removes it once the other is
# gone: an empty clsact qdisc may remain, with no filter and no program of ours.
# Programs are freed a moment after their last user exits: await the whole condition.
two_runs_gone() {
	progs_gone "$progs_first" && progs_gone "$progs_second" && no_filters_on "$VETH_C"
}
check "two clsact runs: after both, no program or filter left" wait_until 5 two_runs_gone
# If the second run could not remove its filters (its qdisc went), clean up for the tests below.
tc -n "$NS_C" qdisc del dev "$VETH_C" clsact 2>/dev/null

# --- -i overrides the route, in each mode ---
for m in "${MODES[@]}"; do
	how=${m%%:*} opt=()
	[ -n "${m#*:}" ] && opt=("${m#*:}")
	run=iface_lo_$how
	sp_bg $run "${opt[@]}" -i lo -t ${RUN_S}s "$S4:$FILTERED"
	pid=$BG_PID
	sp_running $run $pid || not_ok "$how, -i lo: started"
	progs=$(prog_ids_of $pid)
	if [ "$how" = clsact ] || have_tcx_query; then
		check "$how, -i lo: while it runs, our programs are on lo ($(attached_ids $how lo))" \
			held_on $how lo "$progs"
		check "$how, -i lo: and not on $VETH_C" test -z "$(attached_ids $how "$VETH_C")"
	else
		skip "$how, -i lo: programs on lo, not on $VETH_C" "no sp_tcx_query"
	fi
	wait_until $((RUN_S + 5)) exited $pid
	wait $pid
	check "$how, -i lo: -v names lo as the only interface" \
		eval '[ "$(grep -c "attached to" "$SP_TMP/$run.err")" -eq 1 ] && grep -q "attached to lo ($how)" "$SP_TMP/$run.err"'
	check "$how, -i lo: nothing left" wait_until 5 all_clean "$progs"
done

out=$(in_c "$SYNPROBE" check -i nosuchif0 "$S4:$OPEN" 2>&1)
rc=$?
check "-i nosuchif0: exit 2 and one error line naming it ($out)" \
	eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "^Error: .*nosuchif0" <<<"$out"'
check "-i nosuchif0: nothing attached" eval 'iface_clean lo && iface_clean "$VETH_C"'

# --- a local target: the route leaves by lo ---
ip netns exec "$NS_C" "$SP_LISTEN" 127.0.0.1 $LOCAL >"$SP_TMP/local4.out" 2>&1 &
local4=$!
SP_PIDS+=("$local4")
ip netns exec "$NS_C" "$SP_LISTEN" ::1 $LOCAL >"$SP_TMP/local6.out" 2>&1 &
local6=$!
SP_PIDS+=("$local6")
wait_until 5 grep -q listening "$SP_TMP/local4.out" || not_ok "listener on 127.0.0.1"
wait_until 5 grep -q listening "$SP_TMP/local6.out" || not_ok "listener on ::1"
for m in "${MODES[@]}"; do
	how=${m%%:*} opt=()
	[ -n "${m#*:}" ] && opt=("${m#*:}")
	out=$(in_c "$SYNPROBE" check -v "${opt[@]}" 127.0.0.1:$LOCAL "[::1]:$LOCAL" 2>&1)
	rc=$?
	check "$how, local targets 127.0.0.1 and ::1: exit 0, both open" \
		eval '[ $rc -eq 0 ] && [ "$(grep -cE "^\S+ +(127\.0\.0\.1|::1) +open " <<<"$out")" -eq 2 ]'
	check "$how, local targets: attached to lo ($how) only" \
		eval '[ "$(grep -c "attached to" <<<"$out")" -eq 1 ] && grep -q "attached to lo ($how)" <<<"$out"'
	[ $rc -eq 0 ] || diag "$out"
done
check "local targets: the local listeners accepted nothing" \
	eval '[ "$(sp_accepted local4 $local4)" = 0 ] && [ "$(sp_accepted local6 $local6)" = 0 ]'
check "the client namespace ends clean" eval 'iface_clean lo && iface_clean "$VETH_C"'
sp_finish
