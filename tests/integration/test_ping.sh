#!/usr/bin/env bash
# synprobe ping against a real listener in a namespace, over IPv4 and IPv6: 20 probes at 50 ms,
# a line per probe in order, the summary's counts and min/avg/max/mdev against what the per-probe
# results give (text, and exactly from the JSON rtt_ns), a fresh source port per probe, the
# interval respected; a filtered port (nft drops its SYNs): every probe lost, exit 1; SIGINT in
# the middle of a run: the summary of what was answered, exit 0. The listener accepts nothing.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
command -v jq >/dev/null || { skip "$(basename "$0")" "jq is not installed"; sp_finish; }

OPEN=8080 FILTERED=8082 COUNT=20
diag_lines() { sed 's/^/# /' <<<"$1"; }
# exited PID: the process is gone or a zombie waiting for our wait.
exited() { [ ! -e "/proc/$1" ] || [ "$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# jq_true FILTER JSON: FILTER gives true on JSON.
jq_true() { jq -e "$1" <<<"$2" >/dev/null; }
# near A B TOL: |A - B| <= TOL (decimals).
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

sp_listen srv4 $S4 $OPEN $FILTERED || not_ok "listener on $S4"
srv4=$LISTEN_PID
sp_listen srv6 $S6 $OPEN $FILTERED || not_ok "listener on $S6"
srv6=$LISTEN_PID
in_s nft -f - <<NFT
table inet sptest {
	chain input { type filter hook input priority 0; tcp dport $FILTERED drop; }
}
NFT

for fam in 4 6; do
	if [ $fam = 4 ]; then t_open=$S4:$OPEN; t_filt=$S4:$FILTERED
	else t_open="[$S6]:$OPEN"; t_filt="[$S6]:$FILTERED"; fi
	re_target=$(sed 's/[].[]/\\&/g' <<<"$t_open")

	# 1. Text: 20 lines in order, the summary, the interval.
	start=$(date +%s%N)
	out=$(in_c "$SYNPROBE" ping -c $COUNT -i 50ms "$t_open" 2>&1); rc=$?
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	diag_lines "$out"
	check "IPv$fam ping: exit 0" [ $rc -eq 0 ]
	lines=$(grep '^seq=' <<<"$out")
	check "IPv$fam ping: $COUNT per-probe lines, seq 1..$COUNT in order" \
		[ "$(sed -E 's/^seq=([0-9]+) .*/\1/' <<<"$lines")" = "$(seq 1 $COUNT)" ]
	check "IPv$fam ping: every line is 'seq=N $t_open open rtt=... ttl=64'" \
		test "$(grep -cE "^seq=[0-9]+ $re_target open rtt=[0-9.]+ (ns|us|ms) ttl=64$" <<<"$lines")" -eq $COUNT
	check "IPv$fam ping: summary header" grep -qxF -- "--- $t_open synprobe ping statistics (method bpf) ---" <<<"$out"
	summary=$(grep -E '^[0-9]+ probes sent' <<<"$out")
	check "IPv$fam ping: summary '$COUNT probes sent, $COUNT answered ($COUNT open, ...), 0 lost'" \
		grep -qE "^$COUNT probes sent, $COUNT answered \($COUNT open, 0 closed, 0 unreachable\), 0 lost, 0 errors, 0% loss, time [0-9]+ms$" <<<"$summary"
	time_ms=$(sed -nE 's/.*, time ([0-9]+)ms$/\1/p' <<<"$summary")
	check "IPv$fam ping: $COUNT probes at 50 ms take >= 950 ms (took $elapsed_ms ms, summary says ${time_ms:-?} ms)" \
		test $elapsed_ms -ge 950 -a "${time_ms:-0}" -ge 950 -a "${time_ms:-0}" -le $elapsed_ms
	# min/avg/max/mdev (population, as iputils) of the per-probe RTTs in ms. The lines have 3
	# significant digits (<= 0.05 us off), the summary 0.001 ms: agree within 0.6 us.
	want=$(sed -nE 's/.* rtt=([0-9.]+) (ns|us|ms) .*/\1 \2/p' <<<"$lines" | awk '
		{ v = $1 / ($2 == "ns" ? 1e6 : $2 == "us" ? 1e3 : 1); s += v; s2 += v * v; n++
		  if (n == 1 || v < mn) mn = v; if (n == 1 || v > mx) mx = v }
		END { a = s / n; d = s2 / n - a * a; if (d < 0) d = 0; printf "%.6f %.6f %.6f %.6f", mn, a, mx, sqrt(d) }')
	got=$(sed -nE 's|^rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms$|\1 \2 \3 \4|p' <<<"$out")
	read -r w_min w_avg w_max w_mdev <<<"$want"
	read -r g_min g_avg g_max g_mdev <<<"$got"
	check "IPv$fam ping: rtt min/avg/max/mdev ($got ms) = the lines' ($want ms) within rounding" \
		eval 'near "${g_min:-x}" "$w_min" 0.0006 && near "${g_avg:-x}" "$w_avg" 0.0006 &&
			near "${g_max:-x}" "$w_max" 0.0006 && near "${g_mdev:-x}" "$w_mdev" 0.0006'

	# 2. JSON: a fresh source port per probe; the summary's RTT figures from the rtt_ns.
	json=$(in_c "$SYNPROBE" ping -j -c $COUNT -i 50ms "$t_open"); rc=$?
	check "IPv$fam JSON: exit 0" [ $rc -eq 0 ]
	probes=$(jq -c 'select(has("seq"))' <<<"$json" 2>/dev/null)
	summ=$(jq -c 'select(.summary == true)' <<<"$json" 2>/dev/null)
	diag "IPv$fam JSON summary: $summ"
	check "IPv$fam JSON: $COUNT probe objects and a summary, nothing else" \
		test "$(wc -l <<<"$json")" -eq $((COUNT + 1)) -a "$(grep -c . <<<"$probes")" -eq $COUNT \
		-a "$(grep -c . <<<"$summ")" -eq 1
	check "IPv$fam JSON: seq 1..$COUNT in order, each open, kernel RTT, ipv$fam" \
		test "$(jq -r 'select(.outcome == "open" and .rtt_timing == "kernel" and .method == "bpf"
			and .family == "ipv'$fam'" and (.rtt_ns | type) == "number") | .seq' <<<"$probes")" = "$(seq 1 $COUNT)"
	ports=$(jq -r .source_port <<<"$probes" | sort -u | grep -c '^[0-9][0-9]*$')
	check "IPv$fam JSON: each probe from its own source port ($ports distinct)" [ "$ports" -eq $COUNT ]
	check "IPv$fam JSON: summary sent $COUNT, open $COUNT, lost 0, errors 0, time_ms >= 950" \
		jq_true ".sent == $COUNT and .open == $COUNT and .closed == 0 and .unreachable == 0 and
			.lost == 0 and .errors == 0 and .loss_percent == 0 and .time_ms >= 950" "$summ"
	# min and max exact; avg and mdev (sqrt(E[x^2] - E[x]^2), truncated to ns) within 1 ns.
	want=$(jq -r .rtt_ns <<<"$probes" | awk '
		{ v = $1 + 0; s += v; s2 += v * v; n++
		  if (n == 1 || v < mn) mn = v; if (n == 1 || v > mx) mx = v }
		END { a = s / n; d = s2 / n - a * a; if (d < 0) d = 0; printf "%d %.3f %d %.3f", mn, a, mx, sqrt(d) }')
	got=$(jq -r '"\(.rtt_min_ns) \(.rtt_avg_ns) \(.rtt_max_ns) \(.rtt_mdev_ns)"' <<<"$summ")
	read -r w_min w_avg w_max w_mdev <<<"$want"
	read -r g_min g_avg g_max g_mdev <<<"$got"
	check "IPv$fam JSON: rtt min/avg/max/mdev ns ($got) = computed from rtt_ns ($want)" \
		eval '[ "$g_min" = "$w_min" ] && [ "$g_max" = "$w_max" ] &&
			near "$g_avg" "$w_avg" 1 && near "$g_mdev" "$w_mdev" 1'

	# 3. The filtered port: each probe times out.
	out=$(in_c "$SYNPROBE" ping -c 3 -i 50ms -t 200ms "$t_filt" 2>&1); rc=$?
	diag_lines "$out"
	check "IPv$fam filtered: exit 1" [ $rc -eq 1 ]
	check "IPv$fam filtered: 3 lines, each timeout" \
		test "$(grep -cE '^seq=[1-3] .* timeout$' <<<"$out")" -eq 3
	check "IPv$fam filtered: summary '3 probes sent, 0 answered ..., 3 lost', no rtt line" \
		eval 'grep -qE "^3 probes sent, 0 answered \(0 open, 0 closed, 0 unreachable\), 3 lost, 0 errors, 100% loss, time [0-9]+ms$" <<<"$out" &&
			! grep -q "^rtt " <<<"$out"'

	# 4. SIGINT in the middle of an endless run.
	ip netns exec "$NS_C" "$SYNPROBE" ping -i 50ms "$t_open" >"$SP_TMP/int$fam.out" 2>&1 &
	pid=$!
	SP_PIDS+=("$pid")
	# (Starting, and detaching at the end, cost CPU: longer waits on an emulated CPU.)
	check "IPv$fam SIGINT: the run is under way (5 probes answered)" \
		wait_until "$(sp_slow 10)" eval '[ "$(grep -c "^seq=.* open " "$SP_TMP/int$fam.out")" -ge 5 ]'
	kill -INT "$pid"
	if wait_until "$(sp_slow 5)" exited "$pid"; then
		wait "$pid"; rc=$?
	else
		rc=timeout
	fi
	out=$(cat "$SP_TMP/int$fam.out")
	diag_lines "$out"
	n=$(grep -c '^seq=' <<<"$out")
	check "IPv$fam SIGINT: exits 0 (rc $rc)" [ "$rc" = 0 ]
	check "IPv$fam SIGINT: summary of the $n probes reported, 0 lost" \
		grep -qE "^$n probes sent, $n answered \($n open, 0 closed, 0 unreachable\), 0 lost, 0 errors, 0% loss, time [0-9]+ms$" <<<"$out"
	check "IPv$fam SIGINT: rtt line printed" grep -qE '^rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms$' <<<"$out"
done

check "the IPv4 listener accepted nothing" [ "$(sp_accepted srv4 $srv4)" = 0 ]
check "the IPv6 listener accepted nothing" [ "$(sp_accepted srv6 $srv6)" = 0 ]
check "nothing left attached after the runs" sp_no_bpf_left
sp_finish
