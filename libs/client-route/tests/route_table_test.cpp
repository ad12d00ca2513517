// SPDX-License-Identifier: MIT
// Best-route lookup and adapter resolution through the seam.
#include "lanparty/client_route/route_table.hpp"

#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"
#include "route_fixture.hpp"

namespace lanparty::client_route {
namespace {

using testing::FakeIpHelper;
using testing::ip;
using testing::prefix;

TEST(FindBestRoute, ReportsTheGatewayPathBeforeTheTapIsUp) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  auto route = find_best_route(fake, ip(testing::kRelay));
  ASSERT_TRUE(route) << route.error().describe();
  EXPECT_EQ(route->next_hop, ip("192.168.1.1"));
  EXPECT_EQ(route->source, ip("192.168.1.20"));
  EXPECT_EQ(route->luid, testing::kEthernetLuid);
  EXPECT_EQ(route->interface_index, testing::kEthernetIndex);
  EXPECT_EQ(route->destination_prefix, prefix("0.0.0.0/0"));
}

TEST(FindBestRoute, OnLinkDestinationsHaveAnUnspecifiedNextHop) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  auto route = find_best_route(fake, ip("192.168.1.50"));
  ASSERT_TRUE(route);
  EXPECT_TRUE(route->next_hop.is_unspecified());
  EXPECT_EQ(route->destination_prefix, prefix("192.168.1.0/24"));
}

TEST(FindBestRoute, AnswersIpv6WithIpv6) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  auto route = find_best_route(fake, ip(testing::kRelay6));
  ASSERT_TRUE(route);
  EXPECT_EQ(route->next_hop, ip("fe80::1"));
  EXPECT_EQ(route->source, ip("2001:db8:1::20"));
}

TEST(FindBestRoute, AddsTheDestinationToTheError) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  fake.fail_nth_call(1);
  auto route = find_best_route(fake, ip(testing::kRelay));
  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().code, std::errc::permission_denied);
  EXPECT_NE(route.error().context.find(testing::kRelay), std::string::npos);
}

TEST(FindBestRoute, NoRouteIsNotFound) {
  FakeIpHelper fake;  // no interfaces, no routes
  auto route = find_best_route(fake, ip(testing::kRelay));
  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().code, Errc::kNotFound);
}

TEST(ResolveAdapter, GivesLuidAndIndexOfTheTap) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  auto tap = resolve_adapter(fake, testing::guid(testing::kTapGuid));
  ASSERT_TRUE(tap) << tap.error().describe();
  EXPECT_EQ(tap->luid, testing::kTapLuid);
  EXPECT_EQ(tap->index, testing::kTapIndex);
}

TEST(ResolveAdapter, UnknownGuidIsNotFoundAndNamed) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  const auto missing = testing::guid("{00000000-0000-0000-0000-000000000001}");
  auto tap = resolve_adapter(fake, missing);
  ASSERT_FALSE(tap);
  EXPECT_EQ(tap.error().code, Errc::kNotFound);
  EXPECT_NE(tap.error().context.find(missing.to_string()), std::string::npos);
}

}  // namespace
}  // namespace lanparty::client_route
