// SPDX-License-Identifier: MIT
// How the Linux EventLoop waits: epoll_pwait2 (nanosecond timeouts, Linux 5.11+), or where it
// is missing (older kernels: ENOSYS) or forbidden (seccomp filters such as Docker's older
// default profile: EPERM), epoll_wait with the timeout rounded up to whole milliseconds. The
// first loop that finds epoll_pwait2 unusable remembers it for the whole process.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "lanparty/io/event_loop.hpp"

namespace lanparty::io::detail {

enum class EpollWait : std::uint8_t { kPwait2, kWait };

// The call loops created from now on start with.
[[nodiscard]] EpollWait default_epoll_wait() noexcept;

// For tests: loops created from now on use `call` (nullopt: back to detection).
void set_epoll_wait_for_tests(std::optional<EpollWait> call) noexcept;

// For tests: replaces epoll_pwait2 (nullptr: the real one) to play a kernel without it, and
// forgets what detection found.
using EpollPwait2Fn = int (*)(int, epoll_event*, int, const timespec*, const sigset_t*);
void set_epoll_pwait2_for_tests(EpollPwait2Fn fn) noexcept;

// epoll_wait's timeout for a wait of `wait`: -1 for Clock::duration::max() (no timer),
// otherwise whole milliseconds rounded up, so a 0.3 ms deadline waits 1 ms instead of spinning
// through zero timeouts until it passes; capped at INT_MAX.
[[nodiscard]] int epoll_wait_timeout_ms(EventLoop::Clock::duration wait) noexcept;

}  // namespace lanparty::io::detail
