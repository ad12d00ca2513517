// SPDX-License-Identifier: MIT
// The accepting side: one UDP socket, many QUIC connections routed by connection ID.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/quic/address.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/connection.hpp"
#include "lanparty/quic/event_loop.hpp"

namespace lanparty::quic {

struct ServerConfig {
  std::string listen;               // parse_listen_address() forms: "443/udp", "[::]:4433", ...
  CertificateKey certificate;       // presented to every client
  std::string alpn = "lanparty/1";  // the only protocol accepted; others fail the handshake
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::uint64_t max_datagram_frame_size = 65535;  // advertised (RFC 9221)
  std::size_t datagram_queue_slots = 256;         // per connection, see send_datagram
  std::size_t max_connections = 10000;            // beyond it new clients get CONNECTION_REFUSED
};

// Destroying the Server drops every connection at once without on_closed; call close_all()
// and let the loop run for a graceful end. Never destroy it from inside one of its handler's
// callbacks (defer with EventLoop::add_timer(loop.now(), ...)).
class Server {
 public:
  virtual ~Server() = default;

  // Binds the socket and starts receiving on loop. handler and loop must outlive the Server.
  [[nodiscard]] static Result<std::unique_ptr<Server>> create(EventLoop& loop, ServerConfig config,
                                                              ConnectionHandler& handler,
                                                              obs::Logger logger);

  // The bound address (the real port when listen asked for port 0).
  [[nodiscard]] virtual SocketAddress local_address() const = 0;
  // Connections not yet fully closed, handshaking ones included.
  [[nodiscard]] virtual std::size_t connection_count() const noexcept = 0;
  // close(app_error_code, reason) on every connection.
  virtual void close_all(std::uint64_t app_error_code, std::string_view reason) = 0;

 protected:
  Server() = default;
};

}  // namespace lanparty::quic
