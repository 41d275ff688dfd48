#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/run.sh OUTPUT - `make bench` (root): synprobe side by side with a plain half-open loop and
# a full-connect loop, in two network namespaces joined by veth that exist only for this run.
#
# 1. throughput: checks/s and CPU s per 10,000 checks per method at each concurrency;
# 2. RTT accuracy against an AF_PACKET capture on the client's veth, with 0, 1 and 20 ms added
#    each way (sp_delay, NFQUEUE), at 1 and 1,000 in flight: synprobe's kernel RTT and the
#    user-space connect()-to-EPOLLOUT time of the plain loop;
# 3. BPF cost on untracked traffic (kernel.bpf_stats_enabled) and iperf3 with/without synprobe;
# 4. memory at 10,000 in flight; 5. the listener's accept() count and the packets per check;
# 6. politeness: one listener of backlog 128 in a third namespace with the kernel's defaults,
#    1,000 in flight with synprobe's per-target cap (32), without it, and the plain loop: the
#    server's SYN cookies, listen overflows/drops and "Possible SYN flooding" in the kernel log;
# 7. startup: wall and CPU of a one-shot `synprobe check -q` of a loopback listener (default
#    attach, --clsact, -m connect, and a plain connect from a new bash), in a namespace of its own;
#    and per BPF program, its load time, verified instructions and size (bench/bpf_load);
# 8. system calls per check (strace -f -c) of synprobe check, the engine and the plain loop;
# 9. peak RSS of `synprobe check -f FILE -c 1000` against the lines of FILE (10k, 100k, 1M).
# 10. threads: the engine with 1, 2 and N (online CPUs) event loops against the plain loop, run
#    side by side (interleaved) at 1,000 in flight: checks/s and CPU per check as ratios.
# Prints the table and writes bench/results/RESULTS.md and PNG plots.
#
# Knobs (environment): BENCH_N checks per throughput run (100000); BENCH_REPS runs per point
# (5, the median is reported); BENCH_CONC ("1 100 1000 10000"); BENCH_RTT_N1 / BENCH_RTT_N1000
# checks per RTT point at 1 / 1,000 in flight (300 / 5000); BENCH_WIRE_N checks per method and
# concurrency for the wire capture (20000) at BENCH_WIRE_CONC ("1000 10000"); BENCH_IPERF_S (5);
# BENCH_MAX_FLOWS sizes the engine's flow maps (default: the checks in flight, as opts.max_flows
# is documented); BENCH_POLITE_N checks per politeness run (20000) at BENCH_POLITE_CONC in flight
# (1000) against one listener of backlog BENCH_POLITE_BACKLOG (128), BENCH_POLITE_PER_TARGET the
# cap of the capped run (32, synprobe check's default --per-target); BENCH_ONLY=polite runs only
# section 6 (prints it, leaves bench/results alone); BENCH_STARTUP_N one-shot checks per startup
# row and loads per program (7, the median is reported); BENCH_ONLY=startup runs only section 7
# (prints it, leaves bench/results alone); BENCH_SYSCALL_N checks per strace run (5000) at
# BENCH_SYSCALL_CONC in flight (1000); BENCH_ONLY=syscalls runs only section 8; BENCH_MEM_LINES
# the targets-file lengths ("10000 100000 1000000") at BENCH_MEM_CONC in flight (1000);
# BENCH_ONLY=memory runs only section 9 (each prints its section and writes its own files in
# bench/results: syscalls.txt; memory.txt and memory_targets.png; RESULTS.md is left alone);
# BENCH_THREADS ("1 2 N", N the online CPUs) event loops at BENCH_THREADS_CONC (1000) in
# flight, BENCH_THREADS_N checks per run (BENCH_N), BENCH_REPS rounds; BENCH_ONLY=threads runs
# only section 10 (prints it, leaves bench/results alone);
# BENCH_KEEP=1 keeps the work directory. The defaults take about 7 minutes on 2 CPUs.
set -u

OUT=$(cd "${1:-.output}" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=$OUT/bench/bench
SP_LISTEN=$OUT/tests/sp_listen
SP_DELAY=$OUT/tests/sp_delay
SYNPROBE=$OUT/synprobe
BPF_LOAD=$OUT/bench/bpf_load
RESULTS=$HERE/results

N=${BENCH_N:-100000}
CONCS=${BENCH_CONC:-1 100 1000 10000}
RTT_N1=${BENCH_RTT_N1:-300}
RTT_N1000=${BENCH_RTT_N1000:-5000}
WIRE_N=${BENCH_WIRE_N:-20000}
WIRE_CONCS=${BENCH_WIRE_CONC:-1000 10000}
IPERF_S=${BENCH_IPERF_S:-5}
REPS=${BENCH_REPS:-5}
POLITE_N=${BENCH_POLITE_N:-20000}
POLITE_CONC=${BENCH_POLITE_CONC:-1000}
POLITE_BACKLOG=${BENCH_POLITE_BACKLOG:-128}
POLITE_PER_TARGET=${BENCH_POLITE_PER_TARGET:-32}
ONLY=${BENCH_ONLY:-}
STARTUP_N=${BENCH_STARTUP_N:-7}
SYSCALL_N=${BENCH_SYSCALL_N:-5000}
SYSCALL_CONC=${BENCH_SYSCALL_CONC:-1000}
MEM_LINES=${BENCH_MEM_LINES:-10000 100000 1000000}
MEM_CONC=${BENCH_MEM_CONC:-1000}
MAX_FLOWS=${BENCH_MAX_FLOWS:-}	# the engine's max_flows; empty: the checks in flight
NCPU=$(nproc)
THREADS=${BENCH_THREADS:-$(printf '%s\n' 1 2 "$NCPU" | awk '!seen[$1]++' | tr '\n' ' ')}
THREADS_CONC=${BENCH_THREADS_CONC:-1000}
THREADS_N=${BENCH_THREADS_N:-$N}
TIMEOUT_MS=2000
PORT0=20000
NPORTS=32		# two listeners of 16 ports: 10,000 in flight is ~300 per port
QUEUE=9
METHODS="bpf plain connect"

NS_C=spbc$$
NS_S=spbs$$
NS_P=spbp$$		# section 6: a server namespace with the kernel's default sysctls
NS_U=spbu$$		# section 7: a namespace with lo alone
PORT_U=22000		# section 7: the listener on 127.0.0.1
VETH_C=spb$$c
VETH_S=spb$$s
VETH_PC=spb$$pc
VETH_PS=spb$$ps
C4=10.78.0.1
S4=10.78.0.2
PC4=10.78.1.1
P4=10.78.1.2
PORT_P=21000		# + 1, 2, 3: one fresh listener per politeness run
TMP=$(mktemp -d /tmp/synprobe-bench.XXXXXX)
PIDS=()
LISTENERS=()
STATS_OLD=
T_START=$SECONDS

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "Error: $*"; exit 1; }

cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_P" 2>/dev/null
	ip netns del "$NS_U" 2>/dev/null
	[ -n "$STATS_OLD" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	if [ -n "${BENCH_KEEP:-}" ]; then
		log "work directory kept: $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces, BPF)"
case "$ONLY" in
"" | polite) need_bins="$BENCH $SP_LISTEN $SP_DELAY $SYNPROBE $BPF_LOAD" need_tools="ip iptables tcpdump iperf3 bpftool jq gnuplot nstat strace" ;;
startup) need_bins="$SYNPROBE $BPF_LOAD $SP_LISTEN" need_tools="ip" ;;
syscalls) need_bins="$BENCH $SYNPROBE $SP_LISTEN" need_tools="ip strace" ;;
memory) need_bins="$SYNPROBE $SP_LISTEN" need_tools="ip gnuplot" ;;
threads) need_bins="$BENCH $SP_LISTEN" need_tools="ip nstat" ;;
*) die "BENCH_ONLY=$ONLY: only 'polite' (section 6), 'startup' (7), 'syscalls' (8), 'memory' (9) and 'threads' (10) are known" ;;
esac
case "$ONLY" in
"" | memory) [ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) not found (./scripts/install-deps.sh; apt-get install time)" ;;
esac
for f in $need_bins; do
	[ -x "$f" ] || die "$f missing: run through 'make bench'"
done
for t in $need_tools; do
	command -v $t >/dev/null || die "$t not found (./scripts/install-deps.sh; apt-get install $t)"
done
case "$STARTUP_N" in "" | *[!0-9]*) die "BENCH_STARTUP_N=$STARTUP_N: a count, 1 to 64" ;; esac
[ "$STARTUP_N" -ge 1 ] && [ "$STARTUP_N" -le 64 ] || die "BENCH_STARTUP_N=$STARTUP_N: a count, 1 to 64"
case "$SYSCALL_N" in "" | *[!0-9]*) die "BENCH_SYSCALL_N=$SYSCALL_N: a count, 2 to 1000000" ;; esac
[ "$SYSCALL_N" -ge 2 ] && [ "$SYSCALL_N" -le 1000000 ] || die "BENCH_SYSCALL_N=$SYSCALL_N: a count, 2 to 1000000"
for v in $SYSCALL_CONC $MEM_CONC $MEM_LINES; do
	case "$v" in "" | *[!0-9]* | 0*) die "BENCH_SYSCALL_CONC, BENCH_MEM_CONC, BENCH_MEM_LINES: counts from 1 ('$v')" ;; esac
done

