#!/usr/bin/env bash
# synprobe serve's HTTP endpoint against hostile clients, in a namespace:
# - /probe with a target that does not parse and is too long (once a stack write), a long target
#   that parses (once another request's stale message), control characters: each a one-line 400;
# - 64 /probe requests hanging on a port that drops SYNs and 64 idle connections: /metrics and
#   /healthz still answered within 2 s, the /probe requests beyond the cap answered 429 at once;
# - requests with a body (GET with Content-Length, chunked, a body announced and never sent, POST):
#   answered 413 or 405 at once;
# - SIGTERM with every probe pending: exit 0 within a few seconds, the pending ones answered 503.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "serve's HTTP limits and request handling"
sp_require_tools curl nft
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=8080 FILTERED=8082 HOST=127.0.0.1 HPORT=9123
HTTP=$HOST:$HPORT CFG=$SP_TMP/serve.yaml LOG=$SP_TMP/serve.log
N_HANG=64 N_IDLE=64 PER_CLIENT=32 # PER_CLIENT: serve's default --probe-max-per-client
# nsenter execs in place ('ip netns exec' forks): $! is the command itself, signals reach it.
IN_C=(nsenter --net="/run/netns/$NS_C")

in_s nft -f - <<NFT || not_ok "nft drops SYNs to $FILTERED"
table inet sp_filter {
	chain input { type filter hook input priority 0; tcp dport $FILTERED drop; }
}
NFT
cat >"$CFG" <<YAML
defaults:
  interval: 1s
  timeout: 200ms
checks:
  - name: web
    target: $S4:$PORT
YAML
sp_listen srv $S4 $PORT || not_ok "listener on $S4"
"${IN_C[@]}" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --no-pin 2>"$LOG" &
SERVE_PID=$!
SP_PIDS+=("$SERVE_PID")

# code_of URL [CURL ARGS...]: the HTTP status (000: no answer within 2 s); the body in $SP_TMP/body.
code_of() {
	local url=$1
	shift
	in_c curl -s --max-time 2 -o "$SP_TMP/body" -w '%{http_code}' "$@" "http://$HTTP$url"
}
body() { cat "$SP_TMP/body"; }
one_line() { [ "$(wc -l <"$SP_TMP/body")" -eq 1 ] && [ "$(tail -c 1 "$SP_TMP/body" | od -An -c | tr -d ' ')" = '\n' ]; }
healthy() { [ "$(code_of /healthz)" = 200 ] && [ "$(body)" = ok ]; }
check "serve answers /healthz" wait_until 10 healthy

# 1. Bad /probe targets: each a one-line 400 that says what is wrong; serve lives on.
long_a=$(printf 'a%.0s' $(seq 400))
code=$(code_of "/probe?target=%5B$long_a")
diag "$(head -c 200 "$SP_TMP/body")"
check "/probe?target=[ + 400 a: 400 (got $code)" [ "$code" = 400 ]
check "... one line naming the parameter and the limit of 271 characters" \
	eval 'one_line && grep -qx "target parameter is longer than 271 characters: give host:port or \[ipv6\]:port" "$SP_TMP/body"'
check "... serve still answers /healthz" healthy
# 250 characters: short enough, its parse error echoes it whole.
mid_a=$(printf 'a%.0s' $(seq 250))
code=$(code_of "/probe?target=%5B$mid_a")
check "/probe?target=[ + 250 a: 400 (got $code)" [ "$code" = 400 ]
check "... one line: missing ']'" eval 'one_line && grep -qE "^target .\[a{250}.: missing .\]. after the IPv6 address" "$SP_TMP/body"'
# A long target that parses (leading zeros in the port): once answered with a stale message.
zeros=$(printf '0%.0s' $(seq 300))
code=$(code_of "/probe?target=server4.test:${zeros}80")
check "/probe of a 314-character target that parses: 400 (got $code)" [ "$code" = 400 ]
check "... its own one-line message, no other request's" \
	eval 'one_line && grep -qx "target parameter is longer than 271 characters: give host:port or \[ipv6\]:port" "$SP_TMP/body"'
code=$(code_of "/probe?target=a%0Ab%0D%0Ac")
check "/probe with a newline in the target: 400, one line ($(tr '\n' '|' <"$SP_TMP/body"))" \
	eval '[ "$code" = 400 ] && one_line'
code=$(code_of "/probe?target=$S4:$PORT&timeout=$long_a")
check "/probe with a 400-character timeout: 400, one line, cut" \
	eval '[ "$code" = 400 ] && one_line && grep -qE "^timeout parameter .a{64}\.\.\..: give a duration" "$SP_TMP/body"'
