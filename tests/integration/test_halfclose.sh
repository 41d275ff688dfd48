#!/usr/bin/env bash
# synprobe halfclose between two namespaces, over IPv4 and IPv6: our server streaming 48 MiB at
# 20 MB/s and our client with a 1 s write timeout (honoured, every byte); a server that closes when
# it reads EOF (not honoured); socat as a real third-party relay in between, with a short and a long
# half-close timeout (-t). JSON verdict and log lines. Then, without --expect-bytes, send buffers up
# to 256 MB (tcp_wmem; 256 MB only on an emulated CPU) at full speed and paced: a server that
# closes on EOF is never "honoured" (what it had queued still arrives after our FIN), one that
# keeps sending is. Nothing left attached.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
# The client's receive buffer grows up to tcp_rmem's maximum, and without --expect-bytes that is
# part of what the peer may have had in flight before our FIN. A new namespace inherits the
# host's (32 MiB on some machines): Debian's default (6 MiB) keeps the bound the same everywhere.
in_c sysctl -qw net.ipv4.tcp_rmem="4096 131072 6291456" || not_ok "tcp_rmem in the client's namespace"

# nsenter execs in place ('ip netns exec' forks): $! is the command itself, signals reach it.
IN_S=(nsenter --net="/run/netns/$NS_S")
diag_lines() { sed 's/^/# /' <<<"$1"; }
# At 20 MB/s, 1 s before our FIN and about 28 MB after it: well above the bound of 8 MiB
# (--peer-buffer) plus at most 6 MiB of our receive buffer.
SIZE=48M SIZE_B=$((48 << 20)) RATE=20M
# fixture.py HOST PORT MODE RATE AFTER SIZE: streams to each client in turn, RATE bytes/s (0: full
# speed), at most SIZE bytes (0: no limit) and 60 s. On the client's EOF, MODE close closes at once;
# MODE keep streams on AFTER seconds, then closes.
FX=$SP_TMP/fixture.py
cat >"$FX" <<'PY'
import socket, select, sys, time
host, port, mode = sys.argv[1].strip("[]"), int(sys.argv[2]), sys.argv[3]
rate, after, size = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
s = socket.create_server((host, port), reuse_port=True,
                         family=socket.AF_INET6 if ":" in host else socket.AF_INET)
print("listening", flush=True)
chunk = b"x" * 16384
while True:
    c, _ = s.accept(); c.setblocking(False); sent = 0; t0 = time.monotonic(); eof_at = None
    while (not size or sent < size) and time.monotonic() - t0 < 60:
        now = time.monotonic()
        if eof_at is not None and (mode == "close" or now - eof_at >= after):
            break
        w = [c] if not rate or sent < (now - t0) * rate else []
        r, w, _ = select.select([c] if eof_at is None else [], w, [], 0.002)
        if r and c.recv(4096) == b"":
            eof_at = now
        elif w:
            try:
                sent += c.send(chunk)
            except BlockingIOError:
                pass
    c.close()
PY
SERVERS=()
SRV=4000 FIXTURE=4001 RELAY_CLOSE=4002 RELAY=4003 CLOSE_FULL=4004 KEEP_FULL=4005

for fam in 4 6; do
	if [ $fam = 4 ]; then host=$S4 socat_l=TCP-LISTEN socat_c=TCP
	else host="[$S6]" socat_l=TCP6-LISTEN socat_c=TCP6; fi
	"${IN_S[@]}" "$SYNPROBE" halfclose server --listen "$host:$SRV" --size $SIZE --rate $RATE \
		--chunk 16k >"$SP_TMP/server$fam.log" 2>&1 &
	SP_PIDS+=($!)
	SERVERS+=($!)
	check "IPv$fam server starts" wait_until 5 grep -q '"msg":"start the server"' "$SP_TMP/server$fam.log"

	# The fixture: streams 20 MiB at 10 MB/s and closes the connection as soon as it reads EOF.
	"${IN_S[@]}" python3 "$FX" "$host" $FIXTURE close 10e6 0 $((20 << 20)) >"$SP_TMP/fixture$fam.log" 2>&1 &
	SP_PIDS+=($!)
	check "IPv$fam fixture starts" wait_until 5 grep -q listening "$SP_TMP/fixture$fam.log"

	if command -v socat >/dev/null; then
		# Relaying the half-close (shutdown, the default) or closing on it (shut-close).
		"${IN_S[@]}" socat -t 30 $socat_l:$RELAY,bind="$host",reuseaddr $socat_c:"$host:$SRV" 2>>"$SP_TMP/socat.log" &
		SP_PIDS+=($!)
		"${IN_S[@]}" socat $socat_l:$RELAY_CLOSE,bind="$host",reuseaddr $socat_c:"$host:$SRV",shut-close 2>>"$SP_TMP/socat.log" &
		SP_PIDS+=($!)
		# socat says nothing when it listens: its sockets, seen from the namespace, do.
		check "IPv$fam socat relays listen" wait_until 5 eval \
			'in_s ss -Htln "sport = :$RELAY or sport = :$RELAY_CLOSE" | grep -c "${host//[][]/}" | grep -qx 2'
	fi
