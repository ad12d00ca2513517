// SPDX-License-Identifier: MIT
// Control-stream messages of PROTOCOL.md section 2 as plain C++ values, with the enums whose
// wire spellings the protocol fixes. No JSON types here: codec.hpp turns these into bytes.
#pragma once

// Protocol flow on stream 0 (the first client-initiated bidirectional stream):
//   peer  -> relay  hello                      exactly once, first frame
//   relay -> peer   welcome | reject           reject: relay then closes with app error 2
//   relay -> peer   peer_joined, peer_left, stats   any time after welcome
//   either way      disconnect                 just before closing with app error 0 or 3
// Section 7 (room ownership, relay modes `claimed` and `owners`) adds, on the same stream:
//   gateway -> relay  kick, revoke             owner messages, after admission
//   relay -> gateway  revoked                  the answer to revoke
// and optional fields: hello.room_key/room_proof (gateway claim), hello.invite (client),
// peers[].name and, in copies sent to the room's gateway, peers[].invite_id. An `open` relay
// reads sections 1-6 only: DecodeOptions{.room_ownership = false} in codec.hpp.
// Version rule: kProtocolVersion is `protocol` in hello/welcome. Adding a message type, an
// optional field or a new reason/code spelling is compatible (receivers ignore unknown
// fields and types, and keep codes/reasons as text). Changing a field's meaning or type,
// removing a required field, or changing the framing is not: bump kProtocolVersion and
// docs/protocol.md together.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lanparty/proto/mac_address.hpp"

namespace lanparty::ctrl {

inline constexpr std::int64_t kProtocolVersion = 1;

// QUIC application error codes (CONNECTION_CLOSE), PROTOCOL.md section 2.
namespace app_error {
inline constexpr std::uint64_t kNoError = 0;
inline constexpr std::uint64_t kProtocolViolation = 1;
inline constexpr std::uint64_t kRejected = 2;
inline constexpr std::uint64_t kShutdown = 3;
inline constexpr std::uint64_t kKicked = 4;  // section 7: the owner kicked this client; the
                                             // reason phrase is the kick's `reason`
}  // namespace app_error

// `role` of hello and of a peers[] entry.
enum class Role : std::uint8_t {
  kClient,   // "client": one host behind a TAP device
  kGateway,  // "gateway": bridges the room to a real LAN; at most one per room
};
// "client" / "gateway"; "unknown" for a value outside the enum (a programmer error).
[[nodiscard]] std::string_view to_string(Role role) noexcept;
// Exact, case-sensitive spelling only.
[[nodiscard]] std::optional<Role> parse_role(std::string_view text) noexcept;

// `code` of reject, in PROTOCOL.md's check order where the order matters (checks 1-11), then
// section 7's codes (their checks run between check 5 and check 6). Append only: the
// enumerator value indexes the spelling table.
enum class RejectCode : std::uint8_t {
  kUnsupportedProtocol,   // "unsupported_protocol": hello.protocol != 1
  kMalformedHello,        // "malformed_hello": field missing / wrong JSON type / bad max_datagram
  kInvalidRole,           // "invalid_role"
  kInvalidRoom,           // "invalid_room"
  kInvalidMac,            // "invalid_mac": unparsable, multicast or all-zero
  kGatewayExists,         // "gateway_exists": the room already has its one gateway
  kDuplicateMac,          // "duplicate_mac": the MAC is already in the room
  kRoomFull,              // "room_full": --max-peers-per-room reached
  kRelayFull,             // "relay_full": a new room would exceed --max-rooms
  kMtuTooSmall,           // "mtu_too_small": budget - 22 below the room MTU, or below 576
  kDatagramsUnsupported,  // "datagrams_unsupported": no max_datagram_frame_size
  kAuthRequired,          // "auth_required": gateway without room_key/room_proof, or client
                          // without invite
  kAuthFailed,            // "auth_failed": proof or invite does not verify, key not listed
                          // (`owners`), invite for another room, or the room has no record
  kRoomOwned,             // "room_owned": the room belongs to another owner key
  kInviteExpired,         // "invite_expired": the invite's exp <= the relay's clock
  kInviteRevoked,         // "invite_revoked": the owner revoked the invite's id
  // Our extension (docs/protocol.md; PROTOCOL.md has no such code): the room lives on another
  // relay of the cluster, named in reject.relay; the peer connects there instead.
  kRedirect,  // "redirect"
};
[[nodiscard]] std::string_view to_string(RejectCode code) noexcept;
[[nodiscard]] std::optional<RejectCode> parse_reject_code(std::string_view text) noexcept;

// `reason` of peer_left.
enum class LeaveReason : std::uint8_t {
  kClosed,   // "closed": sent disconnect, or closed with app error 0 or 3
  kTimeout,  // "timeout": idle timeout
  kKicked,   // "kicked": the relay closed it (violation, transport error, operator)
  kLost,     // "lost": any other end
};
[[nodiscard]] std::string_view to_string(LeaveReason reason) noexcept;
[[nodiscard]] std::optional<LeaveReason> parse_leave_reason(std::string_view text) noexcept;

// One entry of welcome.peers and of peer_joined.peer. Encoded with the MAC in lower case;
// the optional fields only when set.
struct PeerInfo {
  std::uint16_t peer_id = 0;  // 1..65535 on the wire; 0 is never assigned
  Role role = Role::kClient;
  proto::MacAddress mac;
  // Section 7: the client's invite `name` when its invite had one (never in `open` mode).
  std::optional<std::string> name = std::nullopt;
  // Section 7: the id of the invite the client joined with, only in copies sent to the room's
  // gateway (so the owner can revoke it). Kept as text: not checked to be 16 hex digits.
  std::optional<std::string> invite_id = std::nullopt;