code=$(code_of "/probe")
check "/probe without target: 400, one line" eval '[ "$code" = 400 ] && one_line && grep -q "target parameter is missing" "$SP_TMP/body"'
code=$(code_of "/probe?target=$S4:$PORT&timeout=500ms")
check "/probe of the open port still works: 200, probe_success 1" eval '[ "$code" = 200 ] && grep -qx "probe_success 1" "$SP_TMP/body"'
check "serve is alive after the bad requests" kill -0 "$SERVE_PID"

# A probe that outlasts the idle timeout (5 s) is answered all the same: checked at the end.
"${IN_C[@]}" curl -s --max-time 15 --interface 127.0.0.3 -o "$SP_TMP/slow.body" -w '%{http_code}\n' \
	"http://$HTTP/probe?target=$S4:$FILTERED&timeout=6s" >"$SP_TMP/slow.code" 2>&1 &
SP_PIDS+=($!)

# 2. Requests with a body: answered from their headers, at once.
code=$(code_of /metrics -X GET --data-binary hello)
check "GET with a Content-Length body: 413 (got $code)" eval '[ "$code" = 413 ] && one_line'
code=$(code_of /metrics -X GET -H 'Transfer-Encoding: chunked' --data-binary hello)
check "GET with a chunked body: 413 (got $code)" [ "$code" = 413 ]
code=$(code_of /metrics --data-binary hello)
check "POST with a body: 405 (got $code)" eval '[ "$code" = 405 ] && one_line'
code=$(code_of /probe -X POST)
check "POST without a body: 405 (got $code)" [ "$code" = 405 ]
code=$(code_of /metrics -X PUT -H 'Expect: 100-continue' --data-binary "@$SYNPROBE")
check "PUT of a large body with Expect: 100-continue: 405 (got $code)" [ "$code" = 405 ]
# A body announced and never sent: the answer must not wait for it.
raw=$(in_c timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$HPORT
	printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' >&3
	head -n 1 <&3")
check "GET announcing a 100000-byte body, none sent: 413 at once ($raw)" grep -q '^HTTP/1.1 413' <<<"$raw"
check "/metrics after the bodies: 200" eval '[ "$(code_of /metrics)" = 200 ]'

# 3. 64 /probe requests that hang (SYNs dropped, timeout=60s) and 64 idle connections.
for i in $(seq $N_HANG); do
	"${IN_C[@]}" curl -s --max-time 70 -o /dev/null -w '%{http_code}\n' \
		"http://$HTTP/probe?target=$S4:$FILTERED&timeout=60s" >"$SP_TMP/hang.$i" 2>&1 &
	SP_PIDS+=($!)
done
# Holds N_IDLE connections that send nothing, until killed (or 60 s): sleep inherits them.
"${IN_C[@]}" bash -c "for i in \$(seq $N_IDLE); do exec {fd}<>/dev/tcp/$HOST/$HPORT || exit 1; done
	echo open; exec sleep 60" >"$SP_TMP/idle.out" 2>&1 &
IDLE_PID=$!
SP_PIDS+=("$IDLE_PID")
answered() { grep -lx "$1" "$SP_TMP"/hang.* 2>/dev/null | wc -l; }
# Starting 64 curl processes takes seconds on an emulated CPU: wait up to 20 s there, still well
# before the 60 s after which the hanging probes would be answered anyway.
AT_ONCE_S=5
sp_emulated && AT_ONCE_S=20
check "the idle connections are open" wait_until $AT_ONCE_S grep -qx open "$SP_TMP/idle.out"
check "$((N_HANG - PER_CLIENT)) of the $N_HANG hanging /probe answered 429 at once" \
	wait_until $AT_ONCE_S eval '[ "$(answered 429)" -eq $((N_HANG - PER_CLIENT)) ]'
# Every probe in flight has reached the main thread: one more is turned away.
code=$(code_of "/probe?target=$S4:$FILTERED&timeout=60s")
check "one more /probe from the same client: 429 (got $code)" eval '[ "$code" = 429 ] && grep -q "per-client" "$SP_TMP/body"'
check "the other $PER_CLIENT are still pending" [ "$(answered '[0-9]*')" -eq $((N_HANG - PER_CLIENT)) ]
# Five scrapes in a row, each answered within 2 s.
codes=() slowest=0
for i in 1 2 3 4 5; do
	start=$(date +%s%N)
	codes+=("$(code_of /metrics)")
	ms=$((($(date +%s%N) - start) / 1000000))
	[ $ms -gt $slowest ] && slowest=$ms
done
check "/metrics answered 5 times within 2 s with $PER_CLIENT probes hanging and $N_IDLE idle connections (${codes[*]}, slowest $slowest ms)" \
	[ "${codes[*]}" = "200 200 200 200 200" ]
check "/metrics: checks in flight counts the hanging probes" grep -qE "^synprobe_checks_in_flight ($PER_CLIENT|$((PER_CLIENT + 1)))$" "$SP_TMP/body"
check "/healthz answered too" healthy
code=$(code_of "/probe?target=$S4:$PORT&timeout=500ms" --interface 127.0.0.2)
check "a /probe from another client address is served meanwhile (got $code)" eval '[ "$code" = 200 ] && grep -qx "probe_success 1" "$SP_TMP/body"'
# The idle connections are closed after the idle timeout (5 s): the holder sees them closed.
check "idle connections closed by serve within 10 s" wait_until 10 eval \
	'[ "$(in_c ss -Htn state established "( dport = :$HPORT )" | wc -l)" -le $PER_CLIENT ]'

check "a 6 s /probe, longer than the idle timeout, answered 200 with probe_success 0" \
	wait_until 10 eval 'grep -qx 200 "$SP_TMP/slow.code" && grep -qx "probe_success 0" "$SP_TMP/slow.body"'

# 4. SIGTERM with the probes pending: they are answered 503, serve exits 0 promptly.
kill -TERM "$SERVE_PID"
check "SIGTERM with $PER_CLIENT probes pending: serve exits within 5 s" wait_until 5 eval '! kill -0 $SERVE_PID 2>/dev/null'
wait "$SERVE_PID"; rc=$?
check "... exit 0 (status $rc)" [ $rc -eq 0 ]
check "... the pending probes answered 503 ($(cat "$SP_TMP"/hang.* | sort | uniq -c | tr "\n" " "))" wait_until 5 eval '[ "$(answered 503)" -eq $PER_CLIENT ]'

# 5. The flags: a bad count is one line, exit 2; the global cap answers 503 with Retry-After.
out=$(in_c "$SYNPROBE" serve -c "$CFG" --no-pin --probe-max-concurrent 0 2>&1); rc=$?
check "--probe-max-concurrent 0: exit 2, one line ($out)" eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ]'
"${IN_C[@]}" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --no-pin --probe-max-concurrent 2 \
	--probe-max-per-client 1 2>"$LOG.2" &
