#!/usr/bin/env bash
# matrix.sh OUTPUT_DIR KERNEL...  (make test-kernels)
#
# Runs the test suite that is already built in OUTPUT_DIR (tests/run.sh OUTPUT_DIR all; nothing is
# rebuilt in the guest) under each KERNEL, all at once, each booted by tests/vm/run.sh. KERNEL is what
# tests/vm/get-kernel.sh takes: 6.1, 6.12, a linux-image-...-unsigned package or an unpacked
# kernel's directory. Each kernel's output is saved to OUTPUT_DIR/test-kernels/NAME.log and shown
# when its guest has ended.
# Ends with a line per kernel and then one line "N passed, N failed, N skipped" over all of them;
# a kernel that could not be fetched or booted, or gave no such line, counts as one failure.
# Exit status 0 only when every kernel ran the suite and nothing failed.
set -u
[ $# -ge 2 ] || { echo "usage: $0 OUTPUT_DIR KERNEL..." >&2; exit 2; }
out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
logs=$out/test-kernels
mkdir -p "$logs"
cd "$top" || exit 2

# The kernels run at once, each in its own guest: most of a run is waiting (timeouts, deadlines,
# a server's reply), and on an emulated CPU (TCG) the suite takes 15-18 minutes a kernel, so one
# after the other would not fit CI's 45 minutes. A guest that hangs is stopped at 25 minutes.
export SP_VM_TIMEOUT=${SP_VM_TIMEOUT:-1500}
total_p=0 total_f=0 total_s=0 status=0
summary=()
names=() dirs=() pids=() starts=()

for k in "$@"; do
	name=$(basename "$k")
	if ! dir=$("$here/get-kernel.sh" "$k"); then
		summary+=("$(printf '%-8s could not be fetched' "$name")")
		total_f=$((total_f + 1)) status=1
		continue
	fi
	echo "======== kernel $k: started, output in $logs/$name.log ========"
	"$here/run.sh" "$dir" env SP_KERNEL_MATRIX=1 tests/run.sh "$out" all >"$logs/$name.log" 2>&1 &
	names+=("$name") dirs+=("$dir") pids+=($!) starts+=($SECONDS)
done

for i in "${!pids[@]}"; do
	name=${names[$i]} dir=${dirs[$i]} log=$logs/${names[$i]}.log
	wait "${pids[$i]}"
	rc=$?
	took=$((SECONDS - starts[i]))
	took=$(printf '%dm%02ds' $((took / 60)) $((took % 60)))
	echo
	echo "======== kernel $name ========"
	cat "$log"
	pkg=$(cat "$dir/.complete" 2>/dev/null || basename "$dir")
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		summary+=("$(printf '%-8s no result (exit status %s), %s, %s; log %s' "$name" "$rc" "$pkg" "$took" "$log")")
		total_f=$((total_f + 1)) status=1
		continue
	fi
	read -r p _ f _ s _ <<<"$line"
	# A non-zero exit with no failed test (the suite died after its summary?) is still a failure.
	[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
	[ "$f" -eq 0 ] || status=1
	summary+=("$(printf '%-8s %s, %s, %s; log %s' "$name" "$line" "$pkg" "$took" "$log")")
done

echo
echo "======== kernel matrix ========"
printf '%s\n' "${summary[@]}"
echo "$total_p passed, $total_f failed, $total_s skipped"
exit $status
