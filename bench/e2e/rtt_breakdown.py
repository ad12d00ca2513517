# SPDX-License-Identifier: MIT
"""Per-hop times of pings through the party, from rtt_breakdown.sh's tcpdump text.

Usage: rtt_breakdown.py DIR RELAY_IP GATEWAY_IP CLIENT_IP LANHOST_IP
DIR holds cap-{c1,relay,gw,lanhost}.txt (tcpdump -r -n -tt of `-i any` captures).
"""
import re
import statistics
import sys

# QUIC packets carrying a ping's frame are ~140 bytes of UDP payload; ACK-only packets ~50.
MIN_FRAME_PACKET = 100

# Direction: In, Out, or P (a frame for another host, as the gateway's promiscuous LAN port
# sees replies to the clients).
LINE = re.compile(r"^(\d+\.\d+) (\S+)\s+(In|Out|P)\s+IP (\S+) > (\S+): (.*)$")


def load(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            t, ifname, direction, src, dst, rest = m.groups()
            events.append((float(t), ifname, direction, src, dst.rstrip(":"), rest))
    return events


def icmp(events, ifname, direction, kind, seq):
    for e in events:
        if e[1] == ifname and e[2] == direction and f"ICMP echo {kind}" in e[5] \
                and f"seq {seq}," in e[5]:
            return e[0]
    return None


def udp_after(events, t, direction, src_ip, dst_ip):
    """The first frame-sized QUIC packet src_ip -> dst_ip seen at or after t."""
    if t is None:
        return None
    for e in events:
        if e[0] < t or e[2] != direction or e[1] == "lo":
            continue
        if not e[3].startswith(src_ip + ".") or not e[4].startswith(dst_ip + "."):
            continue
        m = re.search(r"UDP, length (\d+)", e[5])
        if m and int(m.group(1)) >= MIN_FRAME_PACKET:
            return e[0]
    return None


def main():
    directory, relay, gateway, client, lanhost = sys.argv[1:6]
    cap = {role: load(f"{directory}/cap-{role}.txt") for role in ("c1", "relay", "gw", "lanhost")}
    seqs = sorted({int(m.group(1)) for e in cap["c1"] if e[1] == "lanparty0" and e[2] == "Out"
                   for m in [re.search(r"ICMP echo request, id \d+, seq (\d+),", e[5])] if m})
    stages = [
        ("client: TAP read -> QUIC out", "A", "B"),
        ("wire client -> relay", "B", "C"),
        ("relay: in -> out to gateway", "C", "D"),
        ("wire relay -> gateway", "D", "E"),
        ("gateway: in -> LAN (+bridge)", "E", "F"),
        ("LAN host answers", "F", "G"),
        ("bridge -> gateway's socket", "G", "H"),
        ("gateway: LAN in -> QUIC out", "H", "I"),
        ("wire gateway -> relay", "I", "J"),
        ("relay: in -> out to client", "J", "K"),
        ("wire relay -> client", "K", "L"),
        ("client: QUIC in -> TAP write", "L", "M"),
        ("total (TAP out -> TAP in)", "A", "M"),
    ]
    samples = {name: [] for name, _, _ in stages}
    complete = 0
    for seq in seqs:
        p = {}
        p["A"] = icmp(cap["c1"], "lanparty0", "Out", "request", seq)
        p["B"] = udp_after(cap["c1"], p["A"], "Out", client, relay)
        p["C"] = udp_after(cap["relay"], p["B"], "In", client, relay)
        p["D"] = udp_after(cap["relay"], p["C"], "Out", relay, gateway)
        p["E"] = udp_after(cap["gw"], p["D"], "In", relay, gateway)
        p["F"] = icmp(cap["lanhost"], "eth0", "In", "request", seq)
        p["G"] = icmp(cap["lanhost"], "eth0", "Out", "reply", seq)
        p["H"] = icmp(cap["gw"], "lan0", "P", "reply", seq)
        p["I"] = udp_after(cap["gw"], p["H"], "Out", gateway, relay)
        p["J"] = udp_after(cap["relay"], p["I"], "In", gateway, relay)
        p["K"] = udp_after(cap["relay"], p["J"], "Out", relay, client)
        p["L"] = udp_after(cap["c1"], p["K"], "In", relay, client)
        p["M"] = icmp(cap["c1"], "lanparty0", "In", "reply", seq)
        if any(v is None for v in p.values()):
            continue
        times = [p[k] for k in "ABCDEFGHIJKLM"]
        if times != sorted(times) or p["M"] - p["A"] > 0.05:
            continue  # matched the wrong packet (a keepalive, a retransmit): leave it out
        complete += 1
        for name, a, b in stages:
            samples[name].append((p[b] - p[a]) * 1e6)
    print(f"pings traced: {complete} of {len(seqs)}")
    print(f"{'stage':32} {'median us':>10} {'p10':>7} {'p90':>7}")
    for name, _, _ in stages:
        s = sorted(samples[name])
        if not s:
            continue
        p10 = s[len(s) // 10]
        p90 = s[(len(s) * 9) // 10]
        print(f"{name:32} {statistics.median(s):10.0f} {p10:7.0f} {p90:7.0f}")


if __name__ == "__main__":
    main()
