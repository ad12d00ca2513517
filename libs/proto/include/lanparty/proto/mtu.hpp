// SPDX-License-Identifier: MIT
// Datagram budget and room MTU arithmetic (PROTOCOL.md sections 2 and 4), plus the QUIC
// packet overhead that turns a path MTU into a DATAGRAM payload budget.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::proto {

// Bytes a datagram carries on top of the room MTU (the Ethernet payload): the overlay header,
// the Ethernet header and ONE 802.1Q tag. One tag, because a single tag is the most a frame
// may carry through the relay (section 5 drops stacked tags from clients, and rule 1 allows
// exactly mtu + 18 with 0x8100); sizing for untagged frames would make tagged full-MTU frames
// jumbo.
inline constexpr std::size_t kFrameOverheadBytes =
    kOverlayHeaderSize + kEthernetHeaderSize + kVlanTagSize;
static_assert(kFrameOverheadBytes == 22, "PROTOCOL.md: max_datagram = mtu + 22");

// The smallest room MTU the relay accepts (section 4): the IPv4 minimum datagram size every
// host must accept (RFC 791).
inline constexpr std::size_t kMinRoomMtu = 576;
// --max-mtu default: 1380 + 22 = 1402-byte datagrams fit in a 1500-byte IPv4 path with room
// for QUIC's own overhead and a tunnel or PPPoE layer underneath.
inline constexpr std::size_t kDefaultMaxMtu = 1380;

// RFC 9221: max_datagram_frame_size counts the DATAGRAM frame's type and length, budgeted as
// 3 bytes (1 type + 2-byte length varint, enough for 65535).
inline constexpr std::uint64_t kDatagramFrameFraming = 3;

// A peer's budget (section 2): min(hello max_datagram, max_datagram_frame_size - 3); 0 when
// the transport parameter is below 3 (no usable datagrams).
[[nodiscard]] constexpr std::size_t peer_budget(std::uint64_t hello_max_datagram,
                                                std::uint64_t max_datagram_frame_size_tp) noexcept {
  if (max_datagram_frame_size_tp < kDatagramFrameFraming) return 0;
  return static_cast<std::size_t>(
      std::min(hello_max_datagram, max_datagram_frame_size_tp - kDatagramFrameFraming));
}

// The room MTU a first peer with `budget` creates (section 4): min(max_mtu, budget - 22); 0
// when the budget cannot carry even the headers. The caller compares with kMinRoomMtu.
[[nodiscard]] constexpr std::size_t room_mtu_for_budget(std::size_t budget,
                                                        std::size_t max_mtu) noexcept {
  if (budget < kFrameOverheadBytes) return 0;
  return std::min(max_mtu, budget - kFrameOverheadBytes);
}

// `welcome.max_datagram`: the largest datagram carrying a full-MTU tagged frame.
[[nodiscard]] constexpr std::size_t max_datagram_for_mtu(std::size_t mtu) noexcept {
  return mtu + kFrameOverheadBytes;
}

enum class IpFamily : std::uint8_t { kIpv4, kIpv6 };

// The largest DATAGRAM payload one 1-RTT (short header) packet can carry on a path whose IP
// MTU is `path_mtu`: minus the IP header (20 IPv4 without options, 40 IPv6), UDP 8, the short
// header (1 flags + dcid_length + 4, the longest packet number encoding), the 16-byte AEAD
// tag, the DATAGRAM type byte and the length varint. 0 when nothing fits.
//
// Why the worst case: ngtcp2 0.12.1 encodes the packet number in as few bytes as its
// unacknowledged window allows, so early in a connection it fits more (measured: an 8-byte
// CID and a 1472-byte UDP payload carry at most 1443 DATAGRAM bytes, 29 bytes of overhead;
// this function says 1440). A budget that holds only while few packets are in flight would
// make full-MTU frames fail later, so we reserve the 4-byte form and never exceed ngtcp2.
[[nodiscard]] constexpr std::size_t quic_datagram_budget(std::size_t path_mtu, IpFamily family,
                                                         std::size_t dcid_length) noexcept {
  constexpr std::size_t kUdpHeader = 8;
  constexpr std::size_t kShortHeaderFixed = 1 + 4;  // flags + longest packet number
  constexpr std::size_t kAeadTag = 16;
  constexpr std::size_t kFrameType = 1;
  const std::size_t ip_header = family == IpFamily::kIpv4 ? 20 : 40;
  const std::size_t overhead =
      ip_header + kUdpHeader + kShortHeaderFixed + dcid_length + kAeadTag + kFrameType;
  if (path_mtu <= overhead) return 0;
  const std::size_t room = path_mtu - overhead;  // payload + its length varint
  // Largest p with p + varint_size(p) <= room: for each varint size, the longest payload it
  // can encode that still fits.
  std::size_t best = 0;
  for (const std::size_t len : {std::size_t{1}, std::size_t{2}, std::size_t{4}}) {
    if (room < len) break;
    const std::size_t largest_encodable = (std::size_t{1} << (8 * len - 2)) - 1;
    best = std::max(best, std::min(room - len, largest_encodable));
  }
  return best;
}

}  // namespace lanparty::proto
