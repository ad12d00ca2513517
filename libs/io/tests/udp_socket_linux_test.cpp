// SPDX-License-Identifier: MIT
// The Linux UDP socket: GSO trains on loopback, the fallback when the kernel refuses a train
// (played by a SendCalls stand-in that forwards everything else to the real kernel), its
// back-off, and every drop counted under its reason, on the send and the receive side.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <thread>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "linux/gso_policy.hpp"
#include "linux/udp_socket_linux.hpp"

namespace lanparty::io {
namespace {

using namespace std::chrono_literals;
using Clock = EventLoop::Clock;

SocketAddress loopback(std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  SocketAddress out;
  EXPECT_TRUE(out.assign(&sa, sizeof(sa)));
  return out;
}

// A plain non-blocking UDP socket on 127.0.0.1 (no GRO: one recv per datagram).
class Receiver {
 public:
  Receiver() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
    SocketAddress any = loopback(0);
    EXPECT_EQ(::bind(fd_, static_cast<const sockaddr*>(any.data()), any.length()), 0);
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len), 0);
    EXPECT_TRUE(address_.assign(&bound, len));
  }
  ~Receiver() { ::close(fd_); }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  [[nodiscard]] const SocketAddress& address() const noexcept { return address_; }

  // Whatever arrives within `wait` after the first `expected` datagrams are in (or the wait
  // ran out): more than expected means something was sent twice.
  std::vector<std::vector<std::uint8_t>> drain(std::size_t expected, Clock::duration wait = 200ms) {
    std::vector<std::vector<std::uint8_t>> got;
    const auto deadline = Clock::now() + wait;
    std::vector<std::uint8_t> buffer(4096);
    while (Clock::now() < deadline) {
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n >= 0) {
        got.emplace_back(buffer.begin(), buffer.begin() + n);
        continue;
      }
      if (got.size() >= expected) {
        // Everything expected is here: a short look for duplicates, then stop.
        std::this_thread::sleep_for(5ms);
        if (::recv(fd_, buffer.data(), buffer.size(), MSG_PEEK) < 0) break;
        continue;
      }
      std::this_thread::sleep_for(1ms);
    }
    return got;
  }

 private:
  int fd_;
  SocketAddress address_;
};

bool has_udp_segment(const msghdr& h) {
  for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT) return true;
  }
  return false;
}

// The real kernel, except that it refuses GSO trains while refuse_errno is set (as a NIC
// without checksum offload does with EIO), fails chosen calls, and tells a settable time.
class FakeKernel final : public SendCalls {
 public:
  int send_mmsg(int fd, mmsghdr* messages, unsigned count) noexcept override {
    ++mmsg_calls;
    for (unsigned i = 0; i < count; ++i) {
      if (!has_udp_segment(messages[i].msg_hdr)) continue;
      ++trains_offered;
      if (refuse_errno == 0) continue;
      // sendmmsg stops at the first message that fails and reports the ones before it.
      if (i > 0) return ::sendmmsg(fd, messages, i, 0);
      ++trains_refused;
      errno = refuse_errno;
      return -1;
    }
    if (fail_next_mmsg != 0) {
      errno = std::exchange(fail_next_mmsg, 0);
      return -1;
    }
    return ::sendmmsg(fd, messages, count, 0);
  }
  ssize_t send_msg(int fd, const msghdr* message) noexcept override {
    ++msg_calls;
    if (has_udp_segment(*message)) ++trains_offered;
    if (block_msg_call != 0 && msg_calls == block_msg_call) {
      errno = EAGAIN;
      return -1;
    }
    return ::sendmsg(fd, message, 0);
  }
  Clock::time_point now() const noexcept override { return now_; }

  Clock::time_point now_ = Clock::now();
  int refuse_errno = 0;
  int fail_next_mmsg = 0;  // this errno for the next sendmmsg
  int block_msg_call = 0;  // EAGAIN on this (1-based) sendmsg call
  int mmsg_calls = 0;
  int msg_calls = 0;
  int trains_offered = 0;  // messages carrying UDP_SEGMENT
  int trains_refused = 0;
};

class UdpSocketTest : public ::testing::Test {
 protected:
  void open_socket() {
    auto socket = open_linux_udp_socket(loopback(0), SocketAddress{}, {}, kernel_);
    ASSERT_TRUE(socket.has_value()) << socket.error().describe();
    socket_ = std::move(*socket);
  }

