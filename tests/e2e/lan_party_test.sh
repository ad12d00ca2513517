#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end LAN party in network namespaces: a real relay, gateway and two clients; DHCP,
# pings, broadcasts, TCP both ways, the relay's DHCP/RA guard, CAM refresh, recovery from a
# relay kill -9, the gateway on a router's bridge (DHCP server, TCP and a container on the
# gateway's own host), and a clean SIGTERM shutdown. Every host keeps the kernel's default
# offloads: unfinished checksums and TCP super-frames reach the gateway as in real life.
# Usage: lan_party_test.sh RELAY_BIN GATEWAY_BIN CLIENT_BIN   (root; exit 77 = skipped)
#   LP_E2E_CLIENT_FLAGS="--no-tap-offload"  extra flags for both clients (ctest runs it twice:
#   TAP offloads on, the default, and off)
#   LP_E2E_GATEWAY_FLAGS="--no-lan-offload"  extra flags for the gateway (likewise)
set -uo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 lanparty-relay lanparty-gateway lanparty-client" >&2
  exit 2
fi
# shellcheck disable=SC2034 # read by topology.sh
LP_RELAY_BIN=$1 LP_GATEWAY_BIN=$2 LP_CLIENT_BIN=$3
# shellcheck source=SCRIPTDIR/topology.sh
source "$(dirname "${BASH_SOURCE[0]}")/topology.sh"

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
# Ends the run: the summary line, the logs when something failed, and the exit status.
finish() {
  if ((failed > 0)); then lp_dump_logs 30; fi
  echo "$passed passed, $failed failed"
  ((failed == 0))
  exit $?
}

lp_require_privileges
lp_init
test_start_ms=$(lp_now_ms)

# --- setup -------------------------------------------------------------------------------
LP_RELAY_EXTRA_FLAGS=(--stats-interval 5)
# shellcheck disable=SC2034 # read by topology.sh
LP_GATEWAY_EXTRA_FLAGS=(--cam-refresh 1)
read -r -a gateway_flags <<<"${LP_E2E_GATEWAY_FLAGS:-}"
LP_GATEWAY_EXTRA_FLAGS+=("${gateway_flags[@]}")
read -r -a LP_CLIENT_EXTRA_FLAGS <<<"${LP_E2E_CLIENT_FLAGS:-}"
tap_offload=1
[[ " ${LP_CLIENT_EXTRA_FLAGS[*]} " == *" --no-tap-offload "* ]] && tap_offload=0
lan_offload=1
[[ " ${gateway_flags[*]} " == *" --no-lan-offload "* ]] && lan_offload=0
if lp_start_party; then
  pass "setup: relay, gateway and both clients joined room $LP_ROOM" \
    "in $(($(lp_now_ms) - test_start_ms)) ms"
else
  fail "setup: the party did not come up (reason above)"
  finish
fi

# --- 1. DHCP through the bridge ----------------------------------------------------------
for role in c1 c2; do
  t0=$(lp_now_ms)
  if lp_dhcp "$role"; then
    pass "1. $role (${LP_CLIENT_MAC[$role]}) leased ${LP_LEASE[$role]} from the LAN's dnsmasq" \
      "in $(($(lp_now_ms) - t0)) ms"
  else
    fail "1. $role got no DHCP lease within the udhcpc budget; udhcpc said:" \
      "$(tail -n 3 "$LP_TMP/$role.udhcpc.log" | tr '\n' ' ')"
  fi
done
if [ -z "${LP_LEASE[c1]:-}" ] || [ -z "${LP_LEASE[c2]:-}" ]; then
  fail "1. without both leases the rest cannot run"
  finish
fi

# --- 2. ping ------------------------------------------------------------------------------
# ping_check ROLE DEST LABEL: first answer within 5 s (ARP included), then 3 more, all answered.
ping_check() {
  local role=$1 dest=$2 label=$3 out
  if ! lp_poll 5 0.1 lp_ping_once "$role" "$dest"; then
    fail "2. $role -> $label ($dest): no answer within 5 s"
    return
  fi
  out=$(lp_in "$role" ping -n -c 3 -i 0.2 -W 1 "$dest" 2>&1)
  local loss rtt
  loss=$(echo "$out" | grep -o '[0-9.]*% packet loss')
  rtt=$(echo "$out" | grep -o 'rtt.*' | cut -d' ' -f4)
  if [ "$loss" = "0% packet loss" ]; then
    pass "2. $role -> $label ($dest): 3/3 answered, rtt min/avg/max/mdev $rtt ms"
  else
    fail "2. $role -> $label ($dest): $loss"
  fi
}
ping_check c1 "$LP_LANHOST_IP" "LAN host"
ping_check c2 "$LP_LANHOST_IP" "LAN host"
ping_check c1 "${LP_LEASE[c2]}" "client 2"
ping_check c2 "${LP_LEASE[c1]}" "client 1"

