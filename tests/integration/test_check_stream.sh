#!/usr/bin/env bash
# check -f streams its targets and resolves names concurrently (issue 11, items 2 and 3):
# - 10,000 distinct names (1,000 on an emulated CPU) served by dnsmasq in the server namespace,
#   each mapped to its own address (a /16 routed to the server namespace, where a listener on
#   0.0.0.0 answers every address): every result is open and has its name's address;
# - a name dnsmasq answers NXDOMAIN for, and a name whose queries are forwarded to a server that
#   drops them (the client gives up after 3 s): both give an error result for their line, the
#   run goes on, and the hung name does not stall the others (its result comes last);
# - -A gives every address of a name, -6 an error result for a name with IPv4 only;
# - a bad line is reported with FILE:LINE, the other lines are checked, exit 2;
# - `-f -` reads a pipe that stays open: results come while it is open; an endless stream (yes)
#   that keeps the engine busy ends at once on SIGINT;
# - the progress line: on a terminal (script(1)) at most 4 a second, with an ETA for a regular
#   file; nothing when stderr is not a terminal, nor with -q.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "the targets file streamed and names resolved through a DNS server"
for cmd in dnsmasq jq nft script; do
	command -v $cmd >/dev/null || { skip "check -f streaming" "$cmd is not installed (scripts/install-deps.sh)"; exit 0; }
done
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=18450 DROPPED=18451 DNS_DROP=5399 HANG_S=3
N=10000
sp_emulated && N=1000

# Every address of 10.78.0.0/16 is local in the server namespace and routed there from the client.
ip -n "$NS_S" route add local 10.78.0.0/16 dev lo || not_ok "local route"
ip -n "$NS_C" route add 10.78.0.0/16 via $S4 || not_ok "route to 10.78.0.0/16"
in_s nft -f - <<NFT || not_ok "nft rules"
table inet spstream {
	chain input {
		type filter hook input priority 0;
		udp dport $DNS_DROP drop
		tcp dport $DROPPED drop
	}
}
NFT
sp_listen srv 0.0.0.0 $PORT || { not_ok "listener"; sp_finish; }
srv=$LISTEN_PID

# name$i.sp.test -> 10.78.(1 + i / 250).(1 + i % 250); two.sp.test has two addresses.
HOSTS=$SP_TMP/hosts
awk -v n=$N 'BEGIN { for (i = 0; i < n; i++) printf "10.78.%d.%d name%d.sp.test\n", 1 + int(i / 250), 1 + i % 250, i
	print "10.78.250.1 two.sp.test"; print "10.78.250.2 two.sp.test" }' >"$HOSTS"
# ip netns exec, not in_s: $! must be dnsmasq itself for the clean-up to stop it
ip netns exec "$NS_S" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$HOSTS" \
	--listen-address=$S4 --bind-interfaces --user=root --pid-file= --local=/sp.test/ \
	--server=/hang.test/$S4#$DNS_DROP --cache-size=10000 >"$SP_TMP/dnsmasq.log" 2>&1 &
SP_PIDS+=("$!")
printf 'nameserver %s\noptions timeout:%d attempts:1\n' $S4 $HANG_S >"/etc/netns/$NS_C/resolv.conf"
resolves() { in_c getent ahostsv4 name0.sp.test >/dev/null; }
check "dnsmasq answers" wait_until 10 resolves

# --- 10,000 names, a failing one, a hanging one ---
{
	echo "hung.hang.test:$PORT"
	for ((i = 0; i < N; i++)); do echo "name$i.sp.test:$PORT"; done
	echo "nx.sp.test:$PORT"
	echo "two.sp.test:$PORT"
} >"$SP_TMP/names.txt"
t0=$(date +%s%N)
in_c "$SYNPROBE" check -f "$SP_TMP/names.txt" --json -t 2s >"$SP_TMP/names.json" 2>"$SP_TMP/names.err"
rc=$?
t_ms=$((($(date +%s%N) - t0) / 1000000))
diag "$N names + 3: $t_ms ms; $(grep -E '^synprobe: [0-9]+ checks' "$SP_TMP/names.err")"
check "names: exit 1 (two names do not resolve), got $rc" test $rc -eq 1
check "names: one JSON line per line of the file ($(wc -l <"$SP_TMP/names.json"))" \
	test "$(wc -l <"$SP_TMP/names.json")" -eq $((N + 3))
# Every name's result: open, at its own address.
awk -v p=$PORT '/name[0-9]+\.sp\.test/ { print $2 ":" p, $1, "open" }' "$HOSTS" | sort >"$SP_TMP/want"
jq -r 'select(.target | startswith("name")) | "\(.target) \(.address) \(.outcome)"' \
	"$SP_TMP/names.json" | sort >"$SP_TMP/got"
