#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Three relays of one cluster on one redis-server, in network namespaces (issue 17): a gateway
# and two clients whose links name different relays all end in one room (redirects), DHCP and
# broadcast work; kill -9 of the room's relay moves the party to another relay (the time is
# measured and printed; the TAP MACs and DHCP leases stay); a redis-server restart mid-party
# loses no frame of the live room, and a new client joins once it is back.
# Usage: cluster_test.sh RELAY_BIN GATEWAY_BIN CLIENT_BIN   (root; exit 77 = skipped)
#
#   WAN (bridge, 10.213.17.0/24)                       party LAN (bridge, 10.213.18.0/24)
#     r1 .1  r2 .2  r3 .3   lanparty-relay x3            gw's lan0 (no IP) <- gateway
#     redis .9              redis-server (AOF everysec)  lanhost .1  dnsmasq (.100-.150)
#     gw .10  c1 .11  c2 .12  c3 .13
set -uo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 lanparty-relay lanparty-gateway lanparty-client" >&2
  exit 2
fi
# shellcheck disable=SC2034 # read by topology.sh
LP_RELAY_BIN=$1 LP_GATEWAY_BIN=$2 LP_CLIENT_BIN=$3
# shellcheck source=SCRIPTDIR/topology.sh
source "$(dirname "${BASH_SOURCE[0]}")/topology.sh"

# This test's own topology and subnets (topology.sh's helpers, not its network).
LP_ROLES=(wan lan r1 r2 r3 redis gw c1 c2 c3 lanhost)
CL_WAN=10.213.17
CL_LAN=10.213.18
declare -A CL_IP=([r1]=$CL_WAN.1 [r2]=$CL_WAN.2 [r3]=$CL_WAN.3 [redis]=$CL_WAN.9
  [gw]=$CL_WAN.10 [c1]=$CL_WAN.11 [c2]=$CL_WAN.12 [c3]=$CL_WAN.13)
CL_PORT=4433
LP_LANHOST_IP=$CL_LAN.1
LP_ROOM=E2E-CLUSTER
LP_CLIENT_MAC[c3]=02:5a:e2:e0:00:03
# Issue 17: after kill -9 of the room's relay the party is back on another one within 15 s,
# with every peer and relay on its defaults: peers give a relay up after 6 s without a packet
# (a keepalive goes out every second), and a relay's registration lapses 4 s after its death,
# which frees its rooms (docs/architecture.md, "Losing the room's relay").
CL_MOVE_LIMIT_MS=15000

passed=0
failed=0
pass() {
  echo "PASS: $*"
  passed=$((passed + 1))
}
fail() {
  echo "FAIL: $*"
  failed=$((failed + 1))
}
finish() {
  if ((failed > 0)); then lp_dump_logs 30; fi
  echo "$passed passed, $failed failed"
  ((failed == 0))
  exit $?
}

lp_require_privileges
if ! command -v redis-server >/dev/null 2>&1; then
  echo "ERROR: missing tool: redis-server (run scripts/install-deps.sh)"
  exit 2
fi
lp_init
test_start_ms=$(lp_now_ms)

cl_setup_network() {
  local role
  for role in "${LP_ROLES[@]}"; do
    ip netns add "$(lp_ns "$role")" || return 1
    ip -n "$(lp_ns "$role")" link set lo up || return 1
  done
  for role in wan lan; do
    lp_sysctl "$role" net.ipv6.conf.all.disable_ipv6 1 || return 1
    ip -n "$(lp_ns $role)" link add br0 type bridge stp_state 0 mcast_snooping 0 || return 1
    ip -n "$(lp_ns $role)" link set br0 up || return 1
  done
  for role in r1 r2 r3 redis gw c1 c2 c3; do
    lp_veth wan "$role" "$role" wan0 || return 1
    ip -n "$(lp_ns wan)" link set "$role" master br0 up || return 1
    ip -n "$(lp_ns "$role")" addr add "${CL_IP[$role]}/24" dev wan0 || return 1
    ip -n "$(lp_ns "$role")" link set wan0 up || return 1
  done
  lp_veth lan gw gw lan0 || return 1
  ip -n "$(lp_ns lan)" link set gw master br0 up || return 1
  lp_sysctl gw net.ipv6.conf.lan0.disable_ipv6 1 || return 1
  ip -n "$(lp_ns gw)" link set lan0 address "$LP_GW_LAN_MAC" up || return 1
  lp_veth lan host lanhost eth0 || return 1
  ip -n "$(lp_ns lan)" link set host master br0 up || return 1
  ip -n "$(lp_ns lanhost)" addr add "$LP_LANHOST_IP/24" dev eth0 || return 1
  ip -n "$(lp_ns lanhost)" link set eth0 up || return 1
}

