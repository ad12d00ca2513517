// SPDX-License-Identifier: MIT
// The datagram socket seam between the QUIC endpoints and the OS: batched receive with the
// local address of each packet, and batched send (GSO trains, sendmmsg) with a chosen source.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "lanparty/base/result.hpp"
#include "lanparty/io/address.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/log.hpp"

namespace lanparty::io {

// Receive buffers are this large; we advertise it as max_udp_payload_size so conforming
// peers never send more (ngtcp2 itself sends at most 1452).
inline constexpr std::size_t kMaxUdpPayloadBytes = 2048;

// One received datagram; views valid until the next receive() call.
struct RxPacket {
  std::span<const std::uint8_t> data;
  const SocketAddress* local;   // the address the peer sent to (from IP_PKTINFO)
  const SocketAddress* remote;  // the peer
};

// Every datagram the socket drops is counted under its reason. The Windows socket fills only
// rx_truncated and tx_dropped_errors.
struct SocketCounters {
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_truncated = 0;    // drop: larger than the receive buffer (MSG_TRUNC)
  std::uint64_t rx_bad_address = 0;  // drop: a sender address of an unknown family
  std::uint64_t rx_overflow = 0;     // drop: a GRO run split into more datagrams than slots
  // ICMP errors (port/host/network unreachable) the kernel reported on a receive: on a
  // connected (client) socket, the peer's address answered that nothing listens there.
  std::uint64_t rx_unreachable = 0;
  int last_unreachable_errno = 0;  // of the latest such error, on receive or send
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_syscalls = 0;
  // Datagrams the kernel refused for good (QUIC treats them as lost): the sum of the four
  // reasons below on Linux.
  std::uint64_t tx_dropped_errors = 0;
  std::uint64_t tx_dropped_too_big = 0;      // EMSGSIZE: above the interface MTU (a PMTU probe)
  std::uint64_t tx_dropped_unreachable = 0;  // ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ...
  std::uint64_t tx_dropped_denied = 0;       // EPERM, EACCES: a local firewall rule
  std::uint64_t tx_dropped_other = 0;        // any other errno (logged at debug)
  // GSO trains the kernel refused (EIO: the device cannot segment or checksum them; EINVAL)
  // and that were re-sent one datagram per call instead, and how many datagrams that took.
  std::uint64_t gso_fallbacks = 0;
  std::uint64_t tx_one_by_one = 0;
  bool gso_enabled = false;  // trains are being built now (false during a back-off)
};

class UdpSocket;

// A server's sockets. Where the OS can steer by packet content (Linux: an SO_REUSEPORT group
// with a classic BPF program), every long-header QUIC packet (Initial, 0-RTT, Handshake) goes
// to handshake_lane and the short-header packets of established connections to main, so a
// flood of Initials queues, and is dropped, in a socket of its own instead of in front of
// the party's frames. handshake_lane is null where there is no such steering.
struct ListeningSockets {
  std::unique_ptr<UdpSocket> main;
  std::unique_ptr<UdpSocket> handshake_lane;
};

class UdpSocket {
 public:
  static constexpr std::size_t kRxBatch = 64;

  virtual ~UdpSocket() = default;

  // A non-blocking socket bound to local (dual stack for [::]), with packet-info, large
  // buffers, DF set (for path MTU discovery) and GSO when the kernel has it. connect_to, if
  // valid, connects the socket (client side): the kernel then picks and filters the peer.
  [[nodiscard]] static Result<std::unique_ptr<UdpSocket>> open(const SocketAddress& local,
                                                               const SocketAddress& connect_to,
                                                               obs::Logger logger);
  // A server's sockets on local (see ListeningSockets). Fails, like open(), when anything
  // else is bound to that address: a second relay on one port is an error, not a silent
  // member of the first one's group.
  [[nodiscard]] static Result<ListeningSockets> open_listening(const SocketAddress& local,
                                                               obs::Logger logger);

  [[nodiscard]] virtual EventLoop::Fd fd() const noexcept = 0;
  // After bind/connect: the real port, and for a connected socket the real source address.
  [[nodiscard]] virtual const SocketAddress& local_address() const noexcept = 0;

  // Reads one batch (up to 64 datagrams, or up to 16 GRO runs split back into datagrams);
  // returns how many packet() entries are valid, 0 when none is waiting. Never blocks.
  [[nodiscard]] virtual std::size_t receive() noexcept = 0;
  // True when the last receive() read less than a whole batch: the socket was empty then,
  // and readiness (level-triggered) reports whatever came since. Saves the read that would
  // only say EAGAIN, one system call per wake-up at game rates. False: read again to know.
  [[nodiscard]] virtual bool drained() const noexcept { return false; }
  [[nodiscard]] virtual const RxPacket& packet(std::size_t index) const noexcept = 0;

  // --- sending -----------------------------------------------------------------------------
  // A buffer of at least min_bytes to write the next packet into, or an empty span when the
  // batch is full (call flush() first). Never empty right after a successful flush().
  [[nodiscard]] virtual std::span<std::uint8_t> tx_buffer(std::size_t min_bytes) noexcept = 0;
  // Queues the first n bytes of the last tx_buffer() as one datagram from local to remote.
  // Equal-size packets to the same path join one GSO train.
  virtual void tx_commit(std::size_t n, const SocketAddress& local,
                         const SocketAddress& remote) noexcept = 0;
  // Sends everything queued. kWouldBlock when the socket buffer is full: the rest stays
  // queued (tx_buffer() returns empty) until a later flush() once the fd is writable.
  [[nodiscard]] virtual Status flush() noexcept = 0;
  [[nodiscard]] virtual bool tx_pending() const noexcept = 0;

  [[nodiscard]] virtual const SocketCounters& counters() const noexcept = 0;
  // Datagrams the kernel dropped because this socket's receive queue was full (0 where the
  // OS does not say). A system call: for metrics scrapes, not per packet.
  [[nodiscard]] virtual std::uint64_t kernel_queue_drops() const noexcept = 0;
  // For tests and benchmarks: pretend the kernel has no GSO.
  virtual void disable_gso() noexcept = 0;

  // --- memory ------------------------------------------------------------------------------
  // Hands the pages of the batch buffers back to the OS; the next burst touches them again.
  // Their contents are dead between receive() calls, so call it from a timer, not while
  // packet() entries are in use. A send still queued (tx_pending()) keeps the send buffer.
  virtual void release_idle_buffers() noexcept = 0;
  // Bytes of the batch buffers resident in memory now (0 where the OS does not say). A
  // system call: for metrics and tests.
  [[nodiscard]] virtual std::size_t resident_buffer_bytes() const noexcept = 0;
};

}  // namespace lanparty::io
