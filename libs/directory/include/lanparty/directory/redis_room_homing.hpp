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

namespace lanparty::directory {

// Defaults of docs/architecture.md: a lease of 10 s refreshed every 3 s survives two lost
// refreshes; a relay's registration lives as long.
inline constexpr std::chrono::milliseconds kDefaultHomeLease{10000};
inline constexpr std::chrono::milliseconds kDefaultHomeRefresh{3000};

struct RelayEntry {
  std::string id;       // the relay's id in the cluster (the relay uses its public address)
  std::string address;  // "host:port" that peers are redirected to
  std::uint64_t load = 0;
  friend bool operator==(const RelayEntry&, const RelayEntry&) = default;
};

struct Home {
  std::string relay_id;
  std::string address;
  bool mine = false;  // the relay that asked holds the lease
  friend bool operator==(const Home&, const Home&) = default;
};

struct RedisHomingConfig {
  RedisEndpoint endpoint;
  std::string prefix = "lanparty";  // the cluster's key prefix (RedisDirectoryConfig::prefix)
  std::string relay_id;             // this relay's id: 1 to 255 bytes
};

// Not thread-safe (one connection, one thread). Errors: as RedisRoomDirectory, plus
// kInvalidArgument for an empty room or relay id, a lease or ttl below 1 ms.
class RedisRoomHoming {
 public:
  // Checks the config; connects lazily (the first call), so it never fails on the network.
  [[nodiscard]] static Result<std::unique_ptr<RedisRoomHoming>> open(RedisHomingConfig config);
  ~RedisRoomHoming();
  RedisRoomHoming(const RedisRoomHoming&) = delete;
  RedisRoomHoming& operator=(const RedisRoomHoming&) = delete;

  [[nodiscard]] const std::string& relay_id() const noexcept;

  // Registers this relay (or refreshes it): `address`, `load` (rooms it serves), live `ttl`.
  [[nodiscard]] Status register_relay(std::string_view address, std::uint64_t load,
                                      std::chrono::milliseconds ttl);
  // Removes this relay and gives up its leases of `rooms` (graceful shutdown).
  [[nodiscard]] Status unregister_relay(std::span<const std::string> rooms);
  // Every registered relay still within its ttl.
  [[nodiscard]] Result<std::vector<RelayEntry>> relays();

  // Homes `room` here with a `lease` unless another live relay holds it: then that relay.
  // A lease held by a relay whose registration ran out counts as free.
  [[nodiscard]] Result<Home> home(std::string_view room, std::chrono::milliseconds lease);
  // Extends this relay's leases of `rooms` (re-taking any that ran out and nobody took);
  // returns the rooms another live relay holds now.
  [[nodiscard]] Result<std::vector<std::string>> refresh(std::span<const std::string> rooms,
                                                         std::chrono::milliseconds lease);
  // The live home of `room`, or none (no lease, or its relay is gone).
  [[nodiscard]] Result<std::optional<Home>> home_of(std::string_view room);
  // Gives up this relay's lease of `room` (it emptied here); no-op if another holds it.
  [[nodiscard]] Status release(std::string_view room);

 private:
  struct Impl;
  explicit RedisRoomHoming(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lanparty::directory
