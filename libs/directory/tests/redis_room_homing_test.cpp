// SPDX-License-Identifier: MIT
// RedisRoomHoming against a real redis-server: registration, homing, leases running out,
// refreshes, and a dead relay's rooms going to the next relay that asks. Leases here are
// tens of milliseconds, so a test takes well under a second.
#include <chrono>
#include <system_error>
#include <thread>

#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/directory/redis_room_homing.hpp"
#include "redis_server.hpp"

namespace lanparty::directory {
namespace {

using namespace std::chrono_literals;
using testing_support::RedisServer;

class RedisHoming : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing_support::redis_server_binary().empty()) {
      GTEST_SKIP() << testing_support::kNoRedisMessage;
    }
    server_ = std::make_unique<RedisServer>();
    ASSERT_TRUE(server_->ok());
  }
  // A relay called `id` at `id`:4433, registered for `ttl`.
  std::unique_ptr<RedisRoomHoming> relay(const std::string& id,
                                         std::chrono::milliseconds ttl = 10s) {
    auto h =
        RedisRoomHoming::open({.endpoint = server_->endpoint(), .prefix = "c1", .relay_id = id});
    EXPECT_TRUE(h) << h.error().describe();
    if (!h) return nullptr;
    EXPECT_TRUE((*h)->register_relay(id + ":4433", 0, ttl));
    return std::move(*h);
  }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisHoming, FirstRelayHomesTheRoomOthersAreSentThere) {
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

TEST_F(RedisHoming, LeaseRunsOutWithoutRefresh) {
  auto a = relay("a");
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 50ms)->mine);
  EXPECT_FALSE(b->home("ROOM1", 50ms)->mine);
  std::this_thread::sleep_for(120ms);
  EXPECT_EQ(b->home_of("ROOM1").value(), std::nullopt);
  auto taken = b->home("ROOM1", 10s);
  ASSERT_TRUE(taken);
  EXPECT_TRUE(taken->mine);
  EXPECT_EQ(taken->address, "b:4433");
}

TEST_F(RedisHoming, RefreshKeepsTheLease) {
  auto a = relay("a");
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 100ms)->mine);
  const std::vector<std::string> rooms{"ROOM1"};
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(40ms);
    auto lost = a->refresh(rooms, 100ms);
    ASSERT_TRUE(lost) << lost.error().describe();
    EXPECT_TRUE(lost->empty());
  }
  // 240 ms after homing with a 100 ms lease: still a's.
  EXPECT_FALSE(b->home("ROOM1", 100ms)->mine);
}

TEST_F(RedisHoming, RefreshReportsRoomsAnotherRelayTook) {
  auto a = relay("a");
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 50ms)->mine);
  ASSERT_TRUE(a->home("ROOM2", 10s)->mine);
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(b->home("ROOM1", 10s)->mine);
  const std::vector<std::string> rooms{"ROOM1", "ROOM2"};
  auto lost = a->refresh(rooms, 10s);
  ASSERT_TRUE(lost);
  EXPECT_EQ(*lost, std::vector<std::string>{"ROOM1"});
  EXPECT_EQ(b->home_of("ROOM1").value()->relay_id, "b");
}

// A lease whose relay is unknown to the server (it restarted empty) is taken back.
TEST_F(RedisHoming, RefreshRetakesALeaseNobodyHolds) {
  auto a = relay("a");
  ASSERT_TRUE(a->home("ROOM1", 30ms)->mine);
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(a->home_of("ROOM1").value(), std::nullopt);
  const std::vector<std::string> rooms{"ROOM1"};
  EXPECT_TRUE(a->refresh(rooms, 10s)->empty());
  EXPECT_EQ(a->home_of("ROOM1").value()->relay_id, "a");
}

TEST_F(RedisHoming, DeadRelaysLeaseIsFreeOnceItsRegistrationRunsOut) {
  auto a = relay("a", 60ms);  // a dies: it never refreshes its registration
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 10s)->mine);
  EXPECT_FALSE(b->home("ROOM1", 10s)->mine);
  std::this_thread::sleep_for(120ms);
  EXPECT_EQ(b->home_of("ROOM1").value(), std::nullopt);  // its relay is gone
  auto taken = b->home("ROOM1", 10s);
  ASSERT_TRUE(taken);
  EXPECT_TRUE(taken->mine);
  const std::vector<std::string> rooms{"ROOM1"};
  EXPECT_EQ(*a->refresh(rooms, 10s), rooms);  // a, were it back, learns it lost the room
}

