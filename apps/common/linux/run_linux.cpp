// SPDX-License-Identifier: MIT
// The Linux half of app_support: signalfd-driven shutdown and the device fd's loop run.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <functional>

#include "lanparty/base/errc.hpp"
#include "run_linux.hpp"

namespace lanparty::apps {

Status run_until_signal(io::EventLoop& loop, client_core::Runner& runner) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "signalfd");
  bool stopping = false;
  // After a signal: stop as soon as the close is out, at most 1 s later.
  std::function<void()> poll;
  auto deadline = loop.now();
  poll = [&] {
    if (runner.state() == obs::ConnectionState::kDisconnected || loop.now() >= deadline) {
      loop.stop();
      return;
    }
    (void)loop.add_timer(loop.now() + std::chrono::milliseconds(20), poll);
  };
  auto added = loop.add_fd(fd, EPOLLIN, [&](std::uint32_t) {
    signalfd_siginfo info{};
    while (::read(fd, &info, sizeof(info)) == sizeof(info)) {
    }
    if (stopping) {
      loop.stop();  // a second signal: do not wait
      return;
    }
    stopping = true;
    runner.stop();
    deadline = loop.now() + std::chrono::seconds(1);
    poll();
  });
  if (!added) {
    ::close(fd);
    return added;
  }
  runner.start();
  auto status = loop.run();
  loop.remove_fd(fd);
  ::close(fd);
  return status;
}

int run_device(std::string_view program, io::EventLoop& loop, client_core::Runner& runner,
               DevicePort& port, int device_fd) {
  port.attach(runner);
  port.set_stop_on_fatal([&loop] { loop.stop(); });
  if (auto st = loop.add_fd(device_fd, EPOLLIN, [&port](std::uint32_t) { port.on_readable(); });
      !st) {
    return fail_with(program, st.error().describe());
  }
  auto status = run_until_signal(loop, runner);
  loop.remove_fd(device_fd);
  if (!status) return fail_with(program, status.error().describe());
  return port.fatal() ? 1 : 0;
}

}  // namespace lanparty::apps
