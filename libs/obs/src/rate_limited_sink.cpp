// SPDX-License-Identifier: MIT
#include "lanparty/obs/rate_limited_sink.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace lanparty::obs {
namespace {

constexpr std::uint64_t kNanoPerToken = 1'000'000'000;
// Linear probing looks this far from a name's home slot; beyond it the name is "(other)".
constexpr std::size_t kProbeWindow = 16;
constexpr std::string_view kOtherName = "(other)";

// FNV-1a over the name's bytes and the level: names are compared by text, never by pointer,
// because the same literal may live at different addresses in different translation units.
std::uint64_t hash_of(std::string_view name, Level level) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  h ^= static_cast<std::uint8_t>(level);
  h *= 1099511628211ull;
  return h;
}

}  // namespace

RateLimitedSink::RateLimitedSink(Sink& inner, RateLimitConfig config, NowFn now)
    : inner_(inner), config_(config), now_(std::move(now)) {
  if (!now_) now_ = [] { return Clock::now(); };
  const Clock::time_point start = now_();
  for (std::size_t i = 0; i < overflow_.size(); ++i) {
    Slot& s = overflow_[i];
    s.used = true;
    s.level = static_cast<Level>(i);
    s.name_size = static_cast<std::uint32_t>(kOtherName.size());
    std::memcpy(s.name.data(), kOtherName.data(), kOtherName.size());
    s.nano_tokens = std::uint64_t{limit_for(s.level).burst} * kNanoPerToken;
    s.refilled = start;
  }
  next_sweep_ = start + config_.report_interval;
}

RateLimitedSink::RateLimitedSink(std::unique_ptr<Sink> inner, RateLimitConfig config, NowFn now)
    : RateLimitedSink(*inner, config, std::move(now)) {
  owned_ = std::move(inner);
}

RateLimitedSink::~RateLimitedSink() { flush(); }

const RateLimit& RateLimitedSink::limit_for(Level level) const noexcept {
  return level >= Level::kError ? config_.errors : config_.normal;
}

void RateLimitedSink::refill(Slot& slot, Clock::time_point now) const noexcept {
  // A clock that did not move (or a fake one set back) adds nothing.
  if (now <= slot.refilled) return;
  const RateLimit& limit = limit_for(slot.level);
  const std::uint64_t cap = std::uint64_t{limit.burst} * kNanoPerToken;
  const auto elapsed_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - slot.refilled).count());
  slot.refilled = now;
  if (slot.nano_tokens >= cap || limit.per_second == 0) return;
  const std::uint64_t missing = cap - slot.nano_tokens;
  // Compare before multiplying: after a long quiet spell elapsed * rate would overflow.
  if (elapsed_ns >= missing / limit.per_second + 1) {
    slot.nano_tokens = cap;
  } else {
    slot.nano_tokens = std::min(cap, slot.nano_tokens + elapsed_ns * limit.per_second);
  }
}

RateLimitedSink::Slot& RateLimitedSink::slot_for(const Event& event, std::uint64_t hash,
                                                 Clock::time_point now) {
  const std::size_t home = static_cast<std::size_t>(hash % kSlots);
  const std::size_t kept = std::min(event.name.size(), kMaxNameBytes);
  const auto claim = [&](Slot& s) -> Slot& {
    s.used = true;
    s.hash = hash;
    s.level = event.level;
    s.name_size = static_cast<std::uint32_t>(std::min<std::size_t>(event.name.size(), UINT32_MAX));
    std::memcpy(s.name.data(), event.name.data(), kept);
    s.nano_tokens = std::uint64_t{limit_for(event.level).burst} * kNanoPerToken;
    s.refilled = now;
    s.suppressed = 0;
    return s;
  };
  for (std::size_t i = 0; i < kProbeWindow; ++i) {
    Slot& s = slots_[(home + i) % kSlots];
    if (!s.used) return claim(s);
    if (s.hash == hash && s.level == event.level && s.name_size == event.name.size() &&
        std::memcmp(s.name.data(), event.name.data(), kept) == 0) {
      return s;
    }
  }
  // A slot whose bucket is full and that owes no report is indistinguishable from a fresh
  // one, so another name may take it over. Slots never become empty again, so every name
  // stays findable within its window.
  for (std::size_t i = 0; i < kProbeWindow; ++i) {
    Slot& s = slots_[(home + i) % kSlots];
    refill(s, now);
    if (s.suppressed == 0 &&
        s.nano_tokens == std::uint64_t{limit_for(s.level).burst} * kNanoPerToken) {
      return claim(s);
    }
  }
  return overflow_[static_cast<std::size_t>(event.level) % overflow_.size()];
}

void RateLimitedSink::report(Slot& slot) noexcept {
  const std::string_view name(slot.name.data(),
                              std::min<std::size_t>(slot.name_size, kMaxNameBytes));
  const Field fields[] = {{"name", name}, {"suppressed", slot.suppressed}};
  inner_.write(Event{slot.level, "log.suppressed", fields});
  slot.suppressed = 0;
}

void RateLimitedSink::sweep(Clock::time_point now, bool force) noexcept {
  const auto due = [&](const Slot& s) {
    return s.used && s.suppressed > 0 &&
           (force || now - s.suppressed_since >= config_.report_interval);
  };
  for (Slot& s : slots_) {
    if (due(s)) report(s);
  }
  for (Slot& s : overflow_) {
    if (due(s)) report(s);
  }
  if (!force) next_sweep_ = now + config_.report_interval;
}

void RateLimitedSink::write(const Event& event) noexcept {
  if (event.level == Level::kDebug && !config_.limit_debug) {
    inner_.write(event);
    return;
  }
  try {
    const Clock::time_point now = now_();
    const std::uint64_t hash = hash_of(event.name, event.level);
    // Held while writing to the inner sink too, so a name's log.suppressed line always comes
    // before its next line; the inner sinks serialise their writes anyway.
    std::lock_guard lock(mutex_);
    if (now >= next_sweep_) sweep(now, false);
    Slot& slot = slot_for(event, hash, now);
    refill(slot, now);
    if (slot.nano_tokens >= kNanoPerToken) {
      slot.nano_tokens -= kNanoPerToken;
      if (slot.suppressed > 0 && now - slot.suppressed_since >= config_.report_interval) {
        report(slot);
      }
      inner_.write(event);
      return;
    }
    if (slot.suppressed++ == 0) slot.suppressed_since = now;
    ++suppressed_total_;
  } catch (...) {
    // std::mutex::lock can throw in theory; a lost line is better than a crash.
  }
}

void RateLimitedSink::flush() noexcept {
  try {
    std::lock_guard lock(mutex_);
    sweep(next_sweep_, true);
  } catch (...) {
  }
}

std::uint64_t RateLimitedSink::suppressed_total() const noexcept {
  try {
    std::lock_guard lock(mutex_);
    return suppressed_total_;
  } catch (...) {
    return 0;
  }
}

}  // namespace lanparty::obs
