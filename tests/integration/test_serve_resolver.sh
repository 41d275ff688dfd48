#!/usr/bin/env bash
# serve resolves names off its event loop (issue 10, item 6): with one check's name hanging in
# DNS (a nameserver in the test's own server namespace that drops every query, 2 s timeout),
# another check configured at 200 ms still runs at its own interval, the hung check reports its
# resolver error, and SIGTERM exits within a second while the lookup hangs.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "serve's resolver threads against a hung DNS server"
command -v curl >/dev/null || { skip "serve resolver" "curl is not installed (scripts/install-deps.sh)"; exit 0; }
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=18400 HTTP=127.0.0.1:19125
STOP_MS=1000
sp_emulated && STOP_MS=3000
# DNS for names not in the hosts file goes to the server namespace, which drops it.
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$S4" >"/etc/netns/$NS_C/resolv.conf"
in_s nft -f - <<NFT || not_ok "nft rule dropping DNS"
table inet spdns {
	chain input {
		type filter hook input priority 0;
		udp dport 53 drop
		tcp dport 53 drop
	}
}
NFT
sp_listen srv $S4 $PORT || { not_ok "listener"; sp_finish; }
srv=$LISTEN_PID

cat >"$SP_TMP/serve.yaml" <<YAML
defaults: {interval: 200ms, timeout: 100ms}
checks:
  - {name: fast, target: "$S4:$PORT"}
  - {name: hung, target: "hangs.invalid-test:$PORT", interval: 1s, timeout: 500ms}
YAML
ip netns exec "$NS_C" "$SYNPROBE" serve -c "$SP_TMP/serve.yaml" --listen $HTTP --no-pin \
	--log-level debug 2>"$SP_TMP/serve.log" &
serve=$!
SP_PIDS+=("$serve")
get() { in_c curl -sf --max-time 5 "http://$HTTP$1"; }
check "serve answers" wait_until 10 eval 'get /healthz >/dev/null'

# checks_total of check NAME over every outcome.
total() { get /metrics | awk -v c="check=\"$1\"" 'index($0, "synprobe_checks_total{") == 1 && index($0, c) { n += $NF } END { print n + 0 }'; }
t0=$(total fast)
start=$SECONDS
hung_counted() { [ "$(total hung)" -ge 1 ]; }
wait_until 10 hung_counted
t1=$(total fast)
check "the hung name's check ends in a resolver error" \
	grep -q '"check":"hung".*"error":"[^"]*hangs.invalid-test' "$SP_TMP/serve.log"
# While the name hangs 2 s, the fast check runs every 200 ms (about 10 times; the old loop, which
# waited for the resolver, ran it once or twice).
check "the fast check ran $((t1 - t0)) times in the $((SECONDS - start)) s the other name hung: at least 5" \
	test $((t1 - t0)) -ge 5

# SIGTERM while a lookup hangs: serve exits at once, not when the resolver gives up.
wait_until 5 grep -q '"check":"hung"' "$SP_TMP/serve.log"
t_start=$(date +%s%N)
kill -TERM "$serve"
wait "$serve"
rc=$?
elapsed_ms=$((($(date +%s%N) - t_start) / 1000000))
check "SIGTERM: exit 0" test "$rc" -eq 0
check "SIGTERM: exited in $elapsed_ms ms, within $STOP_MS ms" test "$elapsed_ms" -le "$STOP_MS"
check "the listener accepted nothing" test "$(sp_accepted srv "$srv")" = 0
check "nothing left attached" sp_no_bpf_left
sp_finish
