// SPDX-License-Identifier: MIT
// Client: reads the trust material, resolves the relay, and starts one connection from an
// ephemeral, connected UDP socket. A handshake that fails reaches the handler classified
// (CloseInfo::handshake_failure) from what the TLS layer and the socket saw.
#include "lanparty/quic/client.hpp"

#include <cstring>

#include <fmt/format.h>

#include "connection_impl.hpp"
#include "endpoint.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/io/sim_socket.hpp"

namespace lanparty::quic {
namespace {

// Stands between the endpoint and the application's handler, only to classify a failed
// handshake on its way to on_closed.
class ClientImpl final : public Client, private ConnectionHandler {
 public:
  ClientImpl(detail::ClientTlsContext tls, ConnectionHandler& handler, obs::Logger logger)
      : tls_(std::move(tls)), handler_(handler), logger_(logger) {}

  Status start(io::EventLoop& loop, const ClientConfig& config, const io::SocketAddress& remote) {
    obs::Logger logger = logger_;
    auto local = io::parse_listen_address(
        remote.family() == io::AddressFamily::kIPv6 ? "[::]:0" : "0.0.0.0:0");
    if (!local) return tl::unexpected(local.error());
    if ((config.sim_host != nullptr) != (loop.simulation() != nullptr)) {
      return fail(Errc::kInvalidArgument,
                  "ClientConfig.sim_host and io::EventLoop::create_simulated go together");
    }
    auto socket = config.sim_host != nullptr
                      ? io::open_sim_socket(loop, *config.sim_host, *local, remote)
                      : io::UdpSocket::open(*local, remote, logger);
    if (!socket) return tl::unexpected(socket.error());
    detail::EndpointConfig endpoint_config;
    endpoint_config.is_server = false;
    endpoint_config.idle_timeout = config.idle_timeout;
    endpoint_config.handshake_timeout = config.handshake_timeout;
    endpoint_config.keepalive = config.keepalive;
    endpoint_config.max_datagram_frame_size = config.max_datagram_frame_size;
    endpoint_config.datagram_queue_slots = config.datagram_queue_slots;
    endpoint_config.max_connections = 1;
    endpoint_config.streams = config.streams;
    ConnectionHandler& classifier = *this;
    endpoint_ = std::make_unique<detail::Endpoint>(loop, endpoint_config, classifier, logger,
                                                   std::move(*socket));
    remote_ = remote;
    if (auto s = endpoint_->start(); !s) return s;
    auto connection = endpoint_->connect(remote, tls_);
    if (!connection) return tl::unexpected(connection.error());
    connection_ = *connection;
    logger.info("quic.client_connecting", {{"remote", remote.to_string()},
                                           {"local", endpoint_->local_address().to_string()},
                                           {"server_name", config.server_name}});
    return ok();
  }

  Connection& connection() noexcept override { return *connection_; }

 private:
  void on_handshake_completed(Connection& connection) override {
    handler_.on_handshake_completed(connection);
  }
  void on_stream_data(Connection& connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override {
    handler_.on_stream_data(connection, stream_id, data, fin);
  }
  void on_datagram(Connection& connection, std::span<const std::uint8_t> payload) override {
    handler_.on_datagram(connection, payload);
  }
  void on_closed(Connection& connection, const CloseInfo& info) override {
    const bool failed_handshake = info.kind == CloseInfo::Kind::kHandshakeFailed ||
                                  info.kind == CloseInfo::Kind::kHandshakeTimeout;
    if (!failed_handshake || connection.handshake_completed()) {
      handler_.on_closed(connection, info);
      return;
    }
    CloseInfo classified = info;
    if (!classified.handshake_failure) {
      const io::SocketCounters& socket = endpoint_->socket_counters();
      const bool icmp = socket.rx_unreachable + socket.tx_dropped_unreachable > 0;
      const detail::HandshakeEvidence evidence{
          .certificate = tls_.refusal(),
          .unreachable_errno = icmp ? socket.last_unreachable_errno : 0};
      classified.handshake_failure =
          detail::classify_handshake_failure(info.kind, info.code, evidence);
      if (*classified.handshake_failure == obs::HandshakeFailure::kUnreachable &&
          info.kind == CloseInfo::Kind::kHandshakeTimeout) {
        // What the relay's address answered says more than that the handshake timed out.
        classified.reason = fmt::format("{} answered with ICMP: {}", remote_.to_string(),
                                        std::strerror(evidence.unreachable_errno));
      }
    }
    logger_.warn("quic.handshake_failed",
                 {{"remote", remote_.to_string()},
                  {"failure", obs::to_string(*classified.handshake_failure)},
                  {"kind", to_string(info.kind)},
                  {"code", info.code},
                  {"reason", classified.reason}});
    handler_.on_closed(connection, classified);
  }

  detail::ClientTlsContext tls_;  // outlives the endpoint's sessions
  ConnectionHandler& handler_;
  obs::Logger logger_;
  io::SocketAddress remote_;
  std::unique_ptr<detail::Endpoint> endpoint_;
  detail::ConnectionImpl* connection_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Client>> Client::connect(io::EventLoop& loop, ClientConfig config,
                                                ConnectionHandler& handler, obs::Logger logger) {
  auto tls = detail::ClientTlsContext::create(config.trust, config.server_name, config.alpn);
  if (!tls) return tl::unexpected(tls.error());
  if (config.port == 0) return fail(Errc::kInvalidArgument, "ClientConfig.port is 0");
  auto remote = io::resolve_host_port(config.host, config.port);
  if (!remote) return tl::unexpected(remote.error());
  auto client = std::make_unique<ClientImpl>(std::move(*tls), handler, logger);
  if (auto s = client->start(loop, config, *remote); !s) {
    return tl::unexpected(s.error());
  }
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace lanparty::quic
