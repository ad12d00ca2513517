// SPDX-License-Identifier: MIT
// The relay with its room records on a real redis-server, called from a DirectoryWorker
// thread (what `--directory redis://...` runs): claims land in Redis, and a hung Redis
// delays a join but never the loop that forwards frames.
#include <chrono>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "directory_worker.hpp"
#include "lanparty/directory/redis_room_directory.hpp"
#include "redis_server.hpp"
#include "relay_harness.hpp"

namespace lanparty::relay::testing {
namespace {

using namespace std::chrono_literals;
using directory::testing_support::RedisServer;

constexpr const char* kDirectoryPrefix = "relaytest";

directory::RedisDirectoryConfig redis_config(const RedisServer& server) {
  auto endpoint = server.endpoint();
  endpoint.command_timeout = 500ms;
  endpoint.connect_timeout = 500ms;
  return {.endpoint = endpoint, .prefix = kDirectoryPrefix, .limits = {}, .expire_batch = 1000};
}

std::unique_ptr<RelayHarness> start_on_redis(const RedisServer& server) {
  HarnessOptions options;
  options.relay = claimed_relay_config();
  const auto config = redis_config(server);
  options.executor_factory = [config](io::EventLoop& loop) -> std::unique_ptr<DirectoryExecutor> {
    auto records = directory::RedisRoomDirectory::open(config);
    if (!records) {
      ADD_FAILURE() << records.error().describe();
      return nullptr;
    }
    auto worker = DirectoryWorker::start(loop, std::move(*records),
                                         {.max_queue_wait = 2000ms, .max_queued = 64});
    if (!worker) {
      ADD_FAILURE() << worker.error().describe();
      return nullptr;
    }
    return std::move(*worker);
  };
  return RelayHarness::start(options);
}

class RelayOnRedis : public ::testing::Test {
 protected:
  void SetUp() override {
    if (directory::testing_support::redis_server_binary().empty()) {
      GTEST_SKIP() << directory::testing_support::kNoRedisMessage;
    }
    server_ = std::make_unique<RedisServer>();
    ASSERT_TRUE(server_->ok());
    h_ = start_on_redis(*server_);
    ASSERT_NE(h_, nullptr);
  }
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RelayHarness> h_;
};

TEST_F(RelayOnRedis, AGatewaysClaimIsWrittenToRedisBeforeItsWelcome) {
  const quic::RoomKey key = new_room_key();
  auto gw = h_->join_gateway(key, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(h_->relay().totals().rooms_claimed, 1u);
  // Another relay of the cluster (another connection to the same key space) sees it.
  auto other = directory::RedisRoomDirectory::open(redis_config(*server_));
  ASSERT_TRUE(other);
  auto record = (*other)->lookup("ROOM1", std::chrono::time_point_cast<std::chrono::seconds>(
                                              std::chrono::system_clock::now()));
  ASSERT_TRUE(record) << record.error().describe();
  ASSERT_TRUE(*record);
  EXPECT_EQ((*record)->owner_key, key.public_key());

  // A second key is refused with room_owned, read from Redis.
  auto intruder = h_->connect();
  ASSERT_NE(intruder, nullptr);
  ASSERT_TRUE(
      intruder->send_hello(claim_hello(*intruder, new_room_key(), "ROOM1", "00:11:22:33:44:66")));
  EXPECT_TRUE(rejected_with(*intruder, "room_owned"));
}

TEST_F(RelayOnRedis, AHungRedisDelaysAJoinButNotTheLoop) {
  auto gw = h_->join_gateway(new_room_key(), "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);

  server_->pause();  // accepts nothing, answers nothing: each call waits for its timeout
  auto late = h_->connect();
  ASSERT_NE(late, nullptr);
  ASSERT_TRUE(late->send_hello(claim_hello(*late, new_room_key(), "ROOM2", "00:11:22:33:44:77")));
  // While the worker waits on Redis, the loop answers the admitted gateway's probes at once.
  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(gw->probe_fence(250ms)) << "probe " << i;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 250ms);
  }
  // The hello gets a clear refusal once the call times out, not a hang.
  EXPECT_TRUE(rejected_with(*late, "relay_full"));
  EXPECT_GE(h_->relay().totals().room_record_errors, 1u);
  server_->resume();

  // Redis is back: the next gateway claims its room.
  auto next = h_->join_gateway(new_room_key(), "ROOM3", "00:11:22:33:44:88");
  EXPECT_NE(next, nullptr);
}

TEST_F(RelayOnRedis, ARestartedRedisIsUsedAgainWithoutRestartingTheRelay) {
  auto gw = h_->join_gateway(new_room_key(), "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  server_->restart(/*hard=*/false);
  ASSERT_TRUE(server_->ok());
  EXPECT_TRUE(gw->probe_fence(1s));  // the live room never noticed
  auto next = h_->join_gateway(new_room_key(), "ROOM2", "00:11:22:33:44:66");
  EXPECT_NE(next, nullptr);
}

// Frames that arrive with the hello wait while the worker reads the room's record; they are
// read once the peer is admitted, as an admitted peer's (here: an unknown type, ignored).
TEST_F(RelayOnRedis, FramesBehindAHelloAreReadAfterTheRecordsAnswer) {
  auto gw = h_->connect();
  ASSERT_NE(gw, nullptr);
  // Both frames queued in one loop turn leave in one packet: one delivery to the relay.
  ASSERT_TRUE(gw->send_hello(claim_hello(*gw, new_room_key(), "ROOM1", "00:11:22:33:44:55")));
  ASSERT_TRUE(gw->send_json(R"({"type":"frobnicate"})"));
  ASSERT_TRUE(gw->next<ctrl::Welcome>());
  ASSERT_TRUE(h_->run_until([&] { return h_->log().count("relay.ignored_message") == 1; }));
  EXPECT_EQ(gw->wait_closed(200ms), nullptr);  // still admitted
  EXPECT_EQ(h_->relay().rooms().peer_count(), 1u);
}

}  // namespace
}  // namespace lanparty::relay::testing
