// SPDX-License-Identifier: MIT
// Client: reads the trust material, resolves the relay, and starts one connection from an
// ephemeral, connected UDP socket.
#include "lanparty/quic/client.hpp"

#include "connection_impl.hpp"
#include "endpoint.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty::quic {
namespace {

class ClientImpl final : public Client {
 public:
  explicit ClientImpl(detail::ClientTlsContext tls) : tls_(std::move(tls)) {}

  Status start(EventLoop& loop, const ClientConfig& config, ConnectionHandler& handler,
               obs::Logger logger, const SocketAddress& remote) {
    auto local =
        parse_listen_address(remote.family() == AddressFamily::kIPv6 ? "[::]:0" : "0.0.0.0:0");
    if (!local) return tl::unexpected(local.error());
    auto socket = detail::UdpSocket::open(*local, remote, logger);
    if (!socket) return tl::unexpected(socket.error());
    detail::EndpointConfig endpoint_config;
    endpoint_config.is_server = false;
    endpoint_config.idle_timeout = config.idle_timeout;
    endpoint_config.handshake_timeout = config.handshake_timeout;
    endpoint_config.keepalive = config.keepalive;
    endpoint_config.max_datagram_frame_size = config.max_datagram_frame_size;
    endpoint_config.datagram_queue_slots = config.datagram_queue_slots;
    endpoint_config.max_connections = 1;
    endpoint_ = std::make_unique<detail::Endpoint>(loop, endpoint_config, handler, logger,
                                                   std::move(*socket));
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
  detail::ClientTlsContext tls_;  // outlives the endpoint's sessions
  std::unique_ptr<detail::Endpoint> endpoint_;
  detail::ConnectionImpl* connection_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Client>> Client::connect(EventLoop& loop, ClientConfig config,
                                                ConnectionHandler& handler, obs::Logger logger) {
  auto tls = detail::ClientTlsContext::create(config.trust, config.server_name, config.alpn);
  if (!tls) return tl::unexpected(tls.error());
  if (config.port == 0) return fail(Errc::kInvalidArgument, "ClientConfig.port is 0");
  auto remote = resolve_host_port(config.host, config.port);
  if (!remote) return tl::unexpected(remote.error());
  auto client = std::make_unique<ClientImpl>(std::move(*tls));
  if (auto s = client->start(loop, config, handler, logger, *remote); !s) {
    return tl::unexpected(s.error());
  }
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace lanparty::quic
