#!/usr/bin/env bash
# The L7 modules (user/cescape.c, proxy_proto.c, expect.c, tls_client.c) end to end, driven by
# tests/helpers/sp_l7_client over one connection from the client namespace, against real
# servers in the server namespace, IPv4 and IPv6:
# - openssl s_server with a leaf signed by a CA of our own (leaf 30 days, CA 20 days, the chain
#   sent): the reported notAfter of the leaf and the chain's earliest equal what `openssl x509
#   -enddate` says, to the second; subject and issuer; verified with --ca and the right name;
#   `tls_error` naming the cause for a wrong SNI and for another CA; open with --insecure;
# - a TLS 1.2-only server: version TLS1.2 and its cipher suite;
# - banner servers (socat): a banner that matches, one that does not (`mismatch`, the reason
#   shows the bytes read), send/expect against an echo server, binary bytes included;
# - PROXY v1 and v2 headers checked by sp_proxy_server, a parser of its own: version, family,
#   length, and addresses and ports equal to the connection's own.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "the TLS, PROXY and send/expect modules on a connected socket"
sp_require_tools openssl socat jq
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
L7=$SP_OUTPUT/tests/sp_l7_client
PROXY_SERVER=$SP_OUTPUT/tests/sp_proxy_server
TLS=8443 TLS12=8444 BANNER=2222 ECHO=7777 PROXY=9000
D=$SP_TMP

sp_l7_certs || { not_ok "certificates made"; sp_finish; }
LEAF_NA=$(sp_cert_not_after "$D/leaf.pem") CA_NA=$(sp_cert_not_after "$D/ca.pem")
diag "leaf notAfter $LEAF_NA, CA notAfter $CA_NA"

# listening NS PORT: something listens on PORT in NS.
listening() { [ "$(ip netns exec "$1" ss -Hltn "sport = :$2" | wc -l)" -ge "${3:-1}" ]; }
serve_bg() { ip netns exec "$NS_S" "$@" >>"$D/servers.log" 2>&1 & SP_PIDS+=($!); }

# s_server listens on one address (its [::] is IPv6 only): one per family.
for a in $S4 "[$S6]"; do
	serve_bg openssl s_server -quiet -www -accept "$a:$TLS" -cert "$D/leaf.pem" \
		-key "$D/leaf.key" -cert_chain "$D/ca.pem"
	serve_bg openssl s_server -quiet -www -tls1_2 -accept "$a:$TLS12" -cert "$D/leaf.pem" \
		-key "$D/leaf.key"
done
# The SSH banner comes from a file (socat -U ... OPEN): a SYSTEM: child's output could be lost
# when socat saw the child exit first (a 0-byte reply under load), and its \n was dropped.
printf 'SSH-2.0-sptest\r\n' >"$D/ssh.banner"
serve_bg socat -U "TCP6-LISTEN:$BANNER,ipv6only=0,reuseaddr,fork" OPEN:"$D/ssh.banner",rdonly
serve_bg socat "TCP6-LISTEN:$ECHO,ipv6only=0,reuseaddr,fork" EXEC:cat
serve_bg "$PROXY_SERVER" :: $PROXY
for p in $TLS $TLS12; do
	wait_until 10 listening "$NS_S" $p 2 || not_ok "two servers listen on $p"
done
for p in $BANNER $ECHO $PROXY; do
	wait_until 10 listening "$NS_S" $p || not_ok "a server listens on $p"
done

# l7 NAME WANT_RC ARGS...: runs the client; its JSON in $J.
l7() {
	local name=$1 want=$2 rc
	shift 2
	J=$(in_c "$L7" -t "$(sp_slow 3)000" "$@" 2>&1); rc=$?
	diag "$name: $J"
	check "$name: exit $want" [ $rc -eq "$want" ]
}
jqt() { jq -e "$1" >/dev/null <<<"$J"; }
jqa() { jq -e "$@" >/dev/null <<<"$J"; }
jql() { jq -e "$@" >/dev/null; }