# --- 11. status ---------------------------------------------------------------------------
# `status --json` of c1 and of the gateway while the party runs (pings just went through):
# the room, both other sides in the peer list, an RTT to the relay and frames both ways.
# check_status JSON_FILE WANT_MAC...: prints what is missing, nothing when all is there.
check_status() {
  local file=$1
  shift
  python3 - "$file" "$LP_ROOM" "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
room, macs = sys.argv[2], sys.argv[3:]
problems = []
if s.get("room") != room or not s.get("in_room"): problems.append(f"not in room {room}: {s.get('state')}")
peer_macs = [p["mac"] for p in s.get("peers", [])]
problems += [f"peer {m} missing from {peer_macs}" for m in macs if m not in peer_macs]
if not s.get("mtu"): problems.append("no MTU")
if not s.get("rtt_us"): problems.append("no RTT")
if not s.get("frames_sent") or not s.get("frames_received"): problems.append("frames not counted")
print("; ".join(problems))
PY
}
# status_summary JSON_FILE: the few fields a reader of the log wants.
status_summary() {
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("room %s, mtu %s, rtt %.1f ms, frames %d/%d, peers %s" % (s["room"], s["mtu"], s["rtt_us"]/1000, s["frames_sent"], s["frames_received"], ",".join(p["role"]+"="+p["mac"] for p in s["peers"])))' "$1"
}
t0=$(lp_now_ms)
lp_in c1 "$LP_CLIENT_BIN" --control-socket "$LP_TMP/c1.ctl.sock" status --json \
  >"$LP_TMP/c1.status.json" 2>&1
missing=$(check_status "$LP_TMP/c1.status.json" "$LP_GW_LAN_MAC" "${LP_CLIENT_MAC[c2]}" 2>&1)
if [ -z "$missing" ]; then
  pass "11. lanparty-client status --json (c1): $(status_summary "$LP_TMP/c1.status.json")"
else
  fail "11. lanparty-client status --json (c1): $missing: $(head -c 400 "$LP_TMP/c1.status.json")"
fi
lp_gateway_status() { lp_in gw "$LP_GATEWAY_BIN" --state-dir "$LP_GW_STATE" status "$@"; }
lp_gateway_status --json >"$LP_TMP/gateway.status.json" 2>&1
missing=$(check_status "$LP_TMP/gateway.status.json" "${LP_CLIENT_MAC[c1]}" \
  "${LP_CLIENT_MAC[c2]}" 2>&1)
if [ -z "$missing" ]; then
  pass "11. lanparty-gateway status --json: $(status_summary "$LP_TMP/gateway.status.json")"
else
  fail "11. lanparty-gateway status --json: $missing: $(head -c 400 "$LP_TMP/gateway.status.json")"
fi
# The same in words, as the README shows it.
c1_text=$(lp_in c1 "$LP_CLIENT_BIN" --control-socket "$LP_TMP/c1.ctl.sock" status 2>&1)
gw_text=$(lp_gateway_status 2>&1)
if [[ $c1_text == *"connected to room $LP_ROOM since"* && $c1_text == *"Relay RTT:"* &&
  $c1_text == *"$LP_GW_LAN_MAC"* && $gw_text == *"connected to room $LP_ROOM since"* &&
  $gw_text == *"${LP_CLIENT_MAC[c2]}"* ]]; then
  pass "11. status in words for c1 and the gateway (in $(($(lp_now_ms) - t0)) ms):"
  echo "$c1_text" | sed 's/^/      /'
else
  fail "11. status in words: c1 said: $c1_text; the gateway said: $gw_text"
fi

