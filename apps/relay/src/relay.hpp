// SPDX-License-Identifier: MIT
// The relay's connection handler: admission on the control stream, forwarding of datagrams,
// periodic stats, leave notices and shutdown (PROTOCOL.md sections 2-5).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "lanparty/ctrl/codec.hpp"
#include "lanparty/obs/counters.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/quic/connection.hpp"
#include "lanparty/quic/event_loop.hpp"
#include "room_table.hpp"

namespace lanparty::relay {

struct RelayConfig {
  RoomLimits limits;
  std::chrono::milliseconds stats_interval{10000};  // 0 = off
  std::chrono::milliseconds hello_timeout{5000};
  std::chrono::milliseconds reject_linger{1000};  // longest wait for a reject's ack
};

// Relay-wide totals for the metrics endpoint; they survive the peers they count.
struct RelayTotals {
  obs::TunnelCounters frames;  // rx = datagrams in (probes excluded), tx = frames out
  DropCounters drops;          // every drop, by reason, including not_admitted
  std::uint64_t probes = 0;
  std::uint64_t tx_too_large = 0;  // a target's current datagram budget was below the frame
  std::uint64_t admitted = 0;
  std::uint64_t rejected = 0;
};

class Relay final : public quic::ConnectionHandler {
 public:
  Relay(quic::EventLoop& loop, RelayConfig config, obs::Logger logger);
  ~Relay() override;
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void on_handshake_completed(quic::Connection& conn) override;
  void on_stream_data(quic::Connection& conn, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_datagram(quic::Connection& conn, std::span<const std::uint8_t> datagram) override;
  void on_closed(quic::Connection& conn, const quic::CloseInfo& info) override;

  // Sends `disconnect` (reason shutdown) to every admitted peer and closes every connection
  // with application error 3 once that is acknowledged (or shortly after). A connection whose
  // handshake completes later is closed with 3 at once.
  void shutdown();

  [[nodiscard]] const RoomTable& rooms() const noexcept { return rooms_; }
  [[nodiscard]] const RelayTotals& totals() const noexcept { return totals_; }
  [[nodiscard]] std::size_t session_count() const noexcept { return sessions_.size(); }

 private:
  enum class SessionState : std::uint8_t { kAwaitingHello, kAdmitted, kRejected, kClosing };
  struct Session {
    quic::Connection* conn = nullptr;
    SessionState state = SessionState::kAwaitingHello;
    ctrl::FrameDecoder decoder{ctrl::DecodeOptions{.room_ownership = false}};  // open mode
    std::int64_t control_stream = -1;
    Peer* peer = nullptr;
    quic::EventLoop::TimerId hello_timer = 0;
    quic::EventLoop::TimerId stats_timer = 0;
    bool sent_disconnect = false;  // the peer said `disconnect`: its leave is "closed"
  };

  Session& session_for(quic::Connection& conn);
  void handle_message(Session& session, ctrl::Message&& message);
  void handle_hello(Session& session, const ctrl::Hello& hello);
  void reject(Session& session, ctrl::RejectCode code, std::string message);
  void violation(Session& session, std::string_view why);
  void admit(Session& session, Peer& peer);
  void leave(Session& session, ctrl::LeaveReason reason);
  void send_control(Session& session, const ctrl::Message& message);
  void send_stats(Session& session);
  void schedule_stats(Session& session);

  void drop(Peer* peer, proto::DropReason reason) noexcept;
  void send_frame(Peer& target, std::span<const std::uint8_t> datagram) noexcept;

  quic::EventLoop& loop_;
  RelayConfig config_;
  obs::Logger log_;
  RoomTable rooms_;
  RelayTotals totals_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::vector<std::uint8_t> probe_reply_;  // reused: no allocation per probe
  std::string control_out_;                // reused encode buffer for control frames
  bool shutting_down_ = false;             // shutdown() ran: later handshakes are closed at once
};

}  // namespace lanparty::relay
