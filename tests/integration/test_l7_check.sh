#!/usr/bin/env bash
# `synprobe check` and `ping` past the handshake (the l7 kind: --tls, --send/--expect,
# --proxy-protocol, --close), from the client namespace against servers in the server one:
# - openssl s_server with a leaf of our own CA: open, the leaf's notAfter and the chain's
#   earliest equal `openssl x509 -enddate` to the second, subject and issuer, and the TCP
#   handshake still timed by the tc programs (rtt_timing kernel, evidence bpf); IPv4 and IPv6;
# - wrong SNI, another CA: tls_error naming why (exit 1), with the version, cipher suite and
#   certificate still reported; a non-TLS server: tls_error, nothing reported; a TLS 1.2-only
#   server;
# - a server that accepts and hangs: timeout (not mismatch, not tls_error), naming the step or
#   the TLS phase;
# - banner servers that match (open) and that do not (mismatch); PROXY v2 checked by
#   sp_proxy_server's own parser;
# - the connection completes (sp_listen accepted 1; our ACK on the wire, let out by the egress
#   program) and ends with RST by default, FIN with --close fin;
# - the kernel rtt_ns of a TLS check within 50 us of a capture (as test_rtt.sh);
# - method connect runs the same kind (rtt_timing user-space); ping --tls (its human line:
#   tls=, tls_handshake=, first_byte=; a silent server's timeout counted as an error); bad options.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools openssl socat jq tcpdump
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
PROXY_SERVER=$SP_OUTPUT/tests/sp_proxy_server
TLS=8443 TLS12=8444 BANNER=2222 ECHO=7777 PROXY=9000 PLAIN=7000 SILENT=2224
D=$SP_TMP

sp_l7_certs || { not_ok "certificates made"; sp_finish; }
LEAF_NA=$(sp_cert_not_after "$D/leaf.pem") CA_NA=$(sp_cert_not_after "$D/ca.pem")
diag "leaf notAfter $LEAF_NA, CA notAfter $CA_NA"

listening() { [ "$(ip netns exec "$1" ss -Hltn "sport = :$2" | wc -l)" -ge "${3:-1}" ]; }
serve_bg() { ip netns exec "$NS_S" "$@" >>"$D/servers.log" 2>&1 & SP_PIDS+=($!); }

# s_server listens on one address (its [::] is IPv6 only): one per family.
for a in $S4 "[$S6]"; do
	serve_bg openssl s_server -quiet -www -accept "$a:$TLS" -cert "$D/leaf.pem" \
		-key "$D/leaf.key" -cert_chain "$D/ca.pem"
done
serve_bg openssl s_server -quiet -www -tls1_2 -accept "$S4:$TLS12" -cert "$D/leaf.pem" \
	-key "$D/leaf.key"
# The SSH banner comes from a file (socat -U ... OPEN): a SYSTEM: child's output could be lost
# when socat saw the child exit first (a 0-byte reply under load), and its \n was dropped.
printf 'SSH-2.0-sptest\r\n' >"$D/ssh.banner"
serve_bg socat -U "TCP6-LISTEN:$BANNER,ipv6only=0,reuseaddr,fork" OPEN:"$D/ssh.banner",rdonly
serve_bg socat "TCP6-LISTEN:$ECHO,ipv6only=0,reuseaddr,fork" EXEC:cat
serve_bg "$PROXY_SERVER" :: $PROXY
# Accepts, reads, says nothing (a hung server); it ends with the connection.
serve_bg socat "TCP-LISTEN:$SILENT,reuseaddr,fork" SYSTEM:'exec cat >/dev/null'
wait_until "$(sp_slow 10)" listening "$NS_S" $TLS 2 || not_ok "two servers listen on $TLS"
for p in $TLS12 $BANNER $ECHO $PROXY $SILENT; do
	wait_until "$(sp_slow 10)" listening "$NS_S" $p || not_ok "a server listens on $p"
done

