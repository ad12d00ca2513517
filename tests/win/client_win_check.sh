#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Windows client exe, under wine, against the native Linux relay on loopback: a real QUIC
# handshake (wolfSSL client, GnuTLS server), certificate pinning both ways (the right pin
# joins; a wrong pin is refused with both fingerprints named), hello/welcome, and a clean
# leave that the relay logs.
# Then the TAP bridge tests (a named pipe as the driver, a gateway in the same room) against the
# same relay. These run with --rooms open (PROTOCOL.md sections 1-6).
# Then claimed rooms (section 7): the native gateway claims a room, makes an invite link, and
# the exe joins with `join LINK --check` alone; a tampered link and no invite are refused with
# their sentences and without retrying. The gateway needs root (packet socket, a veth pair).
# Usage: client_win_check.sh <lanparty-client-win.exe> <linux lanparty-relay> <wine prefix>
#                            [<lanparty_client_win_bridge_tests.exe>] [<linux lanparty-gateway>]
set -euo pipefail

exe=$1
relay=$2
prefix=$3
bridge_tests=${4:-}
gateway=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
wine_run="$here/../../cmake/wine-run.sh"

if [ ! -x "$relay" ]; then
  echo "no Linux relay at $relay (build the dev preset first: cmake --build --preset dev)"
  # CI builds the dev preset before this one: a missing relay there is a failure, not a skip.
  if [ -n "${CI:-}" ]; then exit 1; fi
  exit 77
fi

work=$(mktemp -d)
pids=()
veth=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "$veth" ]; then ip link del "$veth" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for log in relay claimed gateway; do
    if [ -f "$work/$log.log" ]; then echo "--- $log log"; cat "$work/$log.log"; fi
  done
  exit 1
}
# Not runnable here (exit 77, a skip) unless under CI, which must run everything.
cannot_run() {
  echo "$*"
  if [ -n "${CI:-}" ]; then exit 1; fi
  exit 77
}

# The relay's default is claimed rooms; this part is sections 1-6.
"$relay" --listen 127.0.0.1:0 --rooms open --dev-cert-der-out "$work/relay.der" \
  --dev-cert-name relay.test --log-level debug >"$work/relay.log" 2>&1 &
