#!/usr/bin/env bash
# matrix.sh OUTPUT_DIR KERNEL...  (make test-kernels)
#
# Runs the test suite that is already built in OUTPUT_DIR (tests/run.sh OUTPUT_DIR all; nothing is
# rebuilt in the guest) under each KERNEL in turn, booted by tests/vm/run.sh. KERNEL is what
# tests/vm/get-kernel.sh takes: 6.1, 6.12, a linux-image-...-unsigned package or an unpacked
# kernel's directory. Each kernel's output is shown and saved to OUTPUT_DIR/test-kernels/NAME.log.
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

# One kernel after the other: two guests at once on two CPUs ran each at half speed (the emulated
# CPU is the bound), and both overran. A run takes about 10 minutes here (TCG), with the scripts
# that test user space only left to the host (sp_host_only); one that hangs is stopped at 20.
export SP_VM_TIMEOUT=${SP_VM_TIMEOUT:-1200}
total_p=0 total_f=0 total_s=0 status=0
summary=()

for k in "$@"; do
	name=$(basename "$k")
	log=$logs/$name.log
	echo
	echo "======== kernel $k ========"
	start=$SECONDS
	if ! dir=$("$here/get-kernel.sh" "$k"); then
		summary+=("$(printf '%-8s could not be fetched' "$name")")
		total_f=$((total_f + 1)) status=1
		continue
	fi
	"$here/run.sh" "$dir" env SP_KERNEL_MATRIX=1 tests/run.sh "$out" all 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	took=$((SECONDS - start))
	took=$(printf '%dm%02ds' $((took / 60)) $((took % 60)))
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