T=$(sp_slow 3)s
# run NAME WANT_RC ARGS...: synprobe ARGS (check or ping) in the client namespace; JSON in $J.
run() {
	local name=$1 want=$2 rc
	shift 2
	J=$(in_c "$SYNPROBE" "$@" 2>&1); rc=$?
	diag "$name: $J"
	check "$name: exit $want" [ $rc -eq "$want" ]
}
jqt() { [ -n "$J" ] && jq -e "$1" >/dev/null <<<"$J"; }

KERNEL='.method == "bpf" and .evidence == "bpf" and .rtt_timing == "kernel" and .rtt_ns > 0'
for fam in 4 6; do
	run "IPv$fam TLS verified" 0 check -$fam --json -t $T --tls --ca "$D/ca.pem" server.test:$TLS
	check "IPv$fam TLS: open, TLS1.3, a cipher suite, a handshake time, connect_close rst" \
		jqt '.outcome == "open" and .tls_verified and .tls_version == "TLS1.3" and (.tls_cipher | startswith("TLS_")) and .tls_handshake_ns > 0 and .connect_close == "rst"'
	check "IPv$fam TLS: the TCP handshake timed by the tc programs" jqt "$KERNEL"
	check "IPv$fam TLS: leaf notAfter $LEAF_NA to the second" jqt ".tls_cert_not_after == \"$LEAF_NA\""
	check "IPv$fam TLS: the chain's earliest notAfter is the CA's, $CA_NA" \
		jqt ".tls_cert_earliest_not_after == \"$CA_NA\""
	check "IPv$fam TLS: subject and issuer" \
		jqt '.tls_cert_subject == "CN=server.test,O=sptest" and .tls_cert_issuer == "CN=sptest CA"'
done
# A certificate that does not verify: tls_error naming why, and still what the handshake agreed
# (verification runs once it has ended) and the certificate the server sent.
AGREED='(.tls_verified | not) and .tls_version == "TLS1.3" and (.tls_cipher | startswith("TLS_")) and
	.tls_cert_not_after == "'$LEAF_NA'" and .tls_cert_subject == "CN=server.test,O=sptest" and
	.tls_cert_issuer == "CN=sptest CA"'
run "TLS, wrong SNI" 1 check --json -t $T --tls --sni wrong.test --ca "$D/ca.pem" $S4:$TLS
check "TLS, wrong SNI: tls_error naming the name, the TCP part still kernel-timed" \
	jqt '.outcome == "tls_error" and (.error | test("name in the certificate does not match")) and '"$KERNEL"
check "TLS, wrong SNI: the version, cipher suite and certificate agreed, not verified" jqt "$AGREED"
run "TLS, another CA" 1 check --json -t $T --tls --sni server.test --ca "$D/other.pem" $S4:$TLS
check "TLS, another CA: tls_error, issuer unknown, one line" \
	jqt '.outcome == "tls_error" and (.error | test("issuer is unknown")) and (.error | test("\n") | not)'
check "TLS, another CA: the version, cipher suite and certificate agreed, not verified" jqt "$AGREED"
run "TLS 1.2-only server, another CA" 1 check --json -t $T --tls --sni server.test --ca "$D/other.pem" \
	$S4:$TLS12
check "TLS 1.2-only server, another CA: tls_error with TLS1.2 and its suite" \
	jqt '.outcome == "tls_error" and .tls_version == "TLS1.2" and (.tls_cipher | test("^TLS_ECDHE_ECDSA_")) and .tls_cert_not_after == "'$LEAF_NA'"'
# A handshake that fails before anything is agreed (a server that is not TLS): nothing reported.
run "TLS to a banner server" 1 check --json -t $T --tls --insecure $S4:$BANNER
check "TLS to a banner server: tls_error, no version, cipher suite or certificate" \
	jqt '.outcome == "tls_error" and (.error | startswith("handshake failed")) and .tls_version == null and .tls_cipher == null and .tls_cert_not_after == null and .tls_verified == null'
