// SPDX-License-Identifier: MIT
#include "metrics.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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
        relay.connection_count());
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
  out +=
      "# HELP lanparty_relay_peers_closed_total Connections the relay closed to protect "
      "itself, by cause.\n";
  out += "# TYPE lanparty_relay_peers_closed_total counter\n";
  out += fmt::format("lanparty_relay_peers_closed_total{{cause=\"control_unread\"}} {}\n",
                     t.control_unread);
  out += fmt::format("lanparty_relay_peers_closed_total{{cause=\"control_flood\"}} {}\n",
                     t.control_flooded);
  counter(out, "lanparty_relay_rooms_per_source_refused_total",
          "New rooms refused: their address held --max-rooms-per-source rooms.",
          t.rooms_per_source_refused);
  counter(out, "lanparty_relay_revokes_rate_limited_total",
          "Revokes ignored: their owner sent more than 10 a second (bursts of 100).",
          t.revokes_rate_limited);
  counter(out, "lanparty_relay_new_room_records_refused_total",
          "Claims refused: their address wrote its hourly share of new room records.",
          t.new_rooms_refused);
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
  // glibc's own view of the heap: RSS that stays up after a flood is either memory still in
  // use (in_use) or free memory not handed back yet (free; the relay trims above 1 MiB).
  const struct mallinfo2 heap = ::mallinfo2();
  gauge(out, "lanparty_relay_heap_in_use_bytes",
        "Heap bytes in use (glibc, mmapped blocks included).", heap.uordblks + heap.hblkhd);
  gauge(out, "lanparty_relay_heap_free_bytes", "Heap bytes free but still held by the process.",
        heap.fordblks);
  return out;
}

// One scrape: the request read so far, then the answer being written.
struct MetricsServer::Connection {
  Connection(MetricsServer& server, int socket)
      : fd(socket), deadline(server.loop_, [&server, socket] {
          server.close_connection(socket, Outcome::kTimedOut);
        }) {}

  int fd;
  std::string request;
  // The answer in three parts, written with one sendmsg each time the socket has room, so
  // the body is never copied: status line and headers, the exposition, the scrape counts.
  std::array<std::string, 3> response;
  std::size_t sent = 0;  // bytes of the three parts together
  bool responding = false;
  bool oversized = false;          // more than max_request_bytes before the headers ended
  Outcome outcome = Outcome::kOk;  // what a fully written response counts as
  io::EventLoop::Timer deadline;
};

std::string render_admission_metrics(const quic::AdmissionCounters& a) {
  std::string out;
  out.reserve(1024);
  counter(out, "lanparty_relay_handshakes_accepted_total",
          "QUIC Initials that started a connection.", a.accepted);
  counter(out, "lanparty_relay_retries_sent_total",
          "Initials answered with a Retry (no state kept).", a.retries_sent);
  counter(out, "lanparty_relay_retry_tokens_valid_total",
          "Connections whose address a Retry token proved.", a.retry_tokens_valid);
  out += "# HELP lanparty_relay_handshakes_refused_total Initials refused, by reason.\n";
  out += "# TYPE lanparty_relay_handshakes_refused_total counter\n";
  for (std::size_t i = 0; i < quic::kRefusalCount; ++i) {
    out += fmt::format("lanparty_relay_handshakes_refused_total{{reason=\"{}\"}} {}\n",
                       quic::to_string(static_cast<quic::Refusal>(i)), a.refused[i]);
  }
  gauge(out, "lanparty_relay_handshakes_in_flight", "QUIC handshakes not finished yet.",
        a.handshakes_in_flight);
  gauge(out, "lanparty_relay_sources_tracked",
        "Source addresses (IPv4, IPv6 /64) with per-source state.", a.sources_tracked);
  return out;
}

