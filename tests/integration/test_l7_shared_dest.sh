#!/usr/bin/env bash
# Several send/expect checks to one address and port at once each get their own outcome, round
# after round: the engine runs every check of a destination on one loop (pinned), reuses check
# and loop slots, and hands each result (the kind's state) back to the check that started it.
# - serve, with 2 loops: 22 checks of one banner server (220, then silent beyond the timeout: a
#   step that cannot match times out at the deadline) every second, 3 of each of seven send/expect
#   checks whose patterns match or cannot, and a half-open one. Among the patterns, the YAML
#   escapes of "^220 " people write: '^220\\ ' (single quotes keep both backslashes: PCRE then
#   wants a backslash, no match: a timeout), "^220\ " and "^220\\ " (double quotes: a space, and PCRE's
#   escaped space: both match); and 'ESMTP\s*', whose match reaches the end of what was read (it
#   matches at once, not a timeout at the deadline). After 10 rounds, every run of each check
#   had its check's outcome (synprobe_checks_total, all outcomes);
# - check, 2 loops: the same target 15 times next to another 15 times, on the command line and
#   from -f: each result names its target, and each has that target's outcome: a mismatch that
#   says what ended the reply, "(the peer closed)" (the SSH server), or a timeout "not matched
#   before the deadline" (SMTP: its banner is there, the pattern wants another).
. "$(dirname "$0")/lib.sh"
sp_require_root
sp_host_only "the engine's bookkeeping of checks sharing a destination (user space only)"
sp_require_tools socat curl jq
sp_ns_setup || { not_ok "namespace set-up"; sp_finish; }
SMTP=2525 SSH=2222 HTTP=127.0.0.1:9123
D=$SP_TMP CFG=$SP_TMP/serve.yaml
ROUNDS=10 COPIES=3 # 3 checks of each kind: 30 runs of each; 22 checks of one destination a round

listening() { [ "$(ip netns exec "$NS_S" ss -Hltn "sport = :$1" | wc -l)" -ge 1 ]; }
# 220 then silence for longer than the timeout, as an SMTP server waiting for a command (a
# script: socat's address syntax would cut the line at its spaces).
printf '#!/bin/sh\nprintf "220 sptest ESMTP\\r\\n"\nexec sleep 2\n' >"$D/smtp.sh"
chmod +x "$D/smtp.sh"
nsenter --net="/run/netns/$NS_S" socat "TCP-LISTEN:$SMTP,reuseaddr,fork,backlog=512" \
	EXEC:"$D/smtp.sh" >>"$D/servers.log" 2>&1 &
SP_PIDS+=($!)
# The SSH banner comes from a file (socat -U ... OPEN): a SYSTEM: child's output could be lost
# when socat saw the child exit first (a 0-byte reply under load), and its \n was dropped.
printf 'SSH-2.0-sptest\r\n' >"$D/ssh.banner"
nsenter --net="/run/netns/$NS_S" socat -U "TCP-LISTEN:$SSH,reuseaddr,fork,backlog=512" \
	OPEN:"$D/ssh.banner",rdonly >>"$D/servers.log" 2>&1 &
SP_PIDS+=($!)
wait_until "$(sp_slow 10)" listening $SMTP || not_ok "the SMTP banner server listens"
wait_until "$(sp_slow 10)" listening $SSH || not_ok "the SSH banner server listens"

# name|pattern as written in the YAML|outcome: the checks of one destination, and what each must get.
CHECKS=(
	"smtp_ok|'^220 '|open"
	"ssh_expected|'^SSH-2\\.0-'|timeout"
	"single_2bs|'^220\\\\ '|timeout"
	"double_1bs|\"^220\\ \"|open"
	"double_2bs|\"^220\\\\ \"|open"
	"two_steps|'^220 sptest'|open"
	"greedy_end|'ESMTP\\s*'|open"
)
T=$(sp_slow 1)
{
	printf 'defaults:\n  interval: %ss\n  timeout: %ss\nchecks:\n' "$T" "$T"
	printf '  - name: halfopen_1\n    target: %s\n' "$S4:$SMTP"
	for c in "${CHECKS[@]}"; do
		IFS='|' read -r name pat _ <<<"$c"
		for i in $(seq $COPIES); do
			printf '  - name: %s_%s\n    target: %s\n    query_response:\n      - expect: %s\n' \
				"$name" "$i" "$S4:$SMTP" "$pat"
			[ "$name" = two_steps ] && printf '      - send: "EHLO x\\r\\n"\n'
		done
	done
} >"$CFG"
sed 's/^/# /' "$CFG"
nsenter --net="/run/netns/$NS_C" "$SYNPROBE" serve -c "$CFG" --listen $HTTP --no-pin --threads 2 \
	--log-level debug 2>"$D/serve.log" &
