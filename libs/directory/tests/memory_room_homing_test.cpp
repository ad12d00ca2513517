// SPDX-License-Identifier: MIT
// MemoryRoomHoming: the cases of redis_room_homing_test.cpp on a store whose clock the test
// moves, with several relays (and two processes of one relay) sharing it.
#include "lanparty/directory/memory_room_homing.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::directory {
namespace {

using namespace std::chrono_literals;

class MemoryHoming : public ::testing::Test {
 protected:
  // A relay called `id` at `id`:4433, registered for `ttl`.
  std::unique_ptr<MemoryRoomHoming> relay(const std::string& id,
                                          std::chrono::milliseconds ttl = 10s) {
    auto h = std::make_unique<MemoryRoomHoming>(store_, id);
    EXPECT_TRUE(h->register_relay(id + ":4433", 0, ttl));
    return h;
  }
  void advance(std::chrono::milliseconds by) { now_ += by; }

  std::chrono::milliseconds now_{1'000'000};
  std::shared_ptr<MemoryHomingStore> store_ =
      std::make_shared<MemoryHomingStore>([this] { return now_; });
};

TEST_F(MemoryHoming, FirstRelayHomesTheRoomOthersAreSentThere) {
  auto a = relay("a");
  auto b = relay("b");
  auto home_a = a->home("ROOM1", 10s);
  ASSERT_TRUE(home_a) << home_a.error().describe();
  EXPECT_EQ(*home_a, (Home{.relay_id = "a", .address = "a:4433", .mine = true}));
  auto home_b = b->home("ROOM1", 10s);
  ASSERT_TRUE(home_b);
  EXPECT_EQ(*home_b, (Home{.relay_id = "a", .address = "a:4433", .mine = false}));
  EXPECT_EQ(b->home_of("ROOM1").value(), (Home{.relay_id = "a", .address = "a:4433"}));
  EXPECT_EQ(a->home_of("ROOM1").value()->mine, true);
  EXPECT_EQ(a->home_of("ROOM2").value(), std::nullopt);
  // Asking again keeps it.
  EXPECT_TRUE(a->home("ROOM1", 10s)->mine);
}

// A relay not registered (yet, or any more) still takes a free room, with no address.
TEST_F(MemoryHoming, AnUnregisteredRelayHomesAFreeRoomWithoutAnAddress) {
  MemoryRoomHoming a(store_, "a");
  auto home = a.home("ROOM1", 10s);
  ASSERT_TRUE(home);
  EXPECT_EQ(*home, (Home{.relay_id = "a", .address = "", .mine = true}));
  // Its lease counts for nobody while it is not live.
  EXPECT_EQ(a.home_of("ROOM1").value(), std::nullopt);
  auto b = relay("b");
  EXPECT_TRUE(b->home("ROOM1", 10s)->mine);
}

TEST_F(MemoryHoming, LeaseRunsOutWithoutRefresh) {
  auto a = relay("a");
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 50ms)->mine);
  EXPECT_FALSE(b->home("ROOM1", 50ms)->mine);
  advance(49ms);
  EXPECT_FALSE(b->home("ROOM1", 50ms)->mine);
  advance(1ms);
  EXPECT_EQ(b->home_of("ROOM1").value(), std::nullopt);
  auto taken = b->home("ROOM1", 10s);
  ASSERT_TRUE(taken);
  EXPECT_TRUE(taken->mine);
  EXPECT_EQ(taken->address, "b:4433");
}

TEST_F(MemoryHoming, RefreshKeepsTheLease) {
  auto a = relay("a");
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 100ms)->mine);
  const std::vector<std::string> rooms{"ROOM1"};
  for (int i = 0; i < 6; ++i) {
    advance(40ms);
    auto lost = a->refresh(rooms, 100ms);
    ASSERT_TRUE(lost) << lost.error().describe();
    EXPECT_TRUE(lost->empty());
  }
  // 240 ms after homing with a 100 ms lease: still a's.
  EXPECT_FALSE(b->home("ROOM1", 100ms)->mine);
}

TEST_F(MemoryHoming, RefreshReportsRoomsAnotherRelayTook) {
  auto a = relay("a");
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 50ms)->mine);
  ASSERT_TRUE(a->home("ROOM2", 10s)->mine);
  advance(100ms);
  ASSERT_TRUE(b->home("ROOM1", 10s)->mine);
  const std::vector<std::string> rooms{"ROOM1", "ROOM2"};
  auto lost = a->refresh(rooms, 10s);
  ASSERT_TRUE(lost);
  EXPECT_EQ(*lost, std::vector<std::string>{"ROOM1"});
  EXPECT_EQ(b->home_of("ROOM1").value()->relay_id, "b");
  EXPECT_EQ(b->home_of("ROOM2").value()->relay_id, "a");
}

// A lease whose relay is unknown to the store (it restarted empty) is taken back.
TEST_F(MemoryHoming, RefreshRetakesALeaseNobodyHolds) {
  auto a = relay("a");
  ASSERT_TRUE(a->home("ROOM1", 30ms)->mine);
  advance(80ms);
  EXPECT_EQ(a->home_of("ROOM1").value(), std::nullopt);
  const std::vector<std::string> rooms{"ROOM1"};
  EXPECT_TRUE(a->refresh(rooms, 10s)->empty());
  EXPECT_EQ(a->home_of("ROOM1").value()->relay_id, "a");
}