  friend bool operator==(const PeerInfo&, const PeerInfo&) = default;
};

// hello as received: every field has the right JSON type, but values are not checked yet
// (validate_hello in hello.hpp does checks 1-5). Unknown extra fields were ignored.
struct Hello {
  std::int64_t protocol = kProtocolVersion;
  std::string role;
  std::string room;
  std::string mac;
  std::int64_t max_datagram = 0;
  std::optional<std::string> software;  // absent on the wire; `null` is malformed, not absent
  // Section 7. Each is a string when present (another JSON type, null included, is
  // MalformedHello); their base64url content and lengths are the relay's auth checks
  // (a value that does not decode to the exact length is auth_failed, not malformed).
  // Gateway claim: base64url of the 32-byte Ed25519 room key and of the 64-byte proof.
  std::optional<std::string> room_key = std::nullopt;
  std::optional<std::string> room_proof = std::nullopt;
  // Client: the invite token (invite.hpp).
  std::optional<std::string> invite = std::nullopt;

  friend bool operator==(const Hello&, const Hello&) = default;
};

// A frame with "type":"hello" whose fields are missing or of the wrong JSON type. Kept apart
// from FrameError because the relay must answer it with reject `malformed_hello`, not close.
// Decoding only; never encoded.
struct MalformedHello {
  std::string why;  // for logs: which field and what was wrong ("\"room\" is missing")

  friend bool operator==(const MalformedHello&, const MalformedHello&) = default;
};

struct Welcome {
  std::int64_t protocol = kProtocolVersion;
  std::uint16_t peer_id = 0;  // 1..65535
  std::string room;
  std::uint32_t mtu = 0;           // room MTU: Ethernet payload bytes
  std::uint32_t max_datagram = 0;  // mtu + 22
  std::vector<PeerInfo> peers;     // every other admitted peer of the room

  friend bool operator==(const Welcome&, const Welcome&) = default;
};

// code kept as text: a newer relay may send codes this build does not know.
struct Reject {
  std::string code;
  std::string message;  // for people; decoded as "" when absent
  // Our extension, only with code "redirect": the relay to connect to, "HOST:PORT" (an IPv6
  // host in brackets), at most kMaxRedirectRelayBytes; checked by parse_relay_address. A
  // reject carrying it with another code, or an invalid one, is malformed both ways.
  std::optional<std::string> relay = std::nullopt;