CL_REDIS_STARTS=0
cl_start_redis() {
  CL_REDIS_STARTS=$((CL_REDIS_STARTS + 1))
  mkdir -p "$LP_TMP/redis"
  lp_spawn redis redis "$LP_TMP/redis.$CL_REDIS_STARTS.log" redis-server --bind "${CL_IP[redis]}" \
    --port 6379 --protected-mode no --save "" --appendonly yes --appendfsync everysec \
    --dir "$LP_TMP/redis"
  lp_poll 5 0.05 grep -q "Ready to accept connections" "$LP_TMP/redis.$CL_REDIS_STARTS.log" ||
    { echo "redis-server did not start"; return 1; }
}

declare -A CL_RELAY_STARTS=()
cl_start_relay() {
  local role=$1 n
  n=$((${CL_RELAY_STARTS[$role]:-0} + 1))
  CL_RELAY_STARTS[$role]=$n
  lp_spawn "$role" "$role" "$LP_TMP/$role.$n.log" "$LP_RELAY_BIN" \
    --listen "${CL_IP[$role]}:$CL_PORT" --advertise "${CL_IP[$role]}:$CL_PORT" \
    --cert "$LP_TMP/relay-cert.pem" --key "$LP_TMP/relay-key.pem" \
    --directory "redis://${CL_IP[redis]}:6379/0" --state-dir "$LP_TMP/$role-state" \
    --metrics-listen "${CL_IP[$role]}:$LP_METRICS_PORT"
  lp_poll 5 0.05 grep -q "relay.listening" "$LP_TMP/$role.$n.log" ||
    { echo "relay $role did not start"; tail -n 20 "$LP_TMP/$role.$n.log"; return 1; }
}

# cl_metric ROLE NAME: the value of one unlabelled metric of that relay (empty if down).
cl_metric() {
  lp_net "$1" http-get "http://${CL_IP[$1]}:$LP_METRICS_PORT/metrics" 2>/dev/null |
    awk -v n="$2" '$1 == n { print $2 }'
}

# The relay that holds the room: the one whose metrics count the three peers.
cl_home() {
  local role
  for role in r1 r2 r3; do
    [ -n "${LP_PID[$role]:-}" ] || continue  # killed
    if [ "$(cl_metric "$role" lanparty_relay_peers)" = 3 ]; then
      echo "$role"
      return 0
    fi
  done
  return 1
}

# cl_invite NAME RELAY...: an invite whose link names these relays, in this order.
cl_invite() {
  local name=$1 relay args=()
  shift
  for relay in "$@"; do args+=(--relay "${CL_IP[$relay]}:$CL_PORT"); done
  "$LP_GATEWAY_BIN" --state-dir "$LP_GW_STATE" invite --room "$LP_ROOM" "${args[@]}" \
    --relay-ca-cert "$LP_TMP/relay-cert.der" --server-name "$LP_SERVER_NAME" \
    --name "$name" >"$LP_TMP/invite.$name.txt" || return 1
  grep -m1 '^lanparty://' "$LP_TMP/invite.$name.txt"
}

tap_mac() { lp_in "$1" cat /sys/class/net/lanparty0/address; }

