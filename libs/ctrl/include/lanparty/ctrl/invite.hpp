// SPDX-License-Identifier: MIT
// Invite tokens and the room-claim message of PROTOCOL.md section 7, without crypto: this
// module builds and splits the bytes that are signed; the gateway signs, the relay verifies.
//
// Token (ASCII, at most kMaxInviteTokenBytes):
//   "lpi1." base64url(payload) "." base64url(64-byte Ed25519 signature)
// payload, one UTF-8 JSON object:
//   {"room":"ROOM1","id":"9f2c4e1a7b3d5a60","exp":1767225600,"name":"alice"}
//   room: string; id: 16 lower-case hex digits; exp: integer (section 2's rule), Unix
//   seconds; name: optional string of 1-32 bytes. Unknown fields are ignored; a duplicate
//   key (at any depth), a missing or mistyped field or any other break of these rules makes
//   the token malformed.
// Signed bytes: "lanparty-invite-v1." + the payload part exactly as it appears in the token.
//
// Nothing of a token counts before its signature verifies: parse_invite_token only checks
// the shape. The relay verifies ParsedInvite::signature over ParsedInvite::signed_message
// with the room's key, and only then reads room, exp, id or name.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"

namespace lanparty::ctrl {

inline constexpr std::string_view kInviteTokenPrefix = "lpi1.";
inline constexpr std::size_t kMaxInviteTokenBytes = 1024;
inline constexpr std::string_view kInviteSigningPrefix = "lanparty-invite-v1.";
inline constexpr std::size_t kInviteIdHexDigits = 16;
inline constexpr std::size_t kMinInviteNameBytes = 1;
inline constexpr std::size_t kMaxInviteNameBytes = 32;

// Room keys are Ed25519 (RFC 8032): 32-byte public keys, 64-byte signatures.
inline constexpr std::size_t kRoomKeyBytes = 32;
inline constexpr std::size_t kSignatureBytes = 64;
using Signature = std::array<std::uint8_t, kSignatureBytes>;

struct InvitePayload {
  std::string room;
  std::string id;        // 16 lower-case hex digits
  std::int64_t exp = 0;  // expiry, seconds since the Unix epoch; expired when exp <= now
  std::optional<std::string> name = std::nullopt;  // 1-32 bytes, shown to the room

  friend bool operator==(const InvitePayload&, const InvitePayload&) = default;
};

// A token split into its parts. Unverified: see the top of this file.
struct ParsedInvite {
  InvitePayload payload;
  std::vector<std::uint8_t> signed_message;  // invite_signing_input(payload part)
  Signature signature;
};

// Checks the token's shape (length, prefix, parts, strict base64url, a 64-byte signature,
// the payload rules above) and splits it. Fails with Errc::kParseError and a context a host
// can read, e.g. "invite token is longer than 1024 bytes" or "invite payload has no \"exp\"".
// Does not verify the signature and does not compare exp with any clock.
[[nodiscard]] Result<ParsedInvite> parse_invite_token(std::string_view token);

// "lanparty-invite-v1." followed by `payload_b64` byte for byte.
[[nodiscard]] std::vector<std::uint8_t> invite_signing_input(std::string_view payload_b64);

// Signs `message` with the room key (Ed25519). ctrl has no crypto: the gateway passes its
// signer. May fail (a key that cannot be used); the failure is passed through unchanged.
using InviteSigner = std::function<Result<Signature>(std::span<const std::uint8_t> message)>;

// Builds a token: compact JSON payload {"room","id","exp"[,"name"]} in that order, signed
// through `sign`. Refuses, with Errc::kInvalidArgument, a payload parse_invite_token would
// refuse (bad id, name of 0 or more than 32 bytes, strings that are not UTF-8) and, with
// Errc::kTooLarge, a token longer than 1024 bytes (a very long room or name). For any
// payload it accepts, parse_invite_token(token)->payload == payload.
[[nodiscard]] Result<std::string> encode_invite_token(const InvitePayload& payload,
                                                      const InviteSigner& sign);

// Exactly 16 characters of 0-9 a-f (section 7's invite id; the relay ignores a revoke whose
// invite_id fails this).
[[nodiscard]] bool is_valid_invite_id(std::string_view id) noexcept;

// Room claim (gateway hello): room_proof is the Ed25519 signature by the room key over
//   "lanparty-room-claim-v1" 0x00 room 0x00 ekm
// where ekm is 32 bytes of the connection's TLS exporter (RFC 8446 section 7.5) with label
// kRoomClaimExporterLabel and an empty context, binding the proof to this connection.
inline constexpr std::string_view kRoomClaimContext = "lanparty-room-claim-v1";
inline constexpr std::string_view kRoomClaimExporterLabel = "EXPORTER-lanparty-room-claim";
inline constexpr std::size_t kRoomClaimEkmBytes = 32;

// The claim's signed bytes. `room` is used as given (the relay checked it at check 4).
[[nodiscard]] std::vector<std::uint8_t> claim_signing_input(
    std::string_view room, std::span<const std::uint8_t, kRoomClaimEkmBytes> ekm);

}  // namespace lanparty::ctrl
