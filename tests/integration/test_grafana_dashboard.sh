#!/usr/bin/env bash
# contrib/grafana/synprobe.json against a real Prometheus scraping a real serve (checks of an
# open, a closed and a filtered port): every PromQL expression of every panel, with Grafana's
# variables substituted, returns data through /api/v1/query; each variable's query finds values.
# Also the dashboard's shape: the ${DS_PROMETHEUS} input, every panel on it, unique ids, the
# panels the issue asks for, and only metric names serve exports.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "Prometheus evaluating the dashboard's queries over serve's /metrics"
sp_require_tools curl jq nft prometheus
DASH=$(cd "$(dirname "$0")/../.." && pwd)/contrib/grafana/synprobe.json
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

OPEN=8080 CLOSED=8081 FILTERED=8082
HTTP=127.0.0.1:9123 PROM=127.0.0.1:9090
# Scrapes every second (every 2 on an emulated CPU); Grafana's $__rate_interval is then
# max(4 x scrape interval, $__interval + scrape interval): 10s here, as Grafana would set it.
SCRAPE=1 RATE=10
sp_emulated && SCRAPE=2 RATE=20
CFG=$SP_TMP/serve.yaml LOG=$SP_TMP/serve.log

# jqe ARGS...: jq -e, quiet: true when there is an output and the last is neither false nor null
# (jq -e alone is true on empty input, e.g. when curl got no answer).
jqe() { local out; out=$(jq -e "$@") && [ -n "$out" ]; }

# The dashboard itself.
check "the dashboard is JSON" jqe . "$DASH"
check "the datasource is an input, DS_PROMETHEUS, of Prometheus" \
	jqe '.__inputs == [.__inputs[] | select(.name == "DS_PROMETHEUS" and .type == "datasource" and .pluginId == "prometheus")] and (.__inputs | length) == 1' "$DASH"
check "every panel and query uses \${DS_PROMETHEUS}" \
	jqe '[.. | objects | select(has("datasource") and (.type? != "dashboard")) | .datasource] | all(.uid == "${DS_PROMETHEUS}")' "$DASH"
check "panel ids are unique" jqe '[.panels[].id] | length == (unique | length)' "$DASH"
check "an RTT heatmap of synprobe_rtt_seconds buckets" \
	jqe '[.panels[] | select(.type == "heatmap") | .targets[] | select(.format == "heatmap" and (.expr | test("synprobe_rtt_seconds_bucket")))] | length == 1' "$DASH"
check "up/down per check as a state timeline" \
	jqe '[.panels[] | select(.type == "state-timeline") | .targets[].expr | test("synprobe_up")] | any' "$DASH"
for m in synprobe_checks_total synprobe_state_changes_total synprobe_syn_retransmits_total \
	synprobe_bpf_packets_total synprobe_checks_in_flight; do
	check "a panel queries $m" jqe --arg m "$m" '[.. | objects | .expr? // empty | test($m)] | any' "$DASH"
done

in_s nft -f - <<NFT || not_ok "nft drops SYNs to $FILTERED"
table inet sp_dash {
	chain input { type filter hook input priority 0; tcp dport $FILTERED drop; }
}
NFT
sp_listen srv $S4 $OPEN || not_ok "listener on $S4"
cat >"$CFG" <<YAML
defaults:
  interval: 200ms
  timeout: 100ms
  rise: 1
  fall: 1
checks:
  - {name: open, target: "$S4:$OPEN"}
  - {name: closed, target: "$S4:$CLOSED"}
  - {name: filtered, target: "$S4:$FILTERED"}
YAML
ip netns exec "$NS_C" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --no-pin 2>"$LOG" &
SP_PIDS+=("$!")

mkdir -p "$SP_TMP/prom"
cat >"$SP_TMP/prometheus.yml" <<YAML
global:
  scrape_interval: ${SCRAPE}s
  scrape_timeout: ${SCRAPE}s
scrape_configs:
  - job_name: synprobe
    static_configs: [{targets: ['$HTTP']}]
YAML
ip netns exec "$NS_C" prometheus --config.file="$SP_TMP/prometheus.yml" \
	--storage.tsdb.path="$SP_TMP/prom" --web.listen-address=$PROM >"$SP_TMP/prometheus.log" 2>&1 &
SP_PIDS+=("$!")

# query EXPR: the JSON answer of /api/v1/query for EXPR now.
query() { in_c curl -sf --max-time 5 "http://$PROM/api/v1/query" --data-urlencode "query=$1"; }
# scraped N: Prometheus has N scrapes of serve in the last minute, each up.
scraped() { jqe --argjson n "$1" '.data.result[0].value[1] | tonumber >= $n' <<<"$(query 'sum_over_time(up{job="synprobe"}[1m])')" 2>/dev/null; }
# The rate windows below are $RATE s: enough samples in them once 5 scrapes are in.
check "Prometheus scraped serve 5 times" wait_until "$(sp_slow 30)" scraped 5
check "every check has a state" wait_until "$(sp_slow 10)" eval \
	'[ "$(query "count(synprobe_up)" | jq -r ".data.result[0].value[1]")" = 3 ]'

# Grafana's variables: the built-in intervals as Grafana would set them for this scrape interval,
# every template variable at its "All" value (allValue .*).
subst() {
	sed -e 's/\$__rate_interval/'$RATE's/g' -e 's/\$__interval/'$SCRAPE's/g' -e 's/\$job\b/.*/g' \
		-e 's/\$instance\b/.*/g' -e 's/\$check\b/.*/g'
}
in_c curl -sf --max-time 5 "http://$HTTP/metrics" >"$SP_TMP/metrics.txt"
n=0
while IFS= read -r expr; do
	n=$((n + 1))
	q=$(subst <<<"$expr")
	if [[ "$q" == *'$'* ]]; then
		not_ok "panel query $n has a variable the test does not know: $q"
		continue
	fi
	out=$(query "$q")
	if jqe '.status == "success" and (.data.result | length) > 0' <<<"$out"; then
		ok "panel query $n returns data: $q"
	else
		not_ok "panel query $n returns data: $q"
		diag "answer: $out"
	fi
done < <(jq -r '.. | objects | select(has("targets")) | .targets[].expr' "$DASH")
check "the dashboard has at least 10 panel queries ($n)" [ "$n" -ge 10 ]

# The metric names of the queries are names serve exports.
for m in $(jq -r '.. | objects | .expr? // empty' "$DASH" | grep -oE 'synprobe_[a-z_]+' | sort -u); do
	m=${m%_bucket}
	check "serve exports $m" grep -qE "^# TYPE $m " "$SP_TMP/metrics.txt"
done

# Template variables: label_values(SELECTOR, LABEL) finds values of LABEL.
while IFS=$'\t' read -r name def; do
	sel=$(sed -E 's/^label_values\((.*), *([a-z_]+)\)$/\1/' <<<"$def" | subst)
	label=$(sed -E 's/^label_values\((.*), *([a-z_]+)\)$/\2/' <<<"$def")
	check "variable \$$name: $label values of $sel" \
		jqe --arg l "$label" '[.data.result[].metric[$l] // empty] | length > 0' <<<"$(query "$sel")"
done < <(jq -r '.templating.list[] | [.name, .definition] | @tsv' "$DASH")

check "the filtered check timed out (outcome timeout counted)" \
	jqe '(.data.result | length) > 0' <<<"$(query 'synprobe_checks_total{check="filtered",outcome="timeout"} > 0')"
sp_finish
