// SPDX-License-Identifier: MIT
// The attack suite's pure parts: raw packets and their checksums, what the relay's answers are
// judged to be, Prometheus text, and ping percentiles.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "attack_net.hpp"
#include "legit_room.hpp"
#include "relay_under_test.hpp"

namespace lanparty::bench::attack {
namespace {

TEST(OnesComplementSum, MatchesTheRfc1071Example) {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const std::array<std::uint8_t, 8> bytes = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ones_complement_sum(bytes), 0xddf2);
}

TEST(OnesComplementSum, PadsAnOddByteWithZero) {
  const std::array<std::uint8_t, 3> bytes = {0x12, 0x34, 0x56};
  EXPECT_EQ(ones_complement_sum(bytes), 0x1234 + 0x5600);
}

TEST(BuildIpv4Udp, WritesHeadersWhoseChecksumsVerify) {
  const std::vector<std::uint8_t> payload = {0xc0, 0x00, 0x00, 0x00, 0x01, 0xaa, 0xbb};
  std::vector<std::uint8_t> packet(128, 0xee);
  const std::size_t n = build_ipv4_udp(packet, 0x0ad50102, 61234, 0x0ad50001, 4433, payload, 7);
  ASSERT_EQ(n, kIpv4HeaderBytes + kUdpHeaderBytes + payload.size());
  packet.resize(n);
  // A header with a correct checksum sums to 0xffff.
  EXPECT_EQ(ones_complement_sum(std::span(packet).first(kIpv4HeaderBytes)), 0xffff);
  const std::uint32_t pseudo = 0x0ad5 + 0x0102 + 0x0ad5 + 0x0001 + 17 +
                               static_cast<std::uint32_t>(kUdpHeaderBytes + payload.size());
  EXPECT_EQ(ones_complement_sum(std::span(packet).subspan(kIpv4HeaderBytes), pseudo), 0xffff);
  const auto parsed = parse_raw_udp(packet);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->source, 0x0ad50102u);
  EXPECT_EQ(parsed->destination, 0x0ad50001u);
  EXPECT_EQ(parsed->source_port, 61234);
  EXPECT_EQ(parsed->destination_port, 4433);
  EXPECT_EQ(std::vector<std::uint8_t>(parsed->payload.begin(), parsed->payload.end()), payload);
}

TEST(BuildIpv4Udp, WritesNothingWhenTheBufferIsTooSmall) {
  const std::vector<std::uint8_t> payload(100, 1);
  std::vector<std::uint8_t> packet(127, 0xee);
  EXPECT_EQ(build_ipv4_udp(packet, 1, 2, 3, 4, payload, 5), 0u);
  EXPECT_EQ(packet, std::vector<std::uint8_t>(127, 0xee));
}

TEST(ParseRawUdp, RefusesWhatIsNotIpv4Udp) {
  std::vector<std::uint8_t> packet(64, 0);
  const std::vector<std::uint8_t> payload = {1, 2, 3};
  ASSERT_NE(build_ipv4_udp(packet, 1, 2, 3, 4, payload, 5), 0u);
  auto tcp = packet;
  tcp[9] = 6;
  EXPECT_FALSE(parse_raw_udp(tcp));
  auto ipv6 = packet;
  ipv6[0] = 0x60;
  EXPECT_FALSE(parse_raw_udp(ipv6));
  EXPECT_FALSE(parse_raw_udp(std::span(packet).first(kIpv4HeaderBytes + 4)));
}

TEST(ClassifyQuic, NamesEachLongHeaderTypeAndTheRest) {
  struct Case {
    std::vector<std::uint8_t> bytes;
    QuicPacketType type;
  };
  const std::vector<Case> cases = {
      {{0xc3, 0, 0, 0, 1}, QuicPacketType::kInitial},
      {{0xd0, 0, 0, 0, 1}, QuicPacketType::kZeroRtt},
      {{0xe1, 0, 0, 0, 1}, QuicPacketType::kHandshake},
      {{0xf0, 0, 0, 0, 1}, QuicPacketType::kRetry},
      {{0x80, 0, 0, 0, 0}, QuicPacketType::kVersionNegotiation},
      {{0x40, 1, 2}, QuicPacketType::kShortHeader},
      {{0xc0, 0, 0}, QuicPacketType::kTooShort},
      {{}, QuicPacketType::kTooShort},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify_quic(c.bytes), c.type) << to_string(c.type);
  }
}

TEST(ParsePrometheus, ReadsSeriesWithLabelsAndSkipsComments) {
  const auto series = parse_prometheus(
      "# HELP lanparty_relay_peers Admitted peers.\n"
      "# TYPE lanparty_relay_peers gauge\n"
      "lanparty_relay_peers 3\n"
      "lanparty_relay_rejects_total{code=\"relay_full\"} 12\n"
      "garbage\n"
      "lanparty_relay_bytes_in_total 1.5e3");
  EXPECT_EQ(series.size(), 3u);
  EXPECT_EQ(series.at("lanparty_relay_peers"), 3);
  EXPECT_EQ(series.at("lanparty_relay_rejects_total{code=\"relay_full\"}"), 12);
  EXPECT_EQ(series.at("lanparty_relay_bytes_in_total"), 1500);
}

TEST(MetricDeltas, KeepsOnlySeriesThatMoved) {
  const MetricSeries before = {{"a", 1}, {"b", 5}};
  const MetricSeries after = {{"a", 1}, {"b", 9}, {"c", 2}};
  const MetricSeries deltas = metric_deltas(before, after);
  EXPECT_EQ(deltas, (MetricSeries{{"b", 4}, {"c", 2}}));
}

TEST(SummarizePings, TakesTheNearestRankPercentiles) {
  std::vector<std::uint32_t> rtt_us;
  for (std::uint32_t i = 100; i >= 1; --i) rtt_us.push_back(i * 1000);  // 1..100 ms, unsorted
  const PingSummary s = summarize_pings(rtt_us, 102, 2, 1);
  EXPECT_EQ(s.sent, 102u);
  EXPECT_EQ(s.answered, 100u);
  EXPECT_EQ(s.lost, 2u);
  EXPECT_EQ(s.late, 1u);
  EXPECT_DOUBLE_EQ(s.p50_ms, 50);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  EXPECT_NEAR(s.loss_percent(), 100.0 * 2 / 102, 1e-9);
}

TEST(SummarizePings, IsAllZeroWithoutAnswers) {
  const PingSummary s = summarize_pings({}, 5, 5, 0);
  EXPECT_EQ(s.answered, 0u);
  EXPECT_EQ(s.p99_ms, 0);
  EXPECT_EQ(s.loss_percent(), 100);
}

}  // namespace
}  // namespace lanparty::bench::attack
