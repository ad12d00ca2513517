// SPDX-License-Identifier: MIT
#include "lanparty/client_core/session.hpp"

#include <gtest/gtest.h>

#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::client_core {
namespace {

using namespace std::chrono_literals;

const auto kMac = *proto::MacAddress::parse("02:5a:11:22:33:44");

Session make_session() {
  return Session(SessionConfig{
      .role = ctrl::Role::kClient, .room = "ROOM1", .mac = kMac, .software = "test/1"});
}

std::vector<std::uint8_t> frame_bytes(const ctrl::Message& m) {
  std::string out;
  EXPECT_TRUE(ctrl::append_frame(m, out));
  return {out.begin(), out.end()};
}

ctrl::Welcome welcome() {
  return ctrl::Welcome{
      .protocol = 1,
      .peer_id = 7,
      .room = "ROOM1",
      .mtu = 1380,
      .max_datagram = 1402,
      .peers = {{1, ctrl::Role::kGateway, *proto::MacAddress::parse("00:11:22:33:44:55")}}};
}

TEST(Session, HelloCarriesConfigAndClampedBudget) {
  Session s = make_session();
  const std::string hello = s.hello_frame(100000);
  ctrl::FrameDecoder d;
  d.feed(std::span(reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()));
  auto m = d.next();
  ASSERT_TRUE(m && m->has_value());
  const auto& h = std::get<ctrl::Hello>(**m);
  EXPECT_EQ(h.protocol, 1);
  EXPECT_EQ(h.role, "client");
  EXPECT_EQ(h.room, "ROOM1");
  EXPECT_EQ(h.mac, "02:5a:11:22:33:44");
  EXPECT_EQ(h.max_datagram, 65535);
  EXPECT_EQ(h.software, "test/1");
}

ctrl::Hello decode_hello(const std::string& frame) {
  ctrl::FrameDecoder d;
  d.feed(std::span(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size()));
  auto m = d.next();
  EXPECT_TRUE(m && m->has_value());
  return std::get<ctrl::Hello>(**m);
}

TEST(Session, HelloWithoutAuthCarriesNoSection7Fields) {
  const auto h = decode_hello(make_session().hello_frame(1402));
  EXPECT_EQ(h.invite, std::nullopt);
  EXPECT_EQ(h.room_key, std::nullopt);
  EXPECT_EQ(h.room_proof, std::nullopt);
}

TEST(Session, ClientHelloCarriesItsInvite) {
  Session s(SessionConfig{.role = ctrl::Role::kClient,
                          .room = "ROOM1",
                          .mac = kMac,
                          .software = "test/1",
                          .invite = "lpi1.payload.signature"});
  const auto h = decode_hello(s.hello_frame(1402));
  EXPECT_EQ(h.invite, "lpi1.payload.signature");
  EXPECT_EQ(h.room_key, std::nullopt);
}

TEST(Session, GatewayHelloCarriesItsClaim) {
  Session s(SessionConfig{.role = ctrl::Role::kGateway, .room = "ROOM1", .mac = kMac});
  const RoomClaim claim{.room_key = "KEY", .room_proof = "PROOF"};
  const auto h = decode_hello(s.hello_frame(1402, &claim));
  EXPECT_EQ(h.role, "gateway");
  EXPECT_EQ(h.room_key, "KEY");
  EXPECT_EQ(h.room_proof, "PROOF");
  EXPECT_EQ(h.invite, std::nullopt);
}

TEST(Session, WelcomeJoinsAndFillsPeers) {
  Session s = make_session();
  auto msgs = s.on_control_bytes(frame_bytes(welcome()));
  ASSERT_TRUE(msgs);
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ(s.phase(), Phase::kJoined);
  EXPECT_TRUE(s.peers().contains_mac(*proto::MacAddress::parse("00:11:22:33:44:55")));
}

TEST(Session, MessagesSplitAcrossReadsAreReassembled) {
  Session s = make_session();
  auto bytes = frame_bytes(welcome());
  const auto joined = frame_bytes(ctrl::PeerJoined{{9, ctrl::Role::kClient, kMac}});
  bytes.insert(bytes.end(), joined.begin(), joined.end());
  std::size_t seen = 0;
  for (std::uint8_t b : bytes) {
    auto msgs = s.on_control_bytes(std::span(&b, 1));
    ASSERT_TRUE(msgs);
    seen += msgs->size();
  }
  EXPECT_EQ(seen, 2u);
  EXPECT_EQ(s.peers().peers().size(), 2u);
}

TEST(Session, SecondWelcomeIsAViolation) {
  Session s = make_session();
  ASSERT_TRUE(s.on_control_bytes(frame_bytes(welcome())));
  EXPECT_FALSE(s.on_control_bytes(frame_bytes(welcome())));
}

TEST(Session, RejectSettlesTheSession) {
  Session s = make_session();
  auto msgs = s.on_control_bytes(frame_bytes(ctrl::Reject{"duplicate_mac", "x"}));
  ASSERT_TRUE(msgs);
  EXPECT_EQ(s.phase(), Phase::kRejected);
  EXPECT_EQ(s.reject()->code, "duplicate_mac");
}

TEST(Session, WrapsFramesWithOwnPeerId) {
  Session s = make_session();
  ASSERT_TRUE(s.on_control_bytes(frame_bytes(welcome())));
  std::vector<std::uint8_t> scratch;
  const std::vector<std::uint8_t> frame(60, 0xab);
  const auto d = s.wrap_frame(frame, scratch);
  ASSERT_EQ(d.size(), 64u);
  EXPECT_EQ(d[0], 1);
  EXPECT_EQ(d[1], 1);
  EXPECT_EQ(d[2], 0);
  EXPECT_EQ(d[3], 7);
  EXPECT_EQ(d[4], 0xab);
}

TEST(Session, ProbeReplyMeasuresRtt) {
  Session s = make_session();
  ASSERT_TRUE(s.on_control_bytes(frame_bytes(welcome())));
  std::vector<std::uint8_t> scratch;
  const Timestamp sent{std::chrono::seconds(1000)};
  auto probe = s.make_probe(sent, 1402, scratch);
  ASSERT_EQ(probe.size(), 1402u);
  EXPECT_EQ(probe[1], 2);
  // The relay answers with kind 3, peer id 0, same body.
  std::vector<std::uint8_t> reply(probe.begin(), probe.end());
  reply[1] = 3;
  reply[2] = reply[3] = 0;
  const Inbound in = s.on_datagram(reply, sent + 12ms);
  ASSERT_EQ(in.kind, Inbound::Kind::kProbeReply);
  EXPECT_EQ(in.rtt, 12ms);
  EXPECT_EQ(in.probe_bytes, 1402u);
  EXPECT_EQ(s.smoothed_rtt(), 12ms);
}

TEST(Session, FrameFromRelayLearnsSourceMac) {
  Session s = make_session();
  ASSERT_TRUE(s.on_control_bytes(frame_bytes(welcome())));
  std::vector<std::uint8_t> d = {1,    1,    0,    1,                 // from peer 1
                                 0x02, 0x5a, 0x11, 0x22, 0x33, 0x44,  // dst
                                 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,  // src: a LAN host
                                 0x08, 0x00};
  d.resize(64, 0);
  const Inbound in = s.on_datagram(d, Timestamp{});
  ASSERT_EQ(in.kind, Inbound::Kind::kFrame);
  EXPECT_EQ(in.from_peer, 1u);
  EXPECT_EQ(in.frame.size(), 60u);
  EXPECT_TRUE(s.peers().contains_mac(*proto::MacAddress::parse("00:aa:bb:cc:dd:ee")));
}

TEST(Session, DatagramsBeforeWelcomeAreDropped) {
  Session s = make_session();
  std::vector<std::uint8_t> d(64, 0);
  d[0] = 1;
  d[1] = 1;
  EXPECT_EQ(s.on_datagram(d, Timestamp{}).kind, Inbound::Kind::kDropped);
}

TEST(Session, BadRelayHeaderIsDroppedWithReason) {
  Session s = make_session();
  ASSERT_TRUE(s.on_control_bytes(frame_bytes(welcome())));
  std::vector<std::uint8_t> d = {2, 1, 0, 1};
  const Inbound in = s.on_datagram(d, Timestamp{});
  EXPECT_EQ(in.kind, Inbound::Kind::kDropped);
  EXPECT_EQ(in.reason, proto::DropReason::kBadVersion);
}

}  // namespace
}  // namespace lanparty::client_core
