#!/usr/bin/env bash
# The Debian package, as an admin meets it (root; .ci/run runs it after make test):
# - dpkg-buildpackage -b -us -uc in a clean clone of HEAD builds synprobe, libsynprobe0 and
#   libsynprobe-dev; lintian finds no error in the .changes (its other tags are shown);
# - dpkg -i: synprobe --version, man synprobe, the system user synprobe, the conffile
#   /etc/synprobe/synprobe.yaml, the unit enabled (deb-systemd-helper; started only where systemd
#   runs) and passing systemd-analyze verify, and examples/check_targets.c built with
#   pkg-config against libsynprobe-dev checking a loopback listener;
# - dpkg -r keeps the conffile; dpkg -P removes it, and afterwards no path that names synprobe
#   differs from before the install (a file list diff of /etc /usr /lib /var/lib /opt).
# This installs into the real system, as CI does: an EXIT trap purges the packages (and deletes
# the synprobe user if it did not exist before) also when a step fails. It refuses to run when a
# synprobe package is already installed. Ends with "N passed, N failed, N skipped".
. "$(dirname "$0")/../integration/lib.sh"
sp_require_root
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

top=$(cd "$(dirname "$0")/../.." && pwd)
pkgs=(synprobe libsynprobe0 libsynprobe-dev)
user_existed=$(getent passwd synprobe >/dev/null && echo 1)
LISTEN_PID=

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -qv 'not-installed'; }

# dpkg_run ARGS...: dpkg, waiting up to 2 minutes for a lock another apt or dpkg holds.
dpkg_run() {
	local _
	for _ in $(seq 60); do
		dpkg "$@" >"$SP_TMP/dpkg.log" 2>&1 && return 0
		grep -q 'lock' "$SP_TMP/dpkg.log" || break
		sleep 2
	done
	cat "$SP_TMP/dpkg.log"
	return 1
}

cleanup() {
	local p
	[ -n "$LISTEN_PID" ] && kill "$LISTEN_PID" 2>/dev/null
	for p in "${pkgs[@]}"; do
		installed "$p" && dpkg_run -P "$p"
	done
	if [ -z "$user_existed" ]; then
		getent passwd synprobe >/dev/null && deluser --system --quiet synprobe >/dev/null 2>&1
		getent group synprobe >/dev/null && delgroup --system --quiet synprobe >/dev/null 2>&1
	fi
	rm -rf "$SP_TMP"
}

T_SKIPPED=0
skip() { T_N=$((T_N + 1)); T_SKIPPED=$((T_SKIPPED + 1)); echo "ok $T_N - $1 # SKIP $2"; }
summary() {
	local n_ok=$((T_N - T_FAILED - T_SKIPPED))
	echo "$n_ok passed, $T_FAILED failed, $T_SKIPPED skipped"
	[ "$T_FAILED" -eq 0 ]
}

for p in "${pkgs[@]}"; do
	if installed "$p"; then
		not_ok "$p is installed on this machine already: purge it first (this test would remove it)"
		rm -rf "$SP_TMP"
		summary
		exit 1
	fi
done
trap cleanup EXIT

# file_list: every path below the directories a package touches, except caches and logs.
file_list() {
	find /etc /usr /lib /var/lib /opt -xdev 2>/dev/null | grep -vE '^/var/lib/(dpkg|apt|ucf)/' | sort
}

# --- build from a clean clone, lintian
git clone -q "$top" "$SP_TMP/src/synprobe" || { not_ok "git clone"; exit 1; }
if (cd "$SP_TMP/src/synprobe" && dpkg-buildpackage -b -us -uc) >"$SP_TMP/build.log" 2>&1; then
	ok "dpkg-buildpackage -b -us -uc in a clean clone"
else
	tail -n 30 "$SP_TMP/build.log"
	not_ok "dpkg-buildpackage -b -us -uc in a clean clone"
	exit 1
fi
debs=()
for p in "${pkgs[@]}"; do
	debs+=("$(ls "$SP_TMP"/src/${p}_*.deb)")