# --- 3. broadcast discovery ---------------------------------------------------------------
# broadcast_check SENDER DEST BIND_DEV RECEIVER...: every receiver hears the sender's datagram.
broadcast_check() {
  local sender=$1 dest=$2 bind_dev=$3
  shift 3
  local port=47000 text="lanparty-discovery-$RANDOM" receiver
  declare -A listener=()
  for receiver in "$@"; do
    rm -f "$LP_TMP/$receiver.ready"
    lp_net "$receiver" udp-listen --port $port --expect "$text" --ready "$LP_TMP/$receiver.ready" \
      --seconds 5 >"$LP_TMP/$receiver.bcast.json" 2>&1 &
    listener[$receiver]=$!
  done
  for receiver in "$@"; do
    lp_poll 3 0.05 test -e "$LP_TMP/$receiver.ready"
  done
  lp_net "$sender" udp-send --dest "$dest" --port $port --text "$text" --count 5 \
    --interval 0.2 --bind-dev "$bind_dev" >/dev/null
  for receiver in "$@"; do
    if wait "${listener[$receiver]}"; then
      pass "3. broadcast $sender -> $dest:$port reached $receiver:" \
        "$(cat "$LP_TMP/$receiver.bcast.json")"
    else
      fail "3. broadcast $sender -> $dest:$port did not reach $receiver:" \
        "$(cat "$LP_TMP/$receiver.bcast.json")"
    fi
  done
}
# A game server on the LAN announcing itself, and a player's game looking for servers.
broadcast_check lanhost 255.255.255.255 eth0 c1 c2
broadcast_check c1 10.213.2.255 "" lanhost c2

# --- 4. the relay's DHCP-server and RA guard ----------------------------------------------
guard_count=3
declare -A drops_before=() drops_after=()
for kind in dhcp_server router_advertisement; do drops_before[$kind]=$(lp_relay_drops $kind); done
nonce="n$RANDOM$RANDOM"
rm -f "$LP_TMP/capture.ready"
lp_net lanhost capture --iface eth0 --ready "$LP_TMP/capture.ready" --seconds 8 --linger 1 \
  --nonce "$nonce" >"$LP_TMP/capture.json" 2>&1 &
capture_pid=$!
lp_poll 3 0.05 test -e "$LP_TMP/capture.ready"
for role in c1 c2; do
  lp_net "$role" send-frames --iface lanparty0 --src-mac "${LP_CLIENT_MAC[$role]}" \
    --kinds dhcp_server,router_advertisement --count $guard_count >/dev/null
done
# The marker goes the same way after the forbidden frames: seeing it proves the capture works
# and that anything forwarded before it would have arrived.
lp_net c1 send-frames --iface lanparty0 --src-mac "${LP_CLIENT_MAC[c1]}" --kinds marker \
  --nonce "$nonce" >/dev/null