  // Queues count datagrams of `bytes` to `to`, each filled with its own tag (first, first+1,
  // ...); equal sizes to one address join one GSO train while GSO is on.
  void queue(const SocketAddress& to, std::size_t count, std::size_t bytes, std::uint8_t first) {
    for (std::size_t i = 0; i < count; ++i) {
      auto buffer = socket_->tx_buffer(bytes);
      ASSERT_GE(buffer.size(), bytes);
      std::memset(buffer.data(), first + static_cast<int>(i), bytes);
      socket_->tx_commit(bytes, socket_->local_address(), to);
    }
  }

  // The tags of what arrived, in order.
  static std::vector<int> tags(const std::vector<std::vector<std::uint8_t>>& datagrams,
                               std::size_t bytes) {
    std::vector<int> out;
    for (const auto& d : datagrams) {
      EXPECT_EQ(d.size(), bytes);
      out.push_back(d.empty() ? -1 : d.front());
    }
    return out;
  }

  static std::vector<int> range(int first, int count) {
    std::vector<int> out;
    for (int i = 0; i < count; ++i) out.push_back(first + i);
    return out;
  }

  FakeKernel kernel_;
  std::unique_ptr<UdpSocket> socket_;
  Receiver receiver_;
};

// --- the policy alone ----------------------------------------------------------------------

TEST(GsoPolicy, RefusalRestsGsoForADoublingBackoffUpToTheCap) {
  GsoPolicy policy(true);
  auto t = Clock::now();
  EXPECT_TRUE(policy.allowed(t));
  std::chrono::milliseconds expected = GsoPolicy::kFirstBackoff;
  for (int round = 0; round < 10; ++round) {
    EXPECT_EQ(policy.on_refused(t), expected) << "round " << round;
    EXPECT_FALSE(policy.allowed(t + expected - 1ms));
    t += expected;
    EXPECT_TRUE(policy.allowed(t));
    expected = std::min(expected * 2, GsoPolicy::kMaxBackoff);
  }
  EXPECT_EQ(expected, GsoPolicy::kMaxBackoff);
}

TEST(GsoPolicy, AnAcceptedTrainResetsTheBackoff) {
  GsoPolicy policy(true);
  auto t = Clock::now();
  EXPECT_EQ(policy.on_refused(t), 1000ms);
  t += 1000ms;
  EXPECT_EQ(policy.on_refused(t), 2000ms);
  t += 2000ms;
  ASSERT_TRUE(policy.allowed(t));
  policy.on_accepted();
  EXPECT_EQ(policy.on_refused(t), 1000ms);
}

TEST(GsoPolicy, UnavailableOrDisabledNeverAllows) {
  GsoPolicy none(false);
  EXPECT_FALSE(none.allowed(Clock::now()));
  GsoPolicy off(true);
  off.disable();
  EXPECT_FALSE(off.allowed(Clock::now() + 1h));
}

// --- a real kernel ------------------------------------------------------------------------

// A loopback socket that reads one datagram per message (LANPARTY_QUIC_NO_GRO).
Result<std::unique_ptr<UdpSocket>> open_without_gro() {
  ::setenv("LANPARTY_QUIC_NO_GRO", "1", 1);
  auto socket = UdpSocket::open(loopback(0), SocketAddress{}, {});
  ::unsetenv("LANPARTY_QUIC_NO_GRO");
  return socket;
}

TEST(UdpSocketKernel, TenDatagramsLeaveAsOneGsoTrainOnLoopback) {
  auto socket = UdpSocket::open(loopback(0), SocketAddress{}, {});
  ASSERT_TRUE(socket.has_value());
  if (!(*socket)->counters().gso_enabled) GTEST_SKIP() << "this kernel has no UDP GSO";
  Receiver receiver;
  for (std::uint8_t i = 0; i < 10; ++i) {
    auto buffer = (*socket)->tx_buffer(1200);
    ASSERT_GE(buffer.size(), 1200u);
    std::memset(buffer.data(), i, 1200);
    (*socket)->tx_commit(1200, (*socket)->local_address(), receiver.address());
  }
  ASSERT_TRUE((*socket)->flush().has_value());
  const SocketCounters& c = (*socket)->counters();
  EXPECT_EQ(c.tx_syscalls, 1u);  // one sendmmsg with one train
  EXPECT_EQ(c.tx_packets, 10u);
  EXPECT_EQ(c.gso_fallbacks, 0u);
  EXPECT_EQ(c.tx_dropped_errors, 0u);
  EXPECT_TRUE(c.gso_enabled);
  const auto got = receiver.drain(10);
  ASSERT_EQ(got.size(), 10u);  // the kernel cut the train back into 10 datagrams
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], std::vector<std::uint8_t>(1200, static_cast<std::uint8_t>(i)));
  }
}

