// SPDX-License-Identifier: MIT
// EventLoop on epoll: epoll_pwait2 for nanosecond timeouts (ngtcp2 paces packets finer than a
// millisecond), an eventfd for stop(), and an indexed min-heap of timers.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <utility>

#include "lanparty/base/check.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/quic/event_loop.hpp"

namespace lanparty::quic {
namespace {

constexpr std::uint64_t kWakeTag = ~std::uint64_t{0};

std::uint64_t tag_of(int fd, std::uint64_t generation) noexcept {
  return (generation << 32) | static_cast<std::uint32_t>(fd);
}

}  // namespace

// --- Timer -------------------------------------------------------------------------------

EventLoop::Timer::Timer(EventLoop& loop, std::function<void()> callback)
    : loop_(&loop), callback_(std::move(callback)) {}

EventLoop::Timer::~Timer() { disarm(); }

void EventLoop::Timer::arm(Clock::time_point deadline) noexcept {
  if (armed()) {
    const bool earlier = deadline < deadline_;
    deadline_ = deadline;
    if (earlier) {
      loop_->heap_sift_up(heap_index_);
    } else {
      loop_->heap_sift_down(heap_index_);
    }
    return;
  }
  deadline_ = deadline;
  loop_->heap_insert(this);
}

void EventLoop::Timer::disarm() noexcept {
  if (armed()) loop_->heap_remove(this);
}

// --- EventLoop ---------------------------------------------------------------------------

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return fail_errno(errno, "epoll_create1");
  const int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    const int err = errno;
    ::close(epoll_fd);
    return fail_errno(err, "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev) != 0) {
    const int err = errno;
    ::close(wake_fd);
    ::close(epoll_fd);
    return fail_errno(err, "epoll_ctl(ADD eventfd)");
  }
  return std::unique_ptr<EventLoop>(new EventLoop(epoll_fd, wake_fd));
}

EventLoop::EventLoop(int epoll_fd, int wake_fd) noexcept : epoll_fd_(epoll_fd), wake_fd_(wake_fd) {
  heap_.reserve(1024);
}

EventLoop::~EventLoop() {
  // Timers owned by others may still point here; they must not outlive the loop, but
  // detach them so a late destructor does not touch freed memory.
  for (Timer* t : heap_) t->heap_index_ = Timer::kNotArmed;
  heap_.clear();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

EventLoop::TimerId EventLoop::add_timer(Clock::time_point deadline,
                                        std::function<void()> callback) {
  const TimerId id = next_timer_id_++;
  // The one-shot wrapper erases itself after moving the callback out, so the callback may
  // add or cancel timers freely.
  auto timer = std::make_unique<Timer>(*this, [this, id, cb = std::move(callback)]() mutable {
    auto local = std::move(cb);
    one_shot_.erase(id);  // destroys this lambda; only `local` is used below
    local();
  });
  timer->arm(deadline);
  one_shot_.emplace(id, std::move(timer));
  return id;
}

void EventLoop::cancel_timer(TimerId id) noexcept { one_shot_.erase(id); }

Status EventLoop::add_fd(int fd, std::uint32_t epoll_events,
                         std::function<void(std::uint32_t)> callback) {
  if (fd < 0 || fds_.contains(fd)) {
    return fail(Errc::kInvalidArgument, "EventLoop::add_fd(" + std::to_string(fd) + ")");
  }
  auto entry = std::make_unique<FdEntry>(FdEntry{fd, next_generation_++, std::move(callback)});
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.u64 = tag_of(fd, entry->generation);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return fail_errno(errno, "epoll_ctl(ADD " + std::to_string(fd) + ")");
  }
  fds_.emplace(fd, std::move(entry));
  return ok();
}

Status EventLoop::modify_fd(int fd, std::uint32_t epoll_events) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) {
    return fail(Errc::kNotFound, "EventLoop::modify_fd(" + std::to_string(fd) + ")");
  }
  epoll_event ev{};
  ev.events = epoll_events;
  ev.data.u64 = tag_of(fd, it->second->generation);
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return fail_errno(errno, "epoll_ctl(MOD " + std::to_string(fd) + ")");
  }
  return ok();
}

void EventLoop::remove_fd(int fd) noexcept {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  fds_.erase(it);
}

void EventLoop::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  // write(2) is async-signal-safe; EAGAIN means a wake-up is already pending.
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

