#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where an idle ping's round trip through the party goes: the e2e topology (client TAP -> QUIC
# -> relay -> QUIC -> gateway AF_PACKET -> LAN host), one tcpdump per hop on every interface a
# ping crosses, and per ping the time each process held the packet (in -> out) and each wire
# (out -> in). All captures read the same kernel clock; the figures are medians over the pings.
# Usage: bench/e2e/rtt_breakdown.sh [BUILD_DIR]   (default build/release; root)
#   LP_RTT_PINGS=50         pings (one every LP_RTT_INTERVAL seconds, default 0.2)
#   LP_RTT_KEEP=DIR         keep the captures' text there
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$repo/build/release}"
pings="${LP_RTT_PINGS:-50}"
interval="${LP_RTT_INTERVAL:-0.2}"
# shellcheck source=SCRIPTDIR/../../tests/e2e/topology.sh
source "$repo/tests/e2e/topology.sh"
lp_use_build "$build"

lp_require_privileges
command -v tcpdump >/dev/null || { echo "ERROR: tcpdump missing"; exit 2; }
lp_init
echo "Setting up the LAN party (namespaces $LP_PREFIX-*, binaries from $build)..."
lp_start_party || { lp_dump_logs 20; exit 1; }
lp_dhcp c1 || { echo "rtt: c1 got no DHCP lease"; exit 1; }
lp_poll 5 0.1 lp_ping_once c1 "$LP_LANHOST_IP" || { echo "rtt: no ping through the party"; exit 1; }

# One capture per namespace on every interface (-i any: the direction is in the line).
captures=(c1 relay gw lanhost)
for role in "${captures[@]}"; do
  lp_spawn "tcpdump-$role" "$role" "$LP_TMP/tcpdump-$role.err" \
    tcpdump -i any -n -tt --time-stamp-precision=micro -l -Q inout "icmp or udp port 4433" \
    -w "$LP_TMP/cap-$role.pcap"
done
capturing() { for r in "${captures[@]}"; do grep -q "listening on" "$LP_TMP/tcpdump-$r.err" || return 1; done; }
lp_poll 5 0.1 capturing || { echo "rtt: tcpdump did not start"; exit 1; }
sleep 0.5
lp_in c1 ping -n -q -c "$pings" -i "$interval" "$LP_LANHOST_IP" >"$LP_TMP/ping.txt"
sleep 0.5
for role in "${captures[@]}"; do lp_stop_pid "tcpdump-$role"; done
tail -2 "$LP_TMP/ping.txt"
for role in "${captures[@]}"; do
  # Read inside the namespace: the capture names interfaces by index, resolved where it runs.
  lp_in "$role" tcpdump -r "$LP_TMP/cap-$role.pcap" -n -tt --time-stamp-precision=micro \
    2>/dev/null >"$LP_TMP/cap-$role.txt"
done
# -i any writes Linux cooked captures; tcpdump -r prints the interface and direction.
"$LP_PYTHON" "$repo/bench/e2e/rtt_breakdown.py" "$LP_TMP" "${LP_WAN_IP[relay]}" \
  "${LP_WAN_IP[gw]}" "${LP_WAN_IP[c1]}" "$LP_LANHOST_IP"
if [ -n "${LP_RTT_KEEP:-}" ]; then
  mkdir -p "$LP_RTT_KEEP" && cp "$LP_TMP"/cap-*.txt "$LP_TMP/ping.txt" "$LP_RTT_KEEP/"
fi
