// SPDX-License-Identifier: MIT
// The crash journal: what it persists, how it refuses damaged files, and start-up repair.
#include "lanparty/client_route/route_journal.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"
#include "lanparty/obs/sinks.hpp"
#include "route_fixture.hpp"

namespace lanparty::client_route {
namespace {

using testing::FakeIpHelper;
using testing::ip;
using testing::open_journal;
using testing::prefix;
using testing::TempDir;

const MetricJournalEntry kTapV4Metric{testing::kTapLuid, AddressFamily::kIpv4,
                                      InterfaceMetric{true, 35}};
const MetricJournalEntry kTapV6Metric{testing::kTapLuid, AddressFamily::kIpv6,
                                      InterfaceMetric{false, 5}};
const HostRouteJournalEntry kRelayRoute{RouteEntry{prefix("198.51.100.7/32"), ip("192.168.1.1"),
                                                   testing::kEthernetLuid, testing::kEthernetIndex,
                                                   0}};
const HostRouteJournalEntry kRelay6Route{RouteEntry{prefix("2001:db8:100::7/128"), ip("fe80::1"),
                                                    testing::kEthernetLuid, testing::kEthernetIndex,
                                                    0}};

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

TEST(RouteJournal, MissingFileMeansNothingToRepair) {
  TempDir dir;
  auto journal = RouteJournal::open(dir.journal());
  ASSERT_TRUE(journal) << journal.error().describe();
  EXPECT_TRUE(journal->entries().empty());
  EXPECT_FALSE(std::filesystem::exists(dir.journal()));
}

TEST(RouteJournal, RecordedEntriesSurviveAReopenInOrder) {
  TempDir dir;
  {
    auto journal = open_journal(dir.journal());
    for (const JournalEntry& e : {JournalEntry{kTapV4Metric}, JournalEntry{kRelayRoute},
                                  JournalEntry{kTapV6Metric}, JournalEntry{kRelay6Route}}) {
      auto recorded = journal.record(e);
      ASSERT_TRUE(recorded) << recorded.error().describe();
      EXPECT_TRUE(recorded->added);
    }
  }
  const auto reopened = open_journal(dir.journal());
  const std::vector<JournalEntry> expected{kTapV4Metric, kRelayRoute, kTapV6Metric, kRelay6Route};
  EXPECT_EQ(reopened.entries(), expected);
}

TEST(RouteJournal, ASaveLeavesNoSiblingBehind) {
  TempDir dir;
  auto journal = open_journal(dir.journal());
  ASSERT_TRUE(journal.record(kRelayRoute));
  ASSERT_TRUE(journal.record(kTapV4Metric));
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.journal().parent_path())) {
    files.push_back(entry.path());
  }
  EXPECT_EQ(files, std::vector<std::filesystem::path>{dir.journal()});
}

TEST(RouteJournal, AFailedSaveKeepsThePreviousJournalWhole) {
  TempDir dir;
  auto journal = open_journal(dir.journal());
  ASSERT_TRUE(journal.record(kRelayRoute));
  // A directory where the sibling must go makes the next save fail before the rename.
  std::filesystem::create_directory(lanparty::temp_path_for(dir.journal()));
  EXPECT_FALSE(journal.record(kTapV4Metric));
  const auto reopened = open_journal(dir.journal());
  EXPECT_EQ(reopened.entries(), std::vector<JournalEntry>{kRelayRoute});
}

TEST(RouteJournal, ErasingTheLastEntryRemovesTheFile) {
  TempDir dir;
  auto journal = open_journal(dir.journal());
  ASSERT_TRUE(journal.record(kRelayRoute));
  EXPECT_TRUE(std::filesystem::exists(dir.journal()));
  ASSERT_TRUE(journal.erase(kRelayRoute));
  EXPECT_TRUE(journal.entries().empty());
  EXPECT_FALSE(std::filesystem::exists(dir.journal()));
  EXPECT_TRUE(journal.erase(kRelayRoute)) << "erasing an absent entry is a no-op";
}

TEST(RouteJournal, KeepsTheOlderMetricEntryOfTheSameInterface) {
  TempDir dir;
  auto journal = open_journal(dir.journal());
  ASSERT_TRUE(journal.record(kTapV4Metric));
  MetricJournalEntry later = kTapV4Metric;
  later.original = InterfaceMetric{false, 1};  // what a crashed run had set
  auto recorded = journal.record(later);
  ASSERT_TRUE(recorded);
  EXPECT_FALSE(recorded->added);
  EXPECT_EQ(recorded->entry, JournalEntry{kTapV4Metric});
  EXPECT_EQ(journal.entries().size(), 1u);
}

