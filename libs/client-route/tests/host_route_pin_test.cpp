// SPDX-License-Identifier: MIT
// HostRoutePin against FakeIpHelper: the relay stays reachable through the pre-TAP gateway,
// and the route table ends as it began on every path, crashes included.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/route_table.hpp"
#include "lanparty/obs/sinks.hpp"
#include "route_fixture.hpp"

namespace lanparty::client_route {
namespace {

using testing::Call;
using testing::FakeIpHelper;
using testing::ip;
using testing::open_journal;
using testing::prefix;
using testing::TempDir;

class HostRoutePinTest : public ::testing::Test {
 protected:
  HostRoutePinTest() {
    testing::make_home_network(fake_);
    clean_ = fake_.state();
  }
  Result<HostRoutePin> pin(std::string_view destination = testing::kRelay) {
    return HostRoutePin::pin(fake_, journal_, ip(destination), obs::Logger(&sink_));
  }
  [[nodiscard]] bool has_route(const RouteEntry& route) const {
    const auto& routes = fake_.state().routes;
    return std::find(routes.begin(), routes.end(), route) != routes.end();
  }
  // The TAP coming up with a default route that beats Ethernet's.
  void tap_takes_the_default_route() {
    fake_.add_route(
        RouteEntry{prefix("0.0.0.0/0"), ip("10.77.0.1"), testing::kTapLuid, testing::kTapIndex, 0});
    ASSERT_TRUE(fake_.set_ip_interface_entry(testing::kTapLuid, AddressFamily::kIpv4, {false, 1}));
  }

