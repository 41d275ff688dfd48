#!/usr/bin/env bash
# The RTT synprobe reports, against the wire and against a known added delay.
# (a) Accuracy: checks of an open port over IPv4 and IPv6, each compared with a nanosecond
#     capture on the client's veth (first SYN out to first SYN-ACK in, matched by source
#     address and port): |rtt_ns - capture| <= 50 us for every check.
# (b) Added delay: sp_delay holds the port's packets 20 ms each way in the server namespace
#     (NFQUEUE; this kernel has no netem): the RTT is 40 ms +/- 2 ms above the baseline of (a),
#     the checks still say open, and the listener accepts nothing. A batch whose capture shows
#     the helper itself was late (busy machine) is run again, at most three times in all.
# On an emulated CPU (SP_EMULATED, the kernel matrix under QEMU/TCG) the softirq that runs tc
# ingress can lag the capture's stamp by hundreds of us for any check of a batch, and the delay
# helper wakes milliseconds late. There each check's error is not judged (a skip says so), but the
# closest check must still be within the same 50 us: a timestamp taken at the wrong place, or
# timing in user space, is off in every check. And the delayed RTT may be late by 20 x 2 ms there,
# never early.
. "$(dirname "$0")/lib.sh"
sp_require_root
SP_DELAY=$SP_OUTPUT/tests/sp_delay

PORT=8090
N_CHECKS=20		# per family, (a)
N_DELAYED=5		# per family, (b)
MAX_ERR_NS=50000	# |rtt_ns - capture|
DELAY_MS=20		# each way
DELAY_TOL_NS=2000000	# around the 2 * DELAY_MS added
DELAY_LATE_NS=$((DELAY_TOL_NS * SP_SLOWDOWN))	# above it (an emulated CPU is late, never early)
QUEUE=7

# capture_nano NAME: tcpdump on the client's veth, nanosecond time stamps, to $SP_TMP/NAME.pcap;
# waits until it listens. A short snap length: libpcap's ring in immediate mode has one frame
# per snap length, and with the default 256 KiB it holds 8 packets and drops bursts.
capture_nano() {
	ip netns exec "$NS_C" tcpdump -i "$VETH_C" -n -U --immediate-mode \
		--time-stamp-precision=nano -s 256 -B 4096 -w "$SP_TMP/$1.pcap" "tcp port $PORT" \
		>"$SP_TMP/$1.tcpdump.log" 2>&1 &
	CAPTURE_PID=$!
	SP_PIDS+=("$CAPTURE_PID")
	wait_until 5 grep -qs "listening on" "$SP_TMP/$1.tcpdump.log"
}

# capture_end NAME N: waits until the capture holds N SYN-ACKs (read out of the kernel), stops it.
capture_end() {
	wait_until 5 synacks_seen "$1" "$2" || diag "capture $1: fewer than $2 SYN-ACKs"
	sp_capture_stop
	diag "capture $1: $(grep -E 'captured|dropped' "$SP_TMP/$1.tcpdump.log" | tr '\n' ' ')"
}

synacks_seen() {
	[ "$(tcpdump -r "$SP_TMP/$1.pcap" -n 2>/dev/null | grep -c 'Flags \[S\.\]')" -ge "$2" ]
}

# wire_rtts NAME: "SRC_ADDR.SRC_PORT RTT_NS" per client flow of capture NAME, first SYN out to
# first SYN-ACK in. Seconds and nanoseconds are kept apart: no floating-point rounding.
wire_rtts() {
	tcpdump -r "$SP_TMP/$1.pcap" -n -tt --time-stamp-precision=nano 2>/dev/null |
		awk -v p="$PORT" '
		{ split($1, t, "."); if (base == "") base = t[1]
		  ns = (t[1] - base) * 1000000000 + t[2]
		  for (i = 1; i <= NF; i++) if ($i == "Flags") { f = $(i + 1); break }
		  src = $3; dst = $5; sub(/:$/, "", dst) }
		f == "[S]," && dst ~ "\\." p "$" && !(src in syn) { syn[src] = ns; order[n++] = src }
		f == "[S.]," && src ~ "\\." p "$" && !(dst in ack) { ack[dst] = ns }
		END { for (i = 0; i < n; i++)
			if (order[i] in ack) print order[i], ack[order[i]] - syn[order[i]] }'
}