in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }
in_p() { ip netns exec "$NS_P" "$@"; }

# wait_until SECONDS CMD...: polls CMD every 20 ms; 1 on time-out.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.02
	done
}

# kv KEY LINE: the value of KEY=VALUE in LINE.
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# --- the network ---

setup_net() {
	local mac
	ip netns add "$NS_C" && ip netns add "$NS_S" || return 1
	ip link add "$VETH_C" netns "$NS_C" type veth peer name "$VETH_S" netns "$NS_S" || return 1
	ip -n "$NS_C" link set lo up && ip -n "$NS_S" link set lo up || return 1
	ip -n "$NS_C" addr add $C4/24 dev "$VETH_C" && ip -n "$NS_S" addr add $S4/24 dev "$VETH_S" ||
		return 1
	ip -n "$NS_C" link set "$VETH_C" up && ip -n "$NS_S" link set "$VETH_S" up || return 1
	mac=$(ip -n "$NS_S" -br link show dev "$VETH_S" | awk '{print $3}')
	ip -n "$NS_C" neigh replace $S4 lladdr "$mac" dev "$VETH_C" nud permanent || return 1
	mac=$(ip -n "$NS_C" -br link show dev "$VETH_C" | awk '{print $3}')
	ip -n "$NS_S" neigh replace $C4 lladdr "$mac" dev "$VETH_S" nud permanent || return 1
	# The server takes 10,000 half-open checks without SYN cookies; the client has the whole
	# port range (the full-connect loop leaves TIME_WAIT behind).
	in_s sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 || return 1
	in_c sysctl -qw net.ipv4.ip_local_port_range="1024 65535" || return 1
	wait_until 5 link_up "$NS_C" "$VETH_C" && wait_until 5 link_up "$NS_S" "$VETH_S"
}

link_up() { ip -n "$1" link show dev "$2" 2>/dev/null | grep -q 'state UP'; }

start_listeners() {
	local i p ports
	for i in 0 1; do
		ports=()
		for ((p = PORT0 + i * 16; p < PORT0 + (i + 1) * 16; p++)); do ports+=($p); done
		ip netns exec "$NS_S" "$SP_LISTEN" -b 65535 $S4 "${ports[@]}" >"$TMP/listen$i.out" 2>&1 &
		PIDS+=($!)
		LISTENERS+=($!)
		wait_until 5 grep -qs listening "$TMP/listen$i.out" || return 1
	done
}

# accepted: the listeners' accept() count so far (SIGUSR1 makes each print "accepted N").
accepted() {
	local i total=0 lines n
	for i in "${!LISTENERS[@]}"; do
		lines=$(grep -c '^accepted' "$TMP/listen$i.out")
		kill -USR1 "${LISTENERS[$i]}"
		wait_until 5 more_lines "$TMP/listen$i.out" "$lines" || return 1
		n=$(sed -n 's/^accepted //p' "$TMP/listen$i.out" | tail -n 1)
		total=$((total + n))
	done
	echo $total
}
more_lines() { [ "$(grep -c '^accepted' "$1")" -gt "$2" ]; }

# wire_pkts: packets through the client's veth so far (sent + received).
wire_pkts() {
	ip -n "$NS_C" -s -j link show dev "$VETH_C" | jq '.[0].stats64.tx.packets + .[0].stats64.rx.packets'
}

# cookies: SYN cookies the server has sent so far.
cookies() {
	in_s nstat -asz TcpExtSyncookiesSent 2>/dev/null | awk '$1 == "TcpExtSyncookiesSent" { v = $2 } END { print v + 0 }'
}

# run_point METHOD CONC COUNT [bench options...]: one run of bench; prints its line with the
# wire's packets, the accept() count and the SYN cookies of the run appended.
run_point() {
	local m=$1 c=$2 n=$3 line p0 a0 k0
	shift 3
	p0=$(wire_pkts) a0=$(accepted) k0=$(cookies)
	[ "$m" = bpf ] && [ -n "$MAX_FLOWS" ] && set -- -F "$MAX_FLOWS" "$@"
	line=$(in_c "$BENCH" run -m "$m" -c "$c" -n "$n" -a $S4 -p $PORT0 -P $NPORTS \
		-t $TIMEOUT_MS "$@" 2>>"$TMP/bench.err") || {
		log "bench run -m $m -c $c failed: $(tail -n 3 "$TMP/bench.err")"
		return 1
	}
	echo "$line pkts=$(($(wire_pkts) - p0)) accepted=$(($(accepted) - a0)) cookies=$(($(cookies) - k0))"
}

# --- captures ---

# capture_start NAME: tcpdump on the client's veth, nanosecond stamps, the benchmark's ports.
capture_start() {
	# Not through in_c: a function in the background is a subshell, and $! would be it.
	ip netns exec "$NS_C" tcpdump -i "$VETH_C" -n -s 96 -B 131072 --time-stamp-precision=nano \
		-w "$TMP/$1.pcap" "tcp and portrange $PORT0-$((PORT0 + NPORTS - 1))" \
		>"$TMP/$1.tcpdump.log" 2>&1 &
	CAPTURE_PID=$!
	PIDS+=($CAPTURE_PID)
	wait_until 5 grep -qs "listening on" "$TMP/$1.tcpdump.log"
}

capture_stop() {
	# Without --immediate-mode libpcap hands packets over a block at a time, a block at the
	# latest 1 s after its first packet, and tcpdump drops what it holds on SIGINT: wait for it.
	sleep 1.2
	kill -INT "$CAPTURE_PID" 2>/dev/null
	wait "$CAPTURE_PID" 2>/dev/null
	if grep -qE '^[1-9][0-9]* packets dropped by kernel' "$TMP/$1.tcpdump.log"; then
		log "capture $1: $(grep 'dropped by kernel' "$TMP/$1.tcpdump.log")"
	fi
}

# capture_text NAME: the capture as text with nanosecond time stamps.
capture_text() {
	tcpdump -r "$TMP/$1.pcap" -n -tt --time-stamp-precision=nano 2>/dev/null
}

# wire_rtts NAME: "SPORT.DPORT INSTANCE RTT_NS" per client flow, first SYN out to first SYN-ACK
# in; INSTANCE counts the flows of one 4-tuple (a port may be used again later in the run).
wire_rtts() {
	capture_text "$1" | awk -v c="$C4" '
		{ split($1, t, "."); if (base == "") base = t[1]
		  ns = (t[1] - base) * 1000000000 + t[2]
		  for (i = 1; i <= NF; i++) if ($i == "Flags") { f = $(i + 1); break }
		  src = $3; dst = $5; sub(/:$/, "", dst)
		  sp = src; sub(/.*\./, "", sp); dp = dst; sub(/.*\./, "", dp) }
		f == "[S]," && index(src, c ".") == 1 { k = sp "." dp; if (!(k in syn)) syn[k] = ns }
		f == "[S.]," && index(dst, c ".") == 1 { k = dp "." sp
			if (k in syn) { n[k]++; print k, n[k], ns - syn[k]; delete syn[k] } }'
}

# rtt_errors NAME RECORDS: |rtt - wire| in ns, one per check found in both.
rtt_errors() {
	awk 'NR == FNR { w[$1 " " $2] = $3; next }
	     { k = $1 "." $2; n[k]++; key = k " " n[k]
	       if (key in w) { d = $3 - w[key]; print (d < 0) ? -d : d } }' \
		<(wire_rtts "$1") "$2"
}

# wire_flows NAME: the TCP flags of each client flow in order, one flow a line ("S S. R.").
wire_flows() {
	capture_text "$1" | awk -v c="$C4" '
		{ for (i = 1; i <= NF; i++) if ($i == "Flags") { f = $(i + 1); break }
		  gsub(/[\[\],]/, "", f); src = $3; dst = $5; sub(/:$/, "", dst)
		  k = (index(src, c ".") == 1) ? src " " dst : dst " " src
		  if (f == "S" && index(src, c ".") == 1 && (k in seq) && done[k]) {
			print seq[k]; delete seq[k]; delete done[k] }
		  if (!(k in seq)) order[nk++] = k
		  seq[k] = seq[k] (seq[k] == "" ? "" : " ") f
		  if (f ~ /R/ || f ~ /F/) done[k] = 1 }
		END { for (i = 0; i < nk; i++) if (order[i] in seq) print seq[order[i]] }'
}

# pct P: the P-th percentile (nearest rank) of the numbers on stdin.
pct() {
	sort -n | awk -v p="$1" '{ v[n++] = $1 }
		END { if (!n) { print "-"; exit } i = int(p / 100 * n + 0.999999); if (i < 1) i = 1
		      print v[i - 1] }'
}

us() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.1f", v / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a / b }'; }

# --- 1, 4, 5: throughput ---

