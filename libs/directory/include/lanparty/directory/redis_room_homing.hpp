// SPDX-License-Identifier: MIT
// Which relay of a cluster a room lives on ("home"), on the cluster's Redis: relays register
// their address and load with a time to live, a room is homed on one relay with a lease the
// home relay keeps refreshing, and a relay asks who is home before admitting a peer. A relay
// that dies stops refreshing: its registration and leases run out and the room may be homed
// again elsewhere. Every call is one Lua script; lease times are the Redis server's clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/directory/redis_endpoint.hpp"
#include "lanparty/directory/room_homing.hpp"

namespace lanparty::directory {

struct RedisHomingConfig {
  RedisEndpoint endpoint;
  std::string prefix = "lanparty";  // the cluster's key prefix (RedisDirectoryConfig::prefix)
  std::string relay_id;             // this relay's id: 1 to 255 bytes
};

// RoomHoming on the cluster's Redis. Not thread-safe (one connection, one thread). Errors: as
// RedisRoomDirectory, plus kInvalidArgument for an empty room or relay id, a lease or ttl
// below 1 ms.
class RedisRoomHoming final : public RoomHoming {
 public:
  // Checks the config; connects lazily (the first call), so it never fails on the network.
  [[nodiscard]] static Result<std::unique_ptr<RedisRoomHoming>> open(RedisHomingConfig config);
  ~RedisRoomHoming() override;
  RedisRoomHoming(const RedisRoomHoming&) = delete;
  RedisRoomHoming& operator=(const RedisRoomHoming&) = delete;

  [[nodiscard]] const std::string& relay_id() const noexcept;

  // Registers this relay (or refreshes it): `address`, `load` (rooms it serves), live `ttl`.
  // std::errc::address_in_use when another live instance (another process) holds this
  // relay's id: nothing was written, and the context says for how long it stays registered
  // unless refreshed (`conflict_ttl`, when given, receives it).
  [[nodiscard]] Status register_relay(std::string_view address, std::uint64_t load,
                                      std::chrono::milliseconds ttl,
                                      std::chrono::milliseconds* conflict_ttl = nullptr) override;
  // Removes this relay and gives up its leases of `rooms` (graceful shutdown); does nothing
  // when another instance holds the id.
  [[nodiscard]] Status unregister_relay(std::span<const std::string> rooms) override;
  // This object among those that may use the relay id: random, made by open().
  [[nodiscard]] const std::string& instance() const noexcept;
  // Every registered relay still within its ttl.
  [[nodiscard]] Result<std::vector<RelayEntry>> relays();

  // Homes `room` here with a `lease` unless another live relay holds it: then that relay.
  // A lease held by a relay whose registration ran out counts as free.
  [[nodiscard]] Result<Home> home(std::string_view room, std::chrono::milliseconds lease) override;
  // Extends this relay's leases of `rooms` (re-taking any that ran out and nobody took);
  // returns the rooms another live relay holds now.
  [[nodiscard]] Result<std::vector<std::string>> refresh(std::span<const std::string> rooms,
                                                         std::chrono::milliseconds lease) override;
  // The live home of `room`, or none (no lease, or its relay is gone).
  [[nodiscard]] Result<std::optional<Home>> home_of(std::string_view room);
  // Gives up this relay's lease of `room` (it emptied here); no-op if another holds it.
  [[nodiscard]] Status release(std::string_view room) override;

 private:
  struct Impl;
  explicit RedisRoomHoming(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lanparty::directory
