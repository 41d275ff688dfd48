#!/usr/bin/env bash
# A slow user side does not complete the handshake (NOTES-kernel.md items 2 and 3).
#
# With --test-close-delay 500ms synprobe keeps each socket open 500 ms after the SYN-ACK. The
# kernel's delayed ACK would go out at about 200 ms and the server would complete a handshake;
# the tc egress program drops it. Over IPv4 and IPv6, on the server's veth: every flow is exactly
# S, S., R, the RST comes at least 500 ms after the SYN-ACK (the delay did happen), the listener
# accepts nothing, and -v counts the dropped ACKs.
#
# Controls show that these assertions detect a completed handshake:
#  - the same synprobe run with its programs attached to lo only (-i lo), so they never see the
#    flow: the delayed ACK reaches the server (S, S., ., R), accept() returns once, no ACK dropped;
#  - a plain connect() from bash (/dev/tcp): a bare "." ACK on the wire and one accept().
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=8090 CTL_PORT=8091 PLAIN_PORT=8092
CHECKS=3 # checks per family, all at once
DELAY_MS=500

# half_open_flows NAME PORT N: the capture NAME has N flows to PORT, each exactly S, S., R.
half_open_flows() {
	local wire
	wire=$(sp_flows_on_wire "$1" "$2")
	[ -n "$wire" ] && [ "$(wc -l <<<"$wire")" -eq "$3" ] && [ "$(grep -cvx 'S S. R.' <<<"$wire")" -eq 0 ]
}

# syn_ack_to_rst_ms NAME PORT: per flow to PORT, ms from its first SYN-ACK to its first RST.
syn_ack_to_rst_ms() {
	tcpdump -r "$SP_TMP/$1.pcap" -tt -n 2>/dev/null | awk -v p="$2" '
		{ for (i = 1; i <= NF; i++) if ($i == "Flags") { f = $(i + 1); break }
		  gsub(/[\[\],]/, "", f); src = $3; dst = $5; sub(/:$/, "", dst)
		  key = (src ~ "\\." p "$") ? dst : src
		  if (!(key in seen)) { seen[key] = 1; order[n++] = key }
		  if (f == "S." && !(key in sa)) sa[key] = $1
		  if (f ~ /^R/ && !(key in rst)) rst[key] = $1 }
		END { for (i = 0; i < n; i++) { k = order[i]
			if ((k in sa) && (k in rst)) printf "%d\n", (rst[k] - sa[k]) * 1000
			else print "none" } }'
}

# gaps_at_least MIN_MS GAPS: every line of GAPS is a number >= MIN_MS.
gaps_at_least() {
	[ -n "$2" ] && ! grep -qv '^[0-9][0-9]*$' <<<"$2" && [ "$(sort -n <<<"$2" | head -n 1)" -ge "$1" ]
}

# acks_dropped OUT: the "ACKs dropped N" counter of a -v run's output (empty if absent).
acks_dropped() {
	sed -n 's/.*ACKs dropped \([0-9]*\).*/\1/p' <<<"$1" | tail -n 1
}

# A bare ACK (".") in some flow: a completed handshake.
bare_ack_on_wire() {
	sp_flags "$1" | grep -qx '\.'
}

in_s_listener_ok=1
sp_listen srv4 $S4 $PORT || { not_ok "listener on $S4"; in_s_listener_ok=; }
srv4=$LISTEN_PID
sp_listen srv6 $S6 $PORT || { not_ok "listener on $S6"; in_s_listener_ok=; }
srv6=$LISTEN_PID
[ -n "$in_s_listener_ok" ] || sp_finish

sp_capture wire "$NS_S" "$VETH_S" "tcp port $PORT" || not_ok "capture started"
for fam in 4 6; do
	if [ $fam = 4 ]; then t="$S4:$PORT"; else t="[$S6]:$PORT"; fi
	targets=()
	for ((i = 0; i < CHECKS; i++)); do targets+=("$t"); done
	out=$(in_c "$SYNPROBE" check -v --test-close-delay ${DELAY_MS}ms "${targets[@]}" 2>&1)
	rc=$?
	check "IPv$fam: $CHECKS checks with the close $DELAY_MS ms late: exit 0, all open" \
		test $rc -eq 0 -a "$(grep -c ' open ' <<<"$out")" -eq $CHECKS
	n=$(acks_dropped "$out")
	check "IPv$fam: -v counts the dropped handshake ACKs (ACKs dropped ${n:-?}, >= $CHECKS)" \
		test "${n:-0}" -ge $CHECKS
	check "IPv$fam: the flows maps are empty after the run" \
		grep -q "flows left in the BPF maps: sp_socks 0, sp_flows 0" <<<"$out"
	[ $rc -eq 0 ] || diag "$out"