TEST(UdpSocketKernel, TruncatedDatagramIsDroppedAndCounted) {
  // Without GRO the receive slots are kMaxUdpPayloadBytes; with it a 64 KiB run fits.
  auto socket = open_without_gro();
  ASSERT_TRUE(socket.has_value());
  const int sender = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sender, 0);
  const SocketAddress& to = (*socket)->local_address();
  const std::vector<std::uint8_t> big(kMaxUdpPayloadBytes + 100, 0xab);
  const std::vector<std::uint8_t> small(100, 0xcd);
  ASSERT_EQ(::sendto(sender, big.data(), big.size(), 0, static_cast<const sockaddr*>(to.data()),
                     to.length()),
            static_cast<ssize_t>(big.size()));
  ASSERT_EQ(::sendto(sender, small.data(), small.size(), 0, static_cast<const sockaddr*>(to.data()),
                     to.length()),
            static_cast<ssize_t>(small.size()));
  ::close(sender);
  std::size_t n = 0;
  const auto deadline = Clock::now() + 1s;
  while (n == 0 && Clock::now() < deadline) {
    n = (*socket)->receive();
    if (n == 0) std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(n, 1u);
  EXPECT_EQ((*socket)->packet(0).data.size(), small.size());
  EXPECT_EQ((*socket)->counters().rx_truncated, 1u);
  EXPECT_EQ((*socket)->counters().rx_packets, 1u);
}

TEST(UdpSocketKernel, AShortBatchSaysTheSocketIsDrainedAFullOneDoesNot) {
  auto socket = open_without_gro();  // 64 datagrams per batch, one message each
  ASSERT_TRUE(socket.has_value());
  const int sender = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sender, 0);
  const SocketAddress& to = (*socket)->local_address();
  for (int i = 0; i < 70; ++i) {
    const std::uint8_t byte = static_cast<std::uint8_t>(i);
    ASSERT_EQ(::sendto(sender, &byte, 1, 0, static_cast<const sockaddr*>(to.data()), to.length()),
              1);
  }
  ::close(sender);
  std::this_thread::sleep_for(20ms);  // loopback delivers within the call; this is margin
  ASSERT_EQ((*socket)->receive(), 64u);
  EXPECT_FALSE((*socket)->drained()) << "a full batch may have left datagrams behind";
  ASSERT_EQ((*socket)->receive(), 6u);
  EXPECT_TRUE((*socket)->drained());
  EXPECT_EQ((*socket)->packet(5).data[0], 69);
  EXPECT_EQ((*socket)->receive(), 0u);
  EXPECT_TRUE((*socket)->drained());
}

TEST(UdpSocketKernel, PortUnreachableIsCountedOnAConnectedSocket) {
  // A port nobody listens on: bind one, note it, close it.
  const int probe = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(probe, 0);
  SocketAddress closed = loopback(0);
  ASSERT_EQ(::bind(probe, static_cast<const sockaddr*>(closed.data()), closed.length()), 0);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&bound), &len), 0);
  ASSERT_TRUE(closed.assign(&bound, len));
  ::close(probe);

  auto socket = UdpSocket::open(loopback(0), closed, {});
  ASSERT_TRUE(socket.has_value());
  auto buffer = (*socket)->tx_buffer(100);
  ASSERT_GE(buffer.size(), 100u);
  (*socket)->tx_commit(100, (*socket)->local_address(), closed);
  ASSERT_TRUE((*socket)->flush().has_value());
  const auto deadline = Clock::now() + 1s;
  while ((*socket)->counters().rx_unreachable == 0 && Clock::now() < deadline) {
    EXPECT_EQ((*socket)->receive(), 0u);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ((*socket)->counters().rx_unreachable, 1u);
  EXPECT_EQ((*socket)->counters().last_unreachable_errno, ECONNREFUSED);
}

