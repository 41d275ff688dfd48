# shellcheck shell=bash
# lib.sh - shared by the integration tests: TAP output, a pair of network namespaces joined by
# veth, listeners, captures, and clean-up that also runs when a test fails.
#
# Each test script sources this file, calls sp_ns_setup, and reports with ok / not_ok / skip.
# All traffic stays inside the namespaces made here: 10.77.0.0/24 and fd77::/64 exist only on
# their veth pair.
set -u

SP_OUTPUT=${SP_OUTPUT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.output" && pwd)}
SYNPROBE=$SP_OUTPUT/synprobe
SP_LISTEN=$SP_OUTPUT/tests/sp_listen

# Namespace names are unique per script run, so tests can run side by side.
NS_C=spc$$	# client: synprobe runs here
NS_S=sps$$	# server: listeners run here
VETH_C=spv$$c
VETH_S=spv$$s
C4=10.77.0.1 S4=10.77.0.2
C6=fd77::1 S6=fd77::2
SP_TMP=$(mktemp -d /tmp/synprobe-test.XXXXXX)

T_N=0
T_FAILED=0
SP_PIDS=()

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP $2"; }
diag() { echo "# $*"; }
# check NAME CMD...: ok if CMD succeeds, else not_ok.
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

# wait_until SECONDS CMD...: polls CMD every 20 ms until it succeeds; 1 on time-out.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.02
	done
}

sp_cleanup() {
	[ -n "${SP_KEEP_TMP:-}" ] && cp -r "$SP_TMP" /tmp/sp-kept
	local pid
	for pid in "${SP_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${SP_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	rm -rf "/etc/netns/$NS_C" "/etc/netns/$NS_S" "$SP_TMP"
}

# sp_finish: runs the script's EXIT trap (sp_cleanup, or a script's own that also removes what
# it made beyond lib.sh's namespaces), then exits 0 only if no check failed.
sp_finish() {
	local handler
	handler=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
	if [ -n "$handler" ]; then
		eval "$handler"
	else
		sp_cleanup
	fi
	trap - EXIT
	[ "$T_FAILED" -eq 0 ]
	exit $?
}

# sp_require_root: skips the whole script (one TAP skip line, exit 0) when not root.
sp_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "$(basename "$0")" "needs root"
		exit 0
	fi
}

# sp_require_tools TOOL...: skips the whole script (one TAP skip line, exit 0) when a TOOL is not
# on the PATH, naming it and where it comes from.
sp_require_tools() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			skip "$(basename "$0")" "$tool is not installed (scripts/install-deps.sh)"
			exit 0
		fi
	done
}

# sp_host_only WHY: in the kernel matrix (make test-kernels sets SP_KERNEL_MATRIX=1), skips the
# whole script with WHY: what it tests is user space that no kernel version changes (HTTP, TLS,
# config files, DNS, packaging), and under an emulated CPU it would take minutes of CI's 45; make
# test runs it on the host. A manual tests/vm/run.sh of the script still runs it.
sp_host_only() {
	if [ "${SP_KERNEL_MATRIX:-0}" = 1 ]; then
		skip "$(basename "$0")" "kernel matrix: $1; make test runs it on the host"
		exit 0
	fi
}

# sp_ns_setup: client and server namespaces joined by veth, IPv4 and IPv6, lo up in both.
sp_ns_setup() {
	trap sp_cleanup EXIT
	ip netns add "$NS_C" && ip netns add "$NS_S" || return 1
	ip link add "$VETH_C" netns "$NS_C" type veth peer name "$VETH_S" netns "$NS_S" || return 1
	ip -n "$NS_C" link set lo up && ip -n "$NS_S" link set lo up
	ip -n "$NS_C" addr add $C4/24 dev "$VETH_C"
	ip -n "$NS_S" addr add $S4/24 dev "$VETH_S"
	ip -n "$NS_C" addr add $C6/64 dev "$VETH_C" nodad
	ip -n "$NS_S" addr add $S6/64 dev "$VETH_S" nodad
	ip -n "$NS_C" link set "$VETH_C" up && ip -n "$NS_S" link set "$VETH_S" up || return 1
	# No DNS leaves the namespaces: names come from a hosts file of our own.
	mkdir -p "/etc/netns/$NS_C"
	printf 'nameserver 127.0.0.1\n' >"/etc/netns/$NS_C/resolv.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n%s server4.test\n%s server6.test\n%s server.test\n%s server.test\n' \
		$S4 $S6 $S4 $S6 >"/etc/netns/$NS_C/hosts"
	wait_until "$(sp_slow 5)" sp_link_up "$NS_C" "$VETH_C" && wait_until "$(sp_slow 5)" sp_link_up "$NS_S" "$VETH_S" || return 1
	# Static neighbours: no ARP/NDP round (nor its 1 s retry) in front of the first SYN.
	sp_static_neigh "$NS_C" "$VETH_C" "$NS_S" "$VETH_S" $S4 $S6 &&
		sp_static_neigh "$NS_S" "$VETH_S" "$NS_C" "$VETH_C" $C4 $C6
}

