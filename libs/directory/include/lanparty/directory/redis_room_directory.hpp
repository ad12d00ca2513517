// SPDX-License-Identifier: MIT
// RoomDirectory on a Redis 7 server shared by the relays of one cluster: the same records
// and rules as SqliteRoomDirectory, each call one Lua script (atomic on the server).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/directory/redis_endpoint.hpp"
#include "lanparty/directory/room_directory.hpp"

namespace lanparty::directory {

// The key space version written to P:schema; a server holding a newer one is refused.
inline constexpr int kRedisSchemaVersion = 1;
inline constexpr std::string_view kDefaultRedisPrefix = "lanparty";

// 1 to 64 of [A-Za-z0-9_.-]: else kInvalidArgument naming the rule.
[[nodiscard]] Status check_redis_prefix(std::string_view prefix);

struct RedisDirectoryConfig {
  RedisEndpoint endpoint;
  // Every key starts with `prefix:`; relays of one cluster share it, and several clusters
  // (or tests) can share one server with different prefixes.
  std::string prefix = std::string(kDefaultRedisPrefix);
  Limits limits;
  // Purges per expire() script run: expire() loops over batches, so one call never blocks
  // the server for long however much is stale.
  std::size_t expire_batch = 1000;
};

// Durability is Redis's: with `appendonly yes` and `appendfsync everysec` (what
// docs/architecture.md asks of the server) a claim survives a redis-server crash but up to
// one second of writes may be lost when the machine loses power; `appendfsync always` gives
// SQLite's guarantee at the cost of an fsync per write. Errors: a connection or command that
// fails or times out (RedisEndpoint timeouts) is an error value naming the server; the next
// call reconnects. Not thread-safe (one connection, one thread).
class RedisRoomDirectory final : public RoomDirectory {
 public:
  // Connects, checks the key space version (and writes it on an empty server). Fails when
  // the server is unreachable, refuses AUTH/SELECT, or holds a newer key space.
  [[nodiscard]] static Result<std::unique_ptr<RedisRoomDirectory>> open(
      RedisDirectoryConfig config);
  ~RedisRoomDirectory() override;
  RedisRoomDirectory(const RedisRoomDirectory&) = delete;
  RedisRoomDirectory& operator=(const RedisRoomDirectory&) = delete;

  [[nodiscard]] Result<std::optional<RoomRecord>> lookup(std::string_view room,
                                                         Seconds now) override;
  [[nodiscard]] Result<ClaimOutcome> claim(std::string_view room, const OwnerKey& owner,
                                           Seconds now) override;
  [[nodiscard]] Status touch(std::string_view room, const OwnerKey& owner, Seconds now) override;
  [[nodiscard]] Status revoke(std::string_view room, std::string_view invite_id,
                              std::optional<Seconds> exp, Seconds now) override;
  [[nodiscard]] Result<bool> is_revoked(std::string_view room, std::string_view invite_id,
                                        Seconds now) override;
  [[nodiscard]] Result<Purged> expire(Seconds now) override;

 private:
  struct Impl;
  explicit RedisRoomDirectory(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lanparty::directory
