// SPDX-License-Identifier: MIT
// InterfaceMetricGuard against FakeIpHelper: the interface ends exactly as it began, on the
// success path, on every error path, and after a crash followed by journal repair.
#include <gtest/gtest.h>

#include <vector>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/route_table.hpp"
#include "lanparty/obs/sinks.hpp"
#include "route_fixture.hpp"

namespace lanparty::client_route {
namespace {

using testing::Call;
using testing::FakeIpHelper;
using testing::open_journal;
using testing::TempDir;

constexpr InterfaceMetric kManual5{.use_automatic_metric = false, .metric = 5};

class MetricGuardTest : public ::testing::Test {
 protected:
  MetricGuardTest() {
    testing::make_home_network(fake_);
    clean_ = fake_.state();
  }

  Result<InterfaceMetricGuard> apply_tap(AddressFamily family = AddressFamily::kIpv4,
                                         InterfaceMetric desired = kManual5) {
    return InterfaceMetricGuard::apply(fake_, journal_, testing::kTapLuid, family, desired,
                                       obs::Logger(&sink_));
  }
  [[nodiscard]] InterfaceMetric tap_metric(AddressFamily family = AddressFamily::kIpv4) const {
    return fake_.state().interfaces.at({testing::kTapLuid.value, family}).metric;
  }

  FakeIpHelper fake_;
  testing::FakeState clean_;
  TempDir dir_;
  RouteJournal journal_ = open_journal(dir_.journal());
  obs::MemorySink sink_;
};

TEST_F(MetricGuardTest, AppliesTheManualMetricAndRestoresAutomaticOnDestruction) {
  {
    auto guard = apply_tap();
    ASSERT_TRUE(guard) << guard.error().describe();
    EXPECT_TRUE(guard->armed());
    EXPECT_EQ(tap_metric(), kManual5);
    EXPECT_EQ(journal_.entries().size(), 1u) << "the original is journaled while applied";
  }
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_TRUE(journal_.entries().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.journal()));
}

TEST_F(MetricGuardTest, JournalsTheOriginalBeforeWriting) {
  // A crash right after SetIpInterfaceEntry must find the original on disk: look at the file
  // at the moment of the write.
  std::vector<JournalEntry> on_disk_at_write;
  fake_.before_call = [&](Call call) {
    if (call == Call::kSetIpInterfaceEntry)
      on_disk_at_write = open_journal(dir_.journal()).entries();
  };
  auto guard = apply_tap();
  ASSERT_TRUE(guard);
  const std::vector<JournalEntry> expected{
      MetricJournalEntry{testing::kTapLuid, AddressFamily::kIpv4, InterfaceMetric{true, 35}}};
  EXPECT_EQ(on_disk_at_write, expected);
}

TEST_F(MetricGuardTest, ExplicitRestoreIsIdempotent) {
  auto guard = apply_tap();
  ASSERT_TRUE(guard);
  ASSERT_TRUE(guard->restore());
  EXPECT_FALSE(guard->armed());
  EXPECT_EQ(fake_.state(), clean_);
  const auto sets = fake_.calls(Call::kSetIpInterfaceEntry);
  EXPECT_TRUE(guard->restore());
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceEntry), sets) << "second restore writes nothing";
  EXPECT_EQ(sink_.count("route.metric_restored"), 1u);
}

TEST_F(MetricGuardTest, CurrentValueIsNotRewrittenAndNothingIsOwned) {
  auto guard = apply_tap(AddressFamily::kIpv4, InterfaceMetric{true, 35});
  ASSERT_TRUE(guard);
  EXPECT_FALSE(guard->armed());
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceEntry), 0u);
  EXPECT_TRUE(journal_.entries().empty());
  EXPECT_EQ(sink_.count("route.metric_unchanged"), 1u);
}

