// SPDX-License-Identifier: MIT
// What a player reads: one plain sentence for every connection state, every reject code of
// PROTOCOL.md sections 2 and 7, a kick and an expired invite, so "duplicate_mac" never
// reaches a person undecoded.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace lanparty::obs {

enum class ConnectionState : std::uint8_t {
  kConnecting,    // resolving the relay and starting the QUIC handshake
  kJoining,       // handshake done, hello sent, waiting for welcome
  kConnected,     // welcome received: frames flow
  kReconnecting,  // the connection was lost; retrying with backoff
  kRejected,      // the relay answered reject: retrying will not help until something changes
  kCertificateMismatch,  // the relay's certificate is not the one we were told to trust
  kDisconnected,         // stopped by the user
};

[[nodiscard]] std::string_view to_string(ConnectionState state) noexcept;

// A sentence for the player, e.g. "Connected: you are on the LAN party."
[[nodiscard]] std::string_view describe(ConnectionState state) noexcept;

// A sentence that says what happened and what to do, for a reject code as the relay sent it
// (sections 2 and 7). Unknown codes (a newer relay) get a generic sentence that names the code.
[[nodiscard]] std::string describe_reject(std::string_view code);

// The QUIC application error the relay closes a kicked client with (PROTOCOL.md section 7;
// ctrl::app_error::kKicked, repeated here because obs does not depend on ctrl).
inline constexpr std::uint64_t kAppErrorKicked = 4;

// A sentence for a client closed with application error 4, from the close's reason phrase
// (the owner's kick reason, untrusted text of up to 64 bytes). Known reasons ("mac_on_lan")
// get their own sentence; another reason is quoted with control characters replaced by '?'
// and cut to 64 bytes; an empty one gets a generic sentence.
[[nodiscard]] std::string describe_kick(std::string_view reason);

// A sentence for an `invite_expired` reject, naming when the invite ran out, e.g.
// "This invite expired yesterday at 20:00 UTC; ask the host for a new one."
// Both times are passed in (obs reads no clock), in seconds since the Unix epoch. Times are
// shown at `utc_offset` from UTC (the caller's local offset, or zero) and always labelled
// ("UTC", "UTC+02:00"), so a sentence never reads as local time when it is not:
// - less than an hour ago: "N minutes ago"; same calendar day: "today at HH:MM <zone>";
//   the day before: "yesterday at HH:MM <zone>"; earlier: "on YYYY-MM-DD at HH:MM <zone>".
// - exp still in the future by this clock (the relay's clock decides): says so and suggests
//   checking the computer's clock.
// Values outside years 1970-9999 or offsets of a day or more get a sentence without a time.
[[nodiscard]] std::string describe_invite_expiry(
    std::int64_t exp_unix_seconds, std::int64_t now_unix_seconds,
    std::chrono::minutes utc_offset = std::chrono::minutes{0});

}  // namespace lanparty::obs