wait $capture_pid
capture=$(cat "$LP_TMP/capture.json")
field() { echo "$capture" | "$LP_PYTHON" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
if [ "$(field marker)" -ge 1 ]; then
  pass "4. the marker sent after the forbidden frames reached the LAN host (capture works)"
  for kind in dhcp_server router_advertisement; do
    if [ "$(field $kind)" -eq 0 ]; then
      pass "4. no $kind frame from a client appeared on the LAN" \
        "($((2 * guard_count)) sent, 0 seen, $(field frames) frames captured)"
    else
      fail "4. $(field $kind) $kind frames appeared on the LAN: $capture"
    fi
  done
else
  fail "4. the marker never reached the LAN host, the capture proves nothing: $capture"
fi
for kind in dhcp_server router_advertisement; do
  drops_after[$kind]=$(lp_relay_drops $kind)
  delta=$((drops_after[$kind] - drops_before[$kind]))
  if ((delta == 2 * guard_count)); then
    pass "4. relay metrics: lanparty_relay_drops_total{reason=\"$kind\"} rose by $delta" \
      "(${drops_before[$kind]} -> ${drops_after[$kind]})"
  else
    fail "4. relay metrics: $kind drops rose by $delta, expected $((2 * guard_count))" \
      "(${drops_before[$kind]} -> ${drops_after[$kind]})"
  fi
done

# --- 5. CAM refresh -----------------------------------------------------------------------
# Captured on the bridge side of the gateway's veth: what the LAN switch receives.
cam=$(lp_net lan cam-capture --iface gw --macs "${LP_CLIENT_MAC[c1]},${LP_CLIENT_MAC[c2]}" \
  --dst "$LP_GW_LAN_MAC" --seconds 4 --want 2)
for role in c1 c2; do
  mac=${LP_CLIENT_MAC[$role]}
  read -r good bad < <(echo "$cam" | "$LP_PYTHON" -c \
    "import json,sys; r=json.load(sys.stdin)['$mac']; print(r['good'], len(r['bad']))")
  if ((good >= 2 && bad == 0)); then
    pass "5. $good CAM refresh frames for $role ($mac -> $LP_GW_LAN_MAC, 0x88b5, 60 bytes)" \
      "on the gateway's LAN port within 4 s"
  else
    fail "5. CAM refresh for $role: $good well-formed, $bad malformed, want >= 2: $cam"
  fi
done

# --- 8. TCP both ways -----------------------------------------------------------------------
# tcp_check SECTION CLIENT SERVER_ROLE SERVER_IP LABEL: iperf3 for 2 s from the client to the server and
# 2 s back (-R); each direction must move data. The server side keeps its offloads on, so its
# segments reach the gateway as TSO super-frames with partial checksums.
tcp_check() {
  local section=$1 role=$2 server_role=$3 server_ip=$4 label=$5 dir json mbps
  lp_spawn iperf3 "$server_role" "$LP_TMP/iperf3.$server_role.log" iperf3 -s -B "$server_ip"
  if ! lp_poll 5 0.1 iperf_listening "$server_role"; then
    fail "$section. $label: the iperf3 server did not start"
    lp_stop_pid iperf3
    return
  fi
  for dir in "" "-R"; do
    json=$(lp_in "$role" timeout 20 iperf3 -c "$server_ip" -t 2 -J $dir 2>&1)
    mbps=$(echo "$json" | "$LP_PYTHON" -c \
      'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' \
      2>/dev/null)
    local way="$role -> $label"
    [ "$dir" = "-R" ] && way="$label -> $role"
    if [ -n "$mbps" ] && ((mbps > 0)); then
      pass "$section. $way: TCP (iperf3 2 s) $mbps Mbit/s"
    else
      fail "$section. $way: TCP (iperf3) moved nothing: $(echo "$json" | tail -n 5 | tr '\n' ' ')"
    fi
  done
  lp_stop_pid iperf3
}
iperf_listening() { lp_in "$1" ss -ltn | grep -q ":5201 "; }

# lan_stats_field LOG FIELD: the FIELD of the last gateway.lan_stats line in LOG (0 if none).
lan_stats_field() {
  grep "gateway.lan_stats" "$1" | tail -n 1 | grep -o " $2=[0-9]*" | cut -d= -f2 | grep . || echo 0
}
# wait_lan_stats LOG: until a lan_stats line shows both kinds of offload work done, and (unless
# --no-lan-offload) TCP segments from c1 merged into super-frames for the LAN.
lan_stats_show_offloads() {
  (($(lan_stats_field "$1" checksum_completed) > 0 && $(lan_stats_field "$1" super_frames) > 0 &&
    (lan_offload == 0) == ($(lan_stats_field "$1" coalesced_super_frames) == 0)))
}
# tcp_checksum_errors ROLE: the kernel's count of TCP segments it dropped for a bad checksum.
tcp_checksum_errors() {
  lp_in "$1" cat /proc/net/snmp | awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++)
    if ($i == "InCsumErrors") c = i; h = 1 } else print $c }'
}

tcp_check 8 c1 lanhost "$LP_LANHOST_IP" "LAN host"
if lp_poll 7 0.2 lan_stats_show_offloads "$LP_TMP/gateway.log"; then
  pass "8. the gateway finished the LAN host's frames: $(grep gateway.lan_stats \
    "$LP_TMP/gateway.log" | tail -n 1 | sed 's/.*gateway.lan_stats //')"
else
  fail "8. no gateway.lan_stats line with checksum_completed > 0 and super_frames > 0" \
    "(and coalesced_super_frames $( ((lan_offload)) && echo "> 0" || echo "= 0"))"
