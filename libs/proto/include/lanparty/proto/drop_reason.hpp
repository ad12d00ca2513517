// SPDX-License-Identifier: MIT
// Why a datagram or frame was dropped: one enumerator per PROTOCOL.md reason name, so every
// drop has a stable label for counters, `stats` messages and logs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lanparty::proto {

// The order is part of no wire format (only the names travel), but counters index arrays by
// it, so append new reasons before kCount.
enum class DropReason : std::uint8_t {
  kBadHeader,            // datagram shorter than the 4-byte overlay header (section 3)
  kBadVersion,           // overlay version is not 1
  kBadKind,              // kind not allowed in this direction
  kBadPeerId,            // header peer id differs from the sender's own id
  kNotAdmitted,          // datagram arrived before `welcome`
  kRunt,                 // Ethernet frame shorter than its header (section 5 rule 1)
  kJumbo,                // Ethernet frame longer than the room MTU allows
  kSwitchControl,        // 01:80:c2:00:00:0x destination or Slow Protocols EtherType
  kSpoofedSource,        // client's source MAC differs from its hello MAC
  kDhcpServer,           // client sends DHCPv4/DHCPv6 server traffic
  kRouterAdvertisement,  // client sends ICMPv6 Router Advertisement
  kIpv6Uninspectable,    // client IPv6 header chain cannot be followed (RA-Guard, RFC 7113)
  kStackedVlan,          // client sends 802.1ad or double 802.1Q tags
  kLoopSource,           // gateway sends a frame whose source is a client of the room
  kReflection,           // destination is the sender itself
  kNoGateway,            // client unicast to an unknown MAC and the room has no gateway
  kUnknownDestination,   // gateway unicast to a MAC that is not in the room
  kQueueFull,            // frame to a peer could not be queued
  kRateLimited,          // the sender passed its --peer-rate or --peer-broadcast-rate
  kCount,                // not a reason: the number of reasons
};

inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::kCount);

// The PROTOCOL.md name ("bad_header", ...); "unknown" for kCount or an out-of-range value.
[[nodiscard]] constexpr std::string_view to_string(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::kBadHeader:
      return "bad_header";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kBadKind:
      return "bad_kind";
    case DropReason::kBadPeerId:
      return "bad_peer_id";
    case DropReason::kNotAdmitted:
      return "not_admitted";
    case DropReason::kRunt:
      return "runt";
    case DropReason::kJumbo:
      return "jumbo";
    case DropReason::kSwitchControl:
      return "switch_control";
    case DropReason::kSpoofedSource:
      return "spoofed_source";
    case DropReason::kDhcpServer:
      return "dhcp_server";
    case DropReason::kRouterAdvertisement:
      return "router_advertisement";
    case DropReason::kIpv6Uninspectable:
      return "ipv6_uninspectable";
    case DropReason::kStackedVlan:
      return "stacked_vlan";
    case DropReason::kLoopSource:
      return "loop_source";
    case DropReason::kReflection:
      return "reflection";
    case DropReason::kNoGateway:
      return "no_gateway";
    case DropReason::kUnknownDestination:
      return "unknown_destination";
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kRateLimited:
      return "rate_limited";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

// Inverse of to_string for the PROTOCOL.md names; nullopt for anything else (exact match,
// case-sensitive), so a peer's `stats` keys can be checked against the known set.
[[nodiscard]] constexpr std::optional<DropReason> parse_drop_reason(
    std::string_view name) noexcept {
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    const auto reason = static_cast<DropReason>(i);
    if (to_string(reason) == name) return reason;
  }
  return std::nullopt;
}

}  // namespace lanparty::proto
