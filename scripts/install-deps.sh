#!/usr/bin/env bash
# Installs what synprobe needs to build, run and test on Debian 12 (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev   # build
	libmnl-dev libjson-c-dev libyaml-dev libmicrohttpd-dev libcap-dev        # engine and CLI
	nettle-dev                                                               # serve --shard (MD5)
	libgnutls28-dev libcrypt-dev                                             # serve: TLS, bcrypt
	libpcre2-dev                                                             # send/expect checks (PCRE2)
	scdoc                                                                    # man pages
	libcmocka-dev libnetfilter-queue-dev curl prometheus openssl             # tests
	iproute2 nftables iptables tcpdump util-linux procps socat               # tests and demo
	wireguard-tools                                                          # tests: WireGuard keys
	jq strace python3 python3-scapy                                          # tests
	man-db bsdextrautils systemd zsh                                         # test_install
	debhelper build-essential fakeroot lintian                               # the .deb (CI)
	dnsmasq-base                                                             # tests: a DNS server (no service)
	qemu-system-x86 busybox-static kmod cpio xz-utils file                   # make test-kernels
	libclang-rt-14-dev                                                       # make fuzz (libFuzzer)
	iperf3 gnuplot-nox time                                                  # make bench
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
