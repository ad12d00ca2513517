// SPDX-License-Identifier: MIT
// Budget and MTU arithmetic of PROTOCOL.md sections 2 and 4, and the QUIC overhead checked
// against figures measured with ngtcp2 0.12.1. The properties are in mtu_property_test.cpp.
#include "lanparty/proto/mtu.hpp"

#include <gtest/gtest.h>

namespace lanparty::proto {
namespace {

TEST(Mtu, PeerBudgetIsHelloOrTransportParameterMinusThree) {
  EXPECT_EQ(peer_budget(1430, 65535), 1430U);
  EXPECT_EQ(peer_budget(1430, 1000), 997U);
  EXPECT_EQ(peer_budget(65535, 65535), 65532U);
  EXPECT_EQ(peer_budget(1430, 3), 0U);
  EXPECT_EQ(peer_budget(1430, 2), 0U);
  EXPECT_EQ(peer_budget(1430, 0), 0U);
}

TEST(Mtu, RoomMtuIsCappedBudgetMinusOverhead) {
  EXPECT_EQ(room_mtu_for_budget(1430, kDefaultMaxMtu), 1380U);
  EXPECT_EQ(room_mtu_for_budget(1402, kDefaultMaxMtu), 1380U);
  EXPECT_EQ(room_mtu_for_budget(1401, kDefaultMaxMtu), 1379U);
  EXPECT_EQ(room_mtu_for_budget(598, 9000), 576U);
  EXPECT_EQ(room_mtu_for_budget(22, 1380), 0U);
  EXPECT_EQ(room_mtu_for_budget(21, 1380), 0U);
  EXPECT_EQ(room_mtu_for_budget(0, 1380), 0U);
}

TEST(Mtu, WelcomeMaxDatagramIsMtuPlus22) {
  EXPECT_EQ(kFrameOverheadBytes, 22U);
  EXPECT_EQ(max_datagram_for_mtu(1380), 1402U);  // the welcome example of PROTOCOL.md
  EXPECT_EQ(max_datagram_for_mtu(kMinRoomMtu), 598U);
}

TEST(Mtu, FullMtuTaggedFrameFillsMaxDatagramExactly) {
  const std::size_t mtu = 1380;
  const std::size_t tagged_frame = kEthernetHeaderSize + kVlanTagSize + mtu;
  EXPECT_EQ(kOverlayHeaderSize + tagged_frame, max_datagram_for_mtu(mtu));
}

// ngtcp2 0.12.1, 8-byte CID, IPv4: a 1472-byte UDP payload carried at most 1443 DATAGRAM
// bytes, a 1444-byte one 1415. We reserve a 4-byte packet number where ngtcp2 used a short
// one then, so we must come out exactly 3 bytes under and never over.
TEST(Mtu, QuicBudgetNeverExceedsMeasuredNgtcp2Figures) {
  constexpr std::size_t kIpv4Udp = 28;
  const std::size_t full = quic_datagram_budget(1472 + kIpv4Udp, IpFamily::kIpv4, 8);
  const std::size_t probe = quic_datagram_budget(1444 + kIpv4Udp, IpFamily::kIpv4, 8);
  EXPECT_LE(full, 1443U);
  EXPECT_LE(probe, 1415U);
  EXPECT_EQ(1443U - full, 3U);
  EXPECT_EQ(1415U - probe, 3U);
}

TEST(Mtu, QuicBudgetAccountsForFamilyAndConnectionIdLength) {
  EXPECT_EQ(quic_datagram_budget(1500, IpFamily::kIpv4, 8), 1440U);
  EXPECT_EQ(quic_datagram_budget(1500, IpFamily::kIpv6, 8), 1420U);
  EXPECT_EQ(quic_datagram_budget(1500, IpFamily::kIpv4, 0), 1448U);
  EXPECT_EQ(quic_datagram_budget(1500, IpFamily::kIpv6, 20), 1408U);
}

TEST(Mtu, DefaultMaxMtuFitsAStandardEthernetPathWithTheLongestConnectionId) {
  EXPECT_GE(quic_datagram_budget(1500, IpFamily::kIpv6, 20), max_datagram_for_mtu(kDefaultMaxMtu));
}

TEST(Mtu, QuicBudgetUsesShortLengthVarintAtTheBoundary) {
  // IPv4, empty CID: 20 + 8 + 5 + 16 + 1 = 50 bytes before the length varint.
  EXPECT_EQ(quic_datagram_budget(50 + 64, IpFamily::kIpv4, 0), 63U);  // 1-byte varint
  EXPECT_EQ(quic_datagram_budget(50 + 65, IpFamily::kIpv4, 0), 63U);  // 64 would need 2 bytes
  EXPECT_EQ(quic_datagram_budget(50 + 66, IpFamily::kIpv4, 0), 64U);
}

TEST(Mtu, QuicBudgetIsZeroWhenNothingFits) {
  EXPECT_EQ(quic_datagram_budget(0, IpFamily::kIpv4, 8), 0U);
  EXPECT_EQ(quic_datagram_budget(50, IpFamily::kIpv4, 0), 0U);
  EXPECT_EQ(quic_datagram_budget(51, IpFamily::kIpv4, 0), 0U);
  EXPECT_EQ(quic_datagram_budget(52, IpFamily::kIpv4, 0), 1U);
}

}  // namespace
}  // namespace lanparty::proto
