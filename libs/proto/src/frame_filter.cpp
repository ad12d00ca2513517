// SPDX-License-Identifier: MIT
// PROTOCOL.md section 5 rules 1-3. Each check reads only bytes it has bounds-checked against
// the frame, because every byte here comes from the network.
#include "lanparty/proto/frame_filter.hpp"

#include <optional>

#include "lanparty/proto/ip.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::proto {
namespace {

constexpr std::size_t kFragmentHeader = 8;

constexpr std::uint16_t kDhcpv4ServerPort = 67;
constexpr std::uint16_t kDhcpv6ServerPort = 547;
constexpr std::uint8_t kIcmpv6RouterAdvertisement = 134;

// IEEE 802.1D reserved group addresses 01:80:c2:00:00:00..0f (STP, LACP, LLDP, 802.1X, ...):
// link-local to one bridge, never meant to cross it.
[[nodiscard]] constexpr bool is_bridge_reserved(const MacAddress& mac) noexcept {
  const auto& b = mac.bytes();
  return b[0] == 0x01 && b[1] == 0x80 && b[2] == 0xc2 && b[3] == 0x00 && b[4] == 0x00 &&
         b[5] <= 0x0f;
}

// Rule 2.
[[nodiscard]] constexpr bool is_switch_control(const EthernetView& eth) noexcept {
  return is_bridge_reserved(eth.destination) || eth.outer_ethertype == kEtherTypeSlowProtocols ||
         eth.ethertype == kEtherTypeSlowProtocols;
}

// DHCPv4 server traffic; see frame_filter.hpp for why malformed headers forward.
[[nodiscard]] constexpr bool is_dhcpv4_server(std::span<const std::uint8_t> ip) noexcept {
  if (ip.size() < kIpv4MinHeader) return false;
  const std::size_t header_bytes = std::size_t{ip[0] & 0x0fU} * 4;
  if (header_bytes < kIpv4MinHeader || ip[9] != kIpProtoUdp) return false;
  // Only a first (or unfragmented) packet carries the UDP header.
  if ((load_be16(ip, 6) & 0x1fffU) != 0) return false;
  if (ip.size() < header_bytes || ip.size() - header_bytes < kUdpHeader) return false;
  return load_be16(ip, header_bytes) == kDhcpv4ServerPort;
}

// What the IPv6 walk concluded. kForward covers every case the rules let through without a
// closer look (No Next Header, non-first fragment, other upper layers, clean UDP/ICMPv6).
enum class Ipv6Verdict : std::uint8_t {
  kForward,
  kDhcpServer,
  kRouterAdvertisement,
  kUninspectable
};

[[nodiscard]] constexpr Ipv6Verdict inspect_ipv6(std::span<const std::uint8_t> ip) noexcept {
  if (ip.size() < kIpv6Header) return Ipv6Verdict::kUninspectable;
  std::uint8_t next = ip[6];
  std::size_t at = kIpv6Header;
  std::size_t extension_headers = 0;
  for (;;) {
    const std::size_t left = ip.size() - at;
    switch (next) {
      case kIpProtoHopByHop:
      case kIpProtoRouting:
      case kIpProtoDestOptions:
      case kIpProtoAh:
      case kIpProtoFragment: {
        if (++extension_headers > kMaxIpv6ExtensionHeaders) return Ipv6Verdict::kUninspectable;
        std::size_t length = kFragmentHeader;
        if (next != kIpProtoFragment) {
          if (left < 2) return Ipv6Verdict::kUninspectable;
          // RFC 8200 section 4.3 units of 8 octets, not counting the first 8; AH (RFC 4302
          // section 2.2) counts 4-octet words minus 2.
          length = next == kIpProtoAh ? (std::size_t{ip[at + 1]} + 2) * 4
                                      : (std::size_t{ip[at + 1]} + 1) * 8;
        }
        if (left < length) return Ipv6Verdict::kUninspectable;
        // A non-first fragment has no upper-layer header to inspect (RFC 7113 section 3).
        if (next == kIpProtoFragment && (load_be16(ip, at + 2) & 0xfff8U) != 0) {
          return Ipv6Verdict::kForward;
        }
        next = ip[at];
        at += length;
        break;
      }
      case kIpProtoNoNextHeader:
        return Ipv6Verdict::kForward;
      case kIpProtoEsp:
        // Encrypted: whatever follows cannot be seen.
        return Ipv6Verdict::kUninspectable;
      case kIpProtoUdp:
        if (left < kUdpHeader) return Ipv6Verdict::kUninspectable;
        return load_be16(ip, at) == kDhcpv6ServerPort ? Ipv6Verdict::kDhcpServer
                                                      : Ipv6Verdict::kForward;
      case kIpProtoIcmpv6:
        if (left < 1) return Ipv6Verdict::kUninspectable;
        return ip[at] == kIcmpv6RouterAdvertisement ? Ipv6Verdict::kRouterAdvertisement
                                                    : Ipv6Verdict::kForward;
      default:
        return Ipv6Verdict::kForward;
    }
  }
}

// Rule 3, after the source check. At most one of these applies to a frame (they need
// different EtherTypes), so their listed order matters only against kSpoofedSource.
[[nodiscard]] constexpr std::optional<DropReason> client_rule(const EthernetView& eth) noexcept {
  switch (eth.ethertype) {
    case kEtherTypeIpv4:
      if (is_dhcpv4_server(eth.payload)) return DropReason::kDhcpServer;
      return std::nullopt;
    case kEtherTypeIpv6:
      switch (inspect_ipv6(eth.payload)) {
        case Ipv6Verdict::kForward:
          return std::nullopt;
        case Ipv6Verdict::kDhcpServer:
          return DropReason::kDhcpServer;
        case Ipv6Verdict::kRouterAdvertisement:
          return DropReason::kRouterAdvertisement;
        case Ipv6Verdict::kUninspectable:
          return DropReason::kIpv6Uninspectable;
      }
      return std::nullopt;
    case kEtherTypeQinQ:
    // An outer 0x8100 is always parsed as the tag, so 0x8100 here is a second tag.
    case kEtherTypeVlan:
      return DropReason::kStackedVlan;
    default:
      return std::nullopt;
  }
}

}  // namespace

tl::expected<EthernetView, DropReason> check_frame(std::span<const std::uint8_t> frame,
                                                   std::size_t room_mtu, SenderRole role,
                                                   const MacAddress& sender_mac) noexcept {
  auto eth = parse_ethernet(frame);
  if (!eth) return eth;
  // Subtract rather than add so a huge room_mtu cannot overflow.
  if (frame.size() - eth->header_size > room_mtu) return tl::unexpected(DropReason::kJumbo);
  if (is_switch_control(*eth)) return tl::unexpected(DropReason::kSwitchControl);
  if (role == SenderRole::kClient) {
    if (eth->source != sender_mac) return tl::unexpected(DropReason::kSpoofedSource);
    if (const auto reason = client_rule(*eth)) return tl::unexpected(*reason);
  }
  return eth;
}

}  // namespace lanparty::proto
