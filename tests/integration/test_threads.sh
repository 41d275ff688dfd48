#!/usr/bin/env bash
# The engine with several event loops (--threads), against real listeners in a namespace.
# (1) --threads 2 over 3,000 shuffled targets: open ports (IPv4 and IPv6), closed ports, and
#     ports whose SYNs nft drops, `-c 300 --per-target 40`: every target has exactly one JSON
#     line (the multiset of targets is the file's) with the outcome its port calls for, open ones
#     with a kernel RTT (evidence bpf), the summary adds up, the flows maps are empty afterwards,
#     and no listener accepted anything.
# (2) The limits stay global with 2 loops: 2,200 IPv4 targets (8 open ports, 1 closed) with
#     `--threads 2 -c 100 --per-target 10`; on the client's veth, flows between their SYN and
#     their RST (ours for open ports, the server's for closed ones), which is inside the time the
#     engine counts a check: never more than 100 at once, nor 10 to one port; a control run with
#     -c 2200 --per-target 2200 shows more than 100 (the measure can see a violation).
# (3) ping --threads 2: each probe open; serve --threads 2: its checks turn UP and DOWN as their
#     ports are open and closed; both with the flows maps empty at the end.
# (4) --threads 0 and 65: one error line, exit 2.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

OPEN_BASE=20000 CLOSED_BASE=21000 FILT_BASE=22000
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
in_s sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 ||
	not_ok "server sysctls"

# shellcheck disable=SC2046
sp_listen l4 -b 8192 $S4 $(seq $((OPEN_BASE + 1)) $((OPEN_BASE + 8))) || not_ok "IPv4 listener"
L4_PID=$LISTEN_PID
# shellcheck disable=SC2046
sp_listen l6 -b 8192 $S6 $(seq $((OPEN_BASE + 1)) $((OPEN_BASE + 4))) || not_ok "IPv6 listener"
L6_PID=$LISTEN_PID
in_s nft -f - <<NFT || not_ok "nft drop rule"
table inet spthreads {
	chain input { type filter hook input priority 0; tcp dport $((FILT_BASE + 1))-$((FILT_BASE + 4)) counter drop; }
}
NFT

# --- (1) mixed outcomes, every result once ---
awk -v s4=$S4 -v s6=$S6 -v ob=$OPEN_BASE -v cb=$CLOSED_BASE -v fb=$FILT_BASE 'BEGIN {
	srand(11)
	for (i = 0; i < 2400; i++) { d = i % 12; t[n++] = d < 8 ? s4 ":" (ob + 1 + d) : "[" s6 "]:" (ob + 1 + d - 8) }
	for (i = 0; i < 400; i++) t[n++] = (i % 2 ? s4 ":" : "[" s6 "]:") (cb + 1 + i % 4)
	for (i = 0; i < 200; i++) t[n++] = (i % 2 ? s4 ":" : "[" s6 "]:") (fb + 1 + i % 4)
	for (i = n - 1; i > 0; i--) { j = int(rand() * (i + 1)); x = t[i]; t[i] = t[j]; t[j] = x }
	for (i = 0; i < n; i++) print t[i] }' >"$SP_TMP/mixed.txt"
in_c "$SYNPROBE" check --threads 2 -f "$SP_TMP/mixed.txt" -c 300 --per-target 40 --json -v -t 1s \
	>"$SP_TMP/mixed.json" 2>"$SP_TMP/mixed.err"
rc=$?
diag "$(grep -E '^synprobe: [0-9]+ checks:' "$SP_TMP/mixed.err")"
check "mixed, 2 loops: exit 1 (closed and filtered ports) (rc $rc)" [ $rc -eq 1 ]
check "mixed: one JSON line per target (3000: $(wc -l <"$SP_TMP/mixed.json"))" \
	[ "$(wc -l <"$SP_TMP/mixed.json")" -eq 3000 ]
check "mixed: the targets of the results are the file's, each as often" \
	cmp -s <(sort "$SP_TMP/mixed.txt") <(jq -r .target "$SP_TMP/mixed.json" | sort)
