// SPDX-License-Identifier: MIT
#include "peer_rate.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::relay {
namespace {

constexpr double kBurstSeconds = 0.2;
constexpr double kMinBurstFrames = 64;
constexpr double kMinBurstBytes = 64 * 1024;

struct Unit {
  std::string_view suffix;
  double bytes_per_unit;
};
// Longest suffixes first, so "Mbit" is not read as "M" + "bit".
constexpr Unit kUnits[] = {{"Gbit", 1e9 / 8}, {"Mbit", 1e6 / 8}, {"kbit", 1e3 / 8},
                           {"bit", 1.0 / 8},  {"GB", 1e9},       {"MB", 1e6},
                           {"kB", 1e3},       {"B", 1.0}};

tl::unexpected<Error> bad(std::string_view flag, std::string_view text, std::string_view why) {
  return fail(Errc::kInvalidArgument,
              fmt::format("{} {:?}: {}; expected \"off\" or parts like \"2000pps\", "
                          "\"32Mbit\", \"4MB\", joined by a comma (\"2000pps,32Mbit\")",
                          flag, text, why));
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::optional<double> parse_number(std::string_view digits) {
  double value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || !std::isfinite(value) ||
      value <= 0) {
    return std::nullopt;
  }
  return value;
}

TokenBucket bucket(double rate, double min_burst) {
  if (rate <= 0) return TokenBucket{};
  return TokenBucket(rate, std::max(rate * kBurstSeconds, min_burst));
}

std::string format_number(double value) {
  // Whole numbers without a fraction; the rest as short as round-trips.
  if (value == std::floor(value) && value < 1e15) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return fmt::format("{}", value);
}

}  // namespace

Result<RateLimit> parse_rate_limit(std::string_view text, std::string_view flag) {
  if (text == "off") return RateLimit{};
  if (text.empty()) return bad(flag, text, "empty");
  RateLimit limit;
  bool have_frames = false;
  bool have_bytes = false;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (comma != std::string_view::npos && rest.empty()) return bad(flag, text, "a trailing comma");
    if (ends_with(part, "pps")) {
      if (have_frames) return bad(flag, text, "two frame rates");
      const auto n = parse_number(part.substr(0, part.size() - 3));
      if (!n) return bad(flag, text, fmt::format("{:?} is not a positive number of pps", part));
      limit.frames_per_second = *n;
      have_frames = true;
      continue;
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (ends_with(part, u.suffix)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return bad(flag, text, fmt::format("{:?} has no known unit", part));
    if (have_bytes) return bad(flag, text, "two byte rates");
    const auto n = parse_number(part.substr(0, part.size() - unit->suffix.size()));
    if (!n) return bad(flag, text, fmt::format("{:?} is not a positive rate", part));
    limit.bytes_per_second = *n * unit->bytes_per_unit;
    have_bytes = true;
  }
  return limit;
}

std::string to_string(const RateLimit& limit) {
  if (limit.frames_per_second <= 0 && limit.bytes_per_second <= 0) return "off";
  std::string out;
  if (limit.frames_per_second > 0) out = format_number(limit.frames_per_second) + "pps";
  if (limit.bytes_per_second > 0) {
    if (!out.empty()) out += ',';
    const double bits = limit.bytes_per_second * 8;
    if (bits >= 1e9 && std::fmod(bits, 1e9) == 0) {
      out += format_number(bits / 1e9) + "Gbit";
    } else if (bits >= 1e6 && std::fmod(bits, 1e6) == 0) {
      out += format_number(bits / 1e6) + "Mbit";
    } else {
      out += format_number(limit.bytes_per_second) + "B";
    }
  }
  return out;
}

PeerRateLimiter::PeerRateLimiter(const RateLimit& all, const RateLimit& broadcast) noexcept
    : all_frames_(bucket(all.frames_per_second, kMinBurstFrames)),
      all_bytes_(bucket(all.bytes_per_second, kMinBurstBytes)),
      flooded_frames_(bucket(broadcast.frames_per_second, kMinBurstFrames)),
      flooded_bytes_(bucket(broadcast.bytes_per_second, kMinBurstBytes)),
      limited_(!all_frames_.unlimited() || !all_bytes_.unlimited() ||
               !flooded_frames_.unlimited() || !flooded_bytes_.unlimited()) {}

bool PeerRateLimiter::admit(Clock::time_point now, std::size_t bytes, bool flooded) noexcept {
  if (!limited_) return true;
  const auto size = static_cast<double>(bytes);
  if (flooded && (!flooded_frames_.take(now) || !flooded_bytes_.take(now, size))) return false;
  return all_frames_.take(now) && all_bytes_.take(now, size);
}

}  // namespace lanparty::relay
