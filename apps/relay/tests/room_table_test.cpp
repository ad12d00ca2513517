// SPDX-License-Identifier: MIT
#include "room_table.hpp"

#include <gtest/gtest.h>

#include "relay_test_support.hpp"

namespace lanparty::relay {
namespace {

using ctrl::RejectCode;
using ctrl::Role;
using testing::hello;

AdmissionInput input(ctrl::ValidHello h, std::uint64_t tp = 65535) {
  return AdmissionInput{.hello = std::move(h), .peer_max_datagram_frame_size = tp};
}

TEST(RoomTable, FirstPeerCreatesRoomWithMtuFromBudget) {
  RoomTable table(RoomLimits{});
  auto peer = table.admit(input(hello(Role::kGateway, "ROOM1", "00:11:22:33:44:55", 1430)));
  ASSERT_TRUE(peer);
  EXPECT_EQ((*peer)->room->mtu, 1380u);  // min(--max-mtu 1380, 1430 - 22)
  EXPECT_EQ((*peer)->id, 1u);
  EXPECT_EQ((*peer)->room->gateway, *peer);
  EXPECT_EQ(table.room_count(), 1u);
}

TEST(RoomTable, SmallBudgetFixesSmallerRoomMtu) {
  RoomTable table(RoomLimits{});
  // Budget = min(1430, tp 1203 - 3) = 1200, so mtu = 1178.
  auto peer = table.admit(input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:01"), 1203));
  ASSERT_TRUE(peer);
  EXPECT_EQ((*peer)->budget_bytes, 1200u);
  EXPECT_EQ((*peer)->room->mtu, 1178u);
}

TEST(RoomTable, RejectsInProtocolOrder) {
  struct Case {
    const char* name;
    RoomLimits limits;
    std::vector<AdmissionInput> before;
    AdmissionInput candidate;
    RejectCode expected;
  };
  const auto gw = hello(Role::kGateway, "ROOM1", "00:11:22:33:44:55");
  const std::vector<Case> cases = {
      {"no datagrams", {}, {}, input(gw, 0), RejectCode::kDatagramsUnsupported},
      {"datagrams checked before relay_full",
       {.max_rooms = 1},
       {input(hello(Role::kClient, "OTHER", "02:00:00:00:00:09"))},
       input(gw, 0),
       RejectCode::kDatagramsUnsupported},
      {"relay full",
       {.max_rooms = 1},
       {input(hello(Role::kClient, "OTHER", "02:00:00:00:00:09"))},
       input(gw),
       RejectCode::kRelayFull},
      {"second gateway",
       {},
       {input(gw)},
       input(hello(Role::kGateway, "ROOM1", "00:11:22:33:44:66")),
       RejectCode::kGatewayExists},
      {"gateway_exists before duplicate_mac",
       {},
       {input(gw)},
       input(gw),
       RejectCode::kGatewayExists},
      {"duplicate mac",
       {},
       {input(gw)},
       input(hello(Role::kClient, "ROOM1", "00:11:22:33:44:55")),
       RejectCode::kDuplicateMac},
      {"room full",
       {.max_peers_per_room = 1},
       {input(gw)},
       input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:01")),
       RejectCode::kRoomFull},
      {"duplicate_mac before room_full",
       {.max_peers_per_room = 1},
       {input(gw)},
       input(hello(Role::kClient, "ROOM1", "00:11:22:33:44:55")),
       RejectCode::kDuplicateMac},
      {"later peer below room mtu",
       {},
       {input(gw)},
       input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:01", 1401)),
       RejectCode::kMtuTooSmall},
      {"room_full before mtu_too_small",
       {.max_peers_per_room = 1},
       {input(gw)},
       input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:01", 100)),
       RejectCode::kRoomFull},
      {"new room below 576",
       {},
       {},
       input(hello(Role::kClient, "R2x", "02:00:00:00:00:01", 597)),
       RejectCode::kMtuTooSmall},
  };
  for (const auto& c : cases) {
    RoomTable table(c.limits);
    for (const auto& b : c.before) ASSERT_TRUE(table.admit(b)) << c.name;
    auto result = table.admit(c.candidate);
    ASSERT_FALSE(result) << c.name;
    EXPECT_EQ(result.error(), c.expected) << c.name;
  }
}

TEST(RoomTable, AcceptsPeerExactlyAtRoomMtu) {
  RoomTable table(RoomLimits{});
  ASSERT_TRUE(table.admit(input(hello(Role::kGateway, "ROOM1", "00:11:22:33:44:55"))));
  EXPECT_TRUE(table.admit(input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:01", 1402))));
}

TEST(RoomTable, NewRoomAtExactly576IsAccepted) {
  RoomTable table(RoomLimits{});
  auto peer = table.admit(input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:01", 598)));
  ASSERT_TRUE(peer);
  EXPECT_EQ((*peer)->room->mtu, 576u);
}

TEST(RoomTable, LeaveFreesMacAndDeletesEmptyRoom) {
  RoomTable table(RoomLimits{});
  auto gw = table.admit(input(hello(Role::kGateway, "ROOM1", "00:11:22:33:44:55")));
  ASSERT_TRUE(gw);
  table.remove(*gw);
  EXPECT_EQ(table.room_count(), 0u);
  EXPECT_EQ(table.peer_count(), 0u);
  // The MAC and the gateway slot are free again; the room is new, with a fresh MTU.
  auto again = table.admit(input(hello(Role::kGateway, "ROOM1", "00:11:22:33:44:55", 1000)));
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->room->mtu, 978u);
}

TEST(RoomTable, PeerIdsAreUniqueAndNotReusedAtOnce) {
  RoomTable table(RoomLimits{});
  auto a = table.admit(input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:01")));
  auto b = table.admit(input(hello(Role::kClient, "ROOM2", "02:00:00:00:00:01")));
  ASSERT_TRUE(a && b);
  EXPECT_NE((*a)->id, (*b)->id);
  const auto old_id = (*a)->id;
  table.remove(*a);
  auto c = table.admit(input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:03")));
  ASSERT_TRUE(c);
  EXPECT_NE((*c)->id, old_id);
  EXPECT_NE((*c)->id, 0u);
}

TEST(RoomTable, SameMacInDifferentRoomsIsFine) {
  RoomTable table(RoomLimits{});
  EXPECT_TRUE(table.admit(input(hello(Role::kClient, "ROOM1", "02:00:00:00:00:01"))));
  EXPECT_TRUE(table.admit(input(hello(Role::kClient, "ROOM2", "02:00:00:00:00:01"))));
}

}  // namespace
}  // namespace lanparty::relay