TEST_F(RedisHoming, RelaysListsLiveRegistrations) {
  auto a = relay("a");
  auto b = relay("b", 50ms);
  ASSERT_TRUE(a->register_relay("a:4433", 7, 10s));
  auto listed = a->relays();
  ASSERT_TRUE(listed);
  std::sort(listed->begin(), listed->end(),
            [](const RelayEntry& x, const RelayEntry& y) { return x.id < y.id; });
  EXPECT_EQ(*listed, (std::vector<RelayEntry>{{"a", "a:4433", 7}, {"b", "b:4433", 0}}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(*a->relays(), (std::vector<RelayEntry>{{"a", "a:4433", 7}}));
}

TEST_F(RedisHoming, ReleaseAndUnregisterGiveRoomsUp) {
  auto a = relay("a");
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 10s)->mine);
  ASSERT_TRUE(a->home("ROOM2", 10s)->mine);
  ASSERT_TRUE(b->release("ROOM1"));  // not b's: nothing happens
  EXPECT_EQ(b->home_of("ROOM1").value()->relay_id, "a");
  ASSERT_TRUE(a->release("ROOM1"));
  EXPECT_EQ(b->home_of("ROOM1").value(), std::nullopt);
  const std::vector<std::string> rooms{"ROOM2"};
  ASSERT_TRUE(a->unregister_relay(rooms));
  EXPECT_EQ(b->home_of("ROOM2").value(), std::nullopt);
  EXPECT_EQ(b->relays()->size(), 1u);
}

TEST_F(RedisHoming, ASecondProcessWithTheSameIdIsRefusedWhileTheFirstLives) {
  auto first = relay("a", 300ms);
  auto second =
      RedisRoomHoming::open({.endpoint = server_->endpoint(), .prefix = "c1", .relay_id = "a"});
  ASSERT_TRUE(second);
  EXPECT_NE((*second)->instance(), first->instance());
  ASSERT_TRUE(first->home("ROOM1", 10s)->mine);
  std::chrono::milliseconds left{0};
  Status refused = (*second)->register_relay("a:4433", 0, 10s, &left);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, std::make_error_code(std::errc::address_in_use));
  EXPECT_NE(refused.error().context.find("--advertise"), std::string::npos);
  EXPECT_GT(left, 0ms);
  EXPECT_LE(left, 300ms);
  // The refused one wrote nothing, and its shutdown leaves the live one's rooms alone.
  const std::vector<std::string> rooms{"ROOM1"};
  ASSERT_TRUE((*second)->unregister_relay(rooms));
  EXPECT_EQ(first->home_of("ROOM1").value()->relay_id, "a");
  EXPECT_EQ(first->relays()->size(), 1u);
  // The first refreshes as before; once it stops (it died) the id is free again.
  EXPECT_TRUE(first->register_relay("a:4433", 0, 300ms));
  std::this_thread::sleep_for(400ms);
  EXPECT_TRUE((*second)->register_relay("a:4433", 0, 10s));
  EXPECT_EQ(first->register_relay("a:4433", 0, 10s).error().code,
            std::make_error_code(std::errc::address_in_use));
}

TEST_F(RedisHoming, ADeadRelaysRoomsAreFreeWhenItsRegistrationLapsesNotItsLease) {
  auto a = relay("a", 100ms);
  auto b = relay("b");
  ASSERT_TRUE(a->home("ROOM1", 10s)->mine);  // a long lease: a's liveness is what counts
  EXPECT_FALSE(b->home("ROOM1", 10s)->mine);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(b->home_of("ROOM1").value(), std::nullopt);
  EXPECT_TRUE(b->home("ROOM1", 10s)->mine);
}

TEST_F(RedisHoming, RefusesBadArguments) {
  EXPECT_FALSE(
      RedisRoomHoming::open({.endpoint = server_->endpoint(), .prefix = "c1", .relay_id = ""}));
  EXPECT_FALSE(RedisRoomHoming::open(
      {.endpoint = server_->endpoint(), .prefix = "bad prefix", .relay_id = "a"}));
  auto a = relay("a");
  EXPECT_EQ(a->home("", 10s).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->home("ROOM1", 0ms).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(a->register_relay("a:1", 0, 0ms).error().code, Errc::kInvalidArgument);
}

TEST_F(RedisHoming, ErrorsWhileRedisIsDown) {
  auto a = relay("a");
  server_->stop(/*hard=*/true);
  auto h = a->home("ROOM1", 10s);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().context.find("redis"), std::string::npos);
}

}  // namespace
}  // namespace lanparty::directory