Status EventLoop::run() {
  while (!stop_requested_.exchange(false, std::memory_order_acq_rel)) {
    if (auto s = run_once(Clock::duration::max()); !s) return s;
  }
  return ok();
}

Status EventLoop::run_until(const std::function<bool()>& done, Clock::duration timeout) {
  const auto deadline = now() + timeout;
  while (!done()) {
    const auto left = deadline - now();
    if (left <= Clock::duration::zero()) {
      return fail(Errc::kTimedOut, "EventLoop::run_until");
    }
    if (auto s = run_once(left); !s) return s;
  }
  return ok();
}

Status EventLoop::run_once(Clock::duration max_wait) {
  Clock::duration wait = max_wait;
  if (!heap_.empty()) {
    const auto until_timer = heap_.front()->deadline_ - now();
    if (until_timer < wait) wait = until_timer;
  }
  if (wait < Clock::duration::zero()) wait = Clock::duration::zero();

  timespec ts{};
  const timespec* tsp = nullptr;
  if (wait != Clock::duration::max()) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }

  std::array<epoll_event, 64> events;
  const int n =
      ::epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events.size()), tsp, nullptr);
  if (n < 0) {
    if (errno == EINTR) return ok();
    return fail_errno(errno, "epoll_pwait2");
  }
  for (int i = 0; i < n; ++i) {
    const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
    if (tag == kWakeTag) {
      std::uint64_t value = 0;
      [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &value, sizeof(value));
      continue;
    }
    const int fd = static_cast<int>(static_cast<std::uint32_t>(tag));
    auto it = fds_.find(fd);
    // A callback earlier in this batch may have removed (or replaced) this fd.
    if (it == fds_.end() || tag_of(fd, it->second->generation) != tag) continue;
    FdEntry* entry = it->second.get();
    entry->callback(events[static_cast<std::size_t>(i)].events);
    if (stop_requested_.load(std::memory_order_acquire)) return ok();
  }
  run_expired_timers();
  return ok();
}

void EventLoop::run_expired_timers() {
  const auto t = now();
  // Timers armed by these callbacks for "now" run on the next turn, after I/O, so a timer
  // that keeps re-arming itself cannot starve the sockets.
  std::size_t budget = heap_.size();
  while (!heap_.empty() && budget-- > 0 && heap_.front()->deadline_ <= t) {
    Timer* timer = heap_.front();
    heap_remove(timer);
    timer->callback_();  // last access: the callback may destroy the timer
    if (stop_requested_.load(std::memory_order_acquire)) return;
  }
}

// --- heap --------------------------------------------------------------------------------

void EventLoop::heap_insert(Timer* timer) noexcept {
  timer->heap_index_ = heap_.size();
  heap_.push_back(timer);
  heap_sift_up(timer->heap_index_);
}

void EventLoop::heap_remove(Timer* timer) noexcept {
  const std::size_t index = timer->heap_index_;
  LANPARTY_DCHECK(index < heap_.size() && heap_[index] == timer);
  const std::size_t last = heap_.size() - 1;
  if (index != last) {
    heap_swap(index, last);
    heap_.pop_back();
    heap_sift_down(index);
    heap_sift_up(index);
  } else {
    heap_.pop_back();
  }
  timer->heap_index_ = Timer::kNotArmed;
}

void EventLoop::heap_sift_up(std::size_t index) noexcept {
  while (index > 0) {
    const std::size_t parent = (index - 1) / 2;
    if (!(heap_[index]->deadline_ < heap_[parent]->deadline_)) break;
    heap_swap(index, parent);
    index = parent;
  }
}

void EventLoop::heap_sift_down(std::size_t index) noexcept {
  const std::size_t size = heap_.size();
  for (;;) {
    const std::size_t left = 2 * index + 1;
    const std::size_t right = left + 1;
    std::size_t smallest = index;
    if (left < size && heap_[left]->deadline_ < heap_[smallest]->deadline_) smallest = left;
    if (right < size && heap_[right]->deadline_ < heap_[smallest]->deadline_) smallest = right;
    if (smallest == index) return;
    heap_swap(index, smallest);
    index = smallest;
  }
}

void EventLoop::heap_swap(std::size_t a, std::size_t b) noexcept {
  std::swap(heap_[a], heap_[b]);
  heap_[a]->heap_index_ = a;
  heap_[b]->heap_index_ = b;
}

}  // namespace lanparty::quic
