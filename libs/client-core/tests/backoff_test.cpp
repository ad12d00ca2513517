// SPDX-License-Identifier: MIT
#include "lanparty/client_core/backoff.hpp"

#include <gtest/gtest.h>

namespace lanparty::client_core {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesUpToTheCap) {
  Backoff b({.initial = milliseconds(100), .max = milliseconds(500), .factor = 2.0, .jitter = 0.5});
  EXPECT_EQ(b.next(0.0), milliseconds(100));
  EXPECT_EQ(b.next(0.0), milliseconds(200));
  EXPECT_EQ(b.next(0.0), milliseconds(400));
  EXPECT_EQ(b.next(0.0), milliseconds(500));
  EXPECT_EQ(b.next(0.0), milliseconds(500));
}

TEST(Backoff, JitterShortensWithinTheSpread) {
  Backoff b(
      {.initial = milliseconds(1000), .max = milliseconds(8000), .factor = 2.0, .jitter = 0.5});
  // random 0.999 -> close to base * (1 - 0.5)
  const auto d = b.next(0.999);
  EXPECT_GE(d, milliseconds(500));
  EXPECT_LT(d, milliseconds(502));
}

TEST(Backoff, ResetStartsOver) {
  Backoff b(
      {.initial = milliseconds(100), .max = milliseconds(1000), .factor = 2.0, .jitter = 0.0});
  (void)b.next(0.5);
  (void)b.next(0.5);
  b.reset();
  EXPECT_EQ(b.next(0.5), milliseconds(100));
}

}  // namespace
}  // namespace lanparty::client_core