n_diff=$(comm -3 "$SP_TMP/want" "$SP_TMP/got" | wc -l)
[ "$n_diff" -gt 0 ] && diag "first differences: $(comm -3 "$SP_TMP/want" "$SP_TMP/got" | head -n 3 | tr '\n' ';')"
check "names: all $N results open at their name's address ($n_diff differ)" test "$n_diff" -eq 0
# jq_true FILE FILTER: FILTER gives true for FILE (jq 1.6's -e looks at the last input only).
jq_true() { [ "$(jq -r "$2" "$1" | tr '\n' ' ')" = "true " ]; }
check "names: NXDOMAIN gives an error result naming the name" \
	jq_true "$SP_TMP/names.json" 'select(.target == "nx.sp.test:'$PORT'") | .outcome == "error" and .address == null and (.error | contains("nx.sp.test"))'
check "names: the hung name gives an error result" \
	jq_true "$SP_TMP/names.json" 'select(.target == "hung.hang.test:'$PORT'") | .outcome == "error" and (.error | contains("hung.hang.test"))'
check "names: the two-address name without -A: one result, one of its addresses" \
	test "$(jq -r 'select(.target == "two.sp.test:'$PORT'") | .address' "$SP_TMP/names.json" | grep -cE '^10\.78\.250\.[12]$')" -eq 1
check "names: the run waited for the hung name (at least $((HANG_S - 1)) s: $t_ms ms)" \
	test $t_ms -ge $(((HANG_S - 1) * 1000))
check_timing "names: the hung name (first in the file) stalled no other: its result is the last" \
	"the $N lookups may take longer than the ${HANG_S} s hang" \
	test "$(tail -n 1 "$SP_TMP/names.json" | jq -r .target)" = "hung.hang.test:$PORT"
check "names: the summary counts $((N + 1)) open and 2 errors" \
	grep -qE "^synprobe: $((N + 3)) checks: $((N + 1)) open, 0 closed, 0 unreachable, 0 timeout, 2 error;" "$SP_TMP/names.err"
diag "resolution: $N names in $t_ms ms, the $HANG_S s hang included"

