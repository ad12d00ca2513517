// SPDX-License-Identifier: MIT
// SetConsoleCtrlHandler plumbing. Windows calls the handler on a thread of its own, so it only
// touches atomics, EventLoop::stop() (thread-safe) and an event object.
#include "console_stop.hpp"

#include <windows.h>

#include <atomic>
#include <system_error>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_win {
namespace {

std::atomic<io::EventLoop*> g_loop{nullptr};
std::atomic<bool> g_requested{false};
HANDLE g_cleaned_up = nullptr;  // set when the ConsoleStop is destroyed

BOOL WINAPI on_console_event(DWORD type) noexcept {
  g_requested.store(true);
  if (io::EventLoop* loop = g_loop.load()) loop->stop();
  switch (type) {
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      // Returning ends the process at once; Windows allows about 5 s before it does anyway.
      if (g_cleaned_up != nullptr) ::WaitForSingleObject(g_cleaned_up, 4000);
      return TRUE;
    default:
      return TRUE;  // Ctrl+C / Ctrl+Break: handled, the main thread winds down
  }
}

}  // namespace

Result<ConsoleStop> ConsoleStop::install(io::EventLoop& loop) {
  if (g_loop.load() != nullptr) {
    return fail(Errc::kInvalidArgument, "ConsoleStop: already installed");
  }
  g_cleaned_up = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (g_cleaned_up == nullptr) {
    return fail(std::error_code(static_cast<int>(::GetLastError()), std::system_category()),
                "CreateEvent(console clean-up)");
  }
  g_loop.store(&loop);
  if (!::SetConsoleCtrlHandler(on_console_event, TRUE)) {
    const DWORD error = ::GetLastError();
    g_loop.store(nullptr);
    ::CloseHandle(g_cleaned_up);
    g_cleaned_up = nullptr;
    return fail(std::error_code(static_cast<int>(error), std::system_category()),
                "SetConsoleCtrlHandler");
  }
  ConsoleStop stop;
  stop.armed_ = true;
  return stop;
}

ConsoleStop::ConsoleStop(ConsoleStop&& other) noexcept : armed_(other.armed_) {
  other.armed_ = false;
}

ConsoleStop::~ConsoleStop() {
  if (!armed_) return;
  g_loop.store(nullptr);
  // Lets a handler that waits for a window close go on; the handler stays registered so a
  // late Ctrl+C during exit is still swallowed instead of killing the clean-up.
  ::SetEvent(g_cleaned_up);
}

bool ConsoleStop::requested() noexcept { return g_requested.load(); }

}  // namespace lanparty::client_win
