#!/bin/sh
# SPDX-License-Identifier: MIT
# busybox udhcpc event script for the e2e test: sets only the leased address on the TAP, in the
# client's namespace. No routes, no /etc/resolv.conf; the lease is written to $LP_LEASE_FILE.
# shellcheck disable=SC2154 # udhcpc sets interface, ip and mask
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ;;
  bound | renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$LP_LEASE_FILE" ]; then echo "$ip" >"$LP_LEASE_FILE"; fi
    ;;
esac
exit 0
