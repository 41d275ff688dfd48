#!/usr/bin/env bash
# synprobe serve in a namespace: rise/fall against a listener stopped and restarted (log lines and
# /metrics), /probe, /healthz, promtool check metrics, pinned maps for bpftool, SIGHUP with a good
# and a bad config, a real Prometheus scraping /metrics and /probe, SIGTERM exit 0.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools curl promtool prometheus bpftool
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=8080 CLOSED=8081 RISE=2 FALL=3
HTTP=127.0.0.1:9123 PROM=127.0.0.1:9090
CFG=$SP_TMP/serve.yaml LOG=$SP_TMP/serve.log
# Pins: `ip netns exec` remounts /sys, hiding /sys/fs/bpf; a bpffs of our own under $SP_TMP is
# seen alike by serve inside the namespace and by bpftool here.
BPFFS=$SP_TMP/bpffs PIN=$SP_TMP/bpffs/synprobe
mkdir -p "$BPFFS" && mount -t bpf bpf "$BPFFS" || { not_ok "bpffs mounted"; sp_finish; }
serve_cleanup() { sp_cleanup; umount "$BPFFS" 2>/dev/null; rm -rf "$SP_TMP"; }
trap serve_cleanup EXIT

cat >"$CFG" <<YAML
defaults:
  interval: 100ms
  timeout: 50ms
  rise: $RISE
  fall: $FALL
  labels: {env: test}
checks:
  - name: web
    target: $S4:$PORT
  - name: web6
    target: "[$S6]:$PORT"
    fast_interval: 50ms
  - name: closed
    target: $S4:$CLOSED
YAML

sp_listen srv $S4 $PORT || not_ok "listener on $S4"
srv=$LISTEN_PID
sp_listen srv6 $S6 $PORT || not_ok "listener on $S6"

ip netns exec "$NS_C" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --pin "$PIN" --log-level debug 2>"$LOG" &
SERVE_PID=$!
SP_PIDS+=("$SERVE_PID")

get() { in_c curl -sf --max-time 5 "http://$HTTP$1"; }
metrics() { get /metrics >"$SP_TMP/metrics.txt" && cat "$SP_TMP/metrics.txt"; }
# state_line CHECK STATE N: the log has the N-th state change of CHECK and it is to STATE.
state_changes() { grep '"msg":"state change"' "$LOG" | grep -c "\"check\":\"$1\""; }
has_state() { grep '"msg":"state change"' "$LOG" | grep "\"check\":\"$1\"" | sed -n "${3}p" | grep -q "\"new_state\":\"$2\""; }
# results_before_change CHECK N: the results of CHECK with the same success since the last
# result of the other kind, up to its N-th state change: "open 2" or "fail 3".
results_before_change() {
	grep "\"check\":\"$1\"" "$LOG" | awk -v n="$2" '
		/"msg":"check result"/ { ok = /"outcome":"open"/ ? "open" : "fail"
			if (ok != last) run = 0; run++; last = ok }
		/"msg":"state change"/ { if (++seen == n) { print last, run; exit } }'
}
up_value() { grep -E "^synprobe_up\{check=\"$1\"" "$SP_TMP/metrics.txt" | awk '{print $2}'; }
metric_value() { grep -F "$1" "$SP_TMP/metrics.txt" | awk '{print $2}'; }

check "serve answers /healthz" wait_until 10 eval 'get /healthz >/dev/null'
check "web turns UP (log)" wait_until 10 has_state web up 1
check "web UP after exactly rise=$RISE open checks ($(results_before_change web 1))" \
	[ "$(results_before_change web 1)" = "open $RISE" ]
wait_until 10 has_state closed down 1
check "closed turns DOWN after exactly fall=$FALL failures ($(results_before_change closed 1))" \
	[ "$(results_before_change closed 1)" = "fail $FALL" ]
check "web6 turns UP" wait_until 10 has_state web6 up 1
line=$(grep '"msg":"state change"' "$LOG" | grep '"check":"web"' | head -n 1)
diag "$line"
check "state change line: RFC 3339 ns time, level, check, target, states, outcome, rtt" \
	grep -qE '^\{"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z","level":"info","msg":"state change","check":"web","target":"10\.77\.0\.2:8080","address":"10\.77\.0\.2","old_state":"unknown","new_state":"up","outcome":"open","rtt_ns":[0-9]+' <<<"$line"