TEST(RouteJournal, RefusesDamagedFilesAndLeavesThemInPlace) {
  const std::string header = "lanparty-route-journal 1\n";
  const std::string good_route =
      "route luid=1688850880544768 index=7 dest=198.51.100.7/32 via=192.168.1.1 metric=0\n";
  const std::string damaged[] = {
      "",                                                    // empty file
      "lanparty-route-journal 2\n",                          // unknown version
      header + good_route.substr(0, good_route.size() - 1),  // torn: no final newline
      header + "metric luid=1 family=5 automatic=1 metric=3\n",
      header + "metric luid=1 family=4 automatic=2 metric=3\n",
      header + "metric family=4 luid=1 automatic=1 metric=3\n",  // fields out of order
      header + "metric luid=1 family=4 automatic=1 metric=3 extra=1\n",
      header + "route luid=1 index=7 dest=198.51.100.7/32 via=fe80::1 metric=0\n",  // mixed
      header + "address luid=1\n",
  };
  for (const auto& text : damaged) {
    TempDir dir;
    write_file(dir.journal(), text);
    auto journal = RouteJournal::open(dir.journal());
    ASSERT_FALSE(journal) << "accepted:\n" << text;
    EXPECT_EQ(journal.error().code, Errc::kCorruptFile);
    EXPECT_NE(journal.error().context.find(dir.journal().string()), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(dir.journal()));
  }
}

TEST(RouteJournal, RecordFailsCleanlyWhenTheFileCannotBeWritten) {
  TempDir dir;
  auto journal = open_journal(dir.path() / "no-such-dir" / "journal.txt");
  auto recorded = journal.record(kRelayRoute);
  ASSERT_FALSE(recorded);
  EXPECT_NE(recorded.error().context.find("no-such-dir"), std::string::npos);
  EXPECT_TRUE(journal.entries().empty()) << "an entry that is not on disk is not in the journal";
}

TEST(RepairFromJournal, RestoresMetricsAndDeletesRoutesNewestFirst) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  const auto clean = fake.state();
  TempDir dir;
  auto journal = open_journal(dir.journal());
  // What a crashed run left: the TAP metric set to manual 1, the relay route pinned.
  ASSERT_TRUE(journal.record(kTapV4Metric));
  ASSERT_TRUE(fake.set_ip_interface_entry(testing::kTapLuid, AddressFamily::kIpv4, {false, 1}));
  ASSERT_TRUE(journal.record(kRelayRoute));
  ASSERT_TRUE(fake.create_ip_forward_entry2(kRelayRoute.route));
  ASSERT_NE(fake.state(), clean);

  obs::MemorySink sink;
  auto report = repair_from_journal(fake, journal, obs::Logger(&sink));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->restored, 2u);
  EXPECT_EQ(report->failed, 0u);
  EXPECT_EQ(fake.state(), clean);
  EXPECT_TRUE(journal.entries().empty());
  EXPECT_FALSE(std::filesystem::exists(dir.journal()));
  const auto repaired = sink.named("route.journal_repaired");
  ASSERT_EQ(repaired.size(), 2u);
  EXPECT_EQ(repaired[0].text("entry").rfind("route ", 0), 0u) << "newest (the route) first";
  EXPECT_EQ(repaired[1].text("entry").rfind("metric ", 0), 0u);
}

TEST(RepairFromJournal, CountsAnAlreadyMissingRouteAsUndone) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  TempDir dir;
  auto journal = open_journal(dir.journal());
  ASSERT_TRUE(journal.record(kRelayRoute));  // crashed before CreateIpForwardEntry2 ran
  auto report = repair_from_journal(fake, journal);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->restored, 1u);
  EXPECT_TRUE(journal.entries().empty());
}

TEST(RepairFromJournal, AMetricWhoseChangeNeverHappenedIsRewrittenHarmlessly) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  const auto clean = fake.state();
  TempDir dir;
  auto journal = open_journal(dir.journal());
  ASSERT_TRUE(journal.record(kTapV4Metric));  // crashed between journal write and Set
  auto report = repair_from_journal(fake, journal);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->restored, 1u);
  EXPECT_EQ(fake.state(), clean);
}

TEST(RepairFromJournal, KeepsEntriesWhoseUndoFailedForTheNextStart) {
  FakeIpHelper fake;
  testing::make_home_network(fake);
  const auto clean = fake.state();
  TempDir dir;
  auto journal = open_journal(dir.journal());
  ASSERT_TRUE(journal.record(kTapV4Metric));
  ASSERT_TRUE(fake.set_ip_interface_entry(testing::kTapLuid, AddressFamily::kIpv4, {false, 1}));
  ASSERT_TRUE(journal.record(kRelayRoute));
  ASSERT_TRUE(fake.create_ip_forward_entry2(kRelayRoute.route));
  fake.fail_always(testing::Call::kSetIpInterfaceEntry,
                   std::make_error_code(std::errc::permission_denied));

  obs::MemorySink sink;
  auto report = repair_from_journal(fake, journal, obs::Logger(&sink));
  ASSERT_TRUE(report);
  EXPECT_EQ(report->restored, 1u);
  EXPECT_EQ(report->failed, 1u);
  EXPECT_EQ(journal.entries(), std::vector<JournalEntry>{kTapV4Metric});
  EXPECT_EQ(sink.count("route.journal_repair_failed"), 1u);
  EXPECT_EQ(open_journal(dir.journal()).entries(), journal.entries()) << "persisted";

  fake.clear_faults();
  auto retry = repair_from_journal(fake, journal);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->restored, 1u);
  EXPECT_EQ(fake.state(), clean);
}

}  // namespace
}  // namespace lanparty::client_route
