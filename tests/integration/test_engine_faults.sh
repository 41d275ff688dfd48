#!/usr/bin/env bash
# Faults of the engine that production meets (issue 10, items 3-5), each of which once let a
# check complete a handshake unobserved or let state grow:
# - an IPv4-mapped IPv6 target ([::ffff:a.b.c.d]) is checked as the IPv4 address it maps, by BPF;
# - a destination without a route ends its checks with the route's error and no SYN, and once
#   the route appears, the next check attaches and runs by BPF (no handshake completes);
# - when the route moves to another link, made mid-run, the engine follows it and attaches there;
# - serve exports the size of the per-target table;
# - a second run on a pin directory in use fails with one line and leaves the first's pins.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=18200
BPFFS=$SP_TMP/bpffs PIN=$SP_TMP/bpffs/synprobe
faults_cleanup() { sp_cleanup_pids; umount "$BPFFS" 2>/dev/null; sp_cleanup; }
sp_cleanup_pids() { local p; for p in "${SP_PIDS[@]}"; do kill "$p" 2>/dev/null; done; }
trap faults_cleanup EXIT

sp_listen srv 0.0.0.0 $PORT || { not_ok "listener"; sp_finish; }
srv=$LISTEN_PID

# 1. IPv4-mapped IPv6.
in_c "$SYNPROBE" check --json "[::ffff:$S4]:$PORT" >"$SP_TMP/mapped.out" 2>"$SP_TMP/mapped.err"
check "v4-mapped target: open, method bpf, evidence bpf, kernel RTT" \
	grep -q '"outcome":"open".*"rtt_timing":"kernel","method":"bpf","fallback_reason":null,"evidence":"bpf"' "$SP_TMP/mapped.out"
check "v4-mapped target: checked over IPv4" grep -q '"family":"ipv4"' "$SP_TMP/mapped.out"

# 2. No route, then a route. 10.88.0.2 is the server's, but the client has no route to it yet.
ip -n "$NS_S" addr add 10.88.0.2/32 dev "$VETH_S"
ip netns exec "$NS_C" "$SYNPROBE" ping -c 40 -i 100ms -t 300ms -j 10.88.0.2:$PORT >"$SP_TMP/ping.out" 2>"$SP_TMP/ping.err" &
ping_pid=$!
SP_PIDS+=("$ping_pid")
check "no route: the first probes end in an error" \
	wait_until 20 grep -q '"error":"Network is unreachable"' "$SP_TMP/ping.out"
check "no route: not one SYN left for it (no flow learned, nothing attached anew)" \
	bash -c "! grep -q '\"outcome\":\"open\"' '$SP_TMP/ping.out'"
mac=$(ip -n "$NS_S" -br link show dev "$VETH_S" | awk '{print $3}')
in_c ip route add 10.88.0.2/32 dev "$VETH_C" && in_c ip neigh replace 10.88.0.2 lladdr "$mac" dev "$VETH_C" nud permanent
check "route added: a later probe is open" wait_until 30 grep -q '"outcome":"open"' "$SP_TMP/ping.out"
wait "$ping_pid"
opened=$(grep -c '"outcome":"open"' "$SP_TMP/ping.out")
bpf_opened=$(grep '"outcome":"open"' "$SP_TMP/ping.out" | grep -c '"method":"bpf".*"evidence":"bpf"')
check "route added: every open probe ran by BPF ($bpf_opened of $opened)" test "$opened" -gt 0 -a "$opened" -eq "$bpf_opened"

# 2b. The route moves to a link made mid-run: the engine follows it (rtnetlink monitor) and
# attaches there, so the checks after the move are still half-open and seen by BPF.
VB_C=spv$$bc VB_S=spv$$bs
ip link add "$VB_C" netns "$NS_C" type veth peer name "$VB_S" netns "$NS_S"
ip -n "$NS_C" addr add 10.89.0.1/24 dev "$VB_C" && ip -n "$NS_S" addr add 10.89.0.2/24 dev "$VB_S"
ip -n "$NS_C" link set "$VB_C" up && ip -n "$NS_S" link set "$VB_S" up
wait_until 5 sp_link_up "$NS_C" "$VB_C" && wait_until 5 sp_link_up "$NS_S" "$VB_S" ||
	not_ok "second veth pair up"
