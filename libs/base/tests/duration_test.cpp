// SPDX-License-Identifier: MIT
#include "lanparty/base/duration.hpp"

#include <gtest/gtest.h>

namespace lanparty {
namespace {

using namespace std::chrono_literals;
constexpr std::chrono::seconds kYear = 365 * 24h;

TEST(ParseDuration, SecondsOrOneUnit) {
  EXPECT_EQ(parse_duration("90", kYear), 90s);
  EXPECT_EQ(parse_duration("45s", kYear), 45s);
  EXPECT_EQ(parse_duration("30m", kYear), 30min);
  EXPECT_EQ(parse_duration("12h", kYear), 12h);
  EXPECT_EQ(parse_duration("30d", kYear), 30 * 24h);
  EXPECT_EQ(parse_duration("365d", kYear), kYear);
}

TEST(ParseDuration, RefusesWithAReason) {
  EXPECT_EQ(parse_duration("", kYear).error(), DurationError::kEmpty);
  for (const char* bad : {"h", "5x", "-1h", "1.5h", "24 h", "h24", "1e3", "+5", "0x10"}) {
    EXPECT_EQ(parse_duration(bad, kYear).error(), DurationError::kNotANumber) << bad;
  }
  EXPECT_EQ(parse_duration("0", kYear).error(), DurationError::kZero);
  EXPECT_EQ(parse_duration("0d", kYear).error(), DurationError::kZero);
  EXPECT_EQ(parse_duration("366d", kYear).error(), DurationError::kTooLong);
  EXPECT_EQ(parse_duration("99999999999999999999", kYear).error(), DurationError::kTooLong);
}

}  // namespace
}  // namespace lanparty
