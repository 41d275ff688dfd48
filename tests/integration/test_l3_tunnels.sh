#!/usr/bin/env bash
# synprobe check across the links production hosts check services over: WireGuard, a VLAN
# sub-interface and GRE (ip_gre with a remote), each between the client and server namespaces on
# top of lib.sh's veth pair, IPv4 and IPv6, to a real listener (sp_listen). WireGuard and GRE
# devices have no Ethernet header (ARPHRD_NONE, ARPHRD_IPGRE): synprobe attaches its L3
# programs; a VLAN sub-interface is Ethernet. Each check must be open by BPF ("evidence":"bpf",
# a kernel RTT), be exactly S, S., R. on the server's side of the tunnel, and the listener must
# accept nothing. Each kind is probed by creating one (`ip link add ... type KIND`) and skipped
# with the reason when the kernel cannot (this repository's CI host lacks wireguard, 8021q and
# ip_gre; the kernels of `make test-kernels` have them). With TCX links and with --clsact where
# the kernel has TCX, clsact only where it does not.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=8080
# 10.79.K.0/24 and fd79:K::/64 on tunnel kind K: they exist only inside our namespaces.
C_IF=spl$$c S_IF=spl$$s

if in_c "$SP_OUTPUT/tests/sp_tcx_query" lo >/dev/null 2>&1; then
	modes="tcx clsact"
else
	modes="clsact"
	diag "no TCX on this kernel (BPF_PROG_QUERY of BPF_TCX_INGRESS fails): clsact only"
fi

# json_get KEY LINE: the value of KEY in one JSON object (a string without its quotes).
json_get() {
	sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" <<<"$2" | tr -d '"'
}

# can_make KIND ARGS...: the kernel makes a link of KIND (its module loads), with ARGS the rest of
# `ip link add NAME ...`; REASON says why not.
can_make() {
	local kind=$1 msg
	shift
	if ! msg=$(ip -n "$NS_C" link add name sp_probe$$ "$@" 2>&1); then
		REASON="the kernel cannot make a $kind link ($msg)"
		return 1
	fi
	ip -n "$NS_C" link del sp_probe$$
}

# tunnel_down: removes the tunnel devices of the last case from both namespaces.
tunnel_down() {
	ip -n "$NS_C" link del "$C_IF" 2>/dev/null
	ip -n "$NS_S" link del "$S_IF" 2>/dev/null
}

