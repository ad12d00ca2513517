// SPDX-License-Identifier: MIT
// Keeps one client or gateway in its room: connects to the relay over QUIC, joins, moves
// frames between the relay and the local side (TAP device or LAN socket), probes the path,
// and reconnects with backoff when the connection is lost. The local side stays up throughout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "lanparty/client_core/backoff.hpp"
#include "lanparty/client_core/relay_choice.hpp"
#include "lanparty/client_core/session.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/obs/status.hpp"
#include "lanparty/quic/client.hpp"
#include "lanparty/quic/room_key.hpp"

namespace lanparty::client_core {

// The local side, as the runner sees it. Called on the loop's thread.
class LocalPort {
 public:
  virtual ~LocalPort() = default;
  // An Ethernet frame from the room, to write to the TAP device or the LAN unchanged.
  virtual void deliver_frame(std::span<const std::uint8_t> frame) = 0;
  // The end of a batch of frames from the relay (the loop turn that delivered them, after
  // every datagram it read): a port that holds frames back to write them together (merged
  // TCP segments, one sendmmsg) writes them now, so no frame waits for a later one.
  virtual void end_of_batch() {}
  // Joined (or re-joined): the room's MTU and peers are known.
  virtual void on_joined(const ctrl::Welcome& /*welcome*/) {}
  // Every state change, with the sentence a player reads.
  virtual void on_state(obs::ConnectionState /*state*/, std::string_view /*sentence*/) {}
  // A reject that retrying cannot fix (bad room name, wrong protocol...): the app should exit.
  virtual void on_fatal(std::string_view /*sentence*/) {}
  // Each `stats` message from the relay: a moment to log the local side's own counters.
  virtual void on_relay_stats(const ctrl::Stats& /*stats*/) {}
  // Every control message from the relay, after the runner has handled it (peer_joined and
  // revoked matter to a gateway).
  virtual void on_message(const ctrl::Message& /*message*/) {}
};

struct RunnerConfig {
  // quic.host and quic.port name the first relay; each attempt overwrites them with the relay
  // RelayChoice picks (same server name and pin: the relays of a cluster share a certificate).
  quic::ClientConfig quic;
  // Further relays of the cluster, tried in turn after the first on reconnect (a link's
  // relays=, our extension; docs/protocol.md).
  std::vector<ctrl::RelayAddress> more_relays = {};
  SessionConfig session;
  // A gateway's room key: each hello then claims the room with a proof bound to that
  // connection (PROTOCOL.md section 7).
  std::optional<quic::RoomKey> room_key = std::nullopt;
  Backoff::Config backoff{};
  // How long to let path MTU discovery raise the datagram budget before sending hello.
  std::chrono::milliseconds pmtud_wait{1500};
  std::chrono::milliseconds probe_interval{5000};
  // Rejects that may clear up on their own (a stale connection still holding our MAC) are
  // retried no sooner than this.
  std::chrono::milliseconds reject_retry{10000};
};

struct RunnerCounters {
  std::uint64_t frames_to_relay = 0;
  std::uint64_t frames_from_relay = 0;
  std::uint64_t dropped_not_joined = 0;    // local frames while not in the room
  std::uint64_t dropped_too_large = 0;     // local frames above the datagram budget
  std::uint64_t dropped_bad_datagram = 0;  // relay datagrams that did not parse
  std::uint64_t connects = 0;
  std::uint64_t joins = 0;
};

class Runner final : public quic::ConnectionHandler {
 public:
  // `random_unit` returns uniform [0, 1) for backoff jitter.
  Runner(io::EventLoop& loop, RunnerConfig config, LocalPort& port, obs::Logger logger,
         std::function<double()> random_unit);
  ~Runner() override;
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Starts connecting; failures are retried with backoff, never returned.
  void start();
  // Sends `disconnect` and closes with application error 0; no reconnect after.
  void stop();

  // Sends a control message (a gateway's kick or revoke) on the control stream; only joined.
  Status send_control(const ctrl::Message& message);

