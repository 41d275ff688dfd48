#!/usr/bin/env bash
# run.sh KERNEL_DIR CMD...
#
# Runs CMD as root under another Linux kernel, on this machine's own userland, and exits with
# CMD's exit status. KERNEL_DIR is an unpacked Debian kernel package (tests/vm/get-kernel.sh
# prints one). One CMD argument is shell code (bash -c); several are an argv.
#
# The guest:
# - boots KERNEL_DIR/boot/vmlinuz-* under QEMU, with a small initramfs (tests/vm/init) that
#   mounts this machine's / over 9p, read-only, under a tmpfs overlay: the guest may write
#   anywhere, and every write is gone at power-off. Nothing on the host changes.
# - has the kernel's own modules at /lib/modules/<ver> (modprobe loads veth, clsact, nftables...
#   on demand), a bpffs at /sys/fs/bpf, a fresh tmpfs on /run (/tmp is the host's, under the
#   overlay: the tree may live there), and only `lo`: no packet leaves it.
# - runs CMD in the caller's working directory (tests/vm/stage2), with SP_VM_KERNEL=<uname -r>,
#   and SP_EMULATED=1 when the CPU is emulated (TCG), so tests can widen their timing bounds.
#
# Output: CMD's stdout and stderr, on stdout (the guest's first serial port). The kernel's own log
# goes to the second serial port, a file; its tail is printed when the guest dies without
# reporting a status.
# Exit status: CMD's; 125 when the guest died or timed out first; 2 for usage errors.
#
# Environment:
#   SP_VM_ACCEL    auto (default), kvm or tcg. auto takes KVM when /dev/kvm can run a stock kernel,
#                  else TCG. /dev/kvm under the kvm_pvm module (a nested, paravirtual KVM) only
#                  runs specially patched guests: a stock kernel hangs at boot there.
#   SP_VM_MEM      guest memory (default 3G; the overlay's writes live in it)
#   SP_VM_SMP      guest CPUs (default 2)
#   SP_VM_TIMEOUT  seconds before the guest is killed (default 1800)
#   SP_VM_KEEP=1   keep the run directory (the kernel log console.log, the command, its status)
#   SP_VM_CPU      the CPU model QEMU emulates under TCG (default max: every feature TCG has)
#   SP_VM_APPEND   more kernel command line
set -euo pipefail

usage() { echo "usage: $0 KERNEL_DIR CMD..." >&2; exit 2; }
fail() { echo "vm: $*" >&2; exit 2; }
[ $# -ge 2 ] || usage
[ -d "$1" ] || fail "$1 is not a directory"
kdir=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
mem=${SP_VM_MEM:-3G}
smp=${SP_VM_SMP:-2}
timeout_s=${SP_VM_TIMEOUT:-1800}

for tool in qemu-system-x86_64 busybox cpio gzip file timeout; do
	command -v "$tool" >/dev/null ||
		fail "needs $tool: run scripts/install-deps.sh (qemu-system-x86 busybox-static kmod cpio xz-utils file)"
done
# The initramfs has no libc: its busybox must be the static one.
case $(file -bL "$(command -v busybox)") in
*static*) ;;
*) fail "$(command -v busybox) is not statically linked: apt-get install busybox-static" ;;
esac

vmlinuz=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || fail "no boot/vmlinuz-* in $kdir"
kver=${vmlinuz##*/vmlinuz-}
moddir=$kdir/lib/modules/$kver
[ -s "$moddir/modules.dep" ] || fail "no $moddir/modules.dep (tests/vm/get-kernel.sh $kdir makes it)"

# The run directory: the initramfs, the command, and what the guest writes back (its exit status,
# the kernel log). It is shared with the guest read-write, at /run/sp-vm, and nothing else is.
run=$(mktemp -d /tmp/sp-vm.XXXXXX)
cleanup() {
	if [ "${SP_VM_KEEP:-0}" = 1 ]; then echo "vm: run directory kept: $run" >&2; else rm -rf "$run"; fi
}
trap cleanup EXIT

# ---- initramfs: static busybox, tests/vm/init, and the modules that mounting the root needs ----
# Built afresh for every run (well under a second): no cache to go stale when a script changes.
stage=$run/initramfs
mkdir -p "$stage"/{bin,dev,proc,sys,mods,lower,rw,newroot}
cp "$(command -v busybox)" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
cp "$here/stage2" "$stage/stage2"
chmod 755 "$stage/init" "$stage/stage2"

# add_module NAME: copies NAME's dependencies and then NAME into the initramfs, uncompressed (the
# busybox insmod may not read .ko.xz), appending each to mods/order in the order they must load.
# Built-in modules are skipped; Debian builds virtio into 6.12 but not into 6.1.
declare -A added=()
add_module() {
	local name=$1 entry path dep i
	[ -z "${added[$name]:-}" ] || return 0
	added[$name]=1
	entry=$(grep -E "(^|/)$name\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep" || true)
	if [ -z "$entry" ]; then
		grep -qE "(^|/)$name\.ko\$" "$moddir/modules.builtin" && return 0
		fail "kernel $kver has no module $name, neither built in nor in modules.dep"
	fi
	path=${entry%%:*}
	# modules.dep lists every dependency, direct or not, the one to load last first.
	local -a deps=(${entry#*:})
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		dep=${deps[$i]##*/}
		add_module "${dep%%.ko*}"
	done
	case $path in
	*.ko) cp "$moddir/$path" "$stage/mods/$name.ko" ;;
	*.ko.xz) xz -dc "$moddir/$path" >"$stage/mods/$name.ko" ;;
	*.ko.zst) zstd -qdc "$moddir/$path" >"$stage/mods/$name.ko" ;;
	*.ko.gz) gzip -dc "$moddir/$path" >"$stage/mods/$name.ko" ;;
	esac
	echo "$name" >>"$stage/mods/order"
}
: >"$stage/mods/order"
for m in virtio_pci 9pnet_virtio 9p overlay; do
	add_module "$m"
