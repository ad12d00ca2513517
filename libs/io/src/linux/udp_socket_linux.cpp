// SPDX-License-Identifier: MIT
// UdpSocket for Linux: recvmmsg with IP(V6)_PKTINFO, UDP GSO (UDP_SEGMENT) trains sent with
// sendmmsg. A train the kernel refuses is re-sent one datagram per call and GSO rests for a
// back-off (gso_policy.hpp); every datagram dropped is counted under its reason.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "gso_policy.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/io/udp_socket.hpp"
#include "page_buffer.hpp"
#include "udp_socket_linux.hpp"

namespace lanparty::io {
namespace {

constexpr std::size_t kTxBufferBytes = 256 * 1024;
constexpr std::size_t kTxMaxMessages = 128;
// Linux caps a GSO train at 64 segments (UDP_MAX_SEGMENTS) and the IP total length.
constexpr std::size_t kMaxGsoSegments = 64;
constexpr std::size_t kMaxGsoBytes = 65000;
constexpr int kSocketBufferBytes = 4 * 1024 * 1024;
// With GRO each message can carry a 64 KB run of datagrams.
constexpr std::size_t kGroMessages = 16;
constexpr std::size_t kGroBufferBytes = 65536;

constexpr std::size_t kControlBytes =
    CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(std::uint16_t));
static_assert(CMSG_SPACE(sizeof(in6_pktinfo)) >= CMSG_SPACE(sizeof(in_pktinfo)));

class FdGuard {
 public:
  explicit FdGuard(int fd) noexcept : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(FdGuard&& other) noexcept : fd_(other.release()) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  FdGuard& operator=(FdGuard&&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool same_address_bytes(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.length() == b.length() && std::memcmp(a.data(), b.data(), a.length()) == 0;
}

// The socket buffer is full (ENOBUFS: the qdisc's queue): the rest waits for EPOLLOUT.
bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS; }

// Errors that say the peer's address cannot be reached: from an ICMP message the kernel
// queued on a connected socket (ECONNREFUSED: port unreachable), or from routing.
bool is_unreachable(int err) noexcept {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == ENETDOWN ||
         err == EHOSTDOWN;
}

std::string_view tx_drop_reason(int err) noexcept {
  if (err == EMSGSIZE) return "too_big";
  if (is_unreachable(err)) return "unreachable";
  if (err == EPERM || err == EACCES) return "denied";
  return "other";
}

class KernelSendCalls final : public SendCalls {
 public:
  int send_mmsg(int fd, mmsghdr* messages, unsigned count) noexcept override {
    return ::sendmmsg(fd, messages, count, 0);
  }
  ssize_t send_msg(int fd, const msghdr* message) noexcept override {
    return ::sendmsg(fd, message, 0);
  }
  EventLoop::Clock::time_point now() const noexcept override { return EventLoop::Clock::now(); }
};

bool env_allows(const char* name) noexcept {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' || *value == '0';
}

bool kernel_has_gso(int fd) noexcept {
  int value = 0;
  socklen_t len = sizeof(value);
  return ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &value, &len) == 0;
}

struct TxMessage {
  SocketAddress local;
  SocketAddress remote;
  std::size_t offset = 0;        // into the tx buffer
  std::size_t bytes = 0;         // all segments
  std::size_t segment_size = 0;  // every segment but the last has exactly this size
  std::size_t segments = 0;
  bool closed = false;  // a short segment ended the train
};

class LinuxUdpSocket final : public UdpSocket {
 public:
  LinuxUdpSocket(int fd, SocketAddress local, bool connected, obs::Logger logger, SendCalls& calls)
      : fd_(fd),
        local_(local),
        connected_(connected),
        logger_(logger),
        calls_(calls),
        // LANPARTY_QUIC_NO_GSO=1 forces the sendmmsg path (benchmarks, suspected driver bugs).
        gso_(env_allows("LANPARTY_QUIC_NO_GSO") && kernel_has_gso(fd)) {
    // UDP GRO: the kernel hands us runs of same-flow datagrams as one buffer (on loopback a
    // GSO train arrives unsplit), saving most of the per-packet receive cost.
    if (env_allows("LANPARTY_QUIC_NO_GRO")) {
      int on = 1;
      gro_ = ::setsockopt(fd_, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
    }
    rx_messages_ = gro_ ? kGroMessages : kRxBatch;
    rx_slot_bytes_ = gro_ ? kGroBufferBytes : kMaxUdpPayloadBytes;
    rx_packets_.resize(gro_ ? kGroMessages * kMaxGsoSegments : kRxBatch);
    tx_messages_.resize(kTxMaxMessages);
    for (std::size_t i = 0; i < rx_messages_; ++i) {
      rx_iov_[i].iov_base = rx_buffers_.data() + i * rx_slot_bytes_;
      rx_iov_[i].iov_len = rx_slot_bytes_;
    }
    counters_.gso_enabled = gso_.allowed(calls_.now());
  }
  ~LinuxUdpSocket() override { ::close(fd_); }

  int fd() const noexcept override { return fd_; }
  const SocketAddress& local_address() const noexcept override { return local_; }

  std::size_t receive() noexcept override {
    for (std::size_t i = 0; i < rx_messages_; ++i) {
      msghdr& h = rx_msgs_[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &rx_names_[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &rx_iov_[i];
      h.msg_iovlen = 1;
      h.msg_control = rx_control_[i].data();
      h.msg_controllen = rx_control_[i].size();
    }
    int n;
    do {
      n = ::recvmmsg(fd_, rx_msgs_.data(), static_cast<unsigned>(rx_messages_), MSG_DONTWAIT,
                     nullptr);
    } while (n < 0 && errno == EINTR);
    drained_ = n < static_cast<int>(rx_messages_);
    if (n < 0) {
      // EAGAIN: nothing to read. An ICMP error queued on a connected socket comes back here
      // once (and is cleared); datagrams behind it are read at the next readiness event.
      if (const int err = errno; is_unreachable(err)) {
        ++counters_.rx_unreachable;
        counters_.last_unreachable_errno = err;
        if (logger_.enabled(obs::Level::kDebug)) {
          logger_.debug("quic.peer_unreachable", {{"errno", err}, {"reason", std::strerror(err)}});
        }
      }
      return 0;
    }

    std::size_t kept = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      const msghdr& h = rx_msgs_[i].msg_hdr;
      if ((h.msg_flags & MSG_TRUNC) != 0) {
        ++counters_.rx_truncated;
        if (logger_.enabled(obs::Level::kDebug)) {
          logger_.debug("quic.receive_dropped",
                        {{"reason", "truncated"}, {"buffer_bytes", rx_slot_bytes_}});
        }
        continue;
      }
      SocketAddress& remote = rx_remote_[i];
      SocketAddress& local = rx_local_[i];
      if (!remote.assign(&rx_names_[i], h.msg_namelen)) {
        ++counters_.rx_bad_address;
        continue;
      }
      local = local_;
      std::size_t segment = rx_msgs_[i].msg_len;
      extract_control(h, local, segment);
      const auto* base = static_cast<const std::uint8_t*>(rx_iov_[i].iov_base);
      const std::size_t total = rx_msgs_[i].msg_len;
      if (segment == 0) segment = total;
      for (std::size_t off = 0; off < total; off += segment) {
        if (kept == rx_packets_.size()) {
          ++counters_.rx_overflow;
          continue;
        }
        RxPacket& p = rx_packets_[kept++];
        p.data = {base + off, std::min(segment, total - off)};
        p.local = &local;
        p.remote = &remote;
        ++counters_.rx_packets;
      }
    }
    return kept;
  }

  bool drained() const noexcept override { return drained_; }
  const RxPacket& packet(std::size_t index) const noexcept override { return rx_packets_[index]; }

  std::span<std::uint8_t> tx_buffer(std::size_t min_bytes) noexcept override {
    if (tx_blocked_ || tx_count_ == kTxMaxMessages || tx_used_ + min_bytes > tx_buffer_.size()) {
      return {};
    }
    return {tx_buffer_.data() + tx_used_, tx_buffer_.size() - tx_used_};
  }

  void tx_commit(std::size_t n, const SocketAddress& local,
                 const SocketAddress& remote) noexcept override {
    if (n == 0 || tx_count_ == kTxMaxMessages) return;
    // The clock is read once per batch, and only while GSO rests.
    if (tx_count_ == 0 && gso_.backing_off()) counters_.gso_enabled = gso_.allowed(calls_.now());
    if (tx_count_ > 0 && counters_.gso_enabled) {
      TxMessage& last = tx_messages_[tx_count_ - 1];
      if (!last.closed && n <= last.segment_size && last.segments < kMaxGsoSegments &&
          last.bytes + n <= kMaxGsoBytes && last.offset + last.bytes == tx_used_ &&
          same_address_bytes(last.remote, remote) && same_address_bytes(last.local, local)) {
        last.bytes += n;
        ++last.segments;
        last.closed = n < last.segment_size;
        tx_used_ += n;
        return;
      }
    }
    TxMessage& m = tx_messages_[tx_count_++];
    m.local = local;
    m.remote = remote;
    m.offset = tx_used_;
    m.bytes = n;
    m.segment_size = n;
    m.segments = 1;
    m.closed = false;
    tx_used_ += n;
  }

  Status flush() noexcept override {
    while (tx_sent_ < tx_count_) {
      TxMessage& first = tx_messages_[tx_sent_];
      if (first.segments > 1 && !counters_.gso_enabled) {
        // A train built before GSO was turned off (earlier in this batch, or before a wait
        // for EPOLLOUT).
        if (!send_one_by_one(first)) return blocked("sendmsg");
        ++tx_sent_;
        continue;
      }
      std::size_t batch = tx_count_ - tx_sent_;
      if (!counters_.gso_enabled) {
        // Stop before the next train: it goes out one by one.
        std::size_t plain = 1;
        while (plain < batch && tx_messages_[tx_sent_ + plain].segments == 1) ++plain;
        batch = plain;
      }
      for (std::size_t i = 0; i < batch; ++i) fill_mmsg(tx_sent_ + i, i);
      int n;
      do {
        n = calls_.send_mmsg(fd_, tx_mmsgs_.data(), static_cast<unsigned>(batch));
      } while (n < 0 && errno == EINTR);
      ++counters_.tx_syscalls;
      if (n > 0) {
        bool train_sent = false;
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
          const std::size_t segments = tx_messages_[tx_sent_ + i].segments;
          counters_.tx_packets += segments;
          train_sent = train_sent || segments > 1;
        }
        if (train_sent) gso_.on_accepted();
        tx_sent_ += static_cast<std::size_t>(n);
        continue;
      }
      const int err = n == 0 ? EAGAIN : errno;
      if (would_block(err)) return blocked("sendmmsg");
      if ((err == EIO || err == EINVAL) && first.segments > 1) {
        // Nothing of the train went out: the same bytes, one datagram per call.
        on_gso_refused(first, err);
        if (!send_one_by_one(first)) return blocked("sendmsg");
        ++tx_sent_;
        continue;
      }
      drop(first, first.segments, err);
      ++tx_sent_;
    }
    tx_count_ = tx_sent_ = tx_used_ = 0;
    tx_blocked_ = false;
    return ok();
  }

  bool tx_pending() const noexcept override { return tx_count_ > tx_sent_; }
  const SocketCounters& counters() const noexcept override { return counters_; }
  std::uint64_t kernel_queue_drops() const noexcept override {
    std::array<std::uint32_t, SK_MEMINFO_VARS> meminfo{};
    socklen_t len = sizeof(meminfo);
    if (::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, meminfo.data(), &len) != 0 ||
        len < (SK_MEMINFO_DROPS + 1) * sizeof(std::uint32_t)) {
      return 0;
    }
    return meminfo[SK_MEMINFO_DROPS];
  }
  void release_idle_buffers() noexcept override {
    rx_buffers_.release();
    if (!tx_pending()) tx_buffer_.release();
  }
  std::size_t resident_buffer_bytes() const noexcept override {
    try {
      return rx_buffers_.resident_bytes() + tx_buffer_.resident_bytes();
    } catch (const std::bad_alloc&) {
      return 0;
    }
  }
  void disable_gso() noexcept override {
    gso_.disable();
    counters_.gso_enabled = false;
  }

