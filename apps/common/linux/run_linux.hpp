// SPDX-License-Identifier: MIT
// The Linux half of app_support: running a device's loop until SIGINT/SIGTERM. Windows runs
// its loop differently (apps/client-win), so this header is only on the Linux apps' path.
#pragma once

#include <string_view>

#include "app_support.hpp"
#include "lanparty/base/result.hpp"
#include "lanparty/client_core/runner.hpp"
#include "lanparty/io/event_loop.hpp"

namespace lanparty::apps {

// Runs the loop until SIGINT/SIGTERM, then stops the runner (disconnect, close) and waits for
// the close to go out, at most ~1 s. A second signal ends at once.
[[nodiscard]] Status run_until_signal(io::EventLoop& loop, client_core::Runner& runner);

// Wires port and runner, watches the device fd, and runs until a signal (run_until_signal).
// Returns the process exit code: 0, 1 after a reject retrying cannot fix, 2 on a loop error.
[[nodiscard]] int run_device(std::string_view program, io::EventLoop& loop,
                             client_core::Runner& runner, DevicePort& port, int device_fd);

}  // namespace lanparty::apps
