// SPDX-License-Identifier: MIT
// The generator's frames: what the relay's client rules let through, and the stamp round trip.
#include "bench_frame.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "lanparty/proto/frame_filter.hpp"
#include "lanparty/proto/mtu.hpp"

namespace lanparty::bench {
namespace {

const proto::MacAddress kClient({0x02, 0x4c, 0x50, 0x00, 0x07, 0x03});
const proto::MacAddress kGateway({0x02, 0x4c, 0x50, 0x00, 0x07, 0x00});

TEST(BenchFrame, ClientFramePassesTheRelaysHeaderAndClientRules) {
  for (const std::size_t frame_bytes : {kMinBenchFrameBytes, std::size_t{100}, std::size_t{1200},
                                        proto::kDefaultMaxMtu + proto::kEthernetHeaderSize}) {
    std::vector<std::uint8_t> datagram(proto::kOverlayHeaderSize + frame_bytes);
    ASSERT_TRUE(build_bench_datagram(datagram, 7, kGateway, kClient, 3));
    auto overlay = proto::parse_from_peer(datagram, 7);
    ASSERT_TRUE(overlay) << frame_bytes;
    EXPECT_EQ(overlay->kind(), proto::DatagramKind::kEthernet);
    auto checked = proto::check_frame(overlay->body, proto::kDefaultMaxMtu,
                                      proto::SenderRole::kClient, kClient);
    ASSERT_TRUE(checked) << frame_bytes << ": " << proto::to_string(checked.error());
    EXPECT_EQ(checked->destination, kGateway);
    EXPECT_EQ(checked->source, kClient);
  }
}

TEST(BenchFrame, StampRoundTripsThroughTheFrame) {
  std::vector<std::uint8_t> datagram(proto::kOverlayHeaderSize + 100);
  ASSERT_TRUE(build_bench_datagram(datagram, 1, kClient, kGateway, 0xdeadbeef));
  stamp_bench_datagram(datagram, 0x0102030405060708, 0xfffffffffffffffe);
  auto stamp = read_bench_stamp(std::span(datagram).subspan(proto::kOverlayHeaderSize));
  ASSERT_TRUE(stamp);
  EXPECT_EQ(stamp->flow, 0xdeadbeefu);
  EXPECT_EQ(stamp->seq, 0x0102030405060708u);
  EXPECT_EQ(stamp->send_ns, 0xfffffffffffffffeu);
}

TEST(BenchFrame, RestampingChangesOnlySequenceAndTime) {
  std::vector<std::uint8_t> datagram(proto::kOverlayHeaderSize + 64);
  ASSERT_TRUE(build_bench_datagram(datagram, 1, kClient, kGateway, 5));
  stamp_bench_datagram(datagram, 1, 2);
  const auto first = datagram;
  stamp_bench_datagram(datagram, 9, 10);
  for (std::size_t i = 0; i < datagram.size(); ++i) {
    const std::size_t in_frame = i - proto::kOverlayHeaderSize;
    const bool stamp_byte =
        i >= proto::kOverlayHeaderSize && in_frame >= kSeqOffset && in_frame < kMinBenchFrameBytes;
    if (!stamp_byte) {
      EXPECT_EQ(datagram[i], first[i]) << i;
    }
  }
  EXPECT_EQ(read_bench_stamp(std::span(datagram).subspan(proto::kOverlayHeaderSize))->seq, 9u);
}

TEST(BenchFrame, ForeignFramesCarryNoStamp) {
  std::vector<std::uint8_t> datagram(proto::kOverlayHeaderSize + 100);
  ASSERT_TRUE(build_bench_datagram(datagram, 1, kClient, kGateway, 0));
  auto frame = std::span(datagram).subspan(proto::kOverlayHeaderSize);
  EXPECT_FALSE(read_bench_stamp(frame.first(kMinBenchFrameBytes - 1)));  // too short
  auto other_type = datagram;
  other_type[proto::kOverlayHeaderSize + 12] = 0x08;  // IPv4
  other_type[proto::kOverlayHeaderSize + 13] = 0x00;
  EXPECT_FALSE(read_bench_stamp(std::span(other_type).subspan(proto::kOverlayHeaderSize)));
  auto other_magic = datagram;
  other_magic[proto::kOverlayHeaderSize + kMagicOffset] ^= 0xff;
  EXPECT_FALSE(read_bench_stamp(std::span(other_magic).subspan(proto::kOverlayHeaderSize)));
}

TEST(BenchFrame, RefusesADatagramTooShortForTheStamp) {
  std::vector<std::uint8_t> datagram(proto::kOverlayHeaderSize + kMinBenchFrameBytes - 1, 0xaa);
  EXPECT_FALSE(build_bench_datagram(datagram, 1, kClient, kGateway, 0));
  EXPECT_EQ(datagram, std::vector<std::uint8_t>(datagram.size(), 0xaa));  // untouched
}

}  // namespace
}  // namespace lanparty::bench