std::string render_udp_metrics(const quic::UdpStats& u) {
  std::string out;
  out.reserve(1536);
  out += "# HELP lanparty_relay_udp_received_total UDP datagrams read, by socket.\n";
  out += "# TYPE lanparty_relay_udp_received_total counter\n";
  out += fmt::format("lanparty_relay_udp_received_total{{socket=\"main\"}} {}\n", u.rx_packets);
  out += fmt::format("lanparty_relay_udp_received_total{{socket=\"handshake_lane\"}} {}\n",
                     u.rx_handshake_lane_packets);
  counter(out, "lanparty_relay_udp_sent_total", "UDP datagrams sent.", u.tx_packets);
  out += "# HELP lanparty_relay_udp_dropped_total UDP datagrams dropped below QUIC, by reason.\n";
  out += "# TYPE lanparty_relay_udp_dropped_total counter\n";
  const std::array<std::pair<std::string_view, std::uint64_t>, 9> drops = {{
      {"rx_queue_full", u.rx_queue_full},
      {"rx_handshake_lane_queue_full", u.rx_handshake_lane_queue_full},
      {"rx_truncated", u.rx_truncated},
      {"rx_bad_address", u.rx_bad_address},
      {"rx_overflow", u.rx_overflow},
      {"tx_too_big", u.tx_dropped_too_big},
      {"tx_unreachable", u.tx_dropped_unreachable},
      {"tx_denied", u.tx_dropped_denied},
      {"tx_other", u.tx_dropped_other},
  }};
  for (const auto& [reason, count] : drops) {
    out += fmt::format("lanparty_relay_udp_dropped_total{{reason=\"{}\"}} {}\n", reason, count);
  }
  counter(out, "lanparty_relay_udp_gso_fallbacks_total",
          "GSO trains the kernel refused, re-sent one datagram per call.", u.gso_fallbacks);
  gauge(out, "lanparty_relay_udp_handshake_lane",
        "1 when long-header packets are steered to a socket of their own.",
        u.handshake_lane ? 1 : 0);
  gauge(out, "lanparty_relay_udp_buffer_resident_bytes",
        "Bytes of the sockets' batch buffers in memory now (a burst touches them; the "
        "periodic trim gives them back).",
        u.buffer_resident_bytes);
  return out;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(io::EventLoop& loop,
                                                            std::string_view listen,
                                                            const Relay& relay, obs::Logger logger,
                                                            MetricsServerLimits limits) {
  return start(
      loop, listen, [&relay] { return render_metrics(relay); }, logger, limits);
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(io::EventLoop& loop,
                                                            std::string_view listen,
                                                            RenderFn render, obs::Logger logger,
                                                            MetricsServerLimits limits) {
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
  auto server = std::unique_ptr<MetricsServer>(
      new MetricsServer(loop, fd, port, std::move(render), logger, limits));
  MetricsServer* raw = server.get();
  if (auto st = loop.add_fd(fd, EPOLLIN, [raw](std::uint32_t) { raw->on_accept(); }); !st) {
    return tl::unexpected(st.error());
  }
  return server;
}

MetricsServer::MetricsServer(io::EventLoop& loop, int fd, std::uint16_t port, RenderFn render,
                             obs::Logger logger, MetricsServerLimits limits)
    : loop_(loop),
      listen_fd_(fd),
      port_(port),
      render_(std::move(render)),
      log_(logger),
      limits_(limits),
      accept_resume_(loop, [this] { (void)loop_.modify_fd(listen_fd_, EPOLLIN); }) {}

MetricsServer::~MetricsServer() {
  for (auto& [fd, connection] : connections_) {
    loop_.remove_fd(fd);
    ::close(fd);
  }
  connections_.clear();
  loop_.remove_fd(listen_fd_);
  ::close(listen_fd_);
}

void MetricsServer::on_accept() {
  // Bounded so that a flood of connects cannot keep this callback from returning; the
  // listening socket stays readable and the loop comes back after serving everything else.
  for (int i = 0; i < 64; ++i) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      // EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays queued and epoll would
      // report it again at once. Stop listening for a moment instead of spinning.
      log_.warn("relay.metrics_accept_failed", {{"error", std::strerror(err)}});
      (void)loop_.modify_fd(listen_fd_, 0);
      accept_resume_.arm(loop_.now() + std::chrono::milliseconds(100));
      return;
    }
    if (connections_.size() >= limits_.max_connections) {
      ::close(fd);
      ++counts_.refused;
      log_.debug("relay.metrics_refused", {{"open", connections_.size()}});
      continue;
    }
    auto connection = std::make_unique<Connection>(*this, fd);
    if (auto st = loop_.add_fd(fd, EPOLLIN, [this, fd](std::uint32_t) { on_ready(fd); }); !st) {
      ::close(fd);
      ++counts_.failed;
      continue;
    }
    connection->deadline.arm(loop_.now() + limits_.deadline);
    connections_.emplace(fd, std::move(connection));
  }
}

