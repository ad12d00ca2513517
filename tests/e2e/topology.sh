# shellcheck shell=bash disable=SC2034 # many variables are read by the scripts sourcing this
# SPDX-License-Identifier: MIT
# The LAN-party topology in network namespaces, sourced by tests/e2e/lan_party_test.sh,
# bench/e2e/lan_party_bench.sh and scripts/demo.sh. Nothing here touches the root namespace.
#
#   WAN (netns lp-PID-wan, bridge br0, 10.213.1.0/24)        party LAN (netns lp-PID-lan, br0)
#     relay   10.213.1.1  lanparty-relay                       gw's lan0 (no IP) <- gateway
#     gw      10.213.1.2  lanparty-gateway --interface lan0    lanhost 10.213.2.1 dnsmasq DHCP
#     c1      10.213.1.3  lanparty-client -> TAP lanparty0 -> DHCP lease 10.213.2.100-150
#     c2      10.213.1.4  lanparty-client -> TAP lanparty0 -> DHCP lease
#
# Callers source this file, set LP_RELAY_BIN, LP_GATEWAY_BIN, LP_CLIENT_BIN (or call
# lp_use_build with a CMake build directory), call lp_require_privileges, lp_init (which installs the cleanup trap) and then the lp_start_*
# steps. Every wait is a bounded poll. Functions return non-zero and print why on failure.

LP_PREFIX="lp-$$"
LP_ROLES=(wan relay gw c1 c2 evil lan lanhost lanpc ctr)
LP_RELAY_IP=10.213.1.1
LP_RELAY_PORT=4433
LP_METRICS_PORT=9100
LP_LANHOST_IP=10.213.2.1
LP_SERVER_NAME=relay.lanparty.test
LP_ROOM=E2E-PARTY
LP_GW_LAN_MAC=02:5a:e2:e0:00:fe
declare -A LP_WAN_IP=([relay]=10.213.1.1 [gw]=10.213.1.2 [c1]=10.213.1.3 [c2]=10.213.1.4
  [evil]=10.213.1.5)
LP_LANPC_IP=10.213.2.4
declare -A LP_LINK=()     # client role -> its invite link (lp_invite)
declare -A LP_CLIENT_MAC=([c1]=02:5a:e2:e0:00:01 [c2]=02:5a:e2:e0:00:02)
declare -A LP_LEASE=()   # client role -> leased IPv4 address
declare -A LP_PID=()     # process name -> pid (each started here, each stopped by its pid)
declare -A LP_EXIT=()    # process name -> exit status once lp_stop_pid has reaped it
LP_TMP=""
LP_E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LP_PYTHON="${LP_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}"
LP_RELAY_STARTS=0
LP_RELAY_EXTRA_FLAGS=()   # callers may add flags for the relay, gateway and clients
LP_GATEWAY_EXTRA_FLAGS=()
LP_CLIENT_EXTRA_FLAGS=()

lp_ns() { printf '%s-%s' "$LP_PREFIX" "$1"; }

# lp_use_build DIR: the relay, gateway and client binaries of a CMake build directory.
lp_use_build() {
  LP_RELAY_BIN=$1/apps/relay/lanparty-relay
  LP_GATEWAY_BIN=$1/apps/gateway/lanparty-gateway
  LP_CLIENT_BIN=$1/apps/client-linux/lanparty-client
}

# Runs a command inside the namespace of a role: lp_in c1 ping -c 1 10.213.2.1
lp_in() {
  local role=$1
  shift
  ip netns exec "$(lp_ns "$role")" "$@"
}

# lp_spawn NAME ROLE LOG CMD...: starts CMD in the background inside ROLE's namespace. "ip netns
# exec" execs CMD in place, so LP_PID[NAME] is CMD's own pid: signals reach it, not a subshell.
lp_spawn() {
  local name=$1 role=$2 log=$3
  shift 3
  ip netns exec "$(lp_ns "$role")" "$@" >"$log" 2>&1 &
  LP_PID[$name]=$!
}

# lp_net ROLE SUBCOMMAND ...: the packet tools of lp_net.py, inside ROLE's namespace.
lp_net() {
  local role=$1
  shift
  lp_in "$role" "$LP_PYTHON" "$LP_E2E_DIR/lp_net.py" "$@"
}