run "TLS --insecure" 0 check --json -t $T --tls --insecure --sni wrong.test $S4:$TLS
check "TLS --insecure: open, not verified" jqt '.outcome == "open" and (.tls_verified | not)'
run "TLS 1.2-only server" 0 check --json -t $T --tls --ca "$D/ca.pem" $S4:$TLS12
check "TLS 1.2-only server: TLS1.2 and its suite" \
	jqt '.tls_version == "TLS1.2" and (.tls_cipher | test("^TLS_ECDHE_ECDSA_"))'
run "TLS + an HTTP GET" 0 check --json -t $T --tls --insecure \
	--send 'GET / HTTP/1.0\r\n\r\n' --expect '^HTTP/1\.[01] 200' $S4:$TLS
check "TLS + GET: expect_matched 1, first_byte_ns" jqt '.expect_matched == 1 and .first_byte_ns > 0'

run "banner that matches" 0 check --json -t $T --expect '^SSH-2\.0-' $S4:$BANNER
check "banner: open, expect_matched 1, no TLS keys set" \
	jqt '.outcome == "open" and .expect_matched == 1 and .first_byte_ns > 0 and .tls_version == null and '"$KERNEL"
run "banner that does not match" 1 check --json -t $T --expect '^220 ' $S4:$BANNER
check "banner mismatch: the reason shows what was read" \
	jqt '.outcome == "mismatch" and .expect_matched == 0 and (.error | contains("SSH-2.0-sptest"))'
out=$(in_c "$SYNPROBE" check -t $T --expect '^220 ' $S4:$BANNER 2>&1)
check "banner mismatch, human output: mismatch and the reason on one line" \
	test "$(wc -l <<<"$out")" = 1 -a -n "$(grep -E "mismatch .*expect '\^220 ' did not match" <<<"$out")"

# A server that accepts and then hangs: a timeout past the handshake (the SYN-ACK came, kernel
# timed), not a mismatch or a tls_error; the error names the step or the TLS phase.
TS=$(sp_slow 1)s
run "silent server, --expect" 1 check --json -t $TS --expect '^220 ' $S4:$SILENT
check "silent server, --expect: timeout naming the step, the pattern and 0 bytes read" \
	jqt '.outcome == "timeout" and .expect_matched == 0 and .error == "step 1: expect '"'^220 '"' not matched before the deadline; 0 bytes read" and '"$KERNEL"
run "silent server, --tls" 1 check --json -t $TS --tls --insecure $S4:$SILENT
check "silent server, --tls: timeout naming the TLS phase" \
	jqt '.outcome == "timeout" and .error == "the TLS handshake did not end before the deadline: no reply to the ClientHello" and '"$KERNEL"

: >"$D/servers.log"
run "PROXY v2" 0 check --json -t $T --proxy-protocol v2 --expect '^OK PROXY' "[$S6]:$PROXY"
line=$(tail -n 1 "$D/servers.log")
diag "server: $line"
check "PROXY v2: the server parsed version 2, TCP6, the connection's addresses and ports, length 36" \
	jq -e '.version == 2 and .command == "PROXY" and .family == "TCP6" and .src == .peer and
		.sport == .peer_port and .dst == .local and .dport == .local_port and .length == 36' \
	<<<"$line" >/dev/null

# The connection completes: the listener's accept() returns (a half-open check's never does).
sp_listen plain $S4 $PLAIN || not_ok "sp_listen listens"
run "send to a listener" 0 check --json -t $T --send 'hello\n' $S4:$PLAIN
check "send to a listener: open, kernel-timed, the listener accepted 1" \
	bash -c 'jq -e "$2" >/dev/null <<<"$1" && [ "$3" = 1 ]' _ "$J" ".outcome == \"open\" and $KERNEL" \
	"$(sp_accepted plain $LISTEN_PID)"
