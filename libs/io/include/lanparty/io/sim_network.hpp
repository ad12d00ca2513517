// SPDX-License-Identifier: MIT
// A simulated UDP network for deterministic tests of whole parties in one process: hosts with
// addresses, links with delay, jitter, loss, reordering, duplication and an MTU, and host
// reboots, all driven by one virtual clock and one seeded random generator, so a seed replays
// the same drops and delays. EventLoop::create_simulated() runs on it; a Server or Client
// given a host (ServerConfig::sim_host, ClientConfig::sim_host) opens its socket there instead
// of in the OS, and everything above the socket is the real ngtcp2 and TLS code.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/io/address.hpp"
#include "lanparty/io/event_loop.hpp"

namespace lanparty::io {

namespace detail {
class SimUdpSocket;
}

// One direction of a path between two hosts. Each datagram draws, in this order, whether it is
// lost, its jitter, whether it is held back (reordered) and whether it is duplicated.
struct SimLink {
  std::chrono::microseconds delay{10'000};  // one way
  std::chrono::microseconds jitter{0};      // uniform extra delay in [0, jitter]
  double loss = 0;                          // probability a datagram vanishes
  double reorder = 0;                       // probability it is held back by reorder_delay
  std::chrono::microseconds reorder_delay{5'000};
  double duplicate = 0;    // probability it arrives twice (the copy with its own jitter)
  std::size_t mtu = 1500;  // IP MTU: larger datagrams (with the IP and UDP headers) vanish
  // A bottleneck: datagrams leave one after another at this rate (0: no limit) from a queue
  // of at most queue_bytes; what does not fit is dropped (tail drop).
  std::uint64_t rate_bits_per_second = 0;
  std::size_t queue_bytes = 64 * 1024;
};

// What the network did with every datagram.
struct SimCounters {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;         // drop: the link's loss
  std::uint64_t too_big = 0;      // drop: above the link's MTU
  std::uint64_t no_route = 0;     // drop: no host has the destination address
  std::uint64_t no_listener = 0;  // drop: nothing bound to the port (no ICMP is simulated)
  std::uint64_t host_down = 0;    // drop: the destination rebooted or is down
  std::uint64_t queue_full = 0;   // drop: the link's queue was full
  std::uint64_t reordered = 0;
  std::uint64_t duplicated = 0;
};

class SimNetwork;

// A machine on the network; its address has port 0. Owned by the network.
class SimHost {
 public:
  [[nodiscard]] const SocketAddress& address() const noexcept { return address_; }
  [[nodiscard]] bool up() const noexcept;
  // How many times it rebooted.
  [[nodiscard]] std::uint64_t generation() const noexcept { return generation_; }

 private:
  friend class SimNetwork;
  friend class detail::SimUdpSocket;
  SimHost(SimNetwork& network, std::size_t index, SocketAddress address) noexcept
      : network_(&network), index_(index), address_(address) {}

  SimNetwork* network_;
  std::size_t index_;
  SocketAddress address_;
  std::uint64_t generation_ = 0;
  EventLoop::Clock::time_point down_until_{};
  std::uint16_t next_port_ = 49152;
  std::vector<detail::SimUdpSocket*> sockets_;  // bound and alive
};

// Single-threaded, like the loop that runs on it. It must outlive that loop and every Server,
// Client and socket made on its hosts.
class SimNetwork {
 public:
  using Clock = EventLoop::Clock;

  explicit SimNetwork(std::uint64_t seed, SimLink default_link = {});
  ~SimNetwork();
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // A host with this numeric IPv4 or IPv6 address ("10.0.0.1"). kInvalidArgument when the
  // text is no address or a host has it already.
  [[nodiscard]] Result<SimHost*> add_host(std::string_view address);
  // The path between a and b, both directions (others use the default link).
  void set_link(const SimHost& a, const SimHost& b, const SimLink& link);
  void set_link_one_way(const SimHost& from, const SimHost& to, const SimLink& link);
  void set_default_link(const SimLink& link) { default_link_ = link; }

  // The host loses power: its sockets die at once (their queued datagrams are gone, what they
  // send goes nowhere, they never become readable again), datagrams in flight to it are lost
  // and it answers nothing for down_for. After that new sockets may bind its ports again:
  // the test destroys the old Server/Client and makes new ones, as a restarted process would.
  void reboot(SimHost& host, Clock::duration down_for);

  [[nodiscard]] Clock::time_point now() const noexcept { return now_; }
  // Virtual time since the network was made.
  [[nodiscard]] Clock::duration elapsed() const noexcept { return now_ - start_; }
  [[nodiscard]] const SimCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  // Datagrams on the wire now.
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.size(); }
  // A draw from the network's generator, for tests that want more seeded choices.
  [[nodiscard]] std::uint64_t random() { return rng_(); }

 private:
  friend class EventLoop;
  friend class detail::SimUdpSocket;
  friend class SimHost;

  struct Datagram {
    SocketAddress from;
    SocketAddress to;
    std::vector<std::uint8_t> bytes;
  };
  struct InFlight {
    std::size_t host;          // destination host index
    std::uint64_t generation;  // of the destination when sent
    Datagram datagram;
  };
  struct Watch {
    std::uint32_t events;
    std::function<void(std::uint32_t)> callback;
  };

  // The EventLoop's side.
  [[nodiscard]] Status watch(EventLoop::Fd fd, std::uint32_t events,
                             std::function<void(std::uint32_t)> callback);
  [[nodiscard]] Status modify_watch(EventLoop::Fd fd, std::uint32_t events);
  void unwatch(EventLoop::Fd fd) noexcept;
  // Dispatches ready sockets; when none is ready, first moves virtual time to the earlier of
  // now + wait and the next delivery, and delivers what is due.
  [[nodiscard]] Status advance_and_dispatch(EventLoop& loop, Clock::duration wait);

  // The sockets' side.
  [[nodiscard]] EventLoop::Fd register_socket(detail::SimUdpSocket& socket);
  void unregister_socket(EventLoop::Fd fd) noexcept;
  void send(const SimHost& from_host, Datagram datagram);
  [[nodiscard]] SimHost* host_of(const SocketAddress& address) noexcept;
  [[nodiscard]] const SimLink& link(std::size_t from, std::size_t to) const noexcept;
  void deliver(InFlight& item);
  [[nodiscard]] double uniform();  // [0, 1)

  std::uint64_t seed_;
  std::mt19937_64 rng_;
  Clock::time_point start_;
  Clock::time_point now_;  // EventLoop::now() of a simulated loop reads this
  SimLink default_link_;
  std::vector<std::unique_ptr<SimHost>> hosts_;
  std::map<std::pair<std::size_t, std::size_t>, SimLink> links_;
  // When each rate-limited direction's transmitter is free again.
  std::map<std::pair<std::size_t, std::size_t>, Clock::time_point> busy_until_;
  // Ordered by (delivery time, send order): equal times deliver in the order sent.
  std::map<std::pair<Clock::time_point, std::uint64_t>, InFlight> in_flight_;
  std::uint64_t next_sequence_ = 0;
  std::map<EventLoop::Fd, Watch> watches_;
  std::map<EventLoop::Fd, detail::SimUdpSocket*> sockets_;
  EventLoop::Fd next_fd_ = 1'000'000;  // never a real descriptor's number
  SimCounters counters_;
};

}  // namespace lanparty::io