bench_throughput() {
	local r c m line
	: >"$TMP/tput-all.txt"
	for ((r = 1; r <= REPS; r++)); do
		for c in $CONCS; do
			for m in $METHODS; do
				log "throughput $r/$REPS: $m, $c in flight, $N checks"
				line=$(run_point "$m" "$c" "$N") || return 1
				echo "$line rep=$r" >>"$TMP/tput-all.txt"
				log "  $(kv checks_per_s "$line") checks/s, $(kv open "$line") open, $(kv timeout "$line") timeouts, $(kv error "$line") errors"
			done
		done
	done
	# Per method and concurrency, the run with the median checks/s.
	: >"$TMP/tput.txt"
	for c in $CONCS; do
		for m in $METHODS; do
			awk -v m="$m" -v c="$c" '$1 == "method=" m && $2 == "conc=" c' "$TMP/tput-all.txt" |
				awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^checks_per_s=/) { split($i, v, "="); print v[2], $0 } }' |
				sort -n | awk '{ l[n++] = $0 } END { s = l[int((n - 1) / 2)]; sub(/^[^ ]* /, "", s); print s }' \
				>>"$TMP/tput.txt"
		done
	done
	# Ratios to plain: per repetition (the two runs were back to back), then the median.
	awk '{ for (i = 1; i <= NF; i++) { split($i, v, "="); f[v[1]] = v[2] }
	       k = f["conc"] " " f["rep"]; cps[f["method"] " " k] = f["checks_per_s"]
	       cpu[f["method"] " " k] = (f["user_s"] + f["sys_s"]) / f["checks"]; key[k] = 1; m[f["method"]] = 1 }
	     END { for (k in key) for (x in m) if (("plain " k) in cps && (x " " k) in cps)
			print x, k, cps[x " " k] / cps["plain " k], cpu[x " " k] / cpu["plain " k] }' \
		"$TMP/tput-all.txt" >"$TMP/ratios.txt"
	# The BPF maps at their default size (65,536 flows), for the memory table.
	run_point bpf 1 1 -F 65536 >"$TMP/default_maps.txt"
}

# --- 2: RTT accuracy ---

bench_rtt() {
	local d c m n name delay_pid
	: >"$TMP/rtt.txt"
	: >"$TMP/delay-losses.txt"
	for d in 0 1 20; do
		if [ "$d" -gt 0 ]; then
			ip netns exec "$NS_S" "$SP_DELAY" -q $QUEUE -d "$d" >"$TMP/delay$d.out" 2>&1 &
			delay_pid=$!
			PIDS+=($delay_pid)
			wait_until 5 grep -qs '^ready' "$TMP/delay$d.out" || { log "sp_delay did not start"; return 1; }
			in_s iptables -A INPUT -p tcp --dport $PORT0:$((PORT0 + NPORTS - 1)) -j NFQUEUE --queue-num $QUEUE &&
				in_s iptables -A OUTPUT -p tcp --sport $PORT0:$((PORT0 + NPORTS - 1)) -j NFQUEUE --queue-num $QUEUE ||
				{ log "NFQUEUE rules failed"; return 1; }
		fi
		for c in 1 1000; do
			n=$RTT_N1
			[ "$c" -gt 1 ] && n=$RTT_N1000
			for m in bpf plain; do
				name=rtt-$m-$c-$d
				log "RTT: $m, $c in flight, +$d ms each way, $n checks"
				capture_start "$name" || { log "capture did not start"; return 1; }
				run_point "$m" "$c" "$n" -r "$TMP/$name.rec" >"$TMP/$name.line" || return 1
				capture_stop "$name"
				rtt_errors "$name" "$TMP/$name.rec" >"$TMP/$name.err"
				echo "$m $c $d $n $(wc -l <"$TMP/$name.err") $(pct 50 <"$TMP/$name.err") $(pct 99 <"$TMP/$name.err") $(awk '{ print $3 }' "$TMP/$name.rec" | pct 50)" \
					"$(($(kv checks "$(cat "$TMP/$name.line")") - $(kv open "$(cat "$TMP/$name.line")")))" \
					>>"$TMP/rtt.txt"
				rm -f "$TMP/$name.pcap"
			done
		done
		if [ "$d" -gt 0 ]; then
			in_s iptables -F INPUT
			in_s iptables -F OUTPUT
			kill -TERM "$delay_pid" 2>/dev/null
			wait "$delay_pid" 2>/dev/null
			echo "$d $(grep -c 'packets lost' "$TMP/delay$d.out")" >>"$TMP/delay-losses.txt"
		fi
	done
}

# --- 3: cost to other traffic ---

# iperf_run NAME: Gbit/s from the client to the server namespace.
iperf_run() {
	in_c iperf3 -c $S4 -p 5201 -t "$IPERF_S" -J >"$TMP/$1.json" 2>&1 &&
		jq '.end.sum_received.bits_per_second / 1e9' "$TMP/$1.json"
}

# prog_ids PID: the ids of the BPF programs process PID holds.
prog_ids() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd")" = "anon_inode:bpf-prog" ] || continue
		sed -n 's/^prog_id:[[:space:]]*//p' /proc/"$1"/fdinfo/"${fd##*/}"
	done
}

bench_cost() {
	local i idle_pid id
	STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1 || { log "cannot enable kernel.bpf_stats_enabled"; return 1; }
	ip netns exec "$NS_S" iperf3 -s -B $S4 -p 5201 >"$TMP/iperf-server.log" 2>&1 &
	PIDS+=($!)
	wait_until 5 grep -qs "listening" "$TMP/iperf-server.log" || sleep 1
	: >"$TMP/iperf.txt"
	: >"$TMP/progs.txt"
	for i in 1 2 3; do
		log "iperf3 $i/3: without synprobe, then with synprobe attached (${IPERF_S} s each)"
		echo "without $(iperf_run without$i)" >>"$TMP/iperf.txt"
		ip netns exec "$NS_C" "$BENCH" idle -i "$VETH_C" >"$TMP/idle$i.out" 2>&1 &
		idle_pid=$!
		PIDS+=($idle_pid)
		wait_until 5 grep -qs '^attached' "$TMP/idle$i.out" || { log "bench idle did not attach"; return 1; }
		echo "with $(iperf_run with$i)" >>"$TMP/iperf.txt"
		for id in $(prog_ids $idle_pid); do
			bpftool prog show id "$id" -j |
				jq -r '"\(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"' >>"$TMP/progs.txt"
		done
		kill -TERM $idle_pid
		wait $idle_pid 2>/dev/null
	done
	sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	STATS_OLD=
	# The same programs on one crafted untracked packet (Ethernet, IPv4, TCP ACK+PSH, 100 bytes
	# of data), BPF_PROG_TEST_RUN 10^7 times: no bpf_stats overhead, the packet hot in cache.
	printf '%b' '\x02\x02\x02\x02\x02\x02\x04\x04\x04\x04\x04\x04\x08\x00' \
		'\x45\x00\x00\x8c\x00\x00\x40\x00\x40\x06\x00\x00\x0a\x4e\x00\x01\x0a\x4e\x00\x02' \
		'\x9c\x40\x14\x51\x00\x00\x00\x01\x00\x00\x00\x01\x50\x18\x01\xf4\x00\x00\x00\x00' >"$TMP/pkt.bin"
	head -c 100 /dev/zero >>"$TMP/pkt.bin"
	ip netns exec "$NS_C" "$BENCH" idle -i "$VETH_C" >"$TMP/idle-run.out" 2>&1 &
	idle_pid=$!
	PIDS+=($idle_pid)
	wait_until 5 grep -qs '^attached' "$TMP/idle-run.out" || { log "bench idle did not attach"; return 1; }
	: >"$TMP/testrun.txt"
	for id in $(prog_ids $idle_pid); do
		echo "$(bpftool prog show id "$id" -j | jq -r .name)" \
			"$(bpftool prog run id "$id" data_in "$TMP/pkt.bin" repeat 10000000 2>&1 |
				sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p')" >>"$TMP/testrun.txt"
	done
	kill -TERM $idle_pid
	wait $idle_pid 2>/dev/null
}

# --- 5: the wire ---

bench_wire() {
	local m c name
	: >"$TMP/wire.txt"
	for c in $WIRE_CONCS; do
		for m in $METHODS; do
			name=wire-$m-$c
			log "wire: $m, $c in flight, $WIRE_N checks, captured"
			capture_start "$name" || return 1
			run_point "$m" "$c" "$WIRE_N" >"$TMP/$name.line" || return 1
			capture_stop "$name"
			wire_flows "$name" >"$TMP/$name.flows"
			echo "$m $c $(kv checks "$(cat "$TMP/$name.line")") $(kv accepted "$(cat "$TMP/$name.line")")" \
				"$(wc -l <"$TMP/$name.flows") $(awk '{ n += NF } END { print n + 0 }' "$TMP/$name.flows")" \
				"$(grep -cx 'S S. R.\|S S. R' "$TMP/$name.flows")" \
				"$(awk '{ for (i = 3; i <= NF; i++) if ($i == ".") { c++; break } } END { print c + 0 }' "$TMP/$name.flows")" \
				"$(sed -n 's/^\([0-9]*\) packets dropped by kernel/\1/p' "$TMP/$name.tcpdump.log")" \
				"$(sort "$TMP/$name.flows" | uniq -c | sort -rn | head -n 3 | awk '{ c = $1; $1 = ""; printf "%s%s x%d", sep, substr($0, 2), c; sep = "; " }')" \
				>>"$TMP/wire.txt"
			rm -f "$TMP/$name.pcap"
		done
	done
}

# --- 6: politeness ---

