#!/usr/bin/env bash
# synprobe serve --shard K/N: three serves, each in its own namespace (three hosts), on one config
# of 30 checks together run every check exactly once, and each runs the checks Prometheus'
# hashmod (md5, last 8 bytes, big-endian, mod N; computed here in Python) puts on its shard; each
# exports synprobe_shard_info; --shard wins over the config's shard; SIGHUP re-applies the shard
# to a grown config; /probe is not sharded; bad --shard values are refused with exit 2.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "the hashmod split of serve's checks"
sp_require_tools curl python3

N=3 PORT=8080 HTTP=127.0.0.1:9123
CFG=$SP_TMP/serve.yaml
NS=(sph$$a sph$$b sph$$c)
shard_cleanup() {
	sp_cleanup
	local ns
	for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
trap shard_cleanup EXIT

# write_config COUNT: checks check-00 .. check-(COUNT-1), all of the listener on each host's
# loopback; the config's own shard 0/2 is overridden by --shard.
write_config() {
	local i
	printf 'defaults:\n  interval: 200ms\n  timeout: 100ms\nshard: 0/2\nchecks:\n' >"$CFG.new"
	for ((i = 0; i < $1; i++)); do
		printf '  - name: check-%02d\n    target: 127.0.0.1:%s\n' "$i" "$PORT" >>"$CFG.new"
	done
	mv "$CFG.new" "$CFG"
}

# expected K N COUNT: the names of check-00 .. check-(COUNT-1) on shard K of N, sorted, by
# Prometheus' rule (relabel.go, action hashmod), not by synprobe's code.
expected() {
	python3 - "$@" <<'PY'
import hashlib, sys
k, n, count = map(int, sys.argv[1:])
for i in range(count):
    name = "check-%02d" % i
    if int.from_bytes(hashlib.md5(name.encode()).digest()[8:], "big") % n == k:
        print(name)
PY
}

get() { nsenter --net="/run/netns/${NS[$1]}" curl -sf --max-time 5 "http://$HTTP$2"; }
metrics() { get "$1" /metrics >"$SP_TMP/metrics.$1"; }
# exported K: the checks serve K exports (names of synprobe_checks_total), sorted.
exported() { sed -n 's/^synprobe_checks_total{check="\([^"]*\)".*/\1/p' "$SP_TMP/metrics.$1" | sort -u; }
# results_for K COUNT: serve K has a result for each of its expected checks.
results_for() {
	local name
	metrics "$1" || return 1
	for name in $(expected "$1" $N "$2"); do
		grep -q "^synprobe_check_success{check=\"$name\",[^}]*} 1$" "$SP_TMP/metrics.$1" || return 1
	done
}

for ns in "${NS[@]}"; do
	ip netns add "$ns" && ip -n "$ns" link set lo up || { not_ok "namespace $ns"; sp_finish; }
done
write_config 30
for k in 0 1 2; do
	nsenter --net="/run/netns/${NS[$k]}" "$SP_LISTEN" 127.0.0.1 $PORT >"$SP_TMP/listen.$k" 2>&1 &
	SP_PIDS+=($!)
	wait_until 5 grep -qs listening "$SP_TMP/listen.$k" || not_ok "listener in ${NS[$k]}"
done

# One config, three hosts: --shard K/3 on each.
for k in 0 1 2; do
	nsenter --net="/run/netns/${NS[$k]}" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --no-pin \
		--shard $k/$N 2>"$SP_TMP/serve.$k.log" &
	PIDS[$k]=$!
	SP_PIDS+=($!)
done
for k in 0 1 2; do
	want=$(expected $k $N 30 | wc -l)
	check "shard $k/$N: a result for each of its $want checks" wait_until "$(sp_slow 15)" results_for $k 30
	check "shard $k/$N: synprobe_shard_info{shard=\"$k\",shards=\"$N\"} 1" \
		grep -qx "synprobe_shard_info{shard=\"$k\",shards=\"$N\"} 1" "$SP_TMP/metrics.$k"
	check "shard $k/$N: exports exactly the checks hashmod puts on it" \
		[ "$(exported $k)" = "$(expected $k $N 30)" ]
	check "shard $k/$N: the log says --shard wins over the config's shard 0/2" \
		grep -q '"msg":"--shard is given: the config.s shard is not used".*"config_shard":"0/2"' "$SP_TMP/serve.$k.log"
	check "shard $k/$N: the serving line has the shard and the config's 30 checks" \
		grep -q "\"msg\":\"serving\",\"config\":.*\"checks\":$want,.*\"shard\":\"$k/$N\",\"config_checks\":30" "$SP_TMP/serve.$k.log"
done
all=$(for k in 0 1 2; do exported $k; done)
diag "checks per shard: $(for k in 0 1 2; do exported $k | wc -l; done | tr '\n' ' ')"
check "the three shards run 30 checks in all, each once" \
	[ "$(sort <<<"$all" | uniq | wc -l)" = 30 -a "$(wc -l <<<"$all")" = 30 ]

# SIGHUP with 40 checks: each serve re-applies its shard; still every check exactly once.
write_config 40
for k in 0 1 2; do kill -HUP "${PIDS[$k]}"; done
for k in 0 1 2; do
	check "SIGHUP: shard $k/$N reloaded with its shard" \
		wait_until 5 grep -q "\"msg\":\"config reloaded\".*\"shard\":\"$k/$N\",\"config_checks\":40" "$SP_TMP/serve.$k.log"
	check "SIGHUP: shard $k/$N has a result for each of its checks of 40" wait_until "$(sp_slow 15)" results_for $k 40
	check "SIGHUP: shard $k/$N exports exactly its checks of 40" [ "$(exported $k)" = "$(expected $k $N 40)" ]
	check "SIGHUP: shard $k/$N still exports its shard_info" \
		grep -qx "synprobe_shard_info{shard=\"$k\",shards=\"$N\"} 1" "$SP_TMP/metrics.$k"
done
all=$(for k in 0 1 2; do exported $k; done)
check "SIGHUP: the three shards run 40 checks in all, each once" \
	[ "$(sort <<<"$all" | uniq | wc -l)" = 40 -a "$(wc -l <<<"$all")" = 40 ]

# /probe is not sharded: each serve checks any target asked for.
for k in 0 1 2; do
	check "/probe on shard $k/$N checks any target" eval \
		"get $k '/probe?target=127.0.0.1:$PORT&timeout=500ms' | grep -qx 'probe_success 1'"
done

# The config's shard key, when no --shard is given (--check-config says what it would run).
out=$("$SYNPROBE" serve -c "$CFG" --check-config 2>&1)
check "the config's shard 0/2: --check-config runs $(expected 0 2 40 | wc -l) of 40 ($out)" \
	[ "$out" = "$CFG: 40 checks, good; shard 0/2 runs $(expected 0 2 40 | wc -l) of them" ]

# Bad values: one line naming --shard, exit 2.
for bad in 3/3 0/0 junk -1/3 1/ 1/3x; do
	out=$("$SYNPROBE" serve -c "$CFG" --shard "$bad" 2>&1); rc=$?
	check "--shard $bad: exit 2, one line naming --shard ($out)" \
		eval '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "^Error: --shard '"'"'$bad'"'"'" <<<"$out"'
done

for k in 0 1 2; do kill -TERM "${PIDS[$k]}"; done
for k in 0 1 2; do
	wait "${PIDS[$k]}"; rc=$?
	check "shard $k/$N: SIGTERM exits 0" [ $rc = 0 ]
done
check "no sanitizer report in serve's logs" eval '! grep -hE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$SP_TMP"/serve.*.log'
sp_finish
