#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages lanparty-relay, lanparty-gateway and lanparty-client into
# build/packages/ from a clean RelWithDebInfo build (build/package). Warnings are not errors
# here: a distribution build must not stop at a new compiler's new warning.
#   scripts/package.sh            # then: sudo apt install ./build/packages/lanparty-relay_*.deb
# BUILD_DIR and JOBS override the build directory and the parallelism.
# The Windows players' zip (exe, README, TAP-Windows6 note) comes from a mingw build, after
# scripts/build-mingw-deps.sh:
#   cmake -S . -B build/package-win -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
#     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLANPARTY_BUILD_TESTS=OFF -DLANPARTY_WERROR=OFF
#   cmake --build build/package-win --target lanparty-client-win
#   (cd build/package-win && cpack -G ZIP -B "$PWD/../packages")
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/package}
out=$root/build/packages
jobs=${JOBS:-$(nproc)}

rm -rf "$build"
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DLANPARTY_WERROR=OFF \
  -DLANPARTY_BUILD_TESTS=OFF \
  -DLANPARTY_BUILD_BENCH=OFF
cmake --build "$build" -j "$jobs"
mkdir -p "$out"
(cd "$build" && cpack -G DEB -B "$out")
# cpack leaves its staging tree beside the packages.
rm -rf "$out/_CPack_Packages"
ls -l "$out"/*.deb
