// SPDX-License-Identifier: MIT
#include "lanparty/base/token_bucket.hpp"

#include <gtest/gtest.h>

namespace lanparty {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

const Clock::time_point kStart = Clock::time_point{} + 100s;

TEST(TokenBucket, DefaultIsUnlimited) {
  TokenBucket bucket;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(bucket.take(kStart, 1e9));
  EXPECT_TRUE(bucket.unlimited());
  EXPECT_TRUE(bucket.full_at(kStart));
}

TEST(TokenBucket, StartsFullAndRefusesPastTheBurst) {
  TokenBucket bucket(10, 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.take(kStart)) << i;
  EXPECT_FALSE(bucket.take(kStart));
}

TEST(TokenBucket, RefillsAtTheRateAndNoFurtherThanTheBurst) {
  TokenBucket bucket(10, 5);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bucket.take(kStart));
  EXPECT_FALSE(bucket.take(kStart + 50ms));  // half a token
  EXPECT_TRUE(bucket.take(kStart + 100ms));
  EXPECT_FALSE(bucket.take(kStart + 100ms));
  // An hour idle gives back the burst, not 36000 tokens.
  const auto later = kStart + 1h;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.take(later)) << i;
  EXPECT_FALSE(bucket.take(later));
}

TEST(TokenBucket, ARefusedTakeCostsNothing) {
  TokenBucket bucket(1000, 1500);  // bytes
  ASSERT_TRUE(bucket.take(kStart, 1000));
  EXPECT_FALSE(bucket.take(kStart, 1000));  // 500 left: refused whole
  EXPECT_TRUE(bucket.take(kStart, 500));
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  TokenBucket bucket(10, 2);
  ASSERT_TRUE(bucket.take(kStart + 1s));
  ASSERT_TRUE(bucket.take(kStart + 1s));
  EXPECT_FALSE(bucket.take(kStart));
  EXPECT_FALSE(bucket.take(kStart + 1s));
}

TEST(TokenBucket, HoldsLooksWithoutTaking) {
  TokenBucket bucket(10, 2);
  EXPECT_TRUE(bucket.holds(kStart, 2));
  EXPECT_FALSE(bucket.holds(kStart, 3));
  ASSERT_TRUE(bucket.take(kStart, 2));
  EXPECT_FALSE(bucket.holds(kStart));
  EXPECT_TRUE(bucket.holds(kStart + 100ms));
  EXPECT_TRUE(bucket.holds(kStart + 100ms));  // still there: holds took nothing
  EXPECT_TRUE(bucket.take(kStart + 100ms));
}

TEST(TokenBucket, FullAtSaysWhenItsOwnerNeedNotBeRemembered) {
  TokenBucket bucket(10, 5);
  ASSERT_TRUE(bucket.take(kStart, 5));
  EXPECT_FALSE(bucket.full_at(kStart + 100ms));
  EXPECT_TRUE(bucket.full_at(kStart + 500ms));
}

}  // namespace
}  // namespace lanparty
