// SPDX-License-Identifier: MIT
#include "lanparty/obs/rate_limited_sink.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "lanparty/obs/sinks.hpp"

namespace lanparty::obs {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimitedSink::Clock;

// Time moves only when the test says so.
struct FakeClock {
  Clock::time_point t = Clock::time_point{} + 1000h;
  [[nodiscard]] RateLimitedSink::NowFn fn() {
    return [this] { return t; };
  }
};

constexpr RateLimitConfig kConfig{};  // 20 + 5/s; errors 100 + 20/s; 1 s report interval

void log_n(RateLimitedSink& sink, Level level, std::string_view name, int n) {
  Logger log(&sink, Level::kDebug);
  for (int i = 0; i < n; ++i) log.log(level, name, {{"i", i}});
}

TEST(RateLimitedSink, BurstPassesAndTheExcessIsCountedNotWritten) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kInfo, "relay.connection_open", 25);
  EXPECT_EQ(memory.count("relay.connection_open"), 20u);
  EXPECT_EQ(memory.count("log.suppressed"), 0u);
  EXPECT_EQ(sink.suppressed_total(), 5u);
}

TEST(RateLimitedSink, ReportsTheCountBeforeTheNameIsWrittenAgain) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kWarn, "relay.rejected", 25);
  memory.clear();
  clock.t += 1s;
  log_n(sink, Level::kWarn, "relay.rejected", 1);
  const auto records = memory.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "log.suppressed");
  EXPECT_EQ(records[0].level, Level::kWarn);
  EXPECT_EQ(records[0].text("name"), "relay.rejected");
  EXPECT_EQ(records[0].text("suppressed"), "5");
  EXPECT_EQ(records[1].name, "relay.rejected");
  // Reported once: the next lines carry no second report.
  log_n(sink, Level::kWarn, "relay.rejected", 3);
  EXPECT_EQ(memory.count("log.suppressed"), 1u);
}

TEST(RateLimitedSink, RefillsAtTheSteadyRate) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kInfo, "a", 20);
  clock.t += 200ms;  // one token at 5/s
  log_n(sink, Level::kInfo, "a", 3);
  EXPECT_EQ(memory.count("a"), 21u);
  clock.t += 2s;  // ten more
  log_n(sink, Level::kInfo, "a", 30);
  EXPECT_EQ(memory.count("a"), 31u);
}

TEST(RateLimitedSink, CountsAccumulateUntilTheReportIntervalHasPassed) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kInfo, "a", 22);  // 2 held back at t
  clock.t += 400ms;                    // 2 tokens
  log_n(sink, Level::kInfo, "a", 5);   // 2 pass without a report (too soon), 3 held back
  EXPECT_EQ(memory.count("log.suppressed"), 0u);
  clock.t += 600ms;  // 1 s since the first line was held back
  log_n(sink, Level::kInfo, "a", 1);
  const auto reports = memory.named("log.suppressed");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].text("suppressed"), "5");
}

TEST(RateLimitedSink, NamesAreIndependent) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kInfo, "relay.connection_open", 100);
  log_n(sink, Level::kInfo, "relay.connection_closed", 20);
  EXPECT_EQ(memory.count("relay.connection_open"), 20u);
  EXPECT_EQ(memory.count("relay.connection_closed"), 20u);
}

TEST(RateLimitedSink, NamesAreComparedByTextNotByPointer) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  Logger log(&sink);
  for (int i = 0; i < 30; ++i) {
    const std::string name = std::string("relay.") + "rejected";  // a new buffer each time
    log.info(name);
  }
  EXPECT_EQ(memory.count("relay.rejected"), 20u);
  EXPECT_EQ(sink.suppressed_total(), 10u);
}

TEST(RateLimitedSink, ErrorsHaveTheirOwnLargerBudget) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kInfo, "quic.accept_failed", 30);
  log_n(sink, Level::kError, "quic.accept_failed", 150);
  const auto written = memory.named("quic.accept_failed");
  std::size_t errors = 0;
  for (const auto& r : written) errors += r.level == Level::kError ? 1 : 0;
  EXPECT_EQ(errors, 100u);
  EXPECT_EQ(written.size() - errors, 20u);
  EXPECT_EQ(sink.suppressed_total(), 60u);
  sink.flush();
  const auto reports = memory.named("log.suppressed");
  ASSERT_EQ(reports.size(), 2u);
  for (const auto& r : reports) {
    EXPECT_EQ(r.text("suppressed"), r.level == Level::kError ? "50" : "10");
  }
}

TEST(RateLimitedSink, DebugPassesUnlimitedByDefault) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kDebug, "relay.frame", 500);
  EXPECT_EQ(memory.count("relay.frame"), 500u);
  EXPECT_EQ(sink.suppressed_total(), 0u);
}

