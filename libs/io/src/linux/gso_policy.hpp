// SPDX-License-Identifier: MIT
// When the Linux socket may build UDP GSO trains. A refused train (EIO from a device that
// cannot segment or checksum it, EINVAL) turns GSO off for a back-off that doubles while
// refusals go on; the first train accepted afterwards resets it. Pure: the time is passed in.
#pragma once

#include <algorithm>
#include <chrono>

namespace lanparty::io {

class GsoPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFirstBackoff{1000};
  static constexpr std::chrono::milliseconds kMaxBackoff{60000};

  // available: the kernel has UDP_SEGMENT and nobody forbade it (LANPARTY_QUIC_NO_GSO).
  explicit GsoPolicy(bool available) noexcept : available_(available) {}

  // True while a back-off runs: only then does allowed() need the time.
  [[nodiscard]] bool backing_off() const noexcept { return backing_off_; }

  // Whether trains may be built at now. After a back-off GSO is tried again; the back-off
  // keeps its doubled length until a train actually goes through.
  [[nodiscard]] bool allowed(Clock::time_point now) noexcept {
    if (!available_) return false;
    if (backing_off_ && now >= retry_at_) backing_off_ = false;
    return !backing_off_;
  }

  // A train went out.
  void on_accepted() noexcept { next_backoff_ = kFirstBackoff; }

  // The kernel refused a train at now: GSO is off until the returned back-off has passed.
  std::chrono::milliseconds on_refused(Clock::time_point now) noexcept {
    const std::chrono::milliseconds backoff = next_backoff_;
    backing_off_ = true;
    retry_at_ = now + backoff;
    next_backoff_ = std::min(backoff * 2, kMaxBackoff);
    return backoff;
  }

  // Off for good (tests, benchmarks).
  void disable() noexcept { available_ = false; }

 private:
  bool available_;
  bool backing_off_ = false;
  Clock::time_point retry_at_{};
  std::chrono::milliseconds next_backoff_ = kFirstBackoff;
};

}  // namespace lanparty::io