# It ends with RST (default) or FIN (--close fin); an echo server keeps its side open till then.
for close in rst fin; do
	sp_capture wire-$close "$NS_C" "$VETH_C" "tcp port $ECHO" || not_ok "capture started"
	if [ $close = rst ]; then args=(); else args=(--close fin); fi
	run "echo, --close $close" 0 check --json -t $T --send 'ping\n' --expect '^ping$' "${args[@]}" $S4:$ECHO
	check "--close $close: connect_close $close, expect_matched 1" \
		jqt ".connect_close == \"$close\" and .expect_matched == 1 and $KERNEL"
	wait_until "$(sp_slow 5)" bash -c "tcpdump -r '$SP_TMP/wire-$close.pcap' -n 2>/dev/null | grep -q 'Flags \[[RF]'"
	sp_capture_stop
	ours=$(tcpdump -r "$SP_TMP/wire-$close.pcap" -n 2>/dev/null | grep -F " $C4." | grep -F "> $S4.$ECHO:" |
		sed -n 's/.*Flags \[\([^]]*\)\].*/\1/p' | tr '\n' ' ')
	diag "--close $close: our packets: $ours"
	check "--close $close: SYN, then the handshake's ACK let out at once, then the data" \
		grep -Eq '^S \. P\. ' <<<"$ours"
	if [ $close = rst ]; then
		check "--close rst: ends with RST, no FIN from us" \
			bash -c '[[ "$1" =~ R ]] && [[ ! "$1" =~ F ]]' _ "$ours"
	else
		check "--close fin: FIN from us, no RST" bash -c '[[ "$1" =~ F ]] && [[ ! "$1" =~ R ]]' _ "$ours"
	fi
done

