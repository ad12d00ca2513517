// SPDX-License-Identifier: MIT
// RapidCheck property for parse_ethernet: on any input it stays inside the span and its
// verdict, header size and payload agree with the 0x8100 rule. Apart so ethernet_test.cpp
// builds without RapidCheck.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "lanparty/proto/ethernet.hpp"

namespace lanparty::proto {
namespace {

RC_GTEST_PROP(Ethernet, StaysInsideTheSpanAndAgreesWithHeaderSize,
              (std::vector<std::uint8_t> input, bool force_tag)) {
  if (force_tag && input.size() >= 14) {
    input[12] = 0x81;
    input[13] = 0x00;
  }
  auto exact = std::make_unique<std::uint8_t[]>(input.size());
  std::copy(input.begin(), input.end(), exact.get());
  const std::span<const std::uint8_t> frame(exact.get(), input.size());

  const auto eth = parse_ethernet(frame);
  const bool tagged = frame.size() >= 14 && frame[12] == 0x81 && frame[13] == 0x00;
  const std::size_t needed = tagged ? 18 : 14;
  RC_ASSERT(eth.has_value() == (frame.size() >= needed));
  if (eth) {
    RC_ASSERT(eth->tagged == tagged);
    RC_ASSERT(eth->header_size == needed);
    RC_ASSERT(eth->payload.data() == frame.data() + needed);
    RC_ASSERT(eth->payload.size() == frame.size() - needed);
  } else {
    RC_ASSERT(eth.error() == DropReason::kRunt);
  }
}

}  // namespace
}  // namespace lanparty::proto
