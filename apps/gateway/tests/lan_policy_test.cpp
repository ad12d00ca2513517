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
  peers.add({2, ctrl::Role::kClient, kClient});
  return peers;
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
