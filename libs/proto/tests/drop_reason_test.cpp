// SPDX-License-Identifier: MIT
// Drop reason names are wire-visible (`stats` keys): they must match PROTOCOL.md exactly.
#include "lanparty/proto/drop_reason.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace lanparty::proto {
namespace {

TEST(DropReason, NamesMatchProtocolDocument) {
  const std::pair<DropReason, std::string_view> kExpected[] = {
      {DropReason::kBadHeader, "bad_header"},
      {DropReason::kBadVersion, "bad_version"},
      {DropReason::kBadKind, "bad_kind"},
      {DropReason::kBadPeerId, "bad_peer_id"},
      {DropReason::kNotAdmitted, "not_admitted"},
      {DropReason::kRunt, "runt"},
      {DropReason::kJumbo, "jumbo"},
      {DropReason::kSwitchControl, "switch_control"},
      {DropReason::kSpoofedSource, "spoofed_source"},
      {DropReason::kDhcpServer, "dhcp_server"},
      {DropReason::kRouterAdvertisement, "router_advertisement"},
      {DropReason::kIpv6Uninspectable, "ipv6_uninspectable"},
      {DropReason::kStackedVlan, "stacked_vlan"},
      {DropReason::kLoopSource, "loop_source"},
      {DropReason::kReflection, "reflection"},
      {DropReason::kNoGateway, "no_gateway"},
      {DropReason::kUnknownDestination, "unknown_destination"},
      {DropReason::kQueueFull, "queue_full"},
      {DropReason::kRateLimited, "rate_limited"},
  };
  ASSERT_EQ(std::size(kExpected), kDropReasonCount);
  for (const auto& [reason, name] : kExpected) EXPECT_EQ(to_string(reason), name);
}

TEST(DropReason, EveryReasonHasADistinctName) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    const auto name = to_string(static_cast<DropReason>(i));
    EXPECT_NE(name, "unknown") << "reason " << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kDropReasonCount);
}

TEST(DropReason, ParseInvertsToString) {
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    const auto reason = static_cast<DropReason>(i);
    EXPECT_EQ(parse_drop_reason(to_string(reason)), reason) << to_string(reason);
  }
}

TEST(DropReason, ParseRejectsUnknownAndNearMissNames) {
  for (std::string_view name :
       {"", "unknown", "RUNT", "runt ", " runt", "bad-header", "queue_full\n", "count"}) {
    EXPECT_EQ(parse_drop_reason(name), std::nullopt) << '"' << name << '"';
  }
}

TEST(DropReason, CountIsNotAReason) {
  EXPECT_EQ(to_string(DropReason::kCount), "unknown");
  EXPECT_EQ(kDropReasonCount, 19U);
}

}  // namespace
}  // namespace lanparty::proto
