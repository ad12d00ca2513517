// SPDX-License-Identifier: MIT
// Control-stream messages of PROTOCOL.md section 2 as plain C++ values, with the enums whose
// wire spellings the protocol fixes. No JSON types here: codec.hpp turns these into bytes.
#pragma once

// Protocol flow on stream 0 (the first client-initiated bidirectional stream):
//   peer  -> relay  hello                      exactly once, first frame
//   relay -> peer   welcome | reject           reject: relay then closes with app error 2
//   relay -> peer   peer_joined, peer_left, stats   any time after welcome
//   either way      disconnect                 just before closing with app error 0 or 3
// Version rule: kProtocolVersion is `protocol` in hello/welcome. Adding a message type, an
// optional field or a new reason/code spelling is compatible (receivers ignore unknown
// fields and types, and keep codes/reasons as text). Changing a field's meaning or type,
// removing a required field, or changing the framing is not: bump kProtocolVersion and
// docs/protocol.md together.

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

// `code` of reject, in PROTOCOL.md's check order where the order matters (checks 1-11).
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

// One entry of welcome.peers and of peer_joined.peer. Encoded with the MAC in lower case.
struct PeerInfo {
  std::uint16_t peer_id = 0;  // 1..65535 on the wire; 0 is never assigned
  Role role = Role::kClient;
  proto::MacAddress mac;

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

  // The code if this build knows its spelling.
  [[nodiscard]] std::optional<RejectCode> reject_code() const noexcept {
    return parse_reject_code(code);
  }
  friend bool operator==(const Reject&, const Reject&) = default;
};

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

// A frame whose `type` this build does not know. Peers ignore it; the relay closes before
// admission and ignores it after. Decoding only; never encoded.
struct UnknownMessage {
  std::string type;

  friend bool operator==(const UnknownMessage&, const UnknownMessage&) = default;
};

using Message = std::variant<Hello, MalformedHello, Welcome, Reject, PeerJoined, PeerLeft, Stats,
                             Disconnect, UnknownMessage>;

// The wire `type` of a message ("hello" for MalformedHello too; UnknownMessage's own type).
// Views static strings, or the UnknownMessage's text (valid while `message` lives).
[[nodiscard]] std::string_view message_type(const Message& message) noexcept;

}  // namespace lanparty::ctrl