// --- GSO refused: the fallback ------------------------------------------------------------

class GsoRefused : public UdpSocketTest, public ::testing::WithParamInterface<int> {};

INSTANTIATE_TEST_SUITE_P(Errors, GsoRefused, ::testing::Values(EIO, EINVAL),
                         [](const ::testing::TestParamInfo<int>& param) {
                           return param.param == EIO ? "EIO" : "EINVAL";
                         });

TEST_P(GsoRefused, TenDatagramTrainIsResentOneByOneAndGsoRests) {
  open_socket();
  if (!socket_->counters().gso_enabled) GTEST_SKIP() << "this kernel has no UDP GSO";
  kernel_.refuse_errno = GetParam();
  queue(receiver_.address(), 10, 1200, 0);
  ASSERT_TRUE(socket_->flush().has_value());

  const SocketCounters& c = socket_->counters();
  EXPECT_EQ(kernel_.trains_refused, 1);
  EXPECT_EQ(kernel_.msg_calls, 10);  // ten single sends
  EXPECT_EQ(c.gso_fallbacks, 1u);
  EXPECT_EQ(c.tx_one_by_one, 10u);
  EXPECT_EQ(c.tx_packets, 10u);
  EXPECT_EQ(c.tx_dropped_errors, 0u);
  EXPECT_FALSE(c.gso_enabled);
  EXPECT_EQ(tags(receiver_.drain(10), 1200), range(0, 10));  // nothing lost, in order
}

TEST_P(GsoRefused, GsoIsTriedAgainAfterTheBackoffAndAcceptedTrainsKeepItOn) {
  open_socket();
  if (!socket_->counters().gso_enabled) GTEST_SKIP() << "this kernel has no UDP GSO";
  const auto t0 = kernel_.now_;
  kernel_.refuse_errno = GetParam();
  queue(receiver_.address(), 10, 1200, 0);
  ASSERT_TRUE(socket_->flush().has_value());
  ASSERT_FALSE(socket_->counters().gso_enabled);

  // Within the back-off: no train is even offered; the batch goes as ten plain messages in
  // one sendmmsg.
  kernel_.now_ = t0 + GsoPolicy::kFirstBackoff - 1ms;
  const int offered = kernel_.trains_offered;
  const int mmsg_calls = kernel_.mmsg_calls;
  queue(receiver_.address(), 10, 1200, 10);
  ASSERT_TRUE(socket_->flush().has_value());
  EXPECT_EQ(kernel_.trains_offered, offered);
  EXPECT_EQ(kernel_.mmsg_calls, mmsg_calls + 1);
  EXPECT_EQ(kernel_.msg_calls, 10);
  EXPECT_FALSE(socket_->counters().gso_enabled);

  // The back-off has passed and the device copes again: one train, accepted.
  kernel_.now_ = t0 + GsoPolicy::kFirstBackoff;
  kernel_.refuse_errno = 0;
  queue(receiver_.address(), 10, 1200, 20);
  ASSERT_TRUE(socket_->flush().has_value());
  EXPECT_EQ(kernel_.trains_offered, offered + 1);
  EXPECT_TRUE(socket_->counters().gso_enabled);

  // And it stays on.
  kernel_.now_ += 1h;
  queue(receiver_.address(), 10, 1200, 30);
  ASSERT_TRUE(socket_->flush().has_value());
  EXPECT_EQ(kernel_.trains_offered, offered + 2);
  EXPECT_TRUE(socket_->counters().gso_enabled);

  const SocketCounters& c = socket_->counters();
  EXPECT_EQ(c.gso_fallbacks, 1u);
  EXPECT_EQ(c.tx_packets, 40u);
  EXPECT_EQ(c.tx_dropped_errors, 0u);
  EXPECT_EQ(tags(receiver_.drain(40), 1200), range(0, 40));
}

