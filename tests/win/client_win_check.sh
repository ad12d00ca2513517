#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Windows client exe, under wine, against the native Linux relay on loopback: a real QUIC
# handshake (wolfSSL client, GnuTLS server), certificate pinning both ways (the right pin
# joins; a wrong pin is refused with both fingerprints named), hello/welcome, and a clean
# leave that the relay logs.
# Then the TAP bridge tests (a named pipe as the driver, a gateway in the same room) against the
# same relay.
# Usage: client_win_check.sh <lanparty-client-win.exe> <linux lanparty-relay> <wine prefix>
#                            [<lanparty_client_win_bridge_tests.exe>]
set -euo pipefail

exe=$1
relay=$2
prefix=$3
bridge_tests=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
wine_run="$here/../../cmake/wine-run.sh"

if [ ! -x "$relay" ]; then
  echo "no Linux relay at $relay (build the dev preset first: cmake --build --preset dev)"
  # CI builds the dev preset before this one: a missing relay there is a failure, not a skip.
  if [ -n "${CI:-}" ]; then exit 1; fi
  exit 77
fi

work=$(mktemp -d)
relay_pid=
cleanup() {
  if [ -n "$relay_pid" ]; then kill "$relay_pid" 2>/dev/null || true; wait "$relay_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "--- relay log"; cat "$work/relay.log" || true; exit 1; }

"$relay" --listen 127.0.0.1:0 --dev-cert-der-out "$work/relay.der" --dev-cert-name relay.test \
  --log-level debug >"$work/relay.log" 2>&1 &
relay_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*relay.listening listen=127.0.0.1:\([0-9]*\).*/\1/p' "$work/relay.log")
  [ -n "$port" ] && [ -s "$work/relay.der" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the relay did not start"

# A second, unrelated certificate for the wrong-pin case.
"$relay" --listen 127.0.0.1:0 --dev-cert-der-out "$work/other.der" --dev-cert-name other.test \
  >"$work/other.log" 2>&1 &
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
