#!/usr/bin/env bash
# make demo: a throw-away pair of network namespaces joined by veth, a server with a listening
# port (8080), a closed port (8081) and a filtered port (8082: nft drops its SYNs), and
# `synprobe check` run on all three over IPv4 and IPv6 from the client namespace. Then the
# namespaces are removed, also on Ctrl-C. Needs root.
set -u
out=${1:-.output}
synprobe=$out/synprobe
listen=$out/tests/sp_listen
ns_c=spdemo-client ns_s=spdemo-server
pids=()

cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	ip netns del $ns_c 2>/dev/null
	ip netns del $ns_s 2>/dev/null
	rm -f "${tmp:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: make demo creates network namespaces: run it as root" >&2
	exit 2
fi
cleanup # a demo interrupted by SIGKILL may have left its namespaces
ip netns add $ns_c && ip netns add $ns_s || exit 2
ip link add spdemo0 netns $ns_c type veth peer name spdemo1 netns $ns_s || exit 2
ip -n $ns_c addr add 10.99.0.1/24 dev spdemo0
ip -n $ns_s addr add 10.99.0.2/24 dev spdemo1
ip -n $ns_c addr add fd99::1/64 dev spdemo0 nodad
ip -n $ns_s addr add fd99::2/64 dev spdemo1 nodad
for ns in $ns_c $ns_s; do ip -n $ns link set lo up; done
ip -n $ns_c link set spdemo0 up && ip -n $ns_s link set spdemo1 up || exit 2
# Static neighbours, so the first SYN does not wait for ARP/NDP on a link that just came up.
mac_c=$(ip -n $ns_c -br link show dev spdemo0 | awk '{print $3}')
mac_s=$(ip -n $ns_s -br link show dev spdemo1 | awk '{print $3}')
ip -n $ns_c neigh replace 10.99.0.2 lladdr "$mac_s" dev spdemo0 nud permanent
ip -n $ns_c neigh replace fd99::2 lladdr "$mac_s" dev spdemo0 nud permanent
ip -n $ns_s neigh replace 10.99.0.1 lladdr "$mac_c" dev spdemo1 nud permanent
ip -n $ns_s neigh replace fd99::1 lladdr "$mac_c" dev spdemo1 nud permanent
ip netns exec $ns_s nft add table inet demo
ip netns exec $ns_s nft add chain inet demo input '{ type filter hook input priority 0; }'
ip netns exec $ns_s nft add rule inet demo input tcp dport 8082 drop

tmp=$(mktemp)
ip netns exec $ns_s "$listen" :: 8080 8082 >"$tmp" 2>&1 &
pids+=($!)
for _ in $(seq 250); do grep -q listening "$tmp" && break; sleep 0.02; done
grep -q listening "$tmp" || { echo "Error: the demo listener did not start: $(cat "$tmp")" >&2; exit 2; }

echo "Server 10.99.0.2 / fd99::2: 8080 listens, 8081 is closed, nft drops SYNs to 8082."
echo "\$ synprobe check -t 500ms 10.99.0.2:8080 10.99.0.2:8081 10.99.0.2:8082 [fd99::2]:8080 [fd99::2]:8081 [fd99::2]:8082"
ip netns exec $ns_c "$synprobe" check -t 500ms 10.99.0.2:8080 10.99.0.2:8081 10.99.0.2:8082 \
	'[fd99::2]:8080' '[fd99::2]:8081' '[fd99::2]:8082'
echo "(exit status $?: 1 because not every target is open)"
echo
echo "\$ synprobe check --json 10.99.0.2:8080"
json=$(ip netns exec $ns_c "$synprobe" check --json 10.99.0.2:8080)
rc=$?
echo "$json"
kill -USR1 "${pids[0]}"
for _ in $(seq 250); do grep -q accepted "$tmp" && break; sleep 0.02; done
accepted=$(sed -n 's/^accepted //p' "$tmp" | tail -n1)
echo
# Say what actually happened: the demo fails when its checks did not run by BPF (they were full
# handshakes timed in user space) or when the listener accepted a connection.
case $json in
*'"method":"bpf"'*) ;;
*)
	reason=$(sed -n 's/.*"fallback_reason":"\([^"]*\)".*/\1/p' <<<"$json")
	echo "The checks did NOT run by BPF (method connect: full handshakes, RTT timed in user space): ${reason:-see the warning above}." >&2
	rc=1
	;;
esac
if [ "${accepted:-}" = 0 ]; then
	echo "The server's accept() returned 0 connections: no check completed a handshake."
else
	echo "The server's accept() returned ${accepted:-an unknown number of} connections: checks completed handshakes." >&2
	rc=1
fi
exit $rc
