#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds static mingw-w64 (x86_64) wolfSSL with its QUIC API plus ngtcp2 and ngtcp2_crypto_wolfssl
# from Debian's source packages (Debian's CVE patches applied), cached by versions + script hash.
# Usage: scripts/build-mingw-deps.sh [--root DIR] [--jobs N] [--refresh]
#   --root DIR  where apt state, logs and prefixes live (default <repo>/build/mingw-deps)
#   --jobs N    parallel compile jobs (default nproc)
#   --refresh   re-download the private source lists first (picks up a new Debian revision)
# Prints the install prefix as the last line of stdout; progress goes to stderr. Consumed by
# cmake/mingw/LanpartyMingwQuicDepsConfig.cmake through <root>/current.
# shellcheck disable=SC2317 # the build steps are functions invoked through run_step/step
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$repo/build/mingw-deps
jobs=$(nproc)
refresh=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --root=*) root=${1#--root=}; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#--jobs=}; shift ;;
    --refresh) refresh=1; shift ;;
    -h | --help) sed -n '3,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-mingw-deps: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$root"
root=$(cd "$root" && pwd)

triple=x86_64-w64-mingw32
# posix thread variant: the same compiler family the mingw preset uses (see the toolchain file).
cc=$triple-gcc-posix
cxx=$triple-g++-posix
# Any edit to this script (flags, steps) must give a new prefix, never reuse a stale one.
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
stamp_name=lanparty-mingw-deps.stamp

