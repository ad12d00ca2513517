// SPDX-License-Identifier: MIT
// Ethernet parsing: header sizes, the single 0x8100 tag, QinQ as an ordinary EtherType, runts.
// The no-overread property is in ethernet_property_test.cpp.
#include "lanparty/proto/ethernet.hpp"

#include <gtest/gtest.h>

#include "frame_builder.hpp"

namespace lanparty::proto {
namespace {

using testing::Bytes;
using testing::EthernetFrame;

TEST(Ethernet, ParsesUntaggedGoldenFrame) {
  const Bytes frame = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // destination
                       0x02, 0x5a, 0x11, 0x22, 0x33, 0x44,  // source
                       0x08, 0x06,                          // ARP
                       0x00, 0x01};
  const auto eth = parse_ethernet(frame);
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->destination.is_broadcast());
  EXPECT_EQ(eth->source, testing::kClientMac);
  EXPECT_FALSE(eth->tagged);
  EXPECT_EQ(eth->outer_ethertype, 0x0806);
  EXPECT_EQ(eth->ethertype, 0x0806);
  EXPECT_EQ(eth->header_size, 14U);
  EXPECT_EQ(eth->payload.data(), frame.data() + 14);
  EXPECT_EQ(eth->payload.size(), 2U);
}

TEST(Ethernet, LooksThroughOneVlanTag) {
  const Bytes frame = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x02, 0x5a, 0x11, 0x22,
                       0x33, 0x44, 0x81, 0x00, 0x20, 0x64, 0x86, 0xdd, 0x60};
  const auto eth = parse_ethernet(frame);
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->tagged);
  EXPECT_EQ(eth->outer_ethertype, kEtherTypeVlan);
  EXPECT_EQ(eth->ethertype, kEtherTypeIpv6);
  EXPECT_EQ(eth->header_size, 18U);
  ASSERT_EQ(eth->payload.size(), 1U);
  EXPECT_EQ(eth->payload[0], 0x60);
}

TEST(Ethernet, TreatsQinQAndInnerTagsAsOrdinaryEtherTypes) {
  const auto qinq = EthernetFrame{.ethertype = kEtherTypeQinQ, .payload = {1, 2, 3, 4}}.build();
  const auto outer = parse_ethernet(qinq);
  ASSERT_TRUE(outer);
  EXPECT_FALSE(outer->tagged);
  EXPECT_EQ(outer->ethertype, kEtherTypeQinQ);
  EXPECT_EQ(outer->header_size, 14U);

  const auto double_tag =
      EthernetFrame{.tags = {kEtherTypeVlan, kEtherTypeVlan}, .ethertype = kEtherTypeIpv4}.build();
  const auto inner = parse_ethernet(double_tag);
  ASSERT_TRUE(inner);
  EXPECT_TRUE(inner->tagged);
  EXPECT_EQ(inner->ethertype, kEtherTypeVlan);
  EXPECT_EQ(inner->header_size, 18U);
}

TEST(Ethernet, AcceptsHeaderOnlyFrames) {
  const auto frame = EthernetFrame{}.build();
  ASSERT_EQ(frame.size(), 14U);
  const auto eth = parse_ethernet(frame);
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->payload.empty());
}

TEST(Ethernet, RejectsRuntUntaggedFrame) {
  const Bytes frame(13, 0x02);
  EXPECT_EQ(parse_ethernet(frame).error(), DropReason::kRunt);
  EXPECT_EQ(parse_ethernet({}).error(), DropReason::kRunt);
}

TEST(Ethernet, RejectsRuntTaggedFrame) {
  auto frame = EthernetFrame{.tags = {kEtherTypeVlan}}.build();
  ASSERT_EQ(frame.size(), 18U);
  EXPECT_TRUE(parse_ethernet(frame));
  frame.pop_back();
  EXPECT_EQ(parse_ethernet(frame).error(), DropReason::kRunt);
  frame.resize(14);  // 0x8100 with no TCI at all
  EXPECT_EQ(parse_ethernet(frame).error(), DropReason::kRunt);
}

}  // namespace
}  // namespace lanparty::proto
