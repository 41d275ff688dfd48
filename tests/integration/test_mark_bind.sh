#!/usr/bin/env bash
# Where a check leaves from: --mark N (SO_MARK) and --bind-interface IF (SO_BINDTODEVICE) on
# check and ping. The client namespace reaches the server's 10.77.0.2 / fd77::2 by two veth pairs:
# A (lib.sh's, the main table's route) and B (a second pair, 10.78.0.0/24 and fd78::/64, with a
# route of higher metric and `ip rule fwmark 16 table 100`, whose route leaves by B). A check with
# --mark 16 must leave by B and be seen there by the tc programs (open by BPF: evidence bpf, a
# kernel RTT, the wire S, S., R. on the server's side of B, none of it on A); without the mark by
# A; with --bind-interface B by B. Then a VRF (vrf-x, table 10) gets B as its slave: a check with
# --bind-interface vrf-x is routed in table 10 and seen on B, half-open. The VRF case is skipped
# with the reason where the kernel cannot make a VRF device (this CI host lacks the vrf module;
# the kernels of `make test-kernels` have it). The listener accepts nothing. Bad values: one line
# naming the input, exit 2.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
command -v jq >/dev/null || { skip "$(basename "$0")" "jq is not installed"; sp_finish; }

PORT=8080 MARK=16 TABLE=100
B_C=spb$$c B_S=spb$$s
CB4=10.78.0.1 SB4=10.78.0.2 CB6=fd78::1 SB6=fd78::2

ip link add "$B_C" netns "$NS_C" type veth peer name "$B_S" netns "$NS_S" || not_ok "veth B"
ip -n "$NS_C" addr add $CB4/24 dev "$B_C"
ip -n "$NS_C" addr add $CB6/64 dev "$B_C" nodad
ip -n "$NS_S" addr add $SB4/24 dev "$B_S"
ip -n "$NS_S" addr add $SB6/64 dev "$B_S" nodad
ip -n "$NS_C" link set "$B_C" up && ip -n "$NS_S" link set "$B_S" up
wait_until 5 sp_link_up "$NS_C" "$B_C" && wait_until 5 sp_link_up "$NS_S" "$B_S" || not_ok "veth B up"
# The server's A-side addresses are reachable by B too: a second route of higher metric (taken
# only when B is asked for), and the fwmark rule's table.
routes_b() {
	local table=$1
	ip -n "$NS_C" route add 10.77.0.0/24 dev "$B_C" metric 500 table "$table" &&
		ip -n "$NS_C" -6 route add fd77::/64 dev "$B_C" metric 500 table "$table" &&
		sp_static_neigh "$NS_C" "$B_C" "$NS_S" "$B_S" $S4 $S6 &&
		sp_static_neigh "$NS_S" "$B_S" "$NS_C" "$B_C" $CB4 $CB6
}
routes_b main || not_ok "routes by B"
routes_b $TABLE || not_ok "table $TABLE"
ip -n "$NS_C" rule add fwmark $MARK table $TABLE && ip -n "$NS_C" -6 rule add fwmark $MARK table $TABLE ||
	not_ok "ip rule fwmark $MARK"

sp_listen srv4 $S4 $PORT || not_ok "listener on $S4"
srv4=$LISTEN_PID
sp_listen srv6 $S6 $PORT || not_ok "listener on $S6"
srv6=$LISTEN_PID
sp_capture capA "$NS_S" "$VETH_S" "tcp port $PORT" || not_ok "capture on A"
capA=$CAPTURE_PID
sp_capture capB "$NS_S" "$B_S" "tcp port $PORT" || not_ok "capture on B"
capB=$CAPTURE_PID

# flags_of CAPTURE SPORT: the TCP flags of the flow from our port SPORT, in order ("S S. R.").
flags_of() {
	tcpdump -r "$SP_TMP/$1.pcap" -n "tcp port $2" 2>/dev/null |
		sed -n 's/.*Flags \[\([^]]*\)\].*/\1/p' | paste -sd' '
}
half_open_on() { [ "$(flags_of "$1" "$2")" = "S S. R." ]; }
# jqt FILTER: FILTER is true of the JSON on stdin.
jqt() { jq -e "$1" >/dev/null; }

