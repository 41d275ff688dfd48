#!/usr/bin/env bash
# synprobe serve's /probe?module=NAME (modules: in the YAML) against openssl s_server with a
# leaf and its CA made now (their notAfter known), a banner server (socat), a silent one and
# an accept() counter (sp_listen):
# - tls module: probe_success 1, probe_ssl_earliest_cert_expiry equal to `openssl x509 -enddate`
#   of the CA (sent in the chain, it expires before the leaf) to the second,
#   probe_tls_version_info{version="TLS 1.3"}, handshake and phase seconds; another CA:
#   probe_success 0, outcome tls_error;
# - banner modules: a match gives probe_success 1 and probe_failed_due_to_regex 0, a mismatch 0
#   and 1 (outcome mismatch); a silent server: outcome timeout, probe_failed_due_to_regex 0;
# - unknown module: a one-line 400; no module: the half-open output as before, nothing accepted;
#   a module's check is accepted by the listener (it completed the handshake);
# - a SIGHUP that drops the module of a /probe in flight: the probe ends with its own module
#   (run under `make test SANITIZE=1`, ASan sees any use of the old table);
# - a module whose method: is not serve's: serve exits 2 naming modules.NAME.method.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "serve's modules and /probe parameters and metrics (test_l7_check runs the kind on every kernel)"
sp_require_tools openssl socat curl
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
TLS=8443 BANNER=2222 SILENT=2223 PLAIN=8080 HTTP=127.0.0.1:9123
D=$SP_TMP CFG=$SP_TMP/serve.yaml
IN_C=(nsenter --net="/run/netns/$NS_C")
IN_S=(nsenter --net="/run/netns/$NS_S")

# ca (20 days) signs leaf (30 days); s_server sends both: the earliest is the CA's.
sp_l7_certs || { not_ok "certificates made"; sp_finish; }
NA=$(date -u -d "$(sp_cert_not_after "$D/ca.pem")" +%s)
diag "the CA's notAfter $NA (the leaf's $(sp_cert_not_after "$D/leaf.pem"))"

listening() { [ "$(ip netns exec "$NS_S" ss -Hltn "sport = :$1" | wc -l)" -ge 1 ]; }
"${IN_S[@]}" openssl s_server -quiet -www -accept "$S4:$TLS" -cert "$D/leaf.pem" -key "$D/leaf.key" \
	-cert_chain "$D/ca.pem" >>"$D/servers.log" 2>&1 &
SP_PIDS+=($!)
# The SSH banner comes from a file (socat -U ... OPEN): a SYSTEM: child's output could be lost
# when socat saw the child exit first (a 0-byte reply under load), and its \n was dropped.
printf 'SSH-2.0-sptest\r\n' >"$D/ssh.banner"
"${IN_S[@]}" socat -U "TCP-LISTEN:$BANNER,reuseaddr,fork" OPEN:"$D/ssh.banner",rdonly \
	>>"$D/servers.log" 2>&1 &
SP_PIDS+=($!)
# Accepts and says nothing for 3 s: a probe that expects a reply is in flight meanwhile.
"${IN_S[@]}" socat "TCP-LISTEN:$SILENT,reuseaddr,fork" SYSTEM:'sleep 3' >>"$D/servers.log" 2>&1 &
SP_PIDS+=($!)
sp_listen plain $S4 $PLAIN || not_ok "sp_listen listens"
PLAIN_PID=$LISTEN_PID
for p in $TLS $BANNER $SILENT; do
	wait_until "$(sp_slow 10)" listening $p || not_ok "server on $p listens"
done

modules() {
	cat <<YAML
checks:
  - name: idle
    target: 127.0.0.1:1
    interval: 1h
modules:
  tls_web:
    tls: {sni: server.test, ca_file: "$D/ca.pem"}
    timeout: 5s
  other_ca:
    tls: {sni: server.test, ca_file: "$D/other.pem"}
  ssh:
    query_response: [{expect: '^SSH-2\.0-'}]
    close: fin
  smtp:
    query_response: [{expect: '^220 '}]
  pp: {proxy_protocol: v1}
YAML
}
{ modules; printf '  hold:\n    query_response: [{expect: "^never"}]\n'; } >"$CFG"
"${IN_C[@]}" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --no-pin 2>"$D/serve.log" &
SERVE=$!
SP_PIDS+=($SERVE)

