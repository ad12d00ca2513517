// SPDX-License-Identifier: MIT
#include "metrics.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "relay.hpp"

namespace lanparty::relay {
namespace {

void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t v) {
  out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
}
void gauge(std::string& out, std::string_view name, std::string_view help, std::uint64_t v) {
  out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, v);
}

// Parses "127.0.0.1:9100" or "[::1]:9100" into a sockaddr.
bool parse_addr(std::string_view text, sockaddr_storage& out, socklen_t& len) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= text.size()) return false;
  std::string host(text.substr(0, colon));
  const std::string port_text(text.substr(colon + 1));
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) return false;
  std::memset(&out, 0, sizeof(out));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&out);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) != 1) return false;
    len = sizeof(sockaddr_in6);
    return true;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) return false;
  len = sizeof(sockaddr_in);
  return true;
}

}  // namespace

std::string render_metrics(const Relay& relay) {
  const RelayTotals& t = relay.totals();
  std::string out;
  out.reserve(4096);
  gauge(out, "lanparty_relay_peers", "Admitted peers.", relay.rooms().peer_count());
  gauge(out, "lanparty_relay_rooms", "Rooms with at least one peer.", relay.rooms().room_count());
  gauge(out, "lanparty_relay_connections", "QUIC connections, admitted or not.",
        relay.session_count());
  counter(out, "lanparty_relay_admitted_total", "Peers admitted.", t.admitted);
  counter(out, "lanparty_relay_rejected_total", "Hellos answered with reject.", t.rejected);
  counter(out, "lanparty_relay_frames_in_total", "Datagrams received from peers (not probes).",
          t.frames.rx_frames);
  counter(out, "lanparty_relay_bytes_in_total", "Bytes received, overlay header excluded.",
          t.frames.rx_bytes);
  counter(out, "lanparty_relay_frames_out_total", "Frames queued to peers.", t.frames.tx_frames);
  counter(out, "lanparty_relay_bytes_out_total", "Bytes queued to peers, overlay header excluded.",
          t.frames.tx_bytes);
  counter(out, "lanparty_relay_probes_total", "Probe datagrams received.", t.probes);
  counter(out, "lanparty_relay_tx_too_large_total",
          "Frames not sent: above the target's current datagram budget.", t.tx_too_large);
  out += "# HELP lanparty_relay_rejects_total Hellos answered with reject, by code.\n";
  out += "# TYPE lanparty_relay_rejects_total counter\n";
  for (std::size_t i = 0; i < kRejectCodeCount; ++i) {
    out += fmt::format("lanparty_relay_rejects_total{{code=\"{}\"}} {}\n",
                       ctrl::to_string(static_cast<ctrl::RejectCode>(i)), t.rejected_by_code[i]);
  }
  out +=
      "# HELP lanparty_relay_room_claims_total Gateways admitted with a room key, by claim "
      "outcome.\n";
  out += "# TYPE lanparty_relay_room_claims_total counter\n";
  out +=
      fmt::format("lanparty_relay_room_claims_total{{outcome=\"claimed\"}} {}\n", t.rooms_claimed);
  out += fmt::format("lanparty_relay_room_claims_total{{outcome=\"already_owner\"}} {}\n",
                     t.owners_returned);
  out += "# HELP lanparty_relay_kicks_total Clients closed with application error 4, by cause.\n";
  out += "# TYPE lanparty_relay_kicks_total counter\n";
  for (std::size_t i = 0; i < kKickCauseCount; ++i) {
    out += fmt::format("lanparty_relay_kicks_total{{cause=\"{}\"}} {}\n",
                       to_string(static_cast<KickCause>(i)), t.kicked[i]);
  }
  counter(out, "lanparty_relay_revocations_total", "Invite ids revoked by room owners.",
          t.revocations);
  counter(out, "lanparty_relay_owner_messages_ignored_total",
          "Kicks and revokes that named no client or invite id of the owner's room.",
          t.owner_messages_ignored);
  counter(out, "lanparty_relay_room_record_errors_total",
          "Room-record reads and writes that failed (storage errors).", t.room_record_errors);
  // Queue drops of live peers are read from their connections; departed peers' are in totals.
  std::uint64_t queue_full = t.drops.count(proto::DropReason::kQueueFull);
  relay.rooms().for_each_peer([&](const Peer& p) {
    if (p.connection != nullptr) queue_full += p.connection->stats().datagrams_dropped_queue_full;
  });
  out += "# HELP lanparty_relay_drops_total Frames dropped, by PROTOCOL.md reason.\n";
  out += "# TYPE lanparty_relay_drops_total counter\n";
  t.drops.for_each([&](proto::DropReason reason, std::uint64_t n) {
    if (reason == proto::DropReason::kQueueFull) n = queue_full;
    out += fmt::format("lanparty_relay_drops_total{{reason=\"{}\"}} {}\n", proto::to_string(reason),
                       n);
  });
  return out;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(quic::EventLoop& loop,
                                                            std::string_view listen,
                                                            const Relay& relay,
                                                            obs::Logger logger) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (!parse_addr(listen, addr, len)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--metrics-listen {}: expected ADDR:PORT such as 127.0.0.1:9100 or "
                            "[::1]:9100",
                            listen));
  }
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "metrics socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 16) != 0) {
    const int err = errno;
    ::close(fd);
    return fail_errno(err, fmt::format("metrics listen on {}", listen));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const std::uint16_t port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  auto server = std::unique_ptr<MetricsServer>(new MetricsServer(loop, fd, port, relay, logger));
  MetricsServer* raw = server.get();
  if (auto st = loop.add_fd(fd, EPOLLIN, [raw](std::uint32_t) { raw->on_accept(); }); !st) {
    return tl::unexpected(st.error());
  }
  return server;
}

MetricsServer::MetricsServer(quic::EventLoop& loop, int fd, std::uint16_t port, const Relay& relay,
                             obs::Logger logger)
    : loop_(loop), listen_fd_(fd), port_(port), relay_(relay), log_(logger) {}

MetricsServer::~MetricsServer() {
  loop_.remove_fd(listen_fd_);
  ::close(listen_fd_);
}

void MetricsServer::on_accept() {
  for (;;) {
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;  // EAGAIN: drained
    // Scrapes are tiny: read the request line with a short blocking timeout, answer, close.
    // A slow scraper costs at most that timeout, never the event loop's forwarding for long.
    timeval tv{.tv_sec = 0, .tv_usec = 200000};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char request[1024];
    const ssize_t n = ::recv(client, request, sizeof(request) - 1, 0);
    std::string response;
    if (n > 0 && (std::strncmp(request, "GET /metrics ", 13) == 0 ||
                  std::strncmp(request, "GET / ", 6) == 0)) {
      const std::string body = render_metrics(relay_);
      response = fmt::format(
          "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: "
          "{}\r\nConnection: close\r\n\r\n{}",
          body.size(), body);
    } else {
      response = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
    (void)::send(client, response.data(), response.size(), MSG_NOSIGNAL);
    ::close(client);
  }
}

}  // namespace lanparty::relay
