#!/usr/bin/env bash
# synprobe serve locked down (issue 10, "/probe is a SYN cannon unless limited" and "Pin
# directory"), in a namespace:
# - --probe-allow: targets inside answered, outside 403 with one line naming the address and the
#   fix, and no SYN sent to them; names and v4-mapped targets judged by the address probed;
# - a listener off loopback (the veth's 10.77.0.1) without a list: /probe 403 with the hint; with
#   probe_allow in the YAML: inside allowed, outside refused; SIGHUP applies a new list;
# - --probe-timeout-max: a longer ?timeout= is cut to it;
# - bad flags and a bad probe_allow: one line, exit 2;
# - the bpffs: under `ip netns exec`, /sys/fs/bpf is no bpffs; serve with the default pin
#   directory mounts one there (in its own mount namespace only), logs it, and pins there.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools curl nft nsenter

# The bpffs serve mounts lives in its mount namespace, which ends with it; should serve outlive a
# failed test, the trap unmounts it there before sp_cleanup stops serve.
BPF_PID=
sec_cleanup() {
	if [ -n "$BPF_PID" ] && kill -0 "$BPF_PID" 2>/dev/null; then
		nsenter -t "$BPF_PID" -m umount -l /sys/fs/bpf 2>/dev/null
	fi
	sp_cleanup
}
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
trap sec_cleanup EXIT

PORT=8080 FILTERED=8082
OUT4=10.77.0.3 OUT6=fd77::3 # outside every list: no SYN may ever leave for them
CFG=$SP_TMP/serve.yaml

