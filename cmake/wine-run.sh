#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CMAKE_CROSSCOMPILING_EMULATOR for the mingw build: runs a Windows exe under wine64, headless,
# in a private WINEPREFIX (default build/mingw/wineprefix) that is booted once, under a lock.
set -euo pipefail

# Usage: wine-run.sh [--prefix=DIR] program.exe args...   (the toolchain passes --prefix)
# --prefix wins over an ambient WINEPREFIX, so tests never touch a developer's own prefix.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${WINEPREFIX:-$here/../build/mingw/wineprefix}
case "${1:-}" in --prefix=*) prefix=${1#--prefix=}; shift ;; esac
export WINEPREFIX=$prefix
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono/Gecko install prompts: nothing here needs .NET or an HTML engine.
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}

wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver)

mkdir -p "$WINEPREFIX"
# Without a booted prefix and a running server, the first exes hang while wine creates the
# prefix under them (and parallel tests race to create it); boot once, under a lock.
(
  flock 9
  # 9>&-: the server and wine's system processes outlive this script; if they inherited the
  # lock's descriptor, the lock would stay held and every later test would wait for them.
  if [ ! -f "$WINEPREFIX/.lanparty-booted" ]; then
    "$wine" wineboot --init </dev/null >/dev/null 2>&1 9>&-
    touch "$WINEPREFIX/.lanparty-booted"
  fi
  # Keep the server for 60 s after the last exe instead of one start per test;
  # a second -p while one runs is a no-op.
  "$wineserver" -p60 </dev/null >/dev/null 2>&1 9>&- || true
) 9>"$WINEPREFIX.lock"

# wine starts its system processes (services.exe, explorer.exe, ...) from the first exe that
# finds them missing, and they inherit that exe's stdout/stderr. Under ctest those are pipes,
# which then stay open as long as the server persists, so ctest waits for EOF until its
# timeout. The exe therefore writes to files, copied out once it has exited.
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
status=0
"$wine" "$@" </dev/null >"$out" 2>"$err" || status=$?
cat "$out"
cat "$err" >&2
exit "$status"
