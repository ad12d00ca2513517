// SPDX-License-Identifier: MIT
// UdpSocket for Windows (the client's one connected socket): non-blocking Winsock recv/send
// one datagram per call, DF set for path MTU discovery, and ICMP port-unreachable reports
// (WSAECONNRESET) switched off so a relay restart does not look like a socket failure.
#include <mswsock.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#include <array>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/io/udp_socket.hpp"

namespace lanparty::io {
namespace {

constexpr std::size_t kTxMaxMessages = 64;
constexpr int kSocketBufferBytes = 4 * 1024 * 1024;

tl::unexpected<Error> fail_wsa(int err, std::string context) {
  return tl::unexpected(Error{std::error_code(err, std::system_category()), std::move(context)});
}

bool would_block(int err) noexcept { return err == WSAEWOULDBLOCK || err == WSAENOBUFS; }

class SocketGuard {
 public:
  explicit SocketGuard(SOCKET s) noexcept : s_(s) {}
  ~SocketGuard() {
    if (s_ != INVALID_SOCKET) ::closesocket(s_);
  }
  SocketGuard(const SocketGuard&) = delete;
  SocketGuard& operator=(const SocketGuard&) = delete;
  [[nodiscard]] SOCKET get() const noexcept { return s_; }
  SOCKET release() noexcept { return std::exchange(s_, INVALID_SOCKET); }

 private:
  SOCKET s_;
};

struct TxMessage {
  SocketAddress remote;
  std::size_t offset = 0;
  std::size_t bytes = 0;
};

class WindowsUdpSocket final : public UdpSocket {
 public:
  WindowsUdpSocket(SOCKET s, SocketAddress local, bool connected, obs::Logger logger)
      : socket_(s), local_(local), connected_(connected), logger_(logger) {
    rx_buffers_.reset(new std::uint8_t[kRxBatch * kMaxUdpPayloadBytes]);
    tx_buffer_.resize(kTxMaxMessages * kMaxUdpPayloadBytes);
  }
  ~WindowsUdpSocket() override { ::closesocket(socket_); }

  EventLoop::Fd fd() const noexcept override { return static_cast<EventLoop::Fd>(socket_); }
  const SocketAddress& local_address() const noexcept override { return local_; }

  std::size_t receive() noexcept override {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < kRxBatch; ++i) {
      auto* buffer = rx_buffers_.get() + i * kMaxUdpPayloadBytes;
      sockaddr_storage from{};
      int from_len = sizeof(from);
      const int n = ::recvfrom(socket_, reinterpret_cast<char*>(buffer),
                               static_cast<int>(kMaxUdpPayloadBytes), 0,
                               reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        const int err = ::WSAGetLastError();
        if (err == WSAEMSGSIZE) {
          ++counters_.rx_truncated;
          continue;
        }
        // WSAEWOULDBLOCK: drained. WSAECONNRESET (if the ioctl was refused): an ICMP error
        // for an earlier send, which QUIC's own timers handle; read on.
        if (err == WSAECONNRESET) continue;
        break;
      }
      SocketAddress& remote = rx_remote_[kept];
      if (!remote.assign(&from, static_cast<std::size_t>(from_len))) continue;
      RxPacket& p = rx_packets_[kept++];
      p.data = {buffer, static_cast<std::size_t>(n)};
      p.local = &local_;
      p.remote = &remote;
      ++counters_.rx_packets;
    }
    return kept;
  }

  const RxPacket& packet(std::size_t index) const noexcept override { return rx_packets_[index]; }

  std::span<std::uint8_t> tx_buffer(std::size_t min_bytes) noexcept override {
    if (tx_blocked_ || tx_count_ == kTxMaxMessages || min_bytes > kMaxUdpPayloadBytes) return {};
    return {tx_buffer_.data() + tx_count_ * kMaxUdpPayloadBytes, kMaxUdpPayloadBytes};
  }

  void tx_commit(std::size_t n, const SocketAddress& /*local*/,
                 const SocketAddress& remote) noexcept override {
    if (n == 0 || n > kMaxUdpPayloadBytes || tx_count_ == kTxMaxMessages) return;
    TxMessage& m = tx_messages_[tx_count_];
    m.remote = remote;
    m.offset = tx_count_ * kMaxUdpPayloadBytes;
    m.bytes = n;
    ++tx_count_;
  }

  Status flush() noexcept override {
    while (tx_sent_ < tx_count_) {
      const TxMessage& m = tx_messages_[tx_sent_];
      const char* data = reinterpret_cast<const char*>(tx_buffer_.data() + m.offset);
      const int len = static_cast<int>(m.bytes);
      const int rc = connected_ ? ::send(socket_, data, len, 0)
                                : ::sendto(socket_, data, len, 0,
                                           static_cast<const sockaddr*>(m.remote.data()),
                                           static_cast<int>(m.remote.length()));
      ++counters_.tx_syscalls;
      if (rc >= 0) {
        ++counters_.tx_packets;
        ++tx_sent_;
        continue;
      }
      const int err = ::WSAGetLastError();
      if (would_block(err)) {
        tx_blocked_ = true;
        return fail_wsa(err, "send");
      }
      // Refused (WSAEMSGSIZE for a PMTU probe, unreachable network, ...): QUIC treats it as
      // lost.
      ++counters_.tx_dropped_errors;
      if (logger_.enabled(obs::Level::kDebug)) {
        logger_.debug("quic.send_failed",
                      {{"wsa_error", err}, {"remote", m.remote.to_string()}, {"bytes", m.bytes}});
      }
      ++tx_sent_;
    }
    tx_count_ = tx_sent_ = 0;
    tx_blocked_ = false;
    return ok();
  }

