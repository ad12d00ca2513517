// SPDX-License-Identifier: MIT
// RoomHoming in memory, for relay tests and the relay fuzzer: RedisRoomHoming's semantics
// (one call = one of src/redis_scripts.hpp's homing scripts) over a store that several
// relays' objects share, on a clock the caller moves. Nothing durable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/directory/room_homing.hpp"

namespace lanparty::directory {

// What a cluster's Redis holds for homing: registrations and leases, each with an end time.
// Not thread-safe: every MemoryRoomHoming on it is called from one thread.
class MemoryHomingStore {
 public:
  // The store's clock (Redis's, which every relay of a cluster shares), read at each call.
  // A registration or lease made at `t` for `d` counts while now() < t + d.
  using Clock = std::function<std::chrono::milliseconds()>;
  explicit MemoryHomingStore(Clock clock);

  [[nodiscard]] std::chrono::milliseconds now() const { return clock_(); }

 private:
  friend class MemoryRoomHoming;
  struct Registration {
    std::string address;
    std::uint64_t load = 0;
    std::string instance;
    std::chrono::milliseconds until{};
  };
  struct Lease {
    std::string relay_id;
    std::chrono::milliseconds until{};
  };
  // The registration of `id` if it is live; a lapsed one is erased (Redis's PX does that).
  const Registration* live_relay(std::string_view id);
  // The lease of `room` if it has not run out (whether its relay lives or not).
  Lease* live_lease(std::string_view room);

  Clock clock_;
  std::map<std::string, Registration, std::less<>> relays_;
  std::map<std::string, Lease, std::less<>> leases_;
  std::uint64_t instances_ = 0;
};

// One relay's homing on a shared store. Each object is one instance (one relay process):
// two objects with one relay id play two processes started with one --advertise.
class MemoryRoomHoming final : public RoomHoming {
 public:
  // `relay_id`: 1 to 255 bytes (LANPARTY_CHECK: a test's own mistake).
  MemoryRoomHoming(std::shared_ptr<MemoryHomingStore> store, std::string relay_id);

  [[nodiscard]] const std::string& relay_id() const noexcept { return relay_id_; }
  // "instance-N", N counting the store's objects from 1.
  [[nodiscard]] const std::string& instance() const noexcept { return instance_; }
  // Every registered relay still within its ttl, by id.
  [[nodiscard]] std::vector<RelayEntry> relays();
  // The live home of `room`, or none (no lease, or its relay is gone).
  [[nodiscard]] Result<std::optional<Home>> home_of(std::string_view room);

  [[nodiscard]] Status register_relay(std::string_view address, std::uint64_t load,
                                      std::chrono::milliseconds ttl,
                                      std::chrono::milliseconds* conflict_ttl = nullptr) override;
  [[nodiscard]] Status unregister_relay(std::span<const std::string> rooms) override;
  [[nodiscard]] Result<Home> home(std::string_view room, std::chrono::milliseconds lease) override;
  [[nodiscard]] Result<std::vector<std::string>> refresh(std::span<const std::string> rooms,
                                                         std::chrono::milliseconds lease) override;
  [[nodiscard]] Status release(std::string_view room) override;

 private:
  std::shared_ptr<MemoryHomingStore> store_;
  std::string relay_id_;
  std::string instance_;
};

}  // namespace lanparty::directory
