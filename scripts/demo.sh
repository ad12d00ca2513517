#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# LAN party in a box: the e2e topology (relay, gateway, party LAN with DHCP, two players) in
# network namespaces on this machine, kept up until Ctrl-C, then removed. Needs root. The
# players join the way real ones do: with nothing but an invite link from the host's gateway.
# Usage: scripts/demo.sh [BUILD_DIR]   (default build/release; builds the three binaries unless
# LP_DEMO_NO_BUILD=1)
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$repo/build/release}"
if [ "${LP_DEMO_NO_BUILD:-0}" != 1 ]; then
  if [ ! -d "$build" ] && [ "$build" = "$repo/build/release" ]; then
    (cd "$repo" && cmake --preset release >/dev/null) || exit 1
  fi
  echo "Building the relay, gateway and client in $build..."
  cmake --build "$build" -j2 --target lanparty-relay lanparty-gateway lanparty-client >/dev/null ||
    { echo "demo: build failed in $build"; exit 1; }
fi
# shellcheck source=SCRIPTDIR/../tests/e2e/topology.sh
source "$repo/tests/e2e/topology.sh"
lp_use_build "$build"

lp_require_privileges
lp_init
echo "Setting up the LAN party (namespaces $LP_PREFIX-*)..."
lp_start_party || { lp_dump_logs 20; exit 1; }
for role in c1 c2; do
  lp_dhcp "$role" || { echo "demo: $role got no DHCP lease"; lp_dump_logs 20; exit 1; }
done

cat <<EOF

The party is up. Room $LP_ROOM on relay $LP_RELAY_IP:$LP_RELAY_PORT, owned by the gateway's
room key ($LP_GW_STATE/room.key). Each player joined with one command, e.g. player 1:
  lanparty-client join '${LP_LINK[c1]}'
Who is there: ip netns exec $(lp_ns gw) $LP_GATEWAY_BIN --state-dir $LP_GW_STATE ctl peers
  player 1: ip netns exec $(lp_ns c1) bash   (lanparty0 ${LP_LEASE[c1]}, MAC ${LP_CLIENT_MAC[c1]})
  player 2: ip netns exec $(lp_ns c2) bash   (lanparty0 ${LP_LEASE[c2]}, MAC ${LP_CLIENT_MAC[c2]})
  LAN host: ip netns exec $(lp_ns lanhost) bash  (eth0 = $LP_LANHOST_IP, runs the DHCP server)
  relay metrics: ip netns exec $(lp_ns relay) python3 $LP_E2E_DIR/lp_net.py http-get \
    http://$LP_RELAY_IP:$LP_METRICS_PORT/metrics
  logs: $LP_TMP

Try: ip netns exec $(lp_ns c1) ping ${LP_LEASE[c2]}
Ctrl-C removes everything.
EOF
while lp_alive relay && lp_alive gateway && lp_alive c1 && lp_alive c2; do sleep 1; done
echo "demo: a party process exited; logs follow"
lp_dump_logs 20