# sp_static_neigh NS IFACE PEER_NS PEER_IFACE PEER_V4 PEER_V6: permanent neighbour entries in NS.
sp_static_neigh() {
	local mac
	mac=$(ip -n "$3" -br link show dev "$4" | awk '{print $3}')
	ip -n "$1" neigh replace "$5" lladdr "$mac" dev "$2" nud permanent &&
		ip -n "$1" -6 neigh replace "$6" lladdr "$mac" dev "$2" nud permanent
}

# sp_link_up NS IFACE: the interface has carrier (both ends of the veth are up).
sp_link_up() {
	ip -n "$1" link show dev "$2" 2>/dev/null | grep -q 'state UP'
}

# in_c CMD... / in_s CMD...: CMD in the client / server namespace, in the foreground. Never
# `in_c CMD &`: a function in the background is a subshell that forks CMD, so $! is the subshell
# and the cleanup's kill leaves CMD running. Start a background process with
# `ip netns exec "$NS_C" CMD &` (ip execs CMD in place, and keeps /etc/netns/NS's resolv.conf and
# hosts) or `nsenter --net=/run/netns/NS CMD &`.
in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

# sp_listen NAME ADDR PORT...: starts sp_listen in the server namespace; its output goes to
# $SP_TMP/NAME.out; waits until it listens. Sets LISTEN_PID.
sp_listen() {
	local name=$1
	shift
	ip netns exec "$NS_S" "$SP_LISTEN" "$@" >"$SP_TMP/$name.out" 2>&1 &
	LISTEN_PID=$!
	SP_PIDS+=("$LISTEN_PID")
	wait_until "$(sp_slow 5)" grep -qs listening "$SP_TMP/$name.out"
}

# sp_mkcert NAME DAYS SUBJECT [CA [EXT]]: $SP_TMP/NAME.key (EC P-256) and $SP_TMP/NAME.pem, a
# certificate for SUBJECT (as openssl's -subj: "/O=org/CN=name") valid DAYS days. With CA, signed
# by $SP_TMP/CA.pem and CA.key (an earlier sp_mkcert) with the extensions EXT (lines of
# `openssl x509 -extfile`); without, self-signed (openssl's CA extensions), EXT's lines given as
# -addext. Returns non-zero when openssl fails.
sp_mkcert() {
	local out=$SP_TMP/$1 days=$2 subj=$3 ca=${4:-} ext=${5:-} line addext=()

	if [ -z "$ca" ]; then
		while IFS= read -r line; do
			[ -n "$line" ] && addext+=(-addext "$line")
		done <<<"$ext"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
			-subj "$subj" "${addext[@]}" -keyout "$out.key" -out "$out.pem" 2>/dev/null
		return
	fi
	printf '%s\n' "$ext" >"$out.ext" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
			-keyout "$out.key" -out "$out.csr" 2>/dev/null &&
		openssl x509 -req -in "$out.csr" -CA "$SP_TMP/$ca.pem" -CAkey "$SP_TMP/$ca.key" \
			-CAcreateserial -days "$days" -extfile "$out.ext" -out "$out.pem" 2>/dev/null
}

# sp_l7_certs: the certificates of the checks past the handshake, with sp_mkcert: ca (a CA,
# "sptest CA", 20 days), other (another CA) and leaf (O=sptest, CN=server.test, for
# server.test, $S4 and $S6, 30 days: it outlives its CA, signed by ca).
sp_l7_certs() {
	sp_mkcert ca 20 "/CN=sptest CA" &&
		sp_mkcert other 20 "/CN=other CA" &&
		sp_mkcert leaf 30 "/O=sptest/CN=server.test" ca \
			"subjectAltName=DNS:server.test,IP:$S4,IP:$S6"
}

# sp_cert_not_after PEM: the certificate's notAfter as RFC 3339 UTC (2026-01-02T03:04:05Z).
sp_cert_not_after() {
	date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}

# sp_accepted NAME PID: stops the listener and prints its accept() count.
sp_accepted() {
	kill -TERM "$2" 2>/dev/null
	wait_until "$(sp_slow 5)" grep -qs '^accepted' "$SP_TMP/$1.out"
	sed -n 's/^accepted //p' "$SP_TMP/$1.out" | tail -n 1
}

