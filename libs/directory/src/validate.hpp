// SPDX-License-Identifier: MIT
// Argument checks shared by every RoomDirectory, so each refuses the same inputs the same way.
#pragma once

#include <chrono>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/directory/room_directory.hpp"

namespace lanparty::directory::detail {

// Empty or longer than kMaxRoomNameBytes: kInvalidArgument.
[[nodiscard]] Status check_room(std::string_view room);

// Not 16 lower-case hex digits (PROTOCOL.md section 7): kInvalidArgument.
[[nodiscard]] Status check_invite_id(std::string_view invite_id);

// A homing lease or registration ttl under 1 ms: kInvalidArgument naming `what`.
[[nodiscard]] Status check_homing_duration(std::chrono::milliseconds d, std::string_view what);

// Records last seen at or before this instant are gone.
[[nodiscard]] inline Seconds stale_cutoff(Seconds now, const Limits& limits) noexcept {
  return now - limits.room_ttl;
}

}  // namespace lanparty::directory::detail
