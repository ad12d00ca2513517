// SPDX-License-Identifier: MIT
#include "lanparty/obs/counters.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace lanparty::obs {
namespace {

enum class TestReason { kA, kB, kC, kCount };
using Counters = ReasonCounters<TestReason, static_cast<std::size_t>(TestReason::kCount)>;

TEST(ReasonCounters, CountsEachReasonSeparately) {
  Counters c;
  c.on_drop(TestReason::kA);
  c.on_drop(TestReason::kC);
  c.on_drop(TestReason::kC);
  EXPECT_EQ(c.count(TestReason::kA), 1u);
  EXPECT_EQ(c.count(TestReason::kB), 0u);
  EXPECT_EQ(c.count(TestReason::kC), 2u);
  EXPECT_EQ(c.total(), 3u);
}

TEST(ReasonCounters, VisitsOnlyNonZeroInOrder) {
  Counters c;
  c.add(TestReason::kC, 5);
  c.on_drop(TestReason::kA);
  std::vector<std::pair<TestReason, std::uint64_t>> seen;
  c.for_each_nonzero([&](TestReason r, std::uint64_t n) { seen.emplace_back(r, n); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(TestReason::kA, std::uint64_t{1}));
  EXPECT_EQ(seen[1], std::make_pair(TestReason::kC, std::uint64_t{5}));
}

}  // namespace
}  // namespace lanparty::obs
