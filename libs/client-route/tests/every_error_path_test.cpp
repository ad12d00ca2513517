// SPDX-License-Identifier: MIT
// Exhaustive: a whole client session (repair, pin the relay, resolve the TAP, metric and MTU
// guards for IPv4 and IPv6, teardown) with a failure injected at each IP Helper call in turn.
// Every run must end in the initial state, or in a state the next start's repair brings back to
// it; the one allowed leftover is the TAP's MTU (not journaled, see InterfaceMtuGuard).
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "lanparty/client_route/route_table.hpp"
#include "route_fixture.hpp"

namespace lanparty::client_route {
namespace {

using testing::FakeIpHelper;
using testing::kRoomMtu;
using testing::TempDir;

// The client's route work from start to exit; returns early on the first error, as the client
// does, letting the guards unwind.
void run_session(FakeIpHelper& fake, const std::filesystem::path& journal_path) {
  auto journal = RouteJournal::open(journal_path);
  if (!journal) return;
  (void)repair_from_journal(fake, *journal);
  auto pin = HostRoutePin::pin(fake, *journal, testing::ip(testing::kRelay));
  if (!pin) return;
  auto tap = resolve_adapter(fake, testing::guid(testing::kTapGuid));
  if (!tap) return;
  std::vector<InterfaceMetricGuard> guards;
  for (const auto family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    auto guard =
        InterfaceMetricGuard::apply(fake, *journal, tap->luid, family, InterfaceMetric{false, 5});
    if (!guard) return;
    guards.push_back(std::move(*guard));
  }
  // Declared after `guards`, so these are undone first: back to front, as created.
  std::vector<InterfaceMtuGuard> mtu_guards;
  for (const auto family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    auto guard = InterfaceMtuGuard::apply(fake, tap->luid, family, kRoomMtu);
    if (!guard) return;
    mtu_guards.push_back(std::move(*guard));
  }
  while (!mtu_guards.empty()) mtu_guards.pop_back();
  while (!guards.empty()) guards.pop_back();  // back to front, then the pin
}

// The TAP's NlMtu is not journaled: after a failed restore it may keep the room MTU (the next
// run sets it again). Anything else is a bug. Returns `state` with that one leftover undone.
testing::FakeState forgive_tap_mtu(testing::FakeState state, const testing::FakeState& clean,
                                   const char* what, std::size_t k) {
  for (const auto family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    const auto key = std::pair{testing::kTapLuid.value, family};
    auto& mtu = state.interfaces.at(key).nl_mtu;
    const auto original = clean.interfaces.at(key).nl_mtu;
    EXPECT_TRUE(mtu == original || mtu == kRoomMtu)
        << what << " at call " << k << ": TAP MTU " << mtu << " is neither original nor room";
    mtu = original;
  }
  return state;
}

std::size_t calls_in_a_clean_session() {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  TempDir dir;
  run_session(fake, dir.journal());
  return fake.total_calls();
}

// After the faulty run: either clean already, or clean after the next start's repair.
void expect_clean_or_repairable(FakeIpHelper& fake, const testing::FakeState& clean,
                                const TempDir& dir, const char* what, std::size_t k) {
  if (forgive_tap_mtu(fake.state(), clean, what, k) != clean) {
    EXPECT_TRUE(std::filesystem::exists(dir.journal()))
        << what << " at call " << k << ": OS state changed with nothing journaled";
  }
  fake.clear_faults();
  auto journal = RouteJournal::open(dir.journal());
  ASSERT_TRUE(journal) << journal.error().describe();
  auto report = repair_from_journal(fake, *journal);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->failed, 0u);
  EXPECT_EQ(forgive_tap_mtu(fake.state(), clean, what, k), clean) << what << " at call " << k;
  EXPECT_FALSE(std::filesystem::exists(dir.journal())) << what << " at call " << k;
}

TEST(EveryErrorPath, ACleanSessionLeavesNothingBehind) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  const auto clean = fake.state();
  TempDir dir;
  run_session(fake, dir.journal());
  EXPECT_EQ(fake.state(), clean);
  EXPECT_FALSE(std::filesystem::exists(dir.journal()));
  EXPECT_GE(fake.calls(testing::Call::kSetIpInterfaceEntry), 4u) << "2 applies + 2 restores";
  EXPECT_EQ(fake.calls(testing::Call::kSetIpInterfaceMtu), 4u) << "2 applies + 2 restores";
}

TEST(EveryErrorPath, OneFailingCallAnywhereIsCleanOrRepairable) {
  const std::size_t total = calls_in_a_clean_session();
  ASSERT_GT(total, 8u);
  for (std::size_t k = 1; k <= total; ++k) {
    FakeIpHelper fake;
    testing::make_home_network(fake);
    const auto clean = fake.state();
    TempDir dir;
    fake.fail_nth_call(k);
    run_session(fake, dir.journal());
    expect_clean_or_repairable(fake, clean, dir, "one failure", k);
  }
}

TEST(EveryErrorPath, DyingAtAnyCallIsRepairedAtTheNextStart) {
  const std::size_t total = calls_in_a_clean_session();
  for (std::size_t k = 1; k <= total; ++k) {
    FakeIpHelper fake;
    testing::make_home_network(fake);
    const auto clean = fake.state();
    TempDir dir;
    fake.fail_from_nth_call(k);
    run_session(fake, dir.journal());
    expect_clean_or_repairable(fake, clean, dir, "dead from", k);
  }
}

}  // namespace
}  // namespace lanparty::client_route