void MetricsServer::on_ready(int fd) {
  const auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  if (c.responding) {
    write_response(c);
  } else if (read_request(c)) {
    respond(c);
  }
}

bool MetricsServer::read_request(Connection& c) {
  char buffer[2048];
  for (;;) {
    const ssize_t n = ::recv(c.fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      close_connection(c.fd, Outcome::kFailed);
      return false;
    }
    if (n == 0) return true;  // the scraper half-closed: answer what it sent
    const auto size = static_cast<std::size_t>(n);
    if (c.request.size() + size > limits_.max_request_bytes) {
      c.oversized = true;
      return true;
    }
    c.request.append(buffer, size);
    // The blank line ends the headers. Waiting for it, not just the request line, means no
    // unread request bytes are left at close, which would turn the close into a reset that
    // can destroy the answer before the scraper reads it.
    if (c.request.find("\r\n\r\n") != std::string::npos ||
        c.request.find("\n\n") != std::string::npos) {
      return true;
    }
  }
}

void MetricsServer::respond(Connection& c) {
  c.responding = true;
  const auto eol = c.request.find('\n');
  std::string_view line;
  if (eol != std::string::npos && !c.oversized) {
    line = std::string_view(c.request).substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  // "METHOD SP TARGET SP HTTP/x.y"; anything else is not a request this server can answer.
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.substr(sp2 + 1).substr(0, 5) != "HTTP/") {
    c.outcome = Outcome::kBadRequest;
    c.response[0] = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  } else if (const auto method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
             method == "GET" && (target == "/metrics" || target == "/")) {
    c.outcome = Outcome::kOk;
    c.response[1] = render_();
    c.response[2] = render_scrape_counts();
    c.response[0] = fmt::format(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: "
        "{}\r\nConnection: close\r\n\r\n",
        c.response[1].size() + c.response[2].size());
  } else {
    c.outcome = Outcome::kNotFound;
    c.response[0] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  }
  c.request = std::string();
  write_response(c);
}

void MetricsServer::write_response(Connection& c) {
  for (;;) {
    std::array<iovec, 3> parts{};
    std::size_t count = 0;
    std::size_t skip = c.sent;
    for (std::string& part : c.response) {
      if (skip >= part.size()) {
        skip -= part.size();
        continue;
      }
      parts[count++] = iovec{part.data() + skip, part.size() - skip};
      skip = 0;
    }
    if (count == 0) break;
    msghdr message{};
    message.msg_iov = parts.data();
    message.msg_iovlen = count;
    const ssize_t n = ::sendmsg(c.fd, &message, MSG_NOSIGNAL);
    if (n >= 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Wait for room in the send buffer; stop watching for input, which (level-triggered)
      // would wake the loop for bytes this server no longer reads.
      if (auto st = loop_.modify_fd(c.fd, EPOLLOUT); !st) close_connection(c.fd, Outcome::kFailed);
      return;
    }
    close_connection(c.fd, Outcome::kFailed);
    return;
  }
  // All queued in the kernel: FIN after the data, then close. Bytes the scraper sent after
  // its headers are drained first (bounded), so the close does not become a reset.
  ::shutdown(c.fd, SHUT_WR);
  char sink[4096];
  for (int i = 0; i < 16 && ::recv(c.fd, sink, sizeof(sink), 0) > 0; ++i) {
  }
  close_connection(c.fd, c.outcome);
}

void MetricsServer::close_connection(int fd, Outcome outcome) noexcept {
  const auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  switch (outcome) {
    case Outcome::kOk:
      ++counts_.ok;
      break;
    case Outcome::kNotFound:
      ++counts_.not_found;
      break;
    case Outcome::kBadRequest:
      ++counts_.bad_request;
      break;
    case Outcome::kTimedOut:
      ++counts_.timed_out;
      log_.debug("relay.metrics_timed_out", {{"sent", it->second->sent}});
      break;
    case Outcome::kFailed:
      ++counts_.failed;
      break;
  }
  // Erasing destroys the deadline Timer, which may be the caller (allowed) and the fd's
  // callback, which may be the caller too (remove_fd allows it); nothing of either is used
  // after this.
  connections_.erase(it);
  loop_.remove_fd(fd);
  ::close(fd);
}

