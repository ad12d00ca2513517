// SPDX-License-Identifier: MIT
// EventLoop's Linux poller: epoll_pwait2 for nanosecond timeouts (ngtcp2 paces packets finer
// than a millisecond), epoll_wait where the kernel lacks or forbids it (epoll_wait.hpp), and an
// eventfd for stop().
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <string>
#include <unordered_map>
#include <utility>

#include "epoll_wait.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/sim_network.hpp"

namespace lanparty::io::detail {
namespace {

int real_epoll_pwait2(int epfd, epoll_event* events, int maxevents, const timespec* timeout,
                      const sigset_t* sigmask) {
  return ::epoll_pwait2(epfd, events, maxevents, timeout, sigmask);
}

// Process-wide: whether some loop found epoll_pwait2 unusable, what a test forces, and the
// function tests may replace.
std::atomic<bool> g_pwait2_unusable{false};
std::atomic<int> g_forced{-1};  // -1: none, else an EpollWait
std::atomic<EpollPwait2Fn> g_pwait2{&real_epoll_pwait2};

}  // namespace

EpollWait default_epoll_wait() noexcept {
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<EpollWait>(forced);
  return g_pwait2_unusable.load(std::memory_order_relaxed) ? EpollWait::kWait : EpollWait::kPwait2;
}

void set_epoll_wait_for_tests(std::optional<EpollWait> call) noexcept {
  g_forced.store(call ? static_cast<int>(*call) : -1, std::memory_order_relaxed);
}

void set_epoll_pwait2_for_tests(EpollPwait2Fn fn) noexcept {
  g_pwait2.store(fn != nullptr ? fn : &real_epoll_pwait2, std::memory_order_relaxed);
  g_pwait2_unusable.store(false, std::memory_order_relaxed);
}

int epoll_wait_timeout_ms(EventLoop::Clock::duration wait) noexcept {
  if (wait == EventLoop::Clock::duration::max()) return -1;
  if (wait <= EventLoop::Clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return ms >= INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace lanparty::io::detail

namespace lanparty::io {

static_assert(EventLoop::kReadable == EPOLLIN && EventLoop::kWritable == EPOLLOUT &&
              EventLoop::kError == EPOLLERR);

namespace {

constexpr std::uint64_t kWakeTag = ~std::uint64_t{0};

std::uint64_t tag_of(int fd, std::uint64_t generation) noexcept {
  return (generation << 32) | static_cast<std::uint32_t>(fd);
}

}  // namespace

struct EventLoop::Poller {
  struct FdEntry {
    int fd;
    std::uint64_t generation;
    std::function<void(std::uint32_t)> callback;
  };

  Poller(int epoll, int wake) noexcept
      : epoll_fd(epoll), wake_fd(wake), wait_call(detail::default_epoll_wait()) {}
  ~Poller() {
    ::close(wake_fd);
    ::close(epoll_fd);
  }
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  int epoll_fd;
  int wake_fd;
  detail::EpollWait wait_call;
  std::unordered_map<int, std::unique_ptr<FdEntry>> fds;
  std::uint64_t next_generation = 1;
};

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return fail_errno(errno, "epoll_create1");
  const int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    const int err = errno;
    ::close(epoll_fd);
    return fail_errno(err, "eventfd");
  }
  auto poller = std::make_unique<Poller>(epoll_fd, wake_fd);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev) != 0) {
    return fail_errno(errno, "epoll_ctl(ADD eventfd)");
  }
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(poller)));
}

EventLoop::EventLoop(std::unique_ptr<Poller> poller) noexcept : poller_(std::move(poller)) {
  heap_.reserve(1024);
}

// A simulated loop (EventLoop::create_simulated): no OS poller, the network's clock. Here
// because only this file sees the Poller's destructor.
EventLoop::EventLoop(SimNetwork& network) noexcept : sim_(&network), virtual_now_(&network.now_) {
  heap_.reserve(1024);
}

EventLoop::~EventLoop() {
  // Timers owned by others may still point here; they must not outlive the loop, but
  // detach them so a late destructor does not touch freed memory.
  for (Timer* t : heap_) t->heap_index_ = Timer::kNotArmed;
  heap_.clear();
}

