// SPDX-License-Identifier: MIT
// The operator's side of PROTOCOL.md section 7: room modes, --room-ttl values, the
// --room-owners file, and how often the relay refreshes an owner's record. Text in, values
// out: no files or clocks here, so every rule is unit-tested.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/directory/room_directory.hpp"

namespace lanparty::relay {

enum class RoomMode : std::uint8_t {
  kOpen,     // "open": sections 1-6 only; no room records
  kClaimed,  // "claimed": the first gateway that proves a room key owns the room
  kOwners,   // "owners": as claimed, but only keys of --room-owners may claim
};
// "open", "claimed", "owners".
[[nodiscard]] std::string_view to_string(RoomMode mode) noexcept;
// Exact spelling only.
[[nodiscard]] std::optional<RoomMode> parse_room_mode(std::string_view text) noexcept;

using OwnerKey = directory::OwnerKey;
using OwnerKeys = std::set<OwnerKey>;

// A duration as --room-ttl takes it: a positive whole number of seconds ("3600"), or a
// number with one unit suffix s, m, h or d ("45s", "90m", "12h", "30d"). At most 100 years.
// kInvalidArgument with a sentence saying what was wrong and what is accepted.
[[nodiscard]] Result<std::chrono::seconds> parse_room_ttl(std::string_view text);

// The --room-owners file: one base64url (RFC 4648 section 5, strict) 32-byte key a line.
// Everything from a '#' to the end of its line is a comment; spaces, tabs and a CR around a
// key are ignored; blank lines are fine. A bad line fails with kInvalidArgument naming
// `file_name` and the line number ("owners.txt:3: ..."); so does a file that lists no key.
[[nodiscard]] Result<OwnerKeys> parse_room_owners(std::string_view text,
                                                  std::string_view file_name);

// The first 8 base64url characters of a key (48 bits), enough to tell keys apart in logs
// without printing one whole.
[[nodiscard]] std::string key_fingerprint(const OwnerKey& key);

// How often a connected owner's last-seen time is refreshed: hourly, or a quarter of the TTL
// when that is shorter, so a record never ages past the TTL while its owner is connected.
[[nodiscard]] std::chrono::milliseconds owner_touch_interval(std::chrono::seconds room_ttl);

}  // namespace lanparty::relay
