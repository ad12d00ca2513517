// SPDX-License-Identifier: MIT
// The simulated network and its sockets. Everything here runs on the simulated loop's thread;
// nothing reads a real clock, so a run depends only on the seed and on what the code above
// the sockets does.
#include "lanparty/io/sim_network.hpp"

#include <algorithm>
#include <cerrno>
#include <deque>
#include <string>

#include "lanparty/base/errc.hpp"
#include "lanparty/io/sim_socket.hpp"

namespace lanparty::io {
namespace detail {

class SimUdpSocket final : public UdpSocket {
 public:
  static Result<std::unique_ptr<UdpSocket>> open(EventLoop& loop, SimHost& host,
                                                 const SocketAddress& local,
                                                 const SocketAddress& connect_to) {
    SimNetwork& network = *host.network_;
    if (loop.simulation() != &network) {
      return fail(Errc::kInvalidArgument,
                  "a simulated host's socket needs EventLoop::create_simulated on its network");
    }
    if (!host.up()) {
      return fail(Errc::kClosed, "simulated host " + host.address().to_string() + " is down");
    }
    std::uint16_t port = local.port();
    if (port == 0) {
      for (int tries = 0; tries < 16384 && port == 0; ++tries) {
        const std::uint16_t candidate = host.next_port_;
        host.next_port_ = host.next_port_ == 65535 ? 49152 : host.next_port_ + 1;
        if (!port_taken(host, candidate)) port = candidate;
      }
      if (port == 0) return fail_errno(EADDRINUSE, "simulated host: no ephemeral port left");
    } else if (port_taken(host, port)) {
      return fail_errno(EADDRINUSE, "bind " + host.address().with_port(port).to_string());
    }
    auto socket = std::unique_ptr<SimUdpSocket>(
        new SimUdpSocket(network, host, host.address().with_port(port), connect_to));
    socket->fd_ = network.register_socket(*socket);
    host.sockets_.push_back(socket.get());
    return std::unique_ptr<UdpSocket>(std::move(socket));
  }

  ~SimUdpSocket() override {
    die();
    network_.unregister_socket(fd_);
  }
  SimUdpSocket(const SimUdpSocket&) = delete;
  SimUdpSocket& operator=(const SimUdpSocket&) = delete;

  EventLoop::Fd fd() const noexcept override { return fd_; }
  const SocketAddress& local_address() const noexcept override { return local_; }

  std::size_t receive() noexcept override {
    batch_.clear();
    while (!rx_.empty() && batch_.size() < kRxBatch) {
      batch_.push_back(std::move(rx_.front()));
      rx_.pop_front();
    }
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      packets_[i] = RxPacket{batch_[i].bytes, &batch_[i].to, &batch_[i].from};
    }
    counters_.rx_packets += batch_.size();
    return batch_.size();
  }
  const RxPacket& packet(std::size_t index) const noexcept override { return packets_[index]; }

  std::span<std::uint8_t> tx_buffer(std::size_t min_bytes) noexcept override {
    if (scratch_.size() < min_bytes) scratch_.resize(min_bytes);
    return scratch_;
  }
  void tx_commit(std::size_t n, const SocketAddress& local,
                 const SocketAddress& remote) noexcept override {
    // A wildcard or missing source (a server answering from "0.0.0.0:443") leaves from the
    // host's own address, as the kernel would pick it.
    const SocketAddress from =
        local.valid() && !local.is_wildcard() ? local.with_port(local_.port()) : local_;
    tx_.push_back(SimNetwork::Datagram{
        from, remote,
        std::vector<std::uint8_t>(scratch_.begin(),
                                  scratch_.begin() + static_cast<std::ptrdiff_t>(n))});
  }
  Status flush() noexcept override {
    ++counters_.tx_syscalls;
    for (auto& datagram : tx_) {
      ++counters_.tx_packets;
      if (alive_) {
        network_.send(host_, std::move(datagram));
      } else {
        ++network_.counters_.host_down;
      }
    }
    tx_.clear();
    return ok();
  }
  bool tx_pending() const noexcept override { return !tx_.empty(); }

