// SPDX-License-Identifier: MIT
// EventLoop's Windows poller: each socket gets an event object through WSAEventSelect, plain
// handles (overlapped I/O events) are waited on directly, and one more event carries stop().
// WaitForMultipleObjects has millisecond timeouts, so sub-millisecond timer waits round up.
#include <windows.h>
#include <winsock2.h>

// After windows.h, which it builds on.
#include <timeapi.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/sim_network.hpp"

namespace lanparty::io {
namespace {

// One slot of WaitForMultipleObjects' 64 is the wake-up event.
constexpr std::size_t kMaxWaitables = MAXIMUM_WAIT_OBJECTS - 1;

Error windows_error(DWORD code, std::string context) {
  return Error{std::error_code(static_cast<int>(code), std::system_category()), std::move(context)};
}

// Winsock must be started before the first socket or getaddrinfo call; every loop holds one
// reference so creating an EventLoop is all a program needs to do.
class WinsockReference {
 public:
  WinsockReference() noexcept {
    WSADATA data;
    started_ = ::WSAStartup(MAKEWORD(2, 2), &data) == 0;
  }
  ~WinsockReference() {
    if (started_) ::WSACleanup();
  }
  WinsockReference(const WinsockReference&) = delete;
  WinsockReference& operator=(const WinsockReference&) = delete;
  [[nodiscard]] bool started() const noexcept { return started_; }

 private:
  bool started_ = false;
};

// 1 ms scheduler ticks while a loop exists (timeBeginPeriod), instead of Windows' default
// 15.6 ms: every QUIC timer and retransmission would otherwise be late by up to a tick.
class TimerResolution {
 public:
  TimerResolution() noexcept : active_(::timeBeginPeriod(1) == TIMERR_NOERROR) {}
  ~TimerResolution() {
    if (active_) ::timeEndPeriod(1);
  }
  TimerResolution(const TimerResolution&) = delete;
  TimerResolution& operator=(const TimerResolution&) = delete;

 private:
  bool active_;
};

}  // namespace

struct EventLoop::Poller {
  struct Entry {
    bool is_socket;
    Fd socket;     // is_socket
    HANDLE event;  // WSA event for a socket, the caller's handle otherwise
    std::uint32_t interest;
    std::uint64_t generation;
    std::function<void(std::uint32_t)> on_socket;
    std::function<void()> on_handle;
  };

  Poller() = default;
  ~Poller() {
    for (auto& entry : entries) {
      if (entry->is_socket) {
        ::WSAEventSelect(static_cast<SOCKET>(entry->socket), nullptr, 0);
        ::WSACloseEvent(entry->event);
      }
    }
    if (wake != nullptr) ::CloseHandle(wake);
  }
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  Entry* find_socket(Fd socket) noexcept {
    for (auto& e : entries) {
      if (e->is_socket && e->socket == socket) return e.get();
    }
    return nullptr;
  }
  Entry* find_generation(std::uint64_t generation) noexcept {
    for (auto& e : entries) {
      if (e->generation == generation) return e.get();
    }
    return nullptr;
  }

  WinsockReference winsock;
  TimerResolution resolution;
  HANDLE wake = nullptr;
  std::vector<std::unique_ptr<Entry>> entries;
  std::uint64_t next_generation = 1;
};

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  auto poller = std::make_unique<Poller>();
  if (!poller->winsock.started()) {
    return tl::unexpected(windows_error(static_cast<DWORD>(::WSAGetLastError()), "WSAStartup"));
  }
  // Auto-reset: one stop() wakes one wait.
  poller->wake = ::CreateEventW(nullptr, FALSE, FALSE, nullptr);
  if (poller->wake == nullptr) {
    return tl::unexpected(windows_error(::GetLastError(), "CreateEvent(wake-up)"));
  }
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(poller)));
}

EventLoop::EventLoop(std::unique_ptr<Poller> poller) noexcept : poller_(std::move(poller)) {
  heap_.reserve(64);
}

// A simulated loop (EventLoop::create_simulated): no OS poller, the network's clock. Here
// because only this file sees the Poller's destructor.
EventLoop::EventLoop(SimNetwork& network) noexcept : sim_(&network), virtual_now_(&network.now_) {
  heap_.reserve(64);
}

EventLoop::~EventLoop() {
  // Timers owned by others may still point here; they must not outlive the loop, but
  // detach them so a late destructor does not touch freed memory.
  for (Timer* t : heap_) t->heap_index_ = Timer::kNotArmed;
  heap_.clear();
}

Status EventLoop::os_add_fd(Fd fd, std::uint32_t epoll_events,
                            std::function<void(std::uint32_t)> callback) {
  if (fd == INVALID_SOCKET || poller_->find_socket(fd) != nullptr) {
    return fail(Errc::kInvalidArgument, "EventLoop::add_fd(" + std::to_string(fd) + ")");
  }
  if (poller_->entries.size() >= kMaxWaitables) {
    return fail(Errc::kTooLarge, "EventLoop::add_fd: at most 63 sockets and handles");
  }
  WSAEVENT event = ::WSACreateEvent();
  if (event == WSA_INVALID_EVENT) {
    return tl::unexpected(windows_error(static_cast<DWORD>(::WSAGetLastError()), "WSACreateEvent"));
  }
  // Every kind is selected; interest only filters what the callback hears. FD_WRITE is posted
  // once after connect and then only after a send failed with WSAEWOULDBLOCK, which is
  // exactly when the endpoint asks for kWritable.
  if (::WSAEventSelect(static_cast<SOCKET>(fd), event, FD_READ | FD_WRITE | FD_CLOSE) != 0) {
    const int err = ::WSAGetLastError();
    ::WSACloseEvent(event);
    return tl::unexpected(
        windows_error(static_cast<DWORD>(err), "WSAEventSelect(" + std::to_string(fd) + ")"));
  }
  poller_->entries.push_back(std::make_unique<Poller::Entry>(Poller::Entry{
      true, fd, event, epoll_events, poller_->next_generation++, std::move(callback), nullptr}));
  return ok();
}

