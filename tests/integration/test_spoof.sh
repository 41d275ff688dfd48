#!/usr/bin/env bash
# Spoofed and crafted replies, made by scapy (issue 10, "A scapy spoof suite"). In the server's
# namespace nft drops the SYNs to ports 9001-9009 before the kernel sees them, so nothing genuine
# ever answers; tests/helpers/sp_spoof.py sniffs each SYN on the veth and injects the reply its
# port stands for, built from the SYN. One `synprobe check -m bpf -j` checks all 18 targets (IPv4
# and IPv6) at once, and each result must be:
# - a SYN-ACK with ack != ISN+1, a bare RST, a RST with a wrong ack, an ICMP/ICMPv6 unreachable
#   quoting a wrong sequence number: spoofs, counted (spoofed_replies > 0), never an answer:
#   timeout;
# - ICMP fragmentation needed / ICMPv6 packet too big quoting our SYN: a path-MTU signal, not an
#   answer: timeout;
# - a SYN-ACK whose data offset runs past the packet: the kernel drops it, and so does BPF:
#   timeout; a SYN-ACK whose MSS option's length runs past the header: the kernel stops parsing
#   the options and takes it (the connection opens), so open, with reply_options_malformed;
# - the genuine SYN-ACK (IPv6: as an atomic fragment, offset 0 and M=0): open, evidence bpf;
#   a genuine ICMP/ICMPv6 unreachable: unreachable, evidence bpf.
. "$(dirname "$0")/lib.sh"
sp_require_root
PY=/usr/bin/python3
sp_require_tools nft jq
"$PY" -c 'import scapy' 2>/dev/null || { skip "spoof" "python3-scapy is not installed (scripts/install-deps.sh)"; exit 0; }
SPOOF=$(dirname "$0")/../helpers/sp_spoof.py

sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

in_s nft -f - <<NFT || not_ok "nft drops the SYNs to 9001-9009 in the server namespace"
table inet sp_spoof {
	chain input { type filter hook input priority 0; tcp dport 9001-9009 drop; }
}
NFT

# ip netns exec, not in_s: $! must be the sniffer, for the cleanup's kill (lib.sh, by in_s).
ip netns exec "$NS_S" "$PY" "$SPOOF" "$VETH_S" "$SP_TMP/spoof.ready" >"$SP_TMP/spoof.log" 2>&1 &
SPOOF_PID=$!
SP_PIDS+=("$SPOOF_PID")
# scapy takes a few seconds to import, more on an emulated CPU.
check "scapy sniffs on $VETH_S" wait_until $(sp_slow 30) test -e "$SP_TMP/spoof.ready"

targets=()
for port in $(seq 9001 9009); do
	targets+=("$S4:$port" "[$S6]:$port")
done
# Long enough for scapy's replies to come back first, even emulated; the SYN retransmissions that
# a long timeout lets through are answered the same way.
TIMEOUT_MS=$(sp_slow 1500)
in_c "$SYNPROBE" check -m bpf -j -t ${TIMEOUT_MS}ms "${targets[@]}" >"$SP_TMP/check.json" 2>"$SP_TMP/check.err"
diag "check exit status $?, $(wc -l <"$SP_TMP/check.json") results; $(grep -c . "$SP_TMP/spoof.log") replies injected"

# field PORT FAMILY KEY: KEY of the result for that port and family.
field() { jq -r --argjson p "$1" --arg f "$2" "select(.port == \$p and .family == \$f) | .$3" "$SP_TMP/check.json"; }
summary() { jq -r --argjson p "$1" --arg f "$2" 'select(.port == $p and .family == $f) |
	"\(.outcome) evidence \(.evidence) spoofed \(.spoofed_replies) malformed \(.reply_options_malformed) icmp \(.icmp_name)"' "$SP_TMP/check.json"; }
injected() { grep -q "^$1 $2 " "$SP_TMP/spoof.log"; }

# expect PORT CASE OUTCOME [spoofed|malformed|bpf]: both families.
expect() {
	local port=$1 case=$2 want=$3 extra=${4:-} fam
	for fam in ipv4 ipv6; do
		check "$fam $case (port $port): $want, method bpf ($(summary $port $fam))" eval '
			injected $port $fam &&
			[ "$(field $port $fam outcome)" = "$want" ] &&
			[ "$(field $port $fam method)" = bpf ]'
		case $extra in
		spoofed)
			check "... counted as spoofed" eval '[ "$(field $port $fam spoofed_replies)" -gt 0 ]' ;;
		malformed)
			check "... options flagged malformed" [ "$(field $port $fam reply_options_malformed)" = true ] ;;
		bpf)
			check "... evidence bpf" [ "$(field $port $fam evidence)" = bpf ] ;;
		esac
	done
}
expect 9001 synack_bad_ack timeout spoofed
expect 9002 rst_bare timeout spoofed
expect 9003 rst_bad_ack timeout spoofed
expect 9004 unreach_bad_seq timeout spoofed
expect 9005 too_big timeout
expect 9006 synack_doff_lie timeout
expect 9007 synack_optlen_lie open malformed
expect 9008 synack_genuine open bpf
expect 9009 unreach_genuine unreachable bpf
check "no error from synprobe ($(head -c 200 "$SP_TMP/check.err"))" [ ! -s "$SP_TMP/check.err" ]
check "nothing left attached" sp_no_bpf_left
sp_finish