fi
# The same on the client's side: with TAP offloads on, c1's kernel handed its TAP TCP
# super-frames and open checksums, which c1 finished (client.tap_stats, with each relay stats).
tap_stats_field() {
  grep "client.tap_stats" "$1" | tail -n 1 | grep -o " $2=[0-9]*" | cut -d= -f2 | grep . || echo 0
}
# With offloads c1 also merged the LAN host's segments into super-frames for its TAP.
tap_stats_show_offloads() {
  (($(tap_stats_field "$1" checksum_completed) > 0 && $(tap_stats_field "$1" super_frames) > 0 &&
    $(tap_stats_field "$1" coalesced_super_frames) > 0))
}
if ((tap_offload)); then
  if lp_poll 7 0.2 tap_stats_show_offloads "$LP_TMP/c1.log"; then
    pass "8. c1 finished its TAP's offloaded frames: $(grep client.tap_stats "$LP_TMP/c1.log" |
      tail -n 1 | sed 's/.*client.tap_stats //')"
  else
    fail "8. no client.tap_stats line in c1's log with checksum_completed, super_frames and" \
      "coalesced_super_frames > 0"
  fi
elif grep -q "client.tap_opened .*vnet_header=false" "$LP_TMP/c1.log" &&
  ! grep -q "client.tap_stats" "$LP_TMP/c1.log"; then
  pass "8. c1 read plain frames from its TAP (--no-tap-offload)"
else
  fail "8. c1 runs with --no-tap-offload but its TAP has a vnet header or logged client.tap_stats"
fi
# No segment reached a TCP stack with a wrong checksum (what was merged carries the checksum
# the kernel finishes itself; the rest the kernels checked).
csum_errors="$(tcp_checksum_errors c1)/$(tcp_checksum_errors lanhost)"
if [ "$csum_errors" = "0/0" ]; then
  pass "8. no TCP checksum errors counted at c1 or the LAN host (InCsumErrors 0/0)"
else
  fail "8. TCP checksum errors (c1/LAN host InCsumErrors): $csum_errors"
fi

# --- 10. the room belongs to its host (PROTOCOL.md section 7) --------------------------------
# Everyone above joined with an invite link only. Now the attacks a public relay meets, run
# from a stranger's machine on the Internet (namespace evil).
relay_log() { cat "$LP_TMP/relay.$LP_RELAY_STARTS.log"; }
ROUTER_MAC=$(lp_in lanhost cat /sys/class/net/eth0/address)

# 10a. No invite: refused with auth_required, and the client gives up (exit non-zero).
flags=()
mapfile -t flags < <(lp_relay_flags)
lp_in evil timeout 20 "$LP_CLIENT_BIN" "${flags[@]}" --tap lpevil0 \
  --virtual-mac 02:5a:e2:e0:00:66 --identity-file "$LP_TMP/evil.identity" \
  >"$LP_TMP/evil.noinvite.log" 2>&1
status=$?
if ((status != 0 && status != 124)) && grep -q "invite link" "$LP_TMP/evil.noinvite.log" &&
  relay_log | grep -q "code=auth_required"; then
  pass "10. a client without an invite is refused (auth_required), exits $status:" \
    "$(grep -m1 "invite link" "$LP_TMP/evil.noinvite.log" | cut -c1-100)"
else
  fail "10. a client without an invite: exit $status, $(tail -n 2 "$LP_TMP/evil.noinvite.log")"
fi

# 10b. A stranger's gateway with its own room key cannot take the room, neither while the
# host's gateway is in it nor after it left.
ip -n "$(lp_ns evil)" link add evl0 type veth peer name evl1
ip -n "$(lp_ns evil)" link set evl0 up
ip -n "$(lp_ns evil)" link set evl1 up
attack_gateway() {
  lp_in evil timeout 20 "$LP_GATEWAY_BIN" "${flags[@]}" --interface evl0 \
    --state-dir "$LP_TMP/evil-state" >"$LP_TMP/evil.gateway.$1.log" 2>&1
}
for when in present gone; do
  if [ "$when" = gone ]; then lp_stop_pid gateway; fi
  owned_before=$(relay_log | grep -c "code=room_owned")
  attack_gateway "$when"
  status=$?
  owned_after=$(relay_log | grep -c "code=room_owned")
  if ((status != 0 && status != 124 && owned_after == owned_before + 1)); then
    pass "10. a stranger's gateway is refused room_owned (host's gateway $when), exits $status"
  else
    fail "10. stranger's gateway with the host's gateway $when: exit $status," \
      "room_owned rejects $owned_before -> $owned_after"
  fi
