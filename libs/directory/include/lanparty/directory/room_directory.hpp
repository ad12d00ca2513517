// SPDX-License-Identifier: MIT
// The relay's room records of PROTOCOL.md section 7 (owner key, last seen, revoked invites)
// behind a storage-neutral interface: SQLite today, a networked store later.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"

namespace lanparty::directory {

// Seconds since the Unix epoch, as the relay's clock and an invite's `exp` count them.
using Seconds = std::chrono::sys_seconds;

// A room key: the Ed25519 public key (RFC 8032) of the owning gateway.
using OwnerKey = std::array<std::uint8_t, 32>;

// PROTOCOL.md section 7 defaults for --room-ttl and --max-room-records.
inline constexpr std::chrono::seconds kDefaultRoomTtl = std::chrono::hours(24 * 30);
inline constexpr std::size_t kDefaultMaxRoomRecords = 100000;

// Longest room name stored. PROTOCOL.md allows 32 bytes; the slack keeps the directory from
// having to change if the grammar grows, while still bounding what reaches the disk.
inline constexpr std::size_t kMaxRoomNameBytes = 255;

struct Limits {
  // A record whose owner was last seen `room_ttl` or longer before `now` is gone: lookup()
  // no longer returns it, claim() hands the name to a new key, expire() purges it.
  std::chrono::seconds room_ttl = kDefaultRoomTtl;
  // Live records at most; a claim of a new name beyond it is ClaimOutcome::kFull.
  std::size_t max_room_records = kDefaultMaxRoomRecords;
};

struct Revocation {
  std::string invite_id;       // 16 lower-case hex digits
  std::optional<Seconds> exp;  // the invite's own expiry; none: until the record is forgotten
  friend bool operator==(const Revocation&, const Revocation&) = default;
};

struct RoomRecord {
  std::string room;
  OwnerKey owner_key{};
  Seconds last_seen{};
  std::vector<Revocation> revocations;  // only those still in force, sorted by invite_id
  friend bool operator==(const RoomRecord&, const RoomRecord&) = default;
};

enum class ClaimOutcome {
  kClaimed,       // no live record existed; one was written with this owner, last_seen = now
  kAlreadyOwner,  // the live record has this owner; last_seen = now
  kOwnedByOther,  // the live record has another owner (the relay answers room_owned)
  kFull,          // a new record would exceed max_room_records (the relay answers relay_full)
};

[[nodiscard]] std::string_view to_string(ClaimOutcome outcome) noexcept;

// What expire() removed.
struct Purged {
  std::size_t rooms = 0;        // records whose owner was not seen for room_ttl
  std::size_t revocations = 0;  // revocations past their exp, or of a purged record
  friend bool operator==(const Purged&, const Purged&) = default;
};

// Every method takes the caller's clock reading `now`; implementations never read a clock.
// Each call is atomic, and a call that changes anything has made the change durable (as far
// as the implementation promises: see its header) before it returns. Errors are storage
// failures (I/O, a corrupt or locked file) or kInvalidArgument for a room name that is empty
// or longer than kMaxRoomNameBytes, or an invite id that is not 16 lower-case hex digits.
// Not thread-safe: one thread (the relay's loop) uses an instance.
class RoomDirectory {
 public:
  virtual ~RoomDirectory() = default;

  // The live record of `room`, or none. A record past room_ttl is forgotten on the way.
  [[nodiscard]] virtual Result<std::optional<RoomRecord>> lookup(std::string_view room,
                                                                 Seconds now) = 0;

  // Makes `owner` the owner of `room` unless a live record says otherwise (see ClaimOutcome).
  // A record past room_ttl does not count: its name and revocations are forgotten first, and
  // so are all such records before the answer is kFull. Check and write are one transaction.
  [[nodiscard]] virtual Result<ClaimOutcome> claim(std::string_view room, const OwnerKey& owner,
                                                   Seconds now) = 0;

  // The owner is still connected, or is leaving: last_seen = now. kNotFound when `room` has
  // no live record owned by `owner` (it was forgotten, or belongs to another key).
  [[nodiscard]] virtual Status touch(std::string_view room, const OwnerKey& owner, Seconds now) = 0;

  // Records `invite_id` as revoked in `room` until `exp` (none: until the record is
  // forgotten). Revoking again never shortens an earlier revocation. An `exp` at or before
  // `now` writes nothing: such an invite is refused as expired anyway. kNotFound when `room`
  // has no live record.
  [[nodiscard]] virtual Status revoke(std::string_view room, std::string_view invite_id,
                                      std::optional<Seconds> exp, Seconds now) = 0;

  // Whether `invite_id` is revoked in the live record of `room` at `now` (exp > now or none).
  [[nodiscard]] virtual Result<bool> is_revoked(std::string_view room, std::string_view invite_id,
                                                Seconds now) = 0;

  // Purges records past room_ttl (with their revocations) and revocations whose exp <= now.
  // Housekeeping for the relay's timer; the other calls already ignore what this removes.
  [[nodiscard]] virtual Result<Purged> expire(Seconds now) = 0;
};

}  // namespace lanparty::directory