SERVE=$!
SP_PIDS+=($SERVE)

M=$D/metrics
metrics() { in_c curl -sf --max-time 5 "http://$HTTP/metrics" >"$M"; }
# runs NAME: the runs of the checks NAME_1... so far, all outcomes.
runs() { awk -v c="check=\"$1_" '/^synprobe_checks_total\{/ && index($0, c) { n += $2 } END { print n + 0 }' "$M"; }
# count NAME OUTCOME: their runs with OUTCOME.
count() {
	awk -v c="check=\"$1_" -v o="outcome=\"$2\"" \
		'/^synprobe_checks_total\{/ && index($0, c) && index($0, o) { n += $2 } END { print n + 0 }' "$M"
}
# Each check has run ROUNDS times.
all_ran() {
	metrics || return 1
	awk -v r=$ROUNDS -v want=$((1 + ${#CHECKS[@]} * COPIES)) '/^synprobe_checks_total\{/ { match($0, /check="[^"]*"/); n[substr($0, RSTART, RLENGTH)] += $2 }
		END { for (c in n) { k++; if (n[c] < r) exit 1 } exit k != want }' "$M"
}
check "serve: every check ran $ROUNDS times" wait_until "$(sp_slow 60)" all_ran
grep -E '^synprobe_(checks_total|expect_matched)\{' "$M" | grep -v ' 0$' | sed 's/^/# /'
check "serve: halfopen open every run ($(runs halfopen))" [ "$(count halfopen open)" = "$(runs halfopen)" ]
for c in "${CHECKS[@]}"; do
	IFS='|' read -r name pat want <<<"$c"
	n=$(runs "$name")
	check "serve: $name ($pat) $want every run: $(count "$name" "$want") of $n" \
		[ "$(count "$name" "$want")" = "$n" ]
	grep '"check result"' "$D/serve.log" | jq -c --arg c "${name}_" --arg w "$want" \
		'select((.check | startswith($c)) and .outcome != $w)' 2>/dev/null | sed 's/^/# other: /'
done
kill "$SERVE" 2>/dev/null
wait "$SERVE" 2>/dev/null

# check: two targets, 15 times each, interleaved, over 2 loops; the same from -f.
T=$(sp_slow 2)s
args=()
for i in $(seq 15); do args+=($S4:$SMTP $S4:$SSH); done
printf '%s\n' "${args[@]}" >"$D/targets"
for how in argv file; do
	if [ $how = argv ]; then src=("${args[@]}"); else src=(-f "$D/targets"); fi
	for pat in '^220 ' '^SSH-2\.0-'; do
		J=$(in_c "$SYNPROBE" check --json --threads 2 -t $T --expect "$pat" "${src[@]}" 2>/dev/null | grep '^{')
		# The SSH server closes after its banner (a mismatch); the SMTP one waits: the
		# deadline ends it (a timeout).
		if [ "$pat" = '^220 ' ]; then
			ok_port=$SMTP bad_port=$SSH bad=mismatch end=" (the peer closed)"
		else
			ok_port=$SSH bad_port=$SMTP bad=timeout
			end=" not matched before the deadline; 18 bytes read: '220 sptest ESMTP\\r\\n'"
		fi
		counts=$(jq -rs --arg ok "$S4:$ok_port" --arg bad "$S4:$bad_port" --arg o $bad --arg tail "$end" \
			'[ (map(select(.target == $ok and .outcome == "open" and .expect_matched == 1)) | length),
			   (map(select(.target == $bad and .outcome == $o and .expect_matched == 0 and
				(.error | endswith($tail)))) | length),
			   length ] | @tsv' <<<"$J")
		diag "check ($how) --expect '$pat': open, $bad, all: $counts"
		check "check ($how) --expect '$pat': 15 open at :$ok_port, 15 $bad '$end' at :$bad_port" \
			[ "$counts" = "$(printf '15\t15\t30')" ]
	done
done
check "nothing left attached" sp_no_bpf_left
sp_finish