mac_b=$(ip -n "$NS_S" -br link show dev "$VB_S" | awk '{print $3}')
in_c ip neigh replace 10.88.0.2 lladdr "$mac_b" dev "$VB_C" nud permanent
mac_bc=$(ip -n "$NS_C" -br link show dev "$VB_C" | awk '{print $3}')
in_s ip neigh replace 10.89.0.1 lladdr "$mac_bc" dev "$VB_S" nud permanent
ip netns exec "$NS_C" "$SYNPROBE" ping -c 30 -i 100ms -t 300ms -j 10.88.0.2:$PORT >"$SP_TMP/move.out" 2>"$SP_TMP/move.err" &
move_pid=$!
SP_PIDS+=("$move_pid")
check "before the move: probes open by BPF" wait_until 20 grep -q '"outcome":"open".*"evidence":"bpf"' "$SP_TMP/move.out"
in_c ip route replace 10.88.0.2/32 dev "$VB_C" src 10.89.0.1
check "after the move: a probe from the new link's address" \
	wait_until 20 grep -q '"source_address":"10.89.0.1"' "$SP_TMP/move.out"
wait "$move_pid"
moved=$(grep -c '"source_address":"10.89.0.1"' "$SP_TMP/move.out")
moved_bpf=$(grep '"source_address":"10.89.0.1"' "$SP_TMP/move.out" | grep -c '"outcome":"open".*"method":"bpf".*"evidence":"bpf"')
check "after the move: every probe ($moved_bpf of $moved) open and seen by BPF on the new link" \
	test "$moved" -gt 0 -a "$moved" -eq "$moved_bpf"

# 3. The per-target table, in serve: 600 /probe requests to distinct loopback addresses of the
# client's own (nothing listens there: each is a RST), one after the other. The table keeps idle
# entries up to a bound (tests/unit/test_engine_dests.c checks the bound over 100,000 addresses):
# here serve exports how many it holds, and they are the 600 and the configured check at most.
probe_table() {
	in_c curl -s -o /dev/null --max-time 60 \
		"http://127.0.0.1:19123/probe?target=127.1.[0-2].[1-200]:9&timeout=200ms"
	dests=$(in_c curl -s --max-time 5 http://127.0.0.1:19123/metrics |
		sed -n 's/^synprobe_engine_destinations //p')
	check "600 /probe addresses: serve exports synprobe_engine_destinations (${dests:-?}), at most 601" \
		test -n "$dests" -a "${dests:-99999}" -le 601
}

# 4. The pin directory is held by the run that uses it.
mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS" || { not_ok "bpffs mounted"; sp_finish; }
cat >"$SP_TMP/serve.yaml" <<YAML
defaults: {interval: 200ms, timeout: 100ms}
checks:
  - {name: web, target: "$S4:$PORT"}
YAML
ip netns exec "$NS_C" "$SYNPROBE" serve -c "$SP_TMP/serve.yaml" --listen 127.0.0.1:19123 --pin "$PIN" 2>"$SP_TMP/serve1.log" &
serve1=$!
SP_PIDS+=("$serve1")
check "first serve pins its maps" wait_until 10 test -e "$PIN/sp_flows"
probe_table
in_c "$SYNPROBE" serve -c "$SP_TMP/serve.yaml" --listen 127.0.0.1:19124 --pin "$PIN" >"$SP_TMP/serve2.out" 2>"$SP_TMP/serve2.err"
rc=$?
check "second serve on the same pin directory: exit 2" test "$rc" -eq 2
check "second serve: one line that says the directory is in use" \
	grep -q 'pin directory is in use by another running synprobe' "$SP_TMP/serve2.err"
check "the first serve's pins are still there" test -e "$PIN/sp_flows" -a -e "$PIN/sp_socks"
kill -TERM "$serve1"; wait "$serve1"
check "the first serve removes its pins at exit" test ! -e "$PIN/sp_flows"

check "the listener accepted nothing" test "$(sp_accepted srv "$srv")" = 0
check "nothing left attached" sp_no_bpf_left
umount "$BPFFS"
sp_finish
