// SPDX-License-Identifier: MIT
// InterfaceMtuGuard against FakeIpHelper: the TAP's NlMtu is set to the room MTU and put back
// exactly, nothing else moves (the metric included), and every error path leaves no change.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/route_table.hpp"
#include "lanparty/obs/sinks.hpp"
#include "route_fixture.hpp"

namespace lanparty::client_route {
namespace {

using testing::Call;
using testing::FakeIpHelper;
using testing::kRoomMtu;

constexpr std::uint32_t kTapDefaultMtu = 1500;

class InterfaceMtuTest : public ::testing::Test {
 protected:
  InterfaceMtuTest() {
    testing::make_home_network(fake_);
    clean_ = fake_.state();
  }

  Result<InterfaceMtuGuard> apply_tap(AddressFamily family = AddressFamily::kIpv4,
                                      std::uint32_t mtu = kRoomMtu) {
    return InterfaceMtuGuard::apply(fake_, testing::kTapLuid, family, mtu, obs::Logger(&sink_));
  }
  [[nodiscard]] const IpInterfaceState& tap(AddressFamily family = AddressFamily::kIpv4) const {
    return fake_.state().interfaces.at({testing::kTapLuid.value, family});
  }
  // The clean state with only the TAP's NlMtu of `family` changed to `mtu`.
  [[nodiscard]] testing::FakeState clean_with_tap_mtu(AddressFamily family,
                                                      std::uint32_t mtu) const {
    testing::FakeState expected = clean_;
    expected.interfaces.at({testing::kTapLuid.value, family}).nl_mtu = mtu;
    return expected;
  }

  FakeIpHelper fake_;
  testing::FakeState clean_;
  obs::MemorySink sink_;
};

TEST_F(InterfaceMtuTest, AppliesTheRoomMtuToOneFamilyOnlyAndRestoresEverythingExactly) {
  for (const auto family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    {
      auto guard = apply_tap(family);
      ASSERT_TRUE(guard) << guard.error().describe();
      EXPECT_TRUE(guard->armed());
      EXPECT_EQ(guard->before().nl_mtu, kTapDefaultMtu);
      EXPECT_EQ(fake_.state(), clean_with_tap_mtu(family, kRoomMtu))
          << "only NlMtu of family " << to_string(family) << " may change";
    }
    EXPECT_EQ(fake_.state(), clean_) << "family " << to_string(family);
  }
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceMtu), 4u) << "one write and one restore per family";
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceEntry), 0u) << "the metric writer is never used";
}

TEST_F(InterfaceMtuTest, AppliedEventCarriesTheOldAndNewMtu) {
  auto guard = apply_tap(AddressFamily::kIpv6);
  ASSERT_TRUE(guard);
  const auto applied = sink_.named("route.mtu_applied");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].level, obs::Level::kInfo);
  EXPECT_EQ(applied[0].text("family"), "6");
  EXPECT_EQ(applied[0].text("old"), std::to_string(kTapDefaultMtu));
  EXPECT_EQ(applied[0].text("new"), std::to_string(kRoomMtu));
  ASSERT_TRUE(guard->restore());
  EXPECT_EQ(sink_.count("route.mtu_restored"), 1u);
}

TEST_F(InterfaceMtuTest, ExplicitRestoreIsIdempotent) {
  auto guard = apply_tap();
  ASSERT_TRUE(guard);
  ASSERT_TRUE(guard->restore());
  EXPECT_FALSE(guard->armed());
  EXPECT_EQ(fake_.state(), clean_);
  const auto writes = fake_.calls(Call::kSetIpInterfaceMtu);
  EXPECT_TRUE(guard->restore());
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceMtu), writes) << "second restore writes nothing";
  EXPECT_EQ(sink_.count("route.mtu_restored"), 1u);
}

TEST_F(InterfaceMtuTest, UnchangedMtuWritesNothingAndOwnsNothing) {
  {
    auto guard = apply_tap(AddressFamily::kIpv4, kTapDefaultMtu);
    ASSERT_TRUE(guard);
    EXPECT_FALSE(guard->armed());
    EXPECT_EQ(guard->before().nl_mtu, kTapDefaultMtu);
  }
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceMtu), 0u) << "neither applied nor restored";
  EXPECT_EQ(fake_.state(), clean_);
  const auto unchanged = sink_.named("route.mtu_unchanged");
  ASSERT_EQ(unchanged.size(), 1u);
  EXPECT_EQ(unchanged[0].text("mtu"), std::to_string(kTapDefaultMtu));
  EXPECT_EQ(sink_.count("route.mtu_applied"), 0u);
}