# sp_flows_on_wire NAME PORT: the TCP flags of each flow to PORT in the capture NAME, one flow a
# line in order, e.g. "S S. R." (tcpdump shows our RST as "R." because it carries an ACK).
sp_flows_on_wire() {
	tcpdump -r "$SP_TMP/$1.pcap" -n 2>/dev/null | awk -v p="$2" '
		{ for (i = 1; i <= NF; i++) if ($i == "Flags") { f = $(i + 1); break }
		  gsub(/[\[\],]/, "", f); src = $3; dst = $5; sub(/:$/, "", dst)
		  key = (src ~ "\\." p "$") ? dst : src
		  if (!(key in seq)) order[n++] = key
		  seq[key] = seq[key] (seq[key] == "" ? "" : " ") f }
		END { for (i = 0; i < n; i++) print seq[order[i]] }'
}

# sp_capture NAME NS IFACE FILTER: tcpdump in namespace NS, packet-buffered, to $SP_TMP/NAME.pcap;
# waits until it listens. Sets CAPTURE_PID. Stop it with sp_capture_stop.
sp_capture() {
	local name=$1 ns=$2 ifc=$3 filter=$4
	ip netns exec "$ns" tcpdump -i "$ifc" -n -U --immediate-mode -w "$SP_TMP/$name.pcap" "$filter" \
		>"$SP_TMP/$name.tcpdump.log" 2>&1 &
	CAPTURE_PID=$!
	SP_PIDS+=("$CAPTURE_PID")
	wait_until "$(sp_slow 5)" grep -qs "listening on" "$SP_TMP/$name.tcpdump.log"
}

sp_capture_stop() {
	kill -INT "$CAPTURE_PID" 2>/dev/null
	wait "$CAPTURE_PID" 2>/dev/null
}

# sp_flags NAME: the TCP flags of the capture, one packet per line: S, S., R, R., ., ...
sp_flags() {
	tcpdump -r "$SP_TMP/$1.pcap" -n 2>/dev/null | sed -n 's/.*Flags \[\([^]]*\)\].*/\1/p'
}

# sp_no_bpf_left: nothing is attached in this test's namespaces any more: no TCX program and no
# tc filter on lo or the veth, client side and server side. Scoped to our namespaces, so tests
# running side by side do not see each other. TCX links go when their process exits, but their
# release may lag it a little: waits up to 5 s.
SP_TCX_QUERY=$SP_OUTPUT/tests/sp_tcx_query
sp_ns_clean() {
	local ns=$1 ifc
	shift
	for ifc in "$@"; do
		if [ -x "$SP_TCX_QUERY" ] &&
			ip netns exec "$ns" "$SP_TCX_QUERY" "$ifc" 2>/dev/null | grep -q '[0-9]'; then
			return 1
		fi
		[ -z "$(tc -n "$ns" filter show dev "$ifc" ingress 2>/dev/null)" ] || return 1
		[ -z "$(tc -n "$ns" filter show dev "$ifc" egress 2>/dev/null)" ] || return 1
	done
}
sp_no_bpf_left() {
	wait_until "$(sp_slow 5)" sp_ns_clean "$NS_C" lo "$VETH_C" && sp_ns_clean "$NS_S" lo "$VETH_S"
}

# --- An emulated CPU ---
# The kernel matrix (make test-kernels, tests/vm/run.sh) runs this suite under QEMU, which
# emulates the CPU (TCG) where KVM cannot run the guest, and then exports SP_EMULATED=1. There
# CPU-bound work (the verifier loading our programs, thousands of checks) runs 5-20x slower, and
# a process that is woken may run milliseconds late. Assertions about wall time widen their bound
# with sp_slow, or, where no bound would still mean anything (microseconds, a rate), are
# skipped with the reason by check_timing. Functional assertions (method and evidence bpf, S S. R
# on the wire, no accept(), empty maps) are the same everywhere.
sp_emulated() { [ "${SP_EMULATED:-0}" = 1 ]; }
SP_SLOWDOWN=1
sp_emulated && SP_SLOWDOWN=20

# sp_slow N: an upper bound on wall time (in any unit) for work that costs CPU: N, or 20 * N on an
# emulated CPU. Also for how long to wait for something that comes after such work.
sp_slow() { echo $(($1 * SP_SLOWDOWN)); }

# check_timing NAME WHY CMD...: check NAME CMD..., except on an emulated CPU, where it is reported
# skipped with WHY, the reason the timing means nothing there.
check_timing() {
	local name=$1 why=$2
	shift 2
	if sp_emulated; then
		skip "$name" "emulated CPU (SP_EMULATED=1): $why"
	else
		check "$name" "$@"
	fi
}