done

client() { # SERVER_ADDRESS ARGS...: runs the client, sets out and rc
	local server=$1
	shift
	out=$(in_c "$SYNPROBE" halfclose client --server "$server" --write-timeout 1s \
		--read-timeout 20s "$@" 2>"$SP_TMP/client.log")
	rc=$?
	diag_lines "$out"
}

for fam in 4 6; do
	if [ $fam = 4 ]; then host=$S4; else host="[$S6]"; fi
	v=IPv$fam
	re_srv=$(sed 's/[].[]/\\&/g' <<<"$host:$SRV")

	# 1. Our server: honoured, every byte.
	client "$host:$SRV" --expect-bytes $SIZE
	check "$v our server: exit 0" [ $rc -eq 0 ]
	check "$v our server: verdict honoured, $SIZE_B bytes read" \
		grep -qE "^half-close honoured: $SIZE_B bytes read \(all expected\), [0-9]+ of them after our FIN" <<<"$out"
	after=$(sed -nE 's/.* ([0-9]+) after our FIN$/\1/p' <<<"$out")
	check "$v our server: several MB came after our FIN ($after bytes)" [ "${after:-0}" -gt $((1 << 20)) ]
	check "$v our server: the FINs' times, ours at about 1 s" grep -qE "^  our FIN out at \+1\.0[0-9]+ s, the peer's FIN in at \+[0-9.]+ s" <<<"$out"
	check "$v client log lines: write timeout then EOF with the total" \
		grep -qE "\"msg\":\"got EOF\",\"client\":\{\"server\":\"$re_srv\",\"total\":$SIZE_B\}" "$SP_TMP/client.log"
	check "$v server log: EOF from the client, then the whole stream" \
		wait_until 3 grep -q "\"msg\":\"finish streaming with chunk\",\"server\":{\"client\":\"[^\"]*\",\"size\":$SIZE_B}" "$SP_TMP/server$fam.log"
	check "$v server log: it read the client's EOF and streamed on" grep -q '"got EOF from the client, still streaming"' "$SP_TMP/server$fam.log"

	# Same without --expect-bytes, and as JSON.
	client "$host:$SRV" --json
	check "$v our server, JSON: honoured, bytes_read $SIZE_B" \
		grep -qE "^\{\"server\":\"$re_srv\",\"verdict\":\"honoured\",\"reason\":\"[^\"]+\",\"bytes_read\":$SIZE_B,\"bytes_after_fin\":[0-9]+,\"expect_bytes\":null,\"fin_out_ns\":[0-9]+,\"fin_in_ns\":[0-9]+,\"rst_in\":false,\"eof\":true,\"queue_bound_bytes\":[0-9]+\}$" <<<"$out"

	# 2. A server that closes when it reads EOF.
	client "$host:$FIXTURE" --expect-bytes $SIZE
	check "$v close-on-EOF server: exit 1" [ $rc -eq 1 ]
	check "$v close-on-EOF server: verdict not honoured" \
		grep -qE "^half-close not honoured: the peer closed after our FIN with [0-9]+ of $SIZE_B bytes sent" <<<"$out"
	client "$host:$FIXTURE"
	check "$v close-on-EOF server, size unknown: exit 1, not honoured or inconclusive" \
		eval '[ $rc -eq 1 ] && grep -qE "^(half-close not honoured|inconclusive): " <<<"$out"' 

	# 3. socat in between: by default it passes our FIN on as a shutdown and relays the rest of
	# the stream; with shut-close on the server side it closes that connection instead, ending both.
	if command -v socat >/dev/null; then
		client "$host:$RELAY_CLOSE" --expect-bytes $SIZE
		check "$v socat shut-close: verdict not honoured" grep -q "^half-close not honoured: the peer closed after our FIN" <<<"$out"
		client "$host:$RELAY" --expect-bytes $SIZE
		check "$v socat (shutdown): verdict honoured, every byte" grep -q "^half-close honoured: $SIZE_B bytes read" <<<"$out"
	else
		skip "$v socat relay" "socat is not installed (scripts/install-deps.sh)"
	fi
