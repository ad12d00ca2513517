// SPDX-License-Identifier: MIT
// Single-threaded readiness loop (epoll on Linux, WSAEventSelect + WaitForMultipleObjects on
// Windows) with steady-clock timers; the one place the QUIC endpoints, the relay and the
// clients wait. The loop is also the clock seam: everything time-dependent reads now(), which
// is the steady clock, or for a loop made by create_simulated() the simulation's virtual time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/io/native_fd.hpp"

namespace lanparty::io {

class SimNetwork;

// Every member except stop() must be called from the thread that calls run()/run_until().
// Callbacks run on that thread, one at a time; they may add or remove fds and timers
// (including their own) and may call stop().
class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerId = std::uint64_t;
  using Fd = NativeFd;  // native_fd.hpp: an fd on Linux, a SOCKET on Windows
  // Portable names for the readiness bits; the values are epoll's EPOLLIN, EPOLLOUT, EPOLLERR.
  static constexpr std::uint32_t kReadable = 0x001;
  static constexpr std::uint32_t kWritable = 0x004;
  static constexpr std::uint32_t kError = 0x008;

  // A re-armable timer owned by the caller, for code that reschedules often (one per QUIC
  // connection): arm() and disarm() never allocate once the loop's heap has grown to the
  // number of armed timers. The callback may destroy the Timer itself (it is the last thing
  // the loop touches). Must not outlive the loop.
  class Timer {
   public:
    Timer(EventLoop& loop, std::function<void()> callback);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    // Fires once at (or soon after) deadline; re-arming an armed timer moves it.
    void arm(Clock::time_point deadline) noexcept;
    void disarm() noexcept;
    [[nodiscard]] bool armed() const noexcept { return heap_index_ != kNotArmed; }
    [[nodiscard]] Clock::time_point deadline() const noexcept { return deadline_; }

   private:
    friend class EventLoop;
    static constexpr std::size_t kNotArmed = static_cast<std::size_t>(-1);
    EventLoop* loop_;
    std::function<void()> callback_;
    Clock::time_point deadline_{};
    std::size_t heap_index_ = kNotArmed;
  };

  // Creates the epoll instance and the wake-up eventfd (on Windows: the wake-up event).
  [[nodiscard]] static Result<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // For tests: a loop whose clock is network's virtual clock and whose only waitables are
  // network's simulated sockets (sim_network.hpp). Waiting jumps virtual time to the next
  // timer or datagram delivery, so 30 idle seconds take microseconds. network must outlive
  // the loop; add_fd() accepts only simulated sockets' fds.
  [[nodiscard]] static Result<std::unique_ptr<EventLoop>> create_simulated(SimNetwork& network);

  // The steady clock, or the simulation's virtual time. Every timeout, expiry and rate limit
  // in code that runs on a loop reads this, never Clock::now(), so a simulated party runs
  // in virtual time. One predictable branch on the real clock's path.
  [[nodiscard]] Clock::time_point now() const noexcept {
    return virtual_now_ == nullptr ? Clock::now() : *virtual_now_;
  }
  // The network of a simulated loop; null for a real one.
  [[nodiscard]] SimNetwork* simulation() const noexcept { return sim_; }

  // One-shot timer. The id is never reused; cancelling a fired or unknown id does nothing.
  [[nodiscard]] TimerId add_timer(Clock::time_point deadline, std::function<void()> callback);
  void cancel_timer(TimerId id) noexcept;

  // Watches fd for epoll_events (EPOLLIN, EPOLLOUT, ...; kReadable/kWritable on Windows,
  // where fd is a socket); callback gets the ready events. The loop never closes fd.
  // kInvalidArgument if fd is already watched.
  [[nodiscard]] Status add_fd(Fd fd, std::uint32_t epoll_events,
                              std::function<void(std::uint32_t)> callback);
  // Changes the event mask of a watched fd.
  [[nodiscard]] Status modify_fd(Fd fd, std::uint32_t epoll_events);
  // Unknown fds are ignored. Safe from inside any callback, including fd's own.
  void remove_fd(Fd fd) noexcept;

  // Windows: calls callback whenever the event object (a HANDLE, e.g. the hEvent of an
  // OVERLAPPED read) is signalled; the callback must reset it (or re-issue the I/O that
  // does). At most 62 handles and sockets together (WaitForMultipleObjects' 64, minus the
  // wake-up event). The loop never closes the handle. Elsewhere, and on a simulated loop,
  // kUnsupportedPlatform (Linux waits on fds: add_fd).
  [[nodiscard]] Status add_handle(void* event, std::function<void()> callback);
  // Unknown handles are ignored.
  void remove_handle(void* event) noexcept;

  // Runs until stop(). Returns an error only if epoll itself fails.
  [[nodiscard]] Status run();
  // Runs until done() is true (checked after every wake-up), or fails with kTimedOut after
  // timeout, or with kClosed at a stop(). Returns at once if done() is already true. A stop()
  // made during the run, even in the turn that made done() true, is used up by it.
  [[nodiscard]] Status run_until(const std::function<bool()>& done, Clock::duration timeout);

  // Makes run() return after the current callback. Async-signal-safe (an eventfd write):
  // callable from a signal handler or another thread. A stop() before run() is kept.
  void stop() noexcept;

 private:
  // The OS readiness mechanism and its registrations (per-OS source files).
  struct Poller;

  explicit EventLoop(std::unique_ptr<Poller> poller) noexcept;
  explicit EventLoop(SimNetwork& network) noexcept;
  // Waits at most max_wait (or until the earliest timer), dispatches fds, then timers.
  [[nodiscard]] Status run_once(Clock::duration max_wait);
  // Per OS: waits up to `wait` (max() = forever) and runs the ready callbacks, returning
  // early when stop() was requested.
  [[nodiscard]] Status poll_and_dispatch(Clock::duration wait);
  // Per OS: the registrations and the wake-up behind add_fd/modify_fd/remove_fd/stop, used
  // when the loop is not simulated.
  [[nodiscard]] Status os_add_fd(Fd fd, std::uint32_t epoll_events,
                                 std::function<void(std::uint32_t)> callback);
  [[nodiscard]] Status os_modify_fd(Fd fd, std::uint32_t epoll_events);
  void os_remove_fd(Fd fd) noexcept;
  void os_wake() noexcept;
  // Dispatches to the per-OS or the simulated poller.
  [[nodiscard]] Status wait_and_dispatch(Clock::duration wait);
  [[nodiscard]] bool stop_requested() const noexcept {
    return stop_requested_.load(std::memory_order_acquire);
  }
  friend class SimNetwork;
  void run_expired_timers();

  void heap_insert(Timer* timer) noexcept;
  void heap_remove(Timer* timer) noexcept;
  void heap_sift_up(std::size_t index) noexcept;
  void heap_sift_down(std::size_t index) noexcept;
  void heap_swap(std::size_t a, std::size_t b) noexcept;

  std::unique_ptr<Poller> poller_;  // null for a simulated loop
  SimNetwork* sim_ = nullptr;
  const Clock::time_point* virtual_now_ = nullptr;  // the simulation's clock, when simulated
  std::atomic<bool> stop_requested_{false};
  std::vector<Timer*> heap_;  // min-heap on deadline; Timer::heap_index_ is its slot
  std::unordered_map<TimerId, std::unique_ptr<Timer>> one_shot_;
  TimerId next_timer_id_ = 1;
};

}  // namespace lanparty::io
