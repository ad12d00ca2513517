#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Packet tools for the end-to-end test, run inside one namespace each: raw frame injection and
# capture (AF_PACKET), UDP broadcast send/listen, and a metrics scrape. Every wait is bounded.
"""lp_net.py SUBCOMMAND ...; prints one JSON object per run on stdout."""

import argparse
import json
import os
import select
import socket
import struct
import sys
import time
import urllib.request

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_BINDTODEVICE = 25
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_CAM_REFRESH = 0x88B5
MARKER_PREFIX = b"lanparty-e2e-marker "


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def mac_text(raw):
    return ":".join(f"{b:02x}" for b in raw)


def checksum16(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_udp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0, 64, 17, 0,
                         socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    header = header[:10] + struct.pack("!H", checksum16(header)) + header[12:]
    return dst_mac + src_mac + struct.pack("!H", ETHERTYPE_IPV4) + header + udp


def dhcp_server_answer(src_mac):
    """A rogue DHCPOFFER, as a client running its own DHCP server would broadcast it."""
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, 0x1E2E0001, 0, 0x8000,
                        b"\0" * 4, socket.inet_aton("10.213.2.222"),
                        socket.inet_aton("10.213.2.99"), b"\0" * 4, b"\0" * 16, b"", b"")
    options = b"\x63\x82\x53\x63" + b"\x35\x01\x02" + b"\x36\x04" + \
        socket.inet_aton("10.213.2.99") + b"\xff"
    return ipv4_udp_frame(src_mac, b"\xff" * 6, "10.213.2.99", "255.255.255.255", 67, 68,
                          bootp + options)


def router_advertisement(src_mac):
    """An ICMPv6 Router Advertisement to all nodes, as a client acting as a router sends it."""
    src_ip = bytes.fromhex("fe80000000000000") + bytes([src_mac[0] ^ 2]) + src_mac[1:3] + \
        b"\xff\xfe" + src_mac[3:6]
    dst_ip = socket.inet_pton(socket.AF_INET6, "ff02::1")
    icmp = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    pseudo = src_ip + dst_ip + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", checksum16(pseudo + icmp)) + icmp[4:]
    ipv6 = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 255) + src_ip + dst_ip
    return b"\x33\x33\x00\x00\x00\x01" + src_mac + struct.pack("!H", ETHERTYPE_IPV6) + ipv6 + icmp


def marker_frame(src_mac, nonce):
    return ipv4_udp_frame(src_mac, b"\xff" * 6, "10.213.2.98", "255.255.255.255", 40000, 40001,
                          MARKER_PREFIX + nonce.encode())