struct MtuRangeCase {
  AddressFamily family;
  std::uint32_t mtu;
  bool accepted;
};

TEST_F(InterfaceMtuTest, OutOfRangeMtuIsRefusedBeforeAnyCall) {
  const std::vector<MtuRangeCase> cases{
      {AddressFamily::kIpv4, 575, false},   {AddressFamily::kIpv4, 576, true},
      {AddressFamily::kIpv4, 65535, true},  {AddressFamily::kIpv4, 65536, false},
      {AddressFamily::kIpv4, 0, false},     {AddressFamily::kIpv6, 1279, false},
      {AddressFamily::kIpv6, 1280, true},   {AddressFamily::kIpv6, 65535, true},
      {AddressFamily::kIpv6, 65536, false}, {AddressFamily::kIpv6, 576, false},
  };
  for (const auto& c : cases) {
    FakeIpHelper fake;
    testing::make_home_network(fake);
    const auto start = fake.state();
    auto guard = InterfaceMtuGuard::apply(fake, testing::kTapLuid, c.family, c.mtu);
    const std::string what = "IPv" + std::string(to_string(c.family)) + " " + std::to_string(c.mtu);
    if (c.accepted) {
      ASSERT_TRUE(guard) << what << ": " << guard.error().describe();
      EXPECT_TRUE(guard->restore()) << what;
      EXPECT_EQ(fake.state(), start) << what;
      continue;
    }
    ASSERT_FALSE(guard) << what;
    EXPECT_EQ(guard.error().code, Errc::kInvalidArgument) << what;
    EXPECT_NE(guard.error().context.find(std::to_string(c.mtu) + " bytes"), std::string::npos)
        << guard.error().context;
    EXPECT_EQ(fake.total_calls(), 0u) << what << ": refused before reading the interface";
    EXPECT_EQ(fake.state(), start) << what;
  }
}

TEST_F(InterfaceMtuTest, Ipv6BelowTheLinkMinimumNamesTheRange) {
  auto guard = apply_tap(AddressFamily::kIpv6, 1200);
  ASSERT_FALSE(guard);
  EXPECT_EQ(guard.error().code, Errc::kInvalidArgument);
  EXPECT_NE(guard.error().context.find("1280..65535"), std::string::npos) << guard.error().context;
  EXPECT_NE(guard.error().context.find("IPv6"), std::string::npos) << guard.error().context;
  EXPECT_EQ(fake_.total_calls(), 0u);
}

TEST_F(InterfaceMtuTest, FailedReadChangesNothing) {
  fake_.fail_always(Call::kGetIpInterfaceEntry, std::make_error_code(std::errc::io_error));
  auto guard = apply_tap();
  ASSERT_FALSE(guard);
  EXPECT_EQ(guard.error().code, std::errc::io_error);
  EXPECT_NE(guard.error().context.find("set MTU of interface"), std::string::npos);
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceMtu), 0u);
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(InterfaceMtuTest, UnknownInterfaceIsNotFoundAndChangesNothing) {
  auto guard =
      InterfaceMtuGuard::apply(fake_, InterfaceLuid{0xdead}, AddressFamily::kIpv4, kRoomMtu);
  ASSERT_FALSE(guard);
  EXPECT_EQ(guard.error().code, Errc::kNotFound);
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(InterfaceMtuTest, FailedWriteChangesNothing) {
  fake_.fail_always(Call::kSetIpInterfaceMtu, std::make_error_code(std::errc::permission_denied));
  auto guard = apply_tap();
  ASSERT_FALSE(guard);
  EXPECT_EQ(guard.error().code, std::errc::permission_denied);
  EXPECT_NE(guard.error().context.find("family=4"), std::string::npos);
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_EQ(sink_.count("route.mtu_applied"), 0u);
}

TEST_F(InterfaceMtuTest, FailedRestoreStaysArmedAndARetrySucceeds) {
  auto guard = apply_tap();
  ASSERT_TRUE(guard);
  fake_.fail_always(Call::kSetIpInterfaceMtu, std::make_error_code(std::errc::io_error));
  auto restored = guard->restore();
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, std::errc::io_error);
  EXPECT_NE(restored.error().context.find("restore MTU"), std::string::npos);
  EXPECT_TRUE(guard->armed());
  EXPECT_EQ(tap().nl_mtu, kRoomMtu);
  fake_.clear_faults();
  ASSERT_TRUE(guard->restore());
  EXPECT_FALSE(guard->armed());
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(InterfaceMtuTest, DestructorLogsARestoreFailureAsAnError) {
  {
    auto guard = apply_tap(AddressFamily::kIpv6);
    ASSERT_TRUE(guard);
    fake_.fail_always(Call::kSetIpInterfaceMtu, std::make_error_code(std::errc::io_error));
  }
  const auto failures = sink_.named("route.mtu_restore_failed");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].level, obs::Level::kError);
  EXPECT_EQ(failures[0].text("family"), "6");
  EXPECT_NE(failures[0].text("error").find("restore MTU"), std::string::npos);
  // Not journaled by design: the TAP keeps the room MTU until the next run sets it again.
  EXPECT_EQ(fake_.state(), clean_with_tap_mtu(AddressFamily::kIpv6, kRoomMtu));
}