# --- -A and -6 ---
printf 'two.sp.test:%s\nname1.sp.test:%s\n' $PORT $PORT >"$SP_TMP/all.txt"
in_c "$SYNPROBE" check -A -f "$SP_TMP/all.txt" --json -t 2s >"$SP_TMP/all.json" 2>"$SP_TMP/all.err"
rc=$?
check "-A: exit 0, both addresses of two.sp.test and one of name1 (rc $rc)" eval \
	'[ $rc -eq 0 ] && [ "$(jq -r "select(.target == \"two.sp.test:$PORT\") | .address" "$SP_TMP/all.json" | sort | tr "\n" " ")" = "10.78.250.1 10.78.250.2 " ] &&
	 [ "$(jq -r "select(.target == \"name1.sp.test:$PORT\") | .address" "$SP_TMP/all.json")" = 10.78.1.2 ]'
in_c "$SYNPROBE" check -6 -f "$SP_TMP/all.txt" --json -t 2s >"$SP_TMP/v6.json" 2>"$SP_TMP/v6.err"
rc=$?
check "-6: names with IPv4 only give an error result each, exit 1 (rc $rc)" eval \
	'[ $rc -eq 1 ] && [ "$(jq -r "select(.outcome == \"error\" and .address == null) | .target" "$SP_TMP/v6.json" | wc -l)" -eq 2 ]'

# --- a bad line: reported with FILE:LINE, the rest checked, exit 2 ---
printf '%s:%s\nbad line here\n%s:%s\n' $S4 $PORT $S4 $PORT >"$SP_TMP/bad.txt"
in_c "$SYNPROBE" check -f "$SP_TMP/bad.txt" -t 2s >"$SP_TMP/bad.out" 2>"$SP_TMP/bad.err"
rc=$?
check "bad line: exit 2, 'Error: FILE:2:', both good lines checked (rc $rc)" eval \
	'[ $rc -eq 2 ] && grep -qF "Error: $SP_TMP/bad.txt:2: " "$SP_TMP/bad.err" && [ "$(grep -c " open " "$SP_TMP/bad.out")" -eq 2 ] &&
	 grep -q "1 bad lines skipped" "$SP_TMP/bad.err"'

# --- -f - on a pipe that stays open: the first result comes before the pipe ends ---
mkfifo "$SP_TMP/fifo"
# ip netns exec, not in_c: $! must be synprobe (lib.sh, by in_c); the names need its resolv.conf.
ip netns exec "$NS_C" "$SYNPROBE" check -f - --json -t 2s <"$SP_TMP/fifo" >"$SP_TMP/pipe.json" \
	2>"$SP_TMP/pipe.err" &
pipe_pid=$!
SP_PIDS+=("$pipe_pid")
exec 7>"$SP_TMP/fifo"
echo "$S4:$PORT" >&7
one_result() { [ "$(wc -l <"$SP_TMP/pipe.json")" -ge 1 ]; }
check "-f -: a result while the pipe is still open" wait_until "$(sp_slow 5)" one_result
echo "name5.sp.test:$PORT" >&7
two_results() { [ "$(wc -l <"$SP_TMP/pipe.json")" -ge 2 ]; }
check "-f -: a second line's result while the pipe is still open" wait_until "$(sp_slow 5)" two_results
exec 7>&-
wait "$pipe_pid"
rc=$?
check "-f -: the pipe closed, exit 0 with two open results (rc $rc)" eval \
	'[ $rc -eq 0 ] && [ "$(jq -r .outcome "$SP_TMP/pipe.json" | grep -c open)" -eq 2 ]'

# --- an endless stream, busy all the time, ends on SIGINT: at once, with its summary ---
# (ip netns exec, not in_c: a function in a pipeline is a subshell, and $! must be synprobe)
yes "$S4:$PORT" | ip netns exec "$NS_C" "$SYNPROBE" check -f - -c 500 --per-target 500 --json -t 1s \
	>"$SP_TMP/endless.json" 2>"$SP_TMP/endless.err" &
endless=$!
SP_PIDS+=("$endless")
many_results() { [ "$(wc -l <"$SP_TMP/endless.json")" -ge 2000 ]; }
check "endless stream: results flow" wait_until "$(sp_slow 10)" many_results
t0=$(date +%s%N)
kill -INT "$endless"
wait "$endless"
rc=$?
t_ms=$((($(date +%s%N) - t0) / 1000000))
diag "endless stream: $(grep -E '^synprobe: [0-9]+ checks' "$SP_TMP/endless.err")"
check "endless stream: SIGINT ends it in $t_ms ms (at most $(sp_slow 2000)), exit 1 (rc $rc)" \
	eval '[ $rc -eq 1 ] && [ $t_ms -le $(sp_slow 2000) ]'
check "endless stream: the summary is printed, no error" eval \
	'grep -qE "^synprobe: [0-9]+ checks: [0-9]+ open, 0 closed" "$SP_TMP/endless.err" && ! grep -q "^Error" "$SP_TMP/endless.err"'
check "endless stream: nothing left attached" sp_no_bpf_left

# --- the progress line ---
# 300 checks of a port whose SYNs are dropped, 100 at a time, 1 s each: about 3 s.
for ((i = 0; i < 300; i++)); do echo "$S4:$DROPPED"; done >"$SP_TMP/slow.txt"
slow_cmd="$SYNPROBE check -f $SP_TMP/slow.txt -c 100 --per-target 100 -t 1s --json"
in_c "$SYNPROBE" check -f "$SP_TMP/slow.txt" -c 100 --per-target 100 -t 1s --json >"$SP_TMP/plain.out" 2>"$SP_TMP/plain.err"
check "progress: nothing when stderr is not a terminal (stderr is the summary only)" eval \
	'[ "$(wc -l <"$SP_TMP/plain.err")" -eq 1 ] && ! grep -q $'"'"'\r'"'"' "$SP_TMP/plain.err" && grep -q "^synprobe: 300 checks" "$SP_TMP/plain.err"'
check "progress: nothing on stdout" eval '! grep -q "in flight" "$SP_TMP/plain.out"'
t0=$(date +%s%N)
in_c script -q -e -c "$slow_cmd >$SP_TMP/tty.out" "$SP_TMP/tty.log" >/dev/null 2>&1
t_ms=$((($(date +%s%N) - t0) / 1000000))
draws=$(grep -o $'\rsynprobe: [0-9]*/300 targets' "$SP_TMP/tty.log" | wc -l)
diag "progress: $draws status lines in $t_ms ms; the last: $(tr '\r' '\n' <"$SP_TMP/tty.log" | grep 'in flight' | tail -n 1)"
check "progress: on a terminal, a status line was drawn ($draws)" test "$draws" -ge 2
check "progress: at most 4 a second ($draws in $t_ms ms)" test "$draws" -le $((t_ms * 4 / 1000 + 1))
check "progress: the status line has the counts and an ETA (a regular file)" \
	grep -qE $'\rsynprobe: [0-9]+/300 targets \\([0-9]+%\\), [0-9]+ in flight, [0-9]+ checks/s: 0 open, 0 closed, 0 unreachable, [0-9]+ timeout, 0 error, ETA [0-9]' "$SP_TMP/tty.log"
check "progress: the results still all went to stdout (300 JSON lines)" test "$(wc -l <"$SP_TMP/tty.out")" -eq 300
check "progress: cleared before the summary" grep -q $'\r\e\\[Ksynprobe: 300 checks' "$SP_TMP/tty.log"
in_c script -q -e -c "$slow_cmd -q >$SP_TMP/ttyq.out" "$SP_TMP/ttyq.log" >/dev/null 2>&1
check "progress: nothing with -q" eval '! grep -q "in flight" "$SP_TMP/ttyq.log"'

check "the listener accepted nothing" test "$(sp_accepted srv "$srv")" = 0
check "nothing left attached" sp_no_bpf_left
sp_finish