lp_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# lp_poll TIMEOUT_S INTERVAL_S CMD...: runs CMD until it succeeds or TIMEOUT_S has passed.
lp_poll() {
  local timeout_ms=$(($(awk "BEGIN{print int($1 * 1000)}"))) interval=$2
  shift 2
  local deadline=$(($(lp_now_ms) + timeout_ms))
  while true; do
    "$@" && return 0
    (($(lp_now_ms) >= deadline)) && return 1
    sleep "$interval"
  done
}

# Exits 77 (ctest SKIP_RETURN_CODE) when this machine cannot run the test at all; exits 2 when
# a tool that scripts/install-deps.sh installs is missing (a setup bug, not a skip).
lp_require_privileges() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root (network namespaces, bridges, TAP devices); run as root"
    exit 77
  fi
  if [ ! -c /dev/net/tun ]; then
    echo "SKIP: /dev/net/tun is missing (no tun module or not passed into this container)"
    exit 77
  fi
  local probe="lp-$$-probe"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "SKIP: cannot create network namespaces here (ip netns add failed: no CAP_SYS_ADMIN?)"
    exit 77
  fi
  ip netns del "$probe"
  local tool missing=()
  for tool in ip dnsmasq busybox openssl ethtool ping "$LP_PYTHON"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "ERROR: missing tools: ${missing[*]} (run scripts/install-deps.sh)"
    exit 2
  fi
  local bin
  # shellcheck disable=SC2153 # set by the caller before sourcing
  for bin in "$LP_RELAY_BIN" "$LP_GATEWAY_BIN" "$LP_CLIENT_BIN"; do
    if [ ! -x "$bin" ]; then
      echo "ERROR: binary not found or not executable: $bin"
      exit 2
    fi
  done
}

# Creates the temp dir and installs the cleanup trap; reports leftovers of earlier runs.
lp_init() {
  LP_TMP="$(mktemp -d /tmp/lp-e2e.XXXXXX)"
  trap lp_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local stale
  stale=$(ip netns list | awk '{print $1}' | grep -E '^lp-[0-9]+-' | grep -v "^$LP_PREFIX-" |
    awk -F- '{print $2}' | sort -u | while read -r pid; do
      kill -0 "$pid" 2>/dev/null || echo "lp-$pid"
    done | tr '\n' ' ')
  if [ -n "$stale" ]; then
    echo "note: namespaces left by earlier runs that died (remove with 'ip netns del'): $stale"
  fi
}

# lp_stop_pid NAME: SIGTERM, up to 3 s for a clean exit, then SIGKILL. LP_EXIT[NAME] is the
# exit status (128 + signal when a signal ended it: 143 TERM, 137 KILL, 139 SEGV, 134 ABRT).
lp_stop_pid() {
  local name=$1 pid=${LP_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  LP_EXIT[$name]=$?
  unset "LP_PID[$name]"
}

# Undoes everything lp_init and the lp_start_* steps did, in reverse order. Safe to run twice.
lp_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local name
  for name in c1 c2 gateway relay iperf3 dnsmasq; do lp_stop_pid "$name"; done
  for name in "${!LP_PID[@]}"; do lp_stop_pid "$name"; done
  for name in "${!LP_EXIT[@]}"; do
    # 143 and 137 are our own SIGTERM and SIGKILL; anything else above 128 is a crash.
    case ${LP_EXIT[$name]} in
      143 | 137) ;;
      1[3-9][0-9] | 2[0-9][0-9]) echo "WARNING: $name died of signal $((LP_EXIT[$name] - 128))" ;;
    esac
  done
  local role ns pid
  for role in "${LP_ROLES[@]}"; do
    ns=$(lp_ns "$role")
    ip netns list | grep -qw "^$ns" || continue
    # Helpers we started inside our own namespaces that outlived their parent.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ -n "$LP_TMP" ] && [ -d "$LP_TMP" ]; then
    if [ "${LP_KEEP_LOGS:-0}" = 1 ]; then
      echo "logs kept in $LP_TMP"
    else
      rm -rf "$LP_TMP"
    fi
  fi
  exit "$status"
}

