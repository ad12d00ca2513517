// SPDX-License-Identifier: MIT
#include "lanparty/obs/status.hpp"

#include <array>
#include <utility>

#include <fmt/format.h>

namespace lanparty::obs {

std::string_view to_string(ConnectionState state) noexcept {
  switch (state) {
    case ConnectionState::kConnecting:
      return "connecting";
    case ConnectionState::kJoining:
      return "joining";
    case ConnectionState::kConnected:
      return "connected";
    case ConnectionState::kReconnecting:
      return "reconnecting";
    case ConnectionState::kRejected:
      return "rejected";
    case ConnectionState::kCertificateMismatch:
      return "certificate_mismatch";
    case ConnectionState::kDisconnected:
      return "disconnected";
  }
  return "unknown";
}

std::string_view describe(ConnectionState state) noexcept {
  switch (state) {
    case ConnectionState::kConnecting:
      return "Connecting to the relay...";
    case ConnectionState::kJoining:
      return "Connected to the relay; joining the room...";
    case ConnectionState::kConnected:
      return "Connected: you are on the LAN party.";
    case ConnectionState::kReconnecting:
      return "Lost the connection to the relay; reconnecting. Games may pause for a moment.";
    case ConnectionState::kRejected:
      return "The relay refused to let you in; see the reason above.";
    case ConnectionState::kCertificateMismatch:
      return "The relay's certificate is not the one you were given. Check --relay-ca-cert with "
             "the host: you may be talking to the wrong server.";
    case ConnectionState::kDisconnected:
      return "Disconnected.";
  }
  return "Unknown state.";
}

std::string describe_reject(std::string_view code) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kSentences{{
      {"unsupported_protocol",
       "Your softlan-vpn is not compatible with this relay's version. Update softlan-vpn."},
      {"malformed_hello",
       "The relay could not read the join request. Update softlan-vpn; if it persists, report "
       "a bug."},
      {"invalid_role", "The relay did not accept this program's role. Update softlan-vpn."},
      {"invalid_room",
       "That room name is not valid: use 3 to 32 letters, digits, '-' or '_', starting with a "
       "letter or digit."},
      {"invalid_mac",
       "The virtual network card address is not valid: it must be a unicast address and not "
       "all zeros. Fix --virtual-mac or delete the identity file to get a new one."},
      {"gateway_exists",
       "This room already has a gateway: only one LAN can host a room. Stop the other gateway "
       "or pick another room."},
      {"duplicate_mac",
       "Someone in this room already uses your virtual network card address (maybe this same "
       "computer, still connected). Close the other copy, or delete the identity file to get a "
       "new address."},
      {"room_full", "This room is full. Ask the host to raise the relay's player limit."},
      {"relay_full",
       "The relay cannot open more rooms right now. Try again later or use another relay."},
      {"mtu_too_small",
       "Your network path to the relay cannot carry full-size LAN frames for this room. Try "
       "another network (a VPN or a mobile hotspot can shrink packets)."},
      {"datagrams_unsupported",
       "The connection to the relay does not support QUIC datagrams, which the LAN traffic "
       "needs. Update softlan-vpn."},
  }};
  for (const auto& [known, sentence] : kSentences) {
    if (known == code) return std::string(sentence);
  }
  return fmt::format("The relay refused to let you in ({}). Update softlan-vpn if this persists.",
                     code);
}

}  // namespace lanparty::obs