TEST_F(InterfaceMtuTest, MoveTransfersOwnershipAndDisarmsTheSource) {
  auto guard = apply_tap();
  ASSERT_TRUE(guard);
  {
    InterfaceMtuGuard moved(std::move(*guard));
    EXPECT_FALSE(guard->armed());  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_TRUE(moved.armed());
    EXPECT_EQ(moved.before().nl_mtu, kTapDefaultMtu);
    EXPECT_EQ(tap().nl_mtu, kRoomMtu);
  }  // `moved` restores here; `guard` has nothing left to do
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_EQ(sink_.count("route.mtu_restored"), 1u);
  EXPECT_TRUE(guard->restore());
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceMtu), 2u) << "the moved-from guard wrote nothing";
}

TEST_F(InterfaceMtuTest, MoveAssignmentRestoresWhatTheTargetHeld) {
  auto v4 = apply_tap(AddressFamily::kIpv4);
  auto v6 = apply_tap(AddressFamily::kIpv6);
  ASSERT_TRUE(v4);
  ASSERT_TRUE(v6);
  *v4 = std::move(*v6);       // the IPv4 change is undone now; v4 owns the IPv6 one
  EXPECT_FALSE(v6->armed());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(fake_.state(), clean_with_tap_mtu(AddressFamily::kIpv6, kRoomMtu));
  ASSERT_TRUE(v4->restore());
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(InterfaceMtuTest, MtuWriteLeavesTheMetricAloneAndMetricWriteLeavesTheMtuAlone) {
  testing::TempDir dir;
  auto journal = testing::open_journal(dir.journal());
  const InterfaceMetric manual5{.use_automatic_metric = false, .metric = 5};
  auto metric =
      InterfaceMetricGuard::apply(fake_, journal, testing::kTapLuid, AddressFamily::kIpv4, manual5);
  ASSERT_TRUE(metric);
  auto mtu = apply_tap(AddressFamily::kIpv4);
  ASSERT_TRUE(mtu);
  EXPECT_EQ(tap().metric, manual5) << "the MTU write kept the metric";
  EXPECT_EQ(tap().nl_mtu, kRoomMtu);
  EXPECT_EQ(mtu->before().metric, manual5);

  // Undone in the wrong order on purpose: each writer owns only its own fields.
  ASSERT_TRUE(metric->restore());
  EXPECT_EQ(tap().nl_mtu, kRoomMtu) << "the metric restore kept the MTU";
  EXPECT_EQ(tap().metric, (InterfaceMetric{true, 35}));
  ASSERT_TRUE(mtu->restore());
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(InterfaceMtuTest, GuardsClearedBackToFrontLeaveTheInitialState) {
  std::vector<InterfaceMtuGuard> guards;
  for (const auto family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    auto guard = apply_tap(family, 1400);
    ASSERT_TRUE(guard);
    guards.push_back(std::move(*guard));
  }
  EXPECT_EQ(tap(AddressFamily::kIpv4).nl_mtu, 1400u);
  EXPECT_EQ(tap(AddressFamily::kIpv6).nl_mtu, 1400u);
  while (!guards.empty()) guards.pop_back();
  EXPECT_EQ(fake_.state(), clean_);
  const auto restored = sink_.named("route.mtu_restored");
  ASSERT_EQ(restored.size(), 2u);
  EXPECT_EQ(restored[0].text("family"), "6");
  EXPECT_EQ(restored[1].text("family"), "4");
}

}  // namespace
}  // namespace lanparty::client_route