  bool tx_pending() const noexcept override { return tx_count_ > tx_sent_; }
  const SocketCounters& counters() const noexcept override { return counters_; }
  std::uint64_t kernel_queue_drops() const noexcept override { return 0; }
  void disable_gso() noexcept override {}
  void release_idle_buffers() noexcept override {}
  std::size_t resident_buffer_bytes() const noexcept override { return 0; }

 private:
  SOCKET socket_;
  SocketAddress local_;
  bool connected_;
  obs::Logger logger_;
  SocketCounters counters_;
  std::unique_ptr<std::uint8_t[]> rx_buffers_;
  std::array<SocketAddress, kRxBatch> rx_remote_{};
  std::array<RxPacket, kRxBatch> rx_packets_{};
  std::vector<std::uint8_t> tx_buffer_;
  std::array<TxMessage, kTxMaxMessages> tx_messages_{};
  std::size_t tx_count_ = 0;
  std::size_t tx_sent_ = 0;
  bool tx_blocked_ = false;
};

void set_option(SOCKET s, int level, int name, int value) noexcept {
  // Best effort, as on Linux: each option only improves things.
  (void)::setsockopt(s, level, name, reinterpret_cast<const char*>(&value), sizeof(value));
}

}  // namespace

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(const SocketAddress& local,
                                                   const SocketAddress& connect_to,
                                                   obs::Logger logger) {
  if (!local.valid()) return fail(Errc::kInvalidArgument, "UdpSocket::open: no local address");
  const bool v6 = local.family() == AddressFamily::kIPv6;
  SocketGuard s(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, IPPROTO_UDP));
  if (s.get() == INVALID_SOCKET) {
    return fail_wsa(::WSAGetLastError(), fmt::format("socket({})", local.to_string()));
  }
  u_long non_blocking = 1;
  if (::ioctlsocket(s.get(), FIONBIO, &non_blocking) != 0) {
    return fail_wsa(::WSAGetLastError(), "ioctlsocket(FIONBIO)");
  }
  // An ICMP port unreachable (the relay restarting) would otherwise fail the next recvfrom
  // with WSAECONNRESET. Older wine refuses the ioctl; receive() then skips that error.
  BOOL report_resets = FALSE;
  DWORD unused = 0;
  (void)::WSAIoctl(s.get(), SIO_UDP_CONNRESET, &report_resets, sizeof(report_resets), nullptr, 0,
                   &unused, nullptr, nullptr);
  if (v6) {
    set_option(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0);
    set_option(s.get(), IPPROTO_IPV6, IPV6_DONTFRAG, 1);
  } else {
    // DF on: ngtcp2's PMTUD probes decide the packet size, not IP fragmentation.
    set_option(s.get(), IPPROTO_IP, IP_DONTFRAGMENT, 1);
  }
  set_option(s.get(), SOL_SOCKET, SO_RCVBUF, kSocketBufferBytes);
  set_option(s.get(), SOL_SOCKET, SO_SNDBUF, kSocketBufferBytes);
  if (::bind(s.get(), static_cast<const sockaddr*>(local.data()),
             static_cast<int>(local.length())) != 0) {
    return fail_wsa(::WSAGetLastError(), fmt::format("bind({})", local.to_string()));
  }
  const bool connected = connect_to.valid();
  if (connected && ::connect(s.get(), static_cast<const sockaddr*>(connect_to.data()),
                             static_cast<int>(connect_to.length())) != 0) {
    return fail_wsa(::WSAGetLastError(), fmt::format("connect({})", connect_to.to_string()));
  }
  sockaddr_storage bound{};
  int bound_len = sizeof(bound);
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return fail_wsa(::WSAGetLastError(), "getsockname");
  }
  SocketAddress actual;
  if (!actual.assign(&bound, static_cast<std::size_t>(bound_len))) {
    return fail(Errc::kInternal, "getsockname: bad family");
  }
  return std::unique_ptr<UdpSocket>(new WindowsUdpSocket(s.release(), actual, connected, logger));
}

// Windows has no content steering between sockets of one port: one socket serves everything.
Result<ListeningSockets> UdpSocket::open_listening(const SocketAddress& local, obs::Logger logger) {
  auto main = open(local, SocketAddress{}, logger);
  if (!main) return tl::unexpected(main.error());
  return ListeningSockets{std::move(*main), nullptr};
}

}  // namespace lanparty::io