done
gw_joins=$(lp_joins gateway)
LP_GATEWAY_LOG=gateway.rejoin.log lp_start_gateway "${LP_GATEWAY_EXTRA_FLAGS[@]}"
if lp_wait_joined gateway $((gw_joins + 1)) 15; then
  pass "10. the host's gateway takes its room back with its key"
else
  fail "10. the host's gateway did not rejoin its room"
fi
lp_poll 10 0.2 lp_ping_once c1 "$LP_LANHOST_IP" || fail "10. c1 lost the LAN host after that"

# 10c. An invited player whose TAP claims the LAN router's MAC is kicked within 1 s of its
# hello; the switch keeps the router on the router's port and a LAN machine keeps reaching it.
lp_poll 5 0.1 lp_ping_once lanpc "$LP_LANHOST_IP" || fail "10. lanpc cannot reach the router"
lanpc_router() {
  lp_in lanpc ip neigh show "$LP_LANHOST_IP" | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2
}
neigh_before=$(lanpc_router)
mallory=$(lp_invite mallory)
lp_in evil timeout 20 "$LP_CLIENT_BIN" join "$mallory" --tap lpevil0 --virtual-mac "$ROUTER_MAC" \
  --identity-file "$LP_TMP/evil.identity" >"$LP_TMP/evil.mallory.log" 2>&1
status=$?
admitted=$(relay_log | grep "relay.peer_admitted" | grep "mac=$ROUTER_MAC" | tail -n 1 |
  awk '{print $1}')
left=$(relay_log | grep "relay.peer_left" | grep -E "reason=kicked" | tail -n 1 | awk '{print $1}')
kick_ms=$("$LP_PYTHON" -c "
import datetime,sys
p=lambda t: datetime.datetime.fromisoformat(t.replace('Z','+00:00'))
print(int((p('$left')-p('$admitted')).total_seconds()*1000))" 2>/dev/null || echo -1)
if ((status != 0 && status != 124)) && grep -q "belongs to a machine on the" "$LP_TMP/evil.mallory.log" &&
  ((kick_ms >= 0 && kick_ms <= 1000)); then
  pass "10. a player claiming the router's MAC ($ROUTER_MAC) was kicked ${kick_ms} ms after" \
    "admission (mac_on_lan) and told: $(grep -m1 "belongs to a machine" "$LP_TMP/evil.mallory.log" |
      cut -c1-90)"
else
  fail "10. router-MAC player: exit $status, kicked after ${kick_ms} ms:" \
    "$(tail -n 3 "$LP_TMP/evil.mallory.log" | tr '\n' ' ')"
fi
fdb_port=$(lp_in lan bridge fdb show br br0 | grep -i "^$ROUTER_MAC " | grep -o "dev [a-z0-9]*" |
  head -n 1)
neigh_after=$(lanpc_router)
if [ "$fdb_port" = "dev host" ] && [ "$neigh_before" = "$ROUTER_MAC" ] &&
  [ "$neigh_after" = "$ROUTER_MAC" ] && lp_ping_once lanpc "$LP_LANHOST_IP"; then
  pass "10. the LAN switch still has the router on its own port ($fdb_port), lanpc's" \
    "neighbour entry is unchanged ($neigh_after) and it still reaches the router"
else
  fail "10. after the attack: switch '$fdb_port', lanpc neighbour '$neigh_before' ->" \
    "'$neigh_after'"
fi
# 10d. The host sees who is there and revokes an invite: the player holding it is removed.
eve=$(lp_invite eve)
eve_id=$(grep -m1 -o "^Invite [0-9a-f]*" "$LP_TMP/invite.eve.txt" | cut -d' ' -f2)
lp_spawn eve evil "$LP_TMP/eve.log" "$LP_CLIENT_BIN" join "$eve" --tap lpevil0 \
  --virtual-mac 02:5a:e2:e0:00:e7 --identity-file "$LP_TMP/eve.identity"