done
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$run/initrd.gz"
rm -rf "$stage"

# ---- accelerator ----
accel=${SP_VM_ACCEL:-auto}
if [ "$accel" = auto ]; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
		accel=kvm
	else
		accel=tcg
	fi
fi
case $accel in
kvm) accel_args=(-accel kvm -cpu host) emulated=0 ;;
# Multi-threaded TCG: one host thread per guest CPU; a larger translation cache than the default.
tcg) accel_args=(-accel tcg,thread=multi,tb-size=512 -cpu "${SP_VM_CPU:-max}") emulated=1 ;;
*) fail "SP_VM_ACCEL must be auto, kvm or tcg" ;;
esac

# ---- the command, as the guest's stage2 runs it ----
{
	echo "cd $(printf %q "$PWD") || exit 126"
	echo "export SP_VM_KERNEL=$(printf %q "$kver")"
	[ "$emulated" = 1 ] && echo "export SP_EMULATED=1"
	[ -n "${TERM:-}" ] && echo "export TERM=$(printf %q "$TERM")"
	if [ $# -eq 1 ]; then
		printf '%s\n' "$1"
	else
		printf '%q ' "$@"
		echo
	fi
} >"$run/cmd.sh"

# ---- boot ----
# ttyS0 carries the command's output to our stdout; ttyS1, the kernel's console, goes to a file.
# The kernel line skips what a VM has no use for: probing a PS/2 mouse and keyboard and the BIOS
# disks (slow under TCG, and EDD would print on ttyS0), the TSC checks, and the mitigations of
# CPU side channels, which make every system call dearer (a fork and exec costs ~20% more under
# TCG with them) and change nothing that the tests look at: root's BPF programs are verified and
# JITed alike. sp_vm.* words are read by tests/vm/init.
cmdline="console=ttyS1 loglevel=6 panic=-1 rdinit=/init edd=off mitigations=off \
i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd tsc=reliable no_timer_check \
sp_vm.kver=$kver sp_vm.kdir=$kdir sp_vm.run=$run ${SP_VM_APPEND:-}"
# qboot starts faster than SeaBIOS and prints nothing.
firmware=()
[ -f /usr/share/qemu/qboot.rom ] && firmware=(-bios /usr/share/qemu/qboot.rom)

echo "vm: booting $kver ($accel$([ "$emulated" = 1 ] && echo ', emulated CPU: SP_EMULATED=1'))" >&2
set +e
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
	"${accel_args[@]}" -m "$mem" -smp "$smp" "${firmware[@]}" \
	-nographic -nodefaults -no-user-config -no-reboot \
	-serial stdio -serial "file:$run/console.log" \
	-kernel "$vmlinuz" -initrd "$run/initrd.gz" -append "$cmdline" \
	-fsdev local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
	-fsdev local,id=run,path="$run",security_model=passthrough,multidevs=remap \
	-device virtio-9p-pci,fsdev=run,mount_tag=sp_vm_run \
	</dev/null
qemu_rc=$?
set -e

if [ -s "$run/rc" ]; then
	exit "$(cat "$run/rc")"
fi
if [ "$qemu_rc" = 124 ]; then
	echo "vm: killed after ${timeout_s} s (SP_VM_TIMEOUT)" >&2
else
	echo "vm: the guest stopped without reporting an exit status (qemu exit status $qemu_rc)" >&2
fi
if [ -s "$run/console.log" ]; then
	echo "vm: last lines of the kernel log:" >&2
	tail -n 30 "$run/console.log" | sed 's/^/vm:   /' >&2
fi
exit 125
