// SPDX-License-Identifier: MIT
// The OS-independent half of EventLoop: timers (an indexed min-heap) and the run loops. The
// per-OS files supply the Poller and poll_and_dispatch.
#include <utility>

#include "lanparty/base/check.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/sim_network.hpp"

namespace lanparty::io {

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

Result<std::unique_ptr<EventLoop>> EventLoop::create_simulated(SimNetwork& network) {
  return std::unique_ptr<EventLoop>(new EventLoop(network));
}

Status EventLoop::add_fd(Fd fd, std::uint32_t epoll_events,
                         std::function<void(std::uint32_t)> callback) {
  if (sim_ != nullptr) return sim_->watch(fd, epoll_events, std::move(callback));
  return os_add_fd(fd, epoll_events, std::move(callback));
}

Status EventLoop::modify_fd(Fd fd, std::uint32_t epoll_events) {
  if (sim_ != nullptr) return sim_->modify_watch(fd, epoll_events);
  return os_modify_fd(fd, epoll_events);
}

void EventLoop::remove_fd(Fd fd) noexcept {
  if (sim_ != nullptr) {
    sim_->unwatch(fd);
    return;
  }
  os_remove_fd(fd);
}

void EventLoop::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  // A simulated loop is single-threaded and never blocks: the flag is enough.
  if (poller_ != nullptr) os_wake();
}

Status EventLoop::wait_and_dispatch(Clock::duration wait) {
  if (sim_ != nullptr) return sim_->advance_and_dispatch(*this, wait);
  return poll_and_dispatch(wait);
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

Status EventLoop::run() {
  while (!stop_requested_.exchange(false, std::memory_order_acq_rel)) {
    if (auto s = run_once(Clock::duration::max()); !s) return s;
  }
  return ok();
}

Status EventLoop::run_until(const std::function<bool()>& done, Clock::duration timeout) {
  const auto deadline = now() + timeout;
  while (!done()) {
    // A stop() ends this run and is used up by it, as run() does.
    if (stop_requested_.exchange(false, std::memory_order_acq_rel)) {
      return fail(Errc::kClosed, "EventLoop::run_until: stop() was called");
    }
    const auto left = deadline - now();
    if (left <= Clock::duration::zero()) {
      return fail(Errc::kTimedOut, "EventLoop::run_until");
    }
    if (auto s = run_once(left); !s) return s;
  }
  // So is one made in the turn that made done() true (a callback that stops the loop once it
  // has what the caller waits for): kept, it would end the next run before it dispatched
  // anything, and a graceful leave after it would never write its goodbye.
  stop_requested_.store(false, std::memory_order_release);
  return ok();
}

Status EventLoop::run_once(Clock::duration max_wait) {
  Clock::duration wait = max_wait;
  if (!heap_.empty()) {
    const auto until_timer = heap_.front()->deadline_ - now();
    if (until_timer < wait) wait = until_timer;
  }
  if (wait < Clock::duration::zero()) wait = Clock::duration::zero();
  if (auto s = wait_and_dispatch(wait); !s) return s;
  if (stop_requested_.load(std::memory_order_acquire)) return ok();
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

}  // namespace lanparty::io