# run_case NAME FAMILY VIA SRC ARGS...: one check of the listener with ARGS; it must be open by
# BPF from source SRC, the programs attached to VIA (A or B), and be S, S., R. on VIA's capture
# and absent from the other.
run_case() {
	local name=$1 fam=$2 via=$3 src=$4 target out json sport other ifc
	shift 4
	if [ "$fam" = 4 ]; then target=$S4:$PORT; else target="[$S6]:$PORT"; fi
	if [ "$via" = A ]; then ifc=$VETH_C other=capB; else ifc=$B_C other=capA; fi
	out=$(in_c "$SYNPROBE" check --json -v -t 2s "$@" "$target" 2>"$SP_TMP/$name.err")
	json=$(head -n 1 <<<"$out")
	diag "$name: $json"
	grep 'attached to' "$SP_TMP/$name.err" | sed 's/^/# /'
	check "$name: open by BPF (evidence bpf, kernel rtt_ns)" jqt \
		'.outcome == "open" and .evidence == "bpf" and .rtt_timing == "kernel" and .rtt_ns > 0' <<<"$json"
	check "$name: leaves from $src" jqt ".source_address == \"$src\"" <<<"$json"
	check "$name: the programs attached to $ifc" grep -q "attached to $ifc " "$SP_TMP/$name.err"
	sport=$(jq -r '.source_port' <<<"$json")
	if wait_until "$(sp_slow 5)" half_open_on "cap$via" "$sport"; then
		ok "$name: S, S., R. on $via"
	else
		not_ok "$name: S, S., R. on $via (saw '$(flags_of "cap$via" "$sport")')"
	fi
	check "$name: nothing of it on the other pair" [ -z "$(flags_of $other "$sport")" ]
}

for fam in 4 6; do
	if [ $fam = 4 ]; then a_src=$C4 b_src=$CB4; else a_src=$C6 b_src=$CB6; fi
	run_case "IPv$fam no mark" $fam A $a_src
	run_case "IPv$fam --mark $MARK" $fam B $b_src --mark $MARK
	run_case "IPv$fam --mark 0x10" $fam B $b_src --mark 0x10
	run_case "IPv$fam --bind-interface $B_C" $fam B $b_src --bind-interface "$B_C"
done

# Method connect (no BPF: a full handshake, here to a listener of its own) leaves alike.
sp_listen srvc $S4 $((PORT + 1)) || not_ok "listener on $S4:$((PORT + 1))"
for args in "--mark $MARK" "--bind-interface $B_C"; do
	# shellcheck disable=SC2086
	out=$(in_c "$SYNPROBE" check --json -m connect $args $S4:$((PORT + 1)) 2>&1)
	check "method connect $args: open from $CB4" \
		jqt '.method == "connect" and .outcome == "open" and .source_address == "'$CB4'"' <<<"$out"
done

out=$(in_c "$SYNPROBE" ping -c 2 -i 100ms --json --mark $MARK $S4:$PORT 2>&1); rc=$?
check "ping --mark $MARK: exit 0, both probes open from $CB4" \
	test $rc -eq 0 -a "$(jq -s '[.[] | select(.seq and .outcome == "open" and .source_address == "'$CB4'")] | length' <<<"$out")" = 2
out=$(in_c "$SYNPROBE" ping -c 1 --json --bind-interface "$B_C" "[$S6]:$PORT" 2>&1); rc=$?
check "ping --bind-interface $B_C: open from $CB6" \
	test $rc -eq 0 -a "$(jq -s '[.[] | select(.seq and .outcome == "open" and .source_address == "'$CB6'")] | length' <<<"$out")" = 1

# Bad input: one line that names it, exit 2, nothing attached.
bad() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(in_c "$SYNPROBE" "$@" 2>&1); rc=$?
	diag "$name: $out"
	check "$name: exit 2, one line naming '$want'" \
		test $rc -eq 2 -a "$(wc -l <<<"$out")" -eq 1 -a -n "$(grep -F -- "$want" <<<"$out")"
}
bad "check --bind-interface nosuch0" "'nosuch0'" check --bind-interface nosuch0 $S4:$PORT
bad "ping --bind-interface nosuch0" "'nosuch0'" ping -c 1 --bind-interface nosuch0 $S4:$PORT
bad "check --mark abc" "'abc'" check --mark abc $S4:$PORT
bad "check --mark 0" "'0'" check --mark 0 $S4:$PORT
bad "check --mark 4294967296" "'4294967296'" check --mark 4294967296 $S4:$PORT
bad "check --mark -1" "'-1'" check --mark -1 $S4:$PORT