TEST_P(GsoRefused, RefusedAgainAfterTheBackoffDoublesIt) {
  open_socket();
  if (!socket_->counters().gso_enabled) GTEST_SKIP() << "this kernel has no UDP GSO";
  const auto t0 = kernel_.now_;
  kernel_.refuse_errno = GetParam();
  queue(receiver_.address(), 10, 1200, 0);
  ASSERT_TRUE(socket_->flush().has_value());
  kernel_.now_ = t0 + 1s;  // retried, refused again: 2 s this time
  queue(receiver_.address(), 10, 1200, 10);
  ASSERT_TRUE(socket_->flush().has_value());
  EXPECT_EQ(kernel_.trains_refused, 2);
  kernel_.now_ = t0 + 1s + 2s - 1ms;
  queue(receiver_.address(), 10, 1200, 20);
  ASSERT_TRUE(socket_->flush().has_value());
  EXPECT_EQ(kernel_.trains_offered, 2);
  kernel_.now_ = t0 + 1s + 2s;
  queue(receiver_.address(), 10, 1200, 30);
  ASSERT_TRUE(socket_->flush().has_value());
  EXPECT_EQ(kernel_.trains_offered, 3);
  EXPECT_EQ(socket_->counters().gso_fallbacks, 3u);
  EXPECT_EQ(socket_->counters().tx_one_by_one, 30u);
  EXPECT_EQ(tags(receiver_.drain(40), 1200), range(0, 40));
}

TEST_F(UdpSocketTest, RefusedTrainBehindAPlainDatagramStillGoesOut) {
  open_socket();
  if (!socket_->counters().gso_enabled) GTEST_SKIP() << "this kernel has no UDP GSO";
  Receiver other;
  kernel_.refuse_errno = EIO;
  queue(other.address(), 1, 500, 100);
  queue(receiver_.address(), 5, 1200, 0);
  ASSERT_TRUE(socket_->flush().has_value());
  EXPECT_EQ(tags(other.drain(1), 500), range(100, 1));
  EXPECT_EQ(tags(receiver_.drain(5), 1200), range(0, 5));
  EXPECT_EQ(socket_->counters().gso_fallbacks, 1u);
  EXPECT_EQ(socket_->counters().tx_packets, 6u);
}

TEST_F(UdpSocketTest, FullSocketBufferDuringTheFallbackResumesWhereItStopped) {
  open_socket();
  if (!socket_->counters().gso_enabled) GTEST_SKIP() << "this kernel has no UDP GSO";
  kernel_.refuse_errno = EIO;
  kernel_.block_msg_call = 4;  // the 4th single send finds the buffer full
  queue(receiver_.address(), 10, 1200, 0);
  auto first = socket_->flush();
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code, Errc::kWouldBlock);
  EXPECT_TRUE(socket_->tx_pending());
  EXPECT_TRUE(socket_->tx_buffer(1200).empty());  // nothing new until it drains
  ASSERT_TRUE(socket_->flush().has_value());      // EPOLLOUT came
  EXPECT_FALSE(socket_->tx_pending());
  EXPECT_EQ(socket_->counters().tx_packets, 10u);
  EXPECT_EQ(socket_->counters().tx_dropped_errors, 0u);
  EXPECT_EQ(tags(receiver_.drain(10), 1200), range(0, 10));
}

// --- drops: each reason its own counter -------------------------------------------------

struct DropCase {
  int err;
  std::uint64_t SocketCounters::*counter;
  const char* name;
};

void PrintTo(const DropCase& drop, std::ostream* out) { *out << drop.name; }

class SendDrop : public UdpSocketTest, public ::testing::WithParamInterface<DropCase> {};

INSTANTIATE_TEST_SUITE_P(
    Reasons, SendDrop,
    ::testing::Values(DropCase{EMSGSIZE, &SocketCounters::tx_dropped_too_big, "too_big"},
                      DropCase{ECONNREFUSED, &SocketCounters::tx_dropped_unreachable, "refused"},
                      DropCase{EHOSTUNREACH, &SocketCounters::tx_dropped_unreachable, "host"},
                      DropCase{ENETUNREACH, &SocketCounters::tx_dropped_unreachable, "net"},
                      DropCase{EPERM, &SocketCounters::tx_dropped_denied, "denied"},
                      DropCase{EBADF, &SocketCounters::tx_dropped_other, "other"}),
    [](const ::testing::TestParamInfo<DropCase>& param) { return param.param.name; });

