// SPDX-License-Identifier: MIT
// What Server and Client share: one UDP socket, connections routed by connection ID, and
// the flush cycle (read a batch, then write every connection that has something to send).
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "admission.hpp"
#include "datagram_queue.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/udp_socket.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/quic/connection.hpp"
#include "tls.hpp"

namespace lanparty::quic::detail {

static_assert(NGTCP2_VERSION_NUM >= 0x000c01, "coded against the ngtcp2 0.12.1 API");

// Length of the connection IDs we issue. 8 random bytes route 10k connections without
// collisions (we check anyway) and keep the short header small for DATAGRAM payloads.
inline constexpr std::size_t kCidLength = 8;

struct EndpointConfig {
  bool is_server = false;
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds keepalive{0};
  std::uint64_t max_datagram_frame_size = 65535;
  std::size_t datagram_queue_slots = 1024;
  // Slots all connections' datagram queues may hold together (SlotBudget).
  std::size_t datagram_slot_budget = 65536;
  std::size_t max_connections = 1;
  StreamLimits streams;
  AdmissionLimits admission;  // server only
};

[[nodiscard]] inline ngtcp2_tstamp to_tstamp(io::EventLoop::Clock::time_point t) noexcept {
  return static_cast<ngtcp2_tstamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}
[[nodiscard]] inline io::EventLoop::Clock::time_point from_tstamp(ngtcp2_tstamp t) noexcept {
  return io::EventLoop::Clock::time_point(
      std::chrono::duration_cast<io::EventLoop::Clock::duration>(
          std::chrono::nanoseconds(static_cast<std::int64_t>(t))));
}

struct CidKey {
  std::uint8_t length = 0;
  std::array<std::uint8_t, NGTCP2_MAX_CIDLEN> bytes{};

  static CidKey of(const std::uint8_t* data, std::size_t length) noexcept;
  static CidKey of(const ngtcp2_cid& cid) noexcept { return of(cid.data, cid.datalen); }
  friend bool operator==(const CidKey&, const CidKey&) noexcept = default;
};

// Keyed so a client choosing its initial DCID cannot flood one bucket.
struct CidHash {
  std::uint64_t seed;
  std::size_t operator()(const CidKey& key) const noexcept;
};

class ConnectionImpl;

class Endpoint {
 public:
  Endpoint(io::EventLoop& loop, EndpointConfig config, ConnectionHandler& handler,
           obs::Logger logger, std::unique_ptr<io::UdpSocket> socket);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Server side, before start(): the socket that long-header packets are steered to
  // (io::ListeningSockets). It is read one batch per wake-up, after the main socket's batches,
  // so established connections go first when both have packets waiting.
  void set_handshake_lane(std::unique_ptr<io::UdpSocket> lane) noexcept { lane_ = std::move(lane); }
  [[nodiscard]] Status start();
  // The context new connections start from. Each connection keeps the one it started with
  // (its TLS session points into its credentials), so replacing it is safe at any time.
  void set_server_tls(ServerTlsContext tls) {
    server_tls_ = std::make_shared<const ServerTlsContext>(std::move(tls));
  }
  // The key of the stateless reset tokens we issue. A server derives it from its certificate
  // key, so a restarted relay with the same key can reset its old connections at once.
  void set_static_secret(const std::array<std::uint8_t, 32>& secret) noexcept {
    static_secret_ = secret;
  }
  // Client side: creates the single connection and sends the first Initial at the next turn.
  [[nodiscard]] Result<ConnectionImpl*> connect(const io::SocketAddress& remote,
                                                const ClientTlsContext& tls);

  [[nodiscard]] const io::SocketAddress& local_address() const noexcept {
    return socket_->local_address();
  }
  [[nodiscard]] std::size_t connection_count() const noexcept { return connections_.size(); }
  void close_all(std::uint64_t app_error_code, std::string_view reason);
  [[nodiscard]] const io::SocketCounters& socket_counters() const noexcept {
    return socket_->counters();
  }
  [[nodiscard]] const io::UdpSocket* handshake_lane() const noexcept { return lane_.get(); }
  void disable_gso() noexcept { socket_->disable_gso(); }
  // See Server::release_idle_memory.
  void release_idle_memory() noexcept;
  [[nodiscard]] std::size_t resident_buffer_bytes() const noexcept;