  // The code if this build knows its spelling.
  [[nodiscard]] std::optional<RejectCode> reject_code() const noexcept {
    return parse_reject_code(code);
  }
  friend bool operator==(const Reject&, const Reject&) = default;
};

inline constexpr std::size_t kMaxRedirectRelayBytes = 255;

[[nodiscard]] inline Reject make_reject(RejectCode code, std::string message) {
  return Reject{.code = std::string(to_string(code)), .message = std::move(message)};
}

struct PeerJoined {
  PeerInfo peer;

  friend bool operator==(const PeerJoined&, const PeerJoined&) = default;
};

// reason kept as text, as for Reject::code.
struct PeerLeft {
  std::uint16_t peer_id = 0;  // 1..65535
  std::string reason;

  [[nodiscard]] std::optional<LeaveReason> leave_reason() const noexcept {
    return parse_leave_reason(reason);
  }
  friend bool operator==(const PeerLeft&, const PeerLeft&) = default;
};

// The relay's counters for one peer since admission. On the wire every count is a JSON
// integer that fits int64; the encoder saturates larger values at INT64_MAX.
struct Stats {
  using Counts = std::vector<std::pair<std::string, std::uint64_t>>;  // name -> count

  std::uint64_t rx_frames = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_frames = 0;
  std::uint64_t tx_bytes = 0;
  // JSON objects name -> count. Names are kept as text (a newer relay may add reasons).
  // Order carries no meaning: decoding returns them sorted by name (byte-wise), one entry
  // per name (a duplicated JSON key keeps its last value). Always encoded, {} when empty;
  // decoded as empty when absent (PROTOCOL.md's example omits tx_dropped).
  Counts dropped;
  Counts tx_dropped;

  friend bool operator==(const Stats&, const Stats&) = default;
};

struct Disconnect {
  std::string reason;  // free text ("shutdown"); decoded as "" when absent

  friend bool operator==(const Disconnect&, const Disconnect&) = default;
};

// Section 7 owner message (gateway -> relay): close that client's connection with
// app_error::kKicked. The relay ignores a kick naming no client of the owner's own room.
struct Kick {
  std::uint16_t peer_id = 0;  // 1..65535 on the wire
  // The close's reason phrase; the relay keeps utf8_prefix(reason, kMaxKickReasonBytes).
  std::optional<std::string> reason = std::nullopt;

  friend bool operator==(const Kick&, const Kick&) = default;
};
inline constexpr std::size_t kMaxKickReasonBytes = 64;

// Section 7 owner message (gateway -> relay): revoke an invite id until `exp` (or, without
// it, until the room record is forgotten) and kick every live client admitted with it.
struct Revoke {
  std::string invite_id;  // as sent: the relay ignores one that is not 16 lower-case
                          // hex digits (is_valid_invite_id in invite.hpp)
  std::optional<std::int64_t> exp = std::nullopt;  // the invite's own expiry, Unix seconds

  friend bool operator==(const Revoke&, const Revoke&) = default;
};

// Section 7 (relay -> gateway): the answer to revoke.
struct Revoked {
  std::string invite_id;
  std::uint64_t kicked = 0;  // live clients kicked; 0..INT64_MAX on the wire (the encoder
                             // saturates larger values)

  friend bool operator==(const Revoked&, const Revoked&) = default;
};

// A frame whose `type` this build does not know. Peers ignore it; the relay closes before
// admission and ignores it after. Decoding only; never encoded.
struct UnknownMessage {
  std::string type;

  friend bool operator==(const UnknownMessage&, const UnknownMessage&) = default;
};

// Section 7's alternatives are appended so earlier indices stay put. Visitors over Message
// must handle every alternative (or fall through to a generic branch on purpose).
using Message = std::variant<Hello, MalformedHello, Welcome, Reject, PeerJoined, PeerLeft, Stats,
                             Disconnect, UnknownMessage, Kick, Revoke, Revoked>;

// The wire `type` of a message ("hello" for MalformedHello too; UnknownMessage's own type).
// Views static strings, or the UnknownMessage's text (valid while `message` lives).
[[nodiscard]] std::string_view message_type(const Message& message) noexcept;

}  // namespace lanparty::ctrl