# json_fields FILE: "OUTCOME RTT_NS SRC_ADDR.SRC_PORT" per line of `synprobe check --json`
# ("null" where the JSON has null).
json_fields() {
	sed -n 's/.*"outcome":"\([a-z]*\)","rtt_ns":\([0-9a-z]*\),.*"source_address":"\{0,1\}\([^",]*\)"\{0,1\},"source_port":\([0-9a-z]*\),.*/\1 \2 \3.\4/p' "$1"
}

# compare NAME JSON: "SRC RTT_NS WIRE_NS DIFF_NS" per check in JSON, against capture NAME
# ("-" where the capture has no such flow or the check no RTT).
compare() {
	awk 'NR == FNR { wire[$1] = $2; next }
	     { w = ($3 in wire) ? wire[$3] : "-"
	       print $3, $2, w, (w == "-" || $2 !~ /^[0-9]+$/) ? "-" : $2 - w }' \
		<(wire_rtts "$1") <(json_fields "$2")
}

# median: of the integers on stdin, one a line.
median() {
	sort -n | awk '{ v[n++] = $1 }
		END { if (n) print (n % 2) ? v[(n - 1) / 2] : int((v[n / 2 - 1] + v[n / 2]) / 2) }'
}

# off_by MAX FILE: the lines of a compare FILE whose difference is unknown or beyond +/- MAX
# ("no checks" if it has none).
off_by() {
	awk -v m="$1" '$4 == "-" || $4 > m || $4 < -m; END { if (!NR) print "no checks" }' "$2"
}

# closest_err FILE: the smallest |difference| of a compare FILE, in ns (empty without one).
closest_err() {
	awk '$4 != "-" { print ($4 < 0) ? -$4 : $4 }' "$1" | sort -n | head -n 1
}

# inaccurate MAX FILE: what is wrong with compare FILE: every check must be within MAX ns of the
# capture; on an emulated CPU, the closest one (and every check must have a result).
inaccurate() {
	local closest
	if sp_emulated; then
		closest=$(closest_err "$2")
		awk '$4 == "-"; END { if (!NR) print "no checks" }' "$2"
		[ -n "$closest" ] && [ "$closest" -le "$1" ] || echo "closest |error| ${closest:-none} ns"
	else
		off_by "$1" "$2"
	fi
}

# check_accuracy NAME MAX FILE: the TAP lines for inaccurate: on an emulated CPU, the closest
# check is judged and the per-check bound reported skipped.
check_accuracy() {
	local name=$1 max=$2 file=$3
	if sp_emulated; then
		check "$name: the closest RTT within $((max / 1000)) us of the capture ($(closest_err "$file") ns)" \
			[ -z "$(inaccurate "$max" "$file")" ]
	fi
	check_timing "$name: every RTT within $((max / 1000)) us of the capture" \
		"tc ingress may run hundreds of us after the capture's stamp" \
		[ -z "$(off_by "$max" "$file")" ]
}

# run_checks NAME FAM N: N checks at once of the open port over IPv FAM: JSON to
# $SP_TMP/NAME.json, stderr to NAME.err, exit status to NAME.rc. report_checks NAME FAM N: TAP.
run_checks() {
	local name=$1 fam=$2 n=$3 target targets=() i
	if [ "$fam" = 4 ]; then target=$S4:$PORT; else target="[$S6]:$PORT"; fi
	for ((i = 0; i < n; i++)); do targets+=("$target"); done
	in_c "$SYNPROBE" check --json -t 2s "${targets[@]}" >"$SP_TMP/$name.json" 2>"$SP_TMP/$name.err"
	echo $? >"$SP_TMP/$name.rc"
}

