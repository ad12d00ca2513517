// SPDX-License-Identifier: MIT
// What a player reads: one plain sentence for every connection state and every reject code
// of PROTOCOL.md section 2, so "duplicate_mac" never reaches a person undecoded.
#pragma once

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

// A sentence that says what happened and what to do, for a reject code as the relay sent it.
// Unknown codes (a newer relay) get a generic sentence that names the code.
[[nodiscard]] std::string describe_reject(std::string_view code);

}  // namespace lanparty::obs
