// SPDX-License-Identifier: MIT
// Text forms of addresses, prefixes and GUIDs, parsed strictly: the journal and the command
// line feed them, and a value that parses is valid (STYLE.md section 4).
#include "lanparty/client_route/types.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_route {
namespace {

std::optional<unsigned> hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
  return std::nullopt;
}

// Exactly `digits` hex digits, no sign or prefix.
template <class T>
std::optional<T> parse_hex_exact(std::string_view text, std::size_t digits) noexcept {
  if (text.size() != digits) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    const auto d = hex_digit(c);
    if (!d) return std::nullopt;
    value = (value << 4) | *d;
  }
  return static_cast<T>(value);
}

std::optional<IpAddress> parse_v4(std::string_view text) noexcept {
  std::array<std::uint8_t, 4> octets{};
  std::size_t pos = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t end = i < 3 ? text.find('.', pos) : text.size();
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view part = text.substr(pos, end - pos);
    // No leading zeros ("010" is octal to some parsers) and no signs: one spelling per address.
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return std::nullopt;
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc() || ptr != part.data() + part.size() || value > 255) return std::nullopt;
    octets[i] = static_cast<std::uint8_t>(value);
    pos = end + 1;
  }
  return IpAddress::v4(octets);
}

// Groups of up to four hex digits separated by ':'; appends 16-bit values to `out`.
bool parse_v6_groups(std::string_view text, std::array<std::uint16_t, 8>& out,
                     std::size_t& count) noexcept {
  if (text.empty()) return true;
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = std::min(text.find(':', pos), text.size());
    const std::string_view group = text.substr(pos, end - pos);
    if (group.empty() || group.size() > 4 || count == 8) return false;
    std::uint16_t value = 0;
    for (const char c : group) {
      const auto d = hex_digit(c);
      if (!d) return false;
      value = static_cast<std::uint16_t>((value << 4) | *d);
    }
    out[count++] = value;
    if (end == text.size()) return true;
    pos = end + 1;
  }
}

std::optional<IpAddress> parse_v6(std::string_view text) noexcept {
  std::array<std::uint16_t, 8> head{};
  std::array<std::uint16_t, 8> tail{};
  std::size_t head_count = 0;
  std::size_t tail_count = 0;
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_v6_groups(text, head, head_count) || head_count != 8) return std::nullopt;
  } else {
    if (text.find("::", gap + 1) != std::string_view::npos) return std::nullopt;
    if (!parse_v6_groups(text.substr(0, gap), head, head_count) ||
        !parse_v6_groups(text.substr(gap + 2), tail, tail_count) || head_count + tail_count > 7) {
      return std::nullopt;
    }
  }
  std::array<std::uint8_t, 16> bytes{};
  const auto put = [&bytes](std::size_t group, std::uint16_t value) {
    bytes[2 * group] = static_cast<std::uint8_t>(value >> 8);
    bytes[2 * group + 1] = static_cast<std::uint8_t>(value & 0xff);
  };
  for (std::size_t i = 0; i < head_count; ++i) put(i, head[i]);
  for (std::size_t i = 0; i < tail_count; ++i) put(8 - tail_count + i, tail[i]);
  return IpAddress::v6(bytes);
}

}  // namespace

std::string_view to_string(AddressFamily family) noexcept {
  return family == AddressFamily::kIpv4 ? "4" : "6";
}

IpAddress IpAddress::v4(const std::array<std::uint8_t, 4>& octets) noexcept {
  IpAddress a;
  a.family_ = AddressFamily::kIpv4;
  std::copy(octets.begin(), octets.end(), a.bytes_.begin());
  return a;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& octets) noexcept {
  IpAddress a;
  a.family_ = AddressFamily::kIpv6;
  a.bytes_ = octets;
  return a;
}

IpAddress IpAddress::any(AddressFamily family) noexcept {
  return family == AddressFamily::kIpv4 ? v4({}) : v6({});
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  const auto parsed = text.find(':') == std::string_view::npos ? parse_v4(text) : parse_v6(text);
  if (!parsed) return fail(Errc::kParseError, fmt::format("IP address '{}'", text));
  return *parsed;
}