# Prints the last lines of every log, for a failure report.
lp_dump_logs() {
  local f
  for f in "$LP_TMP"/*.log; do
    [ -f "$f" ] || continue
    echo "----- $(basename "$f") (last ${1:-25} lines) -----"
    tail -n "${1:-25}" "$f"
  done
}

# lp_veth NS_A IF_A NS_B IF_B: a veth pair created directly inside the two namespaces.
lp_veth() {
  ip -n "$(lp_ns "$1")" link add "$2" type veth peer name "$4" netns "$(lp_ns "$3")"
}

lp_sysctl() {
  local role=$1 key=$2 value=$3
  lp_in "$role" sh -c "echo $value > /proc/sys/${key//.//}"
}

lp_setup_network() {
  local role
  for role in "${LP_ROLES[@]}"; do
    ip netns add "$(lp_ns "$role")" || return 1
    ip -n "$(lp_ns "$role")" link set lo up || return 1
  done
  # The two switches are silent, as real ones are: no IPv6 link-local, RS or MLD of their own.
  for role in wan lan; do
    lp_sysctl "$role" net.ipv6.conf.all.disable_ipv6 1 || return 1
    lp_sysctl "$role" net.ipv6.conf.default.disable_ipv6 1 || return 1
  done
  local bridge_ns
  for bridge_ns in wan lan; do
    # No STP (ports forward at once) and no multicast snooping (IPv6 multicast floods as on a
    # dumb switch, which is what a LAN-party switch is).
    ip -n "$(lp_ns $bridge_ns)" link add br0 type bridge stp_state 0 mcast_snooping 0 || return 1
    ip -n "$(lp_ns $bridge_ns)" link set br0 up || return 1
  done
  for role in relay gw c1 c2 evil; do
    lp_veth wan "$role" "$role" wan0 || return 1
    ip -n "$(lp_ns wan)" link set "$role" master br0 up || return 1
    ip -n "$(lp_ns "$role")" addr add "${LP_WAN_IP[$role]}/24" dev wan0 || return 1
    ip -n "$(lp_ns "$role")" link set wan0 up || return 1
  done
  # The gateway host's LAN port: a pure Layer 2 port, no IPv4 and no IPv6 of its own.
  lp_veth lan gw gw lan0 || return 1
  ip -n "$(lp_ns lan)" link set gw master br0 up || return 1
  lp_sysctl gw net.ipv6.conf.lan0.disable_ipv6 1 || return 1
  ip -n "$(lp_ns gw)" link set lan0 address "$LP_GW_LAN_MAC" up || return 1
  lp_veth lan host lanhost eth0 || return 1
  ip -n "$(lp_ns lan)" link set host master br0 up || return 1
  ip -n "$(lp_ns lanhost)" addr add "$LP_LANHOST_IP/24" dev eth0 || return 1
  ip -n "$(lp_ns lanhost)" link set eth0 up || return 1
  # A second LAN machine, to watch what the LAN sees of the router (the LAN host) under attack.
  lp_veth lan pc lanpc eth0 || return 1
  ip -n "$(lp_ns lan)" link set pc master br0 up || return 1
  ip -n "$(lp_ns lanpc)" addr add "$LP_LANPC_IP/24" dev eth0 || return 1
  ip -n "$(lp_ns lanpc)" link set eth0 up || return 1
  # Offloads stay as the kernel sets them: the LAN host's veth hands over frames with the
  # checksum still to be filled in (CHECKSUM_PARTIAL) and TCP super-frames (TSO), exactly what
  # a VM, a container or the gateway's own host produce. The gateway must finish them.
}

# The gateway host turned into the party's router: its LAN port lan0 becomes a port of a
# bridge br-lan that carries the host's own address (LP_GW_HOST_IP) and, like a Docker or
# hypervisor bridge, a container (namespace ctr, LP_CTR_IP) on a veth of its own.
LP_GW_HOST_IP=10.213.2.2
LP_CTR_IP=10.213.2.3
lp_make_gateway_router() {
  ip -n "$(lp_ns gw)" link add br-lan type bridge stp_state 0 mcast_snooping 0 || return 1
  ip -n "$(lp_ns gw)" link set lan0 master br-lan || return 1
  ip -n "$(lp_ns gw)" link set br-lan up || return 1
  ip -n "$(lp_ns gw)" addr add "$LP_GW_HOST_IP/24" dev br-lan || return 1
  lp_veth gw ctrport ctr eth0 || return 1
  ip -n "$(lp_ns gw)" link set ctrport master br-lan up || return 1
  ip -n "$(lp_ns ctr)" addr add "$LP_CTR_IP/24" dev eth0 || return 1
  ip -n "$(lp_ns ctr)" link set eth0 up || return 1
}

# A PEM certificate and key made once (ECDSA P-256, CN and SAN = LP_SERVER_NAME), so a
# restarted relay presents the same certificate; the DER copy is what peers pin.
lp_make_certificate() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$LP_TMP/relay-key.pem" -out "$LP_TMP/relay-cert.pem" -days 2 \
    -subj "/CN=$LP_SERVER_NAME" -addext "subjectAltName=DNS:$LP_SERVER_NAME" \
    >"$LP_TMP/openssl.log" 2>&1 || { cat "$LP_TMP/openssl.log"; return 1; }
  openssl x509 -in "$LP_TMP/relay-cert.pem" -outform der -out "$LP_TMP/relay-cert.der" ||
    return 1
}

# lp_start_dnsmasq [ROLE IFACE FIRST LAST]: the LAN's DHCP server (default: the LAN host,
# 10.213.2.100-150); the process is named dnsmasq, its log dnsmasq.ROLE.log.
lp_start_dnsmasq() {
  local role=${1:-lanhost} iface=${2:-eth0} first=${3:-10.213.2.100} last=${4:-10.213.2.150}
  lp_spawn dnsmasq "$role" "$LP_TMP/dnsmasq.out.log" \
    dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --port=0 --interface="$iface" --bind-interfaces --user=root --group=root \
    --dhcp-range="$first,$last,255.255.255.0,10m" --dhcp-authoritative --no-ping \
    --dhcp-option=3 --dhcp-option=6 \
    --dhcp-leasefile="$LP_TMP/dnsmasq.$role.leases" --pid-file="$LP_TMP/dnsmasq.pid" \
    --log-dhcp --log-facility="$LP_TMP/dnsmasq.$role.log"
  lp_poll 5 0.1 grep -q "DHCP, IP range" "$LP_TMP/dnsmasq.$role.log" ||
    { echo "dnsmasq did not start"; return 1; }
}

lp_relay_listening() { grep -q "relay.listening" "$LP_TMP/relay.$LP_RELAY_STARTS.log"; }

# Starts (or restarts) the relay with the one PEM certificate; the log is relay.N.log.
lp_start_relay() {
  LP_RELAY_STARTS=$((LP_RELAY_STARTS + 1))
  lp_spawn relay relay "$LP_TMP/relay.$LP_RELAY_STARTS.log" \
    "$LP_RELAY_BIN" --listen "$LP_RELAY_IP:$LP_RELAY_PORT" \
    --cert "$LP_TMP/relay-cert.pem" --key "$LP_TMP/relay-key.pem" \
    --state-dir "$LP_TMP/relay-state" \
    --metrics-listen "$LP_RELAY_IP:$LP_METRICS_PORT" "$@"
  lp_poll 5 0.05 lp_relay_listening ||
    { echo "relay did not start"; tail -n 20 "$LP_TMP/relay.$LP_RELAY_STARTS.log"; return 1; }
}

# kill -9: no disconnect, no close; peers find out on their own.
lp_kill_relay() {
  local pid=${LP_PID[relay]}
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null
  unset "LP_PID[relay]"
}

lp_relay_metrics() {
  lp_net relay http-get "http://$LP_RELAY_IP:$LP_METRICS_PORT/metrics"
}

# lp_relay_drops REASON: the relay's lanparty_relay_drops_total for that reason (0 if absent).
lp_relay_drops() {
  lp_relay_metrics | awk -v r="reason=\"$1\"" 'index($0, "lanparty_relay_drops_total{" r "}") == 1 {
    print $2; found = 1 } END { if (!found) print 0 }'
}

lp_relay_flags() {
  printf '%s\n' --relay "$LP_RELAY_IP:$LP_RELAY_PORT" --server-name "$LP_SERVER_NAME" \
    --relay-ca-cert "$LP_TMP/relay-cert.der" --room "$LP_ROOM"
}

# The host's state (room key, issued invites, control socket) lives here.
LP_GW_STATE=""
lp_start_gateway() {
  local flags
  mapfile -t flags < <(lp_relay_flags)
  lp_spawn gateway gw "$LP_TMP/${LP_GATEWAY_LOG:-gateway.log}" "$LP_GATEWAY_BIN" "${flags[@]}" \
    --interface "${LP_GATEWAY_INTERFACE:-lan0}" --state-dir "$LP_GW_STATE" "$@"
}

# lp_invite NAME [FLAGS...]: the host makes an invite for NAME, as the README says; prints the
# link (the gateway's invite subcommand needs no relay).
lp_invite() {
  local name=$1
  shift
  "$LP_GATEWAY_BIN" --state-dir "$LP_GW_STATE" invite --room "$LP_ROOM" \
    --relay "$LP_RELAY_IP:$LP_RELAY_PORT" --relay-ca-cert "$LP_TMP/relay-cert.der" \
    --server-name "$LP_SERVER_NAME" --name "$name" "$@" >"$LP_TMP/invite.$name.txt" || return 1
  grep -m1 '^lanparty://' "$LP_TMP/invite.$name.txt"
}

# lp_gateway_ctl ARGS...: `lanparty-gateway ctl ARGS` against the running gateway.
lp_gateway_ctl() { lp_in gw "$LP_GATEWAY_BIN" --state-dir "$LP_GW_STATE" ctl "$@"; }

# A player joins with nothing but the invite link the host gave them.
lp_start_client() {
  local role=$1
  shift
  if [ -z "${LP_LINK[$role]:-}" ]; then
    LP_LINK[$role]=$(lp_invite "$role") || { echo "no invite for $role"; return 1; }
  fi
  lp_spawn "$role" "$role" "$LP_TMP/$role.log" "$LP_CLIENT_BIN" join "${LP_LINK[$role]}" \
    --virtual-mac "${LP_CLIENT_MAC[$role]}" --identity-file "$LP_TMP/$role.identity" \
    --control-socket "$LP_TMP/$role.ctl.sock" "$@"
}

# How many times each peer has reached the room (gateway: its state log; clients: stdout).
lp_joins() {
  case $1 in
    gateway) cat "$LP_TMP"/gateway*.log | grep -c "gateway.state.*state=connected" ;;
    *) grep -c "^\[connected\]" "$LP_TMP/$1.log" ;;
  esac
}

lp_alive() { kill -0 "${LP_PID[$1]}" 2>/dev/null; }

# lp_wait_joined NAME MIN TIMEOUT_S: until NAME has joined at least MIN times.
lp_wait_joined() {
  local name=$1 min=$2 timeout=$3
  lp_poll "$timeout" 0.1 lp_joined_at_least "$name" "$min"
}
lp_joined_at_least() {
  lp_alive "$1" || return 1
  (($(lp_joins "$1") >= $2))
}

# Asks the party LAN's dnsmasq (--no-ping: its 3 s address-in-use check would dominate the
# measured time) for a lease on the client's TAP with busybox udhcpc; the event
# script only sets the address on lanparty0 in the client's namespace.
lp_dhcp() {
  local role=$1
  rm -f "$LP_TMP/$role.lease"
  lp_in "$role" env LP_LEASE_FILE="$LP_TMP/$role.lease" \
    busybox udhcpc -i lanparty0 -f -q -n -t 8 -T 1 -A 1 -s "$LP_E2E_DIR/udhcpc_event.sh" \
    >"$LP_TMP/$role.udhcpc.log" 2>&1 || return 1
  [ -s "$LP_TMP/$role.lease" ] || return 1
  LP_LEASE[$role]=$(cat "$LP_TMP/$role.lease")
}

# lp_ping_once ROLE DEST: one ping, answered within a second or failed.
lp_ping_once() { lp_in "$1" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1; }

# CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
lp_cpu_seconds() {
  local stat ticks
  stat=$(cat "/proc/$1/stat") || return 1
  # Fields after the ")" that closes the command name: utime is the 12th, stime the 13th.
  ticks=$(echo "${stat##*) }" | awk '{print $12 + $13}')
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t / hz}'
}

lp_all_joined() {
  lp_joined_at_least gateway 1 && lp_joined_at_least c1 1 && lp_joined_at_least c2 1
}

# The whole party: network, certificate, DHCP server, relay, gateway, two clients, all joined.
lp_start_party() {
  lp_setup_network || { echo "network setup failed"; return 1; }
  lp_make_certificate || { echo "certificate generation failed"; return 1; }
  lp_start_dnsmasq || return 1
  lp_start_relay "${LP_RELAY_EXTRA_FLAGS[@]}" || return 1
  LP_GW_STATE="$LP_TMP/gw-state"
  lp_start_gateway "${LP_GATEWAY_EXTRA_FLAGS[@]}"
  # The room exists on the relay once its gateway has claimed it; invites work from then on.
  lp_poll 20 0.1 lp_joined_at_least gateway 1 || { echo "the gateway did not join"; return 1; }
  lp_start_client c1 "${LP_CLIENT_EXTRA_FLAGS[@]}" || return 1
  lp_start_client c2 "${LP_CLIENT_EXTRA_FLAGS[@]}" || return 1
  lp_poll 20 0.1 lp_all_joined && return 0
  local name
  for name in gateway c1 c2; do
    lp_joined_at_least "$name" 1 || echo "$name did not join the room within 20 s"
  done
  return 1
}
