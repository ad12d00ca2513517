// SPDX-License-Identifier: MIT
// MemoryRoomHoming: each call does what its script in redis_scripts.hpp does on Redis.
#include "lanparty/directory/memory_room_homing.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/check.hpp"
#include "lanparty/base/errc.hpp"
#include "validate.hpp"

namespace lanparty::directory {
namespace {

auto propagate(const Error& e) { return fail(e.code, e.context); }

// The entry of `key` if it has not run out; a lapsed one is erased, as Redis's PX does.
template <typename Map>
typename Map::mapped_type* live_entry(Map& map, std::string_view key,
                                      std::chrono::milliseconds now) {
  const auto it = map.find(key);
  if (it == map.end()) return nullptr;
  if (now >= it->second.until) {
    map.erase(it);
    return nullptr;
  }
  return &it->second;
}

}  // namespace

MemoryHomingStore::MemoryHomingStore(Clock clock) : clock_(std::move(clock)) {
  LANPARTY_CHECK(clock_ != nullptr);
}

const MemoryHomingStore::Registration* MemoryHomingStore::live_relay(std::string_view id) {
  return live_entry(relays_, id, now());
}

MemoryHomingStore::Lease* MemoryHomingStore::live_lease(std::string_view room) {
  return live_entry(leases_, room, now());
}

MemoryRoomHoming::MemoryRoomHoming(std::shared_ptr<MemoryHomingStore> store, std::string relay_id)
    : store_(std::move(store)), relay_id_(std::move(relay_id)) {
  LANPARTY_CHECK(store_ != nullptr);
  LANPARTY_CHECK(!relay_id_.empty() && relay_id_.size() <= 255);
  instance_ = fmt::format("instance-{}", ++store_->instances_);
}

std::vector<RelayEntry> MemoryRoomHoming::relays() {
  std::vector<RelayEntry> out;
  std::vector<std::string> ids;
  for (const auto& entry : store_->relays_) ids.push_back(entry.first);
  for (const std::string& id : ids) {
    if (const auto* r = store_->live_relay(id)) {
      out.push_back(RelayEntry{.id = id, .address = r->address, .load = r->load});
    }
  }
  return out;
}

Result<std::optional<Home>> MemoryRoomHoming::home_of(std::string_view room) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  const auto* lease = store_->live_lease(room);
  if (lease == nullptr) return std::optional<Home>();
  const auto* relay = store_->live_relay(lease->relay_id);
  if (relay == nullptr) return std::optional<Home>();
  return std::optional<Home>(Home{.relay_id = lease->relay_id,
                                  .address = relay->address,
                                  .mine = lease->relay_id == relay_id_});
}

Status MemoryRoomHoming::register_relay(std::string_view address, std::uint64_t load,
                                        std::chrono::milliseconds ttl,
                                        std::chrono::milliseconds* conflict_ttl) {
  if (Status s = detail::check_homing_duration(ttl, "a registration's ttl"); !s) return s;
  if (address.empty()) return fail(Errc::kInvalidArgument, "room homing: empty relay address");
  if (const auto* current = store_->live_relay(relay_id_);
      current != nullptr && current->instance != instance_) {
    const std::chrono::milliseconds left = current->until - store_->now();
    if (conflict_ttl != nullptr) *conflict_ttl = left;
    return fail(std::make_error_code(std::errc::address_in_use),
                fmt::format("relay {} is already registered in this cluster by another live "
                            "relay process (instance {}, this relay is {}; registered for {} ms "
                            "more unless it refreshes): each relay needs its own --advertise",
                            relay_id_, current->instance, instance_, left.count()));
  }
  store_->relays_[relay_id_] = MemoryHomingStore::Registration{.address = std::string(address),
                                                               .load = load,
                                                               .instance = instance_,
                                                               .until = store_->now() + ttl};
  return ok();
}

Status MemoryRoomHoming::unregister_relay(std::span<const std::string> rooms) {
  if (const auto* current = store_->live_relay(relay_id_);
      current != nullptr && current->instance != instance_) {
    return ok();
  }
  store_->relays_.erase(relay_id_);
  for (const std::string& room : rooms) {
    if (const auto* lease = store_->live_lease(room);
        lease != nullptr && lease->relay_id == relay_id_) {
      store_->leases_.erase(room);
    }
  }
  return ok();
}

Result<Home> MemoryRoomHoming::home(std::string_view room, std::chrono::milliseconds lease) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  if (Status s = detail::check_homing_duration(lease, "a lease"); !s) return propagate(s.error());
  if (const auto* current = store_->live_lease(room);
      current != nullptr && current->relay_id != relay_id_) {
    if (const auto* holder = store_->live_relay(current->relay_id)) {
      return Home{.relay_id = current->relay_id, .address = holder->address, .mine = false};
    }
  }
  store_->leases_[std::string(room)] =
      MemoryHomingStore::Lease{.relay_id = relay_id_, .until = store_->now() + lease};
  const auto* me = store_->live_relay(relay_id_);
  return Home{
      .relay_id = relay_id_, .address = me != nullptr ? me->address : std::string(), .mine = true};
}

Result<std::vector<std::string>> MemoryRoomHoming::refresh(std::span<const std::string> rooms,
                                                           std::chrono::milliseconds lease) {
  if (Status s = detail::check_homing_duration(lease, "a lease"); !s) return propagate(s.error());
  std::vector<std::string> lost;
  for (const std::string& room : rooms) {
    auto* current = store_->live_lease(room);
    if (current != nullptr && current->relay_id == relay_id_) {
      current->until = store_->now() + lease;
    } else if (current != nullptr && store_->live_relay(current->relay_id) != nullptr) {
      lost.push_back(room);
    } else {
      store_->leases_[room] =
          MemoryHomingStore::Lease{.relay_id = relay_id_, .until = store_->now() + lease};
    }
  }
  return lost;
}

Status MemoryRoomHoming::release(std::string_view room) {
  if (Status s = detail::check_room(room); !s) return s;
  if (const auto* lease = store_->live_lease(room);
      lease != nullptr && lease->relay_id == relay_id_) {
    store_->leases_.erase(store_->leases_.find(room));
  }
  return ok();
}

}  // namespace lanparty::directory