std::span<const std::uint8_t> IpAddress::bytes() const noexcept {
  return std::span(bytes_).first(family_ == AddressFamily::kIpv4 ? 4 : 16);
}

bool IpAddress::is_unspecified() const noexcept {
  for (const auto b : bytes()) {
    if (b != 0) return false;
  }
  return true;
}

std::uint8_t IpAddress::host_prefix_length() const noexcept {
  return family_ == AddressFamily::kIpv4 ? 32 : 128;
}

std::string IpAddress::to_string() const {
  if (family_ == AddressFamily::kIpv4) {
    return fmt::format("{}.{}.{}.{}", bytes_[0], bytes_[1], bytes_[2], bytes_[3]);
  }
  std::array<unsigned, 8> groups{};
  for (std::size_t i = 0; i < 8; ++i) groups[i] = (bytes_[2 * i] << 8u) | bytes_[2 * i + 1];
  // RFC 5952 section 4.2: the longest run of two or more zero groups (the first on a tie)
  // becomes "::".
  std::size_t best_start = 8;
  std::size_t best_len = 1;
  for (std::size_t i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += fmt::format("{:x}", groups[i]);
  }
  return out;
}

Result<IpPrefix> IpPrefix::parse(std::string_view text) {
  const std::size_t slash = text.rfind('/');
  if (slash == std::string_view::npos) {
    return fail(Errc::kParseError, fmt::format("IP prefix '{}': no '/length'", text));
  }
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return fail(Errc::kParseError, fmt::format("IP prefix '{}'", text));
  const std::string_view digits = text.substr(slash + 1);
  unsigned length = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() ||
      length > address->host_prefix_length()) {
    return fail(Errc::kParseError, fmt::format("IP prefix '{}': bad length", text));
  }
  return IpPrefix{*address, static_cast<std::uint8_t>(length)};
}

std::string IpPrefix::to_string() const {
  return fmt::format("{}/{}", address.to_string(), length);
}

bool IpPrefix::contains(const IpAddress& other) const noexcept {
  if (other.family() != address.family()) return false;
  const auto a = address.bytes();
  const auto b = other.bytes();
  std::size_t bits = length;
  for (std::size_t i = 0; bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
    const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

Result<AdapterGuid> AdapterGuid::parse(std::string_view text) {
  std::string_view body = text;
  if (body.size() == 38 && body.front() == '{' && body.back() == '}') {
    body = body.substr(1, 36);
  }
  // 8-4-4-4-12
  const auto bad = [&] { return fail(Errc::kParseError, fmt::format("adapter GUID '{}'", text)); };
  if (body.size() != 36 || body[8] != '-' || body[13] != '-' || body[18] != '-' ||
      body[23] != '-') {
    return bad();
  }
  const auto d1 = parse_hex_exact<std::uint32_t>(body.substr(0, 8), 8);
  const auto d2 = parse_hex_exact<std::uint16_t>(body.substr(9, 4), 4);
  const auto d3 = parse_hex_exact<std::uint16_t>(body.substr(14, 4), 4);
  if (!d1 || !d2 || !d3) return bad();
  AdapterGuid guid;
  guid.data1 = *d1;
  guid.data2 = *d2;
  guid.data3 = *d3;
  for (std::size_t i = 0; i < 8; ++i) {
    const std::size_t at = i < 2 ? 19 + 2 * i : 24 + 2 * (i - 2);
    const auto byte = parse_hex_exact<std::uint8_t>(body.substr(at, 2), 2);
    if (!byte) return bad();
    guid.data4[i] = *byte;
  }
  return guid;
}

std::string AdapterGuid::to_string() const {
  return fmt::format("{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}",
                     data1, data2, data3, data4[0], data4[1], data4[2], data4[3], data4[4],
                     data4[5], data4[6], data4[7]);
}

}  // namespace lanparty::client_route