# --- setup: network, certificate, redis, three relays, the LAN's DHCP server ----------------
cl_setup_network || { fail "setup: network"; finish; }
lp_make_certificate || { fail "setup: certificate"; finish; }
cl_start_redis || { fail "setup: redis-server"; finish; }
for role in r1 r2 r3; do cl_start_relay "$role" || { fail "setup: relay $role"; finish; }; done
lp_start_dnsmasq lanhost eth0 "$CL_LAN.100" "$CL_LAN.150" || { fail "setup: dnsmasq"; finish; }

# --- 1. one room across the cluster --------------------------------------------------------
LP_GW_STATE="$LP_TMP/gw-state"
lp_spawn gateway gw "$LP_TMP/gateway.log" "$LP_GATEWAY_BIN" \
  --relay "${CL_IP[r1]}:$CL_PORT" --more-relays "${CL_IP[r2]}:$CL_PORT,${CL_IP[r3]}:$CL_PORT" \
  --server-name "$LP_SERVER_NAME" --relay-ca-cert "$LP_TMP/relay-cert.der" --room "$LP_ROOM" \
  --interface lan0 --state-dir "$LP_GW_STATE"
lp_poll 20 0.1 lp_joined_at_least gateway 1 || { fail "1. the gateway did not join"; finish; }
LP_LINK[c1]=$(cl_invite c1 r2 r3 r1) || { fail "1. no invite for c1"; finish; }
LP_LINK[c2]=$(cl_invite c2 r3 r1 r2) || { fail "1. no invite for c2"; finish; }
LP_LINK[c3]=$(cl_invite c3 r2 r3 r1) || { fail "1. no invite for c3"; finish; }
if [[ ${LP_LINK[c1]} == *"&relays="* ]]; then
  pass "1. c1's link names r2 first and the others in relays=: ${LP_LINK[c1]%%\?*}?...${LP_LINK[c1]##*&}"
else
  fail "1. c1's link has no relays=: ${LP_LINK[c1]}"
fi
lp_start_client c1 || { fail "1. c1"; finish; }
lp_start_client c2 || { fail "1. c2"; finish; }
if lp_poll 20 0.1 lp_all_joined && lp_poll 5 0.1 cl_home >/dev/null; then
  home=$(cl_home)
  pass "1. gateway (link: r1), c1 (link: r2) and c2 (link: r3) are in one room on $home," \
    "redirects sent: r2=$(cl_metric r2 lanparty_relay_redirects_total)" \
    "r3=$(cl_metric r3 lanparty_relay_redirects_total), in $(($(lp_now_ms) - test_start_ms)) ms"
else
  fail "1. the three did not end in one room (peers: r1=$(cl_metric r1 lanparty_relay_peers)" \
    "r2=$(cl_metric r2 lanparty_relay_peers) r3=$(cl_metric r3 lanparty_relay_peers))"
  finish
fi

# --- 2. DHCP and broadcast through the room ------------------------------------------------
for role in c1 c2; do
  if lp_dhcp "$role"; then
    pass "2. $role leased ${LP_LEASE[$role]} from the LAN's dnsmasq"
  else
    fail "2. $role got no DHCP lease: $(tail -n 3 "$LP_TMP/$role.udhcpc.log" | tr '\n' ' ')"
    finish
  fi
done
declare -A CL_MAC_BEFORE=([c1]=$(tap_mac c1) [c2]=$(tap_mac c2))
cl_broadcast() {
  local text="cluster-discovery-$RANDOM" receiver
  declare -A listener=()
  for receiver in c1 c2; do
    rm -f "$LP_TMP/$receiver.ready"
    lp_net "$receiver" udp-listen --port 47000 --expect "$text" --ready "$LP_TMP/$receiver.ready" \
      --seconds 5 >"$LP_TMP/$receiver.bcast.json" 2>&1 &
    listener[$receiver]=$!
  done
  for receiver in c1 c2; do lp_poll 3 0.05 test -e "$LP_TMP/$receiver.ready"; done
  lp_net lanhost udp-send --dest 255.255.255.255 --port 47000 --text "$text" --count 5 \
    --interval 0.2 --bind-dev eth0 >/dev/null
  for receiver in c1 c2; do
    if wait "${listener[$receiver]}"; then
      pass "2. a LAN broadcast reached $receiver"
    else
      fail "2. a LAN broadcast did not reach $receiver: $(cat "$LP_TMP/$receiver.bcast.json")"
    fi
  done
}
cl_broadcast
if lp_poll 5 0.1 lp_ping_once c1 "${LP_LEASE[c2]}"; then
  pass "2. c1 -> c2 (${LP_LEASE[c2]}) answers"
