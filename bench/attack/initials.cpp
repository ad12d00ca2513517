// SPDX-License-Identifier: MIT
// Capturing libs/quic first flights, replaying them from raw or UDP sockets, and counting what
// the relay answers.
#include "initials.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/quic/client.hpp"

namespace lanparty::bench::attack {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t kUdpSenders = 16;

// The capture side of a client that never hears back.
class SilentHandler final : public quic::ConnectionHandler {
 public:
  void on_stream_data(quic::Connection&, std::int64_t, std::span<const std::uint8_t>,
                      bool) override {}
  void on_datagram(quic::Connection&, std::span<const std::uint8_t>) override {}
  void on_closed(quic::Connection&, const quic::CloseInfo&) override {}
};

Result<int> bound_udp_socket(std::uint32_t host, std::uint16_t* port_out) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(host);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int err = errno;
    ::close(fd);
    return fail_errno(err, "bind capture socket");
  }
  if (port_out != nullptr) *port_out = ntohs(address.sin_port);
  return fd;
}

std::uint64_t next_random(std::uint64_t& state) noexcept {
  // xorshift64*: cheap, and good enough to scatter addresses and ports.
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dull;
}

}  // namespace

// --- InitialPool -----------------------------------------------------------------------------

Result<std::vector<std::vector<std::uint8_t>>> InitialPool::capture(std::size_t count,
                                                                    const std::string& server_name,
                                                                    Clock::time_point deadline) {
  auto loop = io::EventLoop::create();
  if (!loop) return tl::unexpected(loop.error());
  std::uint16_t capture_port = 0;
  auto capture = bound_udp_socket(INADDR_LOOPBACK, &capture_port);
  if (!capture) return tl::unexpected(capture.error());
  const int fd = *capture;
  std::vector<std::vector<std::uint8_t>> packets;
  packets.reserve(count);
  std::vector<std::uint8_t> buffer(65536);
  bool got = false;
  if (auto st = (*loop)->add_fd(fd, io::EventLoop::kReadable,
                                [&](std::uint32_t) {
                                  for (;;) {
                                    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
                                    if (n <= 0) return;
                                    // The first datagram only: the Initial with the ClientHello.
                                    if (!got) {
                                      packets.emplace_back(buffer.begin(), buffer.begin() + n);
                                      got = true;
                                    }
                                  }
                                });
      !st) {
    ::close(fd);
    return tl::unexpected(st.error());
  }
  SilentHandler handler;
  quic::ClientConfig config;
  config.host = "127.0.0.1";
  config.port = capture_port;
  config.server_name = server_name;
  config.trust.pinned_sha256 = std::array<std::uint8_t, 32>{};  // never checked: no server
  config.keepalive = 0ms;
  Error last_error{};
  while (packets.size() < count && Clock::now() < deadline) {
    got = false;
    auto client = quic::Client::connect(**loop, config, handler, obs::Logger());
    if (!client) {
      last_error = client.error();
      break;
    }
    (void)(*loop)->run_until([&] { return got; }, 1s);
    client->reset();  // never answered, so never closed: it just goes away
  }
  (*loop)->remove_fd(fd);
  ::close(fd);
  if (packets.empty())
    return fail(Errc::kInternal, "no Initial captured: " + last_error.describe());
  return packets;
}

Result<InitialPool> InitialPool::generate(std::size_t count, const std::string& server_name,
                                          std::chrono::milliseconds time_limit,
                                          std::size_t threads) {
  threads = std::max<std::size_t>(1, threads);
  const auto start = Clock::now();
  const auto deadline = start + time_limit;
  std::vector<Result<std::vector<std::vector<std::uint8_t>>>> shares(
      threads, fail(Errc::kInternal, "not run"));
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    const std::size_t share = count / threads + (t < count % threads ? 1 : 0);
    workers.emplace_back([&, t, share] { shares[t] = capture(share, server_name, deadline); });
  }
  for (auto& w : workers) w.join();
  InitialPool pool;
  for (auto& share : shares) {
    if (!share) return tl::unexpected(share.error());
    for (auto& packet : *share) pool.packets_.push_back(std::move(packet));
  }
  pool.seconds_per_initial_ = std::chrono::duration<double>(Clock::now() - start).count() /
                              static_cast<double>(pool.packets_.size());
  return pool;
}

// --- InitialSender ---------------------------------------------------------------------------