if lp_poll 15 0.2 grep -q "^\[connected\]" "$LP_TMP/eve.log"; then
  peers=$(lp_gateway_ctl peers)
  if echo "$peers" | grep -q "eve .*$eve_id" && echo "$peers" | grep -q "c1 "; then
    pass "10. lanparty-gateway ctl peers lists the players by invite name:" \
      "$(echo "$peers" | tail -n +2 | awk '{print $4}' | tr '\n' ' ')"
  else
    fail "10. ctl peers: $peers"
  fi
  answer=$(lp_gateway_ctl revoke "$eve_id")
  if [[ $answer == *"1 player removed"* ]] && lp_poll 5 0.1 sh -c "! kill -0 ${LP_PID[eve]}"; then
    lp_stop_pid eve
    pass "10. ctl revoke $eve_id: '$answer'; eve's client exited ${LP_EXIT[eve]}"
  else
    fail "10. ctl revoke: '$answer'"
  fi
  lp_in evil timeout 20 "$LP_CLIENT_BIN" join "$eve" --tap lpevil0 --virtual-mac 02:5a:e2:e0:00:e7 \
    --identity-file "$LP_TMP/eve.identity" >"$LP_TMP/eve.again.log" 2>&1
  if relay_log | grep -q "code=invite_revoked"; then
    pass "10. the revoked invite no longer gets in (invite_revoked)"
  else
    fail "10. the revoked invite: $(tail -n 2 "$LP_TMP/eve.again.log")"
  fi
else
  fail "10. eve did not join with her invite: $(tail -n 3 "$LP_TMP/eve.log")"
fi

# --- 6. relay kill -9 and restart ---------------------------------------------------------
declare -A joins_before=()
for name in gateway c1 c2; do joins_before[$name]=$(lp_joins $name); done
lp_kill_relay
if ! lp_start_relay "${LP_RELAY_EXTRA_FLAGS[@]}"; then
  fail "6. the relay did not restart"
  finish
fi
restart_ms=$(lp_now_ms)
if lp_poll 75 0.2 lp_ping_once c1 "$LP_LANHOST_IP"; then
  recovery_ms=$(($(lp_now_ms) - restart_ms))
  pass "6. after kill -9 and restart, c1 -> LAN host answered again: recovery_ms=$recovery_ms" \
    "(restart to first successful ping)"
else
  fail "6. no ping c1 -> LAN host within 75 s of the relay restart"
fi
for name in gateway c1 c2; do
  if lp_wait_joined "$name" $((joins_before[$name] + 1)) 15; then
    pass "6. $name rejoined by itself (joins: ${joins_before[$name]} -> $(lp_joins "$name"))"
  else
    fail "6. $name did not rejoin within 15 s of c1's first ping" \
      "(joins: ${joins_before[$name]} -> $(lp_joins "$name"))"
  fi
done
for pair in "c2 $LP_LANHOST_IP" "c1 ${LP_LEASE[c2]}" "c2 ${LP_LEASE[c1]}"; do
  read -r role dest <<<"$pair"
  if lp_poll 5 0.2 lp_ping_once "$role" "$dest"; then
    pass "6. $role -> $dest answers after the restart"
  else
    fail "6. $role -> $dest: no answer within 5 s after the others recovered"
  fi
done

# --- 9. the gateway on the party's router: its own DHCP server, TCP, a container -------------
# The gateway host becomes the router: lan0 goes into a bridge br-lan with the host's address
# and a container on it; the host's dnsmasq replaces the LAN host's; the gateway restarts with
# --interface br-lan and plugs itself into the bridge as a port.
lp_stop_pid gateway
lp_stop_pid dnsmasq
if lp_make_gateway_router; then
  pass "9. gw is now a router: br-lan ($LP_GW_HOST_IP) with lan0 and a container ($LP_CTR_IP)"
else
  fail "9. could not build the router's bridge"
  finish
fi
gw_joins=$(lp_joins gateway)
LP_GATEWAY_LOG=gateway.router.log LP_GATEWAY_INTERFACE=br-lan \
  lp_start_gateway "${LP_GATEWAY_EXTRA_FLAGS[@]}"
lp_start_dnsmasq gw br-lan 10.213.2.160 10.213.2.199 || fail "9. dnsmasq on br-lan did not start"
if lp_wait_joined gateway $((gw_joins + 1)) 15; then
  pass "9. the gateway rejoined on br-lan through $(grep -o 'gateway_end=[a-z0-9]*' \
    "$LP_TMP/gateway.router.log" | head -n 1)"
