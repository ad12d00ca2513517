#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the .deb files scripts/package.sh made, without touching this system: apt resolves
# their dependencies (simulated), dpkg installs them into a throwaway root that starts from
# this system's package database, the binaries run from its /usr/bin, and systemd-analyze
# verifies the installed units and scores their hardening.
#   packaging/check-packages.sh [DIR]    # DIR: where the .deb files are (build/packages)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(cd "${1:-$root/build/packages}" && pwd)
debs=("$dir"/lanparty-relay_*.deb "$dir"/lanparty-gateway_*.deb "$dir"/lanparty-client_*.deb)
units=(lanparty-relay.service lanparty-gateway@eth0.service lanparty-client.service)

for deb in "${debs[@]}"; do
  echo "== $(basename "$deb")"
  dpkg-deb -f "$deb" Package Version Depends
  dpkg-deb -c "$deb" | awk '{print "  " $1, $2, $6}'
done

echo "== apt install (simulated)"
apt-get install --simulate "${debs[@]}" | grep -E '^(Inst|Conf) '

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/var/lib/dpkg/info" "$tmp/var/lib/dpkg/updates" "$tmp/var/lib/dpkg/triggers"
cp /var/lib/dpkg/status "$tmp/var/lib/dpkg/status"
touch "$tmp/var/lib/dpkg/available"
echo "== dpkg --root $tmp -i"
# The copied status lists this system's packages without their file lists: dpkg warns once
# per package about that, which says nothing about ours.
dpkg --root="$tmp" --force-not-root -i "${debs[@]}" 2>&1 | grep -v 'files list file for package'
for bin in lanparty-relay lanparty-gateway lanparty-client; do
  "$tmp/usr/bin/$bin" --help >/dev/null
  echo "$bin --help: ok"
done
"$tmp/usr/bin/lanparty-relay" --config "$tmp/etc/lanparty/relay.toml" --print-config >/dev/null
echo "lanparty-relay --config /etc/lanparty/relay.toml: ok"

# The units refer to systemd's own targets: give the root this system's.
cp -rn /usr/lib/systemd/system/. "$tmp/usr/lib/systemd/system/"
# ExecReload= runs /bin/kill (procps, on every Debian system): give the root this system's.
[ -e "$tmp/bin/kill" ] || install -D -m 0755 "$(readlink -f /bin/kill)" "$tmp/bin/kill"
echo "== systemd-analyze verify"
systemd-analyze verify --root="$tmp" "${units[@]}"
echo "ok"
echo "== systemd-analyze security (exposure: 0 = locked down, 10 = none)"
for unit in "${units[@]}"; do
  systemd-analyze security --offline=yes --root="$tmp" "$unit" | grep 'Overall exposure'
done
