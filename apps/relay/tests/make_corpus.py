#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus tests/corpus/relay/ for fuzz/relay_fuzz.cpp: operation sequences that
# reach each relay state (admitted in open and claimed rooms, the path MTU wait, hellos and
# owner messages waiting on deferred room records, rejects, kicks, revokes, shutdown), so
# fuzzing starts deep. The encodings mirror Op and Template in relay_fuzz.cpp.
# Run from anywhere: python3 apps/relay/tests/make_corpus.py
import json
import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "relay"

# Op
OPEN, HANDSHAKE, STREAM_RAW, STREAM_TEMPLATE, DATAGRAM_RAW, DATAGRAM_FRAME, PEER_CLOSE, \
    SET_BUDGET, ADVANCE, COMPLETE_RECORDS, RUN_RECORD_CALLS, FAIL_RECORD_CALL, SHUTDOWN, \
    DELIVER_CLOSES, BLOCK_STREAM, JUMP_CLOCK, CLUSTER = range(17)
# ClusterOp (after CLUSTER, with one argument byte)
OTHER_HOME, OTHER_REGISTER, OTHER_UNREGISTER, OTHER_RELEASE, IMPOSTOR_REGISTER, STORE_CLOCK, \
    REFUSE_CALLS = range(7)
# Template
CLIENT_HELLO, GATEWAY_HELLO, CLAIM_HELLO, CLAIM_OTHER_SLOT, INVITED_HELLO, DISCONNECT, KICK, \
    REVOKE, UNKNOWN_TYPE, MALFORMED_HELLO, INVALID_HELLO, RELAY_ONLY = range(12)
# Config byte 0: room mode in bits 0-1, deferred records in bit 2.
OPEN_MODE, CLAIMED, OWNERS = 0, 1, 2
DEFERRED = 4
# Config byte 1: 0x80 (with 0x40 clear) makes a claimed or owners relay one of a cluster; a
# third config byte follows: homing times in bits 0-1, 0x04 the other relay starts unregistered.
CLUSTER_RELAY = 0x80
TIMES_DEFAULT, TIMES_SHORT, TIMES_SHORT_LEASE = 0, 1, 2
OTHER_DOWN = 0x04
# Indexes into relay_fuzz.cpp's tables.
BUDGET_1402, BUDGET_1200 = 0, 1
STEP_20MS, STEP_100MS, STEP_1S, STEP_5S, STEP_10S = 1, 2, 3, 4, 5
WHOLE = 0  # split byte: deliver the frame in one piece


def config(byte0=0, byte1=0):
    return bytes([byte0, byte1])


def open_conn(slot, remote=0, frame_size=0, budget=BUDGET_1402, flags=0):
    return bytes([OPEN, slot, remote, frame_size, budget, flags])


def client_hello(slot, room=0, mac=0, max_datagram=0):
    return bytes([STREAM_TEMPLATE, slot, CLIENT_HELLO, room, mac, max_datagram, WHOLE])


def gateway_hello(slot, room=0, mac=3, max_datagram=0):
    return bytes([STREAM_TEMPLATE, slot, GATEWAY_HELLO, room, mac, max_datagram, WHOLE])


def claim_hello(slot, key=0, room=0, mac=3, max_datagram=0, split=WHOLE):
    return bytes([STREAM_TEMPLATE, slot, CLAIM_HELLO, key, room, mac, max_datagram, split])


def invited_hello(slot, key=0, room=0, mac=0, invite=0):
    # invite: id in invite % 3, lifetime (0: an hour) in (invite >> 2) % 4, 0x40 named,
    # 0x80 the token names another room.
    return bytes([STREAM_TEMPLATE, slot, INVITED_HELLO, key, room, mac, 0, invite, WHOLE])


def template(slot, kind, *args):
    return bytes([STREAM_TEMPLATE, slot, kind, *args, WHOLE])


def kick(slot, target_slot, reason=1):
    return template(slot, KICK, target_slot, reason)


def revoke(slot, invite_id=0, exp=0):
    return template(slot, REVOKE, invite_id, exp)


def frame(slot, kind=0, destination=0, length=0):
    # kind 0: Ethernet, 2: probe; destination 0 broadcast, 1 | (slot << 2) that slot's MAC.
    return bytes([DATAGRAM_FRAME, slot, kind, 0, destination, length])


def raw_frames(slot, *messages):
    body = b"".join(struct.pack("!I", len(m)) + m for m in
                    (json.dumps(m, separators=(",", ":")).encode() for m in messages))
    return bytes([STREAM_RAW, slot, 0, len(body)]) + body


