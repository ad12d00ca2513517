#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Whole-path benchmark on the e2e topology (client TAP -> QUIC -> relay -> QUIC -> gateway
# AF_PACKET -> LAN host): iperf3 TCP both ways with 1 and 4 streams, UDP from client 1 to the
# LAN host at several rates, ping RTT idle and under a TCP load, and the CPU each hop used.
# Every test runs LP_BENCH_RUNS times (rounds of the whole set, so a burst of load elsewhere on
# the machine hits one round, not one test); the table gives the median with min-max.
# Usage: bench/e2e/lan_party_bench.sh [BUILD_DIR]   (default build/release; root)
#   LP_BENCH_RUNS=5      rounds
#   LP_BENCH_SECONDS=10  length of each iperf3 run
#   LP_BENCH_UDP_RATES="50M 200M 800M"  UDP offered loads (1200-byte datagrams)
#   LP_BENCH_CLIENT_FLAGS="--no-tap-offload"  extra flags for the clients (before/after runs)
#   LP_BENCH_GATEWAY_FLAGS="--no-lan-offload"  extra flags for the gateway
#   LP_BENCH_RAW=FILE    also keep every measurement, one line each
#   LP_BENCH_PERF=PREFIX  also profile the three processes during one TCP run each way (perf)
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$repo/build/release}"
seconds="${LP_BENCH_SECONDS:-10}"
runs="${LP_BENCH_RUNS:-5}"
read -r -a udp_rates <<<"${LP_BENCH_UDP_RATES:-50M 200M 800M}"
# shellcheck source=SCRIPTDIR/../../tests/e2e/topology.sh
source "$repo/tests/e2e/topology.sh"
lp_use_build "$build"

lp_require_privileges
command -v iperf3 >/dev/null || { echo "ERROR: iperf3 missing (scripts/install-deps.sh)"; exit 2; }
lp_init
# shellcheck disable=SC2034 # read by topology.sh
read -r -a LP_CLIENT_EXTRA_FLAGS <<<"${LP_BENCH_CLIENT_FLAGS:-}"
# shellcheck disable=SC2034 # read by topology.sh
read -r -a LP_GATEWAY_EXTRA_FLAGS <<<"${LP_BENCH_GATEWAY_FLAGS:-}"
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
  local lost=$((sent - arrived))
  # A TSO super-frame counts once at the TAP and as many segments at the relay: no count then.
  ((lost < 0)) && lost="n/a"
  echo "$lost/$((a[3] - b[3]))/$((a[4] - b[4]))"
}

raw="${LP_BENCH_RAW:-$LP_TMP/bench.raw}"
: >"$raw"
# Each measurement is one line of $raw: "TEST ROUND received loss relay% gateway% client% lost",
# loss being UDP's lost % or TCP's retransmitted segments (NNNrtx).
run_iperf() {
  local label=$1 round=$2
  shift 2
  local before json cpu received loss extra
  before=$(loss_counters)
  cpu_start
  json=$(lp_in c1 iperf3 -c "$LP_LANHOST_IP" -t "$seconds" -J "$@" 2>&1)
  cpu=$(cpu_stop)
  read -r received loss extra <<<"$(echo "$json" | summarize)"
  # TCP has no loss of its own: its retransmitted segments take the column.
  [ "$loss" = "-" ] && [[ "$extra" == retransmits=* ]] && loss="${extra#retransmits=}rtx"
  echo "$label $round $received $loss $cpu $(loss_delta "$before" "$(loss_counters)")" >>"$raw"
}

# ping_stats ROLE DEST: min/avg/max/mdev of 100 pings 50 ms apart (5 s).
ping_stats() {
  lp_in "$1" ping -n -q -c 100 -i 0.05 "$2" | grep -o 'rtt.*' | cut -d' ' -f4
}
# "TEST ROUND avg_ms min_ms max_ms relay% gateway% client% -" for 100 pings, idle or during a
# TCP upload of the same length.
run_ping() {
  local label=$1 round=$2 load=$3 stats cpu
  cpu_start
  if ((load)); then
    lp_in c1 iperf3 -c "$LP_LANHOST_IP" -t 6 >/dev/null 2>&1 &
    local iperf=$!
    sleep 0.5
  fi
  stats=$(ping_stats c1 "$LP_LANHOST_IP")
  ((load)) && wait "$iperf"
  cpu=$(cpu_stop)
  IFS=/ read -r min avg max _ <<<"$stats"
  echo "$label $round ${avg:-nan}ms ${min:-nan}-${max:-nan} $cpu -" >>"$raw"
}