# setup_polite_net: a third namespace, joined to the client's by its own veth, whose sysctls are
# left at the kernel's defaults for a new namespace (somaxconn, tcp_max_syn_backlog) but for
# tcp_syncookies=1, set explicitly (it is also the default).
setup_polite_net() {
	local mac
	ip netns add "$NS_P" || return 1
	ip link add "$VETH_PC" netns "$NS_C" type veth peer name "$VETH_PS" netns "$NS_P" || return 1
	ip -n "$NS_P" link set lo up || return 1
	ip -n "$NS_C" addr add $PC4/24 dev "$VETH_PC" && ip -n "$NS_P" addr add $P4/24 dev "$VETH_PS" ||
		return 1
	ip -n "$NS_C" link set "$VETH_PC" up && ip -n "$NS_P" link set "$VETH_PS" up || return 1
	mac=$(ip -n "$NS_P" -br link show dev "$VETH_PS" | awk '{print $3}')
	ip -n "$NS_C" neigh replace $P4 lladdr "$mac" dev "$VETH_PC" nud permanent || return 1
	mac=$(ip -n "$NS_C" -br link show dev "$VETH_PC" | awk '{print $3}')
	ip -n "$NS_P" neigh replace $PC4 lladdr "$mac" dev "$VETH_PS" nud permanent || return 1
	in_p sysctl -qw net.ipv4.tcp_syncookies=1 || return 1
	wait_until 5 link_up "$NS_C" "$VETH_PC" && wait_until 5 link_up "$NS_P" "$VETH_PS"
}

# polite_counters: "cookies overflows drops" of the politeness server namespace, absolute.
polite_counters() {
	in_p nstat -asz TcpExtSyncookiesSent TcpExtListenOverflows TcpExtListenDrops 2>/dev/null |
		awk '{ v[$1] = $2 } END { print v["TcpExtSyncookiesSent"] + 0, v["TcpExtListenOverflows"] + 0, v["TcpExtListenDrops"] + 0 }'
}

# dmesg_mark: the time stamp of the kernel log's last line ("0" for an empty log), or nothing
# when the log cannot be read.
dmesg_mark() {
	local out
	out=$(dmesg 2>/dev/null) || return 0
	sed -n 's/^\[ *\([0-9]*\.[0-9]*\)\].*/\1/p' <<<"$out" | tail -n 1 | grep . || echo 0
}

# synflood_lines MARK PORT: the kernel's "Possible SYN flooding" lines about $P4:PORT after MARK.
synflood_lines() {
	dmesg 2>/dev/null | awk -v m="$1" -v pat="Possible SYN flooding on port $P4:$2." '
		{ ts = $0; sub(/^\[ */, "", ts); sub(/\].*/, "", ts) }
		ts + 0 > m + 0 && index($0, pat) { sub(/^\[[^]]*\] */, ""); print }'
}

# polite_run NAME PORT METHOD [bench options...]: one run against a fresh listener (backlog
# $POLITE_BACKLOG) on $P4:PORT; appends "NAME key=value..." to polite.txt.
polite_run() {
	local name=$1 port=$2 m=$3 lpid mark k0 k1 line flood
	shift 3
	# Not through in_p: a function in the background is a subshell, and $! would be it.
	ip netns exec "$NS_P" "$SP_LISTEN" -b "$POLITE_BACKLOG" $P4 "$port" >"$TMP/polite-listen-$name.out" 2>&1 &
	lpid=$!
	PIDS+=($lpid)
	wait_until 5 grep -qs listening "$TMP/polite-listen-$name.out" || { log "listener $port did not start"; return 1; }
	mark=$(dmesg_mark)
	k0=$(polite_counters)
	line=$(in_c "$BENCH" run -m "$m" -c "$POLITE_CONC" -n "$POLITE_N" -a $P4 -p "$port" -P 1 \
		-t $TIMEOUT_MS "$@" 2>>"$TMP/bench.err") || {
		log "bench run -m $m (politeness $name) failed: $(tail -n 3 "$TMP/bench.err")"
		return 1
	}
	k1=$(polite_counters)
	kill -TERM $lpid 2>/dev/null
	wait $lpid 2>/dev/null
	if [ -z "$mark" ]; then
		flood=unreadable
	else
		synflood_lines "$mark" "$port" >"$TMP/polite-dmesg-$name.txt"
		flood=$(wc -l <"$TMP/polite-dmesg-$name.txt")
	fi
	set -- $k0 $k1
	echo "case=$name $line cookies=$(($4 - $1)) overflows=$(($5 - $2)) drops=$(($6 - $3)) synflood=$flood" \
		"accepted=$(sed -n 's/^accepted //p' "$TMP/polite-listen-$name.out" | tail -n 1)" >>"$TMP/polite.txt"
}

bench_polite() {
	local line
	setup_polite_net || { log "politeness namespace"; return 1; }
	: >"$TMP/polite.txt"
	POLITE_SYSCTL="net.core.somaxconn=$(in_p sysctl -n net.core.somaxconn)"
	POLITE_SYSCTL+=" net.ipv4.tcp_max_syn_backlog=$(in_p sysctl -n net.ipv4.tcp_max_syn_backlog)"
	POLITE_SYSCTL+=" net.ipv4.tcp_syncookies=$(in_p sysctl -n net.ipv4.tcp_syncookies)"
	log "politeness: one listener (backlog $POLITE_BACKLOG, $POLITE_SYSCTL), $POLITE_N checks, $POLITE_CONC in flight"
	polite_run capped $((PORT_P + 1)) bpf -T "$POLITE_PER_TARGET" || return 1
	polite_run uncapped $((PORT_P + 2)) bpf -T 0 || return 1
	polite_run plain $((PORT_P + 3)) plain || return 1
	while read -r line; do
		log "  $(kv case "$line"): $(kv checks_per_s "$line") checks/s, $(kv open "$line") open," \
			"$(kv cookies "$line") cookies, $(kv overflows "$line") overflows, $(kv drops "$line") drops," \
			"SYN flooding logged: $(kv synflood "$line")"
	done <"$TMP/polite.txt"
	ip netns del "$NS_P"
}

# report_polite: section 6 of RESULTS.md.
report_polite() {
	local line name flood
	echo "## 6. Politeness"
	echo
	echo "One listener (sp_listen, listen() backlog $POLITE_BACKLOG) on $P4 in a third namespace whose" \
		"sysctls are the kernel's defaults for a new namespace ($POLITE_SYSCTL), reached by its own veth;" \
		"$POLITE_N checks, $POLITE_CONC in flight, all to that one address and port; a fresh listener per run." \
		"Counters: the server namespace's nstat deltas over the run. SYN flooding: the kernel's" \
		"\"Possible SYN flooding on port $P4:PORT\" lines logged during the run (dmesg; once per listener at most)."
	echo
	echo "| run | per-target cap | checks | checks/s | open | closed / timeout / error | SyncookiesSent | ListenOverflows | ListenDrops | \"Possible SYN flooding\" logged | accept() |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
	while read -r line; do
		name=$(kv case "$line")
		flood=$(kv synflood "$line")
		case "$flood" in
		unreadable) flood="not readable (dmesg)" ;;
		0) flood=no ;;
		*) flood=yes ;;
		esac
		printf '| %s | %s | %s | %.0f | %s | %s / %s / %s | %s | %s | %s | %s | %s |\n' \
			"$(case $name in capped) echo "synprobe, default cap" ;; uncapped) echo "synprobe, cap off" ;; *) echo "plain half-open loop" ;; esac)" \
			"$(case $name in capped) echo "$(kv per_target_max "$line")" ;; uncapped) echo "off (0)" ;; *) echo "-" ;; esac)" \
			"$(kv checks "$line")" "$(kv checks_per_s "$line")" "$(kv open "$line")" \
			"$(kv closed "$line")" "$(kv timeout "$line")" "$(kv error "$line")" \
			"$(kv cookies "$line")" "$(kv overflows "$line")" "$(kv drops "$line")" "$flood" "$(kv accepted "$line")"
	done <"$TMP/polite.txt"
	echo
	# What the numbers say, from the numbers.
	awk -v b="$POLITE_BACKLOG" -v c="$POLITE_CONC" '
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		  n = v["case"]; ck[n] = v["cookies"]; ov[n] = v["overflows"] + v["drops"]; ch[n] = v["checks"]
		  fl[n] = v["synflood"]; pt[n] = v["per_target_max"] }
		function said(n) { return fl[n] == "unreadable" ? "" : (fl[n] > 0 ? ", logged a SYN flood" : ", logged nothing") }
		function what(n) { return sprintf("%d SYN cookies (%.0f%% of the SYN-ACKs)%s%s", ck[n], ch[n] ? 100 * ck[n] / ch[n] : 0,
			ov[n] ? sprintf(", %d listen overflows/drops", ov[n]) : "", said(n)) }
		END { printf "With synprobe'\''s default cap (%d in flight to one address and port) the server sent %s; ", pt["capped"], what("capped")
		      printf "without it, %s; the plain half-open loop, %s. ", what("uncapped"), what("plain")
		      printf "A half-open check holds a request in the listener'\''s SYN queue from its SYN to its RST, and the kernel" \
			" answers in cookies once %d are queued (the backlog): with %d in flight about %d/%d of the checks find a" \
			" free slot, the rest get a cookie.", b, c, b, c
		      if (!ov["capped"] && !ov["uncapped"] && !ov["plain"])
			printf " No check completes the handshake, so the accept queue never fills (ListenOverflows" \
			" counts a full accept queue) and no SYN was dropped (ListenDrops) while cookies were on."
		      print "" }' \
		"$TMP/polite.txt"
	for name in capped uncapped plain; do
		[ -s "$TMP/polite-dmesg-$name.txt" ] && printf '\nKernel log (%s): `%s`\n' "$name" "$(head -n 1 "$TMP/polite-dmesg-$name.txt")"
	done
	return 0
}

