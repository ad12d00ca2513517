// SPDX-License-Identifier: MIT
// RapidCheck properties for the MTU arithmetic: the QUIC budget is the largest that fits the
// path, and room MTU <-> max datagram round-trips. Apart so mtu_test.cpp builds without RapidCheck.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstddef>
#include <cstdint>

#include "lanparty/proto/mtu.hpp"

namespace lanparty::proto {
namespace {

RC_GTEST_PROP(Mtu, QuicBudgetPlusOverheadFitsThePath, (std::uint16_t path_mtu, bool ipv6)) {
  const std::size_t dcid = *rc::gen::inRange<std::size_t>(0, 21);
  const auto family = ipv6 ? IpFamily::kIpv6 : IpFamily::kIpv4;
  const std::size_t budget = quic_datagram_budget(path_mtu, family, dcid);
  if (budget == 0) return;
  const std::size_t varint = budget < 64 ? 1 : budget < 16384 ? 2 : 4;
  const std::size_t used = (ipv6 ? 40 : 20) + 8 + 1 + dcid + 4 + 16 + 1 + varint + budget;
  RC_ASSERT(used <= path_mtu);
  // Maximal: one more byte would not fit.
  RC_ASSERT(quic_datagram_budget(std::size_t{path_mtu} - 1, family, dcid) <= budget);
  RC_ASSERT(used + 2 > path_mtu);
}

RC_GTEST_PROP(Mtu, RoomMtuRoundTripsThroughMaxDatagram, (std::uint16_t mtu)) {
  RC_ASSERT(room_mtu_for_budget(max_datagram_for_mtu(mtu), 65535) == mtu);
}

}  // namespace
}  // namespace lanparty::proto
