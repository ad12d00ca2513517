// SPDX-License-Identifier: MIT
// A Sink decorator that caps how many lines each event name may write, so a flood of
// connections (or of errors) cannot fill the disk; what it holds back is counted and reported.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "lanparty/obs/log.hpp"

namespace lanparty::obs {

// A token bucket: `burst` lines at once, then `per_second` lines a second.
struct RateLimit {
  std::uint32_t burst = 20;
  std::uint32_t per_second = 5;
};

struct RateLimitConfig {
  RateLimit normal{.burst = 20, .per_second = 5};  // info and warn (and debug if limited)
  // Errors get their own, larger budget: they matter more, but a storm of them must not fill
  // the disk either.
  RateLimit errors{.burst = 100, .per_second = 20};
  // Debug is off by default and switched on to watch every frame: holding lines back then
  // would make a missing line look like a missing frame, so debug passes unlimited unless this
  // is set.
  bool limit_debug = false;
  // At most one `log.suppressed` line per event name and level this often; also how often
  // writes check every name for counts still to report.
  std::chrono::milliseconds report_interval{1000};
};

// Wraps any Sink. Each (event name, level) pair has its own bucket, keyed by the name's text
// (never its pointer). A line over budget is counted, not written. Once the suppression is
// report_interval old, the next write of that name (or the next write of any event, which
// checks every name at most once per report_interval) first writes
//   log.suppressed name=<event name> suppressed=<N>
// at the level of the suppressed lines. (The field is `name`, not `event`: JsonLinesSink
// already writes the line's own name under "event".) The destructor reports what is still
// pending.
//
// Thread-safe and noexcept, like every Sink. No allocation per write: the table is a fixed
// array; names longer than kMaxNameBytes are told apart by their hash and length and
// reported cut to that length. When the table is full, unknown names share one bucket per
// level, reported as `(other)`.
class RateLimitedSink final : public Sink {
 public:
  using Clock = std::chrono::steady_clock;
  // Returns the current time; tests pass a fake. Must not throw.
  using NowFn = std::function<Clock::time_point()>;

  static constexpr std::size_t kSlots = 256;
  static constexpr std::size_t kMaxNameBytes = 64;

  // `inner` is not owned and must outlive this sink.
  explicit RateLimitedSink(Sink& inner, RateLimitConfig config = {}, NowFn now = {});
  // Owns `inner` (must not be null); it is destroyed after the final report.
  explicit RateLimitedSink(std::unique_ptr<Sink> inner, RateLimitConfig config = {},
                           NowFn now = {});
  ~RateLimitedSink() override;
  RateLimitedSink(const RateLimitedSink&) = delete;
  RateLimitedSink& operator=(const RateLimitedSink&) = delete;

  void write(const Event& event) noexcept override;

  // Writes a `log.suppressed` line for every name with an unreported count, due or not.
  void flush() noexcept;

  // Lines held back since construction (all names and levels).
  [[nodiscard]] std::uint64_t suppressed_total() const noexcept;

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t name_size = 0;  // full size; at most kMaxNameBytes of it are kept
    Level level = Level::kInfo;
    bool used = false;
    std::array<char, kMaxNameBytes> name{};
    std::uint64_t nano_tokens = 0;  // tokens * 1e9, so refills are exact integers
    Clock::time_point refilled{};
    std::uint64_t suppressed = 0;          // held back since the last report
    Clock::time_point suppressed_since{};  // when the first of them was held back
  };

  [[nodiscard]] Slot& slot_for(const Event& event, std::uint64_t hash, Clock::time_point now);
  [[nodiscard]] const RateLimit& limit_for(Level level) const noexcept;
  void refill(Slot& slot, Clock::time_point now) const noexcept;
  void report(Slot& slot) noexcept;
  void sweep(Clock::time_point now, bool force) noexcept;

  std::unique_ptr<Sink> owned_;
  Sink& inner_;
  RateLimitConfig config_;
  NowFn now_;

  mutable std::mutex mutex_;
  std::array<Slot, kSlots> slots_{};
  std::array<Slot, 5> overflow_{};  // one per Level, for names the full table cannot hold
  Clock::time_point next_sweep_{};
  std::uint64_t suppressed_total_ = 0;
};

}  // namespace lanparty::obs
