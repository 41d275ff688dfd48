#!/usr/bin/env bash
# synprobe serve with least privilege (issue 10, "Least privilege"), in a namespace:
# - --user nobody: after set-up every thread of serve runs as nobody with CapEff, CapPrm and
#   CapBnd exactly CAP_BPF + CAP_NET_ADMIN, no ambient or inheritable set, no_new_privs; the HTTP
#   listen socket is on port 80 (bound before the drop); checks run half-open by BPF;
# - a /probe and a SIGHUP-added check through a second veth, attached to nothing before the drop:
#   serve attaches there as nobody, the checks stay half-open (no accept()); SIGHUP reloads;
# - SIGTERM: exit 0, no pin left (removed through the pin directory's fd: the bpffs root, 0700
#   root, is not searchable by nobody), no tc filter left (clsact, --clsact: the path that needs
#   CAP_NET_ADMIN at exit);
# - started already unprivileged with ambient capabilities (systemd User= + AmbientCapabilities=):
#   works, CAP_PERFMON dropped after load;
# - an unknown user, a config nobody cannot read, a switch without privilege: one line, exit 2,
#   nothing left attached.
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_require_tools curl setpriv
id nobody >/dev/null 2>&1 || { skip "serve privdrop" "no user nobody"; exit 0; }

BPFFS=$SP_TMP/bpffs
pd_cleanup() {
	umount -l "$BPFFS" 2>/dev/null
	sp_cleanup
}
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
trap pd_cleanup EXIT

PORT=8080
# nobody reads the config through $SP_TMP; the pins go to a bpffs of our own, mode 0700 as
# systemd mounts /sys/fs/bpf (its root is not searchable by nobody).
chmod 711 "$SP_TMP"
mkdir -p "$BPFFS" && mount -t bpf -o mode=0700 bpf "$BPFFS" || not_ok "mount a bpffs at $BPFFS"
PIN=$BPFFS/synprobe
CFG=$SP_TMP/serve.yaml

# A second veth pair, 10.78.0.0/24 and fd78::/64: serve attaches to it only after the drop.
VB_C=spv$$bc VB_S=spv$$bs
B_C4=10.78.0.1 B_S4=10.78.0.2 B_C6=fd78::1 B_S6=fd78::2
ip link add "$VB_C" netns "$NS_C" type veth peer name "$VB_S" netns "$NS_S"
ip -n "$NS_C" addr add $B_C4/24 dev "$VB_C" && ip -n "$NS_S" addr add $B_S4/24 dev "$VB_S"
ip -n "$NS_C" addr add $B_C6/64 dev "$VB_C" nodad && ip -n "$NS_S" addr add $B_S6/64 dev "$VB_S" nodad
ip -n "$NS_C" link set "$VB_C" up && ip -n "$NS_S" link set "$VB_S" up
{ wait_until 5 sp_link_up "$NS_C" "$VB_C" && wait_until 5 sp_link_up "$NS_S" "$VB_S" &&
	sp_static_neigh "$NS_C" "$VB_C" "$NS_S" "$VB_S" $B_S4 $B_S6 &&
	sp_static_neigh "$NS_S" "$VB_S" "$NS_C" "$VB_C" $B_C4 $B_C6; } || not_ok "second veth pair up"

sp_listen srv $S4 $PORT || not_ok "listener on $S4"
SRV_PID=$LISTEN_PID
sp_listen late $B_S4 $PORT || not_ok "listener on $B_S4"
LATE_PID=$LISTEN_PID
sp_listen late6 $B_S6 $PORT || not_ok "listener on $B_S6"
LATE6_PID=$LISTEN_PID

config() { # [CHECK_TARGET...]: the web check on the first veth, then one check per target
	local t i=0
	{
		printf 'defaults:\n  interval: %sms\n  timeout: %sms\nchecks:\n  - name: web\n    target: %s:%s\n' \
			"$(sp_slow 500)" "$(sp_slow 300)" $S4 $PORT
		for t in "$@"; do
			i=$((i + 1))
			printf '  - name: late%d\n    target: "%s"\n' $i "$t"
		done
	} >"$CFG.new" && chmod 644 "$CFG.new" && mv "$CFG.new" "$CFG"
}
config

