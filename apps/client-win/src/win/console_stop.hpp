// SPDX-License-Identifier: MIT
// Shutdown on Ctrl+C, Ctrl+Break, closing the console window, logoff and system shutdown: the
// Windows counterpart of the Linux apps' signalfd loop.
#pragma once

#include <chrono>
#include <functional>

#include "lanparty/base/result.hpp"
#include "lanparty/io/event_loop.hpp"

namespace lanparty::client_win {

// Installs the console handler for `loop`. While the returned object lives, a console event
// stops the loop; for window close, logoff and shutdown the handler then holds Windows off
// (up to ~4 s) until the object is destroyed, so the route and metric guards, which are
// destroyed before it, get to restore what they changed.
class ConsoleStop {
 public:
  [[nodiscard]] static Result<ConsoleStop> install(io::EventLoop& loop);
  ConsoleStop(ConsoleStop&& other) noexcept;
  ConsoleStop& operator=(ConsoleStop&&) = delete;
  ConsoleStop(const ConsoleStop&) = delete;
  ConsoleStop& operator=(const ConsoleStop&) = delete;
  ~ConsoleStop();

  // True once a console event asked us to stop.
  [[nodiscard]] static bool requested() noexcept;

 private:
  ConsoleStop() = default;
  bool armed_ = false;
};

}  // namespace lanparty::client_win
