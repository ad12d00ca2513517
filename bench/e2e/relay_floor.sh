#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The floor under the relay's CPU at 50 Mbit/s on the e2e harness. On the same namespaces and
# veths as the party, udp_floor forwards the relay's packet pattern with no QUIC and no crypto:
# one UDP GSO train per millisecond from client 1's namespace (what the client sends for a
# burst read from its TAP), sent on as one train to the gateway's namespace, each answered by a
# small datagram both ways (the relay's ACK to the client, the gateway's to the relay). Then the
# real party, iperf3 UDP at the same rate. Each line: % of one core over LP_FLOOR_SECONDS.
# Usage: bench/e2e/relay_floor.sh [BUILD_DIR]   (default build/release; root)
#   LP_FLOOR_ROUNDS=3  LP_FLOOR_SECONDS=5  LP_FLOOR_MBIT=50
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$repo/build/release}"
rounds="${LP_FLOOR_ROUNDS:-3}"
seconds="${LP_FLOOR_SECONDS:-5}"
mbit="${LP_FLOOR_MBIT:-50}"
floor_bin="$build/bench/e2e/lanparty_bench_udp_floor"
# shellcheck source=SCRIPTDIR/../../tests/e2e/topology.sh
source "$repo/tests/e2e/topology.sh"
lp_use_build "$build"

lp_require_privileges
[ -x "$floor_bin" ] || { echo "ERROR: $floor_bin missing (build with -DLANPARTY_BUILD_BENCH=ON)"; exit 2; }
command -v iperf3 >/dev/null || { echo "ERROR: iperf3 missing (scripts/install-deps.sh)"; exit 2; }
lp_init
lp_setup_network || { echo "network setup failed"; exit 1; }

# measure LABEL NAME: after a second of warm-up, NAME's CPU (in % of one core) and the
# datagrams the relay's namespace took in per second (a GSO train counts once) over $seconds.
measure() {
  sleep 1
  local cpu0 t0
  cpu0=$(lp_cpu_seconds "${LP_PID[$2]}")
  t0=$(date +%s%N)
  lp_in relay nstat -n >/dev/null
  sleep "$seconds"
  local cpu in
  cpu=$(awk -v a="$cpu0" -v b="$(lp_cpu_seconds "${LP_PID[$2]}")" -v t0="$t0" \
    -v t1="$(date +%s%N)" 'BEGIN{printf "%.1f", (b - a) * 1e11 / (t1 - t0)}')
  in=$(lp_in relay nstat | awk -v s="$seconds" '/UdpInDatagrams/{printf "%d", $2 / s}')
  echo "$1 $cpu% in=$in/s"
}

floor_round() {
  local mode=$1 round=$2 relay_ip=${LP_WAN_IP[relay]} gw_ip=${LP_WAN_IP[gw]} c1_ip=${LP_WAN_IP[c1]}
  local quiet=()
  [ "$mode" = quiet ] && quiet=(quiet)
  lp_spawn sink gw "$LP_TMP/sink.log" "$floor_bin" sink "$gw_ip:4444" "${quiet[@]}"
  lp_spawn forwarder relay "$LP_TMP/forwarder.log" "$floor_bin" forward "$relay_ip:4444" \
    "$gw_ip:4444" "${quiet[@]}"
  sleep 0.3
  lp_in c1 "$floor_bin" send "$c1_ip" "$relay_ip:4444" "$mbit" 1250 1000 "$((seconds + 2))" \
    >"$LP_TMP/sender.log" 2>&1 &
  local sender=$!
  measure "floor-$mode $round" forwarder
  wait "$sender"
  lp_stop_pid forwarder
  lp_stop_pid sink
}

relay_round() {
  lp_in c1 iperf3 -c "$LP_LANHOST_IP" -u -b "${mbit}M" -l 1200 -t "$((seconds + 2))" \
    >"$LP_TMP/iperf3-client.log" 2>&1 &
  local client=$!
  measure "relay $1" relay
  wait "$client"
}

echo "Floor forwarder (udp_floor) at $mbit Mbit/s, ${seconds}s per round, $rounds rounds:"
for ((round = 1; round <= rounds; round++)); do
  floor_round answers "$round"
  floor_round quiet "$round"
done

echo "The party's relay, iperf3 UDP at $mbit Mbit/s (1200-byte datagrams):"
# lp_start_party sets the network up itself: start from fresh namespaces.
for role in "${LP_ROLES[@]}"; do ip netns del "$(lp_ns "$role")" 2>/dev/null; done
lp_start_party || { lp_dump_logs 20; exit 1; }
lp_dhcp c1 || { echo "floor: c1 got no DHCP lease"; exit 1; }
lp_spawn iperf3 lanhost "$LP_TMP/iperf3-server.log" iperf3 -s -B "$LP_LANHOST_IP"
iperf_listening() { lp_in lanhost ss -ltn | grep -q ":5201 "; }
lp_poll 5 0.1 iperf_listening || { echo "floor: iperf3 server did not start"; exit 1; }
lp_poll 5 0.1 lp_ping_once c1 "$LP_LANHOST_IP" || { echo "floor: no ping through the party"; exit 1; }
for ((round = 1; round <= rounds; round++)); do relay_round "$round"; done
