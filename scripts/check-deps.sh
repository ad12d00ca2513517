#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Enforces STYLE.md section 1: which module may include which, where OS headers may appear,
# and that third-party headers stay out of public headers.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [libs/base]="base"
  [libs/proto]="base proto"
  [libs/obs]="base obs"
  [libs/directory]="base obs directory"
  [libs/ctrl]="base proto obs ctrl"
  [libs/io]="base obs io"
  [libs/quic]="base obs io quic"
  [libs/client-core]="base proto ctrl obs io quic client_core"
  [libs/client-route]="base obs client_route"
  [libs/client-tap]="base proto obs client_tap"
  [apps/relay]="base proto ctrl obs io quic directory relay"
  [apps/gateway]="base proto ctrl obs io quic client_core gateway"
  [apps/client-linux]="base proto ctrl obs io quic client_core client_linux"
  [apps/client-win]="base proto ctrl obs io quic client_core client_route client_tap client_win"
)

bad=0
for dir in "${!allowed[@]}"; do
  [ -d "$dir" ] || continue
  while IFS=: read -r file _ include; do
    module=$(sed -E 's#.*"lanparty/([a-z_]+)/.*#\1#' <<<"$include")
    if ! grep -qw "$module" <<<"${allowed[$dir]}"; then
      echo "dependency violation: $file includes lanparty/$module (allowed from $dir: ${allowed[$dir]})"
      bad=1
    fi
  done < <(grep -rn --include='*.cpp' --include='*.hpp' -E '#include "lanparty/[a-z_]+/' "$dir" || true)
done

# OS headers only in per-OS folders (src/win, src/linux).
while IFS= read -r hit; do
  file=${hit%%:*}
  case "$file" in */win/* | */linux/*) ;; *)
    echo "OS header outside a per-OS folder: $hit"; bad=1 ;;
  esac
done < <(grep -rn --include='*.cpp' --include='*.hpp' -E '#include <(windows\.h|winsock2\.h|ws2tcpip\.h|iphlpapi\.h|linux/[^>]+)>' libs apps 2>/dev/null || true)

# No per-OS branches in shared headers: the build picks per-OS files instead (STYLE.md 0.2).
while IFS= read -r hit; do
  echo "#if on the OS in a shared header: $hit"; bad=1
done < <(grep -rn -E '^\s*#\s*(if|ifdef|ifndef|elif).*(_WIN32|__linux__)' libs/*/include apps/common/*.hpp 2>/dev/null || true)

# Third-party headers never in public headers.
while IFS= read -r hit; do
  echo "third-party header in a public header: $hit"; bad=1
done < <(grep -rn -E '#include <(ngtcp2/|gnutls/|nlohmann/)' libs/*/include 2>/dev/null || true)

# ngtcp2 and GnuTLS only inside libs/quic, and GnuTLS in the directory's rediss:// transport
# (hiredis 0.14 has no TLS of its own; a TLS client stream is not QUIC's business).
while IFS= read -r hit; do
  case "$hit" in
    libs/quic/* | libs/directory/src/redis_tls.cpp:*'<gnutls/'*) ;;
    *) echo "ngtcp2/GnuTLS outside libs/quic: $hit"; bad=1 ;;
  esac
done < <(grep -rn --include='*.cpp' --include='*.hpp' -E '#include <(ngtcp2/|gnutls/)' libs apps bench 2>/dev/null || true)

if [ "$bad" -ne 0 ]; then
  echo "check-deps: violations found (see STYLE.md section 1)"
  exit 1
fi
echo "check-deps: module dependencies, OS headers and third-party headers are where STYLE.md wants them"
