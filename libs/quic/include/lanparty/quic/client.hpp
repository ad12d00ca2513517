// SPDX-License-Identifier: MIT
// The connecting side: one UDP socket, one QUIC connection, certificate trust by pin or CA.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "lanparty/base/result.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/quic/connection.hpp"

namespace lanparty::io {
class SimHost;
}  // namespace lanparty::io

namespace lanparty::quic {

// Exactly one must be set (PROTOCOL.md section 1: no trust on first use, no insecure mode).
struct TrustConfig {
  std::optional<std::filesystem::path> pinned_der;  // accept exactly this leaf certificate
  // Or accept exactly the leaf whose DER has this SHA-256 (an invite link's pin=).
  std::optional<std::array<std::uint8_t, 32>> pinned_sha256;
  std::optional<std::filesystem::path> ca_file;  // PEM CAs; the chain must name server_name
};

struct ClientConfig {
  std::string host;  // numeric address or DNS name
  std::uint16_t port = 0;
  std::string server_name;  // SNI, and the name checked against the CA-validated chain
  TrustConfig trust;
  std::string alpn = "lanparty/1";
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds keepalive{10000};  // PING after this much quiet; 0 = off
  std::chrono::milliseconds handshake_timeout{10000};
  std::uint64_t max_datagram_frame_size = 65535;
  std::size_t datagram_queue_slots = 1024;
  StreamLimits streams = {};
  // Tests: open the socket on this simulated host (sim_network.hpp) instead of the OS; the
  // loop must then be io::EventLoop::create_simulated on the host's network. Null: the OS.
  io::SimHost* sim_host = nullptr;
};

// One connection attempt; reconnecting means a new Client. Never destroy it from inside one
// of its handler's callbacks (on_closed included): defer with io::EventLoop::add_timer.
class Client {
 public:
  virtual ~Client() = default;

  // Resolves, binds an ephemeral UDP port and starts the handshake; returns at once. Errors
  // here are local (bad trust config, unreadable pin file, resolution); everything that
  // happens on the network, handshake failure included, reaches handler.on_closed. A pin
  // mismatch's reason names both SHA-256 fingerprints. loop and handler must outlive it.
  [[nodiscard]] static Result<std::unique_ptr<Client>> connect(io::EventLoop& loop,
                                                               ClientConfig config,
                                                               ConnectionHandler& handler,
                                                               obs::Logger logger);

  // Valid for the Client's life, also after on_closed (then closed: send_* fail kClosed).
  [[nodiscard]] virtual Connection& connection() noexcept = 0;

 protected:
  Client() = default;
};

}  // namespace lanparty::quic
