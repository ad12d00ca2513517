#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian package softlan-vpn needs to build, test, fuzz and benchmark.
# Idempotent: apt-get skips what is already there. Nothing comes from outside Debian.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-14 libclang-rt-14-dev clang-format
  # libraries
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev
  nlohmann-json3-dev libfmt-dev libexpected-dev libcli11-dev libsqlite3-dev
  # the gateway joins a bridge through a veth pair it creates (rtnetlink)
  libnl-3-dev libnl-route-3-dev
  # sd_notify: the relay tells systemd when it listens (Type=notify) and feeds its watchdog
  libsystemd-dev
  # the relays of one cluster share a room directory on Redis (--directory redis://...)
  libhiredis-dev redis-server
  # tests and benchmarks
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  # Windows cross build (posix threads: std::thread) and its test runner; googletest's
  # sources are compiled for mingw (cmake/mingw/GTestConfig.cmake)
  g++-mingw-w64-x86-64-posix wine64 googletest
  # ngtcp2 and wolfSSL (with its QUIC API) rebuilt for mingw from Debian's source packages
  # (scripts/build-mingw-deps.sh): unpacking and wolfSSL's autotools build
  dpkg-dev autoconf automake libtool
  # end-to-end tests: namespaces, bridges, a real DHCP server, traffic tools
  iproute2 iputils-ping dnsmasq-base iperf3 tcpdump procps psmisc
  busybox ethtool openssl python3
)

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi
