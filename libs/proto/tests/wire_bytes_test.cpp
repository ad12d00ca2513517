// SPDX-License-Identifier: MIT
// Big-endian field access: golden byte orders at offsets, neighbours untouched, constexpr use.
// The store/load round-trip properties are in wire_bytes_property_test.cpp.
#include "lanparty/proto/wire_bytes.hpp"

#include <gtest/gtest.h>

#include <array>

namespace lanparty::proto {
namespace {

TEST(WireBytes, LoadsBigEndianAtOffset) {
  constexpr std::array<std::uint8_t, 6> kBytes = {0xaa, 0x12, 0x34, 0x56, 0x78, 0xbb};
  EXPECT_EQ(load_be16(kBytes, 1), 0x1234);
  EXPECT_EQ(load_be16(kBytes, 4), 0x78bb);
  EXPECT_EQ(load_be32(kBytes, 1), 0x12345678U);
  EXPECT_EQ(load_be32(kBytes, 2), 0x345678bbU);
}

TEST(WireBytes, StoresBigEndianAtOffsetWithoutTouchingNeighbours) {
  std::array<std::uint8_t, 8> buf{};
  buf.fill(0xee);
  store_be16(buf, 1, 0xbeef);
  store_be32(buf, 3, 0x01020304U);
  EXPECT_EQ(buf, (std::array<std::uint8_t, 8>{0xee, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xee}));
}

TEST(WireBytes, WorksInConstantExpressions) {
  constexpr std::array<std::uint8_t, 2> kPort = {0x02, 0x23};
  static_assert(load_be16(kPort, 0) == 547);
  SUCCEED();
}

}  // namespace
}  // namespace lanparty::proto