  const SocketCounters& counters() const noexcept override { return counters_; }
  std::uint64_t kernel_queue_drops() const noexcept override { return 0; }
  void disable_gso() noexcept override {}
  void release_idle_buffers() noexcept override {}
  std::size_t resident_buffer_bytes() const noexcept override { return 0; }

  // The network's side.
  [[nodiscard]] bool alive() const noexcept { return alive_; }
  [[nodiscard]] bool readable() const noexcept { return alive_ && !rx_.empty(); }
  // Whether a datagram to `to` from `from` is for this socket.
  [[nodiscard]] bool accepts(const SocketAddress& from, const SocketAddress& to) const noexcept {
    if (!alive_ || to.port() != local_.port()) return false;
    return !connected_to_.valid() || connected_to_ == from;
  }
  void enqueue(SimNetwork::Datagram datagram) { rx_.push_back(std::move(datagram)); }
  // The host went down: forget everything and leave its port free.
  void die() noexcept {
    if (!alive_) return;
    alive_ = false;
    rx_.clear();
    tx_.clear();
    std::erase(host_.sockets_, this);
  }

 private:
  SimUdpSocket(SimNetwork& network, SimHost& host, SocketAddress local,
               SocketAddress connect_to) noexcept
      : network_(network),
        host_(host),
        local_(local),
        connected_to_(connect_to),
        scratch_(kMaxUdpPayloadBytes) {}

  static bool port_taken(const SimHost& host, std::uint16_t port) noexcept {
    return std::any_of(host.sockets_.begin(), host.sockets_.end(),
                       [port](const SimUdpSocket* s) { return s->local_.port() == port; });
  }

  SimNetwork& network_;
  SimHost& host_;
  SocketAddress local_;
  SocketAddress connected_to_;
  EventLoop::Fd fd_ = 0;
  bool alive_ = true;
  std::deque<SimNetwork::Datagram> rx_;
  std::vector<SimNetwork::Datagram> batch_;
  std::array<RxPacket, kRxBatch> packets_{};
  std::vector<std::uint8_t> scratch_;
  std::vector<SimNetwork::Datagram> tx_;
  SocketCounters counters_;
};

}  // namespace detail

Result<std::unique_ptr<UdpSocket>> open_sim_socket(EventLoop& loop, SimHost& host,
                                                   const SocketAddress& local,
                                                   const SocketAddress& connect_to) {
  return detail::SimUdpSocket::open(loop, host, local, connect_to);
}

bool SimHost::up() const noexcept { return network_->now() >= down_until_; }

SimNetwork::SimNetwork(std::uint64_t seed, SimLink default_link)
    : seed_(seed),
      rng_(seed),
      // Far from zero: ngtcp2 timestamps are nanoseconds since the clock's epoch, and code
      // that subtracts a timeout from now() must not go below it.
      start_(Clock::time_point(std::chrono::hours(24))),
      now_(start_),
      default_link_(default_link) {}

SimNetwork::~SimNetwork() = default;

Result<SimHost*> SimNetwork::add_host(std::string_view address) {
  // Numeric only: a simulated host is never looked up in DNS.
  const std::string text = address.find(':') == std::string_view::npos
                               ? std::string(address) + ":1"
                               : "[" + std::string(address) + "]:1";
  auto parsed = parse_listen_address(text);
  if (!parsed) {
    return fail(Errc::kInvalidArgument,
                "simulated host address '" + std::string(address) + "' is not numeric");
  }
  const SocketAddress bare = parsed->with_port(0);
  if (host_of(bare) != nullptr) {
    return fail(Errc::kInvalidArgument, "a simulated host has " + bare.to_string() + " already");
  }
  hosts_.push_back(std::unique_ptr<SimHost>(new SimHost(*this, hosts_.size(), bare)));
  return hosts_.back().get();
}

