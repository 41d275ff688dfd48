#!/usr/bin/env bash
# synprobe serve past the handshake (YAML tls:, query_response:, close:): against openssl s_server
# with a self-signed certificate made now (its notAfter known) and a banner server (socat), one
# TLS check and two send/expect checks (one matching, one not):
# - /metrics: synprobe_tls_cert_not_after_seconds and ..._earliest_... equal `openssl x509
#   -enddate` to the second, synprobe_tls_handshake_seconds and synprobe_phase_seconds{phase}
#   present, synprobe_expect_matched 1 and 0, the mismatch counted in synprobe_checks_total;
# - a send/expect check bound to a second veth pair that matched, then the veth deleted: its next
#   run fails before the engine (bind_interface not found), and synprobe_expect_matched goes to
#   0, its phase gauges away (not the last good run's);
# - bad values of the new keys: --check-config exits 2 with one line naming the key.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "serve's YAML keys and metrics of TLS and send/expect checks (test_l7_check runs the kind on every kernel)"
sp_require_tools openssl socat curl
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
TLS=8443 BANNER=2222 HTTP=127.0.0.1:9123
D=$SP_TMP CFG=$SP_TMP/serve.yaml

sp_mkcert cert 17 "/CN=server.test" "" "subjectAltName=DNS:server.test" ||
	{ not_ok "certificate made"; sp_finish; }
