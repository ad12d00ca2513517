// SPDX-License-Identifier: MIT
#include "lanparty/directory/memory_room_directory.hpp"

#include <utility>

#include <fmt/format.h>

#include "lanparty/base/check.hpp"
#include "lanparty/base/errc.hpp"
#include "validate.hpp"

namespace lanparty::directory {
namespace {
auto propagate(const Error& e) { return fail(e.code, e.context); }
}  // namespace

MemoryRoomDirectory::MemoryRoomDirectory(Limits limits) : limits_(limits) {
  LANPARTY_CHECK(limits_.room_ttl > std::chrono::seconds::zero());
  LANPARTY_CHECK(limits_.max_room_records > 0);
}

bool MemoryRoomDirectory::is_stale(const Entry& entry, Seconds now) const noexcept {
  return entry.last_seen <= detail::stale_cutoff(now, limits_);
}

MemoryRoomDirectory::Rooms::iterator MemoryRoomDirectory::find_live(std::string_view room,
                                                                    Seconds now) {
  auto it = rooms_.find(room);
  if (it != rooms_.end() && is_stale(it->second, now)) {
    rooms_.erase(it);
    return rooms_.end();
  }
  return it;
}

std::size_t MemoryRoomDirectory::purge_stale(Seconds now) {
  return std::erase_if(rooms_, [&](const auto& kv) { return is_stale(kv.second, now); });
}

Result<std::optional<RoomRecord>> MemoryRoomDirectory::lookup(std::string_view room, Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  const auto it = find_live(room, now);
  if (it == rooms_.end()) return std::optional<RoomRecord>();
  RoomRecord record{.room = it->first,
                    .owner_key = it->second.owner_key,
                    .last_seen = it->second.last_seen,
                    .revocations = {}};
  for (const auto& [id, exp] : it->second.revocations) {
    if (!exp || *exp > now) record.revocations.push_back(Revocation{id, exp});
  }
  return std::optional<RoomRecord>(std::move(record));
}

Result<ClaimOutcome> MemoryRoomDirectory::claim(std::string_view room, const OwnerKey& owner,
                                                Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  if (const auto it = find_live(room, now); it != rooms_.end()) {
    if (it->second.owner_key != owner) return ClaimOutcome::kOwnedByOther;
    it->second.last_seen = now;
    return ClaimOutcome::kAlreadyOwner;
  }
  if (rooms_.size() >= limits_.max_room_records) purge_stale(now);
  if (rooms_.size() >= limits_.max_room_records) return ClaimOutcome::kFull;
  rooms_.emplace(std::string(room), Entry{.owner_key = owner, .last_seen = now, .revocations = {}});
  return ClaimOutcome::kClaimed;
}

Status MemoryRoomDirectory::touch(std::string_view room, const OwnerKey& owner, Seconds now) {
  if (Status s = detail::check_room(room); !s) return s;
  const auto it = find_live(room, now);
  if (it == rooms_.end() || it->second.owner_key != owner) {
    return fail(Errc::kNotFound,
                fmt::format("room directory: room {} has no live record owned by this key", room));
  }
  it->second.last_seen = now;
  return ok();
}

Status MemoryRoomDirectory::revoke(std::string_view room, std::string_view invite_id,
                                   std::optional<Seconds> exp, Seconds now) {
  if (Status s = detail::check_room(room); !s) return s;
  if (Status s = detail::check_invite_id(invite_id); !s) return s;
  const auto it = find_live(room, now);
  if (it == rooms_.end()) {
    return fail(Errc::kNotFound, fmt::format("room directory: room {} has no live record", room));
  }
  if (exp && *exp <= now) return ok();
  auto& revocations = it->second.revocations;
  const auto [pos, inserted] = revocations.try_emplace(std::string(invite_id), exp);
  if (!inserted) {
    // Never shortened: no exp wins, else the later one (as the SQL upsert does).
    std::optional<Seconds>& kept = pos->second;
    if (!kept || !exp) {
      kept.reset();
    } else if (*exp > *kept) {
      kept = exp;
    }
  }
  return ok();
}

Result<bool> MemoryRoomDirectory::is_revoked(std::string_view room, std::string_view invite_id,
                                             Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  if (Status s = detail::check_invite_id(invite_id); !s) return propagate(s.error());
  const auto it = rooms_.find(room);
  if (it == rooms_.end() || is_stale(it->second, now)) return false;
  const auto rev = it->second.revocations.find(invite_id);
  if (rev == it->second.revocations.end()) return false;
  return !rev->second || *rev->second > now;
}

Result<Purged> MemoryRoomDirectory::expire(Seconds now) {
  Purged purged;
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    auto& revocations = it->second.revocations;
    if (is_stale(it->second, now)) {
      purged.revocations += revocations.size();
      ++purged.rooms;
      it = rooms_.erase(it);
      continue;
    }
    purged.revocations +=
        std::erase_if(revocations, [&](const auto& kv) { return kv.second && *kv.second <= now; });
    ++it;
  }
  return purged;
}

}  // namespace lanparty::directory