  FakeIpHelper fake_;
  testing::FakeState clean_;
  TempDir dir_;
  RouteJournal journal_ = open_journal(dir_.journal());
  obs::MemorySink sink_;
};

TEST_F(HostRoutePinTest, AddsAHostRouteViaThePreTapGatewayAndRemovesItOnDestruction) {
  const RouteEntry expected{prefix("198.51.100.7/32"), ip("192.168.1.1"), testing::kEthernetLuid,
                            testing::kEthernetIndex, 0};
  {
    auto pinned = pin();
    ASSERT_TRUE(pinned) << pinned.error().describe();
    EXPECT_TRUE(pinned->armed());
    EXPECT_EQ(pinned->route(), expected);
    EXPECT_TRUE(has_route(expected));
    EXPECT_EQ(journal_.entries(), std::vector<JournalEntry>{HostRouteJournalEntry{expected}});
  }
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_TRUE(journal_.entries().empty());
  EXPECT_EQ(sink_.count("route.host_route_added"), 1u);
  EXPECT_EQ(sink_.count("route.host_route_removed"), 1u);
}

TEST_F(HostRoutePinTest, KeepsTheRelayOffTheTapWhenTheTapTakesTheDefaultRoute) {
  auto pinned = pin();
  ASSERT_TRUE(pinned);
  tap_takes_the_default_route();
  auto to_relay = find_best_route(fake_, ip(testing::kRelay));
  auto to_elsewhere = find_best_route(fake_, ip("203.0.113.1"));
  ASSERT_TRUE(to_relay);
  ASSERT_TRUE(to_elsewhere);
  EXPECT_EQ(to_relay->luid, testing::kEthernetLuid);
  EXPECT_EQ(to_relay->next_hop, ip("192.168.1.1"));
  EXPECT_EQ(to_elsewhere->luid, testing::kTapLuid) << "the scene really did move the default";
}

TEST_F(HostRoutePinTest, Ipv6RelayGetsA128RouteViaTheLinkLocalRouter) {
  auto pinned = pin(testing::kRelay6);
  ASSERT_TRUE(pinned);
  EXPECT_EQ(pinned->route().destination, prefix("2001:db8:100::7/128"));
  EXPECT_EQ(pinned->route().next_hop, ip("fe80::1"));
  ASSERT_TRUE(pinned->remove());
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(HostRoutePinTest, LeavesAnIdenticalRouteItDidNotCreate) {
  const RouteEntry theirs{prefix("198.51.100.7/32"), ip("192.168.1.1"), testing::kEthernetLuid,
                          testing::kEthernetIndex, 0};
  fake_.add_route(theirs);
  const auto start = fake_.state();
  {
    auto pinned = pin();
    ASSERT_TRUE(pinned) << pinned.error().describe();
    EXPECT_FALSE(pinned->armed());
    EXPECT_TRUE(journal_.entries().empty());
  }
  EXPECT_EQ(fake_.state(), start) << "someone else's route survives our exit";
  EXPECT_EQ(sink_.count("route.host_route_preexisting"), 1u);
}

TEST_F(HostRoutePinTest, AdoptsItsOwnLeftoverFromACrashedRun) {
  {
    auto crashed_run = pin();
    ASSERT_TRUE(crashed_run);
    testing::crash_with(std::move(*crashed_run));
  }
  // This start's repair failed (say, a transient error); the pin must still own the route.
  auto journal = open_journal(dir_.journal());
  {
    auto pinned = HostRoutePin::pin(fake_, journal, ip(testing::kRelay));
    ASSERT_TRUE(pinned);
    EXPECT_TRUE(pinned->armed());
  }
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_TRUE(journal.entries().empty());
}

TEST_F(HostRoutePinTest, FailedCreateLeavesNoRouteAndNoJournalEntry) {
  fake_.fail_always(Call::kCreateIpForwardEntry2,
                    std::make_error_code(std::errc::permission_denied));
  auto pinned = pin();
  ASSERT_FALSE(pinned);
  EXPECT_EQ(pinned.error().code, std::errc::permission_denied);
  EXPECT_NE(pinned.error().context.find(testing::kRelay), std::string::npos);
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_TRUE(journal_.entries().empty());
}

TEST_F(HostRoutePinTest, FailedRemoveStaysArmedAndRepairDeletesTheRoute) {
  {
    auto pinned = pin();
    ASSERT_TRUE(pinned);
    fake_.fail_always(Call::kDeleteIpForwardEntry2, std::make_error_code(std::errc::io_error));
    ASSERT_FALSE(pinned->remove());
    EXPECT_TRUE(pinned->armed());
  }  // the destructor's attempt fails too, and is logged
  EXPECT_EQ(sink_.count("route.host_route_remove_failed"), 1u);
  EXPECT_NE(fake_.state(), clean_);
  fake_.clear_faults();
  auto next_start = open_journal(dir_.journal());
  ASSERT_TRUE(repair_from_journal(fake_, next_start));
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(HostRoutePinTest, ARouteThatVanishedCountsAsRemoved) {
  auto pinned = pin();
  ASSERT_TRUE(pinned);
  ASSERT_TRUE(fake_.delete_ip_forward_entry2(pinned->route()));  // e.g. the adapter was reset
  EXPECT_TRUE(pinned->remove());
  EXPECT_FALSE(pinned->armed());
  EXPECT_TRUE(journal_.entries().empty());
}

TEST_F(HostRoutePinTest, RefusesAGatewayOfTheOtherFamily) {
  auto via = find_best_route(fake_, ip(testing::kRelay6));
  ASSERT_TRUE(via);
  auto pinned = HostRoutePin::add(fake_, journal_, ip(testing::kRelay), *via);
  ASSERT_FALSE(pinned);
  EXPECT_EQ(pinned.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(fake_.calls(Call::kCreateIpForwardEntry2), 0u);
}

TEST_F(HostRoutePinTest, CrashThenRepairRemovesTheRoute) {
  auto pinned = pin();
  ASSERT_TRUE(pinned);
  testing::crash_with(std::move(*pinned));
  EXPECT_NE(fake_.state(), clean_);
  auto next_start = open_journal(dir_.journal());
  auto report = repair_from_journal(fake_, next_start);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->restored, 1u);
  EXPECT_EQ(fake_.state(), clean_);
}

}  // namespace
}  // namespace lanparty::client_route
