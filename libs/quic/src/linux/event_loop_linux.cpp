// SPDX-License-Identifier: MIT
// EventLoop's Linux poller: epoll_pwait2 for nanosecond timeouts (ngtcp2 paces packets finer
// than a millisecond) and an eventfd for stop().
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <string>
#include <unordered_map>
#include <utility>

#include "lanparty/base/errc.hpp"
#include "lanparty/quic/event_loop.hpp"

namespace lanparty::quic {

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

  Poller(int epoll, int wake) noexcept : epoll_fd(epoll), wake_fd(wake) {}
  ~Poller() {
    ::close(wake_fd);
    ::close(epoll_fd);
  }
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  int epoll_fd;
  int wake_fd;
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

EventLoop::~EventLoop() {
  // Timers owned by others may still point here; they must not outlive the loop, but
  // detach them so a late destructor does not touch freed memory.
  for (Timer* t : heap_) t->heap_index_ = Timer::kNotArmed;
  heap_.clear();
}

Status EventLoop::add_fd(Fd fd, std::uint32_t epoll_events,
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

Status EventLoop::modify_fd(Fd fd, std::uint32_t epoll_events) {
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

void EventLoop::remove_fd(Fd fd) noexcept {
  auto it = poller_->fds.find(fd);
  if (it == poller_->fds.end()) return;
  (void)::epoll_ctl(poller_->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
  poller_->fds.erase(it);
}

void EventLoop::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  // write(2) is async-signal-safe; EAGAIN means a wake-up is already pending.
  [[maybe_unused]] const ssize_t n = ::write(poller_->wake_fd, &one, sizeof(one));
}

Status EventLoop::poll_and_dispatch(Clock::duration wait) {
  timespec ts{};
  const timespec* tsp = nullptr;
  if (wait != Clock::duration::max()) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }

  std::array<epoll_event, 64> events;
  const int n = ::epoll_pwait2(poller_->epoll_fd, events.data(), static_cast<int>(events.size()),
                               tsp, nullptr);
  if (n < 0) {
    if (errno == EINTR) return ok();
    return fail_errno(errno, "epoll_pwait2");
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

}  // namespace lanparty::quic
