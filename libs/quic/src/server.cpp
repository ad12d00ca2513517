// SPDX-License-Identifier: MIT
// Server: binds the listen address (falling back to IPv4 when the host has no IPv6) and
// hands the socket to an Endpoint in server mode.
#include "lanparty/quic/server.hpp"

#include <cerrno>

#include "endpoint.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/io/sim_socket.hpp"

namespace lanparty::quic {
namespace {

class ServerImpl final : public Server {
 public:
  ServerImpl(std::unique_ptr<detail::Endpoint> endpoint, std::string alpn) noexcept
      : endpoint_(std::move(endpoint)), alpn_(std::move(alpn)) {}

  io::SocketAddress local_address() const override { return endpoint_->local_address(); }
  std::size_t connection_count() const noexcept override { return endpoint_->connection_count(); }
  AdmissionCounters admission_counters() const noexcept override {
    return endpoint_->admission_counters();
  }
  UdpStats udp_stats() const noexcept override {
    const io::SocketCounters& main = endpoint_->socket_counters();
    UdpStats stats;
    stats.rx_packets = main.rx_packets;
    stats.rx_truncated = main.rx_truncated;
    stats.rx_bad_address = main.rx_bad_address;
    stats.rx_overflow = main.rx_overflow;
    stats.rx_queue_full = endpoint_->socket().kernel_queue_drops();
    stats.tx_packets = main.tx_packets;
    stats.tx_dropped_too_big = main.tx_dropped_too_big;
    stats.tx_dropped_unreachable = main.tx_dropped_unreachable;
    stats.tx_dropped_denied = main.tx_dropped_denied;
    stats.tx_dropped_other = main.tx_dropped_other;
    stats.gso_fallbacks = main.gso_fallbacks;
    if (const io::UdpSocket* lane = endpoint_->handshake_lane()) {
      const io::SocketCounters& c = lane->counters();
      stats.handshake_lane = true;
      stats.rx_handshake_lane_packets = c.rx_packets;
      stats.rx_truncated += c.rx_truncated;
      stats.rx_bad_address += c.rx_bad_address;
      stats.rx_overflow += c.rx_overflow;
      stats.rx_handshake_lane_queue_full = lane->kernel_queue_drops();
    }
    stats.buffer_resident_bytes = endpoint_->resident_buffer_bytes();
    return stats;
  }
  void release_idle_memory() noexcept override { endpoint_->release_idle_memory(); }
  void close_all(std::uint64_t app_error_code, std::string_view reason) override {
    endpoint_->close_all(app_error_code, reason);
  }
  Status reload_certificate(const CertificateKey& certificate) override {
    auto tls = detail::ServerTlsContext::create(certificate, alpn_);
    if (!tls) return tl::unexpected(tls.error());
    endpoint_->set_server_tls(std::move(*tls));
    endpoint_->set_static_secret(detail::derive_stateless_reset_secret(certificate));
    return ok();
  }

 private:
  std::unique_ptr<detail::Endpoint> endpoint_;
  std::string alpn_;
};

}  // namespace

std::string_view to_string(RetryMode mode) noexcept {
  switch (mode) {
    case RetryMode::kNever:
      return "never";
    case RetryMode::kAuto:
      return "auto";
    case RetryMode::kAlways:
      return "always";
  }
  return "unknown";
}

std::optional<RetryMode> parse_retry_mode(std::string_view text) noexcept {
  for (const RetryMode mode : {RetryMode::kNever, RetryMode::kAuto, RetryMode::kAlways}) {
    if (text == to_string(mode)) return mode;
  }
  return std::nullopt;
}

std::string_view to_string(Refusal refusal) noexcept {
  switch (refusal) {
    case Refusal::kServerFull:
      return "server_full";
    case Refusal::kHandshakesInFlight:
      return "handshakes_in_flight";
    case Refusal::kSourceConnections:
      return "source_connections";
    case Refusal::kSourceHandshakeRate:
      return "source_handshake_rate";
    case Refusal::kInvalidToken:
      return "invalid_token";
  }
  return "unknown";
}

Result<std::unique_ptr<Server>> Server::create(io::EventLoop& loop, ServerConfig config,
                                               ConnectionHandler& handler, obs::Logger logger) {
  auto listen = io::parse_listen_address(config.listen);
  if (!listen) return tl::unexpected(listen.error());
  if (config.max_connections == 0) {
    return fail(Errc::kInvalidArgument, "ServerConfig.max_connections must be at least 1");
  }
  auto tls = detail::ServerTlsContext::create(config.certificate, config.alpn);
  if (!tls) return tl::unexpected(tls.error());

  if ((config.sim_host != nullptr) != (loop.simulation() != nullptr)) {
    return fail(Errc::kInvalidArgument,
                "ServerConfig.sim_host and io::EventLoop::create_simulated go together");
  }
  Result<io::ListeningSockets> sockets = io::ListeningSockets{};
  if (config.sim_host != nullptr) {
    auto socket = io::open_sim_socket(loop, *config.sim_host, *listen, io::SocketAddress{});
    if (!socket) return tl::unexpected(socket.error());
    sockets->main = std::move(*socket);
  } else {
    sockets = io::UdpSocket::open_listening(*listen, logger);
  }
  if (!sockets && listen->is_wildcard() && listen->family() == io::AddressFamily::kIPv6 &&
      sockets.error().code == std::errc::address_family_not_supported) {
    // "443/udp" on a host without IPv6: serve IPv4 alone rather than fail.
    auto v4 = io::parse_listen_address("0.0.0.0:" + std::to_string(listen->port()));
    if (v4) sockets = io::UdpSocket::open_listening(*v4, logger);
  }
  if (!sockets) return tl::unexpected(sockets.error());

  detail::EndpointConfig endpoint_config;
  endpoint_config.is_server = true;
  endpoint_config.idle_timeout = config.idle_timeout;
  endpoint_config.handshake_timeout = config.handshake_timeout;
  endpoint_config.max_datagram_frame_size = config.max_datagram_frame_size;
  endpoint_config.datagram_queue_slots = config.datagram_queue_slots;
  endpoint_config.datagram_slot_budget = config.datagram_slot_budget;
  endpoint_config.max_connections = config.max_connections;
  endpoint_config.streams = config.streams;
  endpoint_config.admission = config.admission;
  if (config.admission.max_handshakes == 0 || config.admission.max_connections_per_source == 0) {
    return fail(Errc::kInvalidArgument,
                "ServerConfig.admission: max_handshakes and max_connections_per_source must be "
                "at least 1");
  }
  auto endpoint = std::make_unique<detail::Endpoint>(loop, endpoint_config, handler, logger,
                                                     std::move(sockets->main));
  endpoint->set_handshake_lane(std::move(sockets->handshake_lane));
  endpoint->set_server_tls(std::move(*tls));
  endpoint->set_static_secret(detail::derive_stateless_reset_secret(config.certificate));
  if (auto s = endpoint->start(); !s) return tl::unexpected(s.error());
  logger.info("quic.server_listening", {{"address", endpoint->local_address().to_string()},
                                        {"alpn", config.alpn},
                                        {"retry", to_string(config.admission.retry)},
                                        {"gso", endpoint->socket_counters().gso_enabled},
                                        {"handshake_lane", endpoint->handshake_lane() != nullptr}});
  return std::unique_ptr<Server>(new ServerImpl(std::move(endpoint), config.alpn));
}

}  // namespace lanparty::quic
