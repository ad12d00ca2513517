// SPDX-License-Identifier: MIT
// The host's side of invites (PROTOCOL.md section 7): making one (payload, token, link), the
// list of invites this gateway issued (so `ctl revoke ID` can pass the invite's expiry), and
// durations such as "24h".
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/quic/room_key.hpp"

namespace lanparty::gateway {

// invite --expires: "90" (seconds), "45s", "30m", "24h", "7d", up to 10 years.
// kInvalidArgument with what is accepted.
[[nodiscard]] Result<std::chrono::seconds> parse_invite_lifetime(std::string_view text);

struct InviteRequest {
  std::string room;
  std::string relay;  // HOST:PORT or [IPv6]:PORT, as the players reach the relay
  // Further relays of the cluster (--relay repeated), the link's relays= (our extension): a
  // player's client tries them in turn when the first cannot be reached.
  std::vector<std::string> more_relays = {};
  std::string server_name;  // SNI; empty: the relay's host name, or "lanparty-relay" for an IP
  std::array<std::uint8_t, 32> relay_cert_sha256{};
  std::chrono::seconds valid_for{std::chrono::hours(24)};
  std::optional<std::string> name;
  std::int64_t now_unix = 0;
  std::string id;  // 16 lower-case hex digits, random (the caller draws it)
};

struct Invite {
  ctrl::InvitePayload payload;
  std::string token;
  std::string link;
};

// Signs the invite with the room key and builds the link a player pastes.
[[nodiscard]] Result<Invite> make_invite(const InviteRequest& request, const quic::RoomKey& key);

// 16 random lower-case hex digits from the OS's random source.
[[nodiscard]] std::string random_invite_id();

// The issued-invites file (one "ID EXP NAME" line per invite, mode 0600): appended by
// `invite`, read by the running gateway when it revokes.
[[nodiscard]] Status record_issued_invite(const std::filesystem::path& file,
                                          const ctrl::InvitePayload& payload);
// The expiry of an invite this gateway issued, if the file has it.
[[nodiscard]] std::optional<std::int64_t> issued_invite_expiry(const std::filesystem::path& file,
                                                               std::string_view id);

}  // namespace lanparty::gateway