 private:
  Status blocked(const char* call) noexcept {
    tx_blocked_ = true;
    return fail(Errc::kWouldBlock, call);
  }

  void on_gso_refused(const TxMessage& train, int err) noexcept {
    ++counters_.gso_fallbacks;
    const auto backoff = gso_.on_refused(calls_.now());
    counters_.gso_enabled = false;
    // At most one line per back-off: trains queued behind this one are not tried.
    logger_.warn("quic.gso_fallback", {{"errno", err},
                                       {"reason", std::strerror(err)},
                                       {"segments", train.segments},
                                       {"retry_in_ms", backoff.count()}});
  }

  // The kernel refused datagrams for good: QUIC treats them as lost.
  void drop(const TxMessage& m, std::size_t datagrams, int err) noexcept {
    counters_.tx_dropped_errors += datagrams;
    if (err == EMSGSIZE) {
      counters_.tx_dropped_too_big += datagrams;
    } else if (is_unreachable(err)) {
      counters_.tx_dropped_unreachable += datagrams;
      counters_.last_unreachable_errno = err;
    } else if (err == EPERM || err == EACCES) {
      counters_.tx_dropped_denied += datagrams;
    } else {
      counters_.tx_dropped_other += datagrams;
    }
    if (logger_.enabled(obs::Level::kDebug)) {
      logger_.debug("quic.send_failed", {{"reason", tx_drop_reason(err)},
                                         {"errno", err},
                                         {"remote", m.remote.to_string()},
                                         {"datagrams", datagrams},
                                         {"bytes", m.bytes}});
    }
  }