metrics >/dev/null
check "/metrics: synprobe_up web 1" [ "$(up_value web)" = 1 ]
check "/metrics: synprobe_up closed 0" [ "$(up_value closed)" = 0 ]
check "/metrics: labels from the config" grep -q '^synprobe_up{check="web",target="10.77.0.2:8080",env="test"} 1$' "$SP_TMP/metrics.txt"
check "/metrics: RTT histogram with us buckets" grep -qE '^synprobe_rtt_seconds_bucket\{check="web",.*le="0.001"\} [1-9]' "$SP_TMP/metrics.txt"
check "/metrics: BPF counters" grep -qE '^synprobe_bpf_packets_total\{program="ingress",verdict="matched"\} [1-9]' "$SP_TMP/metrics.txt"
check "/metrics: flows in flight" grep -qE '^synprobe_bpf_flows_in_flight\{map="sp_flows"\} [0-9]+$' "$SP_TMP/metrics.txt"
out=$(promtool check metrics <"$SP_TMP/metrics.txt" 2>&1); rc=$?
check "promtool check metrics accepts /metrics ($out)" [ $rc -eq 0 ]
diag "$(grep -E '^synprobe_(up|checks_total)\{check="web"' "$SP_TMP/metrics.txt" | tr '\n' ';')"

probe=$(get "/probe?target=$S4:$PORT&timeout=200ms")
check "/probe of the open port: probe_success 1" grep -qx 'probe_success 1' <<<"$probe"
check "/probe: our RTT" grep -qE '^synprobe_probe_rtt_seconds [0-9.e-]+$' <<<"$probe"
out=$(promtool check metrics <<<"$probe" 2>&1)
check "promtool check metrics accepts /probe ($out)" [ $? -eq 0 ]
probe=$(get "/probe?target=$S4:$CLOSED")
check "/probe of the closed port: probe_success 0" grep -qx 'probe_success 0' <<<"$probe"
code=$(in_c curl -s -o /dev/null -w '%{http_code}' "http://$HTTP/probe?target=nonsense")
check "/probe with a bad target: 400" [ "$code" = 400 ]

check "maps pinned in $PIN" test -e "$PIN/sp_stats" -a -e "$PIN/sp_flows" -a -e "$PIN/sp_socks" -a -e "$PIN/sp_events"
out=$(bpftool map dump pinned "$PIN/sp_stats" 2>&1)
check "bpftool dumps the pinned counters with field names" grep -q '"in_matched"' <<<"$out"

# The listener stops: DOWN after exactly `fall` failures; it comes back: UP after exactly `rise`.
kill "$srv"; wait "$srv" 2>/dev/null
check "web turns DOWN when the listener stops" wait_until 10 has_state web down 2
check "web DOWN after exactly fall=$FALL failures ($(results_before_change web 2))" \
	[ "$(results_before_change web 2)" = "fail $FALL" ]
metrics >/dev/null
check "/metrics: synprobe_up web 0" [ "$(up_value web)" = 0 ]
check "/metrics: 2 state changes of web" [ "$(metric_value 'synprobe_state_changes_total{check="web"')" = 2 ]
sp_listen srv $S4 $PORT || not_ok "listener on $S4 again"
check "web turns UP again when the listener is back" wait_until 10 has_state web up 3
check "web UP after exactly rise=$RISE open checks ($(results_before_change web 3))" \
	[ "$(results_before_change web 3)" = "open $RISE" ]
metrics >/dev/null
check "/metrics: synprobe_up web 1 again" [ "$(up_value web)" = 1 ]

# SIGHUP, good config: web and web6 unchanged (state and history kept), closed gone, new added.
sed -i "/name: closed/,\$d" "$CFG"
printf '  - name: added\n    target: %s:%s\n' $S4 $PORT >>"$CFG"
kill -HUP "$SERVE_PID"
check "SIGHUP: config reloaded, 2 kept, 1 added, 1 removed" \
	wait_until 5 grep -q '"msg":"config reloaded".*"checks":3,"kept":2,"added":1,"removed":1' "$LOG"