# wrong_outcomes: JSON lines whose outcome is not what their port calls for.
wrong_outcomes() {
	jq -r '[.target, .outcome, .evidence, (.rtt_ns != null)] | @tsv' "$SP_TMP/mixed.json" |
		awk -F'\t' -v ob=$OPEN_BASE -v cb=$CLOSED_BASE -v fb=$FILT_BASE '
			{ p = $1; sub(/.*:/, "", p); p += 0
			  want = p > fb ? "timeout" : p > cb ? "closed" : "open"
			  if ($2 != want || (want == "open" && ($3 != "bpf" || $4 != "true"))) n++ }
			END { print n + 0 }'
}
check "mixed: every outcome is its port's; open ones with a kernel RTT ($(wrong_outcomes) wrong)" \
	[ "$(wrong_outcomes)" -eq 0 ]
check "mixed: the summary adds up (2400 open, 400 closed, 200 timeout)" \
	grep -q '^synprobe: 3000 checks: 2400 open, 400 closed, 0 unreachable, 200 timeout, 0 error' "$SP_TMP/mixed.err"
check "mixed: the flows maps are empty after the run" \
	grep -q "flows left in the BPF maps: sp_socks 0, sp_flows 0" "$SP_TMP/mixed.err"
check "mixed: the engine ran 2 event loops ($(grep 'event loops' "$SP_TMP/mixed.err"))" \
	grep -qx "synprobe: event loops: 2" "$SP_TMP/mixed.err"

# --- (2) the limits are global: flows at once on the wire ---
# flows_at_once PCAP: "ALL PERPORT": the most flows between the client's SYN and the first RST of
# the 4-tuple (either side), over all ports and to any one port.
flows_at_once() {
	tcpdump -r "$1" -n -tt 2>/dev/null | sort -s -n -k1,1 | awk -v c="$C4" '
		{ f = ""; for (i = 1; i <= NF; i++) if ($i == "Flags") { f = $(i + 1); break }
		  src = $3; dst = $5; sub(/:$/, "", dst)
		  if (index(src, c ".") == 1) { k = src " " dst; p = dst } else { k = dst " " src; p = src }
		  sub(/.*\./, "", p)
		  if (f == "[S]," && index(src, c ".") == 1) {
			if (!(k in open)) { open[k] = p; n++; np[p]++
				if (n > max) max = n; if (np[p] > pmax) pmax = np[p] } }
		  else if (f ~ /R/ && (k in open)) { n--; np[open[k]]--; delete open[k] } }
		END { print max + 0, pmax + 0 }'
}
awk -v s4=$S4 -v ob=$OPEN_BASE -v cb=$CLOSED_BASE 'BEGIN {
	for (i = 0; i < 2000; i++) print s4 ":" (ob + 1 + i % 8)
	for (i = 0; i < 200; i++) print s4 ":" (cb + 1) }' >"$SP_TMP/limits.txt"