# The kernel rtt_ns of a TLS check against a nanosecond capture: within 50 us (a few tries:
# tc ingress may run late under load, as test_rtt.sh allows).
best=
for try in 1 2 3; do
	ip netns exec "$NS_C" tcpdump -i "$VETH_C" -n -U --immediate-mode \
		--time-stamp-precision=nano -w "$SP_TMP/rtt.pcap" "tcp port $TLS" \
		>"$SP_TMP/rtt.tcpdump.log" 2>&1 &
	CAPTURE_PID=$!
	SP_PIDS+=("$CAPTURE_PID")
	wait_until "$(sp_slow 5)" grep -qs "listening on" "$SP_TMP/rtt.tcpdump.log"
	J=$(in_c "$SYNPROBE" check --json -t $T --tls --ca "$D/ca.pem" server.test:$TLS -4)
	sp_capture_stop
	wire=$(tcpdump -r "$SP_TMP/rtt.pcap" -n -tt --time-stamp-precision=nano 2>/dev/null |
		awk '{ split($1, t, "."); ns = t[1] * 1000000000 + t[2] }
		     /Flags \[S\],/ && !s { s = ns } /Flags \[S\.\],/ && !a { a = ns }
		     END { if (s && a) print a - s }')
	rtt=$(jq -r .rtt_ns <<<"$J")
	diff=$((rtt - ${wire:-0}))
	diff=${diff#-}
	diag "try $try: rtt_ns $rtt, capture $wire ns, off by $diff ns"
	[ -z "$best" ] || [ "$diff" -lt "$best" ] && best=$diff
	[ "$diff" -le 50000 ] && break
done
check_timing "TLS check: the kernel rtt_ns within 50 us of the capture (best $best ns)" \
	"tc ingress may run hundreds of us after the capture's stamp" [ "$best" -le 50000 ]

run "method connect: the same kind" 0 check -m connect --json -t $T --tls --ca "$D/ca.pem" server.test:$TLS -4
check "method connect: open, TLS, user-space RTT" \
	jqt '.outcome == "open" and .method == "connect" and .rtt_timing == "user-space" and .tls_cert_not_after != null'

# Several at once, over the engine's loops (threads), and streamed from a file (-f).
run "four checks at once" 0 check --json -t $T --threads 2 --tls --insecure $S4:$TLS "[$S6]:$TLS" \
	$S4:$TLS12 server.test:$TLS
check "four checks at once: four open with a TLS version" \
	bash -c '[ "$(jq -s "map(select(.outcome == \"open\" and .tls_version != null)) | length" <<<"$1")" = 4 ]' _ "$J"
printf '%s\n' $S4:$BANNER "[$S6]:$BANNER" >"$D/targets"
run "-f, banner" 0 check --json -t $T --expect '^SSH-2\.0-' -f "$D/targets"
check "-f, banner: two open, expect_matched 1 (and the summary on stderr)" \
	bash -c '[ "$(grep "^{" <<<"$1" | jq -s "map(select(.outcome == \"open\" and .expect_matched == 1)) | length")" = 2 ]' _ "$J"

run "ping --tls" 0 ping -c 2 -i 100ms --json -t $T --tls --ca "$D/ca.pem" server.test:$TLS -4
check "ping --tls: two open probes with TLS keys, the summary" \
	bash -c '[ "$(jq -s "map(select(.outcome == \"open\" and .tls_version != null)) | length" <<<"$1")" = 2 ] &&
		jq -se "last | .summary and .open == 2" <<<"$1" >/dev/null' _ "$J"
# The human line of a probe past the handshake ends with its TLS version and times.
out=$(in_c "$SYNPROBE" ping -c 1 -t $T --tls --ca "$D/ca.pem" --send 'GET / HTTP/1.0\r\n\r\n' \
	--expect '^HTTP/1' server.test:$TLS -4 2>&1)
diag "$out"
check "ping --tls --expect, human line: tls=TLS1.3 tls_handshake=... first_byte=..." \
	grep -Eq "^seq=1 server.test:$TLS open rtt=[0-9.]+ [mun]?s ttl=[0-9]+ tls=TLS1.3 tls_handshake=[0-9.]+ [mun]?s first_byte=[0-9.]+ [mun]?s$" <<<"$out"
out=$(in_c "$SYNPROBE" ping -c 1 -t $TS --expect '^220 ' $S4:$SILENT 2>&1)
diag "$out"
check "ping --expect, silent server: the line says timeout, the summary counts an error, nothing lost" \
	eval 'grep -q "^seq=1 $S4:$SILENT timeout rtt=.*(step 1: expect" <<<"$out" && grep -q " 0 lost, 1 errors," <<<"$out"'
out=$(in_c "$SYNPROBE" ping -c 1 -t $T $S4:$SILENT 2>&1)
check "ping half-open: the line as before, no tls= or first_byte=" \
	grep -Eq "^seq=1 $S4:$SILENT open rtt=[0-9.]+ [mun]?s ttl=[0-9]+$" <<<"$out"

run "half-open check: no key of the l7 kind" 0 check --json -t $T $S4:$TLS
check "half-open check: as before (no tls_version, connect_close keys)" \
	jqt 'has("tls_version") == false and has("connect_close") == false and .outcome == "open"'

# Bad input: one line naming it, exit 2.
bad() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(in_c "$SYNPROBE" check "$@" 2>&1); rc=$?
	check "$name: exit 2, one line naming it" \
		test $rc -eq 2 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -F -- "$want" <<<"$out")"
}
bad "--sni without --tls" "--sni is an option of TLS checks: add --tls" --sni x $S4:$TLS
bad "--close without a completing kind" "--close applies to" --close fin $S4:$TLS
bad "--close bad" "--close 'x': give fin or rst" --close x --tls $S4:$TLS
bad "--proxy-protocol bad" "--proxy-protocol 'v3'" --proxy-protocol v3 $S4:$TLS
bad "--ca missing" "--ca /nonexistent.pem" --tls --ca /nonexistent.pem $S4:$TLS
bad "--expect bad pattern" "missing closing parenthesis" --expect '(' $S4:$TLS
bad "--send bad escape" "unknown escape '\\q'" --send 'a\q' $S4:$TLS
check "nothing left attached" sp_no_bpf_left
sp_finish
