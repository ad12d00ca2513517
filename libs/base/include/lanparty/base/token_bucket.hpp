// SPDX-License-Identifier: MIT
// A token bucket: `rate` tokens a second up to `burst`. Pure policy: the caller passes the time,
// so one clock read serves many buckets and tests drive it without sleeping.
#pragma once

#include <algorithm>
#include <chrono>

namespace lanparty {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // Unlimited: take() always succeeds.
  TokenBucket() = default;
  // Starts full. rate <= 0 is unlimited.
  TokenBucket(double rate_per_second, double burst) noexcept
      : rate_(rate_per_second), burst_(std::max(burst, 1.0)), tokens_(burst_) {}

  [[nodiscard]] bool unlimited() const noexcept { return rate_ <= 0; }

  // Takes `amount` tokens if the bucket holds them; a refused take costs nothing.
  [[nodiscard]] bool take(Clock::time_point now, double amount = 1.0) noexcept {
    if (unlimited()) return true;
    refill(now);
    if (tokens_ < amount) return false;
    tokens_ -= amount;
    return true;
  }

  // Whether take(now, amount) would succeed; takes nothing.
  [[nodiscard]] bool holds(Clock::time_point now, double amount = 1.0) const noexcept {
    if (unlimited()) return true;
    return std::min(burst_, tokens_ + seconds_since(now) * rate_) >= amount;
  }

  // True when the bucket would be full at `now`: nothing to remember about its owner.
  [[nodiscard]] bool full_at(Clock::time_point now) const noexcept {
    if (unlimited()) return true;
    return tokens_ + seconds_since(now) * rate_ >= burst_;
  }

 private:
  [[nodiscard]] double seconds_since(Clock::time_point now) const noexcept {
    if (now <= last_) return 0;
    return std::chrono::duration<double>(now - last_).count();
  }
  void refill(Clock::time_point now) noexcept {
    // The first take fills from a bucket that started full: last_ only moves forward.
    if (last_ == Clock::time_point{}) {
      last_ = now;
      return;
    }
    tokens_ = std::min(burst_, tokens_ + seconds_since(now) * rate_);
    last_ = std::max(last_, now);
  }

  double rate_ = 0;
  double burst_ = 1;
  double tokens_ = 1;
  Clock::time_point last_{};
};

}  // namespace lanparty
