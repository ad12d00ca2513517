// SPDX-License-Identifier: MIT
// Prometheus text exposition of the relay's totals, and a minimal HTTP/1.0 endpoint that
// serves it from the relay's event loop (one request per connection, then close).
#pragma once

#include <memory>
#include <string>

#include "lanparty/base/errc.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/quic/event_loop.hpp"

namespace lanparty::relay {

class Relay;

// The exposition body (text format 0.0.4).
[[nodiscard]] std::string render_metrics(const Relay& relay);

class MetricsServer {
 public:
  // Listens on "ADDR:PORT" (IPv4 or [IPv6]); serves GET /metrics (and /) from `relay`.
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> start(quic::EventLoop& loop,
                                                                    std::string_view listen,
                                                                    const Relay& relay,
                                                                    obs::Logger logger);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  MetricsServer(quic::EventLoop& loop, int fd, std::uint16_t port, const Relay& relay,
                obs::Logger logger);
  void on_accept();

  quic::EventLoop& loop_;
  int listen_fd_;
  std::uint16_t port_;
  const Relay& relay_;
  obs::Logger log_;
};

}  // namespace lanparty::relay
