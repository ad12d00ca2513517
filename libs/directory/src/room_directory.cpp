// SPDX-License-Identifier: MIT
#include "lanparty/directory/room_directory.hpp"

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "validate.hpp"

namespace lanparty::directory {

std::string_view to_string(ClaimOutcome outcome) noexcept {
  switch (outcome) {
    case ClaimOutcome::kClaimed:
      return "claimed";
    case ClaimOutcome::kAlreadyOwner:
      return "already_owner";
    case ClaimOutcome::kOwnedByOther:
      return "owned_by_other";
    case ClaimOutcome::kFull:
      return "full";
  }
  return "unknown";
}

namespace detail {

Status check_room(std::string_view room) {
  if (room.empty()) return fail(Errc::kInvalidArgument, "room directory: empty room name");
  if (room.size() > kMaxRoomNameBytes) {
    return fail(Errc::kInvalidArgument,
                fmt::format("room directory: room name of {} bytes (at most {})", room.size(),
                            kMaxRoomNameBytes));
  }
  return ok();
}

Status check_invite_id(std::string_view invite_id) {
  bool valid = invite_id.size() == 16;
  for (const char c : invite_id) {
    valid = valid && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (!valid) {
    return fail(Errc::kInvalidArgument,
                "room directory: invite id is not 16 lower-case hex digits");
  }
  return ok();
}

Status check_homing_duration(std::chrono::milliseconds d, std::string_view what) {
  if (d.count() < 1) {
    return fail(Errc::kInvalidArgument, fmt::format("room homing: {} must be at least 1 ms", what));
  }
  return ok();
}

}  // namespace detail
}  // namespace lanparty::directory
