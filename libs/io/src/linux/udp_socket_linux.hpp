// SPDX-License-Identifier: MIT
// The Linux UdpSocket's seam for tests: the send calls and the clock it uses, so a test can
// play a kernel or NIC that refuses GSO trains (which a real one does not do on demand).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <memory>

#include "lanparty/base/result.hpp"
#include "lanparty/io/address.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/udp_socket.hpp"
#include "lanparty/obs/log.hpp"

namespace lanparty::io {

// One virtual per call, no logic: each behaves as the syscall with flags 0, errno included.
class SendCalls {
 public:
  virtual ~SendCalls() = default;
  virtual int send_mmsg(int fd, mmsghdr* messages, unsigned count) noexcept = 0;
  virtual ssize_t send_msg(int fd, const msghdr* message) noexcept = 0;
  [[nodiscard]] virtual EventLoop::Clock::time_point now() const noexcept = 0;
};

// sendmmsg(2), sendmsg(2) and the steady clock.
[[nodiscard]] SendCalls& kernel_send_calls() noexcept;

// UdpSocket::open, sending through calls (which must outlive the socket).
[[nodiscard]] Result<std::unique_ptr<UdpSocket>> open_linux_udp_socket(
    const SocketAddress& local, const SocketAddress& connect_to, obs::Logger logger,
    SendCalls& calls);

}  // namespace lanparty::io