  // Fills the local address (IP_PKTINFO / IPV6_PKTINFO) and the GRO segment size.
  void extract_control(const msghdr& h, SocketAddress& local, std::size_t& segment) const noexcept {
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr = info.ipi_addr;
        sa.sin_port = htons(local_.port());
        local.assign(&sa, sizeof(sa));
        continue;
      }
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_addr = info.ipi6_addr;
        sa.sin6_port = htons(local_.port());
        // A link-local destination needs its interface to answer from it.
        if (IN6_IS_ADDR_LINKLOCAL(&sa.sin6_addr)) sa.sin6_scope_id = info.ipi6_ifindex;
        local.assign(&sa, sizeof(sa));
        continue;
      }
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof(size));
        if (size > 0) segment = static_cast<std::size_t>(size);
      }
    }
  }

  // Builds tx_mmsgs_[slot] for tx_messages_[index].
  void fill_mmsg(std::size_t index, std::size_t slot) noexcept {
    const TxMessage& m = tx_messages_[index];
    build(m, m.offset, m.bytes, m.segments, slot);
  }

  void build(const TxMessage& m, std::size_t offset, std::size_t bytes, std::size_t segments,
             std::size_t slot) noexcept {
    iovec& iov = tx_iov_[slot];
    iov.iov_base = tx_buffer_.data() + offset;
    iov.iov_len = bytes;
    msghdr& h = tx_mmsgs_[slot].msg_hdr;
    h = msghdr{};
    if (!connected_) {
      h.msg_name = const_cast<void*>(m.remote.data());
      h.msg_namelen = m.remote.length();
    }
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    auto& control = tx_control_[slot];
    std::memset(control.data(), 0, control.size());
    h.msg_control = control.data();
    h.msg_controllen = control.size();
    std::size_t used = 0;
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    // Answer from the address the peer wrote to: on a wildcard socket the kernel would
    // otherwise pick the route's source, which the peer's QUIC stack sees as a new path.
    if (!connected_ && m.local.valid() && !m.local.is_wildcard()) {
      if (m.local.family() == AddressFamily::kIPv4) {
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo info{};
        info.ipi_spec_dst = static_cast<const sockaddr_in*>(m.local.data())->sin_addr;
        std::memcpy(CMSG_DATA(c), &info, sizeof(info));
        used += CMSG_SPACE(sizeof(in_pktinfo));
      } else {
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo info{};
        const auto* sa = static_cast<const sockaddr_in6*>(m.local.data());
        info.ipi6_addr = sa->sin6_addr;
        info.ipi6_ifindex = sa->sin6_scope_id;
        std::memcpy(CMSG_DATA(c), &info, sizeof(info));
        used += CMSG_SPACE(sizeof(in6_pktinfo));
      }
      c = CMSG_NXTHDR(&h, c);
    }
    if (segments > 1) {
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto segment = static_cast<std::uint16_t>(m.segment_size);
      std::memcpy(CMSG_DATA(c), &segment, sizeof(segment));
      used += CMSG_SPACE(sizeof(std::uint16_t));
    }
    h.msg_controllen = used;
    if (used == 0) h.msg_control = nullptr;
  }

  // A train's datagrams one per sendmsg, without UDP_SEGMENT. Slot 0 is free here because
  // flush() rebuilds the batch before its next sendmmsg. Returns false when the socket buffer
  // filled up: the train is then cut down to what is left, for the next flush().
  bool send_one_by_one(TxMessage& train) noexcept {
    while (train.segments > 0) {
      const std::size_t n = std::min(train.bytes, train.segment_size);
      build(train, train.offset, n, 1, 0);
      ssize_t rc;
      do {
        rc = calls_.send_msg(fd_, &tx_mmsgs_[0].msg_hdr);
      } while (rc < 0 && errno == EINTR);
      ++counters_.tx_syscalls;
      if (rc < 0) {
        const int err = errno;
        if (would_block(err)) return false;
        drop(train, 1, err);
      } else {
        ++counters_.tx_packets;
        ++counters_.tx_one_by_one;
      }
      train.offset += n;
      train.bytes -= n;
      --train.segments;
    }
    return true;
  }

  int fd_;
  SocketAddress local_;
  bool connected_;
  obs::Logger logger_;
  SendCalls& calls_;
  GsoPolicy gso_;
  SocketCounters counters_;

  // Receive state, all preallocated.
  bool gro_ = false;
  std::size_t rx_messages_ = kRxBatch;
  bool drained_ = false;
  std::size_t rx_slot_bytes_ = kMaxUdpPayloadBytes;
  // Page-backed, untouched until traffic fills them: an idle socket costs little, and
  // release_idle_buffers() returns a burst's pages. Sized for either layout (address space
  // only; pages that no layout uses are never touched).
  PageBuffer rx_buffers_{std::max(kGroMessages * kGroBufferBytes, kRxBatch* kMaxUdpPayloadBytes)};
  std::array<mmsghdr, kRxBatch> rx_msgs_{};
  std::array<iovec, kRxBatch> rx_iov_{};
  std::array<sockaddr_storage, kRxBatch> rx_names_{};
  std::array<std::array<std::uint8_t, kControlBytes + 64>, kRxBatch> rx_control_{};
  std::array<SocketAddress, kRxBatch> rx_local_{};   // per message
  std::array<SocketAddress, kRxBatch> rx_remote_{};  // per message
  std::vector<RxPacket> rx_packets_;                 // per datagram (GRO runs split)

  // Send state, all preallocated.
  PageBuffer tx_buffer_{kTxBufferBytes};
  std::vector<TxMessage> tx_messages_;
  std::array<mmsghdr, kTxMaxMessages> tx_mmsgs_{};
  std::array<iovec, kTxMaxMessages> tx_iov_{};
  std::array<std::array<std::uint8_t, kControlBytes>, kTxMaxMessages> tx_control_{};
  std::size_t tx_count_ = 0;  // messages queued
  std::size_t tx_sent_ = 0;   // of which sent (the rest waits for EPOLLOUT)
  std::size_t tx_used_ = 0;   // buffer bytes
  bool tx_blocked_ = false;
};