NA=$(date -u -d "$(openssl x509 -in "$D/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
diag "notAfter $NA"

listening() { [ "$(ip netns exec "$NS_S" ss -Hltn "sport = :$1" | wc -l)" -ge 1 ]; }
nsenter --net="/run/netns/$NS_S" openssl s_server -quiet -www -accept "$S4:$TLS" -cert "$D/cert.pem" -key "$D/cert.key" \
	>>"$D/servers.log" 2>&1 &
SP_PIDS+=($!)
# The SSH banner comes from a file (socat -U ... OPEN): a SYSTEM: child's output could be lost
# when socat saw the child exit first (a 0-byte reply under load), and its \n was dropped.
printf 'SSH-2.0-sptest\r\n' >"$D/ssh.banner"
nsenter --net="/run/netns/$NS_S" socat -U "TCP-LISTEN:$BANNER,reuseaddr,fork" OPEN:"$D/ssh.banner",rdonly \
	>>"$D/servers.log" 2>&1 &
SP_PIDS+=($!)
wait_until "$(sp_slow 10)" listening $TLS || not_ok "s_server listens"
wait_until "$(sp_slow 10)" listening $BANNER || not_ok "socat listens"

# A second veth pair, B, to the server's 10.79.0.2: the check 'gone' leaves by it, until it goes.
B_C=spl$$c B_S=spl$$s
ip link add "$B_C" netns "$NS_C" type veth peer name "$B_S" netns "$NS_S" &&
	ip -n "$NS_C" addr add 10.79.0.1/24 dev "$B_C" && ip -n "$NS_S" addr add 10.79.0.2/24 dev "$B_S" &&
	ip -n "$NS_C" link set "$B_C" up && ip -n "$NS_S" link set "$B_S" up || not_ok "veth B"
wait_until "$(sp_slow 5)" sp_link_up "$NS_C" "$B_C" && wait_until "$(sp_slow 5)" sp_link_up "$NS_S" "$B_S" ||
	not_ok "veth B up"

T=$(sp_slow 1)
cat >"$CFG" <<YAML
defaults:
  interval: ${T}s
  timeout: ${T}s
checks:
  - name: tls
    target: $S4:$TLS
    tls: {sni: server.test, ca_file: "$D/cert.pem"}
  - name: banner
    target: $S4:$BANNER
    query_response:
      - expect: '^SSH-2\.0-'
    close: fin
  - name: wrong
    target: $S4:$BANNER
    query_response:
      - expect: "^220 "
  - name: gone
    target: 10.79.0.2:$BANNER
    bind_interface: $B_C
    query_response:
      - expect: '^SSH-2\.0-'
YAML
nsenter --net="/run/netns/$NS_C" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --no-pin --log-level debug 2>"$D/serve.log" &
SERVE=$!
SP_PIDS+=($SERVE)

M=$D/metrics
metrics() { in_c curl -sf --max-time 5 "http://$HTTP/metrics" >"$M"; }
has() { grep -q "$1" "$M"; }
all_ran() {
	metrics && has '^synprobe_tls_cert_not_after_seconds{check="tls"' &&
		has '^synprobe_expect_matched{check="banner"' && has '^synprobe_expect_matched{check="wrong"' &&
		has '^synprobe_expect_matched{check="gone",.*} 1$'
}
check "serve: a result of each check" wait_until "$(sp_slow 15)" all_ran
grep -E '^synprobe_(tls|phase|expect)|outcome="(open|mismatch|tls_error)"' "$M" | sed 's/^/# /'
val() { sed -n "s/^$1 \(.*\)$/\1/p" "$M"; }
check "tls: synprobe_check_success 1" [ "$(val 'synprobe_check_success{check="tls",target="'$S4:$TLS'"}')" = 1 ]
check "tls: leaf notAfter $NA to the second" \
	[ "$(val 'synprobe_tls_cert_not_after_seconds{check="tls",target="'$S4:$TLS'"}')" = "$NA" ]
check "tls: earliest notAfter $NA (one certificate)" \
	[ "$(val 'synprobe_tls_cert_earliest_not_after_seconds{check="tls",target="'$S4:$TLS'"}')" = "$NA" ]
check "tls: handshake seconds > 0" \
	awk '/^synprobe_tls_handshake_seconds\{check="tls"/ { ok = $2 > 0 } END { exit !ok }' "$M"
for ph in tcp tls; do
	check "tls: phase $ph seconds > 0" \
		awk -v p="phase=\"$ph\"" '/^synprobe_phase_seconds\{check="tls"/ && index($0, p) { ok = $2 > 0 } END { exit !ok }' "$M"
done
check "banner: phase first_byte present" has '^synprobe_phase_seconds{check="banner",.*phase="first_byte"} '
check "banner: expect_matched 1" [ "$(val 'synprobe_expect_matched{check="banner",target="'$S4:$BANNER'"}')" = 1 ]
check "wrong: expect_matched 0" [ "$(val 'synprobe_expect_matched{check="wrong",target="'$S4:$BANNER'"}')" = 0 ]
check "wrong: counted as mismatch" \
	awk '/^synprobe_checks_total\{check="wrong".*outcome="mismatch"/ { ok = $2 >= 1 } END { exit !ok }' "$M"
check "banner: no mismatch" has '^synprobe_checks_total{check="banner".*outcome="mismatch"} 0$'
check "a half-open check has no l7 metrics" \
	bash -c "! grep -q '^synprobe_tls_cert_not_after_seconds{check=\"banner\"' '$M'"
check "gone: matched, phase first_byte present" has '^synprobe_phase_seconds{check="gone",.*phase="first_byte"} '
# Its interface goes: the next run fails before the engine; what it shows is that run's.
ip -n "$NS_C" link del "$B_C" || not_ok "veth B deleted"
gone_failed() {
	metrics && awk '/^synprobe_checks_total\{check="gone".*outcome="error"/ { ok = $2 >= 1 } END { exit !ok }' "$M"
}
check "gone: a run after the veth went is an error" wait_until "$(sp_slow 10)" gone_failed
grep 'check="gone"' "$M" | grep -v '_bucket' | sed 's/^/# /'
check "gone: synprobe_expect_matched 0, not the last good run's 1" \
	[ "$(val 'synprobe_expect_matched{check="gone",target="10.79.0.2:'$BANNER'"}')" = 0 ]
check "gone: no phase gauge left from the last good run" \
	bash -c "! grep -q '^synprobe_phase_seconds{check=\"gone\"' '$M'"
check "gone: the log says bind_interface not found" \
	grep -q "\"check\":\"gone\".*bind_interface '$B_C' not found" "$D/serve.log"
kill "$SERVE" 2>/dev/null
wait "$SERVE" 2>/dev/null

# bad KEY: VALUE for checks[0] -> exit 2, one line naming checks[0].KEY
bad() {
	local key=$1 want=$2 out rc
	printf 'checks:\n  - name: x\n    target: 127.0.0.1:1\n    %s\n' "$key" >"$D/bad.yaml"
	out=$("$SYNPROBE" serve -c "$D/bad.yaml" --check-config 2>&1); rc=$?
	diag "$key: $out"
	check "bad '$key': exit 2, one line naming $want" \
		[ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -qF "$want" <<<"$out"
}
bad 'tls: {ca_file: /nonexistent.pem}' "checks[0].tls"
bad 'tls: {sni: a, bogus: 1}' "checks[0].tls.bogus"
bad 'tls: {insecure: maybe}' "checks[0].tls.insecure"
bad 'query_response: [{expect: "("}]' "checks[0].query_response[0].expect"
bad 'query_response: [{send: "\\xZZ"}]' "checks[0].query_response[0].send"
bad 'query_response: [{sned: x}]' "checks[0].query_response[0].sned"
bad 'proxy_protocol: v3' "checks[0].proxy_protocol"
bad 'close: fin' "checks[0].close"
sp_finish