TEST_F(MetricGuardTest, AutomaticCanBeAppliedOverAManualMetricAndIsRestored) {
  fake_.clear_faults();
  ASSERT_TRUE(fake_.set_ip_interface_entry(testing::kTapLuid, AddressFamily::kIpv6, {false, 900}));
  const auto start = fake_.state();
  {
    auto guard = apply_tap(AddressFamily::kIpv6, InterfaceMetric{true, 900});
    ASSERT_TRUE(guard);
    EXPECT_TRUE(tap_metric(AddressFamily::kIpv6).use_automatic_metric);
  }
  EXPECT_EQ(fake_.state(), start);
}

TEST_F(MetricGuardTest, FailedReadChangesNothingAndJournalsNothing) {
  fake_.fail_always(Call::kGetIpInterfaceEntry, std::make_error_code(std::errc::io_error));
  auto guard = apply_tap();
  ASSERT_FALSE(guard);
  EXPECT_EQ(guard.error().code, std::errc::io_error);
  EXPECT_NE(guard.error().context.find("family=4"), std::string::npos);
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_TRUE(journal_.entries().empty());
}

TEST_F(MetricGuardTest, FailedWriteChangesNothingAndLeavesNoJournalEntry) {
  fake_.fail_always(Call::kSetIpInterfaceEntry, std::make_error_code(std::errc::permission_denied));
  auto guard = apply_tap();
  ASSERT_FALSE(guard);
  EXPECT_EQ(guard.error().code, std::errc::permission_denied);
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_TRUE(journal_.entries().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_.journal()));
}

TEST_F(MetricGuardTest, UnwritableJournalPreventsAnyChange) {
  auto journal = open_journal(dir_.path() / "missing-dir" / "journal.txt");
  auto guard = InterfaceMetricGuard::apply(fake_, journal, testing::kTapLuid, AddressFamily::kIpv4,
                                           kManual5);
  ASSERT_FALSE(guard);
  EXPECT_EQ(fake_.calls(Call::kSetIpInterfaceEntry), 0u);
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(MetricGuardTest, FailedRestoreStaysArmedKeepsTheJournalAndCanRetry) {
  auto guard = apply_tap();
  ASSERT_TRUE(guard);
  fake_.fail_always(Call::kSetIpInterfaceEntry, std::make_error_code(std::errc::io_error));
  auto restored = guard->restore();
  ASSERT_FALSE(restored);
  EXPECT_NE(restored.error().context.find("restore metric"), std::string::npos);
  EXPECT_TRUE(guard->armed());
  EXPECT_EQ(journal_.entries().size(), 1u);
  fake_.clear_faults();
  ASSERT_TRUE(guard->restore());
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_TRUE(journal_.entries().empty());
}

TEST_F(MetricGuardTest, DestructorLogsARestoreFailureAndRepairFinishesTheJob) {
  {
    auto guard = apply_tap();
    ASSERT_TRUE(guard);
    fake_.fail_always(Call::kSetIpInterfaceEntry, std::make_error_code(std::errc::io_error));
  }
  const auto failures = sink_.named("route.metric_restore_failed");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].level, obs::Level::kError);
  EXPECT_EQ(failures[0].text("family"), "4");
  EXPECT_NE(fake_.state(), clean_);

  fake_.clear_faults();
  auto next_start = open_journal(dir_.journal());
  ASSERT_TRUE(repair_from_journal(fake_, next_start));
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(MetricGuardTest, CrashThenRepairRestoresTheOriginal) {
  auto guard = apply_tap();
  ASSERT_TRUE(guard);
  auto guard6 = apply_tap(AddressFamily::kIpv6);
  ASSERT_TRUE(guard6);
  testing::crash_with(std::move(*guard6));
  testing::crash_with(std::move(*guard));
  EXPECT_NE(fake_.state(), clean_);

  auto next_start = open_journal(dir_.journal());  // a new process reads the file
  auto report = repair_from_journal(fake_, next_start);
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->restored, 2u);
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_FALSE(std::filesystem::exists(dir_.journal()));
}