B=$D/body
# probe QUERY: /probe?QUERY into $B, the status in $CODE.
probe() { CODE=$(in_c curl -s --max-time "$(sp_slow 8)" -o "$B" -w '%{http_code}' "http://$HTTP/probe?$1"); }
val() { sed -n "s/^$1 \(.*\)$/\1/p" "$B"; }
has() { grep -q "$1" "$B"; }
healthy() { [ "$(in_c curl -s --max-time 2 "http://$HTTP/healthz")" = ok ]; }
check "serve answers /healthz" wait_until "$(sp_slow 10)" healthy

probe "target=$S4:$TLS&module=tls_web"
grep -E '^(probe_|synprobe_probe_(phase|tls))' "$B" | sed 's/^/# /'
check "tls_web: 200, probe_success 1" [ "$CODE" = 200 ] && [ "$(val probe_success)" = 1 ]
check "tls_web: probe_ssl_earliest_cert_expiry $NA (the chain's earliest) to the second" \
	[ "$(val probe_ssl_earliest_cert_expiry)" = "$NA" ]
check "tls_web: probe_tls_version_info{version=\"TLS 1.3\"} 1" \
	[ "$(val 'probe_tls_version_info{version="TLS 1.3"}')" = 1 ]
check "tls_web: synprobe_probe_tls_handshake_seconds > 0" \
	awk '/^synprobe_probe_tls_handshake_seconds / { ok = $2 > 0 } END { exit !ok }' "$B"
for ph in tcp tls; do
	check "tls_web: phase $ph seconds > 0" \
		awk -v p="phase=\"$ph\"" '/^synprobe_probe_phase_seconds\{/ && index($0, p) { ok = $2 > 0 } END { exit !ok }' "$B"
done
check "tls_web: # HELP and # TYPE of probe_ssl_earliest_cert_expiry" \
	eval 'has "^# HELP probe_ssl_earliest_cert_expiry " && has "^# TYPE probe_ssl_earliest_cert_expiry gauge$"'
check "tls_web: no expect metric without query_response" bash -c "! grep -q '^synprobe_probe_expect_matched' '$B'"

probe "target=$S4:$TLS&module=other_ca"
check "other_ca: probe_success 0, outcome tls_error" \
	[ "$(val probe_success)" = 0 ] && [ "$(val 'synprobe_probe_outcome{outcome="tls_error"}')" = 1 ]

probe "target=$S4:$BANNER&module=ssh"
check "ssh banner: probe_success 1, probe_failed_due_to_regex 0, expect_matched 1" \
	[ "$(val probe_success)" = 1 ] && [ "$(val probe_failed_due_to_regex)" = 0 ] &&
	[ "$(val synprobe_probe_expect_matched)" = 1 ]
check "ssh banner: phase first_byte present, no certificate metric" \
	eval 'has "^synprobe_probe_phase_seconds{phase=\"first_byte\"} " && ! has "^probe_ssl_earliest_cert_expiry"'
probe "target=$S4:$BANNER&module=smtp"
check "smtp on an ssh banner: probe_success 0, probe_failed_due_to_regex 1, outcome mismatch" \
	[ "$(val probe_success)" = 0 ] && [ "$(val probe_failed_due_to_regex)" = 1 ] &&
	[ "$(val 'synprobe_probe_outcome{outcome="mismatch"}')" = 1 ]

probe "target=$S4:$TLS&module=nope"
check "unknown module: 400, one line" \
	[ "$CODE" = 400 ] && [ "$(cat "$B")" = "unknown module nope: define it under modules: in the config" ]

# No module: the half-open check, its output as before; the listener accepts nothing.
probe "target=$S4:$PLAIN&timeout=1s"
NAMES=$(grep -v '^#' "$B" | sed 's/[ {].*//' | sort -u | tr '\n' ' ')
diag "without module: $NAMES"
check "no module: probe_success 1, the half-open metrics only" \
	[ "$(val probe_success)" = 1 ] && [ "$NAMES" = "probe_duration_seconds probe_ip_protocol probe_success synprobe_probe_outcome synprobe_probe_rtt_seconds synprobe_probe_syn_retransmits " ]
check "no module: the five half-open outcomes" [ "$(grep -c '^synprobe_probe_outcome{' "$B")" = 5 ]
kill -USR1 "$PLAIN_PID"
wait_until "$(sp_slow 5)" grep -qs '^accepted' "$D/plain.out"
check "no module: the listener accepted nothing" [ "$(sed -n 's/^accepted //p' "$D/plain.out" | tail -n 1)" = 0 ]
probe "target=$S4:$PLAIN&module=pp"
check "module pp: the listener accepted the connection (the check completed)" \
	[ "$(sp_accepted plain "$PLAIN_PID")" = 1 ]

# A reload drops 'hold' while a /probe with it waits for a reply that never comes.
# ip netns exec, not in_c: $! must be curl itself (lib.sh, by in_c).
ip netns exec "$NS_C" curl -s --max-time "$(sp_slow 8)" -o "$D/hold" \
	"http://$HTTP/probe?target=$S4:$SILENT&module=hold&timeout=2s" &
CURL=$!
established() { [ "$(ip netns exec "$NS_S" ss -Htn state established "sport = :$SILENT" | wc -l)" -ge 1 ]; }
check "hold: the probe is connected and waiting" wait_until "$(sp_slow 5)" established
modules >"$CFG"
kill -HUP "$SERVE"
reloaded() { grep -q '"msg":"config reloaded"' "$D/serve.log"; }
check "the reload is done while the probe waits" eval 'wait_until "$(sp_slow 5)" reloaded && established'
wait "$CURL"
B=$D/hold
# Nothing read before the deadline: a timeout, not a failed regex (blackbox sets
# probe_failed_due_to_regex only for a reply read to its end).
check "hold: the probe ends with its own module: timeout after 2 s, probe_failed_due_to_regex 0, expect_matched 0" \
	[ "$(val 'synprobe_probe_outcome{outcome="timeout"}')" = 1 ] && [ "$(val probe_failed_due_to_regex)" = 0 ] &&
	[ "$(val synprobe_probe_expect_matched)" = 0 ] &&
	awk '/^probe_duration_seconds / { ok = $2 >= 2 } END { exit !ok }' "$B"
B=$D/body
probe "target=$S4:$SILENT&module=hold"
check "hold: gone after the reload (400)" [ "$CODE" = 400 ]
kill "$SERVE" 2>/dev/null
wait "$SERVE" 2>/dev/null

# A module's method must be serve's.
printf 'checks: [{name: a, target: "127.0.0.1:1"}]\nmodules:\n  m: {method: connect}\n' >"$D/method.yaml"
out=$("${IN_C[@]}" "$SYNPROBE" serve -c "$D/method.yaml" --listen 127.0.0.1:9124 --no-pin -m bpf 2>&1); rc=$?
diag "$(grep -F 'modules.m' <<<"$out")"
check "method connect under -m bpf: exit 2 naming modules.m.method" \
	[ $rc -eq 2 ] && grep -qF "key 'modules.m.method': connect, but this serve runs method bpf" <<<"$out"
sp_finish
