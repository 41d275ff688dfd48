#!/usr/bin/env bash
# synprobe keepalive between two namespaces with short timers, over IPv4 and IPv6: each probe and
# the ACK answering it are reported on both sides with plausible RTTs; when the server side drops
# everything (nft), the client reports the unanswered probes and ETIMEDOUT within idle +
# interval x count + one interval of the drop, and exits 1. JSON Lines. Nothing left attached.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=9000 IDLE=1 INTVL=1 CNT=3
# nsenter execs in place ('ip netns exec' forks, as would a shell function in the background):
# started as "${IN_S[@]}" CMD &, $! is CMD itself and signals reach it.
IN_S=(nsenter --net="/run/netns/$NS_S")
IN_C=(nsenter --net="/run/netns/$NS_C")
diag_lines() { sed 's/^/# /' <<<"$1"; }
# exited PID: the process is gone or a zombie waiting for our wait (kill -0 succeeds on those).
exited() { [ ! -e "/proc/$1" ] || [ "$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# re STRING: STRING as an extended regular expression matching itself ([, ], . escaped).
re() { sed 's/[].[]/\\&/g' <<<"$1"; }

for fam in 4 6; do
	if [ $fam = 4 ]; then srv_addr=$S4:$PORT cli_addr=$C4
	else srv_addr="[$S6]:$PORT" cli_addr="[$C6]"; fi
	re_srv=$(re "$srv_addr") re_cli=$(re "$cli_addr")
	v=IPv$fam

	"${IN_S[@]}" "$SYNPROBE" keepalive --listen "$srv_addr" >"$SP_TMP/srv$fam.out" 2>&1 &
	srv=$!
	SP_PIDS+=("$srv")
	check "$v: the keepalive server listens" wait_until 5 grep -q "^listening on $re_srv" "$SP_TMP/srv$fam.out"

	# 1. A live peer: 3 probes in 3.5 s, each answered, RTT between 1 us and 50 ms on a veth.
	out=$(in_c "$SYNPROBE" keepalive --idle $IDLE --interval $INTVL --count $CNT -d 3.5s "$srv_addr" 2>&1)
	rc=$?
	diag_lines "$out"
	check "$v live peer: exit 0" [ $rc -eq 0 ]
	check "$v live peer: connected line" grep -qE "^connected $re_cli:[0-9]+ -> $re_srv; keepalive idle 1 s, interval 1 s, count 3$" <<<"$out"
	rtts=$(sed -nE 's/^probe [0-9]+ +to [^ ]+ +at \+[0-9.]+ m?s +answered +rtt_ns ([0-9]+) .*/\1/p' <<<"$out")
	check "$v live peer: 3 probes answered ($(echo $rtts))" [ "$(wc -w <<<"$rtts")" -eq 3 ]
	plausible=1
	for r in $rtts; do [ "$r" -ge 1000 ] && [ "$r" -le 50000000 ] || plausible=0; done
	check "$v live peer: RTTs between 1 us and 50 ms" [ $plausible -eq 1 ]
	# The idle time runs from the handshake's last packet, which an emulated CPU may send a few
	# ms before synprobe takes its "connected" time: there the first probe may read +0.95 s.
	first="\+1\.[0-2][0-9]{2} s"
	sp_emulated && first="(\+1\.[0-9]{3} s|\+9[5-9][0-9]\.[0-9]+ ms)"
	check "$v live peer: probes about 1 s apart, the first after the idle time" \
		grep -qE "^probe 1 +to $re_srv +at $first" <<<"$out"
	check "$v live peer: summary alive" grep -qE "^summary $re_srv: 3 probes, 3 answered, 0 unanswered; .* alive after" <<<"$out"
	check "$v server side: the 3 probes received and answered" \
		wait_until 3 test "$(grep -cE "^probe [0-9]+ +from $re_cli:[0-9]+ .* answered in +rtt_ns [0-9]+" "$SP_TMP/srv$fam.out")" -eq 3

	# 2. JSON Lines.
	json=$(in_c "$SYNPROBE" keepalive --json --idle 1 --interval 1 -d 1.5s "$srv_addr")
	diag_lines "$json"
	check "$v JSON: connected, probe with rtt_ns, summary" \
		test "$(grep -cE '^\{"event":"(connected|summary)"' <<<"$json")" -eq 2 -a \
		"$(grep -cE '^\{"event":"probe","peer":"'"$re_srv"'","direction":"out","probe":1,"time_ns":[0-9]+,"answered":true,"rtt_ns":[0-9]+\}$' <<<"$json")" -eq 1

	# 3. The server side starts dropping everything: unanswered probes, then ETIMEDOUT.
	"${IN_C[@]}" "$SYNPROBE" keepalive --idle $IDLE --interval $INTVL --count $CNT "$srv_addr" >"$SP_TMP/dead$fam.out" 2>&1 &
	cli=$!
	SP_PIDS+=("$cli")
	check "$v dropping: a first probe is answered" wait_until 5 grep -q "^probe 1 .* answered" "$SP_TMP/dead$fam.out"
	in_s nft -f - <<NFT
table inet sptest {
	chain input { type filter hook input priority 0; tcp dport $PORT drop; }
	chain output { type filter hook output priority 0; tcp sport $PORT drop; }
}
NFT
	start=$(date +%s%N)
	wait_until 10 exited $cli
	wait $cli
	rc=$?
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	limit_ms=$(((IDLE + INTVL * CNT + INTVL) * 1000))
	out=$(cat "$SP_TMP/dead$fam.out")
	diag_lines "$out"
	check "$v dropping: exit 1" [ $rc -eq 1 ]
	check "$v dropping: $CNT probes reported unanswered" [ "$(grep -cE "^probe [0-9]+ +to $re_srv .* unanswered$" <<<"$out")" -eq $CNT ]
	check "$v dropping: ETIMEDOUT reported" grep -qE "^dead  $re_srv  at \+[0-9.]+ s: the kernel declared the connection dead \(ETIMEDOUT\) after $CNT unanswered probes$" <<<"$out"
	check "$v dropping: dead $elapsed_ms ms after the drop, within $limit_ms ms" [ $elapsed_ms -le $limit_ms ]
	in_s nft delete table inet sptest

	kill -TERM $srv 2>/dev/null
	wait $srv
	check "$v server: exits 0 on SIGTERM" [ $? -eq 0 ]
done
# In this test's namespaces only: other synprobe runs on the machine are not this test's.
check "nothing left attached after the runs" sp_no_bpf_left
sp_finish