  // --- for ConnectionImpl ------------------------------------------------------------------
  [[nodiscard]] io::EventLoop& loop() noexcept { return loop_; }
  [[nodiscard]] ConnectionHandler& handler() noexcept { return handler_; }
  [[nodiscard]] const obs::Logger& logger() const noexcept { return logger_; }
  [[nodiscard]] const EndpointConfig& config() const noexcept { return config_; }
  [[nodiscard]] std::span<const std::uint8_t> static_secret() const noexcept {
    return static_secret_;
  }
  // Queue work for the end of the current cycle (or the next loop turn when idle).
  void mark_dirty(ConnectionImpl& connection) noexcept;
  void mark_notify(ConnectionImpl& connection) noexcept;
  void mark_dead(ConnectionImpl& connection) noexcept;
  // A fresh random CID not in use here.
  void new_cid(ngtcp2_cid& cid) const noexcept;
  void associate(const ngtcp2_cid& cid, ConnectionImpl& connection);
  void dissociate(const ngtcp2_cid& cid) noexcept;
  // Server side: a connection's handshake completed (its address is proven).
  void on_handshake_completed(ConnectionImpl& connection) noexcept;
  [[nodiscard]] AdmissionCounters admission_counters() const noexcept;
  // Called by a connection's expiry timer.
  void on_connection_timer(ConnectionImpl& connection) noexcept;
  [[nodiscard]] io::UdpSocket& socket() noexcept { return *socket_; }
  [[nodiscard]] SlotBudget& datagram_slots() noexcept { return datagram_slots_; }

 private:
  void on_socket_event(std::uint32_t events) noexcept;
  void on_lane_event() noexcept;
  void receive_batch(io::UdpSocket& socket, std::size_t count) noexcept;
  void on_packet(const io::RxPacket& packet) noexcept;
  void accept(const io::RxPacket& packet) noexcept;
  void send_version_negotiation(const io::RxPacket& packet, const ngtcp2_version_cid& vc) noexcept;
  void refuse(const io::RxPacket& packet, const ngtcp2_pkt_hd& hd, Refusal why) noexcept;
  void send_retry(const io::RxPacket& packet, const ngtcp2_pkt_hd& hd) noexcept;
  // An Initial packet's Retry token: the original DCID when it verifies, nullopt when there is
  // none (or it is not ours to read); kInvalidToken is the caller's to answer.
  enum class TokenCheck : std::uint8_t { kNone, kValid, kInvalid };
  TokenCheck check_retry_token(const io::RxPacket& packet, const ngtcp2_pkt_hd& hd,
                               ngtcp2_cid& odcid) const noexcept;
  void send_stateless_reset(const io::RxPacket& packet, const ngtcp2_version_cid& vc) noexcept;
  // Writes dirty connections, delivers on_closed, and (if allowed) frees dead connections,
  // until nothing is left to do.
  void process_pending(bool allow_reap) noexcept;
  void write_dirty() noexcept;
  void flush_socket() noexcept;
  void reap() noexcept;
  void schedule_work() noexcept;

  io::EventLoop& loop_;
  EndpointConfig config_;
  ConnectionHandler& handler_;
  obs::Logger logger_;
  std::unique_ptr<io::UdpSocket> socket_;
  std::unique_ptr<io::UdpSocket> lane_;  // server only, may be null
  std::shared_ptr<const ServerTlsContext> server_tls_;
  SlotBudget datagram_slots_;  // before connections_: their queues give slots back to it
  std::array<std::uint8_t, 32> static_secret_{};
  std::uint64_t next_connection_id_ = 1;
  bool started_ = false;
  bool socket_blocked_ = false;
  bool in_cycle_ = false;

  std::unordered_map<std::uint64_t, std::unique_ptr<ConnectionImpl>> connections_;
  std::unordered_map<CidKey, ConnectionImpl*, CidHash> by_cid_;
  std::vector<ConnectionImpl*> dirty_;
  std::vector<ConnectionImpl*> writing_;  // dirty_ swapped out during a write pass
  std::vector<ConnectionImpl*> notify_;
  std::vector<ConnectionImpl*> dead_;
  io::EventLoop::Timer work_timer_;
  std::optional<AdmissionPolicy> admission_;  // server only
  AdmissionCounters admission_counters_;
  std::array<std::uint8_t, 32> retry_secret_{};  // random per process: tokens die with it
  // Stateless resets sent in the current second, bounded so a flood of junk costs little.
  io::EventLoop::Clock::time_point reset_window_{};
  std::uint32_t resets_in_window_ = 0;
  std::uint64_t unreachable_seen_ = 0;  // socket counters().rx_unreachable already handled
};

}  // namespace lanparty::quic::detail
