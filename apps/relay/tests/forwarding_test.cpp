// SPDX-License-Identifier: MIT
// Section 5 rules 4-7 over a real RoomTable; rules 1-3 are proto's and tested there, with one
// case each here to prove they run first.
#include "forwarding.hpp"

#include <gtest/gtest.h>

#include "relay_test_support.hpp"

namespace lanparty::relay {
namespace {

using ctrl::Role;
using obs::FrameAction;
using proto::DropReason;
using testing::frame;
using testing::hello;
using testing::mac;

class ForwardingTest : public ::testing::Test {
 protected:
  Peer* add(Role role, const char* mac_text) {
    auto peer = table_.admit(AdmissionInput{.hello = hello(role, "ROOM1", mac_text),
                                            .peer_max_datagram_frame_size = 65535});
    EXPECT_TRUE(peer);
    return *peer;
  }
  Route route(const Peer& sender, const std::vector<std::uint8_t>& f) {
    proto::EthernetView parsed{};
    return route_frame(*sender.room, sender, f, parsed);
  }

  RoomTable table_{RoomLimits{}};
};

const auto kBroadcast = mac("ff:ff:ff:ff:ff:ff");
const auto kLanHost = mac("00:aa:bb:cc:dd:ee");

TEST_F(ForwardingTest, BroadcastFloods) {
  Peer* gw = add(Role::kGateway, "00:11:22:33:44:55");
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  EXPECT_EQ(route(*c1, frame(kBroadcast, c1->mac, 0x0806)).action, FrameAction::kFlood);
  EXPECT_EQ(route(*gw, frame(kBroadcast, kLanHost, 0x0806)).action, FrameAction::kFlood);
}

TEST_F(ForwardingTest, MulticastFloods) {
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  EXPECT_EQ(route(*c1, frame(mac("01:00:5e:00:00:fb"), c1->mac, 0x0800)).action,
            FrameAction::kFlood);
}

TEST_F(ForwardingTest, UnicastToPeerGoesToThatPeer) {
  add(Role::kGateway, "00:11:22:33:44:55");
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  Peer* c2 = add(Role::kClient, "02:00:00:00:00:02");
  const Route r = route(*c1, frame(c2->mac, c1->mac, 0x0800));
  EXPECT_EQ(r.action, FrameAction::kForward);
  EXPECT_EQ(r.target, c2);
}

TEST_F(ForwardingTest, GatewayToClientGoesToClient) {
  Peer* gw = add(Role::kGateway, "00:11:22:33:44:55");
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  const Route r = route(*gw, frame(c1->mac, kLanHost, 0x0800));
  EXPECT_EQ(r.action, FrameAction::kForward);
  EXPECT_EQ(r.target, c1);
}

TEST_F(ForwardingTest, UnknownUnicastFromClientGoesToGateway) {
  Peer* gw = add(Role::kGateway, "00:11:22:33:44:55");
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  const Route r = route(*c1, frame(kLanHost, c1->mac, 0x0800));
  EXPECT_EQ(r.action, FrameAction::kForward);
  EXPECT_EQ(r.target, gw);
}

TEST_F(ForwardingTest, UnknownUnicastWithoutGatewayIsNoGateway) {
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  const Route r = route(*c1, frame(kLanHost, c1->mac, 0x0800));
  EXPECT_EQ(r.action, FrameAction::kDrop);
  EXPECT_EQ(r.reason, DropReason::kNoGateway);
}

// A gateway whose claim is still being written holds the room's gateway place but is not
// admitted yet (section 2: nothing before its welcome): the room has no gateway for now.
TEST_F(ForwardingTest, AGatewayAwaitingItsWelcomeIsNoGatewayYet) {
  Peer* gw = add(Role::kGateway, "00:11:22:33:44:55");
  gw->welcome_pending = true;
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  EXPECT_EQ(route(*c1, frame(kLanHost, c1->mac, 0x0800)).reason, DropReason::kNoGateway);
  EXPECT_EQ(route(*c1, frame(gw->mac, c1->mac, 0x0800)).reason, DropReason::kNoGateway);
  gw->welcome_pending = false;
  const Route r = route(*c1, frame(kLanHost, c1->mac, 0x0800));
  EXPECT_EQ(r.action, FrameAction::kForward);
  EXPECT_EQ(r.target, gw);
}

TEST_F(ForwardingTest, UnknownUnicastFromGatewayIsUnknownDestination) {
  Peer* gw = add(Role::kGateway, "00:11:22:33:44:55");
  add(Role::kClient, "02:00:00:00:00:01");
  const Route r = route(*gw, frame(mac("00:aa:bb:cc:dd:01"), kLanHost, 0x0800));
  EXPECT_EQ(r.reason, DropReason::kUnknownDestination);
}

TEST_F(ForwardingTest, FrameToOwnMacIsReflection) {
  Peer* gw = add(Role::kGateway, "00:11:22:33:44:55");
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  EXPECT_EQ(route(*c1, frame(c1->mac, c1->mac, 0x0800)).reason, DropReason::kReflection);
  EXPECT_EQ(route(*gw, frame(gw->mac, kLanHost, 0x0800)).reason, DropReason::kReflection);
}

TEST_F(ForwardingTest, GatewayFrameFromClientMacIsLoopSource) {
  Peer* gw = add(Role::kGateway, "00:11:22:33:44:55");
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  // Rule 4 comes before rule 5: even a broadcast is dropped.
  EXPECT_EQ(route(*gw, frame(kBroadcast, c1->mac, 0x0806)).reason, DropReason::kLoopSource);
}

TEST_F(ForwardingTest, GatewayOwnMacAsSourceIsFine) {
  Peer* gw = add(Role::kGateway, "00:11:22:33:44:55");
  add(Role::kClient, "02:00:00:00:00:01");
  EXPECT_EQ(route(*gw, frame(kBroadcast, gw->mac, 0x0806)).action, FrameAction::kFlood);
}

TEST_F(ForwardingTest, StatelessRulesRunFirst) {
  add(Role::kGateway, "00:11:22:33:44:55");
  Peer* c1 = add(Role::kClient, "02:00:00:00:00:01");
  Peer* c2 = add(Role::kClient, "02:00:00:00:00:02");
  EXPECT_EQ(route(*c1, frame(c2->mac, c2->mac, 0x0800)).reason, DropReason::kSpoofedSource);
  EXPECT_EQ(route(*c1, frame(c2->mac, c1->mac, 0x0800, 1381)).reason, DropReason::kJumbo);
  EXPECT_EQ(route(*c1, frame(mac("01:80:c2:00:00:00"), c1->mac, 0x0800)).reason,
            DropReason::kSwitchControl);
  std::vector<std::uint8_t> runt(13, 0xff);
  const Route r = route(*c1, runt);
  EXPECT_EQ(r.reason, DropReason::kRunt);
  EXPECT_FALSE(r.header_parsed);
}

}  // namespace
}  // namespace lanparty::relay
