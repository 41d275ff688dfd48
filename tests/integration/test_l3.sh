#!/usr/bin/env bash
# synprobe check through an L3 device (no link-layer header): a tun device whose far end is
# sp_tun_peer, which answers SYNs to an open port (SYN-ACK with MSS, SACK-permitted, timestamps,
# window scale), a closed port (RST+ACK) and drops those to a filtered port, over IPv4 and IPv6.
# The routes to 10.78.0.0/16 and fd78::/64 leave by the tun, so synprobe attaches its L3 programs
# there (sp_tc_eg_l3 / sp_tc_in_l3). Each check must be judged by BPF from the packets, with the
# reply's options parsed; the peer must see S, S., R. and never the handshake-completing ACK; and
# nothing may stay attached. With TCX links and with --clsact where the kernel has TCX, clsact only
# where it does not (a feature test: BPF_PROG_QUERY of the TCX attach types).
. "$(dirname "$0")/lib.sh"
sp_require_root

SP_TUN_PEER=$SP_OUTPUT/tests/sp_tun_peer
TUN=sptun$$
OPEN=8080 CLOSED=8081 FILTERED=8082
MSS=1345 # what the peer announces: distinct from any MTU-derived value
L4=10.78.0.1 T4=10.78.1.2
L6=fd78::1 T6=fd78::2

# json_get KEY LINE: the value of KEY in one JSON object (a string without its quotes).
json_get() {
	sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" <<<"$2" | tr -d '"'
}

# peer_flows: the TCP flags of each flow the peer saw (received and sent), one flow a line, keyed
# by the client's address and port, in order: "10.78.0.1 40000 | S S. R." for a check of the open
# port.
peer_flows() {
	awk '$1 == "in" { k = $3 " " $4 } $1 == "out" { k = $5 " " $6 }
	     $1 == "in" || $1 == "out" { if (!(k in f)) o[n++] = k; f[k] = f[k] (f[k] == "" ? "" : " ") $2 }
	     END { for (i = 0; i < n; i++) print o[i] " | " f[o[i]] }' "$SP_TMP/peer.out"
}

