// SPDX-License-Identifier: MIT
// One QUIC connection to the relay speaking PROTOCOL.md (hello with a section 7 claim or
// invite, the control stream, overlay datagrams), for the legitimate room and the attackers
// alike; plus the credentials they carry.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/messages.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/quic/client.hpp"
#include "lanparty/quic/connection.hpp"
#include "lanparty/quic/room_key.hpp"

namespace lanparty::bench::attack {

// The relay as every peer reaches it; each peer picks the address it dials (its source).
struct RelayTarget {
  std::uint16_t port = 0;
  std::array<std::uint8_t, 32> pin{};  // SHA-256 of the relay's certificate DER
  std::string server_name = "lanparty-relay";
};

struct PeerSettings {
  std::chrono::milliseconds keepalive{10000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::size_t datagram_queue_slots = 256;
  // A peer that never reads its control stream: its receive windows never reopen and start
  // at this many bytes. Needs libs/quic's StreamLimits in ClientConfig (never_reopen_windows);
  // Peer::never_read_applied() says whether this build has it.
  std::optional<std::uint64_t> never_read_window;
};

// What the relay's datagram budget must reach before a legitimate hello (client-core waits
// the same way): the default room MTU plus the overlay and Ethernet overhead.
inline constexpr std::size_t kWantedBudget = 1402;

class Peer : public quic::ConnectionHandler {
 public:
  enum class State : std::uint8_t {
    kConnecting,
    kConnected,
    kHelloSent,
    kJoined,
    kRejected,
    kClosed
  };

  Peer() = default;
  ~Peer() override = default;
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // Starts the handshake from `dial_host` (the address dialled decides our source address).
  [[nodiscard]] Status connect(io::EventLoop& loop, const RelayTarget& relay,
                               const std::string& dial_host, const PeerSettings& settings);
  [[nodiscard]] bool never_read_applied() const noexcept { return never_read_applied_; }

  // A gateway hello claiming `room` with `key`, proved over this connection's TLS exporter
  // (PROTOCOL.md section 7). Needs the completed handshake.
  [[nodiscard]] Result<ctrl::Hello> claim_hello(const quic::RoomKey& key, const std::string& room,
                                                const proto::MacAddress& mac,
                                                std::size_t max_datagram) const;
  [[nodiscard]] static ctrl::Hello invited_hello(const std::string& room,
                                                 const proto::MacAddress& mac,
                                                 const std::string& invite,
                                                 std::size_t max_datagram);
  // Sends `hello` on the control stream (opening it) and waits for welcome or reject.
  [[nodiscard]] Status send_hello(const ctrl::Hello& hello);
  [[nodiscard]] Status send_control(const ctrl::Message& message);
  // Bytes as they are on the control stream (opened on first use).
  [[nodiscard]] Status send_stream_bytes(std::span<const std::uint8_t> bytes);
  // Stream bytes accepted by send_stream and not yet acknowledged by the relay.
  [[nodiscard]] std::uint64_t unacked_stream_bytes() const noexcept;
  // An Ethernet frame as a kind-1 datagram under our peer id.
  [[nodiscard]] Status send_frame(std::span<const std::uint8_t> frame);
  void close(std::uint64_t code, std::string_view reason) noexcept;

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool ended() const noexcept { return state_ == State::kClosed; }
  [[nodiscard]] bool handshake_completed() const noexcept { return handshake_done_; }
  [[nodiscard]] std::uint16_t peer_id() const noexcept { return welcome_.peer_id; }
  [[nodiscard]] const ctrl::Welcome& welcome() const noexcept { return welcome_; }
  // The reject's code ("relay_full"), or empty.
  [[nodiscard]] const std::string& reject_code() const noexcept { return reject_code_; }
  [[nodiscard]] const std::optional<quic::CloseInfo>& close_info() const noexcept { return close_; }
  // One line for a report: "welcome", "reject relay_full", "closed handshake_timeout ...".
  [[nodiscard]] std::string outcome() const;
  [[nodiscard]] quic::Connection& connection() noexcept { return client_->connection(); }
  [[nodiscard]] const quic::Connection& connection() const noexcept {
    return client_->connection();
  }
  [[nodiscard]] std::size_t datagram_budget() const noexcept;

  // quic::ConnectionHandler. Subclasses use the hooks below instead.
  void on_handshake_completed(quic::Connection& connection) final;
  void on_stream_data(quic::Connection& connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) final;
  void on_datagram(quic::Connection& connection, std::span<const std::uint8_t> payload) final;
  void on_closed(quic::Connection& connection, const quic::CloseInfo& info) final;

 protected:
  virtual void handshake_done() {}
  virtual void joined() {}
  virtual void message(const ctrl::Message& /*message*/) {}
  // An Ethernet frame the relay forwarded, with the sender's peer id.
  virtual void frame(std::uint16_t /*from*/, std::span<const std::uint8_t> /*frame*/) {}
  // The connection ended (after the close was reported). Never destroy the peer from here:
  // libs/quic forbids destroying a Client inside its own callbacks.
  virtual void finished() {}

 private:
  [[nodiscard]] Status ensure_stream();

  std::unique_ptr<quic::Client> client_;
  State state_ = State::kConnecting;
  bool handshake_done_ = false;
  bool never_read_applied_ = false;
  std::int64_t stream_ = -1;
  ctrl::FrameDecoder decoder_;
  bool decode_failed_ = false;
  ctrl::Welcome welcome_;
  std::string reject_code_;
  std::optional<quic::CloseInfo> close_;
  std::string out_;                     // encode buffer
  std::vector<std::uint8_t> datagram_;  // send buffer
};

// --- credentials ---------------------------------------------------------------------------

// 16 lower-case hex digits from a random source.
[[nodiscard]] std::string random_invite_id();
// An invite token for `room` signed by `key`, valid for an hour.
[[nodiscard]] Result<std::string> make_invite(const quic::RoomKey& key, const std::string& room,
                                              const std::string& name);
// A locally administered unicast MAC 02:41:54:<group>:<index, 2 bytes>.
[[nodiscard]] proto::MacAddress attack_mac(std::uint8_t group, std::uint32_t index) noexcept;

}  // namespace lanparty::bench::attack
