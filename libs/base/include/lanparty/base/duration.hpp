// SPDX-License-Identifier: MIT
// Durations as people type them in flags: "90" (seconds), "45s", "30m", "12h", "30d". Shared
// by the relay's --room-ttl and the gateway's invite --expires; each names its own flag in
// the message it builds from the error.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include <tl/expected.hpp>

namespace lanparty {

enum class DurationError : std::uint8_t {
  kEmpty,       // ""
  kNotANumber,  // anything but digits with at most one unit letter at the end
  kZero,        // "0", "0h": a duration must be at least one second
  kTooLong,     // above the caller's maximum (or int64 overflow)
};

// A whole number of seconds, or of one unit (s, m, h, d), from 1 s up to `max`.
[[nodiscard]] tl::expected<std::chrono::seconds, DurationError> parse_duration(
    std::string_view text, std::chrono::seconds max) noexcept;

}  // namespace lanparty