# --- 7: startup ---

# The timed loop, run by a bash inside the startup namespace (bash's own `time`: the child's
# wall from fork to wait(), and its user and sys time from getrusage(RUSAGE_CHILDREN), to the
# millisecond). Arguments: SYNPROBE PORT N ERRFILE. Run 0 is a warm-up (page cache, first use of
# the namespace); every run prints "VARIANT RUN WALL_S USER_S SYS_S STATUS". The variants are
# interleaved, so that a change in the machine's load falls on all of them alike.
STARTUP_LOOP='
sp=$1 port=$2 n=$3 err=$4
TIMEFORMAT="%3R %3U %3S"
timed() {
	local v=$1 r rc
	shift
	r=$( { time "$@" </dev/null >/dev/null 2>>"$err"; } 2>&1 )
	rc=$?
	echo "$v $i $r $rc"
}
for ((i = 0; i <= n; i++)); do
	timed default "$sp" check -q 127.0.0.1:$port
	timed clsact "$sp" check -q --clsact 127.0.0.1:$port
	timed connect "$sp" check -q -m connect 127.0.0.1:$port
	timed shell bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" _
done
'

in_u() { ip netns exec "$NS_U" "$@"; }

# startup_attach [OPTIONS]: one verbose check of the listener, untimed: prints the attach mode
# synprobe reports ("tcx", "clsact"); fails unless the check was open, by BPF, BPF-evidenced.
startup_attach() {
	in_u "$SYNPROBE" check -v --json "$@" 127.0.0.1:$PORT_U >"$TMP/startup-verify.json" \
		2>"$TMP/startup-verify.err" || return 1
	grep -q '"outcome":"open"' "$TMP/startup-verify.json" &&
		grep -q '"method":"bpf"' "$TMP/startup-verify.json" &&
		grep -q '"evidence":"bpf"' "$TMP/startup-verify.json" || return 1
	sed -n 's/^synprobe: attached to lo (\(.*\))$/\1/p' "$TMP/startup-verify.err" | head -n 1 | grep .
}

bench_startup() {
	local lpid
	ip netns add "$NS_U" && ip -n "$NS_U" link set lo up || { log "startup namespace"; return 1; }
	# Not through in_u: a function in the background is a subshell, and $! would be it.
	ip netns exec "$NS_U" "$SP_LISTEN" 127.0.0.1 $PORT_U >"$TMP/startup-listen.out" 2>&1 &
	lpid=$!
	PIDS+=($lpid)
	wait_until 5 grep -qs listening "$TMP/startup-listen.out" || { log "startup listener did not start"; return 1; }
	STARTUP_ATTACH=$(startup_attach) ||
		{ log "startup: the check did not run by BPF: $(cat "$TMP/startup-verify.json" "$TMP/startup-verify.err")"; return 1; }
	STARTUP_ATTACH_CLSACT=$(startup_attach --clsact) ||
		{ log "startup: the --clsact check did not run by BPF: $(cat "$TMP/startup-verify.json" "$TMP/startup-verify.err")"; return 1; }
	log "startup: $STARTUP_N one-shot checks of 127.0.0.1:$PORT_U per row (attach: $STARTUP_ATTACH, $STARTUP_ATTACH_CLSACT), one warm-up run first"
	: >"$TMP/startup.err"
	in_u bash -c "$STARTUP_LOOP" startup "$SYNPROBE" $PORT_U "$STARTUP_N" "$TMP/startup.err" \
		>"$TMP/startup.txt" || { log "startup: the timed loop failed"; return 1; }
	if awk '$6 != 0 { bad = 1 } END { exit !bad }' "$TMP/startup.txt"; then
		log "startup: some runs failed: $(awk '$6 != 0' "$TMP/startup.txt" | head -n 3 | tr '\n' ';') $(tail -n 3 "$TMP/startup.err")"
		return 1
	fi
	kill -TERM $lpid 2>/dev/null
	wait $lpid 2>/dev/null
	# Every connect and bash run completes one handshake; the BPF runs (timed and verbose), none.
	STARTUP_ACCEPTED=$(sed -n 's/^accepted //p' "$TMP/startup-listen.out" | tail -n 1)
	STARTUP_FULL=$((2 * (STARTUP_N + 1)))
	[ "${STARTUP_ACCEPTED:-x}" = "$STARTUP_FULL" ] ||
		log "startup: the listener accepted ${STARTUP_ACCEPTED:-?} connections, the connect and bash runs make $STARTUP_FULL"
	ip netns del "$NS_U"
	log "startup: loading the BPF object, $STARTUP_N loads per program"
	"$BPF_LOAD" "$STARTUP_N" >"$TMP/bpf_load.txt" 2>"$TMP/bpf_load.err" ||
		{ log "bpf_load failed: $(cat "$TMP/bpf_load.err")"; return 1; }
}

# startup_stat VARIANT FIELD: "median min max" of FIELD (wall, cpu: user+sys) over the counted
# runs of VARIANT.
startup_stat() {
	awk -v v="$1" -v f="$2" '$1 == v && $2 > 0 { print f == "wall" ? $3 : $4 + $5 }' "$TMP/startup.txt" |
		sort -n | awk '{ x[n++] = $1 } END { if (n) printf "%.3f %.3f %.3f\n", x[int((n - 1) / 2)], x[0], x[n - 1] }'
}

# report_startup: section 7 of RESULTS.md.
report_startup() {
	local v what attach
	echo "## 7. Startup"
	echo
	echo "A one-shot check, as a script or a monitoring system runs it: a new process checks one listening" \
		"port (sp_listen on 127.0.0.1:$PORT_U) in a network namespace of its own (lo alone)." \
		"$STARTUP_N runs per row (one warm-up run first, not counted), the rows interleaved; median (min-max)." \
		"Wall: bash's \`time\` around the process, fork to wait(), the attachment's release at exit included." \
		"CPU: the process's user+sys (getrusage; their sum is exact, the split between them is sampled" \
		"at the tick, so it is not shown); what the kernel defers to other threads (RCU callbacks," \
		"workqueues) is not in it. Before the timed runs, one verbose check per attach mode confirmed" \
		"method bpf and evidence bpf."
	echo
	echo "| check | attach | wall s | CPU s (user+sys) |"
	echo "| --- | --- | ---: | ---: |"
	for v in default clsact connect shell; do
		case $v in
		default) what='`synprobe check -q 127.0.0.1:PORT`' attach="$STARTUP_ATTACH (default)" ;;
		clsact) what='`synprobe check -q --clsact 127.0.0.1:PORT`' attach=$STARTUP_ATTACH_CLSACT ;;
		connect) what='`synprobe check -q -m connect 127.0.0.1:PORT` (full connect, no BPF)' attach=- ;;
		shell) what="plain TCP connect from a new bash (\`bash -c 'exec 3<>/dev/tcp/127.0.0.1/PORT'\`)" attach=- ;;
		esac
		set -- $(startup_stat $v wall) $(startup_stat $v cpu)
		printf '| %s | %s | %s (%s-%s) | %s (%s-%s) |\n' "$what" "$attach" "$1" "$2" "$3" "$4" "$5" "$6"
	done
	echo
	echo "The listener's accept() returned $STARTUP_ACCEPTED times; the connect and bash runs account for $STARTUP_FULL," \
		"the $((2 * STARTUP_N + 4)) BPF runs (timed, warm-up and verbose) for $((STARTUP_ACCEPTED - STARTUP_FULL))."
	echo
	echo "Loading the BPF object (bench/bpf_load, the skeleton synprobe check loads): each program loaded" \
		"alone (the others' autoload off) with the object's maps; \"maps\": the object with no program;" \
		"\"all\": the whole object, as synprobe check loads it (counts and sizes summed). $STARTUP_N loads per" \
		"row, the rows interleaved, after a warm-up round; the median. Wall: synprobe_bpf__load();" \
		"CPU: the loading thread's (CLOCK_THREAD_CPUTIME_ID), where the verifier runs: other processes on" \
		"the machine do not inflate it. Verified instructions: bpf_prog_info.verified_insns (the instructions" \
		"the verifier processed); translated: xlated_prog_len."
	echo
	echo "| program | load wall ms | load CPU ms | CPU beyond the maps, ms | verified instructions | translated bytes |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	awk '$1 == "maps" { m = $3 } { l[NR] = $0 }
	     END { for (i = 1; i <= NR; i++) { split(l[i], f, " ")
			printf "| %s | %.1f | %.1f | %s | %s | %s |\n", f[1], f[2], f[3],
				f[1] == "maps" ? "-" : sprintf("%.1f", f[3] - m), f[4], f[5] } }' \
		"$TMP/bpf_load.txt"
}

# --- 8: system calls per check ---

# targets_file FILE COUNT: COUNT lines "$S4:PORT", the ports $PORT0.. in turn (the listeners').
targets_file() {
	awk -v n="$2" -v a=$S4 -v p0=$PORT0 -v np=$NPORTS 'BEGIN { for (i = 0; i < n; i++) print a ":" p0 + i % np }' >"$1"
}

