#!/usr/bin/env bash
# Runs the test groups and ends with one line: "N passed, N failed, N skipped".
# Usage: tests/run.sh OUTPUT_DIR [all|unit|bpf|integration]
# Every test speaks TAP: cmocka binaries through CMOCKA_MESSAGE_OUTPUT=TAP, the integration
# scripts through tests/integration/lib.sh. Exit status 0 only when nothing failed.
set -u
out=${1:?usage: tests/run.sh OUTPUT_DIR [all|unit|bpf|integration]}
group=${2:-all}
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "$out" && pwd)
passed=0 failed=0 skipped=0
failures=()

# Counts the TAP lines of one test program's output (also when it crashed half-way).
count() { # name logfile rc
	local name=$1 log=$2 rc=$3 p f s
	p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+.*# *(SKIP|skip)' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# It died or failed outside any test case: that is a failure too.
		f=1
		echo "not ok - $name exited with status $rc outside a test case"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures+=("$name")
	return 0
}

run_one() { # name command...
	local name=$1 log rc start=$SECONDS
	shift
	log=$(mktemp)
	echo "# --- $name"
	CMOCKA_MESSAGE_OUTPUT=TAP "$@" >"$log" 2>&1
	rc=$?
	# Where the time goes (the kernel matrix's budget): grep '^# time' a log.
	echo "# time $name $((SECONDS - start))s"
	cat "$log"
	count "$name" "$log" "$rc"
	rm -f "$log"
}

if [ "$group" = all ] || [ "$group" = unit ]; then
	for t in "$out"/tests/test_*; do
		case $(basename "$t") in test_bpf* | test_conn*) continue ;; esac
		[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$group" = all ] || [ "$group" = bpf ]; then
	for t in "$out"/tests/test_bpf* "$out"/tests/test_conn*; do
		[ -x "$t" ] && run_one "bpf/$(basename "$t")" "$t"
	done
fi
if [ "$group" = all ] || [ "$group" = integration ]; then
	for t in "$top"/tests/integration/test_*.sh; do
		[ -f "$t" ] && run_one "integration/$(basename "$t")" env SP_OUTPUT="$out" bash "$t"
	done
fi

[ ${#failures[@]} -gt 0 ] && echo "# failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
