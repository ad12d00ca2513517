// SPDX-License-Identifier: MIT
// Ethernet II header parsing through at most one 802.1Q tag.
#include "lanparty/proto/ethernet.hpp"

#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::proto {

tl::expected<EthernetView, DropReason> parse_ethernet(
    std::span<const std::uint8_t> frame) noexcept {
  if (frame.size() < kEthernetHeaderSize) return tl::unexpected(DropReason::kRunt);
  const std::uint16_t outer = load_be16(frame, 12);
  const bool tagged = outer == kEtherTypeVlan;
  const std::size_t header_size = tagged ? kEthernetHeaderSize + kVlanTagSize : kEthernetHeaderSize;
  if (frame.size() < header_size) return tl::unexpected(DropReason::kRunt);
  return EthernetView{
      .destination = MacAddress::from_bytes(frame.first<MacAddress::kSize>()),
      .source = MacAddress::from_bytes(frame.subspan<MacAddress::kSize, MacAddress::kSize>()),
      .outer_ethertype = outer,
      .tagged = tagged,
      // The TCI (bytes 14-15) carries priority and VLAN id; nothing in section 5 uses it.
      .ethertype = tagged ? load_be16(frame, 16) : outer,
      .header_size = header_size,
      .payload = frame.subspan(header_size),
  };
}

}  // namespace lanparty::proto