# strace_run NAME CMD...: CMD in the client namespace under strace -f -c; "SYSCALL CALLS ERRORS"
# lines (and "total") in $TMP/NAME.calls, CMD's stdout in $TMP/NAME.out. Fails if CMD fails.
strace_run() {
	local name=$1
	shift
	in_c strace -f -c -U name,calls,errors -o "$TMP/$name.strace" "$@" >"$TMP/$name.out" 2>>"$TMP/syscalls.err" ||
		{ log "syscalls: '$*' failed: $(tail -n 3 "$TMP/syscalls.err")"; return 1; }
	awk 'NR > 2 && $1 !~ /^-/ && NF >= 2 { print $1, $2, $3 + 0 }' "$TMP/$name.strace" >"$TMP/$name.calls"
}

# Per check: the calls of a run of SYSCALL_N checks minus those of a run of one check (start-up,
# BPF load, attach, exit), over SYSCALL_N - 1. Rows of syscalls.txt: "PROGRAM SYSCALL PER_CHECK
# ERRORS_PER_CHECK ONE_CHECK_RUN_CALLS".
bench_syscalls() {
	local p cmd_1 cmd_n
	targets_file "$TMP/sys-1.txt" 1
	targets_file "$TMP/sys-n.txt" "$SYSCALL_N"
	: >"$TMP/syscalls.txt"
	: >"$TMP/syscalls.err"
	for p in check engine plain; do
		log "syscalls: $p, 1 check, then $SYSCALL_N checks at $SYSCALL_CONC in flight, under strace -f -c"
		case $p in
		check)
			cmd_1=("$SYNPROBE" check -q -c "$SYSCALL_CONC" -t 2s -f "$TMP/sys-1.txt")
			cmd_n=("$SYNPROBE" check -q -c "$SYSCALL_CONC" -t 2s -f "$TMP/sys-n.txt") ;;
		engine | plain)
			cmd_1=("$BENCH" run -m "$([ $p = engine ] && echo bpf || echo plain)" -c "$SYSCALL_CONC" -n 1 -a "$S4" -p "$PORT0" -P "$NPORTS" -t "$TIMEOUT_MS")
			cmd_n=("$BENCH" run -m "$([ $p = engine ] && echo bpf || echo plain)" -c "$SYSCALL_CONC" -n "$SYSCALL_N" -a "$S4" -p "$PORT0" -P "$NPORTS" -t "$TIMEOUT_MS") ;;
		esac
		strace_run "sys-$p-1" "${cmd_1[@]}" && strace_run "sys-$p-n" "${cmd_n[@]}" || return 1
		if [ $p != check ] && [ "$(kv open "$(cat "$TMP/sys-$p-n.out")")" != "$SYSCALL_N" ]; then
			log "syscalls: $p: not every check was open: $(cat "$TMP/sys-$p-n.out")"
			return 1
		fi
		awk -v p=$p -v n="$SYSCALL_N" 'NR == FNR { one[$1] = $2; next }
			{ printf "%s %s %.3f %.3f %d\n", p, $1, ($2 - one[$1]) / (n - 1), $3 / n, one[$1] }' \
			"$TMP/sys-$p-1.calls" "$TMP/sys-$p-n.calls" >>"$TMP/syscalls.txt"
	done
}

# report_syscalls: section 8 of RESULTS.md.
report_syscalls() {
	echo "## 8. System calls per check"
	echo
	echo "strace -f -c (every thread) of $SYSCALL_N checks at $SYSCALL_CONC in flight to the listeners ($S4, $NPORTS ports)," \
		"minus a run of one check (start-up, BPF load, attach, exit), divided by $((SYSCALL_N - 1)): the calls a check adds." \
		"synprobe check: \`synprobe check -q -c $SYSCALL_CONC -t 2s -f FILE\` (FILE: one target a line);" \
		"engine: libsynprobe alone (bench run -m bpf); plain: the half-open loop without BPF (bench run -m plain)." \
		"Rows: every system call at 0.01 a check or more in one program; errors (EINPROGRESS, EAGAIN...) are counted in the calls."
	echo
	echo "| system call | synprobe check | engine | plain loop | check / plain |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	awk '{ v[$2, $1] = $3; s[$2] = 1; if ($2 != "total" && $3 > top[$2]) top[$2] = $3 }
	     END { for (x in s) if (x == "total" || top[x] >= 0.01) print (x == "total" ? 1e9 : v[x, "check"] + 0), x }' \
		"$TMP/syscalls.txt" | sort -k1,1gr -k2,2 | while read -r _ x; do
		awk -v x="$x" '$2 == x { v[$1] = $3 }
			END { r = (v["plain"] > 0) ? sprintf("%.2f", v["check"] / v["plain"]) : "-"
			      printf "| %s | %.2f | %.2f | %.2f | %s |\n", (x == "total") ? "**total**" : x,
				      v["check"], v["engine"], v["plain"], r }' "$TMP/syscalls.txt"
	done
	echo
	awk '$2 == "total" { c[$1] = $5 } END { printf "The one-check runs (start-up and exit): synprobe check %d calls, engine %d, plain loop %d.\n", c["check"], c["engine"], c["plain"] }' \
		"$TMP/syscalls.txt"
}

# --- 9: memory against the targets file ---

# bench_memory: peak RSS (GNU time's maxrss) of `synprobe check -f FILE -c 1000` for files of
# MEM_LINES lines. Rows of memory.txt: "LINES FILE_BYTES MAXRSS_KB WALL_S CPU_S STATUS".
bench_memory() {
	local n f rc
	: >"$TMP/memory.txt"
	for n in $MEM_LINES; do
		f=$TMP/mem-$n.txt
		targets_file "$f" "$n"
		log "memory: synprobe check -f FILE -c $MEM_CONC, $n lines"
		in_c /usr/bin/time -f '%M %e %U %S' -o "$TMP/mem-$n.time" \
			"$SYNPROBE" check -c "$MEM_CONC" -t 2s -f "$f" >/dev/null 2>"$TMP/mem-$n.err"
		rc=$?
		# 0: all open, 1: some not open (still a full run); anything else is a failure.
		[ $rc -le 1 ] || { log "memory: $n lines: exit $rc: $(tail -n 3 "$TMP/mem-$n.err")"; return 1; }
		echo "$n $(stat -c %s "$f") $(tail -n 1 "$TMP/mem-$n.time" | awk '{ print $1, $2, $3 + $4 }') $rc" >>"$TMP/memory.txt"
		log "  peak RSS $(awk '{ printf "%.1f MiB", $3 / 1024 }' <<<"$(tail -n 1 "$TMP/memory.txt")"), exit $rc"
		rm -f "$f"
	done
}

# report_memory: section 9 of RESULTS.md.
report_memory() {
	echo "## 9. Memory against the targets file"
	echo
	echo "Peak RSS (GNU time's maximum resident set size) of \`synprobe check -c $MEM_CONC -t 2s -f FILE >/dev/null\`," \
		"FILE holding one \"$S4:PORT\" a line ($NPORTS listening ports in turn); one run per length." \
		"Exit 1 means some check was not open (a timeout under load): the run still went through the whole file."
	echo
	echo "| targets (lines) | file | peak RSS | per line | wall s | CPU s | exit |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk '{ printf "| %d | %.1f MiB | %.1f MiB | %.0f B | %.1f | %.1f | %d |\n", $1, $2 / 1048576, $3 / 1024, $3 * 1024 / $1, $4, $5, $6 }' \
		"$TMP/memory.txt"
	echo
	awk 'NR == 1 { n0 = $1; r0 = $3 } { n1 = $1; r1 = $3 }
	     END { if (n1 > n0) printf "Beyond the first %d lines, each line adds %.0f B of peak RSS.\n", n0, (r1 - r0) * 1024 / (n1 - n0) }' \
		"$TMP/memory.txt"
}

# plot_memory DIR: DIR/memory_targets.png, peak RSS against the number of lines.
plot_memory() {
	gnuplot <<GP
set terminal pngcairo size 900,600
set output '$1/memory_targets.png'
set title 'synprobe check -f FILE -c $MEM_CONC: peak RSS against the lines of FILE ($(uname -r))'
set logscale xy
set xlabel 'targets in the file (lines)'
set ylabel 'peak RSS (MiB)'
set grid
set key top left
plot '$TMP/memory.txt' using 1:(\$3 / 1024) with linespoints lw 2 pt 7 title 'synprobe check', \
     64 with lines dt 2 lw 2 title '64 MiB (issue 11 goal at 1M lines)'
GP
}

# --- 10: threads ---

# bench_threads: rounds of the plain loop, then the engine with each number of loops, back to back.
bench_threads() {
	local r j line
	: >"$TMP/threads.txt"
	for ((r = 1; r <= REPS; r++)); do
		log "threads $r/$REPS: plain, $THREADS_CONC in flight, $THREADS_N checks"
		line=$(run_point plain "$THREADS_CONC" "$THREADS_N") || return 1
		echo "$line rep=$r" >>"$TMP/threads.txt"
		log "  $(kv checks_per_s "$line") checks/s"
		for j in $THREADS; do
			log "threads $r/$REPS: synprobe, $j loops"
			line=$(run_point bpf "$THREADS_CONC" "$THREADS_N" -j "$j") || return 1
			echo "$line rep=$r" >>"$TMP/threads.txt"
			log "  $(kv checks_per_s "$line") checks/s, $(kv open "$line") open"
		done
	done
}

