// SPDX-License-Identifier: MIT
// The invite link a player pastes (PROTOCOL.md section 7):
//   lanparty://HOST:PORT/ROOM?sni=SERVER_NAME&pin=sha256:B64URL&invite=TOKEN
// and our extension for a cluster of relays (docs/protocol.md): &relays=HOST:PORT,HOST:PORT
// names further relays of the cluster to try in turn after HOST:PORT (same sni and pin: the
// relays of a cluster share one certificate). Clients that predate it ignore it.
// `pin` is the SHA-256 of the relay certificate's DER: a client given a link trusts exactly
// the certificate with that hash, connecting to HOST:PORT with SNI SERVER_NAME.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"

namespace lanparty::ctrl {

inline constexpr std::string_view kInviteLinkScheme = "lanparty";
inline constexpr std::size_t kPinSha256Bytes = 32;

// A relay's address as links, `reject.relay` and `--relay` write it: "HOST:PORT", an IPv6
// host in brackets ("[::1]:4433"), HOST a DNS name or dotted IPv4 as in the link.
struct RelayAddress {
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 0;
  friend bool operator==(const RelayAddress&, const RelayAddress&) = default;
};
// Fails with Errc::kParseError and a sentence saying what is wrong.
[[nodiscard]] Result<RelayAddress> parse_relay_address(std::string_view text);
[[nodiscard]] std::string format_relay_address(const RelayAddress& address);
// "HOST:PORT,HOST:PORT" (relays= after percent-decoding, --more-relays): 1 to kMaxLinkRelays
// addresses; an empty entry is an error.
[[nodiscard]] Result<std::vector<RelayAddress>> parse_relay_list(std::string_view text);

struct InviteLink {
  std::string host;         // DNS name, dotted IPv4, or IPv6 address without brackets ("::1")
  std::uint16_t port = 0;   // 1..65535
  std::string room;         // matches the section 2 room pattern (is_valid_room)
  std::string server_name;  // SNI: a DNS name (letters, digits, '-', dots) or dotted IPv4
  std::array<std::uint8_t, kPinSha256Bytes> pin_sha256{};
  std::string invite;  // an invite token whose shape parse_invite_token accepts (unverified)
  // relays=: the cluster's further relays, in the order to try them (empty: none given).
  std::vector<RelayAddress> more_relays = {};

  friend bool operator==(const InviteLink&, const InviteLink&) = default;
};

// At most this many relays in relays= (a link stays short enough to paste).
inline constexpr std::size_t kMaxLinkRelays = 16;

// Parses a link as pasted. Rules where PROTOCOL.md is silent:
// - ASCII whitespace around the link is trimmed; whitespace, control bytes or non-ASCII
//   inside it are refused (a link broken over two lines).
// - The scheme is case-insensitive; no user name ('@'), no '#' fragment, exactly one path
//   segment (the room), a port is required. An IPv6 host needs brackets ("[::1]:4433").
// - Query parameters come in any order; sni, pin and invite each exactly once (a repeat is
//   an error); unknown parameters are ignored; empty pieces ("&&", a trailing '&') skipped.
//   Names are case-sensitive. Values and the room are percent-decoded (%XX, either case);
//   '+' is a plus sign, not a space.
// - pin is "sha256:" + strict base64url of 32 bytes; invite must pass parse_invite_token.
// - relays= (optional, at most once): 1 to kMaxLinkRelays comma-separated relay addresses
//   (parse_relay_address), after percent-decoding; an empty item is an error.
// Fails with Errc::kParseError and a sentence for the person who pasted it, e.g. "the link
// has no invite=; ask the host for the whole link".
[[nodiscard]] Result<InviteLink> parse_invite_link(std::string_view text);

// The canonical link: lower-case scheme, IPv6 hosts in brackets, parameters in the order
// sni, pin, invite, then relays= when there are more relays (brackets written %5B %5D). The room
// and the token need no escaping and are printed exactly; other bytes outside A-Z a-z 0-9 - . _ ~
// in room, sni and invite are percent-encoded. For a link that parse_invite_link returned,
// parse_invite_link(format_invite_link(link)) == link.
[[nodiscard]] std::string format_invite_link(const InviteLink& link);

}  // namespace lanparty::ctrl