else
  fail "9. the gateway did not rejoin on br-lan"
  finish
fi
if lp_dhcp c1 && [[ ${LP_LEASE[c1]} =~ ^10\.213\.2\.(1[6-9][0-9])$ ]]; then
  pass "9. c1 leased ${LP_LEASE[c1]} from the dnsmasq on the gateway's own host"
else
  fail "9. c1 got no lease from the gateway host's dnsmasq (lease: ${LP_LEASE[c1]:-none}):" \
    "$(tail -n 3 "$LP_TMP/c1.udhcpc.log" | tr '\n' ' ')"
fi
for pair in "$LP_GW_HOST_IP gateway-host" "$LP_CTR_IP container"; do
  read -r dest label <<<"$pair"
  if lp_poll 5 0.2 lp_ping_once c1 "$dest"; then
    pass "9. c1 -> $label ($dest) answers ping"
  else
    fail "9. c1 -> $label ($dest): no ping answer within 5 s"
  fi
done
tcp_check 9 c1 gw "$LP_GW_HOST_IP" "gateway host"
tcp_check 9 c1 ctr "$LP_CTR_IP" "container"
broadcast_check ctr 255.255.255.255 eth0 c1 c2
if lp_poll 7 0.2 lan_stats_show_offloads "$LP_TMP/gateway.router.log"; then
  pass "9. the gateway finished its host's and the container's frames: $(grep \
    gateway.lan_stats "$LP_TMP/gateway.router.log" | tail -n 1 | sed 's/.*gateway.lan_stats //')"
else
  fail "9. no gateway.lan_stats line with checksum_completed > 0 and super_frames > 0"
fi

# --- 7. clean shutdown -----------------------------------------------------------------------
# SIGTERM: each binary says goodbye (disconnect, close 0) and exits 0; the TAP goes with it.
for name in c1 c2 gateway relay; do
  lp_stop_pid "$name"
  if [ "${LP_EXIT[$name]}" -eq 0 ]; then
    pass "7. $name exited 0 on SIGTERM"
  else
    fail "7. $name exit status ${LP_EXIT[$name]} on SIGTERM (128 + signal when killed)"
  fi
done
relay_log="$LP_TMP/relay.$LP_RELAY_STARTS.log"
for role in c1 c2; do
  if grep -q "relay.peer_left .*mac=${LP_CLIENT_MAC[$role]} reason=closed" "$relay_log"; then
    pass "7. the relay saw $role leave with reason=closed (disconnect before close)"
  else
    fail "7. no 'relay.peer_left ... reason=closed' for $role in $(basename "$relay_log")"
  fi
  if lp_in "$role" ip link show lanparty0 >/dev/null 2>&1; then
    fail "7. $role's TAP lanparty0 still exists after the client exited"
  else
    pass "7. $role's TAP lanparty0 is gone with the client"
  fi
done
status_out=$(lp_in c1 "$LP_CLIENT_BIN" --control-socket "$LP_TMP/c1.ctl.sock" status 2>&1)
status_code=$?
if [ "$status_code" -eq 3 ] && [[ $status_out == *"is not running"* ]]; then
  pass "11. lanparty-client status of the stopped c1 exits 3: $status_out"
else
  fail "11. lanparty-client status of the stopped c1: exit $status_code, '$status_out'"
fi

if lp_in gw ip link show lpgw0 >/dev/null 2>&1; then
  fail "7. the gateway's bridge port lpgw0 is still there after it exited"
else
  pass "7. the gateway removed its bridge port lpgw0 on exit"
fi

# With a -DLANPARTY_SANITIZE=ON build, UBSan reports and carries on: read the logs for it.
sanitizer_hits=$(grep -l -E "runtime error:|ERROR: (Address|Leak)Sanitizer" \
  "$LP_TMP"/relay.*.log "$LP_TMP"/gateway*.log "$LP_TMP/c1.log" "$LP_TMP/c2.log" 2>/dev/null |
  xargs -r -n1 basename | tr '\n' ' ')
if [ -z "$sanitizer_hits" ]; then
  pass "7. no sanitizer report in the relay, gateway or client logs"
else
  fail "7. sanitizer reports in: $sanitizer_hits"
fi

echo "total time $(($(lp_now_ms) - test_start_ms)) ms"
finish