SERVE_PID=$!
SP_PIDS+=("$SERVE_PID")
check "serve with --probe-max-concurrent 2 --probe-max-per-client 1 answers /healthz" wait_until 10 healthy
hang_from() { # ADDRESS: a /probe that hangs, from 127.0.0.ADDRESS
	"${IN_C[@]}" curl -s --max-time 70 --interface 127.0.0.$1 -o /dev/null -w '%{http_code}\n' \
		"http://$HTTP/probe?target=$S4:$FILTERED&timeout=60s" >"$SP_TMP/cap.$1" 2>&1 &
	SP_PIDS+=($!)
}
status_is() { [ "$(code_of "/probe?target=$S4:$PORT" --interface "127.0.0.$2" -D "$SP_TMP/headers")" = "$1" ]; }
hang_from 2
# in_flight N: N checks in flight (the config's check of the open port takes microseconds).
in_flight() { [ "$(code_of /metrics)" = 200 ] && grep -qx "synprobe_checks_in_flight $1" "$SP_TMP/body"; }
check "the hanging /probe is in flight" wait_until 5 in_flight 1
check "a second /probe from a client with one hanging: 429" status_is 429 2
check "... with Retry-After and the flag named" eval 'grep -qi "^Retry-After: 1" "$SP_TMP/headers" && one_line && grep -q -- "--probe-max-per-client" "$SP_TMP/body"'
check "another client's /probe meanwhile: 200" status_is 200 3
hang_from 3
check "two hanging /probe in flight" wait_until 5 in_flight 2
check "a third client while two probes hang: 503" status_is 503 4
check "... with Retry-After and the flag named" eval 'grep -qi "^Retry-After: 1" "$SP_TMP/headers" && one_line && grep -q -- "--probe-max-concurrent" "$SP_TMP/body"'
check "/metrics meanwhile: 200" eval '[ "$(code_of /metrics)" = 200 ]'
kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
check "SIGTERM: exit 0 (status $rc)" [ $rc -eq 0 ]
# Under make test SANITIZE=1: nothing reported by ASan, LSan (at exit) or UBSan.
check "no sanitizer report in serve's logs" eval '! grep -hE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$LOG" "$LOG.2"'
sp_finish