void SimNetwork::set_link(const SimHost& a, const SimHost& b, const SimLink& link) {
  set_link_one_way(a, b, link);
  set_link_one_way(b, a, link);
}

void SimNetwork::set_link_one_way(const SimHost& from, const SimHost& to, const SimLink& link) {
  links_[{from.index_, to.index_}] = link;
}

void SimNetwork::reboot(SimHost& host, Clock::duration down_for) {
  ++host.generation_;
  host.down_until_ = now_ + down_for;
  const std::vector<detail::SimUdpSocket*> sockets = host.sockets_;
  for (detail::SimUdpSocket* socket : sockets) socket->die();
}

const SimLink& SimNetwork::link(std::size_t from, std::size_t to) const noexcept {
  auto it = links_.find({from, to});
  return it == links_.end() ? default_link_ : it->second;
}

SimHost* SimNetwork::host_of(const SocketAddress& address) noexcept {
  const SocketAddress bare = address.with_port(0);
  for (auto& host : hosts_) {
    if (host->address_ == bare) return host.get();
  }
  return nullptr;
}

double SimNetwork::uniform() {
  return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);  // 53 bits
}

void SimNetwork::send(const SimHost& from_host, Datagram datagram) {
  ++counters_.sent;
  // Draw all four every time, so a link's settings change only its own outcomes.
  const double loss_draw = uniform();
  const double jitter_draw = uniform();
  const double reorder_draw = uniform();
  const double duplicate_draw = uniform();
  SimHost* to_host = host_of(datagram.to);
  if (to_host == nullptr) {
    ++counters_.no_route;
    return;
  }
  const SimLink& l = link(from_host.index_, to_host->index_);
  const std::size_t overhead =
      datagram.to.family() == AddressFamily::kIPv6 ? 40 + 8 : 20 + 8;  // IP + UDP headers
  if (datagram.bytes.size() + overhead > l.mtu) {
    ++counters_.too_big;
    return;
  }
  if (loss_draw < l.loss) {
    ++counters_.lost;
    return;
  }
  // The bottleneck: the datagram waits for those ahead of it, then takes its serialisation
  // time; the queue holds what the transmitter has not sent yet.
  Clock::time_point leaves = now_;
  if (l.rate_bits_per_second > 0) {
    Clock::time_point& busy = busy_until_[{from_host.index_, to_host->index_}];
    const Clock::time_point start = std::max(now_, busy);
    const double rate = static_cast<double>(l.rate_bits_per_second);
    const double queued_bytes = std::chrono::duration<double>(start - now_).count() * rate / 8;
    const std::size_t wire_bytes = datagram.bytes.size() + overhead;
    if (queued_bytes + static_cast<double>(wire_bytes) > static_cast<double>(l.queue_bytes)) {
      ++counters_.queue_full;
      return;
    }
    busy = start + std::chrono::nanoseconds(
                       static_cast<std::int64_t>(static_cast<double>(wire_bytes) * 8e9 / rate));
    leaves = busy;
  }
  auto jitter = [&](double draw) {
    return std::chrono::microseconds(
        static_cast<std::int64_t>(draw * static_cast<double>(l.jitter.count() + 1)));
  };
  Clock::duration delay = l.delay + jitter(jitter_draw);
  if (reorder_draw < l.reorder) {
    delay += l.reorder_delay;
    ++counters_.reordered;
  }
  if (duplicate_draw < l.duplicate) {
    ++counters_.duplicated;
    const Clock::duration copy_delay = l.delay + jitter(uniform());
    in_flight_.emplace(std::make_pair(leaves + copy_delay, next_sequence_++),
                       InFlight{to_host->index_, to_host->generation_, datagram});
  }
  in_flight_.emplace(std::make_pair(leaves + delay, next_sequence_++),
                     InFlight{to_host->index_, to_host->generation_, std::move(datagram)});
}

