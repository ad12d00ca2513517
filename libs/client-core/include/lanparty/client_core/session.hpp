// SPDX-License-Identifier: MIT
// One join of the room, with no I/O (STYLE.md principle 1): builds hello, applies the relay's
// control messages, wraps outgoing Ethernet frames and unwraps incoming datagrams, measures
// round-trip time with probes. Bytes and timestamps go in; bytes and events come out.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/client_core/remote_peers.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/messages.hpp"
#include "lanparty/proto/drop_reason.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::client_core {

using Timestamp = std::chrono::steady_clock::time_point;

struct SessionConfig {
  ctrl::Role role = ctrl::Role::kClient;
  std::string room;
  proto::MacAddress mac;
  std::string software = "lanparty/0.1.0";
  // A client's invite token (PROTOCOL.md section 7), sent as hello's "invite".
  std::optional<std::string> invite = std::nullopt;
};

// A gateway's room claim for one connection (section 7): base64url of the room's public key
// and of the proof signed over this connection's TLS exporter.
struct RoomClaim {
  std::string room_key;
  std::string room_proof;
};

enum class Phase : std::uint8_t { kJoining, kJoined, kRejected, kEnded };

// What a datagram from the relay turned out to be.
struct Inbound {
  enum class Kind : std::uint8_t { kFrame, kProbeReply, kDropped };
  Kind kind = Kind::kDropped;
  std::span<const std::uint8_t> frame;  // kFrame: the Ethernet frame
  std::uint16_t from_peer = 0;          // kFrame: the sender's peer id
  std::chrono::microseconds rtt{0};     // kProbeReply
  std::size_t probe_bytes = 0;          // kProbeReply: datagram size that made the trip
  proto::DropReason reason = proto::DropReason::kCount;  // kDropped
};

class Session {
 public:
  explicit Session(SessionConfig config);

  // A new connection: back to kJoining with empty peers and decoder.
  void reset();

  // The length-prefixed hello for stream 0. `datagram_budget` is what the connection can send
  // and receive now; it is clamped to the protocol's 64..65535. A gateway passes its claim.
  [[nodiscard]] std::string hello_frame(std::size_t datagram_budget,
                                        const RoomClaim* claim = nullptr) const;

  // Applies control bytes from stream 0 and returns the messages they completed, in order.
  // A framing error or a message that makes no sense now (welcome twice, a message before
  // welcome other than reject) is kProtocolViolation: the caller closes with error 1.
  [[nodiscard]] Result<std::vector<ctrl::Message>> on_control_bytes(
      std::span<const std::uint8_t> bytes);

  // Header + frame into `scratch` (reused; no allocation once it has grown). Only when joined.
  [[nodiscard]] std::span<const std::uint8_t> wrap_frame(std::span<const std::uint8_t> frame,
                                                         std::vector<std::uint8_t>& scratch) const;

  // The same without a copy: `datagram` holds the frame from byte 4 on (the caller read it
  // there); the overlay header is written into its first 4 bytes.
  [[nodiscard]] std::span<const std::uint8_t> wrap_in_place(std::span<std::uint8_t> datagram) const;

  // A probe of exactly `datagram_bytes` (>= 12) carrying `now`, into `scratch`.
  [[nodiscard]] std::span<const std::uint8_t> make_probe(Timestamp now, std::size_t datagram_bytes,
                                                         std::vector<std::uint8_t>& scratch) const;

  // Classifies a datagram from the relay; learns remote source MACs; measures probe RTT.
  [[nodiscard]] Inbound on_datagram(std::span<const std::uint8_t> datagram, Timestamp now);

  [[nodiscard]] Phase phase() const noexcept { return phase_; }
  [[nodiscard]] const std::optional<ctrl::Welcome>& welcome() const noexcept { return welcome_; }
  [[nodiscard]] const std::optional<ctrl::Reject>& reject() const noexcept { return reject_; }
  [[nodiscard]] const std::optional<ctrl::Stats>& last_stats() const noexcept { return stats_; }
  [[nodiscard]] const RemotePeers& peers() const noexcept { return peers_; }
  [[nodiscard]] std::optional<std::chrono::microseconds> smoothed_rtt() const noexcept {
    return smoothed_rtt_;
  }
  [[nodiscard]] const SessionConfig& config() const noexcept { return config_; }

 private:
  Status apply(const ctrl::Message& message);

  SessionConfig config_;
  Phase phase_ = Phase::kJoining;
  ctrl::FrameDecoder decoder_;
  std::optional<ctrl::Welcome> welcome_;
  std::optional<ctrl::Reject> reject_;
  std::optional<ctrl::Stats> stats_;
  RemotePeers peers_;
  std::optional<std::chrono::microseconds> smoothed_rtt_;
};

}  // namespace lanparty::client_core
