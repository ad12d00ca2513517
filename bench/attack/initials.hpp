// SPDX-License-Identifier: MIT
// QUIC v1 client Initials for the handshake floods: real first flights made by libs/quic
// (a ClientHello for the relay's name and ALPN, random DCIDs, padded to >= 1200 bytes),
// captured on a local socket instead of reaching any server, then replayed once each from
// raw sockets with any source address, or from ordinary UDP sockets. Plus an observer that
// counts what the relay sends back to those sources.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "attack_net.hpp"
#include "lanparty/base/result.hpp"

namespace lanparty::bench::attack {

class InitialPool {
 public:
  // Makes up to `count` first flights (fewer if `time_limit` passes first; at least one or
  // an error). Each Initial is meant to be sent once per relay: a repeat has the same DCID
  // and reaches the connection the first one started.
  // `threads` capture in parallel, each with its own loop.
  [[nodiscard]] static Result<InitialPool> generate(std::size_t count,
                                                    const std::string& server_name,
                                                    std::chrono::milliseconds time_limit,
                                                    std::size_t threads = 2);
  [[nodiscard]] std::size_t size() const noexcept { return packets_.size(); }
  [[nodiscard]] std::span<const std::uint8_t> at(std::size_t i) const noexcept {
    return packets_[i];
  }
  [[nodiscard]] double seconds_per_initial() const noexcept { return seconds_per_initial_; }

 private:
  // One thread's share.
  [[nodiscard]] static Result<std::vector<std::vector<std::uint8_t>>> capture(
      std::size_t count, const std::string& server_name,
      std::chrono::steady_clock::time_point deadline);

  std::vector<std::vector<std::uint8_t>> packets_;
  double seconds_per_initial_ = 0;
};

// Sends Initials to the relay. With raw sockets (root, private namespace): IPv4 with
// IP_HDRINCL from the given source (or a random one in 10.213.1.0/16..10.213.255.255) and a
// source port >= kRawPortFirst; otherwise from a few UDP sockets bound to `source_host`.
class InitialSender {
 public:
  [[nodiscard]] static Result<InitialSender> open(bool raw, const std::string& source_host,
                                                  const std::string& relay_host,
                                                  std::uint16_t relay_port);
  InitialSender(InitialSender&& other) noexcept;
  InitialSender& operator=(InitialSender&&) = delete;
  InitialSender(const InitialSender&) = delete;
  ~InitialSender();

  // One Initial. spoof: from a random 10.213.x.y (raw only). False when the kernel refused it
  // (a full socket buffer): the caller may try again later.
  [[nodiscard]] bool send(std::span<const std::uint8_t> initial, bool spoof);
  [[nodiscard]] bool raw() const noexcept { return raw_; }

 private:
  InitialSender() = default;

  bool raw_ = false;
  int raw_fd_ = -1;
  std::vector<int> udp_fds_;
  std::size_t next_udp_ = 0;
  std::uint32_t source_ = 0;
  std::uint32_t relay_ = 0;
  std::uint16_t relay_port_ = 0;
  std::uint16_t ip_id_ = 1;
  std::uint64_t random_state_ = 0x9e3779b97f4a7c15ull;
  std::vector<std::uint8_t> packet_;
};

// Counts, on its own thread, the UDP datagrams the relay sends to raw-Initial sources
// (destination port >= kRawPortFirst), by QUIC packet type. Needs root (a raw socket).
class ReplyObserver {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ReplyObserver>> start(std::uint16_t relay_port);
  ~ReplyObserver();
  ReplyObserver(const ReplyObserver&) = delete;
  ReplyObserver& operator=(const ReplyObserver&) = delete;

  void stop();
  [[nodiscard]] std::uint64_t count(QuicPacketType type) const noexcept {
    return counts_[static_cast<std::size_t>(type)].load();
  }
  [[nodiscard]] std::uint64_t datagrams() const noexcept { return datagrams_.load(); }
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_.load(); }

 private:
  ReplyObserver() = default;
  void run() noexcept;

  int fd_ = -1;
  std::uint16_t relay_port_ = 0;
  std::atomic<bool> stop_{false};
  std::array<std::atomic<std::uint64_t>, kQuicPacketTypeCount> counts_{};
  std::atomic<std::uint64_t> datagrams_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::thread thread_;
};

}  // namespace lanparty::bench::attack