log() { printf '[build-mingw-deps] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }

# Runs one step with its output in $root/logs/<name>.log and prints its wall time; on failure
# shows the log's tail (a 3-minute wolfSSL build is unreadable on the terminal) and returns the
# step's status. `step` is the same but fatal.
run_step() {
  local name=$1 t0 secs status=0
  shift
  t0=$(now)
  log "$name ..."
  "$@" >"$root/logs/$name.log" 2>&1 || status=$?
  secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$status" -ne 0 ]; then
    tail -40 "$root/logs/$name.log" >&2
    log "$name failed after ${secs} s (exit $status); full log: $root/logs/$name.log"
    return "$status"
  fi
  log "$name: ${secs} s"
}
step() { run_step "$@" || exit 1; }

# One run at a time per root: two concurrent builds would wipe each other's scratch dir.
exec 9>"$root/.lock"
flock 9

# --- Private APT state: /etc/apt is never touched, nothing is installed. -------------------------
# shellcheck disable=SC1091 # the running system's os-release
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
apt_dir=$root/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$root/logs"
cat >"$apt_dir/sources.list" <<EOF
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian-security $codename-security main
EOF
# SourceParts/Preferences point nowhere so the host's own sources and pins cannot change which
# source version we pick. Sandbox user root: as root, apt would otherwise warn that _apt cannot
# write into our (root-owned) directories.
cat >"$apt_dir/apt.conf" <<EOF
Dir::Etc::SourceList "$apt_dir/sources.list";
Dir::Etc::SourceParts "/nonexistent";
Dir::Etc::Preferences "/nonexistent";
Dir::Etc::PreferencesParts "/nonexistent";
Dir::State::Lists "$apt_dir/lists";
Dir::Cache "$apt_dir/cache";
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$apt_dir/apt.conf

# Both suites' lists, or none: main alone would silently pick a version without the
# security suite's fixes.
have_lists() {
  compgen -G "$apt_dir/lists/*_dists_${codename}_main_source_Sources*" >/dev/null &&
    compgen -G "$apt_dir/lists/*_dists_${codename}-security_main_source_Sources*" >/dev/null
}

# The newest complete prefix built by this very script, for when the network is down.
cached_prefix_for_this_script() {
  local newest
  newest=$(find "$root" -mindepth 2 -maxdepth 2 -path "*_$script_hash/$stamp_name" \
    -printf '%T@ %h\n' | sort -n | tail -1 | cut -d' ' -f2-)
  [ -n "$newest" ] && echo "$newest"
}

finish() {
  ln -sfn "$(basename "$1")" "$root/current"
  echo "$1"
  exit 0
}

# Offline with a complete prefix from this script: use it rather than fail the whole CI run.
fall_back_or_die() {
  local cached
  cached=$(cached_prefix_for_this_script) ||
    die "$1, and no complete prefix for script $script_hash"
  log "$1; using the cached $cached"
  finish "$cached"
}

# Decided from the lists already on disk when there are some: fast, and needs no network.
if [ "$refresh" = 1 ] || ! have_lists; then
  run_step apt-update apt-get update -q || log "apt-get update failed (offline?)"
fi
have_lists || fall_back_or_die "no source lists in $apt_dir/lists"

# The version apt-get source would fetch, read offline from the lists: the .dsc file name.
source_version() {
  apt-get source --print-uris -qq "$1" 2>/dev/null |
    sed -nE "s/^'[^']*' ${1}_([^ ]+)\\.dsc .*/\\1/p" | head -1
}
ngtcp2_version=$(source_version ngtcp2)
wolfssl_version=$(source_version wolfssl)
[ -n "$ngtcp2_version" ] || die "no ngtcp2 source package in $apt_dir/lists (try --refresh)"
[ -n "$wolfssl_version" ] || die "no wolfssl source package in $apt_dir/lists (try --refresh)"

prefix=$root/${ngtcp2_version}_${wolfssl_version}_${script_hash}
if [ -f "$prefix/$stamp_name" ]; then
  finish "$prefix"
fi

# --- Build from scratch: everything below is redone after an interruption. ----------------------
log "building ngtcp2 $ngtcp2_version + wolfssl $wolfssl_version for $triple, $jobs jobs"
t_start=$(now)
scratch=$root/scratch
rm -rf "$scratch" "$prefix"
mkdir -p "$scratch/src" "$prefix"

# Pinned to the versions the prefix is named after; dpkg-source -x applies debian/patches.
fetch_sources() (
  cd "$scratch/src" && apt-get source -q "ngtcp2=$ngtcp2_version" "wolfssl=$wolfssl_version"
)
if ! run_step apt-source fetch_sources; then
  rm -rf "$scratch" "$prefix"
  fall_back_or_die "apt-get source failed"
fi
ngtcp2_src=$(find "$scratch/src" -mindepth 1 -maxdepth 1 -type d -name 'ngtcp2-*')
wolfssl_src=$(find "$scratch/src" -mindepth 1 -maxdepth 1 -type d -name 'wolfssl-*')
if [ ! -d "$ngtcp2_src" ] || [ ! -d "$wolfssl_src" ]; then
  die "unpacked sources not found in $scratch/src"
fi
log "Debian patches applied: $(grep -c 'applying' "$root/logs/apt-source.log" || true)"

# wolfSSL: exactly what ngtcp2 0.12.1's crypto/wolfssl/wolfssl.c and a TLS 1.3 QUIC client use.
# Several are implied by --enable-quic in 5.5.4's configure.ac; they are spelled out so a later
# wolfSSL that stops implying them fails loudly here rather than at link time in libs/quic.
wolfssl_flags=(
  --host="$triple"
  --prefix="$prefix"
  --enable-static --disable-shared # one self-contained .exe, no DLL to ship next to it
  --disable-examples               # nothing of wolfSSL's own is run; saves build time
  --disable-crypttests             # wolfCrypt test + benchmark programs
  --disable-benchmark
  --enable-quic           # WOLFSSL_QUIC: wolfSSL_set_quic_method, provide_quic_data, quic_* crypto
  --enable-tls13          # QUIC is TLS 1.3 only (RFC 9001)
  --disable-tlsv12        # ... so TLS 1.2 and older are dead weight and attack surface
  --disable-oldtls
  --enable-opensslextra   # wolfSSL_EVP_* (AEAD/HP/MD handles), set_min/max_proto_version,
                          # SSL_get_app_data (crypto_wolfssl callbacks find the ngtcp2_conn)
  --enable-aesgcm         # TLS_AES_128/256_GCM_SHA256/384; AES-128-GCM is QUIC's Initial AEAD
  --enable-aesctr         # AES-CTR header protection (wolfSSL_EVP_aes_128/256_ctr)
  --enable-chacha         # TLS_CHACHA20_POLY1305_SHA256 and its ChaCha20 header protection
  --enable-poly1305
  --enable-hkdf           # wolfSSL_quic_hkdf*: ngtcp2 derives packet keys and Initial secrets
  --enable-alpn           # wolfSSL_set_alpn_protos("lanparty/1"), mandatory in QUIC
  --enable-sni            # wolfSSL_UseSNI: the relay host name
  --enable-session-ticket # ngtcp2_crypto_wolfssl_configure_client_context calls
                          # wolfSSL_CTX_UseSessionTicket, which only exists with tickets
  --enable-ecc            # ECDSA P-256: the relay's self-signed certificate; P-256 key share
  --enable-supportedcurves # supported_groups extension: offer X25519 and P-256
  --enable-curve25519     # X25519 key share (the usual first choice of QUIC stacks)
  --disable-dh            # finite-field DH: no QUIC peer uses it in TLS 1.3
  --disable-sha3          # no TLS 1.3 suite or signature needs SHA-3
  --disable-pkcs12        # we load PEM/DER certificates, never .p12 bundles
  --disable-sys-ca-certs  # the relay is pinned by DER, or a CA file is given; no OS store
  # Kept at their defaults: RSA + RSA-PSS (a CA file may hold RSA roots), SHA-384/512
  # (TLS_AES_256_GCM_SHA384), filesystem (CA/cert files), error strings (for our logs),
  # hardening (timing resistance, blinding).
)
# HAVE_SECRET_CALLBACK: wolfSSL_CTX_set_keylog_callback (SSLKEYLOGFILE support in libs/quic;
# 5.5.4 has no configure switch for it). Through CPPFLAGS it also lands in wolfssl/options.h,
# so consumers see the same struct layouts as the library.
wolfssl_env=(CC="$cc" CPPFLAGS="-DHAVE_SECRET_CALLBACK")

# Subshells: each step's cd stays inside it.
wolfssl_autogen() (cd "$wolfssl_src" && ./autogen.sh)
wolfssl_configure() (cd "$wolfssl_src" && ./configure "${wolfssl_flags[@]}" "${wolfssl_env[@]}")
wolfssl_build() (cd "$wolfssl_src" && make -j"$jobs" && make install)
step wolfssl-autogen wolfssl_autogen
step wolfssl-configure wolfssl_configure
step wolfssl-build wolfssl_build

# ngtcp2: the equivalent of cmake/mingw-w64-x86_64.cmake spelled out here, so that this script's
# hash covers every input of the build. The find root is the mingw sysroot plus our prefix, and
# the optional example/test dependencies are switched off, so no host library can leak in.
ngtcp2_configure() {
  PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH='' \
    cmake -S "$ngtcp2_src" -B "$scratch/ngtcp2-build" -G Ninja \
    -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=x86_64 \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_RC_COMPILER="$triple-windres" \
    -DCMAKE_FIND_ROOT_PATH="/usr/$triple;$prefix" \
    -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DENABLE_STATIC_LIB=ON -DENABLE_SHARED_LIB=OFF \
    -DENABLE_WOLFSSL=ON -DENABLE_GNUTLS=OFF -DENABLE_OPENSSL=OFF -DENABLE_BORINGSSL=OFF \
    -DENABLE_PICOTLS=OFF \
    -DWOLFSSL_INCLUDE_DIR="$prefix/include" -DWOLFSSL_LIBRARY="$prefix/lib/libwolfssl.a" \
    -DCMAKE_DISABLE_FIND_PACKAGE_Libev=ON -DCMAKE_DISABLE_FIND_PACKAGE_Libnghttp3=ON \
    -DCMAKE_DISABLE_FIND_PACKAGE_CUnit=ON
}
ngtcp2_build() {
  cmake --build "$scratch/ngtcp2-build" -j "$jobs" && cmake --install "$scratch/ngtcp2-build"
}
step ngtcp2-configure ngtcp2_configure
grep -q 'wolfSSL: *TRUE' "$root/logs/ngtcp2-configure.log" ||
  die "ngtcp2's CMake did not accept our wolfSSL (see $root/logs/ngtcp2-configure.log)"
step ngtcp2-build ngtcp2_build

for lib in libwolfssl.a libngtcp2_static.a libngtcp2_crypto_wolfssl_static.a; do
  [ -f "$prefix/lib/$lib" ] || die "expected $prefix/lib/$lib after install"
done

# The stamp is written last and atomically: its presence is the only sign of a complete prefix.
{
  echo "ngtcp2 $ngtcp2_version"
  echo "wolfssl $wolfssl_version"
  echo "script $script_hash"
  echo "wolfssl-configure ${wolfssl_flags[*]} ${wolfssl_env[*]}"
} >"$prefix/$stamp_name.tmp"
mv "$prefix/$stamp_name.tmp" "$prefix/$stamp_name"
rm -rf "$scratch"
log "total: $(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
finish "$prefix"