std::string MetricsServer::render_scrape_counts() const {
  std::string out =
      "# HELP lanparty_relay_metrics_scrapes_total Connections to this endpoint, by how they "
      "ended.\n"
      "# TYPE lanparty_relay_metrics_scrapes_total counter\n";
  const std::pair<std::string_view, std::uint64_t> rows[] = {{"ok", counts_.ok},
                                                             {"not_found", counts_.not_found},
                                                             {"bad_request", counts_.bad_request},
                                                             {"refused", counts_.refused},
                                                             {"timed_out", counts_.timed_out},
                                                             {"failed", counts_.failed}};
  for (const auto& [result, n] : rows) {
    out += fmt::format("lanparty_relay_metrics_scrapes_total{{result=\"{}\"}} {}\n", result, n);
  }
  return out;
}

// --- status -----------------------------------------------------------------------------------

namespace {

using nlohmann::json;

std::string status_time(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string status_bytes(std::uint64_t bytes) {
  if (bytes < 10 * 1024) return fmt::format("{} B", bytes);
  if (bytes < 10 * 1024 * 1024) return fmt::format("{} KiB", bytes / 1024);
  if (bytes < 10ULL * 1024 * 1024 * 1024) return fmt::format("{} MiB", bytes / (1024 * 1024));
  return fmt::format("{} GiB", bytes / (1024ULL * 1024 * 1024));
}

// A number field of `object`, 0 when absent or not a number (the report is our own).
std::uint64_t number(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}
std::string text(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string render_status_json(const Relay& relay, std::string_view listen,
                               std::int64_t started_unix) {
  // Rooms by name, peers by id: a stable order for people and scripts.
  std::map<std::string, std::vector<const Peer*>> rooms;
  relay.rooms().for_each_peer([&rooms](const Peer& peer) {
    if (peer.room != nullptr) rooms[peer.room->name].push_back(&peer);
  });
  json room_list = json::array();
  for (auto& [name, peers] : rooms) {
    std::sort(peers.begin(), peers.end(),
              [](const Peer* a, const Peer* b) { return a->id < b->id; });
    json peer_list = json::array();
    for (const Peer* peer : peers) {
      json drops = json::object();
      peer->rx_drops.for_each_nonzero([&drops](proto::DropReason reason, std::uint64_t n) {
        drops[std::string(proto::to_string(reason))] = n;
      });
      json entry = {{"id", peer->id},
                    {"role", ctrl::to_string(peer->role)},
                    {"mac", peer->mac.to_string()},
                    {"name", peer->invite && peer->invite->name ? *peer->invite->name : ""},
                    {"invite_id", peer->invite ? peer->invite->id : ""},
                    {"software", peer->software},
                    {"rx_frames", peer->counters.rx_frames},
                    {"rx_bytes", peer->counters.rx_bytes},
                    {"tx_frames", peer->counters.tx_frames},
                    {"tx_bytes", peer->counters.tx_bytes},
                    {"drops", std::move(drops)}};
      if (peer->connection != nullptr) {
        entry["address"] = peer->connection->remote_address();
        entry["rtt_us"] = peer->connection->stats().smoothed_rtt.count();
      }
      peer_list.push_back(std::move(entry));
    }
    const Room* room = relay.rooms().find_room(name);
    room_list.push_back({{"name", name},
                         {"mtu", room != nullptr ? room->mtu : 0},
                         {"peers", std::move(peer_list)}});
  }
  const RelayTotals& totals = relay.totals();
  return json{{"program", "lanparty-relay"},          {"listen", listen},
              {"since_unix", started_unix},           {"rooms", std::move(room_list)},
              {"rx_frames", totals.frames.rx_frames}, {"tx_frames", totals.frames.tx_frames},
              {"dropped", totals.drops.total()},      {"admitted", totals.admitted},
              {"rejected", totals.rejected}}
      .dump();
}

Result<std::string> describe_status(std::string_view text_in, std::int64_t now_unix) {
  const json in = json::parse(text_in, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object() || !in.contains("rooms") || !in["rooms"].is_array()) {
    return fail(Errc::kInvalidArgument, "the answer is not the relay's status report");
  }
  struct Talker {
    std::string room;
    std::uint64_t id;
    std::string who;
    std::uint64_t bytes;
  };
  std::vector<Talker> talkers;
  std::size_t peer_total = 0;
  std::string rooms_text;
  for (const auto& room : in["rooms"]) {
    if (!room.is_object() || !room.contains("peers") || !room["peers"].is_array()) continue;
    const auto& peers = room["peers"];
    peer_total += peers.size();
    rooms_text += fmt::format("  Room {} (MTU {}, {} peer{}):\n", text(room, "name"),
                              number(room, "mtu"), peers.size(), peers.size() == 1 ? "" : "s");
    rooms_text += fmt::format("    {:<6} {:<8} {:<18} {:<12} {:<22} {:>9} {:>16} {:>16}\n", "PEER",
                              "ROLE", "MAC", "NAME", "ADDRESS", "RTT", "FROM IT", "TO IT");
    for (const auto& peer : peers) {
      const std::string name = text(peer, "name");
      const std::string rtt = peer.contains("rtt_us") && peer["rtt_us"].is_number()
                                  ? fmt::format("{:.1f} ms", peer["rtt_us"].get<double>() / 1000.0)
                                  : std::string("-");
      rooms_text += fmt::format("    {:<6} {:<8} {:<18} {:<12} {:<22} {:>9} {:>16} {:>16}\n",
                                number(peer, "id"), text(peer, "role"), text(peer, "mac"),
                                name.empty() ? "-" : name,
                                text(peer, "address").empty() ? "-" : text(peer, "address"), rtt,
                                fmt::format("{} fr, {}", number(peer, "rx_frames"),
                                            status_bytes(number(peer, "rx_bytes"))),
                                fmt::format("{} fr, {}", number(peer, "tx_frames"),
                                            status_bytes(number(peer, "tx_bytes"))));
      if (const auto drops = peer.find("drops");
          drops != peer.end() && drops->is_object() && !drops->empty()) {
        std::string list;
        for (const auto& [reason, n] : drops->items()) {
          list += fmt::format("{}{} {}", list.empty() ? "" : ", ", n.is_number() ? n.dump() : "?",
                              reason);
        }
        rooms_text += fmt::format("           dropped from it: {}\n", list);
      }
      talkers.push_back(Talker{
          .room = text(room, "name"),
          .id = number(peer, "id"),
          .who = name.empty() ? fmt::format("{} {}", text(peer, "role"), text(peer, "mac")) : name,
          .bytes = number(peer, "rx_bytes")});
    }
  }
  const auto since = static_cast<std::int64_t>(number(in, "since_unix"));
  std::string out =
      fmt::format("lanparty-relay: up since {} ({} min), listening on {}; {} room{}, {} peer{}.\n",
                  status_time(since), std::max<std::int64_t>(now_unix - since, 0) / 60,
                  text(in, "listen"), in["rooms"].size(), in["rooms"].size() == 1 ? "" : "s",
                  peer_total, peer_total == 1 ? "" : "s");
  out += fmt::format("  Frames: {} in, {} out, {} dropped; {} peers admitted, {} refused.\n",
                     number(in, "rx_frames"), number(in, "tx_frames"), number(in, "dropped"),
                     number(in, "admitted"), number(in, "rejected"));
  out += rooms_text;
  std::stable_sort(talkers.begin(), talkers.end(),
                   [](const Talker& a, const Talker& b) { return a.bytes > b.bytes; });
  while (!talkers.empty() && talkers.back().bytes == 0) talkers.pop_back();
  if (!talkers.empty()) {
    out += "  Top talkers (bytes each peer sent into its room):\n";
    for (std::size_t i = 0; i < std::min<std::size_t>(talkers.size(), 5); ++i) {
      out += fmt::format("    {}. {}, room {} (peer {}): {}\n", i + 1, talkers[i].who,
                         talkers[i].room, talkers[i].id, status_bytes(talkers[i].bytes));
    }
  }
  return out;
}

}  // namespace lanparty::relay
