// SPDX-License-Identifier: MIT
#include "peer_rate.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::relay {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = PeerRateLimiter::Clock;

const Clock::time_point kStart = Clock::time_point{} + 10s;

TEST(ParseRateLimit, FramesBytesBothOrOff) {
  EXPECT_EQ(*parse_rate_limit("2000pps", "--peer-broadcast-rate"),
            (RateLimit{.frames_per_second = 2000, .bytes_per_second = 0}));
  EXPECT_EQ(*parse_rate_limit("32Mbit", "--peer-broadcast-rate"),
            (RateLimit{.frames_per_second = 0, .bytes_per_second = 4e6}));
  EXPECT_EQ(*parse_rate_limit("4MB,2000pps", "--peer-broadcast-rate"),
            (RateLimit{.frames_per_second = 2000, .bytes_per_second = 4e6}));
  EXPECT_EQ(*parse_rate_limit("1.5Gbit", "--peer-rate"),
            (RateLimit{.frames_per_second = 0, .bytes_per_second = 187.5e6}));
  EXPECT_EQ(*parse_rate_limit("800kbit", "--peer-rate"),
            (RateLimit{.frames_per_second = 0, .bytes_per_second = 100e3}));
  EXPECT_EQ(*parse_rate_limit("off", "--peer-rate"), RateLimit{});
}

TEST(ParseRateLimit, BadTextSaysWhatIsWrongAndWhatIsAccepted) {
  for (const char* text : {"", "fast", "2000", "-5pps", "0pps", "2000pps,", "10pps,20pps",
                           "1MB,2MB", "5 Mbit", "nanMbit", "2000ppsx", "Mbit"}) {
    auto parsed = parse_rate_limit(text, "--peer-rate");
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::kInvalidArgument) << text;
    EXPECT_THAT(parsed.error().describe(), HasSubstr("--peer-rate")) << text;
    EXPECT_THAT(parsed.error().describe(), HasSubstr("\"2000pps,32Mbit\"")) << text;
  }
}

TEST(ParseRateLimit, DefaultsPrintInTheFormTheyParseFrom) {
  EXPECT_EQ(to_string(kDefaultPeerRate), "200000pps,2Gbit");
  EXPECT_EQ(to_string(kDefaultPeerBroadcastRate), "2000pps,32Mbit");
  EXPECT_EQ(to_string(RateLimit{}), "off");
  EXPECT_EQ(*parse_rate_limit(to_string(kDefaultPeerRate), "x"), kDefaultPeerRate);
  EXPECT_EQ(*parse_rate_limit(to_string(kDefaultPeerBroadcastRate), "x"),
            kDefaultPeerBroadcastRate);
}

TEST(PeerRateLimiter, UnlimitedAdmitsEverything) {
  PeerRateLimiter limiter({}, {});
  EXPECT_FALSE(limiter.limited());
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(limiter.admit(kStart, 1500, true));
}

TEST(PeerRateLimiter, BroadcastHasItsOwnBudgetAndUnicastIsNotChargedToIt) {
  // 1000 broadcast frames/s: a burst of 200 (a fifth of a second), then refused.
  PeerRateLimiter limiter(RateLimit{}, RateLimit{.frames_per_second = 1000});
  ASSERT_TRUE(limiter.limited());
  int passed = 0;
  for (int i = 0; i < 1000; ++i) passed += limiter.admit(kStart, 100, true) ? 1 : 0;
  EXPECT_EQ(passed, 200);
  // Unicast goes on while broadcast is exhausted.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.admit(kStart, 100, false));
  // 100 ms later, 100 more broadcasts.
  passed = 0;
  for (int i = 0; i < 1000; ++i) passed += limiter.admit(kStart + 100ms, 100, true) ? 1 : 0;
  EXPECT_EQ(passed, 100);
}

TEST(PeerRateLimiter, BytesLimitHoldsTheSustainedRate) {
  // 1 MB/s overall: over 10 s of 1000-byte frames offered at 10x the rate, about 10 MB pass
  // (plus the initial burst of 200 kB).
  PeerRateLimiter limiter(RateLimit{.bytes_per_second = 1e6}, RateLimit{});
  std::size_t passed_bytes = 0;
  for (int ms = 0; ms < 10000; ++ms) {
    for (int i = 0; i < 10; ++i) {
      if (limiter.admit(kStart + std::chrono::milliseconds(ms), 1000, false)) passed_bytes += 1000;
    }
  }
  EXPECT_GE(passed_bytes, 10'100'000u);
  EXPECT_LE(passed_bytes, 10'300'000u);
}

TEST(PeerRateLimiter, TheMinimumBurstLetsATcpWindowThrough) {
  // Even a low limit passes 64 back-to-back frames and 64 KiB.
  PeerRateLimiter limiter(RateLimit{.frames_per_second = 10, .bytes_per_second = 1000}, {});
  int passed = 0;
  for (int i = 0; i < 100; ++i) passed += limiter.admit(kStart, 1000, false) ? 1 : 0;
  EXPECT_EQ(passed, 64);
}

}  // namespace
}  // namespace lanparty::relay