TEST_P(SendDrop, FailedSendIsDroppedUnderItsReason) {
  open_socket();
  socket_->disable_gso();  // three plain messages
  kernel_.fail_next_mmsg = GetParam().err;
  queue(receiver_.address(), 3, 1200, 0);
  ASSERT_TRUE(socket_->flush().has_value());
  const SocketCounters& c = socket_->counters();
  EXPECT_EQ(c.*(GetParam().counter), 1u);
  EXPECT_EQ(c.tx_dropped_errors, 1u);
  EXPECT_EQ(
      c.tx_dropped_too_big + c.tx_dropped_unreachable + c.tx_dropped_denied + c.tx_dropped_other,
      1u);
  EXPECT_EQ(c.tx_packets, 2u);
  EXPECT_EQ(c.gso_fallbacks, 0u);
  EXPECT_EQ(tags(receiver_.drain(2), 1200), range(1, 2));  // the first was the one refused
}

// --- memory --------------------------------------------------------------------------------

// Sends `count` datagrams of `bytes` bytes (the i-th filled with i + 1, never zero, so a
// page that reads as zeros cannot pass for one) from `from` to `to`.
void send_burst(UdpSocket& from, const SocketAddress& to, std::size_t count, std::size_t bytes) {
  for (std::size_t i = 0; i < count; ++i) {
    auto buffer = from.tx_buffer(bytes);
    if (buffer.empty()) {
      ASSERT_TRUE(from.flush().has_value());
      buffer = from.tx_buffer(bytes);
    }
    ASSERT_GE(buffer.size(), bytes);
    std::memset(buffer.data(), static_cast<int>((i + 1) & 0xff), bytes);
    from.tx_commit(bytes, from.local_address(), to);
  }
  ASSERT_TRUE(from.flush().has_value());
}

TEST(UdpSocketKernel, ABurstsBufferPagesGoBackToTheKernelAndTheSocketStillWorks) {
  auto receiver = UdpSocket::open(loopback(0), SocketAddress{}, {});
  auto sender = UdpSocket::open(loopback(0), SocketAddress{}, {});
  ASSERT_TRUE(receiver.has_value() && sender.has_value());
  UdpSocket& rx = **receiver;
  UdpSocket& tx = **sender;
  EXPECT_EQ(rx.resident_buffer_bytes(), 0u) << "an idle socket's buffers are never touched";

  // A burst of full-size datagrams: both sockets' buffers get touched.
  constexpr std::size_t kBurst = 400;
  send_burst(tx, rx.local_address(), kBurst, 1400);
  std::size_t received = 0;
  for (int idle = 0; idle < 100 && received < kBurst; ++idle) {
    const std::size_t n = rx.receive();
    if (n == 0) std::this_thread::sleep_for(2ms);
    received += n;
  }
  ASSERT_EQ(received, kBurst);
  const std::size_t rx_high = rx.resident_buffer_bytes();
  const std::size_t tx_high = tx.resident_buffer_bytes();
  EXPECT_GE(rx_high, 64u * 1024) << "the burst filled the receive batches";
  EXPECT_GE(tx_high, 64u * 1024) << "the burst filled the send buffer";

  rx.release_idle_buffers();
  tx.release_idle_buffers();
  EXPECT_EQ(rx.resident_buffer_bytes(), 0u);
  EXPECT_EQ(tx.resident_buffer_bytes(), 0u);

  // The pages come back on demand: the next datagram arrives whole and intact.
  send_burst(tx, rx.local_address(), 1, 1400);
  std::size_t n = 0;
  for (int idle = 0; idle < 100 && n == 0; ++idle) {
    n = rx.receive();
    if (n == 0) std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(std::vector<std::uint8_t>(rx.packet(0).data.begin(), rx.packet(0).data.end()),
            std::vector<std::uint8_t>(1400, 1));
  EXPECT_GT(rx.resident_buffer_bytes(), 0u);
  EXPECT_LT(rx.resident_buffer_bytes(), rx_high);
}

// --- the handshake lane ----------------------------------------------------------------------

// Every datagram that waits on `socket` now: the first byte of each.
std::vector<std::uint8_t> first_bytes(UdpSocket& socket) {
  std::vector<std::uint8_t> got;
  for (int idle = 0; idle < 50; ++idle) {
    const std::size_t n = socket.receive();
    if (n == 0) {
      std::this_thread::sleep_for(2ms);
      continue;
    }
    idle = 0;
    for (std::size_t i = 0; i < n; ++i) got.push_back(socket.packet(i).data.front());
  }
  return got;
}

TEST(HandshakeLane, LongHeadersGoToTheLaneAndShortHeadersToTheMainSocket) {
  auto sockets = UdpSocket::open_listening(loopback(0), obs::Logger{});
  ASSERT_TRUE(sockets.has_value()) << sockets.error().describe();
  ASSERT_NE(sockets->handshake_lane, nullptr) << "this kernel has SO_ATTACH_REUSEPORT_CBPF";
  EXPECT_EQ(sockets->main->local_address().port(), sockets->handshake_lane->local_address().port());

  // From many source ports (flows), so a steering by flow hash would scatter both kinds.
  const SocketAddress to = sockets->main->local_address();
  std::size_t long_sent = 0;
  std::size_t short_sent = 0;
  for (int flow = 0; flow < 32; ++flow) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    for (const std::uint8_t first :
         {std::uint8_t{0xc3}, std::uint8_t{0x41}, std::uint8_t{0xe0}, std::uint8_t{0x7f}}) {
      std::array<std::uint8_t, 64> datagram{};
      datagram[0] = first;
      ASSERT_EQ(::sendto(fd, datagram.data(), datagram.size(), 0,
                         static_cast<const sockaddr*>(to.data()), to.length()),
                static_cast<ssize_t>(datagram.size()));
      ((first & 0x80) != 0 ? long_sent : short_sent) += 1;
    }
    ::close(fd);
  }

  const std::vector<std::uint8_t> on_main = first_bytes(*sockets->main);
  const std::vector<std::uint8_t> on_lane = first_bytes(*sockets->handshake_lane);
  EXPECT_EQ(on_main.size(), short_sent);
  EXPECT_EQ(on_lane.size(), long_sent);
  for (const std::uint8_t b : on_main) EXPECT_EQ(b & 0x80, 0) << "long header on main";
  for (const std::uint8_t b : on_lane) EXPECT_NE(b & 0x80, 0) << "short header on the lane";
  EXPECT_EQ(sockets->main->kernel_queue_drops(), 0u);
  EXPECT_EQ(sockets->handshake_lane->kernel_queue_drops(), 0u);
}