Status EventLoop::os_modify_fd(Fd fd, std::uint32_t epoll_events) {
  Poller::Entry* entry = poller_->find_socket(fd);
  if (entry == nullptr) {
    return fail(Errc::kNotFound, "EventLoop::modify_fd(" + std::to_string(fd) + ")");
  }
  entry->interest = epoll_events;
  return ok();
}

void EventLoop::os_remove_fd(Fd fd) noexcept {
  auto& entries = poller_->entries;
  auto it = std::find_if(entries.begin(), entries.end(),
                         [fd](const auto& e) { return e->is_socket && e->socket == fd; });
  if (it == entries.end()) return;
  ::WSAEventSelect(static_cast<SOCKET>(fd), nullptr, 0);
  ::WSACloseEvent((*it)->event);
  entries.erase(it);
}

Status EventLoop::add_handle(void* event, std::function<void()> callback) {
  if (poller_ == nullptr) {
    return fail(Errc::kUnsupportedPlatform, "EventLoop::add_handle on a simulated loop");
  }
  auto& entries = poller_->entries;
  if (event == nullptr || std::any_of(entries.begin(), entries.end(), [event](const auto& e) {
        return !e->is_socket && e->event == event;
      })) {
    return fail(Errc::kInvalidArgument, "EventLoop::add_handle: null or already watched");
  }
  if (entries.size() >= kMaxWaitables) {
    return fail(Errc::kTooLarge, "EventLoop::add_handle: at most 63 sockets and handles");
  }
  entries.push_back(std::make_unique<Poller::Entry>(
      Poller::Entry{false, INVALID_SOCKET, static_cast<HANDLE>(event), 0,
                    poller_->next_generation++, nullptr, std::move(callback)}));
  return ok();
}

void EventLoop::remove_handle(void* event) noexcept {
  if (poller_ == nullptr) return;
  auto& entries = poller_->entries;
  std::erase_if(entries, [event](const auto& e) { return !e->is_socket && e->event == event; });
}

void EventLoop::os_wake() noexcept {
  // SetEvent is safe from a console control handler, which Windows runs on its own thread.
  ::SetEvent(poller_->wake);
}

Status EventLoop::poll_and_dispatch(Clock::duration wait) {
  std::array<HANDLE, MAXIMUM_WAIT_OBJECTS> handles{};
  std::array<std::uint64_t, MAXIMUM_WAIT_OBJECTS> generations{};
  DWORD count = 0;
  handles[count++] = poller_->wake;
  for (const auto& entry : poller_->entries) {
    generations[count] = entry->generation;
    handles[count++] = entry->event;
  }

  DWORD timeout_ms = INFINITE;
  if (wait != Clock::duration::max()) {
    // Round up: waking before the timer is due would only spin. With 1 ms ticks (see
    // TimerResolution) a paced connection then sends its quantum at most a tick late.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    timeout_ms = static_cast<DWORD>(std::min<long long>(ms, INFINITE - 1));
  }
  const DWORD rc = ::WaitForMultipleObjects(count, handles.data(), FALSE, timeout_ms);
  if (rc == WAIT_TIMEOUT) return ok();
  if (rc == WAIT_FAILED) {
    return tl::unexpected(windows_error(::GetLastError(), "WaitForMultipleObjects"));
  }

  // WaitForMultipleObjects reports only the lowest signalled index, and it has already reset
  // that object if it is an auto-reset event: it is ready without asking again. The others
  // are polled so a busy socket early in the list cannot starve the rest.
  const DWORD woken = rc - WAIT_OBJECT_0;
  for (DWORD i = 1; i < count; ++i) {
    Poller::Entry* entry = poller_->find_generation(generations[i]);
    // An earlier callback in this round may have removed (or replaced) this registration.
    if (entry == nullptr) continue;
    if (entry->is_socket) {
      WSANETWORKEVENTS happened{};
      if (::WSAEnumNetworkEvents(static_cast<SOCKET>(entry->socket), entry->event, &happened) !=
              0 ||
          happened.lNetworkEvents == 0) {
        continue;
      }
      std::uint32_t ready = 0;
      if ((happened.lNetworkEvents & (FD_READ | FD_CLOSE)) != 0) ready |= kReadable;
      if ((happened.lNetworkEvents & FD_WRITE) != 0) ready |= kWritable;
      ready &= entry->interest | kError;
      if (ready != 0) entry->on_socket(ready);
    } else {
      if (i != woken && ::WaitForSingleObject(entry->event, 0) != WAIT_OBJECT_0) continue;
      entry->on_handle();
    }
    if (stop_requested_.load(std::memory_order_acquire)) return ok();
  }
  return ok();
}

}  // namespace lanparty::io
