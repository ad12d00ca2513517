// SPDX-License-Identifier: MIT
// RedisRoomDirectory beyond the shared contract: a real redis-server that is down, hung,
// restarted or shared by racing relays.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "directory_factories.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/directory/redis_room_directory.hpp"
#include "redis_server.hpp"

namespace lanparty::directory {
namespace {

using namespace std::chrono_literals;
using testing_support::key;
using testing_support::kT0;
using testing_support::RedisServer;

class RedisDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing_support::redis_server_binary().empty()) {
      GTEST_SKIP() << testing_support::kNoRedisMessage;
    }
  }
  static RedisDirectoryConfig config(const RedisServer& server, std::string prefix = "lp") {
    return RedisDirectoryConfig{.endpoint = server.endpoint(),
                                .prefix = std::move(prefix),
                                .limits = {.room_ttl = 3600s, .max_room_records = 1000}};
  }
};

TEST_F(RedisDirectory, OpenFailsClearlyWhenNoServerListens) {
  testing_support::TempDir tmp;
  RedisEndpoint endpoint;
  endpoint.unix_path = (tmp.path() / "nobody.sock").string();
  const auto started = std::chrono::steady_clock::now();
  auto opened = RedisRoomDirectory::open(
      {.endpoint = endpoint, .prefix = "lp", .limits = {}, .expire_batch = 1000});
  ASSERT_FALSE(opened);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_NE(opened.error().context.find("nobody.sock"), std::string::npos)
      << opened.error().context;
  EXPECT_NE(opened.error().context.find("redis-server running"), std::string::npos);
}

TEST_F(RedisDirectory, RefusesBadPrefixAndLimits) {
  RedisServer server;
  ASSERT_TRUE(server.ok());
  for (const char* prefix : {"", "has space", "a:b", "x\n"}) {
    auto opened = RedisRoomDirectory::open(config(server, prefix));
    ASSERT_FALSE(opened) << prefix;
    EXPECT_EQ(opened.error().code, Errc::kInvalidArgument);
  }
  auto cfg = config(server);
  cfg.limits.max_room_records = 0;
  EXPECT_FALSE(RedisRoomDirectory::open(cfg));
}