# report_threads: section 10 of RESULTS.md.
report_threads() {
	echo "## 10. Threads"
	echo
	echo "The engine (\`bench run -m bpf -j LOOPS\`, opts.threads) with $(echo $THREADS | sed 's/ /, /g') event loops" \
		"($NCPU CPUs online), and the plain single-threaded half-open loop, at $THREADS_CONC in flight, $THREADS_N checks per" \
		"run; $REPS rounds, each the plain loop then every row back to back. Ratios are per round" \
		"(the runs side by side), median (min-max) over the rounds. CPU: the process's user+sys, all" \
		"its threads; host CPU: every CPU busy (/proc/stat), softirq included."
	echo
	echo "| method | loops | checks/s | vs plain | CPU s / 10k | vs plain | host CPU s / 10k | not open |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk '{ for (i = 1; i <= NF; i++) { split($i, v, "="); f[v[1]] = v[2] }
	       k = f["method"] == "plain" ? "plain 1" : "bpf " f["threads"]
	       r = f["rep"]; cps[k, r] = f["checks_per_s"]; cpu[k, r] = (f["user_s"] + f["sys_s"]) / f["checks"]
	       host[k, r] = f["host_cpu_s"] / f["checks"]; bad[k, r] = f["checks"] - f["open"]
	       if (!(k in seen)) { seen[k] = 1; order[nk++] = k } if (r > nr) nr = r }
	     function med(a, n,    i, j, t) { for (i = 1; i < n; i++) for (j = i; j > 0 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n ? a[int((n - 1) / 2)] : 0 }
	     function rng(a, n, fmt,    s) { s = sprintf(fmt, med(a, n)); return n > 1 ? s " (" sprintf(fmt, a[0]) "-" sprintf(fmt, a[n - 1]) ")" : s }
	     END { for (x = 0; x < nk; x++) { k = order[x]; n = 0
			for (r = 1; r <= nr; r++) if ((k, r) in cps && ("plain 1", r) in cps) {
				c[n] = cps[k, r]; u[n] = cpu[k, r] * 10000; h[n] = host[k, r] * 10000; b[n] = bad[k, r]
				rc[n] = cps[k, r] / cps["plain 1", r]; ru[n] = cpu[k, r] / cpu["plain 1", r]; n++ }
			split(k, kk, " ")
			printf "| %s | %s | %s | %s | %s | %s | %s | %d |\n", kk[1] == "bpf" ? "synprobe" : "plain", kk[2],
				rng(c, n, "%.0f"), rng(rc, n, "%.2f"), rng(u, n, "%.3f"), rng(ru, n, "%.2f"),
				rng(h, n, "%.3f"), med(b, n) } }' "$TMP/threads.txt"
}

# --- the report ---

# acc_sum METHOD CONC: accept() returned over every repetition of a point.
acc_sum() {
	awk -v m="$1" -v c="$2" '$1 == "method=" m && $2 == "conc=" c {
		for (i = 1; i <= NF; i++) if ($i ~ /^accepted=/) { split($i, v, "="); s += v[2] } }
		END { print s + 0 }' "$TMP/tput-all.txt"
}

# paired METHOD CONC FIELD: the median of field FIELD (4: checks/s, 5: CPU per check) of the
# per-repetition ratios to plain.
paired() {
	awk -v m="$1" -v c="$2" -v f="$3" '$1 == m && $2 == c { print $f }' "$TMP/ratios.txt" | pct 50 |
		awk '{ if ($1 == "-") print "-"; else printf "%.2f", $1 }'
}

report() {
	local md=$RESULTS/RESULTS.md c m line pl cpu host
	mkdir -p "$RESULTS"
	{
		echo "# synprobe benchmark"
		echo
		echo "\`make bench\`, $(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -sr), $(nproc) CPUs" \
			"($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)."
		echo "Client and server in two network namespaces joined by veth (section 6: a third server namespace), IPv4, $NPORTS listening ports" \
			"(backlog 65535). Throughput: $REPS runs of $N checks per point, the median shown; the whole bench took $(((SECONDS - T_START) / 60)) min $(((SECONDS - T_START) % 60)) s."
		echo
		echo "## 1. Throughput"
		echo
		echo "synprobe = the engine (libsynprobe, method bpf, interface from the route of the destination," \
			"opts.max_flows = ${MAX_FLOWS:-the checks in flight})," \
			"started from on_result; plain = half-open loop without BPF (TCP_QUICKACK 0, SO_LINGER {1,0}," \
			"epoll, SO_ERROR and close() on EPOLLOUT); connect = full connect() and close()." \
			"CPU = the process's user+sys; host CPU = all CPUs busy (both namespaces, softirq), from /proc/stat." \
			"Ratios are against plain at the same concurrency: the median over the repetitions of the ratio" \
			"between the two runs of one repetition (back to back), so that the machine's drift cancels;" \
			"the other columns are those of the run with the median checks/s. pkts/check: the client veth's counters."
		echo
		echo "| in flight | method | checks/s | vs plain | CPU s / 10k | vs plain | host CPU s / 10k | pkts/check | accept(), all runs | SYN cookies | not open | BPF: untracked (evidence socket) / events lost / ACKs dropped |"
		echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for c in $CONCS; do
			for m in $METHODS; do
				line=$(awk -v m="$m" -v c="$c" '$1 == "method=" m && $2 == "conc=" c' "$TMP/tput.txt")
				[ -n "$line" ] || continue
				cpu=$(awk -v u="$(kv user_s "$line")" -v s="$(kv sys_s "$line")" -v n="$(kv checks "$line")" 'BEGIN { printf "%.3f", (u + s) / n * 10000 }')
				host=$(awk -v h="$(kv host_cpu_s "$line")" -v n="$(kv checks "$line")" 'BEGIN { printf "%.3f", h / n * 10000 }')
				printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" \
					"$([ $m = bpf ] && echo synprobe || echo $m)" "$(kv checks_per_s "$line")" \
					"$(paired "$m" "$c" 4)" "$cpu" "$(paired "$m" "$c" 5)" "$host" \
					"$(ratio "$(kv pkts "$line")" "$(kv checks "$line")")" "$(acc_sum "$m" "$c")" \
					"$(kv cookies "$line")" \
					"$(($(kv checks "$line") - $(kv open "$line")))" \
					"$([ $m = bpf ] && echo "$(kv evidence_socket "$line") / $(kv ringbuf_full "$line") / $(kv acks_dropped "$line")" || echo -)"
			done
		done
		echo
		echo "## 2. RTT accuracy"
		echo
		echo "|error| against an AF_PACKET capture (tcpdump, ns stamps) on the client's veth, first SYN out to" \
			"first SYN-ACK in, per check (matched by 4-tuple). synprobe: the kernel RTT (tc egress to tc ingress);" \
			"user space: the plain loop's connect() to EPOLLOUT. Delay: added each way by sp_delay (NFQUEUE)."
		echo
		echo "| added delay | in flight | method | checks | no reply | matched | RTT median | median abs err | p99 abs err | user/synprobe (median err) |"
		echo "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		awk '{ k = $3 " " $2; if ($1 == "bpf") b[k] = $6 }
		     { print $0, ($1 == "plain" && b[$3 " " $2] > 0) ? sprintf("%.0fx", $6 / b[$3 " " $2]) : "" }' "$TMP/rtt.txt" |
			while read -r m c d n matched med p99 rtt noreply r; do
				printf '| %s ms | %s | %s | %s | %s | %s | %s us | %s us | %s us | %s |\n' "$d" "$c" \
					"$([ $m = bpf ] && echo "synprobe (kernel)" || echo "user space")" "$n" "$noreply" "$matched" \
					"$(us "$rtt")" "$(us "$med")" "$(us "$p99")" "$r"
			done
		awk '$2 > 0 { printf "%s%s ms", sep, $1; sep = ", " } END { if (sep) print ": the delayer (sp_delay) overran its" \
			" NFQUEUE socket buffer and lost packets (SYN retransmissions, some checks without a reply): the" \
			" checks not matched. The matched ones are unaffected: the capture is the reference." }' "$TMP/delay-losses.txt"
		echo
		echo "## 3. Cost to other traffic"
		echo
		echo "iperf3 (one TCP stream, ${IPERF_S} s) across the veth, three alternating runs each; synprobe" \
			"attached to the client's veth (TCX) with no check in flight, so all its packets are untracked." \
			"Per-packet run time from kernel.bpf_stats_enabled (run_time_ns / run_cnt, summed over the three" \
			"runs; a packet here is an skb, GSO super-packets included)."
		echo
		echo "| program | runs on iperf3 traffic | ns per packet (bpf_stats) | ns per packet (BPF_PROG_TEST_RUN, crafted untracked segment) |"
		echo "| --- | ---: | ---: | ---: |"
		awk 'NR == FNR { tr[$1] = $2; next } { n[$1] += $2; t[$1] += $3 }
		     END { for (p in n) printf "| %s | %d | %.1f | %s |\n", p, n[p], n[p] ? t[p] / n[p] : 0, (p in tr) ? tr[p] : "-" }' \
			"$TMP/testrun.txt" "$TMP/progs.txt" | sort
		echo
		awk '{ s[$1] += $2; c[$1]++; v[$1] = v[$1] sprintf(" %.2f", $2) }
		     END { wo = s["without"] / c["without"]; w = s["with"] / c["with"]
			   printf "iperf3: without synprobe %.2f Gbit/s (runs:%s), with synprobe %.2f Gbit/s (runs:%s): %+.1f%%.\n",
				  wo, v["without"], w, v["with"], (w - wo) / wo * 100 }' "$TMP/iperf.txt"
		echo
		echo "## 4. Memory at 10,000 in flight"
		echo
		line=$(awk '$1 == "method=bpf" && $2 == "conc=10000"' "$TMP/tput.txt")
		pl=$(awk '$1 == "method=plain" && $2 == "conc=10000"' "$TMP/tput.txt")
		if [ -n "$line" ]; then
			echo "| | total | per check in flight |"
			echo "| --- | ---: | ---: |"
			awk -v b="$(kv rss_base_kb "$line")" -v e="$(kv rss_end_kb "$line")" -v p="$(kv rss_peak_kb "$line")" \
				-v m="$(kv bpf_memlock "$line")" -v mh="$(kv bpf_memlock_hash "$line")" -v f="$(kv max_flows "$line")" \
				-v pb="$(kv rss_base_kb "$pl")" -v pe="$(kv rss_end_kb "$pl")" -v pp="$(kv rss_peak_kb "$pl")" \
				-v dm="$(kv bpf_memlock "$(cat "$TMP/default_maps.txt")")" 'BEGIN {
				printf "| synprobe RSS: after synprobe_open %.1f MiB, after the run %.1f MiB (peak VmHWM %.1f MiB, reached while libbpf loads) | +%.2f MiB | %.0f B |\n", b / 1024, e / 1024, p / 1024, (e - b) / 1024, (e - b) * 1024 / 10000
				printf "| plain loop RSS, for comparison: at start %.1f MiB, after the run %.1f MiB | +%.2f MiB | %.0f B |\n", pb / 1024, pe / 1024, (pe - pb) / 1024, (pe - pb) * 1024 / 10000
				printf "| BPF maps, flow maps sized to %d: all maps (the ring buffer included) | %.2f MiB | %.0f B |\n", f, m / 1048576, m / 10000
				printf "| BPF maps, flow maps sized to %d: the two flow maps (hash) alone | %.2f MiB | %.0f B |\n", f, mh / 1048576, mh / 10000
				printf "| BPF maps at the default size (65,536 flows) | %.2f MiB | %.0f B |\n", dm / 1048576, dm / 10000 }'
			echo
			echo "BPF memory: the memlock of every map fd the process holds (/proc/self/fdinfo, what bpftool map show reports as bytes_memlock)."
		else
			echo "(no 10,000-in-flight point in this run)"
		fi
		echo
		echo "## 5. Server invisibility"
		echo
		echo "Over all the throughput checks: accept() count per method:" \
			"$(awk '{ split($1, a, "="); for (i = 1; i <= NF; i++) if ($i ~ /^accepted=/) { split($i, b, "="); s[a[2]] += b[2] } }
			    END { printf "synprobe %d, plain %d, connect %d", s["bpf"], s["plain"], s["connect"] }' "$TMP/tput-all.txt")" \
			"(all $REPS runs of every point: $(wc -l <"$TMP/tput-all.txt") runs of $N checks)."
		echo "Captured on the client veth ($WIRE_N checks per method and concurrency; a flow = one 4-tuple from its SYN):"
		echo
		echo "| in flight | method | checks | accept() | flows | packets/check | flows exactly S, S., R | flows with a client ACK | capture drops | commonest sequences |"
		echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
		while read -r m c n acc flows pkts exact acks drops rest; do
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" \
				"$([ $m = bpf ] && echo synprobe || echo $m)" "$n" "$acc" "$flows" \
				"$(ratio "$pkts" "$n")" "$exact" "$acks" "${drops:-?}" "$rest"
		done <"$TMP/wire.txt"
		echo
		echo
		report_polite
		echo
		report_startup
		echo
		report_syscalls
		echo
		report_memory
		echo
		report_threads
		echo
		echo "Plots: checks_per_s.png (checks/s against concurrency), rtt_error.png (distribution of |error|)," \
			"memory_targets.png (peak RSS against the targets file's lines)."
	} >"$md"
	cp "$TMP/polite.txt" "$RESULTS/polite.txt"
	cp "$TMP/startup.txt" "$RESULTS/startup.txt"
	cp "$TMP/threads.txt" "$RESULTS/threads.txt"
	cp "$TMP/bpf_load.txt" "$RESULTS/bpf_load.txt"
	cp "$TMP/tput-all.txt" "$RESULTS/throughput.txt"
	cp "$TMP/ratios.txt" "$RESULTS/ratios.txt"
	cp "$TMP/rtt.txt" "$RESULTS/rtt.txt"
	cp "$TMP/syscalls.txt" "$RESULTS/syscalls.txt"
	cp "$TMP/memory.txt" "$RESULTS/memory.txt"
}