# run_case NAME K ATTACH_MODE_LINE: the checks through the tunnel C_IF/S_IF, addressed
# 10.79.K.1-2 and fd79:K::1-2, already up.
run_case() {
	local name=$1 k=$2 s4=10.79.$2.2 s6=fd79:$2::2 mode opt fam target json err rc o lid wire
	sp_listen "$name" $s4 $PORT || { not_ok "$name: listener on $s4"; return; }
	lid=$LISTEN_PID
	sp_listen "${name}6" $s6 $PORT || { not_ok "$name: listener on $s6"; return; }
	local lid6=$LISTEN_PID
	check "$name: the route to $s4 leaves by $C_IF" grep -q "dev $C_IF" <<<"$(ip -n "$NS_C" route get $s4)"
	check "$name: the route to $s6 leaves by $C_IF" grep -q "dev $C_IF" <<<"$(ip -n "$NS_C" -6 route get $s6)"
	sp_capture "$name" "$NS_S" "$S_IF" "tcp port $PORT" || not_ok "$name: capture on $S_IF"
	local n=0
	for mode in $modes; do
		opt=()
		[ "$mode" = clsact ] && opt=(--clsact)
		# One run checks both families (one load of the programs: seconds under an emulated CPU).
		out=$(in_c "$SYNPROBE" check -v --json -t 3s "${opt[@]}" $s4:$PORT "[$s6]:$PORT" 2>"$SP_TMP/err"); rc=$?
		err=$(cat "$SP_TMP/err")
		for fam in 4 6; do
			json=$(grep -F "\"family\":\"ipv$fam\"" <<<"$out")
			n=$((n + 1))
			if [ $rc -eq 0 ] && [ "$(json_get outcome "$json")" = open ]; then
				ok "$name $mode IPv$fam: open"
			else
				not_ok "$name $mode IPv$fam: open (status $rc)"
				diag "$json $err"
			fi
			check "$name $mode IPv$fam: method bpf, evidence bpf, kernel RTT" \
				[ "$(json_get method "$json")/$(json_get evidence "$json")/$(json_get rtt_timing "$json")" = bpf/bpf/kernel ]
		done
		check "$name $mode: attached to $C_IF ($mode)" grep -q "attached to $C_IF ($mode)" <<<"$err"
		check "$name $mode: the flows maps are empty after the run" \
			grep -q "flows left in the BPF maps: sp_socks 0, sp_flows 0" <<<"$err"
		check "$name $mode: nothing left attached" wait_until 5 sp_ns_clean "$NS_C" lo "$C_IF"
	done
	sp_capture_stop
	wire=$(sp_flows_on_wire "$name" $PORT)
	diag "$name: flows on $S_IF: $(sort <<<"$wire" | uniq -c | tr -s ' \n' ' ;')"
	check "$name: $n flows on the server's side of the tunnel" test "$(grep -c . <<<"$wire")" -eq $n
	check "$name: every check is exactly S, S., R. on the wire" test "$(grep -cvx 'S S. R.' <<<"$wire")" -eq 0
	check "$name: the IPv4 listener accepted nothing" [ "$(sp_accepted "$name" $lid)" = 0 ]
	check "$name: the IPv6 listener accepted nothing" [ "$(sp_accepted "${name}6" $lid6)" = 0 ]
	keepalive_case "$name" "$s4"
}

# keepalive_case NAME ADDR: synprobe keepalive through the tunnel to a keepalive --listen peer:
# its programs (bpf/conn.bpf.c) attach the L3 pair there, and see the probes and their answers.
keepalive_case() {
	local name=$1 addr=$2 out rc srv
	ip netns exec "$NS_S" "$SYNPROBE" keepalive --listen "$addr:$((PORT + 1))" \
		>"$SP_TMP/ka_$name.out" 2>&1 &
	srv=$!
	SP_PIDS+=("$srv")
	if ! wait_until "$(sp_slow 5)" grep -q "^listening on" "$SP_TMP/ka_$name.out"; then
		not_ok "$name keepalive: the peer listens"
		return
	fi
	out=$(in_c "$SYNPROBE" keepalive --idle 1 --interval 1 --count 3 -d 3.5s "$addr:$((PORT + 1))" 2>&1)
	rc=$?
	check "$name keepalive: exit 0 ($rc)" [ $rc -eq 0 ]
	check "$name keepalive: at least 2 probes seen and answered, with their RTT" \
		test "$(grep -cE '^probe [0-9]+ +to [^ ]+ +at \+[0-9.]+ s +answered +rtt_ns [0-9]+' <<<"$out")" -ge 2
	[ $rc -eq 0 ] || diag "$out"
	kill -TERM "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	check "$name keepalive: nothing left attached" wait_until 5 sp_ns_clean "$NS_C" lo "$C_IF"
}

# tunnel_addrs K: addresses on C_IF and S_IF, both up.
tunnel_addrs() {
	ip -n "$NS_C" addr add 10.79.$1.1/24 dev "$C_IF" &&
		ip -n "$NS_S" addr add 10.79.$1.2/24 dev "$S_IF" &&
		ip -n "$NS_C" addr add fd79:$1::1/64 dev "$C_IF" nodad &&
		ip -n "$NS_S" addr add fd79:$1::2/64 dev "$S_IF" nodad &&
		ip -n "$NS_C" link set "$C_IF" up && ip -n "$NS_S" link set "$S_IF" up
}

# --- WireGuard: each side's keys made now; the peers meet over the veth (UDP 51820).
if ! command -v wg >/dev/null; then
	skip "WireGuard" "no wg command (Debian package wireguard-tools; scripts/install-deps.sh)"