# capture NAME: SYNs and RSTs on the client's veth, a 64 MiB buffer so that none is dropped.
capture() {
	ip netns exec "$NS_C" tcpdump -i "$VETH_C" -n -U --immediate-mode -B 65536 -s 96 \
		-w "$SP_TMP/$1.pcap" 'tcp[tcpflags] & (tcp-syn|tcp-rst) != 0' \
		>"$SP_TMP/$1.tcpdump.log" 2>&1 &
	CAPTURE_PID=$!
	SP_PIDS+=("$CAPTURE_PID")
	wait_until 5 grep -qs "listening on" "$SP_TMP/$1.tcpdump.log"
}
capture_dropped() {
	sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$SP_TMP/$1.tcpdump.log"
}
# rsts NAME: RST segments in the capture so far.
rsts() { tcpdump -r "$SP_TMP/$1.pcap" -n 'tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l; }
rsts_at_least() { [ "$(rsts "$1")" -ge "$2" ]; }
limits_run() { # NAME CONCURRENCY PER_TARGET
	capture "$1" || not_ok "capture ($1) started"
	in_c "$SYNPROBE" check --threads 2 -f "$SP_TMP/limits.txt" -c "$2" --per-target "$3" -v \
		-t 2s >/dev/null 2>"$SP_TMP/$1.err"
	LIM_RC=$?
	# the last RST is in the capture before it stops
	wait_until 5 rsts_at_least "$1" 2200
	sp_capture_stop
	LIM_DROPPED=$(capture_dropped "$1")
	read -r LIM_MAX LIM_PMAX <<<"$(flows_at_once "$SP_TMP/$1.pcap")"
	LIM_SYNS=$(tcpdump -r "$SP_TMP/$1.pcap" -n 'tcp[tcpflags] == tcp-syn' 2>/dev/null | wc -l)
}
limits_run lim 100 10
diag "-c 100 --per-target 10, 2 loops: $LIM_SYNS SYNs, at most $LIM_MAX flows at once, $LIM_PMAX to one port"
check "limits: exit 1 (a closed port), 2000 open" \
	eval "[ $LIM_RC -eq 1 ] && grep -q '^synprobe: 2200 checks: 2000 open, 200 closed' '$SP_TMP/lim.err'"
check "limits: the capture lost nothing (${LIM_DROPPED:-?} dropped)" [ "$LIM_DROPPED" = 0 ]
check "limits: one SYN per check on the wire ($LIM_SYNS)" [ "$LIM_SYNS" -eq 2200 ]
check "limits: never more than 100 flows at once, and the limit is used ($LIM_MAX)" \
	[ "$LIM_MAX" -le 100 -a "$LIM_MAX" -ge 20 ]
check "limits: never more than 10 flows to one port at once ($LIM_PMAX)" [ "$LIM_PMAX" -le 10 ]
check "limits: the flows maps are empty after the run, 2 loops" \
	eval "grep -q 'flows left in the BPF maps: sp_socks 0, sp_flows 0' '$SP_TMP/lim.err' &&
		grep -qx 'synprobe: event loops: 2' '$SP_TMP/lim.err'"
limits_run ctl 2200 2200
diag "control, -c 2200 --per-target 2200: at most $LIM_MAX flows at once, $LIM_PMAX to one port"
check "limits, control: the capture lost nothing (${LIM_DROPPED:-?} dropped)" [ "$LIM_DROPPED" = 0 ]
check "limits, control: the measure sees more than 100 at once ($LIM_MAX)" [ "$LIM_MAX" -gt 100 ]

# --- (3) ping and serve on several loops ---
out=$(in_c "$SYNPROBE" ping --threads 2 -c 3 -i 50ms $S4:$((OPEN_BASE + 1)) 2>&1)
rc=$?
check "ping --threads 2: exit 0, three probes open (rc $rc)" \
	eval "[ $rc -eq 0 ] && [ \$(grep -c ' open ' <<<'$out') -eq 3 ]"

CFG=$SP_TMP/serve.yaml LOG=$SP_TMP/serve.log HTTP=127.0.0.1:9124
cat >"$CFG" <<YAML
defaults:
  interval: 100ms
  timeout: 100ms
  rise: 2
  fall: 2
checks:
  - name: web
    target: $S4:$((OPEN_BASE + 1))
  - name: web6
    target: "[$S6]:$((OPEN_BASE + 2))"
  - name: closed
    target: $S4:$((CLOSED_BASE + 1))
YAML
ip netns exec "$NS_C" "$SYNPROBE" serve --threads 2 -c "$CFG" --listen $HTTP --no-pin \
	--log-level debug 2>"$LOG" &
SERVE_PID=$!
SP_PIDS+=("$SERVE_PID")
state_is() { grep '"msg":"state change"' "$LOG" | grep "\"check\":\"$1\"" | tail -n 1 | grep -q "\"new_state\":\"$2\""; }
check "serve --threads 2: web turns UP" wait_until 10 state_is web up
check "serve --threads 2: web6 turns UP" wait_until 10 state_is web6 up
check "serve --threads 2: closed turns DOWN" wait_until 10 state_is closed down
metrics=$(in_c curl -sf --max-time 5 "http://$HTTP/metrics")
check "serve --threads 2: /metrics says web is up" grep -q '^synprobe_up{check="web",.*} 1$' <<<"$metrics"
kill -TERM "$SERVE_PID" 2>/dev/null
wait "$SERVE_PID"
rc=$?
check "serve --threads 2: SIGTERM, exit 0 (rc $rc)" [ $rc -eq 0 ]

acc4=$(sp_accepted l4 $L4_PID) acc6=$(sp_accepted l6 $L6_PID)
check "no listener accepted anything (IPv4 $acc4, IPv6 $acc6)" [ "$acc4" = 0 -a "$acc6" = 0 ]

# --- (4) bad values ---
for bad in 0 65 x; do
	err=$("$SYNPROBE" check --threads $bad 127.0.0.1:1 2>&1 >/dev/null)
	rc=$?
	check "--threads $bad: exit 2, one error line naming it ($err)" \
		[ $rc -eq 2 -a "$(wc -l <<<"$err")" -eq 1 -a -n "$(grep -F "threads '$bad'" <<<"$err")" ]
done
check "nothing left attached after the runs" sp_no_bpf_left
sp_finish
