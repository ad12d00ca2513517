// SPDX-License-Identifier: MIT
// lanparty-client-win's flag parsing and adapter choice.
#include "options.hpp"

#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_win {
namespace {

using Kind = TapMetricChoice::Kind;

TEST(ParseTapMetric, OffLeavesTheAdapterAlone) {
  auto choice = parse_tap_metric("off");
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->kind, Kind::kOff);
  EXPECT_FALSE(choice->desired().has_value());
}

TEST(ParseTapMetric, AutoHandsTheMetricBackToWindows) {
  auto choice = parse_tap_metric("AUTO");
  ASSERT_TRUE(choice);
  ASSERT_TRUE(choice->desired().has_value());
  EXPECT_TRUE(choice->desired()->use_automatic_metric);
}

TEST(ParseTapMetric, ANumberBecomesAManualMetric) {
  for (std::uint32_t metric : {1u, 25u, 9999u}) {
    auto choice = parse_tap_metric(std::to_string(metric));
    ASSERT_TRUE(choice) << metric;
    ASSERT_TRUE(choice->desired().has_value());
    EXPECT_FALSE(choice->desired()->use_automatic_metric);
    EXPECT_EQ(choice->desired()->metric, metric);
  }
}

TEST(ParseTapMetric, RefusesWhatWindowsWouldNotTakeAndSaysWhatIsAccepted) {
  for (const char* bad : {"", "0", "10000", "-1", "1x", " 5", "on", "4294967297"}) {
    auto choice = parse_tap_metric(bad);
    ASSERT_FALSE(choice) << bad;
    EXPECT_EQ(choice.error().code, make_error_code(Errc::kInvalidArgument));
    EXPECT_NE(choice.error().context.find("off, auto, or a number from 1 to 9999"),
              std::string::npos);
  }
}

client_tap::TapAdapter adapter(std::string guid) {
  return {.guid = std::move(guid), .component_id = "tap0901", .subkey = "0001"};
}

TEST(SelectAdapter, NoAdapterTellsHowToInstallOne) {
  auto chosen = select_adapter({}, "");
  ASSERT_FALSE(chosen);
  EXPECT_EQ(chosen.error().code, make_error_code(Errc::kNotFound));
  EXPECT_NE(chosen.error().context.find("install TAP-Windows"), std::string::npos);
}

TEST(SelectAdapter, DefaultsToTheFirstAdapter) {
  const std::vector adapters = {adapter("{AAAAAAAA-0000-0000-0000-000000000001}"),
                                adapter("{BBBBBBBB-0000-0000-0000-000000000002}")};
  auto chosen = select_adapter(adapters, "");
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->guid, adapters[0].guid);
}

TEST(SelectAdapter, MatchesAGuidWithOrWithoutBracesInAnyCase) {
  const std::vector adapters = {adapter("{AAAAAAAA-0000-0000-0000-000000000001}"),
                                adapter("{BBBBBBBB-0000-0000-0000-000000000002}")};
  for (const char* wanted :
       {"{BBBBBBBB-0000-0000-0000-000000000002}", "bbbbbbbb-0000-0000-0000-000000000002"}) {
    auto chosen = select_adapter(adapters, wanted);
    ASSERT_TRUE(chosen) << wanted;
    EXPECT_EQ(chosen->guid, adapters[1].guid);
  }
}

TEST(SelectAdapter, AnUnknownGuidListsTheInstalledOnes) {
  const std::vector adapters = {adapter("{AAAAAAAA-0000-0000-0000-000000000001}")};
  auto chosen = select_adapter(adapters, "{CCCCCCCC-0000-0000-0000-000000000003}");
  ASSERT_FALSE(chosen);
  EXPECT_NE(chosen.error().context.find(adapters[0].guid), std::string::npos);
}

TEST(IpOf, DropsThePortOfBothFamilies) {
  auto v4 = io::parse_listen_address("192.0.2.7:4433");
  ASSERT_TRUE(v4);
  auto ip4 = ip_of(*v4);
  ASSERT_TRUE(ip4);
  EXPECT_EQ(ip4->to_string(), "192.0.2.7");

  auto v6 = io::parse_listen_address("[2001:db8::7]:4433");
  ASSERT_TRUE(v6);
  auto ip6 = ip_of(*v6);
  ASSERT_TRUE(ip6);
  EXPECT_EQ(ip6->to_string(), "2001:db8::7");
}

}  // namespace
}  // namespace lanparty::client_win