done
sp_capture_stop

wire=$(sp_flows_on_wire wire $PORT)
diag "flows on the server's veth: $(sort <<<"$wire" | uniq -c | tr '\n' ';')"
check "the capture saw $((2 * CHECKS)) flows, each exactly S, S., R" half_open_flows wire $PORT $((2 * CHECKS))
check "no bare ACK reached the server" eval '! bare_ack_on_wire wire'
gaps=$(syn_ack_to_rst_ms wire $PORT)
diag "SYN-ACK to RST (ms): $(tr '\n' ' ' <<<"$gaps")"
# (awk truncates to whole ms: allow 2 ms of rounding.)
check "each RST came at least $DELAY_MS ms after its SYN-ACK (the close was late)" gaps_at_least $((DELAY_MS - 2)) "$gaps"
check "the IPv4 listener accepted nothing" [ "$(sp_accepted srv4 $srv4)" = 0 ]
check "the IPv6 listener accepted nothing" [ "$(sp_accepted srv6 $srv6)" = 0 ]

# Control 1: the same late close, with the programs on lo, off the flow's path. The check ends
# at its timeout (-t), with no reply seen by BPF; the kernel's delayed ACK goes out meanwhile.
sp_listen ctl $S4 $CTL_PORT || not_ok "control listener"
ctl=$LISTEN_PID
sp_capture ctl "$NS_S" "$VETH_S" "tcp port $CTL_PORT" || not_ok "control capture started"
out=$(in_c "$SYNPROBE" check -v -i lo -t ${DELAY_MS}ms --test-close-delay ${DELAY_MS}ms "$S4:$CTL_PORT" 2>&1)
sp_capture_stop
check "control, programs on lo only: attached to lo, not to $VETH_C" \
	eval 'grep -q "attached to lo " <<<"$out" && ! grep -q "attached to $VETH_C" <<<"$out"'
n=$(acks_dropped "$out")
check "control, programs on lo only: no ACK dropped (ACKs dropped ${n:-?})" test "${n:-1}" -eq 0
wire=$(sp_flows_on_wire ctl $CTL_PORT)
diag "control flows: $(tr '\n' ';' <<<"$wire")"
check "control, programs on lo only: the wire is not S, S., R (the handshake ACK went out)" \
	eval '! half_open_flows ctl $CTL_PORT 1 && bare_ack_on_wire ctl'
check "control, programs on lo only: the listener accepted the connection" [ "$(sp_accepted ctl $ctl)" = 1 ]

# Control 2: a plain connect() completes the handshake at once.
sp_listen plain $S4 $PLAIN_PORT || not_ok "plain listener"
plain=$LISTEN_PID
sp_capture plain "$NS_S" "$VETH_S" "tcp port $PLAIN_PORT" || not_ok "plain capture started"
in_c timeout 5 bash -c "exec 3<>/dev/tcp/$S4/$PLAIN_PORT" || not_ok "plain connect()"
# The bare ACK is in the capture once the listener has the connection: wait for accept().
accepted_now() {
	kill -USR1 "$plain" 2>/dev/null
	grep -q '^accepted 1$' "$SP_TMP/plain.out"
}
wait_until 5 accepted_now
sp_capture_stop
wire=$(sp_flows_on_wire plain $PLAIN_PORT)
diag "plain connect flows: $(tr '\n' ';' <<<"$wire")"
check "control, plain connect(): a bare ACK on the wire, not S, S., R" \
	eval '! half_open_flows plain $PLAIN_PORT 1 && bare_ack_on_wire plain'
check "control, plain connect(): the listener accepted it" [ "$(sp_accepted plain $plain)" = 1 ]
sp_finish
