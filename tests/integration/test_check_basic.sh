#!/usr/bin/env bash
# synprobe check against a real listener in a namespace: open, closed and filtered ports over
# IPv4 and IPv6, the wire (S, S., R), the listener's accept() count, JSON, flows map empty; in
# each attach mode the kernel has: TCX (the default where it exists) and --clsact, or on a
# kernel without TCX (Debian 12's 6.1) the default, which is clsact there.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

# TCX, by feature: the kernel answers BPF_PROG_QUERY for its attach types (sp_tcx_query), or
# without the helper, synprobe's default attach says which mode it took.
if [ -x "$SP_TCX_QUERY" ]; then
	in_c "$SP_TCX_QUERY" lo >/dev/null 2>&1 && TCX=1 || TCX=0
else
	in_c "$SYNPROBE" check -v -t 100ms 127.0.0.1:1 2>&1 | grep -q "attached to lo (tcx)" && TCX=1 || TCX=0
fi
# MODES: KIND:OPTION, the attach kind the option gives.
if [ $TCX = 1 ]; then MODES=(tcx: clsact:--clsact); else MODES=(clsact:); fi
diag "attach modes: ${MODES[*]}"
# The filtered port's check ends at its timeout; the bound above it includes starting synprobe,
# which takes seconds under emulation (the kernel matrix's QEMU/TCG).
LATE_MS=1500
sp_emulated && LATE_MS=30000

OPEN=8080 CLOSED=8081 FILTERED=8082
sp_listen srv4 $S4 $OPEN $FILTERED || not_ok "listener on $S4"
srv4=$LISTEN_PID
sp_listen srv6 $S6 $OPEN $FILTERED || not_ok "listener on $S6"
srv6=$LISTEN_PID
# The filtered port: its SYNs vanish in the server namespace.
in_s nft -f - <<NFT
table inet sptest {
	chain input { type filter hook input priority 0; tcp dport $FILTERED drop; }
}
NFT

sp_capture wire "$NS_S" "$VETH_S" "tcp port $OPEN" || not_ok "capture started"

for m in "${MODES[@]}"; do
	how=${m%%:*} opt=()
	[ -n "${m#*:}" ] && opt=("${m#*:}")
	for fam in 4 6; do
		if [ $fam = 4 ]; then addr=$S4; t_open=$S4:$OPEN; t_closed=$S4:$CLOSED; t_filt=$S4:$FILTERED
		else addr=$S6; t_open="[$S6]:$OPEN"; t_closed="[$S6]:$CLOSED"; t_filt="[$S6]:$FILTERED"; fi

		out=$(in_c "$SYNPROBE" check "${opt[@]}" "$t_open" 2>&1); rc=$?
		check "$how, IPv$fam open port: exit 0 ($out)" [ $rc -eq 0 ]
		check "$how, IPv$fam open port: outcome open with an RTT" grep -qE "^\S+ +$addr +open +bpf +[0-9.]+ (ns|us|ms)$" <<<"$out"

		out=$(in_c "$SYNPROBE" check "${opt[@]}" "$t_closed" 2>&1); rc=$?
		check "$how, IPv$fam closed port: exit 1 ($out)" [ $rc -eq 1 ]
		check "$how, IPv$fam closed port: outcome closed" grep -qE " closed +bpf +[0-9.]+ (ns|us|ms)$" <<<"$out"

		start=$(date +%s%N)
		out=$(in_c "$SYNPROBE" check "${opt[@]}" -t 300ms "$t_filt" 2>&1); rc=$?
		elapsed_ms=$((($(date +%s%N) - start) / 1000000))
		check "$how, IPv$fam filtered port: exit 1 ($out)" [ $rc -eq 1 ]
		check "$how, IPv$fam filtered port: outcome timeout" grep -qE " timeout +bpf +no reply in 300 ms" <<<"$out"
		check "$how, IPv$fam filtered port: ends at the timeout (took $elapsed_ms ms)" \
			test $elapsed_ms -ge 300 -a $elapsed_ms -lt $LATE_MS

		json=$(in_c "$SYNPROBE" check "${opt[@]}" --json "$t_open" "$t_closed")
		check "$how, IPv$fam JSON: one line per check" [ "$(wc -l <<<"$json")" -eq 2 ]
		check "$how, IPv$fam JSON: open with rtt_ns and method bpf" \
			grep -qE "^\{\"target\":\"[^\"]+:$OPEN\",\"address\":\"$addr\",\"port\":$OPEN,\"family\":\"ipv$fam\",\"outcome\":\"open\",\"rtt_ns\":[0-9]+,\"rtt_timing\":\"kernel\",\"method\":\"bpf\"" <<<"$json"
		check "$how, IPv$fam JSON: closed" grep -q "\"port\":$CLOSED,\"family\":\"ipv$fam\",\"outcome\":\"closed\"" <<<"$json"
	done

	# Several targets at once, and a name from the hosts file (every address with -A).
	out=$(in_c "$SYNPROBE" check "${opt[@]}" -v -A server.test:$OPEN "$S4:$OPEN" "[$S6]:$OPEN" 2>&1); rc=$?
	check "$how, four checks at once, all open ($out)" test $rc -eq 0 -a "$(grep -c ' open ' <<<"$out")" -eq 4
	check "$how, the flows maps are empty after the run" grep -q "flows left in the BPF maps: sp_socks 0, sp_flows 0" <<<"$out"
	check "$how, attached by $how to the route's interface" grep -q "attached to $VETH_C ($how)" <<<"$out"
	check "$how, nothing left attached after the runs" sp_no_bpf_left
done

sp_capture_stop
n_open=$(((2 + 2 + 4) * ${#MODES[@]})) # checks of the open port, each mode: 2 plain, 2 in JSON, 4 at once
wire=$(sp_flows_on_wire wire $OPEN)
diag "flows to the open port on the server's veth: $(sort <<<"$wire" | uniq -c | tr '\n' ';')"
check "capture saw $n_open flows to the open port" test "$(wc -l <<<"$wire")" -eq $n_open
check "every check of the open port is exactly S, S., R on the wire" \
	test "$(grep -cvx 'S S. R.' <<<"$wire")" -eq 0
check "the IPv4 listener accepted nothing" [ "$(sp_accepted srv4 $srv4)" = 0 ]
check "the IPv6 listener accepted nothing" [ "$(sp_accepted srv6 $srv6)" = 0 ]
check "nothing left attached after the runs" sp_no_bpf_left
sp_finish