TEST(HandshakeLane, ASecondServerOnTheSamePortIsRefusedNotAddedToTheGroup) {
  auto first = UdpSocket::open_listening(loopback(0), obs::Logger{});
  ASSERT_TRUE(first.has_value()) << first.error().describe();
  const SocketAddress taken = first->main->local_address();

  auto second = UdpSocket::open_listening(taken, obs::Logger{});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, std::errc::address_in_use) << second.error().describe();
  auto plain = UdpSocket::open(taken, SocketAddress{}, obs::Logger{});
  ASSERT_FALSE(plain.has_value());
  EXPECT_EQ(plain.error().code, std::errc::address_in_use) << plain.error().describe();
}

TEST(HandshakeLane, AFullLaneQueueIsCountedByTheKernel) {
  auto sockets = UdpSocket::open_listening(loopback(0), obs::Logger{});
  ASSERT_TRUE(sockets.has_value()) << sockets.error().describe();
  ASSERT_NE(sockets->handshake_lane, nullptr);
  // Nobody reads the lane: a flood of Initial-sized long headers overflows its queue (the
  // kernel caps the buffer at net.core.rmem_max), and the main socket loses nothing.
  const SocketAddress to = sockets->main->local_address();
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  std::array<std::uint8_t, 1200> initial{};
  initial[0] = 0xc0;
  for (int i = 0; i < 20000; ++i) {
    (void)::sendto(fd, initial.data(), initial.size(), 0, static_cast<const sockaddr*>(to.data()),
                   to.length());
  }
  std::array<std::uint8_t, 40> short_packet{};
  short_packet[0] = 0x40;
  ASSERT_EQ(::sendto(fd, short_packet.data(), short_packet.size(), 0,
                     static_cast<const sockaddr*>(to.data()), to.length()),
            static_cast<ssize_t>(short_packet.size()));
  ::close(fd);
  EXPECT_GT(sockets->handshake_lane->kernel_queue_drops(), 0u);
  EXPECT_EQ(sockets->main->kernel_queue_drops(), 0u);
  EXPECT_EQ(first_bytes(*sockets->main), std::vector<std::uint8_t>{0x40});
}

}  // namespace
}  // namespace lanparty::io