# serve: per check, mark and bind_interface; one target with and without the mark (each check
# leaves by its own route); an interface that does not exist is that check's error, not serve's.
if command -v curl >/dev/null; then
	cat >"$SP_TMP/serve.yaml" <<YAML
defaults: {interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
checks:
  - {name: plain, target: "$S4:$PORT"}
  - {name: marked, target: "$S4:$PORT", mark: $MARK}
  - {name: bound, target: "[$S6]:$PORT", bind_interface: $B_C}
  - {name: nosuch, target: "$S4:$PORT", bind_interface: nosuch0}
YAML
	ip netns exec "$NS_C" "$SYNPROBE" serve -c "$SP_TMP/serve.yaml" --no-pin --listen 127.0.0.1:9123 \
		--log-level debug 2>"$SP_TMP/serve.log" &
	serve_pid=$!
	SP_PIDS+=("$serve_pid")
	# results NAME OUTCOME: the check NAME has had 3 results OUTCOME.
	results() {
		[ "$(grep '"msg":"check result"' "$SP_TMP/serve.log" | grep "\"check\":\"$1\"" |
			grep -c "\"outcome\":\"$2\"")" -ge 3 ]
	}
	for c in plain marked bound; do
		check "serve: check '$c' open 3 times" wait_until "$(sp_slow 10)" results $c open
	done
	check "serve: check 'nosuch' ends in an error naming the interface" \
		wait_until "$(sp_slow 10)" results nosuch error
	check "serve: ... 'bind_interface 'nosuch0' not found'" \
		grep -q "\"check\":\"nosuch\".*bind_interface 'nosuch0' not found" "$SP_TMP/serve.log"
	kill -TERM $serve_pid
	wait $serve_pid
	check "serve: exit 0 on SIGTERM" [ $? -eq 0 ]
	# Every flow of serve from B's address is on B, from A's on A, and each half-open.
	wire_of() { tcpdump -r "$SP_TMP/$1.pcap" -n "src host $2" 2>/dev/null | grep -c 'Flags \[S\]'; }
	check "serve: SYNs from $CB4 (marked) on B" [ "$(wire_of capB $CB4)" -ge 3 ]
	check "serve: SYNs from $CB6 (bound) on B" [ "$(wire_of capB $CB6)" -ge 3 ]
	check "serve: SYNs from $C4 (plain) on A" [ "$(wire_of capA $C4)" -ge 3 ]
	check "serve: none from B's addresses on A" [ "$(wire_of capA $CB4)" = 0 -a "$(wire_of capA $CB6)" = 0 ]
	sed -n '/"level":"error"/p' "$SP_TMP/serve.log" | head -n 3 | sed 's/^/# /'
else
	skip "serve cases" "curl is not installed"
fi

# A VRF: B becomes the slave of vrf-x, whose table 10 routes the server's A-side network by B.
VRF=spvrf$$
if msg=$(ip -n "$NS_C" link add "$VRF" type vrf table 10 2>&1); then
	ip -n "$NS_C" link set "$VRF" up
	ip -n "$NS_C" link set "$B_C" master "$VRF" || not_ok "enslave $B_C to $VRF"
	# Enslaving cycles the device: its IPv6 address and routes are set again, in the VRF.
	ip -n "$NS_C" addr replace $CB6/64 dev "$B_C" nodad
	wait_until 5 sp_link_up "$NS_C" "$B_C" || not_ok "$B_C up in $VRF"
	routes_b 10 || not_ok "table 10"
	diag "$(ip -n "$NS_C" route get $S4 vrf "$VRF" 2>&1)"
	for fam in 4 6; do
		if [ $fam = 4 ]; then a_src=$C4 b_src=$CB4; else a_src=$C6 b_src=$CB6; fi
		run_case "IPv$fam --bind-interface $VRF (VRF)" $fam B $b_src --bind-interface "$VRF"
		run_case "IPv$fam outside the VRF" $fam A $a_src
	done
else
	skip "VRF cases" "the kernel cannot make a VRF device ($msg)"
fi

sp_capture_stop
CAPTURE_PID=$capA sp_capture_stop
check "IPv4 listener accepted no connection" [ "$(sp_accepted srv4 $srv4)" = 0 ]
check "IPv6 listener accepted no connection" [ "$(sp_accepted srv6 $srv6)" = 0 ]
check "nothing left attached" wait_until 5 sp_ns_clean "$NS_C" lo "$VETH_C" "$B_C"
sp_finish
