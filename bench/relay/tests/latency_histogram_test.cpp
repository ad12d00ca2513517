// SPDX-License-Identifier: MIT
// Bucket layout and percentile accuracy of the benchmark's latency histogram.
#include "latency_histogram.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace lanparty::bench {
namespace {

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.5), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(0.50), 50u);
  EXPECT_EQ(h.percentile(0.99), 99u);
  EXPECT_EQ(h.percentile(1.0), 100u);
  EXPECT_EQ(h.max(), 100u);
}

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGaps) {
  for (std::size_t i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    const std::uint64_t low = LatencyHistogram::lower_bound_of(i);
    ASSERT_EQ(LatencyHistogram::index_of(low), i);
    ASSERT_EQ(LatencyHistogram::index_of(low + LatencyHistogram::width_of(i) - 1), i);
    ASSERT_EQ(LatencyHistogram::lower_bound_of(i + 1), low + LatencyHistogram::width_of(i)) << i;
  }
}

TEST(LatencyHistogram, LargeValuesAreWithinOneSixtyFourth) {
  for (std::uint64_t v = 129; v < (std::uint64_t{1} << 40); v = v * 3 + 7) {
    LatencyHistogram h;
    h.record(v);
    h.record(v + v / 200);  // a second sample, so max() does not clamp the answer to v
    const auto p = static_cast<double>(h.percentile(0.5));
    EXPECT_NEAR(p, static_cast<double>(v), static_cast<double>(v) / 64) << v;
  }
}

TEST(LatencyHistogram, P99SeesTheSlowestPercent) {
  LatencyHistogram h;
  for (int i = 0; i < 980; ++i) h.record(10'000);
  for (int i = 0; i < 20; ++i) h.record(5'000'000);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.50)), 10'000, 10'000 / 64.0);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.99)), 5'000'000, 5'000'000 / 64.0);
}

TEST(LatencyHistogram, ResetForgetsEverything) {
  LatencyHistogram h;
  h.record(1'000'000);
  h.reset();
  h.record(7);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max(), 7u);
  EXPECT_EQ(h.percentile(0.99), 7u);
}

}  // namespace
}  // namespace lanparty::bench
