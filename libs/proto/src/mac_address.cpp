// SPDX-License-Identifier: MIT
// MacAddress text conversions; the rest of the type is constexpr in the header.
#include "lanparty/proto/mac_address.hpp"

#include <optional>

#include "lanparty/base/errc.hpp"

namespace lanparty::proto {
namespace {

constexpr std::optional<std::uint8_t> hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<std::uint8_t>(c - 'A' + 10);
  return std::nullopt;
}

std::string quoted(std::string_view text) {
  // Cut long junk so a hostile hello cannot blow up log lines.
  constexpr std::size_t kMaxShown = 40;
  std::string out = "MacAddress::parse(\"";
  out.append(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) out.append("...");
  out.append("\")");
  return out;
}

}  // namespace

Result<MacAddress> MacAddress::parse(std::string_view text) {
  if (text.size() != kTextSize) {
    return fail(Errc::kParseError, quoted(text) +
                                       ": expected 17 characters (six hex octets "
                                       "separated by ':'), got " +
                                       std::to_string(text.size()));
  }
  std::array<std::uint8_t, kSize> bytes{};
  for (std::size_t i = 0; i < kSize; ++i) {
    const std::size_t at = i * 3;
    const auto hi = hex_value(text[at]);
    const auto lo = hex_value(text[at + 1]);
    if (!hi || !lo) {
      return fail(Errc::kParseError,
                  quoted(text) + ": octet " + std::to_string(i + 1) + " is not two hex digits");
    }
    bytes[i] = static_cast<std::uint8_t>((*hi << 4) | *lo);
    if (i + 1 < kSize && text[at + 2] != ':') {
      return fail(Errc::kParseError,
                  quoted(text) + ": expected ':' at position " + std::to_string(at + 2));
    }
  }
  return MacAddress(bytes);
}

std::string MacAddress::to_string() const {
  const auto chars = to_chars();
  return std::string(chars.data(), chars.size());
}

}  // namespace lanparty::proto