elif ! can_make wireguard type wireguard; then
	skip "WireGuard" "$REASON"
else
	(umask 077 && wg genkey >"$SP_TMP/wg_c.key" && wg genkey >"$SP_TMP/wg_s.key")
	pub_c=$(wg pubkey <"$SP_TMP/wg_c.key") pub_s=$(wg pubkey <"$SP_TMP/wg_s.key")
	if ip -n "$NS_C" link add "$C_IF" type wireguard && ip -n "$NS_S" link add "$S_IF" type wireguard &&
		in_c wg set "$C_IF" private-key "$SP_TMP/wg_c.key" listen-port 51820 \
			peer "$pub_s" allowed-ips 10.79.1.0/24,fd79:1::/64 endpoint $S4:51820 &&
		in_s wg set "$S_IF" private-key "$SP_TMP/wg_s.key" listen-port 51820 \
			peer "$pub_c" allowed-ips 10.79.1.0/24,fd79:1::/64 endpoint $C4:51820 &&
		tunnel_addrs 1; then
		check "WireGuard: $C_IF has no link-layer header (link/none)" \
			grep -q 'link/none' <<<"$(ip -n "$NS_C" link show dev "$C_IF")"
		run_case wireguard 1
		check "WireGuard: the peers made a handshake" grep -q . <<<"$(in_c wg show "$C_IF" latest-handshakes | awk '$2 > 0')"
	else
		not_ok "WireGuard: tunnel set-up"
	fi
	tunnel_down
fi

# --- VLAN 100 on the veth pair: Ethernet frames, tagged on the wire.
if ! can_make vlan link "$VETH_C" type vlan id 4000; then
	skip "VLAN" "$REASON"
else
	if ip -n "$NS_C" link add link "$VETH_C" name "$C_IF" type vlan id 100 &&
		ip -n "$NS_S" link add link "$VETH_S" name "$S_IF" type vlan id 100 &&
		tunnel_addrs 2 && wait_until 5 sp_link_up "$NS_C" "$C_IF" &&
		sp_static_neigh "$NS_C" "$C_IF" "$NS_S" "$S_IF" 10.79.2.2 fd79:2::2 &&
		sp_static_neigh "$NS_S" "$S_IF" "$NS_C" "$C_IF" 10.79.2.1 fd79:2::1; then
		check "VLAN: $C_IF is an 802.1Q sub-interface of $VETH_C" \
			grep -q 'vlan protocol 802.1Q id 100' <<<"$(ip -n "$NS_C" -d link show dev "$C_IF")"
		# The tag on the wire, on the veth under it.
		sp_capture vlanwire "$NS_S" "$VETH_S" "vlan 100 and tcp port $PORT" || not_ok "VLAN: capture on $VETH_S"
		vlan_capture=$CAPTURE_PID
		run_case vlan 2
		CAPTURE_PID=$vlan_capture sp_capture_stop
		check "VLAN: the checks' packets carried tag 100 on $VETH_S" \
			test "$(tcpdump -r "$SP_TMP/vlanwire.pcap" -n -e 2>/dev/null | grep -c 'vlan 100')" -gt 0
	else
		not_ok "VLAN: sub-interface set-up"
	fi
	tunnel_down
fi

# --- GRE (ip_gre) with a remote address: point to point, no link-layer header (ARPHRD_IPGRE).
if ! can_make gre type gre local $C4 remote $S4; then
	skip "GRE" "$REASON"
else
	if ip -n "$NS_C" link add "$C_IF" type gre local $C4 remote $S4 ttl 64 &&
		ip -n "$NS_S" link add "$S_IF" type gre local $S4 remote $C4 ttl 64 &&
		tunnel_addrs 3; then
		check "GRE: $C_IF is a gre link (link/gre)" \
			grep -q 'link/gre' <<<"$(ip -n "$NS_C" link show dev "$C_IF")"
		run_case gre 3
	else
		not_ok "GRE: tunnel set-up"
	fi
	tunnel_down
fi

check "nothing left attached to the veth or lo" sp_no_bpf_left
sp_finish
