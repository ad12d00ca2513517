// SPDX-License-Identifier: MIT
// One QUIC connection as the application sees it (streams, DATAGRAM frames, close), and the
// handler an endpoint reports events to. No ngtcp2 or GnuTLS type appears here.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/io/address.hpp"
#include "lanparty/obs/status.hpp"

namespace lanparty::quic {

// Why a connection ended, as on_closed reports it.
struct CloseInfo {
  enum class Kind : std::uint8_t {
    kLocalApplication,  // we called close()/close_after_ack()/close_all()
    kPeerApplication,   // the peer sent CONNECTION_CLOSE (0x1d) with an application code
    kPeerTransport,     // the peer sent CONNECTION_CLOSE (0x1c) after the handshake
    kLocalTransport,    // our QUIC stack found an error (protocol violation, callback failure)
    kIdleTimeout,       // nothing heard for the negotiated idle timeout
    kHandshakeTimeout,  // the handshake did not finish in time
    kStatelessReset,    // the peer no longer knows the connection
    kHandshakeFailed,   // TLS/ALPN/certificate failure, ours or the peer's
  };
  Kind kind;
  std::uint64_t code;  // application code, or QUIC transport code (0x100 + TLS alert for TLS)
  std::string reason;  // the peer's reason phrase, or our explanation for people
  // A client's connection that ended before its handshake completed (kHandshakeFailed,
  // kHandshakeTimeout): why, as far as this end can tell (pin mismatch, unreachable, ...).
  // Empty otherwise, and always on a server.
  std::optional<obs::HandshakeFailure> handshake_failure = std::nullopt;
};

[[nodiscard]] std::string_view to_string(CloseInfo::Kind kind) noexcept;

// Flow control and stream counts one side grants the other, and how much unacknowledged data
// it keeps for the peer. Every byte here is memory the peer can make us hold.
struct StreamLimits {
  // Bidirectional streams the peer may open at once; with replenish, a closed one may be
  // replaced, otherwise this is the total for the connection's lifetime.
  std::uint64_t peer_bidi_streams = 16;
  bool replenish_peer_streams = true;
  // Receive windows: the reassembly memory a peer can fill out of order. Auto-tuned up to the
  // max_ values (equal values: fixed windows).
  std::uint64_t stream_window = 1024 * 1024;
  std::uint64_t max_stream_window = 16 * 1024 * 1024;
  std::uint64_t connection_window = 4 * 1024 * 1024;
  std::uint64_t max_connection_window = 24 * 1024 * 1024;
  // Unacknowledged bytes send_stream keeps per stream before it refuses more (kWouldBlock):
  // a peer that never reads cannot make the queue grow without bound. 0 = no cap.
  std::size_t max_unacked_stream_bytes = 0;
  // Stream data is handed to the handler on arrival and the windows reopen at once; true
  // keeps them closed, as a peer that never reads its stream would (tests, attack suite).
  bool never_reopen_windows = false;
};

struct ConnectionStats {
  std::uint64_t datagrams_sent = 0;                // DATAGRAM frames handed to QUIC packets
  std::uint64_t datagrams_received = 0;            // DATAGRAM frames delivered to on_datagram
  std::uint64_t datagrams_dropped_queue_full = 0;  // oldest queued ones evicted by newer
  std::uint64_t datagrams_dropped_unsendable = 0;  // never fitted a packet (safety net)
  std::uint64_t udp_bytes_sent = 0;                // UDP payload bytes, all packets
  std::uint64_t udp_bytes_received = 0;
  std::uint64_t stream_bytes_queued = 0;  // accepted by send_stream
  std::uint64_t stream_bytes_acked = 0;   // acknowledged by the peer
  std::chrono::microseconds smoothed_rtt{0};
  std::uint64_t cwnd_bytes = 0;
  std::size_t max_udp_payload_bytes = 0;  // current path's UDP payload limit (grows by PMTUD)
  std::size_t datagram_queue_depth = 0;
};

// Owned by its endpoint (Server or Client). Valid until on_closed returns; the Client's stays
// valid (closed) until the Client is destroyed. Single-threaded: call only on the loop's
// thread. Every call is safe from inside any handler callback, on any connection of the
// same endpoint, including the one the callback is about.
class Connection {
 public:
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Unique per endpoint for the endpoint's life, never 0.
  [[nodiscard]] virtual std::uint64_t id() const noexcept = 0;
  [[nodiscard]] virtual bool handshake_completed() const noexcept = 0;
  // "203.0.113.5:50123".
  [[nodiscard]] virtual std::string remote_address() const = 0;
  // The remote address's source prefix (per-source limits).
  [[nodiscard]] virtual io::SourcePrefix remote_source() const noexcept = 0;

