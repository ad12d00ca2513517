// SPDX-License-Identifier: MIT
// Ethernet II header parsing, looking through at most one 802.1Q tag (PROTOCOL.md section 3,
// kind 1 body: destination MAC, source MAC, optional 0x8100 tag, EtherType, payload).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tl/expected.hpp>

#include "lanparty/proto/drop_reason.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::proto {

inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q C-tag: the only tag we parse
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;  // 802.1ad S-tag: an ordinary type here
inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kEtherTypeSlowProtocols = 0x8808;      // LACP, 802.3x pause, OAM
inline constexpr std::uint16_t kEtherTypeLocalExperimental = 0x88b5;  // gateway CAM refresh

// Untagged: dst(6) src(6) type(2). Tagged: dst(6) src(6) 0x8100(2) TCI(2) type(2).
inline constexpr std::size_t kEthernetHeaderSize = 14;
inline constexpr std::size_t kVlanTagSize = 4;

// A parsed frame. `payload` aliases the caller's buffer: valid only as long as it is.
struct EthernetView {
  MacAddress destination;
  MacAddress source;
  std::uint16_t outer_ethertype;  // bytes 12-13, 0x8100 when tagged
  bool tagged;                    // outer_ethertype == kEtherTypeVlan
  std::uint16_t ethertype;        // after one 0x8100 tag when tagged, else == outer_ethertype
  std::size_t header_size;        // 14, or 18 when tagged
  std::span<const std::uint8_t> payload;  // everything after header_size
};

// kRunt for fewer than 14 bytes, or fewer than 18 when the outer EtherType is 0x8100. No
// other check: a second tag, or 0x88a8, is just the `ethertype` (policy is check_frame's).
[[nodiscard]] tl::expected<EthernetView, DropReason> parse_ethernet(
    std::span<const std::uint8_t> frame) noexcept;

}  // namespace lanparty::proto
