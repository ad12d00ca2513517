#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpora tests/corpus/overlay_header/ and tests/corpus/frame_filter/: real
# frames (DHCP offer, RA, ARP, tagged, IPv6 extension chains) so fuzzing starts deep.
# Run from anywhere: python3 libs/proto/tests/make_corpus.py
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
CLIENT = bytes.fromhex("025a11223344")
GATEWAY = bytes.fromhex("001122334455")
BROADCAST = b"\xff" * 6
ALL_NODES = bytes.fromhex("333300000001")


def eth(dst, src, ethertype, payload, tags=()):
    out = dst + src
    for tpid in tags:
        out += struct.pack("!HH", tpid, 0x0064)
    return out + struct.pack("!H", ethertype) + payload


def udp(sport, dport, body):
    return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body


def ipv4(proto, payload, flags_fragment=0x4000, src=b"\xc0\xa8\x01\x01", dst=b"\xff" * 4):
    return struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), 0x1234, flags_fragment, 64,
                       proto, 0) + src + dst + payload


def ipv6(next_header, rest):
    src = bytes.fromhex("fe800000000000000000000000000001")
    dst = bytes.fromhex("ff020000000000000000000000000001")
    return struct.pack("!IHBB", 0x60000000, len(rest), next_header, 255) + src + dst + rest


def options(next_header, size=8):
    return bytes([next_header, size // 8 - 1, 1, size - 4]) + bytes(size - 4)


def bootp_offer():
    # op=2 (reply), htype=1, hlen=6, yiaddr 192.168.1.50, magic cookie, option 53 = OFFER.
    fixed = bytes([2, 1, 6, 0]) + b"\x39\x03\xf3\x26" + bytes(8) + bytes([192, 168, 1, 50])
    fixed += bytes(8) + CLIENT + bytes(10) + bytes(192)
    return fixed + b"\x63\x82\x53\x63" + bytes([53, 1, 2, 255])


def router_advertisement():
    # type 134, hop limit 64, router lifetime 1800 s, source link-layer address option.
    return bytes([134, 0, 0, 0, 64, 0]) + struct.pack("!HII", 1800, 0, 0) + bytes([1, 1]) + CLIENT


FRAMES = {
    "dhcp_offer": eth(BROADCAST, CLIENT, 0x0800, ipv4(17, udp(67, 68, bootp_offer()))),
    "dhcp_discover": eth(BROADCAST, CLIENT, 0x0800, ipv4(17, udp(68, 67, bootp_offer()))),
    "router_advertisement": eth(ALL_NODES, CLIENT, 0x86DD, ipv6(58, router_advertisement())),
    "arp_request": eth(BROADCAST, CLIENT, 0x0806,
                       bytes.fromhex("0001080006040001") + CLIENT + bytes([192, 168, 1, 20])
                       + bytes(6) + bytes([192, 168, 1, 1])),
    "tagged_arp": eth(BROADCAST, CLIENT, 0x0806, bytes.fromhex("0001080006040001") + bytes(20),
                      tags=(0x8100,)),
    "qinq": eth(GATEWAY, CLIENT, 0x0800, ipv4(17, udp(5000, 5001, b"x" * 16)),
                tags=(0x88A8, 0x8100)),
    "ipv6_ext_chain_dhcpv6": eth(ALL_NODES, CLIENT, 0x86DD,
                                 ipv6(0, options(43) + options(60) + options(17, 16)
                                      + udp(547, 546, b"\x02" + bytes(3)))),
    "ipv6_ah_icmpv6": eth(ALL_NODES, CLIENT, 0x86DD,
                          ipv6(51, bytes([58, 4]) + bytes(22) + bytes([128, 0, 0, 0]))),
    "ipv6_fragment_nonfirst": eth(ALL_NODES, CLIENT, 0x86DD,
                                  ipv6(44, bytes([17, 0]) + struct.pack("!H", 185 << 3)
                                       + b"\xde\xad\xbe\xef" + bytes(24))),
    "stp_bpdu": eth(bytes.fromhex("0180c2000000"), CLIENT, 0x0026,
                    bytes([0x42, 0x42, 0x03]) + bytes(35)),
    "ipv4_fragment": eth(GATEWAY, CLIENT, 0x0800, ipv4(17, bytes(40), flags_fragment=0x2001)),
    "ipv6_esp": eth(ALL_NODES, CLIENT, 0x86DD, ipv6(50, bytes(32))),
}


def write(directory, name, data):
    path = HERE / "corpus" / directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main():
    # frame_filter: control byte 0x0a = client, MTU 1380, sender MAC = frame source;
    # 0x03 = gateway, MTU 1380.
    for name, frame in FRAMES.items():
        write("frame_filter", name, bytes([0x0A]) + frame)
    write("frame_filter", "gateway_dhcp_offer", bytes([0x03]) + FRAMES["dhcp_offer"])

    def overlay(kind, peer_id, body=b"", version=1):
        return struct.pack("!BBH", version, kind, peer_id) + body

    seeds = {
        "ethernet_dhcp_offer": overlay(1, 2, FRAMES["dhcp_offer"]),
        "ethernet_router_advertisement": overlay(1, 7, FRAMES["router_advertisement"]),
        "ethernet_arp": overlay(1, 1, FRAMES["arp_request"]),
        "ethernet_tagged_arp": overlay(1, 65535, FRAMES["tagged_arp"]),
        "probe": overlay(2, 3, struct.pack("!Q", 123456789) + bytes(1392)),
        "probe_reply": overlay(3, 0, struct.pack("!Q", 123456789)),
        "bad_version": overlay(1, 2, FRAMES["arp_request"], version=2),
        "bad_kind": overlay(9, 2),
        "short": bytes([1, 1, 0]),
    }
    for name, data in seeds.items():
        write("overlay_header", name, data)

    # coalesce: mode byte 0x01 + an offload seed (a kernel super-frame, cut into segments that
    # are offered in turn); 0x2b also damages byte 10 of segment 1. Mode 0x00: frames as
    # [length(2)][bytes], here the non-GSO kernel frames one after another.
    offload = sorted((HERE / "corpus" / "offload").iterdir())
    raw = b""
    for path in offload:
        data = path.read_bytes()
        if "_gso_" in path.name:
            write("coalesce", path.name, bytes([0x01]) + data)
            write("coalesce", path.name + "_damaged", bytes([0x2B]) + data)
        else:
            raw += struct.pack("!H", len(data) - 10) + data[10:]
    write("coalesce", "kernel_frames_raw", bytes([0x00]) + raw)


if __name__ == "__main__":
    main()