req() { in_c curl -s --max-time 5 -o "$SP_TMP/body" -w '%{http_code}' "http://$1$2"; }
healthy() { [ "$(req "$1" /healthz)" = 200 ]; }
probe_ok() { # HOST:PORT TARGET: /probe answered 200 with probe_success 1
	[ "$(req "$1" "/probe?target=$2&timeout=$(sp_slow 1)s")" = 200 ] && grep -qx 'probe_success 1' "$SP_TMP/body"
}
metric() { req "$1" /metrics >/dev/null && sed -n "s/^$2 //p" "$SP_TMP/body"; }
check_up() { [ "$(metric "$1" "synprobe_check_success{check=\"$2\"[^}]*}")" = 1 ]; }
bpf_packets() { # HOST:PORT: synprobe_bpf_packets_total summed
	req "$1" /metrics >/dev/null && awk '/^synprobe_bpf_packets_total/ { s += $2 } END { print s + 0 }' "$SP_TMP/body"
}
# task_status PID FIELD: FIELD of /proc/PID/task/*/status, one distinct value a line.
task_status() { cat /proc/"$1"/task/*/status 2>/dev/null | sed -n "s/^$2:[[:space:]]*//p" | sort -u; }
KEPT=0000008000001000 # CAP_NET_ADMIN (12) and CAP_BPF (39)
NOBODY=$(id -u nobody)
filters() { tc -n "$NS_C" filter show dev "$1" ingress 2>/dev/null; tc -n "$NS_C" filter show dev "$1" egress 2>/dev/null; }
pins() { ls -A "$PIN" 2>/dev/null; }

# 1. Bad input: one line naming the input and the fix, exit 2, nothing attached, no pin.
bad() { # NAME WANT CMD...: CMD exits 2 with one line holding WANT
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1); rc=$?
	check "$name: exit 2, one line ($out)" eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF -- "$want" <<<"$out"'
}
bad "--user no-such-user-sp" "--user 'no-such-user-sp': no such user: create it (useradd --system" \
	in_c "$SYNPROBE" serve -c "$CFG" --no-pin -m bpf --user no-such-user-sp
chmod 600 "$CFG"
bad "--user nobody with a config only root reads" "--user nobody: cannot read the config $CFG (Permission denied): make it readable by nobody" \
	in_c "$SYNPROBE" serve -c "$CFG" --pin "$PIN" -m bpf --user nobody -i "$VETH_C" --clsact --listen 127.0.0.1:9130
check "... nothing left attached" sp_no_bpf_left
check "... no pin left ($(pins | tr '\n' ' '))" [ -z "$(pins)" ]
chmod 644 "$CFG"
bad "--user daemon, started as nobody" "--user daemon: cannot switch to it (setgroups: Operation not permitted): start serve as root" \
	in_c setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all,+bpf,+net_admin,+perfmon \
	--ambient-caps=+bpf,+net_admin,+perfmon "$SYNPROBE" serve -c "$CFG" --no-pin -m bpf --user daemon --listen 127.0.0.1:9131
check "... nothing left attached" sp_no_bpf_left

# 2. (After a run as nobody above left the pin directory: a run as root without CAP_DAC_OVERRIDE
# must pin there again.) --user nobody, as root with only the capabilities contrib/synprobe.service bounds it to (and
# CAP_NET_BIND_SERVICE for port 80, bound before the drop), pins in a bpffs nobody cannot search.
out=$(in_c setpriv --bounding-set=-all,+bpf,+perfmon,+net_admin "$SYNPROBE" serve -c "$CFG" --no-pin \
	--listen 127.0.0.1:80 2>&1); rc=$?
check "--listen on port 80 without CAP_NET_BIND_SERVICE: exit 2, one line naming the capability ($out)" \
	eval '[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF "(Permission denied): a port below 1024 needs CAP_NET_BIND_SERVICE" <<<"$out"'
UNIT_CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$(dirname "$0")/../../contrib/synprobe.service" |
	tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
H=127.0.0.1:80
ip netns exec "$NS_C" setpriv --bounding-set=-all,"$UNIT_CAPS",+net_bind_service \
	"$SYNPROBE" serve -c "$CFG" --listen $H --pin "$PIN" -m bpf --user nobody --clsact 2>"$SP_TMP/nobody.log" &
SERVE_PID=$!
SP_PIDS+=("$SERVE_PID")
LOG=$SP_TMP/nobody.log
PID=$SERVE_PID
check "serve --user nobody (bounded to $UNIT_CAPS) answers /healthz on port 80" wait_until $(sp_slow 10) healthy $H
check "... method bpf" grep -qF '"method":"bpf"' "$LOG"
check "... every thread ($(ls /proc/$PID/task | wc -l)) runs as nobody ($(task_status $PID Uid | tr '\t\n' ' '))" \
	[ "$(task_status $PID Uid)" = "$(printf '%s\t%s\t%s\t%s' $NOBODY $NOBODY $NOBODY $NOBODY)" ]
check "... in nobody's group only ($(task_status $PID Gid | tr '\t\n' ' ')/$(task_status $PID Groups))" \
	eval '[ "$(task_status $PID Gid | cut -f1)" = "$(id -g nobody)" ] && [ -z "$(task_status $PID Groups)" ]'
for f in CapEff CapPrm CapBnd; do
	check "... $f is exactly CAP_BPF + CAP_NET_ADMIN in every thread ($(task_status $PID $f | tr '\n' ' '))" \
		[ "$(task_status $PID $f)" = $KEPT ]
done
check "... CapInh and CapAmb empty ($(task_status $PID CapInh) $(task_status $PID CapAmb))" \
	eval '[ "$(task_status $PID CapInh)" = 0000000000000000 ] && [ "$(task_status $PID CapAmb)" = 0000000000000000 ]'
check "... no_new_privs in every thread" [ "$(task_status $PID NoNewPrivs)" = 1 ]
check "... the pin directory root's, group nobody's, 0770 ($(stat -c '%U:%G %a' "$PIN")), the maps pinned in it" \
	eval '[ "$(stat -c "%u %g %a" "$PIN")" = "0 $(id -g nobody) 770" ] && [ "$(pins | sort | tr "\n" " ")" = "sp_events sp_flows sp_socks sp_stats " ]'
check "... the check of $S4:$PORT is up" wait_until $(sp_slow 10) check_up $H web
check "... BPF saw its packets ($(bpf_packets $H) counted)" [ "$(bpf_packets $H)" -gt 0 ]
check "... nothing attached to $VB_C before any check goes there" [ -z "$(filters "$VB_C")" ]

# A /probe through the second veth: attached there now, as nobody.
check "/probe of $B_S4:$PORT, through $VB_C: probe_success 1" probe_ok $H "$B_S4:$PORT"
check "... serve attached to $VB_C after the drop" [ -n "$(filters "$VB_C")" ]
# SIGHUP: a check of [fd78::2] added, through the same veth, IPv6.
config "[$B_S6]:$PORT"
kill -HUP "$PID"
check "SIGHUP as nobody: config reloaded, 1 check added" \
	wait_until $(sp_slow 5) grep -qF '"msg":"config reloaded","config":"'"$CFG"'","checks":2,"kept":1,"added":1' "$LOG"
check "... the added check of [$B_S6]:$PORT is up" wait_until $(sp_slow 10) check_up $H late1
kill -TERM "$PID"
wait "$PID"
rc=$?
check "SIGTERM: exit 0 ($rc)" [ $rc -eq 0 ]
check "... no pin left ($(pins | tr '\n' ' '))" [ -z "$(pins)" ]
check "... no tc filter nor TCX program left on $VB_C, $VETH_C or lo" \
	eval 'sp_no_bpf_left && sp_ns_clean "$NS_C" "$VB_C"'
check "... no error logged" eval '! grep -qF "\"level\":\"error\"" "$LOG"'

# 3. Started as nobody with ambient capabilities, as systemd's User= + AmbientCapabilities= do.
H=127.0.0.1:9132
ip netns exec "$NS_C" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--bounding-set=-all,+bpf,+net_admin,+perfmon --inh-caps=-all,+bpf,+net_admin,+perfmon \
	--ambient-caps=+bpf,+net_admin,+perfmon \
	"$SYNPROBE" serve -c "$CFG" --no-pin -m bpf --listen $H 2>"$SP_TMP/ambient.log" &
PID=$!
SP_PIDS+=("$PID")
LOG=$SP_TMP/ambient.log
check "serve started as nobody with ambient capabilities answers /healthz" wait_until $(sp_slow 10) healthy $H
check "... method bpf" grep -qF '"method":"bpf"' "$LOG"
check "... CapEff exactly CAP_BPF + CAP_NET_ADMIN (CAP_PERFMON dropped after load: $(task_status $PID CapEff))" \
	[ "$(task_status $PID CapEff)" = $KEPT ]
check "... CapAmb empty, no_new_privs" \
	eval '[ "$(task_status $PID CapAmb)" = 0000000000000000 ] && [ "$(task_status $PID NoNewPrivs)" = 1 ]'
check "... both checks up" eval 'wait_until $(sp_slow 10) check_up $H web && wait_until $(sp_slow 10) check_up $H late1'
kill -TERM "$PID"
wait "$PID"
rc=$?
check "... SIGTERM: exit 0 ($rc), nothing left attached" eval '[ $rc -eq 0 ] && sp_no_bpf_left && sp_ns_clean "$NS_C" "$VB_C"'
# Half-open all along: no listener accepted a connection.
check "half-open: the listener on $S4 accepted nothing" [ "$(sp_accepted srv $SRV_PID)" = 0 ]
check "half-open: the listener on $B_S4 (the /probe after the drop) accepted nothing" [ "$(sp_accepted late $LATE_PID)" = 0 ]
check "half-open: the listener on $B_S6 (the check added by SIGHUP) accepted nothing" [ "$(sp_accepted late6 $LATE6_PID)" = 0 ]
check "no sanitizer report in serve's logs" eval '! grep -hE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$SP_TMP"/*.log'
umount "$BPFFS" # before sp_finish removes $SP_TMP
sp_finish