done

# Without --expect-bytes, large send buffers in the server's namespace, at full speed and paced:
# closing on EOF never reads "honoured", streaming on does.
"${IN_S[@]}" python3 "$FX" $S4 $CLOSE_FULL close 0 0 0 >"$SP_TMP/close_full.log" 2>&1 &
SP_PIDS+=($!)
"${IN_S[@]}" python3 "$FX" $S4 $KEEP_FULL keep 0 1 0 >"$SP_TMP/keep_full.log" 2>&1 &
SP_PIDS+=($!)
check "full-speed fixtures listen" wait_until 5 eval 'grep -qs listening "$SP_TMP/close_full.log" && grep -qs listening "$SP_TMP/keep_full.log"'
verdict() { sed -nE 's/^\{.*"verdict":"([a-z_]+)".*"bytes_after_fin":([0-9]+).*"queue_bound_bytes":([0-9]+).*/\1 (\2 bytes after our FIN, bound \3)/p' <<<"$out"; }
# On an emulated CPU, the largest buffer (the one the checks after the sweep use too) once: the
# kernel's send-buffer autotuning is the same code at every size, and each run streams at full
# speed on a CPU 5-20x slower. The host sweeps all four, twice.
WMEMS="4194304 16777216 67108864 268435456" RUNS="1 2"
sp_emulated && WMEMS=268435456 RUNS=1
for wmem in $WMEMS; do
	in_s sysctl -qw net.ipv4.tcp_wmem="4096 16384 $wmem" || not_ok "tcp_wmem $wmem in the server's namespace"
	for run in $RUNS; do
		client $S4:$CLOSE_FULL --write-timeout 300ms --json
		check "tcp_wmem $wmem, full speed, closes on EOF (run $run): not honoured: $(verdict)" \
			eval '[ $rc -eq 1 ] && grep -qE "\"verdict\":\"(not_honoured|inconclusive)\"" <<<"$out"'
	done
done
client $S4:$FIXTURE --json
check "tcp_wmem 268435456, paced at 10 MB/s, closes on EOF: not honoured: $(verdict)" \
	eval '[ $rc -eq 1 ] && grep -qE "\"verdict\":\"(not_honoured|inconclusive)\"" <<<"$out"'
client $S4:$KEEP_FULL --write-timeout 300ms --json
check "tcp_wmem 268435456, full speed, streams 1 s after EOF: honoured: $(verdict)" \
	eval '[ $rc -eq 0 ] && grep -q "\"verdict\":\"honoured\"" <<<"$out"'
client $S4:$SRV --json
check "tcp_wmem 268435456, our server paced at $RATE/s, streams on after EOF: honoured: $(verdict)" \
	eval '[ $rc -eq 0 ] && grep -q "\"verdict\":\"honoured\"" <<<"$out"'

# Our servers stop on SIGTERM, freeing everything: under make test SANITIZE=1, nothing reported
# by ASan, LSan (at exit) or UBSan, in their logs or the client's.
kill -TERM "${SERVERS[@]}"
for pid in "${SERVERS[@]}"; do wait "$pid"; done
check "no sanitizer report in the servers' and client's logs" \
	eval '! grep -hE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$SP_TMP"/server*.log "$SP_TMP/client.log"'

# Bad input: one line, exit 2.
out=$(in_c "$SYNPROBE" halfclose client --write-timeout soon 2>&1)
check "bad --write-timeout: exit 2, one line" test $? -eq 2 -a "$(wc -l <<<"$out")" -eq 1
# In this test's namespaces only: other synprobe runs on the machine are not this test's.
check "nothing left attached after the runs" sp_no_bpf_left
sp_finish