Status EventLoop::os_add_fd(Fd fd, std::uint32_t epoll_events,
                            std::function<void(std::uint32_t)> callback) {
  if (fd < 0 || poller_->fds.contains(fd)) {
    return fail(Errc::kInvalidArgument, "EventLoop::add_fd(" + std::to_string(fd) + ")");
  }
  auto entry = std::make_unique<Poller::FdEntry>(
      Poller::FdEntry{fd, poller_->next_generation++, std::move(callback)});
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.u64 = tag_of(fd, entry->generation);
  if (::epoll_ctl(poller_->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return fail_errno(errno, "epoll_ctl(ADD " + std::to_string(fd) + ")");
  }
  poller_->fds.emplace(fd, std::move(entry));
  return ok();
}

Status EventLoop::os_modify_fd(Fd fd, std::uint32_t epoll_events) {
  auto it = poller_->fds.find(fd);
  if (it == poller_->fds.end()) {
    return fail(Errc::kNotFound, "EventLoop::modify_fd(" + std::to_string(fd) + ")");
  }
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.u64 = tag_of(fd, it->second->generation);
  if (::epoll_ctl(poller_->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return fail_errno(errno, "epoll_ctl(MOD " + std::to_string(fd) + ")");
  }
  return ok();
}

void EventLoop::os_remove_fd(Fd fd) noexcept {
  auto it = poller_->fds.find(fd);
  if (it == poller_->fds.end()) return;
  (void)::epoll_ctl(poller_->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
  poller_->fds.erase(it);
}

// Linux waits on descriptors only; an event handle is a Windows notion.
Status EventLoop::add_handle(void* /*event*/, std::function<void()> /*callback*/) {
  return fail(Errc::kUnsupportedPlatform, "EventLoop::add_handle: Windows only (use add_fd)");
}

void EventLoop::remove_handle(void* /*event*/) noexcept {}

void EventLoop::os_wake() noexcept {
  const std::uint64_t one = 1;
  // write(2) is async-signal-safe; EAGAIN means a wake-up is already pending.
  [[maybe_unused]] const ssize_t n = ::write(poller_->wake_fd, &one, sizeof(one));
}

Status EventLoop::poll_and_dispatch(Clock::duration wait) {
  std::array<epoll_event, 64> events;
  const int max_events = static_cast<int>(events.size());
  int n = -1;
  if (poller_->wait_call == detail::EpollWait::kPwait2) {
    timespec ts{};
    const timespec* tsp = nullptr;
    if (wait != Clock::duration::max()) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      tsp = &ts;
    }
    n = detail::g_pwait2.load(std::memory_order_relaxed)(poller_->epoll_fd, events.data(),
                                                         max_events, tsp, nullptr);
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
      // No such syscall (before Linux 5.11), or a seccomp filter refuses it: epoll_wait from
      // now on, for every loop of this process.
      poller_->wait_call = detail::EpollWait::kWait;
      detail::g_pwait2_unusable.store(true, std::memory_order_relaxed);
    }
  }
  if (poller_->wait_call == detail::EpollWait::kWait) {
    n = ::epoll_wait(poller_->epoll_fd, events.data(), max_events,
                     detail::epoll_wait_timeout_ms(wait));
  }
  if (n < 0) {
    if (errno == EINTR) return ok();
    return fail_errno(
        errno, poller_->wait_call == detail::EpollWait::kPwait2 ? "epoll_pwait2" : "epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
    if (tag == kWakeTag) {
      std::uint64_t value = 0;
      [[maybe_unused]] const ssize_t r = ::read(poller_->wake_fd, &value, sizeof(value));
      continue;
    }
    const int fd = static_cast<int>(static_cast<std::uint32_t>(tag));
    auto it = poller_->fds.find(fd);
    // A callback earlier in this batch may have removed (or replaced) this fd.
    if (it == poller_->fds.end() || tag_of(fd, it->second->generation) != tag) continue;
    it->second->callback(events[static_cast<std::size_t>(i)].events);
    if (stop_requested_.load(std::memory_order_acquire)) return ok();
  }
  return ok();
}

}  // namespace lanparty::io