Result<InitialSender> InitialSender::open(bool raw, const std::string& source_host,
                                          const std::string& relay_host, std::uint16_t relay_port) {
  InitialSender sender;
  const auto source = parse_ipv4(source_host);
  const auto relay = parse_ipv4(relay_host);
  if (!source || !relay) {
    return fail(Errc::kInvalidArgument,
                fmt::format("not IPv4 addresses: {} / {}", source_host, relay_host));
  }
  sender.source_ = *source;
  sender.relay_ = *relay;
  sender.relay_port_ = relay_port;
  sender.random_state_ ^= static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  if (raw) {
    const int fd = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0) return fail_errno(errno, "raw socket (IPPROTO_RAW)");
    sender.raw_fd_ = fd;
    sender.raw_ = true;
    sender.packet_.resize(65536);
    return sender;
  }
  for (std::size_t i = 0; i < kUdpSenders; ++i) {
    auto fd = bound_udp_socket(*source, nullptr);
    if (!fd) return tl::unexpected(fd.error());
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(relay_port);
    to.sin_addr.s_addr = htonl(*relay);
    if (::connect(*fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
      const int err = errno;
      ::close(*fd);
      return fail_errno(err, "connect UDP sender");
    }
    sender.udp_fds_.push_back(*fd);
  }
  return sender;
}

InitialSender::InitialSender(InitialSender&& other) noexcept
    : raw_(other.raw_),
      raw_fd_(other.raw_fd_),
      udp_fds_(std::move(other.udp_fds_)),
      next_udp_(other.next_udp_),
      source_(other.source_),
      relay_(other.relay_),
      relay_port_(other.relay_port_),
      ip_id_(other.ip_id_),
      random_state_(other.random_state_),
      packet_(std::move(other.packet_)) {
  other.raw_fd_ = -1;
  other.udp_fds_.clear();
}

InitialSender::~InitialSender() {
  if (raw_fd_ >= 0) ::close(raw_fd_);
  for (int fd : udp_fds_) ::close(fd);
}

bool InitialSender::send(std::span<const std::uint8_t> initial, bool spoof) {
  if (!raw_) {
    const int fd = udp_fds_[next_udp_++ % udp_fds_.size()];
    return ::send(fd, initial.data(), initial.size(), 0) >= 0;
  }
  const std::uint64_t r = next_random(random_state_);
  std::uint32_t source = source_;
  if (spoof) {
    source = kSpoofFirst + static_cast<std::uint32_t>(r % (kSpoofLast - kSpoofFirst + 1));
  }
  const auto port = static_cast<std::uint16_t>(kRawPortFirst + (r >> 32) % (65536 - kRawPortFirst));
  const std::size_t length =
      build_ipv4_udp(packet_, source, port, relay_, relay_port_, initial, ip_id_++);
  if (length == 0) return false;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(relay_);
  return ::sendto(raw_fd_, packet_.data(), length, 0, reinterpret_cast<sockaddr*>(&to),
                  sizeof(to)) >= 0;
}

// --- ReplyObserver ---------------------------------------------------------------------------

Result<std::unique_ptr<ReplyObserver>> ReplyObserver::start(std::uint16_t relay_port) {
  const int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return fail_errno(errno, "raw socket (IPPROTO_UDP)");
  // Every UDP datagram of the namespace passes here; a large buffer keeps the count honest.
  const int bytes = 16 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes));
  std::unique_ptr<ReplyObserver> observer(new ReplyObserver());
  observer->fd_ = fd;
  observer->relay_port_ = relay_port;
  observer->thread_ = std::thread([raw = observer.get()] { raw->run(); });
  return observer;
}

ReplyObserver::~ReplyObserver() {
  stop();
  if (fd_ >= 0) ::close(fd_);
}

void ReplyObserver::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void ReplyObserver::run() noexcept {
  std::vector<std::uint8_t> buffer(65536);
  while (!stop_.load()) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      const auto udp = parse_raw_udp(std::span(buffer.data(), static_cast<std::size_t>(n)));
      if (!udp || udp->source_port != relay_port_ || udp->destination_port < kRawPortFirst) {
        continue;
      }
      counts_[static_cast<std::size_t>(classify_quic(udp->payload))].fetch_add(1);
      datagrams_.fetch_add(1);
      bytes_.fetch_add(udp->payload.size());
    }
  }
}

}  // namespace lanparty::bench::attack