in_s nft -f - <<NFT || not_ok "nft drops SYNs to $FILTERED"
table inet sp_filter {
	chain input { type filter hook input priority 0; tcp dport $FILTERED drop; }
}
NFT
# SYNs the client namespace sends to the addresses outside the lists.
in_c nft -f - <<NFT || not_ok "nft counts SYNs to $OUT4 and $OUT6"
table inet sp_count {
	counter outside {}
	chain output { type filter hook output priority 0;
		ip daddr $OUT4 tcp flags & (syn | ack) == syn counter name outside
		ip6 daddr $OUT6 tcp flags & (syn | ack) == syn counter name outside
	}
}
NFT
syns_outside() { in_c nft list counter inet sp_count outside | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

sp_listen srv $S4 $PORT || not_ok "listener on $S4"
sp_listen srv6 $S6 $PORT || not_ok "listener on $S6"
config() { # [PROBE_ALLOW LINE...]: the config, one check of the open port, then the lines given
	{
		printf 'defaults:\n  interval: 1s\n  timeout: 200ms\nchecks:\n  - name: web\n    target: %s:%s\n' $S4 $PORT
		if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
	} >"$CFG.new" && mv "$CFG.new" "$CFG"
}
config

# start_serve NAME ARGS...: serve -c $CFG ARGS in the client namespace (under `ip netns exec`: a
# fresh /sys), its log in $SP_TMP/NAME.log ($LOG); sets SERVE_PID.
start_serve() {
	local name=$1
	shift
	# `ip netns exec` execs serve in place: $! is serve, signals reach it.
	ip netns exec "$NS_C" "$SYNPROBE" serve -c "$CFG" "$@" 2>"$SP_TMP/$name.log" &
	SERVE_PID=$!
	SP_PIDS+=("$SERVE_PID")
	LOG=$SP_TMP/$name.log
}
stop_serve() { # NAME: SIGTERM, exit 0
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
	local rc=$?
	check "$1: SIGTERM, exit 0 (status $rc)" [ $rc -eq 0 ]
}
# req HOST:PORT PATH: the HTTP status (000: none within 5 s); the body in $SP_TMP/body.
req() { in_c curl -s --max-time 5 -o "$SP_TMP/body" -w '%{http_code}' "http://$1$2"; }
body() { tr '\n' '|' <"$SP_TMP/body"; }
one_line() { [ "$(wc -l <"$SP_TMP/body")" -eq 1 ] && [ "$(tail -c 1 "$SP_TMP/body" | od -An -c | tr -d ' ')" = '\n' ]; }
healthy() { [ "$(req "$1" /healthz)" = 200 ]; }
# probe_ok HOST:PORT TARGET: /probe of TARGET answered 200 with probe_success 1.
probe_ok() {
	local code
	code=$(req "$1" "/probe?target=$2&timeout=1s")
	[ "$code" = 200 ] && grep -qx 'probe_success 1' "$SP_TMP/body"
}
# refused HOST:PORT TARGET ADDRESS: /probe of TARGET answered 403, one line naming ADDRESS and the fix.
refused() {
	local code
	code=$(req "$1" "/probe?target=$2&timeout=1s")
	[ "$code" = 403 ] && one_line &&
		grep -qF "/probe target $3 (" "$SP_TMP/body" &&
		grep -qF "is outside the allow list: add a network holding it to --probe-allow or probe_allow in the config" "$SP_TMP/body"
}
OFF_HINT='/probe is off: this listener is not on loopback; give --probe-allow CIDR,... (or probe_allow in the config) to allow targets'

# 1. Bad input: one line naming the input and the fix, exit 2.
bad() { # NAME WANT ARGS...: serve ARGS exits 2 with one line matching WANT
	local name=$1 want=$2 out rc
	shift 2
	out=$(in_c "$SYNPROBE" serve -c "$CFG" --no-pin "$@" 2>&1); rc=$?
	check "$name: exit 2, one line ($out)" eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF -- "$want" <<<"$out"'
}
bad "--probe-allow 10.77.0.1/24" "--probe-allow '10.77.0.1/24': '10.77.0.1/24' has host bits set: write the network 10.77.0.0/24" \
	--probe-allow 10.77.0.1/24
bad "--probe-allow 10.0.0.0/33" "the prefix length of an IPv4 network is a number from 0 to 32" --probe-allow 10.0.0.0/33
bad "--probe-allow server4.test" "'server4.test' is not an IPv4 or IPv6 address" --probe-allow server4.test
bad "--probe-allow 10.0.0.0/8," "an empty item in the list" --probe-allow 10.0.0.0/8,
bad "--probe-timeout-max 0" "--probe-timeout-max '0': give a duration from 1ms to 10m" --probe-timeout-max 0
bad "--probe-timeout-max 11m" "--probe-timeout-max '11m': give a duration from 1ms to 10m" --probe-timeout-max 11m
config "probe_allow: [$S4/32, 10.77.0.1/24]"
out=$("$SYNPROBE" serve -c "$CFG" --check-config 2>&1); rc=$?
check "probe_allow with host bits: exit 2, one line with file, line and key ($out)" \
	eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF "$CFG:7: key '"'probe_allow[1]'"': '"'10.77.0.1/24'"' has host bits set" <<<"$out"'
config "probe_allow: 10.0.0.0/8"
out=$("$SYNPROBE" serve -c "$CFG" --check-config 2>&1); rc=$?
check "probe_allow not a list: exit 2 ($out)" eval '[ $rc -eq 2 ] && grep -qF "key '"'probe_allow'"': is a value: write a list" <<<"$out"'
config

# 2. Loopback listener with --probe-allow: inside checked, outside 403 without a SYN.
H=127.0.0.1:9123
start_serve lo --listen $H --no-pin --probe-allow "$S4/32,10.77.0.8/29" --probe-allow fd77::8/125
check "serve with --probe-allow answers /healthz" wait_until $(sp_slow 10) healthy $H
check "/probe of $S4:$PORT, inside the list: probe_success 1" probe_ok $H "$S4:$PORT"
check "/probe of server4.test:$PORT (resolves to $S4): probe_success 1" probe_ok $H "server4.test:$PORT"
check "/probe of [::ffff:$S4]:$PORT, v4-mapped, matched as IPv4: probe_success 1" probe_ok $H "%5B::ffff:$S4%5D:$PORT"
check "/probe of [$S6]:$PORT, outside: 403 naming $S6 ($(body))" refused $H "%5B$S6%5D:$PORT" $S6
check "... with the host's network as the example" grep -qF "e.g. $S6/128" "$SP_TMP/body"
check "/probe of server6.test:$PORT, resolving outside: 403 naming $S6" refused $H "server6.test:$PORT" $S6
check "/probe of 10.77.0.5:$PORT, outside (next to 10.77.0.8/29): 403 naming it ($(body))" refused $H "10.77.0.5:$PORT" 10.77.0.5
check "... e.g. 10.77.0.5/32" grep -qF "e.g. 10.77.0.5/32" "$SP_TMP/body"
check "/probe of [::ffff:10.77.0.5]:$PORT: 403 naming 10.77.0.5 ($(body))" refused $H "%5B::ffff:10.77.0.5%5D:$PORT" 10.77.0.5
check "/probe of [fd77::7]:$PORT, next to fd77::8/125: 403" refused $H "%5Bfd77::7%5D:$PORT" fd77::7
code=$(req $H "/probe?target=%5B$OUT6%5D:$PORT")
check "/probe of [$OUT6]:$PORT: 403 ($code)" [ "$code" = 403 ]
check "no SYN left for an address outside the list" [ "$(syns_outside)" = 0 ]
check "the serving log line names the list" grep -qF '"probe_allow":["10.77.0.2/32","10.77.0.8/29","fd77::8/125"]' "$LOG"
check "/metrics still answered: 200" eval '[ "$(req $H /metrics)" = 200 ]'
stop_serve "serve with --probe-allow"
# Without a list on loopback, as before: any target.
start_serve lo-all --listen $H --no-pin
check "loopback listener without a list answers /healthz" wait_until $(sp_slow 10) healthy $H
check "... /probe of [$S6]:$PORT: probe_success 1 (every target allowed)" probe_ok $H "%5B$S6%5D:$PORT"
check "... the serving log line says all" grep -qF '"probe_allow":"all"' "$LOG"
stop_serve "loopback serve without a list"

# 3. Off loopback: the veth's address.
H=$C4:9124
start_serve veth --listen $H --no-pin
check "serve on $H without a list answers /healthz" wait_until $(sp_slow 10) healthy $H
code=$(req $H "/probe?target=$S4:$PORT")
check "/probe on a listener off loopback without a list: 403 ($code)" [ "$code" = 403 ]
check "... the one-line hint ($(body))" eval 'one_line && [ "$(cat "$SP_TMP/body")" = "$OFF_HINT" ]'
code=$(req $H "/probe")
check "... also without a target: 403 with the hint" eval '[ "$code" = 403 ] && [ "$(cat "$SP_TMP/body")" = "$OFF_HINT" ]'
check "... /metrics answered: 200" eval '[ "$(req $H /metrics)" = 200 ]'
check "... the serving log line says none" grep -qF '"probe_allow":"none"' "$LOG"
# A list in the config, then another by SIGHUP, then none.
config "probe_allow:" "  - $S4/32"
kill -HUP "$SERVE_PID"
check "SIGHUP with probe_allow [$S4/32]: reloaded" wait_until 5 grep -qF '"msg":"config reloaded"' "$LOG"
check "... /probe of $S4:$PORT: probe_success 1" probe_ok $H "$S4:$PORT"
check "... /probe of [$S6]:$PORT: 403 naming $S6" refused $H "%5B$S6%5D:$PORT" $S6
config "probe_allow: [\"fd77::/64\"]"
kill -HUP "$SERVE_PID"
check "SIGHUP with probe_allow [fd77::/64]: reloaded" wait_until 5 eval '[ "$(grep -c "\"msg\":\"config reloaded\"" "$LOG")" -eq 2 ]'
check "... /probe of [$S6]:$PORT: probe_success 1" probe_ok $H "%5B$S6%5D:$PORT"
check "... /probe of $S4:$PORT: 403 naming $S4" refused $H "$S4:$PORT" $S4
config
kill -HUP "$SERVE_PID"
check "SIGHUP without probe_allow: reloaded" wait_until 5 eval '[ "$(grep -c "\"msg\":\"config reloaded\"" "$LOG")" -eq 3 ]'
code=$(req $H "/probe?target=$S4:$PORT")
check "... /probe: 403 with the hint again" eval '[ "$code" = 403 ] && [ "$(cat "$SP_TMP/body")" = "$OFF_HINT" ]'
stop_serve "serve on $H"

# The config's list on start, and the explicit allow-all.
config "probe_allow: [$S4/32]"
start_serve veth-yaml --listen $H --no-pin
check "serve on $H with probe_allow in the config answers /healthz" wait_until $(sp_slow 10) healthy $H
check "... /probe of $S4:$PORT: probe_success 1" probe_ok $H "$S4:$PORT"
check "... /probe of $OUT4:$PORT: 403 naming $OUT4" refused $H "$OUT4:$PORT" $OUT4
stop_serve "serve with probe_allow in the config"
start_serve veth-all --listen $H --no-pin --probe-allow 0.0.0.0/0,::/0
check "serve on $H with --probe-allow 0.0.0.0/0,::/0 (over the config's list) answers /healthz" wait_until $(sp_slow 10) healthy $H
check "... /probe of [$S6]:$PORT: probe_success 1" probe_ok $H "%5B$S6%5D:$PORT"
check "... the config's list is said to be unused" grep -qF '"msg":"--probe-allow is given: the config'"'"'s probe_allow is not used"' "$LOG"
stop_serve "serve with --probe-allow 0.0.0.0/0,::/0"
check "no SYN left for an address outside the lists, in all" [ "$(syns_outside)" = 0 ]
config

# 4. --probe-timeout-max: a longer timeout asked for is cut to it.
H=127.0.0.1:9125
start_serve tmax --listen $H --no-pin --probe-timeout-max 1s
check "serve with --probe-timeout-max 1s answers /healthz" wait_until $(sp_slow 10) healthy $H
start=$(date +%s%N)
code=$(req $H "/probe?target=$S4:$FILTERED&timeout=30s")
ms=$((($(date +%s%N) - start) / 1000000))
check "/probe of a port dropping SYNs with timeout=30s: answered in $ms ms, under 3 s" \
	eval '[ "$code" = 200 ] && [ $ms -lt $(sp_slow 3000) ] && grep -qx "probe_success 0" "$SP_TMP/body"'
check "... outcome timeout" grep -qx 'synprobe_probe_outcome{outcome="timeout"} 1' "$SP_TMP/body"
check "... the serving log line says 1000 ms" grep -qF '"probe_timeout_max_ms":1000' "$LOG"
stop_serve "serve with --probe-timeout-max"

# 5. The bpffs. `ip netns exec` gives serve a fresh /sys, where /sys/fs/bpf is no bpffs.
fs_type() { stat -f -c %T "$1" 2>/dev/null; }
host_type=$(fs_type /sys/fs/bpf)
check "under ip netns exec, /sys/fs/bpf is no bpffs ($(in_c stat -f -c %T /sys/fs/bpf))" \
	eval '[ "$(in_c stat -f -c %T /sys/fs/bpf)" != bpf_fs ]'
out=$(in_c "$SYNPROBE" serve -c "$CFG" --listen 127.0.0.1:9126 --pin "$SP_TMP/pins" 2>&1); rc=$?
check "--pin on a directory outside /sys/fs/bpf and no bpffs: exit 2, one line, nothing mounted ($out)" \
	eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF -- "--pin $SP_TMP/pins: $SP_TMP is not on a BPF file system" <<<"$out" && [ "$(fs_type "$SP_TMP")" != bpf_fs ]'
if command -v capsh >/dev/null; then
	out=$(in_c capsh --drop=cap_sys_admin -- -c "exec '$SYNPROBE' serve -c '$CFG' --listen 127.0.0.1:9126" 2>&1); rc=$?
	check "without CAP_SYS_ADMIN the mount fails: exit 2, one line naming /sys/fs/bpf and the fix ($out)" \
		eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF "/sys/fs/bpf is not on a BPF file system and mounting one there failed (Operation not permitted): mount one (" <<<"$out"'
else
	skip "without CAP_SYS_ADMIN the mount fails" "capsh is not installed"
fi
H=127.0.0.1:9127
start_serve bpffs --listen $H
BPF_PID=$SERVE_PID
check "serve with the default pin directory under ip netns exec answers /healthz" wait_until $(sp_slow 10) healthy $H
diag "$(grep -F 'BPF file system' "$LOG")"
check "... logged one info line that it mounted a bpffs at /sys/fs/bpf" \
	eval '[ "$(grep -c "\"level\":\"info\",\"msg\":\"no BPF file system was mounted at /sys/fs/bpf: mounted one\",\"path\":\"/sys/fs/bpf\",\"options\":\"mode=0700\"" "$LOG")" -eq 1 ]'
check "... /sys/fs/bpf in its mount namespace is a bpffs ($(fs_type /proc/$BPF_PID/root/sys/fs/bpf))" \
	[ "$(fs_type /proc/$BPF_PID/root/sys/fs/bpf)" = bpf_fs ]
# The kernel adds the sticky bit to a bpffs root: 1700.
check "... mode 0700 ($(stat -c %a /proc/$BPF_PID/root/sys/fs/bpf))" eval '[[ "$(stat -c %a /proc/$BPF_PID/root/sys/fs/bpf)" == *700 ]]' 
check "... the maps are pinned there" eval 'for m in sp_socks sp_flows sp_stats sp_events; do [ -e /proc/$BPF_PID/root/sys/fs/bpf/synprobe/$m ] || exit 1; done'
check "... a /probe through it works: probe_success 1" probe_ok $H "$S4:$PORT"
check "the host's /sys/fs/bpf is untouched ($(fs_type /sys/fs/bpf))" [ "$(fs_type /sys/fs/bpf)" = "$host_type" ]
stop_serve "serve that mounted the bpffs"
check "... no error logged" eval '! grep -qF "\"level\":\"error\"" "$LOG"' 
# Under make test SANITIZE=1: nothing reported by ASan, LSan (at exit) or UBSan.
check "no sanitizer report in serve's logs" eval '! grep -hE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$SP_TMP"/*.log'
sp_finish