report_checks() {
	local name=$1 fam=$2 n=$3
	check "IPv$fam $name: $n checks at once, exit 0 ($(head -c 300 "$SP_TMP/$name.err"))" \
		[ "$(cat "$SP_TMP/$name.rc")" = 0 ]
	check "IPv$fam $name: $n results, all open with an RTT and a source port" \
		[ "$(json_fields "$SP_TMP/$name.json" | grep -cE '^open [0-9]+ [^ ]+\.[0-9]+$')" -eq "$n" ]
}

sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
sp_listen srv4 "$S4" $PORT || not_ok "listener on $S4"
srv4=$LISTEN_PID
sp_listen srv6 "$S6" $PORT || not_ok "listener on $S6"
srv6=$LISTEN_PID

# --- (a) Accuracy: against the capture on the client's veth.
# The capture stamps a packet coming in when veth queues it for the receive softirq, tc ingress
# when the softirq runs: on a loaded 2-CPU VM that queueing alone has now and then exceeded
# 50 us for one or two checks of a batch. A batch with a check off by more is run again, up to
# 3 times in all, and the last one is judged: a real error (a timestamp at the wrong place, or
# timed in user space) is off in every batch.
for attempt in 1 2 3; do
	capture_nano wire || not_ok "capture started"
	run_checks acc4 4 $N_CHECKS
	run_checks acc6 6 $N_CHECKS
	capture_end wire $((2 * N_CHECKS))
	off=0
	for fam in 4 6; do
		compare wire "$SP_TMP/acc$fam.json" >"$SP_TMP/acc$fam.cmp"
		[ -n "$(inaccurate $MAX_ERR_NS "$SP_TMP/acc$fam.cmp")" ] && off=1
	done
	[ $off = 0 ] && break
	diag "accuracy batch $attempt: a check off by more than $((MAX_ERR_NS / 1000)) us:" \
		"$(inaccurate $MAX_ERR_NS "$SP_TMP/acc4.cmp" | tr '\n' ';')" \
		"$(inaccurate $MAX_ERR_NS "$SP_TMP/acc6.cmp" | tr '\n' ';')"
done
diag "accuracy judged on batch $attempt of 3"
declare -A baseline wire_baseline
for fam in 4 6; do
	report_checks acc$fam $fam $N_CHECKS
	cmp=$SP_TMP/acc$fam.cmp
	compare wire "$SP_TMP/acc$fam.json" >"$cmp"
	n=$(awk '$4 != "-"' "$cmp" | wc -l)
	check "IPv$fam: each of the $N_CHECKS checks found on the wire by source port ($n)" \
		[ "$n" -eq $N_CHECKS ]
	errs=$(awk '$4 != "-" { print ($4 < 0) ? -$4 : $4 }' "$cmp")
	diag "IPv$fam |rtt_ns - capture|: median $(median <<<"$errs") ns," \
		"max $(sort -n <<<"$errs" | tail -n 1) ns; RTT median" \
		"$(awk '{ print $2 }' "$cmp" | median) ns, capture median" \
		"$(awk '$3 != "-" { print $3 }' "$cmp" | median) ns"
	bad=$(off_by $MAX_ERR_NS "$cmp")
	check_accuracy "IPv$fam" $MAX_ERR_NS "$cmp"
	[ -n "$bad" ] && diag "off (source rtt_ns capture_ns diff_ns): $(tr '\n' ';' <<<"$bad")"
	baseline[$fam]=$(awk '$2 ~ /^[0-9]+$/ { print $2 }' "$cmp" | median)
	wire_baseline[$fam]=$(awk '$3 != "-" { print $3 }' "$cmp" | median)
done

