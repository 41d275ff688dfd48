#!/usr/bin/env bash
# synprobe serve --web.config.file (issue 10, "Exporter-style HTTP security"), in a namespace,
# with certificates made by openssl for this run:
# - TLS: curl with the CA gets 200; plain HTTP to the TLS port gets no answer;
# - basic auth: no credentials, a wrong password, an unknown user: 401 with WWW-Authenticate;
#   the right password: 200;
# - a real Prometheus scrapes serve over TLS with basic auth: up == 1 through its HTTP API;
# - a flood of wrong passwords (bcrypt runs bounded, verified pairs cached) leaves /metrics
#   answered 200 for the verified credentials, and the flood is refused 503 beyond the bound;
# - the file re-read on change: a new user is accepted without restart; min_version TLS13
#   refuses a TLS 1.2 client; client_auth_type RequireAndVerifyClientCert, RequireAnyClientCert,
#   VerifyClientCertIfGiven with no certificate, one from the CA, one from another CA;
#   a broken edit keeps the old settings and logs one line naming the file;
# - a bad file at start (broken YAML, a missing cert_file, TLS options without a cert): one line
#   naming the file, exit 2.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "TLS and basic auth of serve's HTTP listener"
sp_require_tools curl openssl python3 prometheus
python3 -W ignore -c 'import crypt' 2>/dev/null || { skip "serve TLS" "python3 has no crypt module (bcrypt hashes)"; exit 0; }

sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
PORT=8080 WEB=9443 PROM=9490
CFG=$SP_TMP/serve.yaml W=$SP_TMP/web.yml
URL=https://127.0.0.1:$WEB
sp_listen srv $S4 $PORT || not_ok "listener on $S4"
printf 'defaults:\n  interval: 1s\n  timeout: 200ms\nchecks:\n  - name: web\n    target: %s:%s\n' \
	$S4 $PORT >"$CFG"

# Certificates: a CA, the server's (for 127.0.0.1), a client's from the CA, one from another CA.
sp_mkcert ca 2 "/CN=synprobe test CA" &&
	sp_mkcert other 2 "/CN=another CA" &&
	sp_mkcert srv 2 /CN=127.0.0.1 ca $'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth' &&
	sp_mkcert cli 2 /CN=client ca $'extendedKeyUsage=clientAuth' &&
	sp_mkcert rogue 2 /CN=client other $'extendedKeyUsage=clientAuth' &&
	sp_mkcert srv2 2 /CN=127.0.0.1 other $'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth' ||
	{ not_ok "openssl makes the certificates"; sp_finish; }
bcrypt() { python3 -W ignore -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)))' "$1"; }
HASH_PROM=$(bcrypt secret) HASH_NEW=$(bcrypt newpass)

