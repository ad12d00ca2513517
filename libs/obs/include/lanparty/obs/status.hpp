// SPDX-License-Identifier: MIT
// What a player reads: one plain sentence for every connection state, every reject code of
// PROTOCOL.md sections 2 and 7, every way the secure connection to the relay can fail, a kick
// and an expired invite, so "duplicate_mac" never reaches a person undecoded.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace lanparty::obs {

enum class ConnectionState : std::uint8_t {
  kConnecting,       // resolving the relay and starting the QUIC handshake
  kJoining,          // handshake done, hello sent, waiting for welcome
  kConnected,        // welcome received: frames flow
  kReconnecting,     // the connection was lost; retrying with backoff
  kRejected,         // the relay answered reject: retrying will not help until something changes
  kHandshakeFailed,  // the secure (QUIC/TLS) connection failed; a HandshakeFailure says why
  kDisconnected,     // stopped by the user
};

[[nodiscard]] std::string_view to_string(ConnectionState state) noexcept;

// A sentence for the player, e.g. "Connected: you are on the LAN party."
[[nodiscard]] std::string_view describe(ConnectionState state) noexcept;

// Why the secure connection to the relay failed (the QUIC handshake), as far as the client can
// tell. Each has a stable name (to_string, for logs and scripts), a sentence that says what to
// do, and the exit code the clients and the gateway end with (their READMEs list them).
enum class HandshakeFailure : std::uint8_t {
  kPinMismatch,           // not the certificate pinned (the link's pin=, --relay-ca-cert)
  kUntrustedCertificate,  // no pin, and the chain does not verify to the --ca-file anchors
  kWrongServerName,       // the chain verifies, but the certificate is not for --server-name
  kNoAlpn,                // the server does not speak lanparty/1 (another service, a wrong port)
  kVersionMismatch,       // no QUIC (or TLS) version in common with the relay
  kUnreachable,           // ICMP unreachable / connection refused: nothing listens at HOST:PORT
  kTimeout,               // no answer within the handshake timeout
  kOther,                 // anything else; the detail names it
};

[[nodiscard]] std::string_view to_string(HandshakeFailure failure) noexcept;

// True when retrying cannot help until someone changes something (a certificate, a link, a
// flag, a version): the clients and the gateway then stop instead of retrying. Unreachable,
// timeout and other failures may clear up (the relay restarts, the network comes back).
[[nodiscard]] bool is_permanent(HandshakeFailure failure) noexcept;

// The sentence for a failure connecting to `relay` ("HOST:PORT" as the user gave it) under the
// TLS name `server_name`, e.g. "Nothing answers at relay.example.net:4433: check the address
// and that the relay runs."
[[nodiscard]] std::string describe_handshake_failure(HandshakeFailure failure,
                                                     std::string_view relay,
                                                     std::string_view server_name);

// Process exit codes. 0 joined or stopped by the user, 1 refused by the relay (a reject retrying
// cannot fix, a kick), 2 a usage or set-up error; a failed handshake ends with its own code:
// 10 pin_mismatch, 11 untrusted_certificate, 12 wrong_server_name, 13 no_alpn,
// 14 version_mismatch, 15 unreachable, 16 handshake_timeout, 17 handshake_error (other).
[[nodiscard]] int exit_code(HandshakeFailure failure) noexcept;

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
