#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Whole-path benchmark on the e2e topology: iperf3 TCP (both ways) and UDP from client 1 to the
# LAN host (TAP -> QUIC -> relay -> QUIC -> gateway -> LAN), RTT of 100 pings, and the CPU each
# hop used.
# Usage: bench/e2e/lan_party_bench.sh [BUILD_DIR]   (default build/release; root)
#   LP_BENCH_SECONDS=10  length of each iperf3 run
#   LP_BENCH_UDP_RATES="100M 300M"  UDP offered loads (1200-byte datagrams)
#   LP_BENCH_CLIENT_FLAGS="--no-tap-offload"  extra flags for the clients (before/after runs)
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$repo/build/release}"
seconds="${LP_BENCH_SECONDS:-10}"
read -r -a udp_rates <<<"${LP_BENCH_UDP_RATES:-100M 300M}"
# shellcheck disable=SC2034 # read by topology.sh
LP_RELAY_BIN=$build/apps/relay/lanparty-relay LP_GATEWAY_BIN=$build/apps/gateway/lanparty-gateway \
  LP_CLIENT_BIN=$build/apps/client-linux/lanparty-client
# shellcheck source=SCRIPTDIR/../../tests/e2e/topology.sh
source "$repo/tests/e2e/topology.sh"

lp_require_privileges
command -v iperf3 >/dev/null || { echo "ERROR: iperf3 missing (scripts/install-deps.sh)"; exit 2; }
lp_init
# shellcheck disable=SC2034 # read by topology.sh
read -r -a LP_CLIENT_EXTRA_FLAGS <<<"${LP_BENCH_CLIENT_FLAGS:-}"
echo "Setting up the LAN party (namespaces $LP_PREFIX-*, binaries from $build)..."
lp_start_party || { lp_dump_logs 20; exit 1; }
lp_dhcp c1 || { echo "bench: c1 got no DHCP lease"; lp_dump_logs 20; exit 1; }

lp_spawn iperf3 lanhost "$LP_TMP/iperf3-server.log" iperf3 -s -B "$LP_LANHOST_IP"
iperf_listening() { lp_in lanhost ss -ltn | grep -q ":5201 "; }
lp_poll 5 0.1 iperf_listening || { echo "bench: iperf3 server did not start"; exit 1; }
# Warm the path (ARP on both sides) so the first run does not pay for it.
lp_poll 5 0.1 lp_ping_once c1 "$LP_LANHOST_IP" ||
  { echo "bench: no ping through the party"; exit 1; }

clk() { lp_now_ms; }
declare -A cpu_before=()
cpu_start() {
  local name
  for name in relay gateway c1; do cpu_before[$name]=$(lp_cpu_seconds "${LP_PID[$name]}"); done
  wall_start=$(clk)
}
# Prints "relay% gateway% client%" of one core over the run that cpu_start began.
cpu_stop() {
  local wall_ms=$(($(clk) - wall_start)) name out=()
  for name in relay gateway c1; do
    out+=("$(awk -v a="${cpu_before[$name]}" -v b="$(lp_cpu_seconds "${LP_PID[$name]}")" \
      -v w="$wall_ms" 'BEGIN{printf "%.0f%%", (b - a) * 100000 / w}')")
  done
  echo "${out[*]}"
}

# iperf3 JSON -> "throughput loss extra", from the receiver's side where iperf3 reports it.
summarize() {
  "$LP_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
if "error" in r:
    print("error", "-", r["error"].replace(" ", "_"))
    sys.exit()
end = r["end"]
if "sum_received" in end and "lost_percent" not in end.get("sum", {}):
    mbps = end["sum_received"]["bits_per_second"] / 1e6
    retransmits = end["sum_sent"].get("retransmits", 0)
    print("%.1fMbit/s" % mbps, "-", "retransmits=%d" % retransmits)
else:
    s = end["sum"]
    got = s["bits_per_second"] * (1 - s["lost_percent"] / 100) / 1e6
    print("%.1fMbit/s" % got, "%.2f%%" % s["lost_percent"],
          "jitter=%.3fms,offered=%.1fMbit/s" % (s["jitter_ms"], s["bits_per_second"] / 1e6))
'
}

# Where frames go missing, as one line of counters: frames the client read from its TAP, frames
# the gateway read from the LAN, the relay's frames in and queue_full drops, and the LAN host's
# UDP receive-buffer drops (the iperf3 server falling behind, not the path).
loss_counters() {
  local tap_tx lan_rx relay_in queue_full host_rcvbuf
  tap_tx=$(lp_in c1 cat /sys/class/net/lanparty0/statistics/tx_packets)
  lan_rx=$(lp_in gw cat /sys/class/net/lan0/statistics/rx_packets)
  relay_in=$(lp_relay_metrics | awk '$1 == "lanparty_relay_frames_in_total" { print $2 }')
  queue_full=$(lp_relay_drops queue_full)
  host_rcvbuf=$(lp_in lanhost cat /proc/net/snmp | awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF;
    i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }')
  echo "$tap_tx $lan_rx ${relay_in:-0} $queue_full $host_rcvbuf"
}
# "client->relay/relay_queue_full/LAN_host_rcvbuf" frames lost between two loss_counters lines.
loss_delta() {
  local b a
  read -r -a b <<<"$1"
  read -r -a a <<<"$2"
  local sent=$(((a[0] - b[0]) + (a[1] - b[1]))) arrived=$((a[2] - b[2]))
  echo "$((sent - arrived))/$((a[3] - b[3]))/$((a[4] - b[4]))"
}

rows=()
run_iperf() {
  local label=$1
  shift
  local before
  before=$(loss_counters)
  cpu_start
  local json
  json=$(lp_in c1 iperf3 -c "$LP_LANHOST_IP" -t "$seconds" -J "$@" 2>&1)
  local cpu
  cpu=$(cpu_stop)
  rows+=("$label $(echo "$json" | summarize) $cpu $(loss_delta "$before" "$(loss_counters)")")
}

ping_stats() {
  lp_in "$1" ping -n -q -c 100 -i 0.05 "$2" | grep -o 'rtt.*' | cut -d' ' -f4
}

echo "Running: TCP both ways, UDP ${udp_rates[*]} (1200-byte datagrams), ${seconds}s each;" \
  "100 pings..."
run_iperf "TCP"
run_iperf "TCP-R" -R
for rate in "${udp_rates[@]}"; do run_iperf "UDP-$rate" -u -b "$rate" -l 1200; done
cpu_start
rtt_party=$(ping_stats c1 "$LP_LANHOST_IP")
rtt_cpu=$(cpu_stop)
rtt_wan=$(ping_stats c1 "$LP_RELAY_IP")

echo
echo "Whole path: c1 TAP -> QUIC -> relay -> QUIC -> gateway (AF_PACKET) -> LAN bridge -> LAN host"
echo "CPU is % of one core over the run ($(nproc) cores on this machine, shared; load average" \
  "$(cut -d' ' -f1 /proc/loadavg) at the end)."
row_format='%-9s %-13s %-6s %-40s %-6s %-8s %-7s %s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$row_format" test received loss detail relay gateway client \
  "lost: client->relay/relay_queue_full/LAN_host_socket"
for row in "${rows[@]}"; do
  # shellcheck disable=SC2086,SC2059 # the row is space-separated fields by construction
  printf "$row_format" $row
done
echo
echo "RTT c1 -> LAN host through the party, 100 pings, min/avg/max/mdev: $rtt_party ms" \
  "(CPU relay/gateway/client: $rtt_cpu)"
echo "RTT c1 -> relay host directly on the WAN (reference):              $rtt_wan ms"
