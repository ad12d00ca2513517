// SPDX-License-Identifier: MIT
#include "lanparty/base/duration.hpp"

#include <algorithm>
#include <charconv>

namespace lanparty {

tl::expected<std::chrono::seconds, DurationError> parse_duration(
    std::string_view text, std::chrono::seconds max) noexcept {
  if (text.empty()) return tl::unexpected(DurationError::kEmpty);
  std::int64_t unit = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 's':
      digits.remove_suffix(1);
      break;
    case 'm':
      unit = 60;
      digits.remove_suffix(1);
      break;
    case 'h':
      unit = 3600;
      digits.remove_suffix(1);
      break;
    case 'd':
      unit = 86400;
      digits.remove_suffix(1);
      break;
    default:
      break;
  }
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return tl::unexpected(DurationError::kNotANumber);
  }
  std::int64_t count = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc() || end != digits.data() + digits.size() || count > max.count() / unit) {
    return tl::unexpected(DurationError::kTooLong);
  }
  if (count == 0) return tl::unexpected(DurationError::kZero);
  return std::chrono::seconds(count * unit);
}

}  // namespace lanparty