else
  fail "2. c1 -> c2 (${LP_LEASE[c2]}) does not answer"
fi

# --- 3. redis-server restarts mid-party: the live room loses nothing -----------------------
lp_in c1 ping -n -c 40 -i 0.1 -W 1 "$LP_LANHOST_IP" >"$LP_TMP/ping.redis.log" 2>&1 &
ping_pid=$!
sleep 0.5
lp_stop_pid redis
sleep 1
cl_start_redis || { fail "3. redis-server did not restart"; finish; }
wait $ping_pid
loss=$(grep -o '[0-9.]*% packet loss' "$LP_TMP/ping.redis.log")
if [ "$loss" = "0% packet loss" ]; then
  pass "3. 40 pings c1 -> LAN host across a redis-server restart: $loss"
else
  fail "3. pings across the redis-server restart: ${loss:-no result} ($(tail -n 2 "$LP_TMP/ping.redis.log" | tr '\n' ' '))"
fi
t0=$(lp_now_ms)
lp_start_client c3 || { fail "3. c3"; finish; }
if lp_wait_joined c3 1 20; then
  pass "3. c3 joined after redis-server came back, in $(($(lp_now_ms) - t0)) ms"
else
  fail "3. c3 did not join within 20 s after redis-server came back"
fi
lp_stop_pid c3

# --- 4. kill -9 of the room's relay: the party moves ----------------------------------------
home=$(cl_home) || { fail "4. no relay holds the party"; finish; }
# A party has traffic (a game's packets): c2 keeps pinging the LAN host through the kill, so
# every peer hears its relay until it dies and counts the silence from then.
lp_in c2 ping -n -i 0.2 -W 1 -c 150 "$LP_LANHOST_IP" >"$LP_TMP/ping.move.log" 2>&1 &
traffic_pid=$!
sleep 1
kill -KILL "${LP_PID[$home]}"
wait "${LP_PID[$home]}" 2>/dev/null
unset "LP_PID[$home]"
t0=$(lp_now_ms)
# shellcheck disable=SC2317 # called through lp_poll
cl_rejoined() { cl_home >/dev/null; }
if lp_poll 30 0.1 cl_rejoined; then
  join_ms=$(($(lp_now_ms) - t0))
  new_home=$(cl_home)
  lp_poll 5 0.05 lp_ping_once c1 "$LP_LANHOST_IP"
  move_ms=$(($(lp_now_ms) - t0))
  if ((move_ms <= CL_MOVE_LIMIT_MS)); then
    pass "4. after kill -9 of $home the party is back on $new_home: move_ms=$move_ms" \
      "(all three in the room after $join_ms ms, then c1 -> LAN host answered;" \
      "default settings; limit $CL_MOVE_LIMIT_MS)"
  else
    fail "4. the party is back on $new_home but took move_ms=$move_ms (rejoined after" \
      "$join_ms ms; limit $CL_MOVE_LIMIT_MS)"
  fi
else
  fail "4. the party did not come back within 30 s of kill -9 of $home"
fi
kill "$traffic_pid" 2>/dev/null
wait "$traffic_pid" 2>/dev/null
for role in c1 c2; do
  mac=$(tap_mac "$role")
  if [ "$mac" = "${CL_MAC_BEFORE[$role]}" ] && lp_ping_once "$role" "$LP_LANHOST_IP"; then
    pass "4. $role kept its TAP MAC $mac and its lease ${LP_LEASE[$role]}"
  else
    fail "4. $role's TAP MAC went ${CL_MAC_BEFORE[$role]} -> $mac or its lease stopped working"
  fi
done
cl_broadcast

echo "total run time $(($(lp_now_ms) - test_start_ms)) ms"
finish