  // A frame from the local side. `datagram` holds the Ethernet frame from byte 4 on (4 bytes
  // of headroom for the overlay header, so nothing is copied). Dropped and counted when not
  // joined or above the budget.
  void send_frame(std::span<std::uint8_t> datagram);

  [[nodiscard]] obs::ConnectionState state() const noexcept { return state_; }
  // "HOST:PORT" of the relay the current (or next) attempt connects to: after a redirect or a
  // move to the next relay of the list, not the one the config named first.
  [[nodiscard]] std::string relay() const { return relays_.target_text(); }
  [[nodiscard]] const Session& session() const noexcept { return session_; }
  [[nodiscard]] const RunnerCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] bool joined() const noexcept { return session_.phase() == Phase::kJoined; }
  // When the current connection joined the room (the loop's clock); nullopt while not in it.
  [[nodiscard]] std::optional<Timestamp> joined_at() const noexcept { return joined_at_; }
  // The current connection's QUIC statistics (ngtcp2's smoothed RTT among them); nullopt
  // before a handshake completed.
  [[nodiscard]] std::optional<quic::ConnectionStats> connection_stats() const noexcept;
  // The failed handshake the process should exit with (obs::exit_code): the permanent one that
  // stopped the runner (a certificate, ALPN or version problem), or the latest one of a run
  // that never joined the room (so "nothing answers" shows in the exit code of a player who
  // gives up). nullopt otherwise.
  [[nodiscard]] std::optional<obs::HandshakeFailure> handshake_failure_to_report() const noexcept;

  void on_handshake_completed(quic::Connection& conn) override;
  void on_stream_data(quic::Connection& conn, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_datagram(quic::Connection& conn, std::span<const std::uint8_t> payload) override;
  void on_closed(quic::Connection& conn, const quic::CloseInfo& info) override;

 private:
  void connect();
  void schedule_reconnect(std::chrono::milliseconds delay);
  void send_hello_when_ready(std::uint64_t generation);
  void on_joined();
  // reject `redirect`: follow it at once (the close comes next), or say why not.
  void on_redirect(const ctrl::Reject& reject);
  void send_probe();
  void set_state(obs::ConnectionState state, std::string_view detail = {});
  // A state with a whole sentence of its own rather than describe(state) plus a detail.
  void announce(obs::ConnectionState state, std::string_view sentence);
  void on_handshake_failed(const quic::CloseInfo& info, obs::HandshakeFailure failure,
                           std::chrono::milliseconds retry);
  void cancel_timers();

  io::EventLoop& loop_;
  RunnerConfig config_;
  LocalPort& port_;
  obs::Logger log_;
  std::function<double()> random_unit_;
  Session session_;
  Backoff backoff_;
  RelayChoice relays_;  // where each attempt connects: the list, and a redirect followed
  std::unique_ptr<quic::Client> client_;
  std::int64_t control_stream_ = -1;
  std::uint64_t generation_ = 0;  // bumps per connection; stale timers check it
  obs::ConnectionState state_ = obs::ConnectionState::kDisconnected;
  bool stopping_ = false;
  bool fatal_ = false;
  // The latest attempt's failed handshake; cleared when a handshake completes.
  std::optional<obs::HandshakeFailure> handshake_failure_;
  Timestamp hello_deadline_{};
  std::optional<Timestamp> joined_at_;
  io::EventLoop::TimerId reconnect_timer_ = 0;
  io::EventLoop::TimerId hello_timer_ = 0;
  io::EventLoop::TimerId probe_timer_ = 0;
  std::vector<std::uint8_t> scratch_;
  RunnerCounters counters_;
  std::unordered_map<std::uint16_t, std::string> peer_names_;  // invite names, for status lines
  // Armed (zero delay) by the first frame of a batch: fires once the loop has dispatched every
  // ready fd, i.e. after the receive batch, and calls LocalPort::end_of_batch.
  io::EventLoop::Timer batch_end_{loop_, [this] { port_.end_of_batch(); }};
};

}  // namespace lanparty::client_core