TEST_F(MetricGuardTest, ApplyOverAnUnrepairedEntryRestoresTheOldestOriginal) {
  // A crashed run set manual 1 and its repair failed; this run applies manual 5.
  ASSERT_TRUE(journal_.record(
      MetricJournalEntry{testing::kTapLuid, AddressFamily::kIpv4, InterfaceMetric{true, 35}}));
  ASSERT_TRUE(fake_.set_ip_interface_entry(testing::kTapLuid, AddressFamily::kIpv4, {false, 1}));
  {
    auto guard = apply_tap();
    ASSERT_TRUE(guard);
    EXPECT_EQ(tap_metric(), kManual5);
  }
  EXPECT_EQ(fake_.state(), clean_) << "restored to automatic 35, not to the crashed run's 1";
  EXPECT_TRUE(journal_.entries().empty());
}

TEST_F(MetricGuardTest, MoveTransfersOwnershipAndDisarmsTheSource) {
  auto guard = apply_tap();
  ASSERT_TRUE(guard);
  {
    InterfaceMetricGuard moved(std::move(*guard));
    EXPECT_FALSE(guard->armed());  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_TRUE(moved.armed());
    EXPECT_EQ(tap_metric(), kManual5);
  }  // `moved` restores here; `guard` has nothing left to do
  EXPECT_EQ(fake_.state(), clean_);
  EXPECT_EQ(sink_.count("route.metric_restored"), 1u);
}

TEST_F(MetricGuardTest, MoveAssignmentRestoresWhatTheTargetHeld) {
  auto v4 = apply_tap(AddressFamily::kIpv4);
  auto v6 = apply_tap(AddressFamily::kIpv6);
  ASSERT_TRUE(v4);
  ASSERT_TRUE(v6);
  *v4 = std::move(*v6);  // the IPv4 change is undone now; v4 owns the IPv6 one
  EXPECT_EQ(tap_metric(AddressFamily::kIpv4), (InterfaceMetric{true, 35}));
  EXPECT_EQ(tap_metric(AddressFamily::kIpv6), kManual5);
  ASSERT_TRUE(v4->restore());
  EXPECT_EQ(fake_.state(), clean_);
}

TEST_F(MetricGuardTest, GuardsClearedBackToFrontLeaveTheInitialState) {
  std::vector<InterfaceMetricGuard> guards;
  for (const auto family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    auto guard = apply_tap(family);
    ASSERT_TRUE(guard);
    guards.push_back(std::move(*guard));
  }
  while (!guards.empty()) guards.pop_back();
  EXPECT_EQ(fake_.state(), clean_);
  const auto restored = sink_.named("route.metric_restored");
  ASSERT_EQ(restored.size(), 2u);
  EXPECT_EQ(restored[0].text("family"), "6");
  EXPECT_EQ(restored[1].text("family"), "4");
}

TEST_F(MetricGuardTest, DisableDefaultRoutesIsCapturedButNeverWritten) {
  FakeIpHelper fake;
  fake.add_interface(testing::FakeInterface{
      .guid = testing::guid(testing::kTapGuid),
      .luid = testing::kTapLuid,
      .index = testing::kTapIndex,
      .ipv4 = testing::ip("10.77.0.2"),
      .ipv6 = std::nullopt,
      .v4_state = {.metric = {true, 35}, .disable_default_routes = true},
      .v6_state = {},
  });
  const auto start = fake.state();
  auto guard = InterfaceMetricGuard::apply(fake, journal_, testing::kTapLuid, AddressFamily::kIpv4,
                                           kManual5, obs::Logger(&sink_));
  ASSERT_TRUE(guard);
  EXPECT_TRUE(guard->before().disable_default_routes);
  EXPECT_TRUE(fake.state()
                  .interfaces.at({testing::kTapLuid.value, AddressFamily::kIpv4})
                  .disable_default_routes);
  const auto applied = sink_.named("route.metric_applied");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].text("disable_default_routes"), "true");
  EXPECT_EQ(applied[0].text("old_metric"), "35");
  EXPECT_EQ(applied[0].text("new_metric"), "5");
  ASSERT_TRUE(guard->restore());
  EXPECT_EQ(fake.state(), start);
}

}  // namespace
}  // namespace lanparty::client_route
