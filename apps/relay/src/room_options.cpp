// SPDX-License-Identifier: MIT
#include "room_options.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "lanparty/base/duration.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"

namespace lanparty::relay {
namespace {

constexpr std::int64_t kMaxRoomTtlSeconds = std::int64_t{100} * 365 * 24 * 3600;
constexpr std::size_t kFingerprintChars = 8;

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

std::string_view explain(ctrl::Base64UrlError error) {
  using E = ctrl::Base64UrlError;
  switch (error) {
    case E::kPadding:
      return "it has '=' padding (use unpadded base64url)";
    case E::kWhitespace:
      return "it contains whitespace";
    case E::kBadCharacter:
      return "it has a character outside A-Z a-z 0-9 - _ (base64url, not base64)";
    case E::kBadLength:
    case E::kWrongSize:
      return "it is not 43 base64url characters (a 32-byte Ed25519 public key)";
    case E::kNonZeroTrailingBits:
      return "its last character is not canonical";
  }
  return "it is not a base64url key";
}

}  // namespace

std::string_view to_string(RoomMode mode) noexcept {
  switch (mode) {
    case RoomMode::kOpen:
      return "open";
    case RoomMode::kClaimed:
      return "claimed";
    case RoomMode::kOwners:
      return "owners";
  }
  return "unknown";
}

std::optional<RoomMode> parse_room_mode(std::string_view text) noexcept {
  for (const RoomMode mode : {RoomMode::kOpen, RoomMode::kClaimed, RoomMode::kOwners}) {
    if (text == to_string(mode)) return mode;
  }
  return std::nullopt;
}

Result<std::chrono::seconds> parse_room_ttl(std::string_view text) {
  const auto ttl = parse_duration(text, std::chrono::seconds(kMaxRoomTtlSeconds));
  if (ttl) return *ttl;
  std::string_view why = "not a whole number with an optional unit";
  switch (ttl.error()) {
    case DurationError::kEmpty:
      why = "empty value";
      break;
    case DurationError::kNotANumber:
      break;
    case DurationError::kZero:
      why = "must be at least one second";
      break;
    case DurationError::kTooLong:
      why = "longer than 100 years";
      break;
  }
  return fail(Errc::kInvalidArgument,
              fmt::format("--room-ttl {}: {}; give seconds (\"86400\") or a number with one of "
                          "the units s, m, h, d (\"45s\", \"90m\", \"12h\", \"30d\")",
                          text, why));
}

Result<OwnerKeys> parse_room_owners(std::string_view text, std::string_view file_name) {
  OwnerKeys keys;
  std::size_t line_number = 0;
  while (!text.empty() || line_number == 0) {
    ++line_number;
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    // '#' is outside the base64url alphabet, so a comment can start anywhere on a line.
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    auto key = ctrl::base64url_decode_array<std::tuple_size_v<OwnerKey>>(line);
    if (!key) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("--room-owners {}:{}: not a room key: {}; each line holds one "
                              "base64url Ed25519 public key, '#' starts a comment",
                              file_name, line_number, explain(key.error())));
    }
    keys.insert(*key);
  }
  if (keys.empty()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--room-owners {}: lists no room key, so no gateway could claim a "
                            "room; add one base64url public key a line, or use --rooms claimed",
                            file_name));
  }
  return keys;
}

std::string key_fingerprint(const OwnerKey& key) {
  return ctrl::base64url_encode(key).substr(0, kFingerprintChars);
}

std::chrono::milliseconds owner_touch_interval(std::chrono::seconds room_ttl) {
  const std::chrono::milliseconds hourly = std::chrono::hours(1);
  const std::chrono::milliseconds quarter =
      std::chrono::duration_cast<std::chrono::milliseconds>(room_ttl) / 4;
  return std::max(std::chrono::milliseconds(1), std::min(hourly, quarter));
}

}  // namespace lanparty::relay
