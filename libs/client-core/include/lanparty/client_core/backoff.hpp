// SPDX-License-Identifier: MIT
// Reconnect delays: exponential with full-range jitter so a relay restart is not met by every
// client at the same instant. Randomness comes in as a number, so tests are deterministic.
#pragma once

#include <algorithm>
#include <chrono>

namespace lanparty::client_core {

class Backoff {
 public:
  struct Config {
    std::chrono::milliseconds initial{250};
    std::chrono::milliseconds max{15000};
    double factor = 2.0;
    double jitter = 0.5;  // the delay is spread over [base * (1 - jitter), base]
  };

  Backoff() = default;
  explicit Backoff(Config config) noexcept : config_(config) {}

  // The next delay; `random_unit` is uniform in [0, 1).
  [[nodiscard]] std::chrono::milliseconds next(double random_unit) noexcept {
    const double base = static_cast<double>(current_.count());
    const double spread = base * config_.jitter * std::clamp(random_unit, 0.0, 1.0);
    const auto delay = std::chrono::milliseconds(static_cast<long long>(base - spread));
    const double grown = base * config_.factor;
    current_ = std::chrono::milliseconds(
        static_cast<long long>(std::min(grown, static_cast<double>(config_.max.count()))));
    return delay;
  }

  // After a successful join: the next loss starts again from the initial delay.
  void reset() noexcept { current_ = config_.initial; }

  [[nodiscard]] std::chrono::milliseconds current_base() const noexcept { return current_; }

 private:
  Config config_{};
  std::chrono::milliseconds current_{config_.initial};
};

}  // namespace lanparty::client_core