TEST_F(MemoryHoming, DeadRelaysLeaseIsFreeOnceItsRegistrationRunsOut) {
  auto a = relay("a", 60ms);  // a dies: it never refreshes its registration
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 10s)->mine);  // a long lease: a's liveness is what counts
  EXPECT_FALSE(b->home("ROOM1", 10s)->mine);
  advance(120ms);
  EXPECT_EQ(b->home_of("ROOM1").value(), std::nullopt);  // its relay is gone
  auto taken = b->home("ROOM1", 10s);
  ASSERT_TRUE(taken);
  EXPECT_TRUE(taken->mine);
  const std::vector<std::string> rooms{"ROOM1"};
  EXPECT_EQ(*a->refresh(rooms, 10s), rooms);  // a, were it back, learns it lost the room
}

TEST_F(MemoryHoming, RelaysListsLiveRegistrations) {
  auto a = relay("a");
  auto b = relay("b", 50ms);
  ASSERT_TRUE(a->register_relay("a:4433", 7, 10s));
  EXPECT_EQ(a->relays(), (std::vector<RelayEntry>{{"a", "a:4433", 7}, {"b", "b:4433", 0}}));
  advance(100ms);
  EXPECT_EQ(a->relays(), (std::vector<RelayEntry>{{"a", "a:4433", 7}}));
}

TEST_F(MemoryHoming, ReleaseAndUnregisterGiveRoomsUp) {
  auto a = relay("a");
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 10s)->mine);
  ASSERT_TRUE(a->home("ROOM2", 10s)->mine);
  ASSERT_TRUE(a->home("ROOM3", 10s)->mine);
  ASSERT_TRUE(b->release("ROOM1"));  // not b's: nothing happens
  EXPECT_EQ(b->home_of("ROOM1").value()->relay_id, "a");
  ASSERT_TRUE(a->release("ROOM1"));
  EXPECT_EQ(b->home_of("ROOM1").value(), std::nullopt);
  const std::vector<std::string> rooms{"ROOM2"};
  ASSERT_TRUE(a->unregister_relay(rooms));
  EXPECT_EQ(b->home_of("ROOM2").value(), std::nullopt);
  EXPECT_EQ(b->relays().size(), 1u);
  // A lease not named stays, but counts for nothing without its relay.
  EXPECT_EQ(b->home_of("ROOM3").value(), std::nullopt);
  EXPECT_TRUE(b->home("ROOM3", 10s)->mine);
}

TEST_F(MemoryHoming, ASecondProcessWithTheSameIdIsRefusedWhileTheFirstLives) {
  auto first = relay("a", 300ms);
  MemoryRoomHoming second(store_, "a");
  EXPECT_NE(second.instance(), first->instance());
  ASSERT_TRUE(first->home("ROOM1", 10s)->mine);
  advance(100ms);
  std::chrono::milliseconds left{0};
  Status refused = second.register_relay("a:4433", 0, 10s, &left);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, std::make_error_code(std::errc::address_in_use));
  EXPECT_NE(refused.error().context.find("--advertise"), std::string::npos);
  EXPECT_EQ(left, 200ms);
  // The refused one wrote nothing, and its shutdown leaves the live one's rooms alone.
  const std::vector<std::string> rooms{"ROOM1"};
  ASSERT_TRUE(second.unregister_relay(rooms));
  EXPECT_EQ(first->home_of("ROOM1").value()->relay_id, "a");
  EXPECT_EQ(first->relays().size(), 1u);
  // The first refreshes as before; once it stops (it died) the id is free again.
  EXPECT_TRUE(first->register_relay("a:4433", 0, 300ms));
  advance(400ms);
  EXPECT_TRUE(second.register_relay("a:4433", 0, 10s));
  EXPECT_EQ(first->register_relay("a:4433", 0, 10s).error().code,
            std::make_error_code(std::errc::address_in_use));
}

// Two objects of one store are two relays of one cluster: what one writes, the other reads.
TEST_F(MemoryHoming, RelaysOnOneStoreSeeEachOthersLeases) {
  auto other_store = std::make_shared<MemoryHomingStore>([this] { return now_; });
  auto a = relay("a");
  MemoryRoomHoming elsewhere(other_store, "b");
  ASSERT_TRUE(elsewhere.register_relay("b:4433", 0, 10s));
  ASSERT_TRUE(a->home("ROOM1", 10s)->mine);
  EXPECT_TRUE(elsewhere.home("ROOM1", 10s)->mine);  // another cluster: another store
  auto b = relay("b");
  EXPECT_FALSE(b->home("ROOM1", 10s)->mine);
}

TEST_F(MemoryHoming, RefusesBadArguments) {
  auto a = relay("a");
  EXPECT_EQ(a->home("", 10s).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->home(std::string(256, 'r'), 10s).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->home("ROOM1", 0ms).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->refresh({}, 0ms).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->register_relay("a:1", 0, 0ms).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->register_relay("", 0, 10s).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->release("").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->home_of("").error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace lanparty::directory