for fam in 4 6; do
	if [ $fam = 4 ]; then s=$S4; else s=$S6; fi
	l7 "IPv$fam TLS verified" 0 --tls --sni server.test --ca "$D/ca.pem" $s $TLS
	check "IPv$fam TLS: open, verified, TLS1.3, a cipher suite, a handshake time" \
		jqt '.outcome == "open" and .tls_verified and .tls_version == "TLS1.3" and (.tls_cipher | startswith("TLS_")) and .tls_handshake_ns > 0'
	check "IPv$fam TLS: leaf notAfter $LEAF_NA to the second" jqt ".tls_cert_not_after == \"$LEAF_NA\""
	check "IPv$fam TLS: the chain's earliest notAfter is the CA's, $CA_NA" \
		jqt ".tls_cert_earliest_not_after == \"$CA_NA\" and .tls_cert_chain_len == 2"
	check "IPv$fam TLS: subject and issuer" \
		jqt '.tls_cert_subject == "CN=server.test,O=sptest" and .tls_cert_issuer == "CN=sptest CA"'
	l7 "IPv$fam TLS, the address as the name (its IP SAN)" 0 --tls --ca "$D/ca.pem" $s $TLS
	l7 "IPv$fam TLS, wrong SNI" 1 --tls --sni wrong.test --ca "$D/ca.pem" $s $TLS
	check "IPv$fam TLS, wrong SNI: tls_error naming the name" \
		jqt '.outcome == "tls_error" and (.error | test("name in the certificate does not match"))'
	check "IPv$fam TLS, wrong SNI: the certificate is still reported" jqt ".tls_cert_not_after == \"$LEAF_NA\""
	l7 "IPv$fam TLS, another CA" 1 --tls --sni server.test --ca "$D/other.pem" $s $TLS
	check "IPv$fam TLS, another CA: tls_error, issuer unknown" \
		jqt '.outcome == "tls_error" and (.error | test("issuer is unknown")) and (.error | test("\n") | not)'
	l7 "IPv$fam TLS --insecure" 0 --tls --insecure --sni wrong.test $s $TLS
	check "IPv$fam TLS --insecure: open, not verified" jqt '.outcome == "open" and (.tls_verified | not)'
	l7 "IPv$fam TLS 1.2-only server" 0 --tls --sni server.test --ca "$D/ca.pem" $s $TLS12
	check "IPv$fam TLS 1.2-only server: TLS1.2 and its suite" \
		jqt '.tls_version == "TLS1.2" and (.tls_cipher | test("^TLS_ECDHE_ECDSA_"))'
	l7 "IPv$fam TLS + send/expect (an HTTP GET)" 0 --tls --insecure \
		--send 'GET / HTTP/1.0\r\n\r\n' --expect '^HTTP/1\.[01] 200' $s $TLS
	check "IPv$fam TLS + send/expect: matched, first byte after the handshake" \
		jqt '.expect_matched == 1 and .first_byte_ns > .connect_ns'

	l7 "IPv$fam banner that matches" 0 --expect '^SSH-2\.0-' $s $BANNER
	check "IPv$fam banner: expect_matched 1, first_byte_ns" jqt '.expect_matched == 1 and .first_byte_ns > 0'
	l7 "IPv$fam banner that does not match" 1 --expect '^220 ' $s $BANNER
	check "IPv$fam banner mismatch: the reason shows what was read" \
		jqa --arg p "step 1: expect '^220 ' did not match the " '.outcome == "mismatch" and .expect_matched == 0 and (.error | startswith($p)) and (.error | contains("bytes read before the end: '"'"'SSH-2.0-sptest"))'
	l7 "IPv$fam send/expect, two steps, echo" 0 --send 'PING\r\n' --expect '^PING\r$' \
		--send 'QUIT\r\n' --expect 'QUIT' $s $ECHO
	check "IPv$fam echo: both steps matched" jqt '.expect_matched == 2'
	l7 "IPv$fam binary send/expect" 0 --send '\x00\xff\x01bin' --expect '\x00\xff\x01bin' $s $ECHO
	l7 "IPv$fam a reply that never comes" 1 -t 500 --send 'x' --expect 'y' $s $ECHO
	check "IPv$fam a reply that never comes: timeout, not mismatch, with the step and what was read" \
		jqa --arg e "step 1: expect 'y' not matched before the deadline; 1 bytes read: 'x'" '.outcome == "timeout" and .error == $e'

	for v in 1 2; do
		: >"$D/proxy.out"
		l7 "IPv$fam PROXY v$v" 0 --proxy-protocol v$v --expect '^OK PROXY' $s $PROXY
		line=$(tail -n 1 "$D/servers.log")
		diag "server: $line"
		if [ $fam = 4 ]; then f=TCP4 alen=12; else f=TCP6 alen=36; fi
		[ $v = 1 ] && alen=null
		check "IPv$fam PROXY v$v: the server parsed version $v, $f, addresses and ports of the connection" \
			jql --argjson v $v --arg f $f "
				.version == \$v and .command == \"PROXY\" and .family == \$f and
				.src == (.peer | sub(\"^::ffff:\"; \"\")) and .sport == .peer_port and
				.dst == (.local | sub(\"^::ffff:\"; \"\")) and .dport == .local_port and
				(\$v == 1 or .length == $alen)" <<<"$line"
	done
done
# Bad input of the modules: one line naming it, exit 2.
out=$(in_c "$L7" --expect '(' $S4 $ECHO 2>&1); rc=$?
check "bad pattern: exit 2, one line with PCRE2's message" \
	test $rc -eq 2 -a "$(wc -l <<<"$out")" = 1 -a -n "$(grep -F "expect '(': missing closing parenthesis" <<<"$out")"
out=$(in_c "$L7" --send 'abc\q' $S4 $ECHO 2>&1); rc=$?
check "bad escape: exit 2, naming it" test $rc -eq 2 -a -n "$(grep -F "unknown escape '\\q' at 4" <<<"$out")"
out=$(in_c "$L7" --tls --ca /nonexistent.pem $S4 $TLS 2>&1); rc=$?
check "missing CA file: exit 2, naming it" test $rc -eq 2 -a -n "$(grep -F -- "--ca /nonexistent.pem" <<<"$out")"
sp_finish
