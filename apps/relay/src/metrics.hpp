// SPDX-License-Identifier: MIT
// Prometheus text exposition of the relay's totals, and a minimal HTTP/1.0 endpoint that
// serves it from the relay's event loop (one request per connection, then close) without
// ever blocking that loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "lanparty/base/errc.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/quic/server.hpp"

namespace lanparty::relay {

class Relay;

// The exposition body (text format 0.0.4).
[[nodiscard]] std::string render_metrics(const Relay& relay);
// The QUIC server's admission counters (Retry, refusals by reason), appended to it.
[[nodiscard]] std::string render_admission_metrics(const quic::AdmissionCounters& admission);
// The QUIC server's UDP sockets: datagrams in and out, and each drop below QUIC by reason.
[[nodiscard]] std::string render_udp_metrics(const quic::UdpStats& udp);

// `lanparty-relay status`: what the running relay answers on its control socket (JSON, from
// the room table: every room and peer with its frame and byte counters), and the same in
// plain words with the top talkers. `listen` and `started_unix` are the process's own.
[[nodiscard]] std::string render_status_json(const Relay& relay, std::string_view listen,
                                             std::int64_t started_unix);
// kInvalidArgument when `json` is not such an answer.
[[nodiscard]] Result<std::string> describe_status(std::string_view json, std::int64_t now_unix);

// Bounds that keep scrapers from costing the relay more than a little memory.
struct MetricsServerLimits {
  // Connections served at once; more are accepted and closed at once (result "refused").
  std::size_t max_connections = 16;
  // From accept to the last byte of the answer; then the connection is closed ("timed_out").
  std::chrono::milliseconds deadline{5000};
  // Request line and headers; a request that does not end within this gets 400.
  std::size_t max_request_bytes = 8192;
};

// Connections by how they ended (each is counted once, when it is closed).
struct ScrapeCounts {
  std::uint64_t ok = 0;           // 200 with the exposition, written in full
  std::uint64_t not_found = 0;    // 404 (another path or method), written in full
  std::uint64_t bad_request = 0;  // 400 (not HTTP, headers over the limit, closed too early)
  std::uint64_t refused = 0;      // over max_connections: closed at accept
  std::uint64_t timed_out = 0;    // deadline passed before the answer was out
  std::uint64_t failed = 0;       // socket error or reset by the scraper
};

// Serves the exposition from the relay's event loop without ever blocking it: sockets are
// non-blocking and registered on the loop, requests are read and answers written as the
// socket allows. All members run on the loop's thread.
class MetricsServer {
 public:
  // Returns the exposition body; called once per request that gets a 200.
  using RenderFn = std::function<std::string()>;

  // Listens on "ADDR:PORT" (IPv4 or [IPv6]); serves GET /metrics (and /) from `relay`, which
  // must outlive the server.
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> start(
      io::EventLoop& loop, std::string_view listen, const Relay& relay, obs::Logger logger,
      MetricsServerLimits limits = {});
  // The same with any body (tests serve a large one). The server appends its own
  // lanparty_relay_metrics_scrapes_total to it.
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> start(
      io::EventLoop& loop, std::string_view listen, RenderFn render, obs::Logger logger,
      MetricsServerLimits limits = {});
  // Closes every open scrape connection at once.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const ScrapeCounts& scrapes() const noexcept { return counts_; }
  [[nodiscard]] std::size_t open_connections() const noexcept { return connections_.size(); }

 private:
  struct Connection;
  enum class Outcome : std::uint8_t { kOk, kNotFound, kBadRequest, kTimedOut, kFailed };

  MetricsServer(io::EventLoop& loop, int fd, std::uint16_t port, RenderFn render,
                obs::Logger logger, MetricsServerLimits limits);
  void on_accept();
  void on_ready(int fd);
  // Reads what has arrived; true once the request is complete (or cannot become valid).
  [[nodiscard]] bool read_request(Connection& c);
  void respond(Connection& c);
  void write_response(Connection& c);
  void close_connection(int fd, Outcome outcome) noexcept;
  [[nodiscard]] std::string render_scrape_counts() const;

  io::EventLoop& loop_;
  int listen_fd_;
  std::uint16_t port_;
  RenderFn render_;
  obs::Logger log_;
  MetricsServerLimits limits_;
  ScrapeCounts counts_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  // Re-enables accept() after the process ran out of descriptors (level-triggered epoll
  // would otherwise report the listening socket again at once, forever).
  io::EventLoop::Timer accept_resume_;
};

}  // namespace lanparty::relay