# --- (b) Added delay: DELAY_MS each way, in the server namespace.
# Not through in_s: in the background a function runs in a subshell, and $! would be that
# subshell, not sp_delay.
ip netns exec "$NS_S" "$SP_DELAY" -q $QUEUE -d $DELAY_MS >"$SP_TMP/delay.out" 2>&1 &
delay_pid=$!
SP_PIDS+=("$delay_pid")
check "sp_delay bound to queue $QUEUE" wait_until 5 grep -qs '^ready' "$SP_TMP/delay.out"
rules=0
for ipt in iptables ip6tables; do
	in_s $ipt -A INPUT -p tcp --dport $PORT -j NFQUEUE --queue-num $QUEUE && rules=$((rules + 1))
	in_s $ipt -A OUTPUT -p tcp --sport $PORT -j NFQUEUE --queue-num $QUEUE && rules=$((rules + 1))
done
check "NFQUEUE rules in the server namespace ($rules of 4)" [ $rules -eq 4 ]

# The delay comes from a user-space helper: on a busy VM (a non-preemptible kernel) it can be
# woken milliseconds late, and then the wire itself shows more than 2 * DELAY_MS. Such a batch
# says nothing about synprobe and is run again (at most 3 times); synprobe is judged on the last.
want=$((2 * DELAY_MS * 1000000))
for attempt in 1 2 3; do
	capture_nano delayed$attempt || not_ok "capture started (delayed, attempt $attempt)"
	run_checks del4 4 $N_DELAYED
	run_checks del6 6 $N_DELAYED
	capture_end delayed$attempt $((2 * N_DELAYED))
	late=
	for fam in 4 6; do
		compare delayed$attempt "$SP_TMP/del$fam.json" >"$SP_TMP/del$fam.cmp"
		late+=$(awk -v b="${wire_baseline[$fam]:-0}" -v w=$want -v t=$DELAY_TOL_NS -v l=$DELAY_LATE_NS \
			'$3 != "-" && ($3 - b < w - t || $3 - b > w + l) { printf "%s %d; ", $1, $3 - b }' \
			"$SP_TMP/del$fam.cmp")
	done
	[ -z "$late" ] && break
	diag "attempt $attempt: the wire itself is off (source, capture minus baseline ns): $late"
done
for fam in 4 6; do
	report_checks del$fam $fam $N_DELAYED
	cmp=$SP_TMP/del$fam.cmp
	deltas=$(awk -v b="${baseline[$fam]:-0}" '{ print ($2 ~ /^[0-9]+$/) ? $2 - b : "-" }' "$cmp")
	diag "IPv$fam delayed RTT minus baseline (${baseline[$fam]:-?} ns), ns:" \
		"$(tr '\n' ' ' <<<"$deltas")"
	diag "IPv$fam delayed rtt_ns - capture, ns: $(awk '{ print $4 }' "$cmp" | tr '\n' ' ')"
	bad=$(awk -v w=$want -v t=$DELAY_TOL_NS -v l=$DELAY_LATE_NS '$1 == "-" || $1 < w - t || $1 > w + l' <<<"$deltas")
	[ -z "$deltas" ] && bad="no results"
	check "IPv$fam delayed: every RTT $((2 * DELAY_MS)) ms -$((DELAY_TOL_NS / 1000000)) +$((DELAY_LATE_NS / 1000000)) ms above the baseline" \
		[ -z "$bad" ]
	check_accuracy "IPv$fam delayed" $MAX_ERR_NS "$cmp"
done

check "the IPv4 listener accepted nothing" [ "$(sp_accepted srv4 "$srv4")" = 0 ]
check "the IPv6 listener accepted nothing" [ "$(sp_accepted srv6 "$srv6")" = 0 ]
kill -TERM "$delay_pid" 2>/dev/null
wait "$delay_pid"
rc=$?
check "sp_delay exits 0 on SIGTERM ($(tr '\n' ' ' <"$SP_TMP/delay.out"))" [ $rc -eq 0 ]
sp_finish
