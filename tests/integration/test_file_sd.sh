#!/usr/bin/env bash
# synprobe serve with file_sd: targets from Prometheus file_sd files, re-read on change without a
# restart. A file is edited (a target added, labels changed, a target removed), a new file appears
# (written aside and renamed in), a broken file is written and fixed, a bad label is refused; each
# step is observed on /metrics (synprobe_up, synprobe_config_last_reload_successful) and awaited.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "file_sd files read and re-read (inotify)"
command -v curl >/dev/null || { skip "file_sd" "curl is not installed (scripts/install-deps.sh)"; exit 0; }
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }

PORT=8080 CLOSED=8081
HTTP=127.0.0.1:9123
CFG=$SP_TMP/serve.yaml LOG=$SP_TMP/serve.log SD=$SP_TMP/sd
mkdir -p "$SD"
# No checks of its own: every check comes from the files. Relative to the config's directory.
cat >"$CFG" <<YAML
defaults:
  interval: 100ms
  timeout: 50ms
  rise: 1
  fall: 1
  labels: {env: test}
file_sd: [sd/*.json, sd/*.yml]
YAML
cat >"$SD/a.json" <<JSON
[{"targets": ["$S4:$PORT"], "labels": {"team": "a", "__meta_dropped": "x"}}]
JSON

sp_listen srv $S4 $PORT || not_ok "listener on $S4"
sp_listen srv6 $S6 $PORT || not_ok "listener on $S6"
ip netns exec "$NS_C" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --no-pin 2>"$LOG" &
SERVE_PID=$!
SP_PIDS+=("$SERVE_PID")

M=$SP_TMP/metrics.txt
metrics() { in_c curl -sf --max-time 5 "http://$HTTP/metrics" >"$M"; }
# has LINE: /metrics now has this exact line.
has() { metrics && grep -qxF "$1" "$M"; }
# lacks TEXT: /metrics now has no line with TEXT.
lacks() { metrics && ! grep -qF "$1" "$M"; }
value() { grep -F "$1" "$M" | awk '{print $2}'; }
T=$(sp_slow 10)
UP_A="synprobe_up{check=\"$S4:$PORT\",target=\"$S4:$PORT\",env=\"test\",team=\"a\"}"

check "a target of a.json is UP, with the group's labels over the defaults" wait_until $T has "$UP_A 1"
check "labels starting with __ are dropped" [ "$(grep -c __meta "$M")" = 0 ]
check "synprobe_config_last_reload_successful 1" grep -qx 'synprobe_config_last_reload_successful 1' "$M"
check "synprobe_file_sd_files 1" grep -qx 'synprobe_file_sd_files 1' "$M"
changes=$(value "synprobe_state_changes_total{check=\"$S4:$PORT\"")
opens=$(value "synprobe_checks_total{check=\"$S4:$PORT\",target=\"$S4:$PORT\",env=\"test\",team=\"a\",outcome=\"open\"}")

# Edited in place: a target added. The one that stays keeps its state and history.
cat >"$SD/a.json" <<JSON
[{"targets": ["$S4:$PORT", "$S4:$CLOSED"], "labels": {"team": "a"}}]
JSON
check "a target added to a.json: checked, DOWN" \
	wait_until $T has "synprobe_up{check=\"$S4:$CLOSED\",target=\"$S4:$CLOSED\",env=\"test\",team=\"a\"} 0"
check "the target that stayed kept its state (state changes $changes)" \
	[ "$(value "synprobe_state_changes_total{check=\"$S4:$PORT\"")" = "$changes" ]
now=$(value "synprobe_checks_total{check=\"$S4:$PORT\",target=\"$S4:$PORT\",env=\"test\",team=\"a\",outcome=\"open\"}")
check "the target that stayed kept its history ($opens <= $now open checks)" [ "$now" -ge "$opens" ]
check "logged: file_sd file read with 2 targets" grep -q '"msg":"file_sd file read","file":"[^"]*sd/a.json","targets":2' "$LOG"

# Labels changed, a target removed.
cat >"$SD/a.json" <<JSON
[{"targets": ["$S4:$PORT"], "labels": {"team": "b"}}]
JSON
check "labels changed: the check has the new label" \
	wait_until $T has "synprobe_up{check=\"$S4:$PORT\",target=\"$S4:$PORT\",env=\"test\",team=\"b\"} 1"
check "labels changed: the old series is gone" lacks 'team="a"'
check "a target removed from a.json: gone from /metrics" lacks "check=\"$S4:$CLOSED\""

# A new file, written aside (a name the globs do not match) and renamed in.
printf -- '- targets: ["[%s]:%s"]\n  labels: {team: six}\n' $S6 $PORT >"$SD/.b.yml.tmp"
mv "$SD/.b.yml.tmp" "$SD/b.yml"
check "a new file b.yml: its target is UP" \
	wait_until $T has "synprobe_up{check=\"[$S6]:$PORT\",target=\"[$S6]:$PORT\",env=\"test\",team=\"six\"} 1"
check "synprobe_file_sd_files 2" grep -qx 'synprobe_file_sd_files 2' "$M"

# A broken file: refused, its targets stay, the reload gauge says so.
changes=$(value "synprobe_state_changes_total{check=\"$S4:$PORT\"")
printf '[{"targets": ["%s:%s"' $S4 $PORT >"$SD/a.json"
check "a broken a.json: synprobe_config_last_reload_successful 0" \
	wait_until $T has 'synprobe_config_last_reload_successful 0'
check "a broken a.json: synprobe_file_sd_failed_files 1" grep -qx 'synprobe_file_sd_failed_files 1' "$M"
check "a broken a.json: its target is still checked, UP" grep -qxF "synprobe_up{check=\"$S4:$PORT\",target=\"$S4:$PORT\",env=\"test\",team=\"b\"} 1" "$M"
check "a broken a.json: logged with the file and what is wrong" \
	grep -q '"level":"error","msg":"file_sd file refused, its previous targets stay","file":"[^"]*sd/a.json","targets":1,"error":"[^"]*sd/a.json: not valid JSON: the text ends early' "$LOG"
ts=$(value synprobe_config_last_reload_success_timestamp_seconds)

# Fixed: 1 again, the target kept its state throughout.
cat >"$SD/a.json" <<JSON
[{"targets": ["$S4:$PORT"], "labels": {"team": "b"}}]
JSON
check "a.json fixed: synprobe_config_last_reload_successful 1" \
	wait_until $T has 'synprobe_config_last_reload_successful 1'
check "a.json fixed: the success timestamp moved on" \
	awk -v a="$ts" -v b="$(value synprobe_config_last_reload_success_timestamp_seconds)" 'BEGIN { exit !(b > a) }'
check "a.json fixed: the target kept its state (state changes $changes)" \
	[ "$(value "synprobe_state_changes_total{check=\"$S4:$PORT\"")" = "$changes" ]

# A label name Prometheus does not take: refused, naming the file and the entry.
cat >"$SD/a.json" <<JSON
[{"targets": ["$S4:$PORT"]}, {"targets": ["$S4:$CLOSED"], "labels": {"bad-name": "x"}}]
JSON
check "a bad label name: synprobe_config_last_reload_successful 0" \
	wait_until $T has 'synprobe_config_last_reload_successful 0'
check "a bad label name: logged with file, entry and label" \
	grep -q 'sd/a.json: entry \[1\].labels.bad-name: not a Prometheus label name' "$LOG"
check "a bad label name: the file's targets are as before" lacks "check=\"$S4:$CLOSED\""

# The file removed: its targets go; the other file's stay.
rm "$SD/a.json"
check "a.json removed: its target is gone" wait_until $T lacks "check=\"$S4:$PORT\""
check "a.json removed: synprobe_config_last_reload_successful 1" grep -qx 'synprobe_config_last_reload_successful 1' "$M"
check "a.json removed: b.yml's target stays" grep -qF "check=\"[$S6]:$PORT\"" "$M"

# --check-config reads the files too.
printf '[{"targets": ["nonsense"]}]\n' >"$SD/c.json"
out=$("$SYNPROBE" serve -c "$CFG" --check-config 2>&1); rc=$?
check "--check-config with a bad file: exit 2 ($out)" [ $rc -eq 2 ]
check "--check-config names the file and the entry" grep -q 'sd/c.json: entry \[0\].targets\[0\]: ' <<<"$out"
rm "$SD/c.json"
out=$("$SYNPROBE" serve -c "$CFG" --check-config 2>&1)
check "--check-config: good ($out)" grep -q 'serve.yaml: 1 checks (1 from 1 file_sd files), good' <<<"$out"

kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; rc=$?
check "SIGTERM: exit 0 (status $rc)" [ $rc -eq 0 ]
sp_finish