plots() {
	local m f
	for m in $METHODS; do
		awk -v m="$m" '$1 == "method=" m { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
				print v["conc"], v["checks_per_s"] }' \
			"$TMP/tput.txt" >"$TMP/plot-$m.dat"
	done
	gnuplot <<EOF
set terminal pngcairo size 900,600
set output '$RESULTS/checks_per_s.png'
set title 'Checks per second against checks in flight (veth, $(nproc) CPUs, $(uname -r))'
set logscale x
set xlabel 'checks in flight'
set ylabel 'checks/s'
set yrange [0:*]
set key bottom right
set grid
plot '$TMP/plot-bpf.dat' using 1:2 with linespoints lw 2 title 'synprobe (bpf)', \
     '$TMP/plot-plain.dat' using 1:2 with linespoints lw 2 title 'plain half-open loop', \
     '$TMP/plot-connect.dat' using 1:2 with linespoints lw 2 title 'full connect()+close()'
EOF
	# The RTT error as a CDF, per method and concurrency, all delays together.
	local plot="" c
	for m in bpf plain; do
		for c in 1 1000; do
			f=$TMP/cdf-$m-$c.dat
			cat "$TMP"/rtt-$m-$c-*.err 2>/dev/null | sort -n |
				awk '{ v[n++] = $1 } END { for (i = 0; i < n; i++) print (v[i] < 1 ? 1 : v[i]) / 1000, (i + 1) / n }' >"$f"
			[ -s "$f" ] && plot+="${plot:+, }'$f' using 1:2 with lines lw 2 title '$([ $m = bpf ] && echo 'synprobe kernel RTT' || echo 'user space (connect to EPOLLOUT)'), $c in flight'"
		done
	done
	[ -n "$plot" ] && gnuplot <<EOF
set terminal pngcairo size 900,600
set output '$RESULTS/rtt_error.png'
set title 'RTT |error| against the capture on the client veth (0, 1, 20 ms added)'
set logscale x
set xlabel '|RTT - capture| (us)'
set ylabel 'fraction of checks'
set yrange [0:1]
set key bottom right
set grid
plot $plot
EOF
	plot_memory "$RESULTS"
}

if [ "$ONLY" = startup ]; then
	log "namespace $NS_U, BENCH_ONLY=startup: section 7 only, bench/results left alone"
	bench_startup || die "startup"
	report_startup
	log "done in $((SECONDS - T_START)) s"
	exit 0
fi
if [ "$ONLY" = syscalls ] || [ "$ONLY" = memory ]; then
	setup_net || die "network namespaces"
	start_listeners || die "listeners did not start"
	log "namespaces $NS_C / $NS_S, BENCH_ONLY=$ONLY: section $([ "$ONLY" = syscalls ] && echo 8 || echo 9) only, RESULTS.md left alone"
	mkdir -p "$RESULTS"
	if [ "$ONLY" = syscalls ]; then
		bench_syscalls || die "syscalls"
		report_syscalls
		cp "$TMP/syscalls.txt" "$RESULTS/syscalls.txt"
	else
		bench_memory || die "memory"
		report_memory
		cp "$TMP/memory.txt" "$RESULTS/memory.txt"
		plot_memory "$RESULTS" || log "plot failed"
	fi
	log "done in $((SECONDS - T_START)) s"
	exit 0
fi
# First, while no other section has loaded the machine or left sockets behind.
[ "$ONLY" = polite ] || [ "$ONLY" = threads ] || bench_startup || die "startup"
setup_net || die "network namespaces"
if [ "$ONLY" = polite ]; then
	log "namespaces $NS_C / $NS_P, BENCH_ONLY=polite: section 6 only, bench/results left alone"
	bench_polite || die "politeness"
	report_polite
	log "done in $((SECONDS - T_START)) s"
	exit 0
fi
start_listeners || die "listeners did not start"
log "namespaces $NS_C / $NS_S, listeners on $S4:$PORT0-$((PORT0 + NPORTS - 1)), work in $TMP"
if [ "$ONLY" = threads ]; then
	log "BENCH_ONLY=threads: section 10 only, bench/results left alone"
	bench_threads || die "threads"
	report_threads
	log "done in $((SECONDS - T_START)) s"
	exit 0
fi
bench_throughput || die "throughput"
bench_rtt || die "RTT accuracy"
bench_cost || die "BPF cost"
bench_wire || die "wire"
bench_polite || die "politeness"
bench_syscalls || die "syscalls"
bench_memory || die "memory"
bench_threads || die "threads"
report
plots || log "plots failed"
cat "$RESULTS/RESULTS.md"
log "done in $((SECONDS - T_START)) s: $RESULTS"