done
check "the .debs: ${pkgs[*]}" [ ${#debs[@]} = 3 ]
lintian -I "$SP_TMP"/src/synprobe_*.changes >"$SP_TMP/lintian.log" 2>&1
sed 's/^/# lintian: /' "$SP_TMP/lintian.log" | grep -v 'root privileges'
check "lintian: no error" [ "$(grep -c '^E:' "$SP_TMP/lintian.log")" = 0 ]

# --- install
file_list >"$SP_TMP/before"
if dpkg_run -i "${debs[@]}"; then
	ok "dpkg -i ${pkgs[*]}"
else
	not_ok "dpkg -i ${pkgs[*]}"
	exit 1
fi
check "synprobe --version says $(cat "$top/VERSION")" grep -qx "synprobe $(cat "$top/VERSION") .*" \
	<(/usr/sbin/synprobe --version)
# Minimal images (Debian's docker ones) tell dpkg not to install man pages and docs
# (path-exclude in /etc/dpkg/dpkg.cfg.d/): then the man checks read the .deb's own copy.
dpkg-deb -x "${debs[0]}" "$SP_TMP/deb"
manpath=/usr/share/man
if [ ! -e /usr/share/man/man8/synprobe.8.gz ] && [ -e "$SP_TMP/deb/usr/share/man/man8/synprobe.8.gz" ] &&
	grep -qsE '^path-exclude[= ]+/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
	skip "man synprobe" "dpkg excludes /usr/share/man here (path-exclude)"
	manpath=$SP_TMP/deb/usr/share/man
else
	check "man synprobe" grep -q '^NAME' <(MANWIDTH=100 man 8 synprobe 2>/dev/null)
fi
check "man synprobe.yaml" grep -q 'synprobe.yaml - the config' \
	<(MANWIDTH=100 MANPATH=$manpath man 5 synprobe.yaml 2>/dev/null)
system_user() {
	local uid shell
	uid=$(getent passwd synprobe | cut -d: -f3)
	shell=$(getent passwd synprobe | cut -d: -f7)
	[ -n "$uid" ] && [ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ]
}
check "the system user synprobe (uid < 1000, nologin)" system_user
check "/etc/synprobe/synprobe.yaml is a conffile" grep -q '/etc/synprobe/synprobe.yaml' \
	<(dpkg-query -W -f='${Conffiles}' synprobe)
check "the unit is enabled (multi-user.target.wants)" \
	[ -L /etc/systemd/system/multi-user.target.wants/synprobe.service ]
# verify runs man for each Documentation= page.
if out=$(MANPATH=$manpath systemd-analyze verify /lib/systemd/system/synprobe.service 2>&1) &&
	[ -z "$out" ]; then
	ok "systemd-analyze verify the installed unit: no message"
else
	not_ok "systemd-analyze verify the installed unit: $out"
fi
config_good() { /usr/sbin/synprobe serve -c /etc/synprobe/synprobe.yaml --check-config >/dev/null; }
check "the installed config is good" config_good
check "the bash completion" [ -f /usr/share/bash-completion/completions/synprobe ]
check "the zsh completion" [ -f /usr/share/zsh/vendor-completions/_synprobe ]

# The example from libsynprobe-dev, built through pkg-config, on a loopback listener.
ex=/usr/share/doc/libsynprobe-dev/examples/check_targets.c
if [ ! -e $ex ]; then
	diag "no $ex (dpkg path-exclude for /usr/share/doc?): building the source tree's copy"
	ex=$top/examples/check_targets.c
fi
# shellcheck disable=SC2046
check "the example builds with pkg-config --cflags --libs synprobe" \
	cc -Wall -Werror "$ex" $(pkg-config --cflags --libs synprobe) -o "$SP_TMP/check_targets"
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$SP_TMP/port" &
LISTEN_PID=$!
wait_until 5 test -s "$SP_TMP/port"
port=$(cat "$SP_TMP/port")
out=$("$SP_TMP/check_targets" 127.0.0.1 "$port" 2>&1)
diag "$out"
check "the example finds the loopback listener open" grep -q "^127.0.0.1 $port open [1-9]" <<<"$out"
kill "$LISTEN_PID" 2>/dev/null
LISTEN_PID=

# --- remove, purge
dpkg_run -r "${pkgs[@]}"
check "dpkg -r: the binary is gone" [ ! -e /usr/sbin/synprobe ]
check "dpkg -r: the conffile stays" [ -f /etc/synprobe/synprobe.yaml ]
dpkg_run -P "${pkgs[@]}"
check "dpkg -P: the conffile is gone" [ ! -e /etc/synprobe ]
check "dpkg -P: the unit's enablement is gone" \
	[ ! -e /etc/systemd/system/multi-user.target.wants/synprobe.service ]
file_list >"$SP_TMP/after"
diff "$SP_TMP/before" "$SP_TMP/after" | grep '^[<>]' >"$SP_TMP/diff"
if grep -q synprobe "$SP_TMP/diff"; then
	not_ok "after purge, paths that name synprobe differ: $(grep synprobe "$SP_TMP/diff" | tr '\n' ' ')"
else
	ok "after purge no path that names synprobe is left"
fi
# Others (apt run by someone else meanwhile) are shown, not judged.
[ -s "$SP_TMP/diff" ] && diag "other changes meanwhile: $(head -n 5 "$SP_TMP/diff" | tr '\n' ' ')"
has_user() { getent passwd synprobe >/dev/null; }
check "the system user stays after purge, as Debian keeps system users" has_user

trap - EXIT
cleanup
summary