  // Opens the next locally initiated bidirectional stream (a client's first is stream 0).
  // kWouldBlock when the peer's stream limit is reached; kClosed once closing.
  [[nodiscard]] virtual Result<std::int64_t> open_bidi_stream() = 0;
  // Copies data; it is retained until acknowledged and sent as flow control allows. The
  // stream may be one we opened or one the peer opened. kNotFound for an unknown stream,
  // kClosed after shutdown_stream_write() or once the connection is closing.
  [[nodiscard]] virtual Status send_stream(std::int64_t stream_id,
                                           std::span<const std::uint8_t> data) = 0;
  // Sends FIN after the queued data.
  [[nodiscard]] virtual Status shutdown_stream_write(std::int64_t stream_id) = 0;

  // The peer's max_datagram_frame_size transport parameter; 0 if it advertised none or the
  // handshake is not complete.
  [[nodiscard]] virtual std::uint64_t peer_max_datagram_frame_size() const noexcept = 0;
  // Largest DATAGRAM payload sendable now: min(peer parameter - 3, what fits one packet at
  // the path's current UDP payload size with the worst-case short header). Grows when path
  // MTU discovery succeeds (1168 -> 1412 bytes on a 1500-byte path with 8-byte CIDs). Each
  // direction discovers its own path MTU: the peer's budget towards us may differ for a
  // while. 0 before the handshake completes.
  [[nodiscard]] virtual std::size_t datagram_budget() const noexcept = 0;
  // Queues one DATAGRAM frame payload (copied). kTooLarge above datagram_budget() (an error,
  // never a silent stall); kWouldBlock before the handshake completes; kClosed once
  // closing. The queue is bounded (datagram_queue_slots, and the endpoint's slot budget);
  // when full the OLDEST queued datagram is dropped and counted, and this one is queued. Sent
  // at the next flush, packed several per packet; congestion control may hold the queue, and
  // once it is past slow start, datagrams that have waited over 5 ms for 100 ms are dropped
  // oldest first and counted the same way (CoDel, RFC 8289): a burst is absorbed, a standing
  // queue is not kept.
  [[nodiscard]] virtual Status send_datagram(std::span<const std::uint8_t> payload) = 0;

  // Sends CONNECTION_CLOSE with the application code and reason at the next flush (end of the
  // current batch) and keeps the closing period (3 PTO) so late packets are answered.
  // on_closed (kLocalApplication) follows after the current callback. Idempotent.
  virtual void close(std::uint64_t app_error_code, std::string_view reason) = 0;
  // Closes as close() `linger_after_ack` after every byte queued on every stream (and FINs)
  // is acknowledged, or at deadline, whichever is first. Later send_* calls fail with
  // kClosed. The linger exists because some QUIC stacks acknowledge stream data on arrival
  // and then fail their application's pending read when the close arrives (PROTOCOL.md
  // section 2 asks for 100 ms after a reject's acknowledgement).
  virtual void close_after_ack(std::uint64_t app_error_code, std::string reason,
                               std::chrono::milliseconds deadline,
                               std::chrono::milliseconds linger_after_ack = {}) = 0;

  [[nodiscard]] virtual ConnectionStats stats() const noexcept = 0;

  // 32 bytes of the RFC 8446 section 7.5 TLS exporter for label with an EMPTY context (in
  // TLS 1.3 the same as no context), e.g. label "EXPORTER-lanparty-room-claim" (PROTOCOL.md
  // section 7). Both ends of one connection get the same bytes; any other connection or label
  // gets unrelated ones, so a signature over them cannot be replayed elsewhere. label: 1..63
  // bytes, else kInvalidArgument. kWouldBlock until handshake_completed(); kClosed once a closed
  // client connection's TLS state is freed; kUnsupportedPlatform in the wolfSSL (Windows) build.
  [[nodiscard]] virtual Result<std::array<std::uint8_t, 32>> export_keying_material(
      std::string_view label) const = 0;

  // An application pointer the endpoint never touches.
  void set_user_data(void* user_data) noexcept { user_data_ = user_data; }
  [[nodiscard]] void* user_data() const noexcept { return user_data_; }

 protected:
  Connection() = default;

 private:
  void* user_data_ = nullptr;
};

// Receives an endpoint's events, on the loop's thread. Spans are valid only during the
// callback. Callbacks may call send_*/close on any connection of the endpoint.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // The TLS handshake finished (ALPN agreed, certificate accepted); streams and datagrams may
  // flow. A server reports only connections that got here.
  virtual void on_handshake_completed(Connection& /*connection*/) {}
  // In-order stream bytes; fin marks the end of the peer's side.
  virtual void on_stream_data(Connection& connection, std::int64_t stream_id,
                              std::span<const std::uint8_t> data, bool fin) = 0;
  virtual void on_datagram(Connection& connection, std::span<const std::uint8_t> payload) = 0;
  // Exactly once per reported connection, never from inside close(). On a server the
  // Connection is gone when this returns.
  virtual void on_closed(Connection& connection, const CloseInfo& info) = 0;
};

}  // namespace lanparty::quic