# web_config [TLS LINE...]: web.yml with the server certificate, then the lines given (indented
# under tls_server_config), then the users; written to a new file and renamed in.
USERS=("prom: $HASH_PROM")
web_config() {
	{
		printf 'tls_server_config:\n  cert_file: srv.pem\n  key_file: %s/srv.key\n' "$SP_TMP"
		if [ $# -gt 0 ]; then printf '  %s\n' "$@"; fi
		printf 'basic_auth_users:\n'
		printf '  %s\n' "${USERS[@]}"
	} >"$W.new" && mv "$W.new" "$W"
}
web_config

# get [CURL ARGS...]: the HTTP status of GET $URL/metrics from the client namespace (000: no
# answer); headers in $SP_TMP/hdr.
CA=ca # the CA that signed the server's certificate
get() { in_c curl -s --max-time 5 --cacert "$SP_TMP/$CA.pem" -D "$SP_TMP/hdr" -o "$SP_TMP/body" -w '%{http_code}' "$@" "$URL/metrics"; }
reloads() { grep -c '"web config reloaded"' "$LOG"; }
refused() { grep -c '"web config not reloaded' "$LOG"; }
# Rewrites web.yml and waits for serve to take it: serve looks at the file when a connection or
# a request comes, at most once a second (as exporter-toolkit, which reads it per request).
reload_with() {
	local before
	before=$(reloads)
	web_config "$@"
	reloaded_since() { get -k >/dev/null; [ "$(reloads)" -gt "$before" ]; }
	wait_until "$(sp_slow 10)" reloaded_since
}

LOG=$SP_TMP/serve.log
# `ip netns exec` execs serve in place: $! is serve, signals reach it.
ip netns exec "$NS_C" "$SYNPROBE" serve -c "$CFG" --no-pin --listen 127.0.0.1:$WEB --web.config.file "$W" 2>"$LOG" &
SERVE_PID=$!
SP_PIDS+=("$SERVE_PID")
up() { [ "$(get -u prom:secret)" = 200 ]; }
if ! wait_until "$(sp_slow 15)" up; then
	not_ok "serve over TLS answers /metrics"
	diag "$(tail -3 "$LOG")"
	sp_finish
fi

# Prometheus first (it takes seconds to start): TLS with the CA, basic auth, 1 s scrapes.
PROM_DIR=$SP_TMP/prom
mkdir -p "$PROM_DIR/data"
cat >"$PROM_DIR/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 900ms}
scrape_configs:
  - job_name: synprobe_tls
    scheme: https
    tls_config: {ca_file: $SP_TMP/ca.pem}
    basic_auth: {username: prom, password: secret}
    static_configs: [{targets: ['127.0.0.1:$WEB']}]
EOF
ip netns exec "$NS_C" prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
	--web.listen-address=127.0.0.1:$PROM >"$PROM_DIR/log" 2>&1 &
PROM_PID=$!
SP_PIDS+=("$PROM_PID")

check "TLS with the CA, right password: 200" up
code=$(in_c curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WEB/metrics")
check "plain HTTP to the TLS port: no answer (got $code)" [ "$code" = 000 ]
code=$(get)
check "no credentials: 401 (got $code)" [ "$code" = 401 ]
check "401 asks for basic auth (WWW-Authenticate: Basic realm=\"synprobe\")" \
	grep -qi '^WWW-Authenticate: Basic realm="synprobe"' "$SP_TMP/hdr"
code=$(get -u prom:wrong)
check "wrong password: 401 (got $code)" [ "$code" = 401 ]
code=$(get -u nobody:secret)
check "unknown user: 401 (got $code)" [ "$code" = 401 ]
code=$(in_c curl -s --max-time 5 -o /dev/null -w '%{http_code}' -k -u prom:secret "$URL/healthz")
check "/healthz is behind basic auth too: 200 with it (got $code)" [ "$code" = 200 ]

# Prometheus' view: up{job="synprobe_tls"} == 1.
prom_up() {
	in_c curl -s --max-time 2 "http://127.0.0.1:$PROM/api/v1/query" \
		--data-urlencode 'query=up{job="synprobe_tls"}' |
		grep -q '"value":\[[0-9.]*,"1"\]'
}
if wait_until "$(sp_slow 40)" prom_up; then
	ok "Prometheus scrapes serve over TLS with basic auth: up == 1"
else
	not_ok "Prometheus scrapes serve over TLS with basic auth: up == 1"
	diag "$(in_c curl -s "http://127.0.0.1:$PROM/api/v1/targets" | head -c 600)"
fi
kill "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null

# The flood: 12 clients sending wrong passwords for 3 s, while the verified credentials ask for
# /metrics; every one of those must be answered 200, within the 5 s of curl's --max-time.
flood() {
	local end=$((SECONDS + 3)) i=0
	while [ $SECONDS -lt $end ]; do
		in_c curl -s --max-time 5 -k -o /dev/null -w '%{http_code}\n' -u "prom:bad$1x$i" "$URL/metrics"
		i=$((i + 1))
	done
}
flood_pids=()
for i in $(seq 12); do
	flood "$i" >"$SP_TMP/flood.$i" &
	flood_pids+=($!)
done
metrics_codes='' metrics_max_s=0
end=$((SECONDS + 3))
while [ $SECONDS -lt $end ]; do
	read -r code t < <(in_c curl -s --max-time 5 --cacert "$SP_TMP/ca.pem" -o /dev/null \
		-w '%{http_code} %{time_total}\n' -u prom:secret "$URL/metrics")
	metrics_codes+="$code "
	metrics_max_s=$(awk -v a="$metrics_max_s" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
done
wait "${flood_pids[@]}"
cat "$SP_TMP"/flood.* >"$SP_TMP/flood"
n_ok=$(echo "$metrics_codes" | tr ' ' '\n' | grep -c '^200$')
n_all=$(echo "$metrics_codes" | wc -w)
n401=$(grep -c '^401$' "$SP_TMP/flood") n503=$(grep -c '^503$' "$SP_TMP/flood")
diag "flood: $n401 answered 401 and $n503 503 of $(wc -l <"$SP_TMP/flood"); /metrics: $n_ok of $n_all 200, the slowest in $metrics_max_s s"
check "during a flood of wrong passwords, /metrics with verified credentials: all 200 ($n_ok of $n_all)" \
	[ "$n_all" -gt 0 -a "$n_ok" -eq "$n_all" ]
check "the flood's password checks are bounded: some answered 503 ($n503)" [ "$n503" -gt 0 ]
# On an emulated CPU one bcrypt run of cost 10 can outlast curl's 5 s: no 401 is then seen.
if sp_emulated; then
	skip "the flood's wrong passwords answered 401 ($n401)" "emulated CPU: bcrypt outlasts curl's 5 s"
else
	check "the flood's wrong passwords answered 401 ($n401)" [ "$n401" -gt 0 ]
fi
check "the flood got no 200" [ "$(grep -c '^200$' "$SP_TMP/flood")" -eq 0 ]

# Re-read on change.
code=$(get -u new:newpass)
check "a user not in the file yet: 401 (got $code)" [ "$code" = 401 ]
USERS+=("new: $HASH_NEW")
check "a new user is taken without restart (logged)" reload_with
code=$(get -u new:newpass)
check "the new user: 200 (got $code)" [ "$code" = 200 ] || diag "$(cat "$SP_TMP/body")"

check "min_version TLS13 taken" reload_with "min_version: TLS13"
code=$(get -u prom:secret --tls-max 1.2)
check "min_version TLS13: a TLS 1.2 client is refused (got $code)" [ "$code" = 000 ]
code=$(get -u prom:secret --tlsv1.3)
check "min_version TLS13: a TLS 1.3 client gets 200 (got $code)" [ "$code" = 200 ]

CLI=(--cert "$SP_TMP/cli.pem" --key "$SP_TMP/cli.key")
ROGUE=(--cert "$SP_TMP/rogue.pem" --key "$SP_TMP/rogue.key")
check "RequireAndVerifyClientCert taken" reload_with "client_ca_file: ca.pem" \
	"client_auth_type: RequireAndVerifyClientCert"
code=$(get -u prom:secret)
check "RequireAndVerifyClientCert: no client certificate: refused (got $code)" [ "$code" = 000 ]
code=$(get -u prom:secret "${ROGUE[@]}")
check "RequireAndVerifyClientCert: a certificate from another CA: refused (got $code)" [ "$code" = 000 ]
code=$(get -u prom:secret "${CLI[@]}")
check "RequireAndVerifyClientCert: a certificate from the CA: 200 (got $code)" [ "$code" = 200 ]
code=$(get "${CLI[@]}")
check "RequireAndVerifyClientCert: the certificate does not replace the password: 401 (got $code)" \
	[ "$code" = 401 ]

check "RequireAnyClientCert taken" reload_with "client_auth_type: RequireAnyClientCert"
code=$(get -u prom:secret)
check "RequireAnyClientCert: no client certificate: refused (got $code)" [ "$code" = 000 ]
code=$(get -u prom:secret "${ROGUE[@]}")
check "RequireAnyClientCert: any certificate: 200 (got $code)" [ "$code" = 200 ]

check "VerifyClientCertIfGiven taken" reload_with "client_ca_file: ca.pem" \
	"client_auth_type: VerifyClientCertIfGiven"
code=$(get -u prom:secret)
check "VerifyClientCertIfGiven: no client certificate: 200 (got $code)" [ "$code" = 200 ]
code=$(get -u prom:secret "${ROGUE[@]}")
check "VerifyClientCertIfGiven: a certificate from another CA: refused (got $code)" [ "$code" = 000 ]
code=$(get -u prom:secret "${CLI[@]}")
check "VerifyClientCertIfGiven: a certificate from the CA: 200 (got $code)" [ "$code" = 200 ]

# Certificate rotation: a new certificate and key (from the other CA) in place of the old ones.
cp "$SP_TMP/srv2.key" "$SP_TMP/srv.key.new" && cp "$SP_TMP/srv2.pem" "$SP_TMP/srv.pem.new" &&
	mv "$SP_TMP/srv.key.new" "$SP_TMP/srv.key" && mv "$SP_TMP/srv.pem.new" "$SP_TMP/srv.pem"
rotated() { [ "$(CA=other get -u prom:secret "${CLI[@]}")" = 200 ]; }
check "a new certificate in cert_file and key_file is served without restart" \
	wait_until "$(sp_slow 10)" rotated
code=$(get -u prom:secret "${CLI[@]}")
check "the old CA no longer verifies the server (got $code)" [ "$code" = 000 ]
CA=other

# A broken edit: one log line naming the file and the fault; the old settings stay.
before=$(refused)
printf 'basic_auth_users:\n  prom: not-a-hash\n' >"$W.new" && mv "$W.new" "$W"
refused_since() { get -k >/dev/null; [ "$(refused)" -gt "$before" ]; }
check "a broken edit is logged" wait_until "$(sp_slow 10)" refused_since
line=$(grep '"web config not reloaded' "$LOG" | tail -1)
check "the log line names the file and the fault" \
	grep -q "web.yml:2: key 'basic_auth_users.prom': not a bcrypt hash" <<<"$line"
code=$(get -u prom:secret "${ROGUE[@]}")
check "the old settings stay: VerifyClientCertIfGiven still refuses another CA's certificate (got $code)" \
	[ "$code" = 000 ]
code=$(get -u new:newpass "${CLI[@]}")
check "the old settings stay: the new user still 200 (got $code)" [ "$code" = 200 ]
check "the broken file is logged once" [ "$(refused)" -eq $((before + 1)) ]
check "serve is still running" kill -0 "$SERVE_PID"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
check "SIGTERM: exit 0 (status $rc)" [ $rc -eq 0 ]
check "no sanitizer report in serve's log" \
	eval '! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$LOG"'

# Bad files at start: one line naming the file, exit 2, before anything is attached.
bad_start() { # NAME: serve with $W, expects exit 2 and one line naming $W
	local rc lines
	in_c "$SYNPROBE" serve -c "$CFG" --no-pin --listen 127.0.0.1:$WEB --web.config.file "$W" \
		>/dev/null 2>"$SP_TMP/bad.log"
	rc=$?
	lines=$(wc -l <"$SP_TMP/bad.log")
	check "$1: exit 2, one line naming the file (status $rc, $lines lines: $(head -c 200 "$SP_TMP/bad.log"))" \
		eval '[ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q "web.yml" "$SP_TMP/bad.log"'
}
printf 'tls_server_config: [\n' >"$W"
bad_start "broken YAML"
printf 'tls_server_config:\n  cert_file: missing.pem\n  key_file: srv.key\n' >"$W"
bad_start "a missing cert_file"
printf 'tls_server_config:\n  min_version: TLS13\n' >"$W"
bad_start "min_version without cert_file"
printf 'tls_server_config:\n  cert_file: srv.pem\n  key_file: srv.key\n  client_ca_file: ca.pem\n' >"$W"
bad_start "client_ca_file without client_auth_type"
printf 'basic_auth_users:\n  prom: %s\nweb_listen: x\n' "$HASH_PROM" >"$W"
bad_start "an unknown key"
sp_finish
