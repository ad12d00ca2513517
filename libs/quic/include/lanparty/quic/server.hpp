// SPDX-License-Identifier: MIT
// The accepting side: one UDP socket, many QUIC connections routed by connection ID.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/io/address.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/connection.hpp"

namespace lanparty::io {
class SimHost;
}  // namespace lanparty::io

namespace lanparty::quic {

// When the server answers an Initial with a Retry (RFC 9000 section 8.1) before keeping any
// state: the client must then prove it receives at its source address.
enum class RetryMode : std::uint8_t {
  kNever,
  kAuto,    // while many handshakes are in flight, or its source is over its handshake rate
  kAlways,  // every new connection (one more round trip for everyone)
};
[[nodiscard]] std::string_view to_string(RetryMode mode) noexcept;
[[nodiscard]] std::optional<RetryMode> parse_retry_mode(std::string_view text) noexcept;

// Who may start a handshake. A source is an IPv4 address or an IPv6 /64 (io::source_prefix).
struct AdmissionLimits {
  RetryMode retry = RetryMode::kAuto;
  std::size_t retry_above_handshakes = 64;  // kAuto: Retry once this many are in flight
  std::size_t max_handshakes = 1024;        // in flight at once, every source together
  // Connections from one source whose address is proven (by a Retry token or a completed
  // handshake); spoofed Initials cannot use up a real source's share.
  std::size_t max_connections_per_source = 64;
  double handshakes_per_second_per_source = 20;
  double handshake_burst_per_source = 40;
};

// Why the server turned an Initial away; every refusal is counted by reason.
enum class Refusal : std::uint8_t {
  kServerFull,           // max_connections reached (CONNECTION_REFUSED)
  kHandshakesInFlight,   // max_handshakes reached
  kSourceConnections,    // the source holds max_connections_per_source
  kSourceHandshakeRate,  // the source passed its handshake rate
  kInvalidToken,         // a Retry token that did not verify (INVALID_TOKEN)
};
inline constexpr std::size_t kRefusalCount = 5;
[[nodiscard]] std::string_view to_string(Refusal refusal) noexcept;

struct AdmissionCounters {
  std::uint64_t accepted = 0;
  std::uint64_t retries_sent = 0;
  std::uint64_t retry_tokens_valid = 0;  // connections whose address a Retry proved
  std::array<std::uint64_t, kRefusalCount> refused{};
  std::uint64_t handshakes_in_flight = 0;  // gauge
  std::uint64_t sources_tracked = 0;       // gauge
};

// The server's UDP sockets, for metrics: what moved, and every datagram dropped below QUIC
// by reason. Taking it costs a system call per socket (the kernel's queue drops).
struct UdpStats {
  std::uint64_t rx_packets = 0;                 // on the main socket
  std::uint64_t rx_handshake_lane_packets = 0;  // long-header packets steered to the lane
  std::uint64_t rx_truncated = 0;               // larger than the receive buffer
  std::uint64_t rx_bad_address = 0;
  std::uint64_t rx_overflow = 0;  // a GRO run split into more datagrams than slots
  // Datagrams the kernel dropped because a socket's receive queue was full.
  std::uint64_t rx_queue_full = 0;                 // main socket
  std::uint64_t rx_handshake_lane_queue_full = 0;  // an Initial flood ends here
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_dropped_too_big = 0;
  std::uint64_t tx_dropped_unreachable = 0;
  std::uint64_t tx_dropped_denied = 0;
  std::uint64_t tx_dropped_other = 0;
  std::uint64_t gso_fallbacks = 0;
  bool handshake_lane = false;              // long headers are steered to a socket of their own
  std::uint64_t buffer_resident_bytes = 0;  // of the sockets' batch buffers, now
};

struct ServerConfig {
  std::string listen;               // io::parse_listen_address() forms: "443/udp", "[::]:4433", ...
  CertificateKey certificate;       // presented to every client
  std::string alpn = "lanparty/1";  // the only protocol accepted; others fail the handshake
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::uint64_t max_datagram_frame_size = 65535;  // advertised (RFC 9221)
  // Per connection, see send_datagram: one full receive batch (16 GRO messages x 64
  // segments) bound for one peer fits. All connections together hold at most
  // datagram_slot_budget slots (x 1452 bytes: 95 MB by default).
  std::size_t datagram_queue_slots = 1024;
  std::size_t datagram_slot_budget = 65536;
  std::size_t max_connections = 10000;  // beyond it new clients get CONNECTION_REFUSED
  // What each client may make the server hold. The default suits a relay: exactly one
  // client-initiated bidirectional stream (the control stream) for the connection's life, no
  // unidirectional ones, fixed 64 KiB windows (a control frame is at most 16 KiB), and at
  // most 256 KiB of unacknowledged control data per stream.
  StreamLimits streams{.peer_bidi_streams = 1,
                       .replenish_peer_streams = false,
                       .stream_window = 64 * 1024,
                       .max_stream_window = 64 * 1024,
                       .connection_window = 64 * 1024,
                       .max_connection_window = 64 * 1024,
                       .max_unacked_stream_bytes = 256 * 1024};
  AdmissionLimits admission = {};
  // Tests: open the socket on this simulated host (sim_network.hpp) instead of the OS; the
  // loop must then be io::EventLoop::create_simulated on the host's network. Null: the OS.
  io::SimHost* sim_host = nullptr;
};

// Destroying the Server drops every connection at once without on_closed; call close_all()
// and let the loop run for a graceful end. Never destroy it from inside one of its handler's
// callbacks (defer with io::EventLoop::add_timer(loop.now(), ...)).
class Server {
 public:
  virtual ~Server() = default;

  // Binds the socket and starts receiving on loop. handler and loop must outlive the Server.
  [[nodiscard]] static Result<std::unique_ptr<Server>> create(io::EventLoop& loop,
                                                              ServerConfig config,
                                                              ConnectionHandler& handler,
                                                              obs::Logger logger);

  // The bound address (the real port when listen asked for port 0).
  [[nodiscard]] virtual io::SocketAddress local_address() const = 0;
  // Connections not yet fully closed, handshaking ones included.
  [[nodiscard]] virtual std::size_t connection_count() const noexcept = 0;
  [[nodiscard]] virtual AdmissionCounters admission_counters() const noexcept = 0;
  [[nodiscard]] virtual UdpStats udp_stats() const noexcept = 0;
  // Gives back to the OS the memory a burst of traffic left behind: the pages of the sockets'
  // batch buffers (touched again by the next burst) and the datagram queue slots of
  // connections whose queue has drained beyond the few a quiet connection keeps. For a
  // periodic timer, never per packet.
  virtual void release_idle_memory() noexcept = 0;
  // close(app_error_code, reason) on every connection.
  virtual void close_all(std::uint64_t app_error_code, std::string_view reason) = 0;
  // A renewed certificate: handshakes from now on present `certificate`; connections already
  // made keep theirs (each holds the credentials it started with until it ends). On an error
  // (a key that does not match, a chain TLS cannot use) nothing changes. Stateless reset
  // tokens issued from now on derive from the new key, as a restart with it would.
  [[nodiscard]] virtual Status reload_certificate(const CertificateKey& certificate) = 0;

 protected:
  Server() = default;
};

}  // namespace lanparty::quic
