// SPDX-License-Identifier: MIT
// The stateless part of the relay's forwarding decision, PROTOCOL.md section 5 rules 1-3
// (size, switch control, client hygiene). Rules 4-7 need room state and live in the relay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tl/expected.hpp>

#include "lanparty/proto/drop_reason.hpp"
#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::proto {

enum class SenderRole : std::uint8_t { kClient, kGateway };

// At most this many IPv6 extension headers are walked; the next one makes the packet
// uninspectable (PROTOCOL.md section 5, "a ninth extension header").
inline constexpr std::size_t kMaxIpv6ExtensionHeaders = 8;

// Checks one Ethernet frame (the body of a kind-1 datagram) from an admitted peer of a room
// whose MTU is `room_mtu`. Returns the parsed frame when rules 1-3 let it through, or the
// first rule's reason:
//  1. kRunt: fewer than 14 bytes, or 18 with outer EtherType 0x8100.
//     kJumbo: longer than room_mtu + 14, or room_mtu + 18 with outer 0x8100.
//  2. kSwitchControl: destination 01:80:c2:00:00:00..0f, or EtherType 0x8808 outer or
//     behind one 0x8100 tag.
//  3. Only when `role` is kClient, in this order:
//     kSpoofedSource: source MAC != `sender_mac`;
//     kDhcpServer: IPv4 UDP from port 67 (fragment offset 0 only), or IPv6 UDP from port 547;
//     kRouterAdvertisement: ICMPv6 type 134;
//     kIpv6Uninspectable: the RA-Guard rules (RFC 7113), see below;
//     kStackedVlan: 0x88a8 outer or behind one 0x8100, or 0x8100 behind 0x8100.
//  IP checks look through at most one 0x8100 tag.
//
//  IPv6 walk: Hop-by-Hop (0), Routing (43) and Destination Options (60) are (n + 1) * 8
//  bytes, Authentication Header (51) (n + 2) * 4, Fragment (44) 8 bytes. A Fragment with a
//  non-zero offset, No Next Header (59) or any upper-layer protocol other than UDP/ICMPv6
//  ends the walk and forwards. Uninspectable: fewer than 40 bytes of IPv6 header, an
//  extension header that does not fit in the frame, a ninth extension header (counted before
//  it is read, so a ninth Fragment header drops even with a non-zero offset), ESP (50), UDP
//  with fewer than 8 bytes or ICMPv6 with 0 bytes left. The frame's end bounds the walk; the
//  IPv6 payload length field is ignored.
//
//  IPv4 (decision; PROTOCOL.md has no IPv4 reason for malformed headers): a packet is
//  inspected only if its whole header (IHL * 4 bytes, IHL >= 5) and the 8-byte UDP header
//  fit in the frame; otherwise it is forwarded. No receiver's stack delivers such a packet
//  as UDP, so it cannot act as a DHCP server reply, and dropping would need a reason the
//  protocol does not define. The version nibble is not checked: inspecting whatever it
//  says can only drop more, never let a server reply through.
//
// Pure: no allocation, reads only inside `frame`. The returned view aliases `frame`.
[[nodiscard]] tl::expected<EthernetView, DropReason> check_frame(
    std::span<const std::uint8_t> frame, std::size_t room_mtu, SenderRole role,
    const MacAddress& sender_mac) noexcept;

}  // namespace lanparty::proto