TEST_F(RedisDirectory, PrefixesAreSeparateKeySpaces) {
  RedisServer server;
  ASSERT_TRUE(server.ok());
  auto a = RedisRoomDirectory::open(config(server, "clusterA"));
  auto b = RedisRoomDirectory::open(config(server, "clusterB"));
  ASSERT_TRUE(a && b);
  ASSERT_EQ((*a)->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ((*b)->claim("ROOM1", key(2), kT0), ClaimOutcome::kClaimed);
}

TEST_F(RedisDirectory, TwoRelaysSeeOneDirectory) {
  RedisServer server;
  ASSERT_TRUE(server.ok());
  auto a = RedisRoomDirectory::open(config(server));
  auto b = RedisRoomDirectory::open(config(server));
  ASSERT_TRUE(a && b);
  ASSERT_EQ((*a)->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ((*b)->claim("ROOM1", key(2), kT0), ClaimOutcome::kOwnedByOther);
  ASSERT_TRUE((*b)->revoke("ROOM1", "9f2c4e1a7b3d5a60", std::nullopt, kT0));
  EXPECT_EQ((*a)->is_revoked("ROOM1", "9f2c4e1a7b3d5a60", kT0), true);
}

// Claims are one script: of many connections claiming one name at once, exactly one wins.
TEST_F(RedisDirectory, ConcurrentClaimsHaveExactlyOneWinner) {
  RedisServer server;
  ASSERT_TRUE(server.ok());
  constexpr int kRelays = 8;
  constexpr int kRooms = 50;
  std::vector<std::unique_ptr<RedisRoomDirectory>> dirs;
  for (int i = 0; i < kRelays; ++i) {
    auto d = RedisRoomDirectory::open(config(server));
    ASSERT_TRUE(d) << d.error().describe();
    dirs.push_back(std::move(*d));
  }
  std::atomic<int> claimed[kRooms] = {};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRelays; ++i) {
    threads.emplace_back([&, i] {
      for (int r = 0; r < kRooms; ++r) {
        auto out = dirs[static_cast<std::size_t>(i)]->claim(
            "ROOM" + std::to_string(r), key(static_cast<std::uint64_t>(i) + 1), kT0);
        if (!out) {
          ++errors;
        } else if (*out == ClaimOutcome::kClaimed) {
          ++claimed[r];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, 0);
  for (int r = 0; r < kRooms; ++r) EXPECT_EQ(claimed[r], 1) << "ROOM" << r;
}

TEST_F(RedisDirectory, ErrorWhileDownThenWorksAfterRestart) {
  RedisServer server(/*appendonly=*/true);
  ASSERT_TRUE(server.ok());
  auto dir = RedisRoomDirectory::open(config(server));
  ASSERT_TRUE(dir);
  ASSERT_EQ((*dir)->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);

  server.stop(/*hard=*/false);
  const auto started = std::chrono::steady_clock::now();
  auto down = (*dir)->lookup("ROOM1", kT0);
  ASSERT_FALSE(down);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_NE(down.error().context.find("redis.sock"), std::string::npos) << down.error().context;

  // AOF on: the claim survives the restart, and the directory reconnects by itself (the
  // scripts are loaded again on the new server).
  server.restart(/*hard=*/false);
  ASSERT_TRUE(server.ok());
  auto rec = (*dir)->lookup("ROOM1", kT0);
  ASSERT_TRUE(rec) << rec.error().describe();
  ASSERT_TRUE(*rec);
  EXPECT_EQ((*rec)->owner_key, key(1));
}

TEST_F(RedisDirectory, RestartWithoutErrorInBetweenIsInvisible) {
  RedisServer server(/*appendonly=*/true);
  ASSERT_TRUE(server.ok());
  auto dir = RedisRoomDirectory::open(config(server));
  ASSERT_TRUE(dir);
  ASSERT_EQ((*dir)->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  server.restart(/*hard=*/false);
  ASSERT_TRUE(server.ok());
  // The old connection is dead; the call retries once on a new one and succeeds.
  auto again = (*dir)->claim("ROOM1", key(1), kT0 + 1s);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(*again, ClaimOutcome::kAlreadyOwner);
}

TEST_F(RedisDirectory, HungServerTimesOutInsteadOfHanging) {
  RedisServer server;
  ASSERT_TRUE(server.ok());
  auto cfg = config(server);
  cfg.endpoint.command_timeout = 200ms;
  cfg.endpoint.connect_timeout = 200ms;
  auto dir = RedisRoomDirectory::open(cfg);
  ASSERT_TRUE(dir);
  ASSERT_EQ((*dir)->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  server.pause();
  const auto started = std::chrono::steady_clock::now();
  auto r = (*dir)->lookup("ROOM1", kT0);
  const auto took = std::chrono::steady_clock::now() - started;
  server.resume();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kTimedOut) << r.error().describe();
  EXPECT_LT(took, 1s);
  // Back: the next call reconnects.
  auto again = (*dir)->lookup("ROOM1", kT0);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_TRUE(*again);
}

TEST_F(RedisDirectory, NewerKeySpaceIsRefusedUntouched) {
  RedisServer server;
  ASSERT_TRUE(server.ok());
  auto first = RedisRoomDirectory::open(config(server, "v"));
  ASSERT_TRUE(first);
  ASSERT_EQ((*first)->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  // A newer relay's key space: its version key says 99 (redis-cli comes with redis-server).
  if (std::system("command -v redis-cli >/dev/null") != 0) GTEST_SKIP() << "no redis-cli";
  const std::string cmd = "redis-cli -s " + server.socket_path() + " SET v:schema 99 >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto newer = RedisRoomDirectory::open(config(server, "v"));
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().context.find("version 99"), std::string::npos) << newer.error().context;
}

TEST_F(RedisDirectory, ExpireWorksInBatches) {
  RedisServer server;
  ASSERT_TRUE(server.ok());
  auto cfg = config(server);
  cfg.expire_batch = 7;
  auto dir = RedisRoomDirectory::open(cfg);
  ASSERT_TRUE(dir);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ((*dir)->claim("R" + std::to_string(i), key(1), kT0), ClaimOutcome::kClaimed);
    ASSERT_TRUE((*dir)->revoke("R" + std::to_string(i), "0123456789abcdef", kT0 + 10s, kT0));
  }
  EXPECT_EQ((*dir)->expire(kT0 + 20s), (Purged{.rooms = 0, .revocations = 50}));
  EXPECT_EQ((*dir)->expire(kT0 + 3600s), (Purged{.rooms = 50, .revocations = 0}));
  EXPECT_EQ((*dir)->expire(kT0 + 3600s), Purged{});
}

}  // namespace
}  // namespace lanparty::directory
