#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Captures frames exactly as the Linux kernel hands them to the gateway's packet socket, for
the offload unit tests (tests/corpus/offload/*.frame).

Two network namespaces joined by a veth pair with the kernel's default offloads (checksum and
segmentation left on, as users keep them). Ordinary sockets in namespace A send UDP and TCP,
over IPv4 and IPv6; in namespace B a packet socket with PACKET_VNET_HDR and PACKET_AUXDATA
(what apps/gateway uses) records each frame with its virtio_net_hdr, and puts a VLAN tag that
the kernel moved into metadata back into the frame (as the gateway does; kernels without
802.1Q support, like CI's, give untagged frames only: the tests tag those by hand). Run as root; it creates and removes its own namespaces and touches no
other interface. Addresses are in 10.213.250.0/24 and fd00:213:250::/64.

Usage: capture_offload_frames.py OUTPUT_DIR
"""
import ctypes
import os
import socket
import struct
import subprocess
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_VNET_HDR = 15
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
UDP_SEGMENT = 103
ETH_P_ALL = 0x0003
PORT_UDP = 47001
PORT_TCP = 47002

libc = ctypes.CDLL("libc.so.6", use_errno=True)
NS_A = f"lpcap-{os.getpid()}-a"
NS_B = f"lpcap-{os.getpid()}-b"


def run(*args):
    subprocess.run(args, check=True)


def enter(ns):
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def setup():
    run("ip", "netns", "add", NS_A)
    run("ip", "netns", "add", NS_B)
    run("ip", "-n", NS_A, "link", "add", "lpa", "type", "veth", "peer", "name", "lpb", "netns", NS_B)
    for ns, dev, n in ((NS_A, "lpa", 1), (NS_B, "lpb", 2)):
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "-n", ns, "addr", "add", f"10.213.250.{n}/24", "dev", dev)
        run("ip", "-n", ns, "addr", "add", f"fd00:213:250::{n}/64", "dev", dev, "nodad")
    # Static neighbours: no ARP/ND round trips to wait for or to capture.
    macs = {}
    for ns, dev in ((NS_A, "lpa"), (NS_B, "lpb")):
        out = subprocess.run(["ip", "-n", ns, "-o", "link", "show", dev], check=True,
                             capture_output=True, text=True).stdout
        macs[dev] = out.split("link/ether ")[1].split()[0]
    for ns, dev, peer, n in ((NS_A, "lpa", "lpb", 2), (NS_B, "lpb", "lpa", 1)):
        run("ip", "-n", ns, "neigh", "replace", f"10.213.250.{n}", "lladdr", macs[peer], "dev",
            dev)
        run("ip", "-n", ns, "neigh", "replace", f"fd00:213:250::{n}", "lladdr", macs[peer],
            "dev", dev)


def cleanup():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def capture_socket():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind(("lpb", 0))
    s.settimeout(0.2)
    return s


def read_frames(sock, seconds):
    frames = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            data, anc, _flags, addr = sock.recvmsg(70000, 256)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        vnet, frame = data[:10], bytearray(data[10:])
        flags, gso_type, hdr_len, gso_size, csum_start, csum_offset = struct.unpack(
            "<BBHHHH", vnet)
        for level, kind, value in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA:
                status, _len, _snap, _mac, _net, tci, tpid = struct.unpack("IIIHHHH", value[:20])
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = 0x8100
                    frame[12:12] = struct.pack("!HH", tpid, tci)
                    if flags & 1:
                        csum_start += 4
        frames.append(((flags, gso_type, hdr_len, gso_size, csum_start, csum_offset),
                       bytes(frame)))
    return frames


def send_traffic():
    """From namespace A: UDP of odd and even sizes, UDP GSO, and a TCP exchange with a bulk
    write that leaves as one TSO super-frame."""
    for family, dst in ((socket.AF_INET, "10.213.250.2"), (socket.AF_INET6, "fd00:213:250::2")):
        u = socket.socket(family, socket.SOCK_DGRAM)
        for size in (1, 7, 332, 1001):
            u.sendto(bytes((i * 7 + size) & 0xff for i in range(size)), (dst, PORT_UDP))
        try:
            u.setsockopt(socket.SOL_UDP, UDP_SEGMENT, 600)
            u.sendto(bytes(i & 0xff for i in range(1500)), (dst, PORT_UDP))
        except OSError:
            pass  # a kernel without UDP GSO: the corpus then has no UDP super-frame
        u.close()


def tcp_exchange(listener_addr, family):
    enter(NS_B)
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((listener_addr, PORT_TCP))
    srv.listen(1)
    received = []

    def serve():
        conn, _ = srv.accept()
        conn.settimeout(2)
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                received.append(len(chunk))
        except socket.timeout:
            pass
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    enter(NS_A)
    c = socket.socket(family, socket.SOCK_STREAM)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.connect((listener_addr, PORT_TCP))
    c.send(b"x")
    time.sleep(0.05)
    c.send(bytes((i * 13) & 0xff for i in range(1003)))
    time.sleep(0.05)
    c.sendall(bytes((i * 31) & 0xff for i in range(20001)))
    time.sleep(0.1)
    c.close()
    t.join()
    srv.close()


def describe(info, frame):
    flags, gso_type, _hdr_len, gso_size, csum_start, _csum_offset = info
    tagged = frame[12:14] == b"\x81\x00"
    ethertype = frame[16:18] if tagged else frame[12:14]
    ip = "ipv4" if ethertype == b"\x08\x00" else "ipv6" if ethertype == b"\x86\xdd" else None
    if ip is None:
        return None
    l3 = 18 if tagged else 14
    proto = frame[l3 + 9] if ip == "ipv4" else frame[l3 + 6]
    l4 = {6: "tcp", 17: "udp"}.get(proto)
    if l4 is None:
        return None
    kind = "gso" if gso_type else "partial" if flags & 1 else "complete"
    return f"{ip}_{l4}_{'tagged' if tagged else 'untagged'}_{kind}_{len(frame)}"


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    setup()
    try:
        enter(NS_B)
        cap = capture_socket()
        enter(NS_A)
        send_traffic()
        for family, addr in ((socket.AF_INET, "10.213.250.2"),
                             (socket.AF_INET6, "fd00:213:250::2")):
            tcp_exchange(addr, family)
        frames = read_frames(cap, 1.0)
    finally:
        cleanup()
    seen = set()
    kernel = os.uname().release
    for info, frame in frames:
        name = describe(info, frame)
        if name is None or name in seen:
            continue
        seen.add(name)
        flags, gso_type, hdr_len, gso_size, csum_start, csum_offset = info
        with open(os.path.join(out_dir, name + ".frame"), "w") as f:
            f.write(f"# captured by capture_offload_frames.py on Linux {kernel}, veth defaults\n")
            f.write(f"flags={flags} gso_type={gso_type} hdr_len={hdr_len} gso_size={gso_size} "
                    f"csum_start={csum_start} csum_offset={csum_offset}\n")
            f.write(frame.hex() + "\n")
    print(f"{len(seen)} frames written to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
