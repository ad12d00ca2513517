// SPDX-License-Identifier: MIT
#include "lan_policy.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace lanparty::gateway {
namespace {

const auto kClient = *proto::MacAddress::parse("02:5a:11:22:33:44");
const auto kGateway = *proto::MacAddress::parse("00:11:22:33:44:55");
const auto kLanHost = *proto::MacAddress::parse("00:aa:bb:cc:dd:ee");

std::vector<std::uint8_t> frame(const proto::MacAddress& dst, std::size_t payload = 46,
                                std::uint16_t ethertype = 0x0800) {
  std::vector<std::uint8_t> f(dst.bytes().begin(), dst.bytes().end());
  f.insert(f.end(), kLanHost.bytes().begin(), kLanHost.bytes().end());
  f.push_back(static_cast<std::uint8_t>(ethertype >> 8));
  f.push_back(static_cast<std::uint8_t>(ethertype));
  f.resize(f.size() + payload, 0);
  return f;
}

client_core::RemotePeers peers_with_client() {
  client_core::RemotePeers peers;
  ctrl::PeerInfo client;
  client.peer_id = 2;
  client.role = ctrl::Role::kClient;
  client.mac = kClient;
  peers.add(client);
  return peers;
}

struct Forwarded {
  LanVerdict verdict;
  std::vector<std::vector<std::uint8_t>> sent;  // frames handed to the runner, headroom cut
  proto::OffloadCounters counters;
};

// Runs forward_lan_frame on a copy of `f` placed behind 4 bytes of headroom.
Forwarded forward(const std::vector<std::uint8_t>& f, const client_core::RemotePeers& peers,
                  std::size_t room_mtu, proto::OffloadInfo offload = {}) {
  std::vector<std::uint8_t> datagram(4, 0);
  datagram.insert(datagram.end(), f.begin(), f.end());
  proto::LocalFrameFinisher finisher(4);
  Forwarded out{};
  out.verdict = forward_lan_frame(datagram, offload, peers, room_mtu, finisher,
                                  [&](std::span<std::uint8_t> d) {
                                    EXPECT_GE(d.size(), 4u);
                                    out.sent.emplace_back(d.begin() + 4, d.end());
                                  });
  out.counters = finisher.counters();
  return out;
}

LanVerdict classify_lan_frame(const std::vector<std::uint8_t>& f,
                              const client_core::RemotePeers& peers, std::size_t room_mtu) {
  const auto result = forward(f, peers, room_mtu);
  EXPECT_EQ(result.sent.size(), result.verdict == LanVerdict::kSend ? 1u : 0u);
  return result.verdict;
}

// An IPv4/UDP frame to the client whose checksum field holds only the pseudo-header sum, as
// the kernel leaves a CHECKSUM_PARTIAL frame (src 10.213.2.1:5000, dst 10.213.2.100:6000).
std::vector<std::uint8_t> partial_udp(const proto::MacAddress& dst, std::size_t payload) {
  auto f = frame(dst, 28 + payload);
  const std::uint8_t ip[] = {0x45, 0, 0,  0,   0, 1, 0x40, 0,   64, 17,
                             0,    0, 10, 213, 2, 1, 10,   213, 2,  100};
  std::copy(std::begin(ip), std::end(ip), f.begin() + 14);
  const auto ip_len = static_cast<std::uint16_t>(28 + payload);
  f[16] = static_cast<std::uint8_t>(ip_len >> 8);
  f[17] = static_cast<std::uint8_t>(ip_len);
  const auto udp_len = static_cast<std::uint16_t>(8 + payload);
  const std::uint8_t udp[] = {0x13,
                              0x88,
                              0x17,
                              0x70,
                              static_cast<std::uint8_t>(udp_len >> 8),
                              static_cast<std::uint8_t>(udp_len)};
  std::copy(std::begin(udp), std::end(udp), f.begin() + 34);
  for (std::size_t i = 0; i < payload; ++i) f[42 + i] = static_cast<std::uint8_t>(i * 3 + 1);
  const std::uint8_t pseudo[] = {10,
                                 213,
                                 2,
                                 1,
                                 10,
                                 213,
                                 2,
                                 100,
                                 0,
                                 17,
                                 static_cast<std::uint8_t>(udp_len >> 8),
                                 static_cast<std::uint8_t>(udp_len)};
  const std::uint16_t sum = proto::checksum_fold(proto::checksum_add(pseudo));
  f[40] = static_cast<std::uint8_t>(sum >> 8);
  f[41] = static_cast<std::uint8_t>(sum);
  return f;
}

constexpr proto::OffloadInfo kPartialUdp{
    .needs_checksum = true, .checksum_start = 34, .checksum_offset = 6};

// The one's-complement sum over pseudo-header and UDP datagram is 0xffff when valid.
bool udp_checksum_valid(const std::vector<std::uint8_t>& f) {
  std::vector<std::uint8_t> all = {f[26], f[27], f[28], f[29], f[30], f[31],
                                   f[32], f[33], 0,     17,    f[38], f[39]};
  all.insert(all.end(), f.begin() + 34, f.end());
  return proto::checksum_fold(proto::checksum_add(all)) == 0xffff;
}

TEST(ClassifyLanFrame, BroadcastAndMulticastGoToRoom) {
  const auto peers = peers_with_client();
  EXPECT_EQ(classify_lan_frame(frame(*proto::MacAddress::parse("ff:ff:ff:ff:ff:ff")), peers, 1380),
            LanVerdict::kSend);
  EXPECT_EQ(classify_lan_frame(frame(*proto::MacAddress::parse("33:33:00:00:00:01")), peers, 1380),
            LanVerdict::kSend);
}

TEST(ClassifyLanFrame, UnicastToRemotePeerGoesToRoom) {
  EXPECT_EQ(classify_lan_frame(frame(kClient), peers_with_client(), 1380), LanVerdict::kSend);
}

TEST(ClassifyLanFrame, UnicastToLanHostStaysOnLan) {
  EXPECT_EQ(classify_lan_frame(frame(kGateway), peers_with_client(), 1380),
            LanVerdict::kNotForRoom);
}

TEST(ClassifyLanFrame, LargerThanRoomMtuIsRefused) {
  const auto peers = peers_with_client();
  EXPECT_EQ(classify_lan_frame(frame(kClient, 1380), peers, 1380), LanVerdict::kSend);
  EXPECT_EQ(classify_lan_frame(frame(kClient, 1381), peers, 1380), LanVerdict::kTooLarge);
}

TEST(ClassifyLanFrame, RuntIsRefused) {
  std::vector<std::uint8_t> runt(10, 0xff);
  EXPECT_EQ(classify_lan_frame(runt, peers_with_client(), 1380), LanVerdict::kRunt);
}

TEST(ForwardLanFrame, CompletesAPartialChecksumOfAFrameForTheRoom) {
  for (std::size_t payload : {0u, 1u, 7u, 300u, 1001u}) {
    const auto f = partial_udp(kClient, payload);
    ASSERT_FALSE(udp_checksum_valid(f));
    const auto result = forward(f, peers_with_client(), 1380, kPartialUdp);
    EXPECT_EQ(result.verdict, LanVerdict::kSend);
    ASSERT_EQ(result.sent.size(), 1u);
    EXPECT_TRUE(udp_checksum_valid(result.sent[0])) << payload;
    EXPECT_EQ(result.counters.checksum_completed, 1u);
  }
}

TEST(ForwardLanFrame, LeavesACompleteFrameByteForByte) {
  auto f = partial_udp(kClient, 99);
  ASSERT_TRUE(proto::complete_checksum(f, 34, 6));
  const auto result = forward(f, peers_with_client(), 1380, {});
  ASSERT_EQ(result.sent.size(), 1u);
  EXPECT_EQ(result.sent[0], f);
  EXPECT_EQ(result.counters.checksum_completed, 0u);
}

TEST(ForwardLanFrame, NeverTouchesLanOnlyFrames) {
  const auto f = partial_udp(kGateway, 40);
  const auto result = forward(f, peers_with_client(), 1380, kPartialUdp);
  EXPECT_EQ(result.verdict, LanVerdict::kNotForRoom);
  EXPECT_TRUE(result.sent.empty());
  EXPECT_EQ(result.counters.checksum_completed, 0u);
}

TEST(ForwardLanFrame, BadChecksumOffsetsAreDroppedAndCounted) {
  const auto f = partial_udp(kClient, 10);
  const auto result = forward(f, peers_with_client(), 1380,
                              {.needs_checksum = true, .checksum_start = 60, .checksum_offset = 6});
  EXPECT_EQ(result.verdict, LanVerdict::kBadOffload);
  EXPECT_TRUE(result.sent.empty());
  EXPECT_EQ(result.counters.bad_offload, 1u);
}

TEST(ForwardLanFrame, CutsAUdpSuperFrameIntoSegmentsAndCountsThem) {
  // 3 x 500 bytes of UDP GSO payload, 100 in the last.
  auto f = partial_udp(kClient, 1600);
  proto::OffloadInfo gso = kPartialUdp;
  gso.gso_type = proto::GsoType::kUdpL4;
  gso.gso_size = 500;
  const auto result = forward(f, peers_with_client(), 1380, gso);
  EXPECT_EQ(result.verdict, LanVerdict::kSend);
  ASSERT_EQ(result.sent.size(), 4u);
  for (const auto& seg : result.sent) EXPECT_TRUE(udp_checksum_valid(seg));
  EXPECT_EQ(result.sent[0].size(), 42u + 500u);
  EXPECT_EQ(result.sent[3].size(), 42u + 100u);
  EXPECT_EQ(result.counters.super_frames, 1u);
  EXPECT_EQ(result.counters.segments, 4u);
  // A datagram size above the room is the sender's choice: refused whole, counted.
  gso.gso_size = 1400;
  const auto big = forward(f, peers_with_client(), 1380, gso);
  EXPECT_EQ(big.verdict, LanVerdict::kTooLarge);
  EXPECT_TRUE(big.sent.empty());
  EXPECT_EQ(big.counters.too_large, 1u);
}

TEST(LanMacTable, RemembersASourceForThreeHundredSeconds) {
  LanMacTable table;
  const auto t0 = LanMacTable::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_FALSE(table.seen_recently(kLanHost, t0));
  table.saw(kLanHost, t0);
  EXPECT_TRUE(table.seen_recently(kLanHost, t0 + std::chrono::seconds(299)));
  EXPECT_FALSE(table.seen_recently(kLanHost, t0 + std::chrono::seconds(300)));
  EXPECT_FALSE(table.seen_recently(kClient, t0));
  table.saw(kLanHost, t0 + std::chrono::seconds(250));  // seen again: the window restarts
  EXPECT_TRUE(table.seen_recently(kLanHost, t0 + std::chrono::seconds(500)));
}

TEST(LanMacTable, StaysBoundedWhateverTheLanSends) {
  LanMacTable table;
  const auto t0 = LanMacTable::Clock::time_point{} + std::chrono::hours(1);
  auto mac_n = [](std::uint32_t n) {
    return proto::MacAddress({0x02, 0, static_cast<std::uint8_t>(n >> 24),
                              static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                              static_cast<std::uint8_t>(n)});
  };
  for (std::uint32_t n = 0; n < LanMacTable::kMaxEntries + 100; ++n) table.saw(mac_n(n), t0);
  EXPECT_EQ(table.size(), LanMacTable::kMaxEntries);
  // Once the old ones are past the window, new MACs take their place.
  const auto later = t0 + LanMacTable::kWindow;
  table.saw(mac_n(999999), later);
  EXPECT_TRUE(table.seen_recently(mac_n(999999), later));
  EXPECT_EQ(table.size(), 1u);
}

TEST(CamRefreshFrame, HasProtocolLayout) {
  const auto f = cam_refresh_frame(kClient, kGateway);
  EXPECT_EQ(f.size(), 60u);
  EXPECT_TRUE(std::equal(kGateway.bytes().begin(), kGateway.bytes().end(), f.begin()));
  EXPECT_TRUE(std::equal(kClient.bytes().begin(), kClient.bytes().end(), f.begin() + 6));
  EXPECT_EQ(f[12], 0x88);
  EXPECT_EQ(f[13], 0xb5);
  EXPECT_TRUE(std::all_of(f.begin() + 14, f.end(), [](std::uint8_t b) { return b == 0; }));
}

}  // namespace
}  // namespace lanparty::gateway
