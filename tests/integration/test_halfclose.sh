#!/usr/bin/env bash
# synprobe halfclose between two namespaces: our server streaming 20 MiB and our client with a
# 1 s write timeout (honoured, every byte); a server that closes when it reads EOF (not
# honoured); socat as a real third-party relay in between, with a short and a long half-close
# timeout (-t). JSON verdict and log lines. Nothing left attached.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

# nsenter execs in place ('ip netns exec' forks): $! is the command itself, signals reach it.
IN_S=(nsenter --net="/run/netns/$NS_S")
diag_lines() { sed 's/^/# /' <<<"$1"; }
SIZE=20M SIZE_B=$((20 << 20)) RATE=10M
SRV=4000 FIXTURE=4001 RELAY_CLOSE=4002 RELAY=4003

"${IN_S[@]}" "$SYNPROBE" halfclose server --listen $S4:$SRV --size $SIZE --rate $RATE --chunk 16k \
	>"$SP_TMP/server.log" 2>&1 &
SP_PIDS+=($!)
check "server starts" wait_until 5 grep -q '"msg":"start the server"' "$SP_TMP/server.log"

# The fixture: streams at 10 MB/s and closes the connection as soon as it reads EOF.
"${IN_S[@]}" python3 -c '
import socket, select, sys, time
s = socket.create_server((sys.argv[1], int(sys.argv[2])), reuse_port=True)
print("listening", flush=True)
c, _ = s.accept(); c.setblocking(False); sent = 0; t0 = time.monotonic(); chunk = b"x" * 16384
while sent < 20 << 20:
    w = [c] if sent < (time.monotonic() - t0) * 10e6 else []
    r, w, _ = select.select([c], w, [], 0.005)
    if r and c.recv(4096) == b"":
        break
    if w:
        sent += c.send(chunk)
c.close()
' $S4 $FIXTURE >"$SP_TMP/fixture.log" 2>&1 &
SP_PIDS+=($!)
check "fixture starts" wait_until 5 grep -q listening "$SP_TMP/fixture.log"

if command -v socat >/dev/null; then
	# Relaying the half-close (shutdown, the default) or closing on it (shut-close).
	"${IN_S[@]}" socat -t 30 TCP-LISTEN:$RELAY,bind=$S4,reuseaddr TCP:$S4:$SRV 2>>"$SP_TMP/socat.log" &
	SP_PIDS+=($!)
	"${IN_S[@]}" socat TCP-LISTEN:$RELAY_CLOSE,bind=$S4,reuseaddr TCP:$S4:$SRV,shut-close 2>>"$SP_TMP/socat.log" &
	SP_PIDS+=($!)
fi

client() { # PORT ARGS...: runs the client, sets out and rc
	local port=$1
	shift
	out=$(in_c "$SYNPROBE" halfclose client --server $S4:"$port" --write-timeout 1s \
		--read-timeout 20s "$@" 2>"$SP_TMP/client.log")
	rc=$?
	diag_lines "$out"
}

# 1. Our server: honoured, every byte.
client $SRV --expect-bytes $SIZE
check "our server: exit 0" [ $rc -eq 0 ]
check "our server: verdict honoured, $SIZE_B bytes read" \
	grep -qE "^half-close honoured: $SIZE_B bytes read \(all expected\), [0-9]+ of them after our FIN" <<<"$out"
after=$(sed -nE 's/.* ([0-9]+) after our FIN$/\1/p' <<<"$out")
check "our server: several MB came after our FIN ($after bytes)" [ "${after:-0}" -gt $((1 << 20)) ]
check "our server: the FINs' times, ours at about 1 s" grep -qE "^  our FIN out at \+1\.0[0-9]+ s, the peer's FIN in at \+[0-9.]+ s" <<<"$out"
check "client log lines: write timeout then EOF with the total" \
	grep -q "\"msg\":\"got EOF\",\"client\":{\"server\":\"$S4:$SRV\",\"total\":$SIZE_B}" "$SP_TMP/client.log"
check "server log: EOF from the client, then the whole stream" \
	wait_until 3 grep -q "\"msg\":\"finish streaming with chunk\",\"server\":{\"client\":\"[^\"]*\",\"size\":$SIZE_B}" "$SP_TMP/server.log"
check "server log: it read the client's EOF and streamed on" grep -q '"got EOF from the client, still streaming"' "$SP_TMP/server.log"

# Same without --expect-bytes, and as JSON.
client $SRV --json
check "our server, JSON: honoured, bytes_read $SIZE_B" \
	grep -qE "^\{\"server\":\"$S4:$SRV\",\"verdict\":\"honoured\",\"reason\":\"[^\"]+\",\"bytes_read\":$SIZE_B,\"bytes_after_fin\":[0-9]+,\"expect_bytes\":null,\"fin_out_ns\":[0-9]+,\"fin_in_ns\":[0-9]+,\"rst_in\":false,\"eof\":true\}$" <<<"$out"

# 2. A server that closes when it reads EOF.
client $FIXTURE --expect-bytes $SIZE
check "close-on-EOF server: exit 1" [ $rc -eq 1 ]
check "close-on-EOF server: verdict not honoured" \
	grep -qE "^half-close not honoured: the peer closed after our FIN with [0-9]+ of $SIZE_B bytes sent" <<<"$out"

# 3. socat in between: by default it passes our FIN on as a shutdown and relays the rest of the
# stream; with shut-close on the server side it closes that connection instead, ending both.
if command -v socat >/dev/null; then
	client $RELAY_CLOSE --expect-bytes $SIZE
	check "socat shut-close: verdict not honoured" grep -q "^half-close not honoured: the peer closed after our FIN" <<<"$out"
	client $RELAY --expect-bytes $SIZE
	check "socat (shutdown): verdict honoured, every byte" grep -q "^half-close honoured: $SIZE_B bytes read" <<<"$out"
else
	skip "socat relay" "socat is not installed (scripts/install-deps.sh)"
fi

# Bad input: one line, exit 2.
out=$(in_c "$SYNPROBE" halfclose client --write-timeout soon 2>&1)
check "bad --write-timeout: exit 2, one line" test $? -eq 2 -a "$(wc -l <<<"$out")" -eq 1
check "nothing left attached after the runs" \
	bash -c "! bpftool prog show 2>/dev/null | grep -qE 'name sp_conn_(ingress|egress)'"
sp_finish
