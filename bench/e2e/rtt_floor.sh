#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The floor under the party's round trip on the e2e harness: on the same namespaces and veths,
# a plaintext Layer 2 tunnel of three trivial processes (udp_floor: client 1's TAP to UDP, a
# relay that passes datagrams between its two peers, the gateway's LAN port through AF_PACKET
# to UDP; one frame per datagram, no QUIC, no crypto), then the real party. Both answer the
# same pings from client 1 to the LAN host: idle (one every LP_RTT_INTERVAL seconds, 0.05 as in
# lan_party_bench.sh and 0.2 as in rtt_breakdown.sh) and back to back (-i 0: the processes
# awake). Each line: the pings' min, median and mean in ms.
# Usage: bench/e2e/rtt_floor.sh [BUILD_DIR]   (default build/release; root)
#   LP_RTT_PINGS=100
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$repo/build/release}"
pings="${LP_RTT_PINGS:-100}"
floor_bin="$build/bench/e2e/lanparty_bench_udp_floor"
# shellcheck source=SCRIPTDIR/../../tests/e2e/topology.sh
source "$repo/tests/e2e/topology.sh"
lp_use_build "$build"

lp_require_privileges
[ -x "$floor_bin" ] || { echo "ERROR: $floor_bin missing (build with -DLANPARTY_BUILD_BENCH=ON)"; exit 2; }
lp_init
lp_setup_network || { echo "network setup failed"; exit 1; }

# ping_line LABEL INTERVAL: min, median and mean of $pings pings from client 1 to the LAN host
# (the median: one slow ping, when something else ran, moves the mean a lot).
ping_line() {
  lp_in c1 ping -n -c "$pings" -i "$2" "$LP_LANHOST_IP" | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' |
    sort -n | awk -v label="$1" -v interval="$2" '
      { t[NR] = $1; sum += $1 }
      END {
        if (NR == 0) { printf "%-8s -i %-4s no answers\n", label, interval; exit }
        median = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        printf "%-8s -i %-4s min %.3f  median %.3f  mean %.3f ms (%d answers)\n", label,
          interval, t[1], median, sum / NR, NR
      }'
}
ping_set() {
  lp_poll 10 0.2 lp_ping_once c1 "$LP_LANHOST_IP" || { echo "rtt: no ping through $1"; exit 1; }
  ping_line "$1" 0.2
  ping_line "$1" 0.05
  ping_line "$1" 0
}

relay_ip=${LP_WAN_IP[relay]}
gw_ip=${LP_WAN_IP[gw]}
c1_ip=${LP_WAN_IP[c1]}
lp_spawn floor-relay relay "$LP_TMP/floor-relay.log" "$floor_bin" bridge "$relay_ip:4444" \
  "$c1_ip:4444" "$gw_ip:4444"
lp_spawn floor-gateway gw "$LP_TMP/floor-gateway.log" "$floor_bin" packet lan0 "$gw_ip:4444" \
  "$relay_ip:4444"
lp_spawn floor-client c1 "$LP_TMP/floor-client.log" "$floor_bin" tap tap0 "$c1_ip:4444" \
  "$relay_ip:4444"
tap_ready() { lp_in c1 ip link show tap0 >/dev/null 2>&1; }
lp_poll 5 0.1 tap_ready || { echo "rtt: the floor's TAP did not appear"; lp_dump_logs 10; exit 1; }
lp_in c1 ip addr add 10.213.2.50/24 dev tap0
lp_in c1 ip link set tap0 up
echo "Round trip, client 1 -> LAN host, $pings pings each:"
ping_set floor
for name in floor-client floor-gateway floor-relay; do lp_stop_pid "$name"; done

# lp_start_party sets the network up itself: start from fresh namespaces.
for role in "${LP_ROLES[@]}"; do ip netns del "$(lp_ns "$role")" 2>/dev/null; done
lp_start_party || { lp_dump_logs 20; exit 1; }
lp_dhcp c1 || { echo "rtt: c1 got no DHCP lease"; exit 1; }
ping_set party