check "SIGHUP: the added check turns UP" wait_until 10 has_state added up 1
metrics >/dev/null
check "SIGHUP: web kept its history (3 state changes)" [ "$(metric_value 'synprobe_state_changes_total{check="web"')" = 3 ]
check "SIGHUP: the removed check is gone from /metrics" [ "$(grep -c 'check="closed"' "$SP_TMP/metrics.txt")" = 0 ]

# SIGHUP, bad config: refused and logged, the old one keeps running.
cp "$CFG" "$CFG.good"
printf '  - name: added\n    target: %s:%s\n' $S4 $PORT >>"$CFG"
n_before=$(metric_value 'synprobe_checks_total{check="web",target="10.77.0.2:8080",env="test",outcome="open"}')
kill -HUP "$SERVE_PID"
check "SIGHUP, bad config: refused with file, line and key" \
	wait_until 5 grep -qE '"level":"error","msg":"config reload refused, the old config keeps running".*serve.yaml:1[0-9]: key .checks\[3\]\.name.: name .added. is used twice' "$LOG"
wait_until 5 eval '[ "$(metrics | grep -c "^synprobe_config_reloads_total{result=\"failure\"} 1$")" = 1 ]'
check "SIGHUP, bad config: synprobe_config_last_reload_successful 0" grep -qx 'synprobe_config_last_reload_successful 0' "$SP_TMP/metrics.txt"
wait_until 5 eval '[ "$(metrics >/dev/null; metric_value "synprobe_checks_total{check=\"web\",target=\"10.77.0.2:8080\",env=\"test\",outcome=\"open\"}")" -gt "$n_before" ]'
check "SIGHUP, bad config: the old checks keep running" [ "$(metric_value 'synprobe_checks_total{check="web",target="10.77.0.2:8080",env="test",outcome="open"}')" -gt "$n_before" ]
cp "$CFG.good" "$CFG"

# A real Prometheus in the client namespace, loopback only, scrapes /metrics and /probe.
mkdir -p "$SP_TMP/prom"
cat >"$SP_TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 500ms
  scrape_timeout: 400ms
scrape_configs:
  - job_name: synprobe
    static_configs: [{targets: ['$HTTP']}]
  - job_name: synprobe_probe
    metrics_path: /probe
    static_configs: [{targets: ['$S4:$PORT', '$S4:$CLOSED']}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: '$HTTP'}
YAML
ip netns exec "$NS_C" prometheus --config.file="$SP_TMP/prometheus.yml" \
	--storage.tsdb.path="$SP_TMP/prom" --web.listen-address=$PROM >"$SP_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
SP_PIDS+=("$PROM_PID")
# query EXPR VALUE: the Prometheus query API returns one sample of EXPR with VALUE.
query() {
	in_c curl -sf --max-time 2 "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
		grep -q "\"value\":\[[0-9.]*,\"$2\"\]"
}
check "Prometheus: synprobe_up{check=\"web\"} is 1" wait_until 30 query 'synprobe_up{check="web",job="synprobe"}' 1
check "Prometheus: synprobe_up{check=\"web6\"} is 1" wait_until 10 query 'synprobe_up{check="web6"}' 1
check "Prometheus: probe_success of the open port is 1" wait_until 10 query "probe_success{instance=\"$S4:$PORT\"}" 1
check "Prometheus: probe_success of the closed port is 0" wait_until 10 query "probe_success{instance=\"$S4:$CLOSED\"}" 0
check "Prometheus: the synprobe target is up" wait_until 10 query 'up{job="synprobe"}' 1
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null

kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
check "SIGTERM: exit 0 (status $rc)" [ $rc -eq 0 ]
check "SIGTERM: pins removed" test ! -e "$PIN"
check "serve used method bpf" grep -q '"msg":"serving".*"method":"bpf"' "$LOG"
check "SIGTERM: logged stopping" grep -q '"msg":"stopping"' "$LOG"
umount "$BPFFS"
sp_finish