void SimNetwork::deliver(InFlight& item) {
  SimHost& host = *hosts_[item.host];
  if (host.generation_ != item.generation || !host.up()) {
    ++counters_.host_down;
    return;
  }
  for (detail::SimUdpSocket* socket : host.sockets_) {
    if (socket->accepts(item.datagram.from, item.datagram.to)) {
      ++counters_.delivered;
      socket->enqueue(std::move(item.datagram));
      return;
    }
  }
  ++counters_.no_listener;
}

Status SimNetwork::watch(EventLoop::Fd fd, std::uint32_t events,
                         std::function<void(std::uint32_t)> callback) {
  if (!sockets_.contains(fd)) {
    return fail(Errc::kInvalidArgument,
                "a simulated loop watches only simulated sockets (fd " + std::to_string(fd) + ")");
  }
  if (!watches_.emplace(fd, Watch{events, std::move(callback)}).second) {
    return fail(Errc::kInvalidArgument, "EventLoop::add_fd(" + std::to_string(fd) + ")");
  }
  return ok();
}

Status SimNetwork::modify_watch(EventLoop::Fd fd, std::uint32_t events) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) {
    return fail(Errc::kNotFound, "EventLoop::modify_fd(" + std::to_string(fd) + ")");
  }
  it->second.events = events;
  return ok();
}

void SimNetwork::unwatch(EventLoop::Fd fd) noexcept { watches_.erase(fd); }

EventLoop::Fd SimNetwork::register_socket(detail::SimUdpSocket& socket) {
  const EventLoop::Fd fd = next_fd_++;
  sockets_.emplace(fd, &socket);
  return fd;
}

void SimNetwork::unregister_socket(EventLoop::Fd fd) noexcept {
  sockets_.erase(fd);
  watches_.erase(fd);
}

Status SimNetwork::advance_and_dispatch(EventLoop& loop, Clock::duration wait) {
  auto ready_events = [this](EventLoop::Fd fd, const Watch& w) -> std::uint32_t {
    const detail::SimUdpSocket* socket = sockets_.at(fd);
    if (!socket->alive()) return 0;
    std::uint32_t events = 0;
    if ((w.events & EventLoop::kReadable) != 0 && socket->readable()) {
      events |= EventLoop::kReadable;
    }
    // A simulated socket's buffer is never full.
    if ((w.events & EventLoop::kWritable) != 0) events |= EventLoop::kWritable;
    return events;
  };
  bool any_ready = false;
  for (const auto& [fd, w] : watches_) {
    if (ready_events(fd, w) != 0) {
      any_ready = true;
      break;
    }
  }
  if (!any_ready) {
    const Clock::time_point next_delivery =
        in_flight_.empty() ? Clock::time_point::max() : in_flight_.begin()->first.first;
    const Clock::time_point deadline =
        wait == Clock::duration::max() ? Clock::time_point::max() : now_ + wait;
    const Clock::time_point until = std::min(next_delivery, deadline);
    if (until == Clock::time_point::max()) {
      return fail(Errc::kTimedOut,
                  "simulated network: no timer armed and no datagram in flight, nothing can "
                  "happen any more");
    }
    if (until > now_) now_ = until;
  }
  while (!in_flight_.empty() && in_flight_.begin()->first.first <= now_) {
    auto node = in_flight_.extract(in_flight_.begin());
    deliver(node.mapped());
  }
  // Level-triggered, in descriptor order; callbacks may add or remove watches.
  std::vector<EventLoop::Fd> ready;
  for (const auto& [fd, w] : watches_) {
    if (ready_events(fd, w) != 0) ready.push_back(fd);
  }
  for (const EventLoop::Fd fd : ready) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) continue;
    const std::uint32_t events = ready_events(fd, it->second);
    if (events == 0) continue;
    auto callback = it->second.callback;  // the callback may remove its own watch
    callback(events);
    if (loop.stop_requested()) return ok();
  }
  return ok();
}

}  // namespace lanparty::io