pids+=($!)
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*relay.listening listen=127.0.0.1:\([0-9]*\).*/\1/p' "$work/relay.log")
  [ -n "$port" ] && [ -s "$work/relay.der" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the relay did not start"

# A second, unrelated certificate for the wrong-pin case.
"$relay" --listen 127.0.0.1:0 --rooms open --dev-cert-der-out "$work/other.der" \
  --dev-cert-name other.test >"$work/other.log" 2>&1 &
other_pid=$!
for _ in $(seq 100); do [ -s "$work/other.der" ] && break; sleep 0.1; done
kill "$other_pid"; wait "$other_pid" 2>/dev/null || true
[ -s "$work/other.der" ] || fail "could not make a second certificate"

run_client() {  # <pin file> <out file>
  local rc=0
  "$wine_run" --prefix="$prefix" "$exe" --check --relay "127.0.0.1:$port" \
    --server-name relay.test --relay-ca-cert "$(winepath_of "$1")" --room wine-room \
    --state-dir 'C:\lanparty-check' >"$2" 2>&1 || rc=$?
  echo "$rc"
}
# wine maps the Unix root to drive Z:.
winepath_of() { echo "Z:${1//\//\\}"; }

rc=$(SSLKEYLOGFILE=$(winepath_of "$work/keys.log") run_client "$work/relay.der" "$work/good.out")
cat "$work/good.out"
[ "$rc" = 0 ] || fail "the client exited $rc with the right pin"
grep -q 'Joined room "wine-room" as peer [0-9]*: room MTU [0-9]*' "$work/good.out" ||
  fail "no welcome printed"
# SSLKEYLOGFILE: the secrets Wireshark needs to read the QUIC packets.
grep -q '^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9A-Fa-f]\{64\} [0-9A-Fa-f]\{64\}' "$work/keys.log" &&
  grep -q '^CLIENT_TRAFFIC_SECRET_0 ' "$work/keys.log" || fail "no TLS key log written"
grep -q "relay.peer_admitted.*room=wine-room.*software=.*lanparty-client-win" "$work/relay.log" ||
  fail "the relay did not admit it as lanparty-client-win"
for _ in $(seq 30); do grep -q 'relay.peer_left' "$work/relay.log" && break; sleep 0.1; done
grep -q 'relay.peer_disconnect peer_id=[0-9]* reason=shutdown' "$work/relay.log" ||
  fail "the relay did not get the client's disconnect message"
grep -q 'quic.connection_closed.*kind=peer_application code=0' "$work/relay.log" ||
  fail "the client did not close with application error 0"

rc=$(run_client "$work/other.der" "$work/bad.out")
cat "$work/bad.out"
[ "$rc" != 0 ] || fail "the client joined with the wrong pin"
grep -q 'does not match the pinned certificate' "$work/bad.out" || fail "no pin mismatch reason"
good_fp=$(sed -n 's/.*expected SHA-256 \([0-9A-F:]*\).*/\1/p' "$work/bad.out" | head -1)
[ ${#good_fp} = 95 ] || fail "the refusal does not name a SHA-256 fingerprint"
[ "$(grep -c 'relay.peer_admitted' "$work/relay.log")" = 1 ] ||
  fail "the wrong-pin client was admitted"
# Without --check the client needs a TAP-Windows6 adapter, which wine has none of: it must say
# how to get one (after repairing its route journal) and exit non-zero. A bad flag likewise.
rc=0
"$wine_run" --prefix="$prefix" "$exe" --relay "127.0.0.1:$port" --server-name relay.test \
  --relay-ca-cert "$(winepath_of "$work/relay.der")" --room wine-room \
  --state-dir 'C:\lanparty-run' >"$work/notap.out" 2>&1 || rc=$?
cat "$work/notap.out"
[ "$rc" = 2 ] || fail "without a TAP adapter the client exited $rc, not 2"
grep -q 'no TAP-Windows6 adapter is installed: install TAP-Windows' "$work/notap.out" ||
  fail "no advice on installing TAP-Windows"
rc=0
"$wine_run" --prefix="$prefix" "$exe" --relay "127.0.0.1:$port" --server-name relay.test \
  --relay-ca-cert "$(winepath_of "$work/relay.der")" --room wine-room --tap-metric 0 \
  >"$work/badflag.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q -- '--tap-metric 0: expected off, auto, or a number from 1 to 9999' \
  "$work/badflag.out" || fail "a bad --tap-metric was not refused clearly (exit $rc)"

echo "PASS: the Windows client joined the Linux relay under wine and refused a wrong pin"

if [ -n "$bridge_tests" ]; then
  LANPARTY_TEST_RELAY_PORT=$port LANPARTY_TEST_RELAY_PIN=$(winepath_of "$work/relay.der") \
    "$wine_run" --prefix="$prefix" "$bridge_tests" >"$work/bridge.out" 2>&1 || {
    cat "$work/bridge.out"; fail "the TAP bridge tests failed"; }
  cat "$work/bridge.out"
  grep -q '\[  PASSED  \] 3 tests' "$work/bridge.out" || fail "not all 3 bridge tests ran"
  echo "PASS: TAP bridge frames crossed the Linux relay both ways under wine"
fi

# --- Claimed rooms (PROTOCOL.md section 7).
[ -n "$gateway" ] && [ -x "$gateway" ] ||
  cannot_run "no Linux gateway at '$gateway' (build the dev preset first): claimed-room checks not run"
[ "$(id -u)" = 0 ] || cannot_run "claimed-room checks need root for the gateway: not run"
# The gateway hellos with its LAN interface's MAC; lo's is all zeros, which the relay refuses
# (invalid_mac), so it bridges one end of a veth pair of its own.
veth=lpw$$a
ip link add "$veth" type veth peer name "lpw$$b" && ip link set "$veth" up &&
  ip link set "lpw$$b" up || { veth=; cannot_run "could not create a veth pair: claimed-room checks not run"; }

"$relay" --listen 127.0.0.1:0 --rooms claimed --state-dir "$work/relay-state" \
  --dev-cert-der-out "$work/claimed.der" --dev-cert-name relay.test --log-level debug \
  >"$work/claimed.log" 2>&1 &
pids+=($!)
cport=
for _ in $(seq 100); do
  cport=$(sed -n 's/.*relay.listening listen=127.0.0.1:\([0-9]*\).*/\1/p' "$work/claimed.log")
  [ -n "$cport" ] && [ -s "$work/claimed.der" ] && break
  sleep 0.1
done
[ -n "$cport" ] || fail "the relay with --rooms claimed did not start"

"$gateway" --relay "127.0.0.1:$cport" --server-name relay.test \
  --relay-ca-cert "$work/claimed.der" --room win-claimed --interface "$veth" \
  --state-dir "$work/gw" --log-level debug >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
for _ in $(seq 100); do
  grep -q 'relay.peer_admitted room=win-claimed .*role=gateway' "$work/claimed.log" && break
  kill -0 "$gateway_pid" 2>/dev/null || fail "the gateway exited"
  sleep 0.1
done
grep -q 'relay.room_claimed room=win-claimed' "$work/claimed.log" ||
  fail "the gateway did not claim the room"

"$gateway" --state-dir "$work/gw" invite --room win-claimed --relay "127.0.0.1:$cport" \
  --relay-ca-cert "$work/claimed.der" --server-name relay.test --name winplayer \
  >"$work/invite.out" 2>&1 || { cat "$work/invite.out"; fail "the gateway made no invite"; }
link=$(grep -m1 '^lanparty://' "$work/invite.out") || { cat "$work/invite.out"; fail "no link printed"; }
echo "invite link: $link"

run_exe() {  # <out file> <args...>: the exit status on stdout
  local out=$1 rc=0
  shift
  "$wine_run" --prefix="$prefix" "$exe" "$@" --state-dir 'C:\lanparty-claimed' >"$out" 2>&1 ||
    rc=$?
  echo "$rc"
}
rejects() { grep -c "relay.rejected .*code=$1" "$work/claimed.log" || true; }

# The link alone: relay, SNI, room, certificate pin and invite all come from it.
rc=$(run_exe "$work/join.out" join "$link" --check)
cat "$work/join.out"
[ "$rc" = 0 ] || fail "join LINK --check exited $rc"
grep -q 'Joined room "win-claimed" as peer [0-9]*: room MTU [0-9]*, 1 other peer(s)' \
  "$work/join.out" || fail "no welcome (with the gateway as the other peer) printed"
grep -q 'relay.peer_admitted room=win-claimed .*role=client.*software=.*lanparty-client-win' \
  "$work/claimed.log" || fail "the relay did not admit the exe into the claimed room"
for _ in $(seq 30); do grep -q 'client.peer_joined.*name=winplayer' "$work/gateway.log" && break; sleep 0.1; done
grep -q 'client.peer_joined.*name=winplayer' "$work/gateway.log" ||
  fail "the gateway did not see the invite's name"

# One character of the token's signature changed: still well-formed, no longer signed.
token=${link##*invite=}
signature=${token##*.}
# 64 bytes of Ed25519 signature are 86 base64url characters; the canonical link ends with them.
[[ "$signature" =~ ^[A-Za-z0-9_-]{86}$ ]] || fail "no signature at the end of $link"
first=${signature:0:1}
if [ "$first" = A ]; then swapped=B; else swapped=A; fi
tampered="${link%"$signature"}$swapped${signature:1}"
rc=$(run_exe "$work/tampered.out" join "$tampered" --check)
cat "$work/tampered.out"
[ "$rc" = 1 ] || fail "a tampered invite exited $rc, not 1"
grep -qF 'lanparty-client-win: The relay could not verify your invite or room key' \
  "$work/tampered.out" || fail "no auth_failed sentence for a tampered invite"
[ "$(rejects auth_failed)" = 1 ] || fail "the relay saw $(rejects auth_failed) auth_failed tries, not 1"

# No invite at all.
rc=$(run_exe "$work/noinvite.out" --check --relay "127.0.0.1:$cport" --server-name relay.test \
  --relay-ca-cert "$(winepath_of "$work/claimed.der")" --room win-claimed)
cat "$work/noinvite.out"
[ "$rc" = 1 ] || fail "without an invite the exe exited $rc, not 1"
grep -qF "lanparty-client-win: This relay only lets people in with the host's permission" \
  "$work/noinvite.out" || fail "no auth_required sentence without an invite"
[ "$(rejects auth_required)" = 1 ] ||
  fail "the relay saw $(rejects auth_required) auth_required tries, not 1"
[ "$(grep -c 'relay.peer_admitted room=win-claimed .*role=client' "$work/claimed.log")" = 1 ] ||
  fail "a refused exe was admitted"

echo "PASS: under wine the exe joined a claimed room with the gateway's invite link alone and was refused, with the reason, with a tampered invite and with none"