# peer_count NAME: one of the peer's counters, after asking it for them (SIGUSR1).
peer_count() {
	local before
	before=$(grep -c '^counts' "$SP_TMP/peer.out")
	kill -USR1 "$PEER_PID"
	wait_until 5 eval '[ "$(grep -c "^counts" "$SP_TMP/peer.out")" -gt '"$before"' ]' || return 1
	grep '^counts' "$SP_TMP/peer.out" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

trap sp_cleanup EXIT
if [ ! -x "$SP_TUN_PEER" ]; then
	not_ok "$SP_TUN_PEER is built (make tests-build)"
	sp_finish
fi
ip netns add "$NS_C" && ip -n "$NS_C" link set lo up || { not_ok "namespace set-up"; sp_finish; }
# A kernel with tun as a module, booted with a bare /dev (the tests/vm guests), has no
# /dev/net/tun until the module is loaded, and opening the node is what would load it.
if [ ! -e /dev/net/tun ]; then
	modprobe tun 2>/dev/null
	wait_until 2 test -e /dev/net/tun || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
	diag "made /dev/net/tun (modprobe tun$([ -c /dev/net/tun ] || echo ', and mknod failed'))"
fi
# Not through in_c: $! must be the peer itself, for the signals.
ip netns exec "$NS_C" "$SP_TUN_PEER" -m $MSS "$TUN" $OPEN $CLOSED $FILTERED >"$SP_TMP/peer.out" 2>&1 &
PEER_PID=$!
SP_PIDS+=("$PEER_PID")
if ! wait_until 5 grep -qs "^ready $TUN" "$SP_TMP/peer.out"; then
	not_ok "sp_tun_peer made $TUN ($(cat "$SP_TMP/peer.out"))"
	sp_finish
fi
ip -n "$NS_C" addr add $L4/24 dev "$TUN" &&
	ip -n "$NS_C" addr add $L6/64 dev "$TUN" nodad &&
	ip -n "$NS_C" link set "$TUN" up &&
	ip -n "$NS_C" route add 10.78.0.0/16 dev "$TUN" || { not_ok "addresses and routes on $TUN"; sp_finish; }
check "$TUN is a link without a link-layer header (link/none)" \
	grep -q 'link/none' <<<"$(ip -n "$NS_C" link show dev "$TUN")"
check "the route to $T4 leaves by $TUN" grep -q "dev $TUN" <<<"$(ip -n "$NS_C" route get $T4)"
check "the route to $T6 leaves by $TUN" grep -q "dev $TUN" <<<"$(ip -n "$NS_C" -6 route get $T6)"

# TCX where BPF_PROG_QUERY knows its attach types (kernel 6.6 on), else clsact alone.
if in_c "$SP_OUTPUT/tests/sp_tcx_query" lo >/dev/null 2>&1; then
	modes="tcx clsact"
else
	modes="clsact"
	diag "no TCX on this kernel (BPF_PROG_QUERY of BPF_TCX_INGRESS fails): clsact only"
fi

n_open=0 n_closed=0
for mode in $modes; do
	opt=()
	[ "$mode" = clsact ] && opt=(--clsact)
	for fam in 4 6; do
		if [ $fam = 4 ]; then addr=$T4 src=$L4 targets=("$T4:$OPEN" "$T4:$CLOSED" "$T4:$FILTERED")
		else addr=$T6 src=$L6 targets=("[$T6]:$OPEN" "[$T6]:$CLOSED" "[$T6]:$FILTERED"); fi
		what="$mode IPv$fam"
		# 800 ms: the filtered port's check ends before the SYN's first retransmission (1 s).
		json=$(in_c "$SYNPROBE" check -v --json -t 800ms "${opt[@]}" "${targets[@]}" 2>"$SP_TMP/err"); rc=$?
		err=$(cat "$SP_TMP/err")
		check "$what: exit 1 (not every target is open) ($rc)" [ $rc -eq 1 ]
		if [ "$(grep -c '^{' <<<"$json")" -eq 3 ]; then ok "$what: three results"
		else not_ok "$what: three results"; diag "$json $err"; fi
		check "$what: attached to $TUN ($mode)" grep -q "attached to $TUN ($mode)" <<<"$err"
		check "$what: the flows maps are empty after the run" \
			grep -q "flows left in the BPF maps: sp_socks 0, sp_flows 0" <<<"$err"

		o=$(grep "\"port\":$OPEN," <<<"$json")
		check "$what open port: outcome open" [ "$(json_get outcome "$o")" = open ]
		check "$what open port: method bpf, evidence bpf" \
			[ "$(json_get method "$o")/$(json_get evidence "$o")" = bpf/bpf ]
		check "$what open port: a kernel RTT" \
			eval '[ "$(json_get rtt_timing "$o")" = kernel ] && [ "$(json_get rtt_ns "$o")" -gt 0 ]'
		check "$what open port: the reply came from $addr to $src" \
			[ "$(json_get reply_from "$o")/$(json_get source_address "$o")" = "$addr/$src" ]
		check "$what open port: reply_mss $MSS, as the peer sent it" [ "$(json_get reply_mss "$o")" = $MSS ]
		check "$what open port: window scale 7, SACK-permitted, timestamps" \
			[ "$(json_get reply_wscale "$o") $(json_get reply_sack_permitted "$o") $(json_get reply_timestamps "$o")" = "7 true true" ]
		check "$what open port: options well formed, no spoofed reply" \
			[ "$(json_get reply_options_malformed "$o") $(json_get spoofed_replies "$o")" = "false 0" ]
		check "$what open port: reply TTL 64" [ "$(json_get reply_ttl "$o")" = 64 ]

		c=$(grep "\"port\":$CLOSED," <<<"$json")
		check "$what closed port: outcome closed" [ "$(json_get outcome "$c")" = closed ]
		check "$what closed port: method bpf, evidence bpf" \
			[ "$(json_get method "$c")/$(json_get evidence "$c")" = bpf/bpf ]
		check "$what closed port: a kernel RTT" \
			eval '[ "$(json_get rtt_timing "$c")" = kernel ] && [ "$(json_get rtt_ns "$c")" -gt 0 ]'
		check "$what closed port: a RST has no MSS" [ "$(json_get reply_mss "$c")" = null ]

		f=$(grep "\"port\":$FILTERED," <<<"$json")
		check "$what filtered port: outcome timeout, method bpf" \
			[ "$(json_get outcome "$f")/$(json_get method "$f")" = timeout/bpf ]
		check "$what filtered port: no reply believed" [ "$(json_get reply_from "$f")" = null ]
		n_open=$((n_open + 1)) n_closed=$((n_closed + 1))

		check "$what: nothing left attached to $TUN or lo" wait_until 5 sp_ns_clean "$NS_C" lo "$TUN"
		check "$what: no clsact qdisc left on $TUN" \
			eval '! tc -n "$NS_C" qdisc show dev "$TUN" | grep -q clsact'
	done
done

# -i names the tun itself (it used to be refused: no Ethernet header).
out=$(in_c "$SYNPROBE" check -v -i "$TUN" "$T4:$OPEN" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -qE "^\S+ +$T4 +open +bpf " <<<"$out" && grep -q "attached to $TUN " <<<"$out"
then ok "-i $TUN: open, by BPF"
else not_ok "-i $TUN: open, by BPF"; diag "$out"; fi
n_open=$((n_open + 1))
check "-i $TUN: nothing left attached" wait_until 5 sp_ns_clean "$NS_C" lo "$TUN"

# keepalive through an L3 device needs a peer that speaks TCP beyond the handshake, which
# sp_tun_peer does not: test_l3_tunnels.sh checks it over WireGuard and GRE.

# The wire, as the peer saw it.
flows=$(peer_flows)
diag "flows at the peer: $(sed 's/^.* | //' <<<"$flows" | sort | uniq -c | tr -s ' \n' ' ;')"
open_flows=$(grep -c '| S S\.' <<<"$flows")
check "the peer answered $n_open SYNs to the open port with a SYN-ACK ($open_flows)" [ "$open_flows" -eq $n_open ]
if [ "$(grep ' S\.' <<<"$flows" | grep -cv '| S S\. R\.$')" -eq 0 ]; then
	ok "every check of the open port is exactly S, S., R. at the peer"
else
	not_ok "every check of the open port is exactly S, S., R. at the peer"
	# No RST, or a bare one (no ACK: the kernel's answer to a SYN-ACK that met no socket): the
	# socket was closed while still in SYN-SENT, before TCP had taken the SYN-ACK that tc
	# ingress had already reported.
	diag "$(grep ' S\.' <<<"$flows" | grep -v '| S S\. R\.$')"
fi
check "every check of the closed port is exactly S, R. at the peer ($n_closed)" \
	test "$(grep -c '| S R\.$' <<<"$flows")" -eq $n_closed -a \
	"$(grep -v ' S\.' <<<"$flows" | grep ' R' | grep -cv '| S R\.$')" -eq 0
check "the peer saw no handshake-completing ACK" [ "$(peer_count ack)" = 0 ]
check "the peer saw $n_open RSTs that abort its SYN-ACKs" [ "$(peer_count rst)" = $n_open ]
check "the peer saw no other RST nor data" [ "$(peer_count rst_bad)/$(peer_count data)" = 0/0 ]
sp_finish
