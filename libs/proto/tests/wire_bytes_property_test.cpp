// SPDX-License-Identifier: MIT
// RapidCheck properties for big-endian field access: store then load is the identity and the
// most significant byte goes first. Kept apart so wire_bytes_test.cpp builds without RapidCheck.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <cstdint>

#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::proto {
namespace {

RC_GTEST_PROP(WireBytes, Be16StoreThenLoadIsIdentity, (std::uint16_t value)) {
  std::array<std::uint8_t, 2> buf{};
  store_be16(buf, 0, value);
  RC_ASSERT(load_be16(buf, 0) == value);
  RC_ASSERT(buf[0] == static_cast<std::uint8_t>(value >> 8));
}

RC_GTEST_PROP(WireBytes, Be32StoreThenLoadIsIdentity, (std::uint32_t value)) {
  std::array<std::uint8_t, 4> buf{};
  store_be32(buf, 0, value);
  RC_ASSERT(load_be32(buf, 0) == value);
  RC_ASSERT(buf[0] == static_cast<std::uint8_t>(value >> 24));
}

}  // namespace
}  // namespace lanparty::proto
