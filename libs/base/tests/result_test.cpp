// SPDX-License-Identifier: MIT
#include "lanparty/base/result.hpp"

#include <gtest/gtest.h>

#include "lanparty/base/defer.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(Errc::kInvalidArgument, "parse_positive(" + std::to_string(v) + ")");
  return v;
}

TEST(Result, CarriesValue) {
  auto r = parse_positive(3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 3);
}

TEST(Result, CarriesErrorWithContext) {
  auto r = parse_positive(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().describe(), "parse_positive(-1): invalid argument");
}

TEST(Result, ErrnoKeepsSystemCategory) {
  Status s = fail_errno(ENOENT, "open(/nope)");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, std::errc::no_such_file_or_directory);
}

TEST(Defer, RunsOnScopeExit) {
  int ran = 0;
  {
    Defer d([&] { ++ran; });
    EXPECT_EQ(ran, 0);
  }
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace lanparty
