#!/usr/bin/env bash
# get-kernel.sh KERNEL [CACHE_DIR]
#
# Prints the directory of an unpacked Debian kernel (boot/vmlinuz-*, lib/modules/<ver>/ with its
# modules.dep) that tests/vm/run.sh can boot, fetching it first if it is not cached. Nothing is
# installed on the host: the package is downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x` into CACHE_DIR/<package name>/.
#
# KERNEL is one of
#   6.1          Debian 12's stock kernel: the newest linux-image-6.1.0-N-amd64-unsigned
#   6.12         bookworm's 6.12: the newest linux-image-6.12.N+deb12-amd64-unsigned
#   linux-image-...-unsigned   that exact package
#   a directory  an already unpacked kernel, used as it is
# CACHE_DIR defaults to $SP_VM_CACHE, else ~/.cache/synprobe/kernels. A new Debian build (6.1.0-58,
# say) lands in a directory of its own; old ones stay until removed by hand.
# Messages go to stderr; the only line on stdout is the directory.
set -euo pipefail

die() { echo "get-kernel: $*" >&2; exit 1; }
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 6.1|6.12|PACKAGE|DIR [CACHE_DIR]" >&2; exit 2; }
want=$1
cache=${2:-${SP_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/synprobe/kernels}}

# depmod_if_needed DIR: Debian's packages ship without modules.dep (the postinst makes it);
# modprobe inside the guest needs it.
depmod_if_needed() {
	local dir=$1 vmlinuz kver
	vmlinuz=$(ls "$dir"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[ -n "$vmlinuz" ] || die "$dir has no boot/vmlinuz-*"
	kver=${vmlinuz##*/vmlinuz-}
	[ -d "$dir/lib/modules/$kver" ] || die "$dir has no lib/modules/$kver"
	[ -s "$dir/lib/modules/$kver/modules.dep" ] || depmod -b "$dir" "$kver"
}

if [ -d "$want" ]; then
	depmod_if_needed "$want"
	cd "$want" && pwd
	exit 0
fi

case $want in
6.1) pattern='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
linux-image-*) pattern="^${want//./\\.}\$" ;;
*) die "unknown kernel '$want': say 6.1, 6.12, a linux-image-...-unsigned package or a directory" ;;
esac

# newest_package: the highest version of the packages that match, from the local apt lists.
newest_package() {
	apt-cache search --names-only '^linux-image-' | awk '{print $1}' | grep -E "$pattern" |
		sort -V | tail -n 1
}
pkg=$(newest_package)
if [ -z "$pkg" ]; then
	echo "get-kernel: no package matches $want in the apt lists; running apt-get update" >&2
	apt-get update -q >&2
	pkg=$(newest_package)
	[ -n "$pkg" ] || die "no Debian package matches $want"
fi

dir=$cache/$pkg
# .complete is written last: an interrupted download or unpack is started again.
if [ ! -e "$dir/.complete" ]; then
	echo "get-kernel: fetching $pkg into $dir" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt-get downloads as the _apt user when it can write there, and warns otherwise.
	chmod 755 "$tmp"
	[ "$(id -u)" != 0 ] || ! id _apt >/dev/null 2>&1 || chown _apt "$tmp"
	if ! (cd "$tmp" && apt-get download -q "$pkg" >&2); then
		# The lists may name a build the mirror no longer has.
		apt-get update -q >&2
		(cd "$tmp" && apt-get download -q "$pkg" >&2) || die "apt-get download $pkg failed"
	fi
	mkdir "$tmp/root"
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	depmod_if_needed "$tmp/root"
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
	echo "$pkg" >"$dir/.complete"
fi
echo "$dir"