TEST(RateLimitedSink, DebugIsLimitedWhenConfigured) {
  MemorySink memory;
  FakeClock clock;
  RateLimitConfig config = kConfig;
  config.limit_debug = true;
  RateLimitedSink sink(memory, config, clock.fn());
  log_n(sink, Level::kDebug, "relay.frame", 500);
  EXPECT_EQ(memory.count("relay.frame"), 20u);
}

TEST(RateLimitedSink, AnyLaterWriteReportsANameThatWentQuiet) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kInfo, "relay.connection_open", 50);
  clock.t += 1500ms;
  log_n(sink, Level::kInfo, "relay.stats", 1);
  const auto records = memory.records();
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[records.size() - 2].name, "log.suppressed");
  EXPECT_EQ(records[records.size() - 2].text("name"), "relay.connection_open");
  EXPECT_EQ(records[records.size() - 2].text("suppressed"), "30");
  EXPECT_EQ(records.back().name, "relay.stats");
}

TEST(RateLimitedSink, DestructorReportsWhatWasNeverReported) {
  MemorySink memory;
  FakeClock clock;
  {
    RateLimitedSink sink(memory, kConfig, clock.fn());
    log_n(sink, Level::kInfo, "relay.protocol_violation", 27);
    EXPECT_EQ(memory.count("log.suppressed"), 0u);
  }
  const auto reports = memory.named("log.suppressed");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].text("name"), "relay.protocol_violation");
  EXPECT_EQ(reports[0].text("suppressed"), "7");
}

// Counts log.suppressed lines into the test's variable, which outlives the sink.
class ReportCounter final : public Sink {
 public:
  explicit ReportCounter(std::uint64_t& held_back) : held_back_(held_back) {}
  void write(const Event& event) noexcept override {
    if (event.name != "log.suppressed") return;
    for (const Field& f : event.fields) {
      if (f.key == "suppressed") held_back_ += std::get<std::uint64_t>(f.value);
    }
  }

 private:
  std::uint64_t& held_back_;
};

TEST(RateLimitedSink, OwningConstructorReportsBeforeDestroyingTheInnerSink) {
  std::uint64_t held_back = 0;
  FakeClock clock;
  {
    RateLimitedSink sink(std::make_unique<ReportCounter>(held_back), kConfig, clock.fn());
    log_n(sink, Level::kInfo, "a", 23);
    EXPECT_EQ(held_back, 0u);
  }
  EXPECT_EQ(held_back, 3u);
}

TEST(RateLimitedSink, LongNamesAreToldApartAndReportedCut) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  const std::string stem(RateLimitedSink::kMaxNameBytes + 10, 'x');
  log_n(sink, Level::kInfo, stem + ".one", 21);
  log_n(sink, Level::kInfo, stem + ".two", 21);
  EXPECT_EQ(memory.count(stem + ".one"), 20u);
  EXPECT_EQ(memory.count(stem + ".two"), 20u);
  sink.flush();
  const auto reports = memory.named("log.suppressed");
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].text("name"), stem.substr(0, RateLimitedSink::kMaxNameBytes));
}

TEST(RateLimitedSink, AFullTableSharesOneBucketAndLosesNoCount) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  constexpr int kNames = 400;  // more than kSlots, each with a line held back
  for (int i = 0; i < kNames; ++i) log_n(sink, Level::kInfo, "flood." + std::to_string(i), 21);
  sink.flush();
  std::uint64_t reported = 0;
  bool other = false;
  for (const auto& r : memory.named("log.suppressed")) {
    reported += std::stoull(r.text("suppressed"));
    other = other || r.text("name") == "(other)";
  }
  EXPECT_TRUE(other);
  EXPECT_EQ(reported, sink.suppressed_total());
  const std::size_t written = memory.records().size() - memory.count("log.suppressed");
  EXPECT_EQ(written + reported, std::size_t{kNames} * 21);
}

TEST(RateLimitedSink, ALongQuietSpellRefillsToTheBurstOnly) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kInfo, "a", 20);
  clock.t += 24h * 365 * 100;
  log_n(sink, Level::kInfo, "a", 25);
  EXPECT_EQ(memory.count("a"), 40u);
}

TEST(RateLimitedSink, AClockThatGoesBackAddsNothing) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  log_n(sink, Level::kInfo, "a", 20);
  clock.t -= 10s;
  log_n(sink, Level::kInfo, "a", 5);
  EXPECT_EQ(memory.count("a"), 20u);
}

TEST(RateLimitedSink, ConcurrentWritersShareOneBudget) {
  MemorySink memory;
  FakeClock clock;
  RateLimitedSink sink(memory, kConfig, clock.fn());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] { log_n(sink, Level::kInfo, "relay.connection_open", 1000); });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(memory.count("relay.connection_open"), 20u);
  EXPECT_EQ(sink.suppressed_total(), 3980u);
}

}  // namespace
}  // namespace lanparty::obs