def op(*codes):
    return bytes(codes)


def cluster_config(byte0=CLAIMED | DEFERRED, byte1=0, byte2=TIMES_DEFAULT):
    return bytes([byte0, byte1 | CLUSTER_RELAY, byte2])


def cluster(kind, arg=0):
    return bytes([CLUSTER, kind, arg])


def complete(times=1):
    # One completion (its call run first if not run yet) per COMPLETE_RECORDS 0.
    return op(*([COMPLETE_RECORDS, 0] * times))


def hello_json(role="client", room="ROOM1", mac="02:5a:11:22:33:01", max_datagram=1402):
    return {"type": "hello", "protocol": 1, "role": role, "room": room, "mac": mac,
            "max_datagram": max_datagram}


SEEDS = {
    # Open rooms: two clients and a gateway forward, probe, get stats, leave.
    "open_party": config(OPEN_MODE)
    + open_conn(0) + client_hello(0, mac=0)
    + open_conn(1, remote=2) + client_hello(1, mac=1)
    + open_conn(2, remote=3) + gateway_hello(2, mac=3)
    + frame(0) + frame(1, destination=1 | (0 << 2)) + frame(2, kind=2)
    + frame(0, destination=2, length=2)
    + op(ADVANCE, STEP_10S)
    + template(0, DISCONNECT) + template(0, UNKNOWN_TYPE) + op(PEER_CLOSE, 0, 0)
    + op(PEER_CLOSE, 1, 3) + op(DELIVER_CLOSES),
    # A hello and frames behind it in one delivery (raw bytes), then a second hello.
    "open_frames_behind_hello": config(OPEN_MODE)
    + open_conn(0)
    + raw_frames(0, hello_json(), {"type": "disconnect", "reason": "x"}, {"type": "emote"})
    + template(0, CLIENT_HELLO, 0, 0, 0),
    # Stream data before the handshake waits for it.
    "open_data_before_handshake": config(OPEN_MODE)
    + open_conn(0, flags=0x40) + client_hello(0) + op(HANDSHAKE, 0) + frame(0),
    # The path MTU wait: the budget grows after the hello, or never (welcome at the deadline).
    "path_mtu_wait": config(OPEN_MODE)
    + open_conn(0, budget=BUDGET_1200) + client_hello(0)
    + op(ADVANCE, STEP_20MS, SET_BUDGET, 0, BUDGET_1402, ADVANCE, STEP_20MS)
    + open_conn(1, budget=BUDGET_1200) + client_hello(1, mac=1)
    + template(1, DISCONNECT) + op(ADVANCE, STEP_1S, ADVANCE, STEP_1S),
    # Rejects: invalid and malformed hellos, a first frame that is not hello, a hello timeout,
    # a flood of control bytes (small control budget), duplicate MAC, mtu too small.
    "rejects": config(OPEN_MODE, 0x20)
    + open_conn(0) + template(0, INVALID_HELLO, 0)
    + open_conn(1) + template(1, MALFORMED_HELLO)
    + open_conn(2) + template(2, DISCONNECT)
    + open_conn(3) + template(3, RELAY_ONLY)
    + open_conn(4) + client_hello(4, mac=0) + open_conn(5) + client_hello(5, mac=0)
    + open_conn(6) + client_hello(6, mac=1, max_datagram=2)
    + open_conn(7) + bytes([STREAM_RAW, 7, 0, 255]) + struct.pack("!I", 12288) + b"a" * 251
    + (bytes([STREAM_RAW, 7, 0, 255]) + b"a" * 255) * 2
    + op(ADVANCE, STEP_1S, ADVANCE, STEP_5S, ADVANCE, STEP_1S),
    # Rooms full, relay full, rooms per source.
    "limits": config(OPEN_MODE | (1 << 5) | 0x80, 0x04)
    + open_conn(0) + client_hello(0, mac=0) + open_conn(1) + client_hello(1, mac=1)
    + open_conn(2) + client_hello(2, mac=2) + open_conn(3) + client_hello(3, room=1, mac=0),
    # A peer that does not read its control stream is closed when the relay must write to it.
    "unread_control": config(OPEN_MODE)
    + open_conn(0) + client_hello(0, mac=0) + op(BLOCK_STREAM, 0)
    + open_conn(1) + client_hello(1, mac=1) + op(ADVANCE, STEP_20MS, DELIVER_CLOSES),
    # Shutdown with an admitted peer, one waiting for its path, and a late handshake.
    "shutdown": config(OPEN_MODE)
    + open_conn(0) + client_hello(0, mac=0)
    + open_conn(1, budget=BUDGET_1200) + client_hello(1, mac=1)
    + open_conn(2, flags=0x40)
    + op(SHUTDOWN, HANDSHAKE, 2, ADVANCE, STEP_100MS, ADVANCE, STEP_1S),
    # Claimed rooms, records inline: a gateway claims, an invited client joins, frames flow,
    # the owner kicks one client, revokes another's invite, the gateway leaves and returns.
    "claimed_inline": config(CLAIMED)
    + open_conn(0) + claim_hello(0)
    + open_conn(1, remote=2) + invited_hello(1, invite=0)
    + open_conn(2, remote=3) + invited_hello(2, mac=1, invite=0x41)
    + frame(1) + frame(0, destination=1 | (1 << 2))
    + kick(0, 1) + revoke(0, invite_id=1, exp=1) + revoke(0, invite_id=3)
    + op(DELIVER_CLOSES, ADVANCE, STEP_1S)
    + op(PEER_CLOSE, 0, 0) + open_conn(3) + claim_hello(3) + kick(3, 200),
    # Claimed rooms, records deferred (Redis): hellos and owner messages wait for answers,
    # with frames behind the waiting hello (today's crash: it must stay buffered).
    "claimed_deferred": config(CLAIMED | DEFERRED)
    + open_conn(0) + claim_hello(0) + template(0, DISCONNECT)
    + op(COMPLETE_RECORDS, 0, COMPLETE_RECORDS, 0)
    + open_conn(1, remote=2) + invited_hello(1, invite=0) + kick(1, 0)
    + op(RUN_RECORD_CALLS, COMPLETE_RECORDS, 3)
    + open_conn(2, remote=3) + invited_hello(2, mac=1, invite=1) + op(COMPLETE_RECORDS, 0)
    + revoke(0, invite_id=1) + op(COMPLETE_RECORDS, 0) + kick(0, 1)
    + op(DELIVER_CLOSES, ADVANCE, STEP_1S),
    # Deferred: a claim waits while the room fills and empties around it, a record call fails,
    # the connection closes while its claim is written.
    "claimed_deferred_pending": config(CLAIMED | DEFERRED)
    + open_conn(0) + claim_hello(0) + op(COMPLETE_RECORDS, 0)
    + open_conn(1) + invited_hello(1, invite=0) + op(COMPLETE_RECORDS, 0)
    + op(PEER_CLOSE, 0, 0)
    + open_conn(2) + claim_hello(2) + op(COMPLETE_RECORDS, 0)
    + op(PEER_CLOSE, 2, 1)
    + open_conn(3) + claim_hello(3) + op(FAIL_RECORD_CALL, COMPLETE_RECORDS, 0)
    + open_conn(4) + claim_hello(4) + op(COMPLETE_RECORDS, 0, SHUTDOWN, COMPLETE_RECORDS, 3),
    # Section 7 rejects: no claim, another key, a proof for another connection, a bad invite,
    # an expired one, a room's third record (kFull), a failed exporter.
    "claimed_rejects": config(CLAIMED)
    + open_conn(0) + gateway_hello(0)
    + open_conn(1) + claim_hello(1)
    + open_conn(2) + claim_hello(2, key=1, mac=4)
    + open_conn(3) + template(3, CLAIM_OTHER_SLOT, 0, 1, 3, 0)
    + open_conn(4) + invited_hello(4, key=1, invite=0)
    + open_conn(5) + invited_hello(5, invite=0x80) + open_conn(6) + invited_hello(6, invite=4)
    + open_conn(7, flags=0x0f) + claim_hello(7, room=1),
    # Owners mode: only key 0 may claim.
    "owners": config(OWNERS)
    + open_conn(0) + claim_hello(0, key=1) + open_conn(1) + claim_hello(1, room=2)
    + open_conn(2) + claim_hello(2, room=1) + open_conn(3) + claim_hello(3, room=0),
    # A forgotten record: the wall clock jumps past the room TTL, another key claims the room
    # and the clients invited under the old key are kicked (owner changed).
    "owner_changed": config(CLAIMED)
    + open_conn(0) + claim_hello(0) + open_conn(1) + invited_hello(1, invite=0x40)
    + op(PEER_CLOSE, 0, 0, JUMP_CLOCK)
    + open_conn(2) + claim_hello(2, key=1) + op(DELIVER_CLOSES, ADVANCE, STEP_10S),
    # A relay of a cluster: the first hello homes its room here, the other relay holds
    # lan-party (a redirect to it), a client joins the homed room without asking again.
    "cluster_home_and_redirect": cluster_config()
    + op(ADVANCE, STEP_20MS) + complete()
    + cluster(OTHER_HOME, 1 | (2 << 2))
    + open_conn(0) + claim_hello(0) + complete(3)
    + open_conn(1, remote=2) + invited_hello(1, invite=0) + complete()
    + open_conn(2, remote=3) + claim_hello(2, room=1) + complete(2)
    + frame(1) + op(ADVANCE, STEP_1S, RUN_RECORD_CALLS) + complete(2),
    # The room moves while a gateway's claim is being written (725e3c3): a client holds the
    # room, its returning gateway's claim waits behind a lease refresh; the relay's lease and
    # registration run out, the other relay takes the room, the refresh reports it lost, and
    # both the client and the claiming gateway are closed.
    "cluster_room_moved_during_claim": cluster_config()
    + op(ADVANCE, STEP_20MS) + complete()
    + open_conn(0) + claim_hello(0) + complete(3)
    + open_conn(1, remote=2) + invited_hello(1, invite=0) + complete()
    + op(PEER_CLOSE, 0, 0)
    + open_conn(2) + claim_hello(2)
    + op(ADVANCE, STEP_5S) + complete()
    + cluster(STORE_CLOCK, 3) + cluster(OTHER_HOME, 0 | (2 << 2))
    + op(RUN_RECORD_CALLS) + complete(8) + op(DELIVER_CLOSES, ADVANCE, STEP_1S),
    # Short leases: rooms empty and are released, one is homed again, the other relay comes
    # and goes, then shutdown unregisters with a call still queued.
    "cluster_release_and_shutdown": cluster_config(byte2=TIMES_SHORT | OTHER_DOWN)
    + op(ADVANCE, STEP_100MS) + complete(2)
    + open_conn(0) + claim_hello(0) + complete(3)
    + open_conn(1) + claim_hello(1, room=2, mac=4) + complete(3)
    + op(PEER_CLOSE, 1, 0, ADVANCE, STEP_1S) + complete(6)
    + cluster(OTHER_REGISTER, 1) + cluster(OTHER_HOME, 2) + cluster(OTHER_UNREGISTER)
    + open_conn(3) + claim_hello(3, room=2, mac=4) + complete(3)
    + open_conn(4) + claim_hello(4, room=1, mac=1)
    + op(SHUTDOWN) + complete(8) + op(DELIVER_CLOSES, ADVANCE, STEP_1S),
    # An overloaded worker answers at once, another process registers this relay's id, the
    # other relay registers a bad address and holds a room (relay_full, not a redirect).
    "cluster_overload_impostor_bad_address": cluster_config(byte2=TIMES_SHORT_LEASE)
    + cluster(REFUSE_CALLS, 0) + op(ADVANCE, STEP_1S) + complete(2)
    + cluster(STORE_CLOCK, 2) + cluster(IMPOSTOR_REGISTER, 2)
    + op(ADVANCE, STEP_1S, RUN_RECORD_CALLS) + complete(4)
    + cluster(OTHER_REGISTER, 2 | (2 << 2)) + cluster(OTHER_HOME, 1 | (2 << 2))
    + open_conn(0) + claim_hello(0, room=1) + complete(2)
    + open_conn(1) + claim_hello(1) + cluster(REFUSE_CALLS, 0) + complete()
    + op(FAIL_RECORD_CALL) + complete(2),
    # A room empties while a second join's home call is in flight: the release the last leave
    # queued must not run after that home call re-took the lease for the joining client (the
    # room would live here without a lease, free for another relay to home too).
    "cluster_release_races_join": cluster_config()
    + op(ADVANCE, STEP_20MS) + complete()
    + open_conn(0) + claim_hello(0) + complete(3) + op(PEER_CLOSE, 0, 0) + complete(2)
    + open_conn(1, remote=2) + invited_hello(1, invite=0)
    + open_conn(2, remote=3) + invited_hello(2, mac=1, invite=0)
    + complete(3) + op(PEER_CLOSE, 1, 0) + complete(2) + frame(2),
    # Found by this fuzzer (minimized): records deferred, a client is welcomed into a room whose
    # new gateway's claim is still being written; the client leaves. The pending gateway must
    # hear nothing (no peer_left, peer_joined or frame) before its welcome.
    "pending_gateway_hears_nothing": bytes.fromhex(
        "0500000000000000030002000000002009000001000000000301040000000000"
        "00060000000400000000030402000003000b090909"),
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    # Only the seeds written here: inputs the fuzzer found are kept under their own names.
    for old in OUT.glob("*.bin"):
        old.unlink()
    for name, data in SEEDS.items():
        (OUT / f"{name}.bin").write_bytes(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