void set_option(int fd, int level, int name, int value) noexcept {
  // Best effort: each option only improves things (buffer sizes are capped by sysctls).
  (void)::setsockopt(fd, level, name, &value, sizeof(value));
}

}  // namespace

SendCalls& kernel_send_calls() noexcept {
  static KernelSendCalls calls;
  return calls;
}

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(const SocketAddress& local,
                                                   const SocketAddress& connect_to,
                                                   obs::Logger logger) {
  return open_linux_udp_socket(local, connect_to, logger, kernel_send_calls());
}

namespace {

struct BoundFd {
  FdGuard fd;
  SocketAddress address;  // after bind (the real port) and connect (the real source)
};

// A configured, bound (and, with a valid connect_to, connected) socket.
Result<BoundFd> open_bound_fd(const SocketAddress& local, const SocketAddress& connect_to,
                              bool reuse_port) {
  if (!local.valid()) return fail(Errc::kInvalidArgument, "UdpSocket::open: no local address");
  const bool v6 = local.family() == AddressFamily::kIPv6;
  FdGuard fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return fail_errno(errno, fmt::format("socket({})", local.to_string()));

  if (v6) {
    // [::] serves IPv4 too (as v4-mapped addresses): the "443/udp" and "[::]:port" forms.
    set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0);
    set_option(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    set_option(fd.get(), IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE);
    set_option(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
  } else {
    set_option(fd.get(), IPPROTO_IP, IP_PKTINFO, 1);
    // DF on, and ignore the kernel's cached PMTU: ngtcp2's PMTUD probes decide.
    set_option(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
  }
  set_option(fd.get(), SOL_SOCKET, SO_RCVBUF, kSocketBufferBytes);
  set_option(fd.get(), SOL_SOCKET, SO_SNDBUF, kSocketBufferBytes);
  if (reuse_port) {
    const int on = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
      return fail_errno(errno, "setsockopt(SO_REUSEPORT)");
    }
  }

  if (::bind(fd.get(), static_cast<const sockaddr*>(local.data()), local.length()) != 0) {
    return fail_errno(errno, fmt::format("bind({})", local.to_string()));
  }
  if (connect_to.valid() && ::connect(fd.get(), static_cast<const sockaddr*>(connect_to.data()),
                                      connect_to.length()) != 0) {
    return fail_errno(errno, fmt::format("connect({})", connect_to.to_string()));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return fail_errno(errno, "getsockname");
  }
  SocketAddress actual;
  if (!actual.assign(&bound, bound_len)) return fail(Errc::kInternal, "getsockname: bad family");
  return BoundFd{FdGuard(fd.release()), actual};
}

// The reuseport group's program: it sees the UDP payload, and its answer is the index of the
// socket in the group (in bind order). QUIC's header form bit (RFC 9000 section 17.2) is the
// top bit of the first byte: 1 (long header: Initial, 0-RTT, Handshake) -> socket 1, the
// handshake lane; 0 (short header) -> socket 0. An empty payload fails the load: socket 0.
Status attach_header_form_steering(int fd) {
  std::array<sock_filter, 3> code = {{
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
      BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 7),
      BPF_STMT(BPF_RET | BPF_A, 0),
  }};
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof(program)) != 0) {
    return fail_errno(errno, "setsockopt(SO_ATTACH_REUSEPORT_CBPF)");
  }
  return ok();
}

}  // namespace