def classify(frame):
    """Names what matters to the test in one Ethernet frame, or returns None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    offset = 14
    if ethertype == ETHERTYPE_VLAN and len(frame) >= 18:
        ethertype = struct.unpack_from("!H", frame, 16)[0]
        offset = 18
    if ethertype == ETHERTYPE_IPV4 and len(frame) >= offset + 20:
        ihl = (frame[offset] & 0x0F) * 4
        proto = frame[offset + 9]
        fragment = struct.unpack_from("!H", frame, offset + 6)[0] & 0x1FFF
        udp = offset + ihl
        if proto == 17 and fragment == 0 and len(frame) >= udp + 8:
            sport = struct.unpack_from("!H", frame, udp)[0]
            if sport == 67:
                return "dhcp_server"
            if frame[udp + 8:].startswith(MARKER_PREFIX):
                return "marker"
    if ethertype == ETHERTYPE_IPV6 and len(frame) >= offset + 41:
        # The injected RA has no extension headers; anything else is not ours to judge.
        if frame[offset + 6] == 58 and frame[offset + 40] == 134:
            return "router_advertisement"
    return None


def raw_socket(iface):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    return sock


def cmd_send_frames(args):
    src = mac_bytes(args.src_mac)
    builders = {
        "dhcp_server": lambda: dhcp_server_answer(src),
        "router_advertisement": lambda: router_advertisement(src),
        "marker": lambda: marker_frame(src, args.nonce),
    }
    sock = raw_socket(args.iface)
    sent = {}
    for kind in args.kinds.split(","):
        frame = builders[kind]()
        for _ in range(args.count):
            sock.send(frame)
            time.sleep(0.01)
        sent[kind] = args.count
    print(json.dumps({"sent": sent}))
    return 0


def cmd_capture(args):
    """Counts dhcp_server / router_advertisement / marker frames arriving on an interface."""
    sock = raw_socket(args.iface)
    open(args.ready, "w").close()
    counts = {"dhcp_server": 0, "router_advertisement": 0, "marker": 0, "frames": 0}
    sources = {}
    deadline = time.monotonic() + args.seconds
    marker_seen_at = None
    while True:
        now = time.monotonic()
        if marker_seen_at is not None and now >= marker_seen_at + args.linger:
            break
        if now >= deadline:
            break
        ready, _, _ = select.select([sock], [], [], min(0.1, deadline - now))
        if not ready:
            continue
        frame, addr = sock.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:
            continue
        counts["frames"] += 1
        kind = classify(frame)
        if kind is None:
            continue
        if kind == "marker" and args.nonce.encode() not in frame:
            continue
        counts[kind] += 1
        sources.setdefault(kind, set()).add(mac_text(frame[6:12]))
        if kind == "marker" and marker_seen_at is None:
            marker_seen_at = time.monotonic()
    counts["sources"] = {k: sorted(v) for k, v in sources.items()}
    print(json.dumps(counts))
    return 0


def cmd_cam_capture(args):
    """Counts CAM refresh frames (EtherType 0x88b5) per source MAC, and how they looked."""
    sock = raw_socket(args.iface)
    wanted = [m.lower() for m in args.macs.split(",")]
    dst = args.dst.lower()
    result = {m: {"good": 0, "bad": []} for m in wanted}
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        if all(result[m]["good"] >= args.want for m in wanted):
            break
        ready, _, _ = select.select([sock], [], [], max(0.0, min(0.1, deadline - time.monotonic())))
        if not ready:
            continue
        frame, _ = sock.recvfrom(65535)
        if len(frame) < 14 or struct.unpack_from("!H", frame, 12)[0] != ETHERTYPE_CAM_REFRESH:
            continue
        src = mac_text(frame[6:12])
        if src not in result:
            continue
        if len(frame) == 60 and mac_text(frame[0:6]) == dst:
            result[src]["good"] += 1
        else:
            result[src]["bad"].append({"len": len(frame), "dst": mac_text(frame[0:6])})
    print(json.dumps(result))
    return 0


def cmd_udp_listen(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.bind(("", args.port))
    open(args.ready, "w").close()
    start = time.monotonic()
    deadline = start + args.seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, sender = sock.recvfrom(2048)
        except socket.timeout:
            break
        if data == args.expect.encode():
            print(json.dumps({"received": True, "from": sender[0],
                              "after_ms": round((time.monotonic() - start) * 1000)}))
            return 0
    print(json.dumps({"received": False, "waited_s": args.seconds}))
    return 1


def cmd_udp_send(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if args.bind_dev:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, args.bind_dev.encode())
    for _ in range(args.count):
        sock.sendto(args.text.encode(), (args.dest, args.port))
        time.sleep(args.interval)
    print(json.dumps({"sent": args.count, "dest": args.dest}))
    return 0


def cmd_http_get(args):
    try:
        with urllib.request.urlopen(args.url, timeout=args.timeout) as response:
            sys.stdout.write(response.read().decode())
        return 0
    except OSError as error:
        print(f"http-get {args.url}: {error}", file=sys.stderr)
        return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("send-frames", help="inject raw Ethernet frames on an interface")
    p.add_argument("--iface", required=True)
    p.add_argument("--src-mac", required=True)
    p.add_argument("--kinds", required=True,
                   help="comma list of dhcp_server, router_advertisement, marker")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--nonce", default="0")
    p.set_defaults(func=cmd_send_frames)

    p = sub.add_parser("capture", help="count forbidden frames and the marker on an interface")
    p.add_argument("--iface", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--linger", type=float, default=1.0, help="keep capturing after the marker")
    p.add_argument("--nonce", default="0")
    p.set_defaults(func=cmd_capture)

    p = sub.add_parser("cam-capture", help="count CAM refresh frames per source MAC")
    p.add_argument("--iface", required=True)
    p.add_argument("--macs", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--want", type=int, default=2)
    p.set_defaults(func=cmd_cam_capture)

    p = sub.add_parser("udp-listen", help="wait for one UDP datagram with the expected text")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--expect", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.set_defaults(func=cmd_udp_listen)

    p = sub.add_parser("udp-send", help="send UDP datagrams (broadcast allowed)")
    p.add_argument("--dest", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--bind-dev", default="")
    p.set_defaults(func=cmd_udp_send)

    p = sub.add_parser("http-get", help="print the body of an HTTP GET")
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=2.0)
    p.set_defaults(func=cmd_http_get)

    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