echo "Running $runs rounds of: TCP 1 and 4 streams both ways, UDP ${udp_rates[*]} (1200-byte" \
  "datagrams), ${seconds}s each; 100 pings idle and under TCP load..."
for ((round = 1; round <= runs; round++)); do
  echo "round $round: $(uptime | sed 's/.*load/load/')"
  echo "LOAD $round $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"
  run_iperf "TCP" "$round"
  run_iperf "TCP-R" "$round" -R
  run_iperf "TCP-4" "$round" -P 4
  run_iperf "TCP-R-4" "$round" -R -P 4
  for rate in "${udp_rates[@]}"; do run_iperf "UDP-$rate" "$round" -u -b "$rate" -l 1200; done
  run_ping "ping-idle" "$round" 0
  run_ping "ping-loaded" "$round" 1
done
rtt_wan=$(ping_stats c1 "$LP_RELAY_IP")

# LP_BENCH_PERF=PREFIX: a CPU profile of the three processes (perf, cpu-clock, call graphs)
# during one TCP run each way; PREFIX.tcp.txt and PREFIX.tcp-r.txt list where the cycles go.
profile() {
  local name=$1
  shift
  perf record -q -e cpu-clock -F 1999 -g -o "$LP_BENCH_PERF.$name.data" \
    -p "${LP_PID[relay]},${LP_PID[gateway]},${LP_PID[c1]}" -- sleep "$((seconds - 2))" \
    >/dev/null 2>&1 &
  local perf_pid=$!
  sleep 0.5
  lp_in c1 iperf3 -c "$LP_LANHOST_IP" -t "$seconds" "$@" >/dev/null 2>&1
  wait "$perf_pid"
  perf report -i "$LP_BENCH_PERF.$name.data" --no-children --sort comm,dso,sym --stdio \
    --percent-limit 0.7 -g none 2>/dev/null | grep -v '^$' >"$LP_BENCH_PERF.$name.txt"
  echo "profile of $name: $LP_BENCH_PERF.$name.txt"
}
if [ -n "${LP_BENCH_PERF:-}" ]; then
  if command -v perf >/dev/null; then
    profile tcp
    profile tcp-r -R
  else
    echo "LP_BENCH_PERF: perf missing (apt-get install linux-perf)"
  fi
fi

echo
echo "Whole path: c1 TAP -> QUIC -> relay -> QUIC -> gateway (AF_PACKET) -> LAN bridge -> LAN host"
echo "Median of $runs rounds [min-max]. CPU is % of one core over the run ($(nproc) cores on this" \
  "machine, shared with whatever else runs; load averages per round:" \
  "$(grep '^LOAD' "$raw" | cut -d' ' -f3 | tr '\n' ' '))."
echo "TCP 'loss' is iperf3's retransmitted segments; ping rows: 'received' is the average RTT of" \
  "100 pings, 'loss' the median of their minimum."
"$LP_PYTHON" - "$raw" <<'PY'
import statistics, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    f = line.split()
    if not f or f[0] == "LOAD":
        continue
    if f[0] not in rows:
        rows[f[0]] = []
        order.append(f[0])
    rows[f[0]].append(f[2:])

def num(text):
    try:
        return float(text.rstrip("%").replace("Mbit/s", "").replace("ms", "").replace("rtx", ""))
    except ValueError:
        return None

def summary(values, unit, digits):
    xs = [v for v in (num(x) for x in values) if v is not None]
    if not xs:
        return "-"
    fmt = "%%.%df" % digits
    return (fmt % statistics.median(xs)) + unit + " [" + (fmt % min(xs)) + "-" + \
        (fmt % max(xs)) + "]"

print("%-11s %-30s %-18s %-13s %-13s %-13s %s" % ("test", "received", "loss", "relay",
      "gateway", "client", "lost c->relay/queue_full/host"))
for name in order:
    r = rows[name]
    if name.startswith("ping"):
        received = summary([x[0] for x in r], "ms", 3)
        loss = summary([x[1].split("-")[0] for x in r], "ms", 3)
    else:
        received = summary([x[0] for x in r], " Mbit/s", 1)
        tcp = r[0][1].endswith("rtx")
        loss = summary([x[1] for x in r], " rtx" if tcp else "%", 0 if tcp else 2)
    cpu = [summary([x[i] for x in r], "%", 0) for i in (2, 3, 4)]
    lost = " ".join(x[5] for x in r)
    print("%-11s %-30s %-18s %-13s %-13s %-13s %s" % (name, received, loss, *cpu, lost))
PY
echo
echo "RTT c1 -> relay host directly on the WAN (reference), 100 pings: $rtt_wan ms"
echo "Every measurement: $raw"
