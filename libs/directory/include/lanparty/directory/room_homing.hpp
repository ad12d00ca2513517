// SPDX-License-Identifier: MIT
// Which relay of a cluster a room lives on ("home"), behind a store-neutral interface: the
// calls a relay makes (register, home, refresh, release, unregister). RedisRoomHoming is the
// cluster's; MemoryRoomHoming keeps the same semantics in memory for tests and the fuzzer.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"

namespace lanparty::directory {

// Defaults of docs/architecture.md: a lease of 10 s refreshed every 3 s survives two lost
// refreshes. A lease counts only while its relay is alive, and a relay's liveness is its
// registration: 4 s, refreshed every second (three lost refreshes, a Redis restart, pass),
// so a dead relay's rooms are free 4 s after its death, before its peers give up on it
// (6 s of silence by default: apps/common's --relay-timeout) and ask another relay.
inline constexpr std::chrono::milliseconds kDefaultHomeLease{10000};
inline constexpr std::chrono::milliseconds kDefaultHomeRefresh{3000};
inline constexpr std::chrono::milliseconds kDefaultRelayLiveness{4000};
inline constexpr std::chrono::milliseconds kDefaultLivenessRefresh{1000};

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

// One relay's view of the cluster's homing: every call acts for this relay (its id, and the
// instance that registered it). Each call is atomic in the store. Errors: kInvalidArgument
// for an empty room or a lease or ttl below 1 ms; the store's own (network, timeout) else.
class RoomHoming {
 public:
  virtual ~RoomHoming() = default;

  // Registers this relay (or refreshes it): `address`, `load` (rooms it serves), live `ttl`.
  // std::errc::address_in_use when another live instance (another process) holds this
  // relay's id: nothing was written, and the context says for how long it stays registered
  // unless refreshed (`conflict_ttl`, when given, receives it).
  [[nodiscard]] virtual Status register_relay(
      std::string_view address, std::uint64_t load, std::chrono::milliseconds ttl,
      std::chrono::milliseconds* conflict_ttl = nullptr) = 0;
  // Removes this relay and gives up its leases of `rooms` (graceful shutdown); does nothing
  // when another instance holds the id.
  [[nodiscard]] virtual Status unregister_relay(std::span<const std::string> rooms) = 0;
  // Homes `room` here with a `lease` unless another live relay holds it: then that relay.
  // A lease held by a relay whose registration ran out counts as free.
  [[nodiscard]] virtual Result<Home> home(std::string_view room,
                                          std::chrono::milliseconds lease) = 0;
  // Extends this relay's leases of `rooms` (re-taking any that ran out and nobody took);
  // returns the rooms another live relay holds now.
  [[nodiscard]] virtual Result<std::vector<std::string>> refresh(
      std::span<const std::string> rooms, std::chrono::milliseconds lease) = 0;
  // Gives up this relay's lease of `room` (it emptied here); no-op if another holds it.
  [[nodiscard]] virtual Status release(std::string_view room) = 0;
};

}  // namespace lanparty::directory