Result<ListeningSockets> UdpSocket::open_listening(const SocketAddress& local, obs::Logger logger) {
  // SO_REUSEPORT would let a second relay join this one's group and steal half its traffic.
  // A plain bind first: it fails if anything holds the address, and picks the port for :0.
  SocketAddress address;
  {
    auto probe = open_bound_fd(local, SocketAddress{}, false);
    if (!probe) return tl::unexpected(probe.error());
    address = probe->address;
  }
  auto main_fd = open_bound_fd(address, SocketAddress{}, true);
  if (!main_fd) return tl::unexpected(main_fd.error());
  ListeningSockets sockets;
  sockets.main.reset(new LinuxUdpSocket(main_fd->fd.release(), main_fd->address, false, logger,
                                        kernel_send_calls()));
  // LANPARTY_QUIC_NO_HANDSHAKE_LANE=1: one socket, as before (benchmarks compare the two).
  if (!env_allows("LANPARTY_QUIC_NO_HANDSHAKE_LANE")) return sockets;
  auto lane_fd = open_bound_fd(address, SocketAddress{}, true);
  Status steering = lane_fd ? attach_header_form_steering(sockets.main->fd())
                            : Status(tl::unexpected(lane_fd.error()));
  if (!steering) {
    // Old kernels (before 4.5) or a seccomp policy: one socket serves everything, as before.
    logger.info("quic.handshake_lane_unavailable", {{"reason", steering.error().describe()}});
    return sockets;
  }
  sockets.handshake_lane.reset(new LinuxUdpSocket(lane_fd->fd.release(), lane_fd->address, false,
                                                  logger, kernel_send_calls()));
  return sockets;
}

Result<std::unique_ptr<UdpSocket>> open_linux_udp_socket(const SocketAddress& local,
                                                         const SocketAddress& connect_to,
                                                         obs::Logger logger, SendCalls& calls) {
  auto bound = open_bound_fd(local, connect_to, false);
  if (!bound) return tl::unexpected(bound.error());
  return std::unique_ptr<UdpSocket>(
      new LinuxUdpSocket(bound->fd.release(), bound->address, connect_to.valid(), logger, calls));
}

}  // namespace lanparty::io
