// SPDX-License-Identifier: MIT
// Wire spellings of the ctrl enums; tables so to_string and parse cannot drift apart.
#include "lanparty/ctrl/messages.hpp"

#include <array>
#include <cstddef>

namespace lanparty::ctrl {
namespace {

// Indexed by enumerator value; parse is a linear scan (a dozen short names, cold path).
constexpr std::array<std::string_view, 2> kRoleNames = {"client", "gateway"};
constexpr std::array<std::string_view, 17> kRejectCodeNames = {
    "unsupported_protocol",  "malformed_hello", "invalid_role", "invalid_room", "invalid_mac",
    "gateway_exists",        "duplicate_mac",   "room_full",    "relay_full",   "mtu_too_small",
    "datagrams_unsupported", "auth_required",   "auth_failed",  "room_owned",   "invite_expired",
    "invite_revoked",        "redirect"};
constexpr std::array<std::string_view, 4> kLeaveReasonNames = {"closed", "timeout", "kicked",
                                                               "lost"};

static_assert(static_cast<std::size_t>(RejectCode::kRedirect) + 1 == kRejectCodeNames.size());
static_assert(static_cast<std::size_t>(LeaveReason::kLost) + 1 == kLeaveReasonNames.size());
static_assert(static_cast<std::size_t>(Role::kGateway) + 1 == kRoleNames.size());

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E value) noexcept {
  const auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : std::string_view("unknown");
}

template <class E, std::size_t N>
std::optional<E> parse_name(const std::array<std::string_view, N>& names,
                            std::string_view text) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Role role) noexcept { return name_of(kRoleNames, role); }
std::optional<Role> parse_role(std::string_view text) noexcept {
  return parse_name<Role>(kRoleNames, text);
}

std::string_view to_string(RejectCode code) noexcept { return name_of(kRejectCodeNames, code); }
std::optional<RejectCode> parse_reject_code(std::string_view text) noexcept {
  return parse_name<RejectCode>(kRejectCodeNames, text);
}

std::string_view to_string(LeaveReason reason) noexcept {
  return name_of(kLeaveReasonNames, reason);
}
std::optional<LeaveReason> parse_leave_reason(std::string_view text) noexcept {
  return parse_name<LeaveReason>(kLeaveReasonNames, text);
}

std::string_view message_type(const Message& message) noexcept {
  struct Visitor {
    std::string_view operator()(const Hello&) const noexcept { return "hello"; }
    std::string_view operator()(const MalformedHello&) const noexcept { return "hello"; }
    std::string_view operator()(const Welcome&) const noexcept { return "welcome"; }
    std::string_view operator()(const Reject&) const noexcept { return "reject"; }
    std::string_view operator()(const PeerJoined&) const noexcept { return "peer_joined"; }
    std::string_view operator()(const PeerLeft&) const noexcept { return "peer_left"; }
    std::string_view operator()(const Stats&) const noexcept { return "stats"; }
    std::string_view operator()(const Disconnect&) const noexcept { return "disconnect"; }
    std::string_view operator()(const UnknownMessage& m) const noexcept { return m.type; }
    std::string_view operator()(const Kick&) const noexcept { return "kick"; }
    std::string_view operator()(const Revoke&) const noexcept { return "revoke"; }
    std::string_view operator()(const Revoked&) const noexcept { return "revoked"; }
  };
  // A variant is valueless only after an assignment threw; checking first keeps visit from
  // throwing bad_variant_access in a noexcept function.
  return message.valueless_by_exception() ? std::string_view() : std::visit(Visitor{}, message);
}

}  // namespace lanparty::ctrl
