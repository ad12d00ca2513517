// SPDX-License-Identifier: MIT
// Strict base64url: canonical text only, so one value has exactly one accepted spelling.
#include "lanparty/ctrl/base64url.hpp"

#include <optional>

namespace lanparty::ctrl {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}
constexpr std::array<std::uint8_t, 256> kDecodeTable = make_decode_table();

constexpr bool is_whitespace(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Names the most specific problem among the invalid bytes, whatever their position: a
// pasted key with "=" padding says "padding" even if it also has a newline.
std::optional<Base64UrlError> alphabet_error(std::string_view text) noexcept {
  bool padding = false;
  bool whitespace = false;
  bool other = false;
  for (const char c : text) {
    if (kDecodeTable[static_cast<unsigned char>(c)] != kInvalid) continue;
    if (c == '=') {
      padding = true;
    } else if (is_whitespace(c)) {
      whitespace = true;
    } else {
      other = true;
    }
  }
  if (padding) return Base64UrlError::kPadding;
  if (whitespace) return Base64UrlError::kWhitespace;
  if (other) return Base64UrlError::kBadCharacter;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Base64UrlError error) noexcept {
  switch (error) {
    case Base64UrlError::kPadding:
      return "padding";
    case Base64UrlError::kWhitespace:
      return "whitespace";
    case Base64UrlError::kBadCharacter:
      return "bad_character";
    case Base64UrlError::kBadLength:
      return "bad_length";
    case Base64UrlError::kNonZeroTrailingBits:
      return "non_zero_trailing_bits";
    case Base64UrlError::kWrongSize:
      return "wrong_size";
  }
  return "unknown";
}

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(base64url_encoded_size(bytes.size()));
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = (std::uint32_t{bytes[i]} << 16) |
                                (std::uint32_t{bytes[i + 1]} << 8) | std::uint32_t{bytes[i + 2]};
    out += kAlphabet[(group >> 18) & 0x3F];
    out += kAlphabet[(group >> 12) & 0x3F];
    out += kAlphabet[(group >> 6) & 0x3F];
    out += kAlphabet[group & 0x3F];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    out += kAlphabet[(group >> 18) & 0x3F];
    out += kAlphabet[(group >> 12) & 0x3F];
  } else if (rest == 2) {
    const std::uint32_t group =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
    out += kAlphabet[(group >> 18) & 0x3F];
    out += kAlphabet[(group >> 12) & 0x3F];
    out += kAlphabet[(group >> 6) & 0x3F];
  }
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  return base64url_encode(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

tl::expected<std::vector<std::uint8_t>, Base64UrlError> base64url_decode(std::string_view text) {
  const auto failure = [](Base64UrlError e) { return tl::unexpected<Base64UrlError>(e); };
  if (const auto bad = alphabet_error(text)) return failure(*bad);
  if (text.size() % 4 == 1) return failure(Base64UrlError::kBadLength);

  const auto value = [&text](std::size_t at) -> std::uint32_t {
    return kDecodeTable[static_cast<unsigned char>(text[at])];
  };
  const std::size_t rest = text.size() % 4;
  const std::size_t full = text.size() - rest;
  // RFC 4648 section 3.5: a canonical encoder leaves the pad bits zero; refusing others keeps
  // one spelling per value (a signed token cannot be altered into an equal-looking twin).
  if (rest == 2 && (value(full + 1) & 0x0F) != 0)
    return failure(Base64UrlError::kNonZeroTrailingBits);
  if (rest == 3 && (value(full + 2) & 0x03) != 0)
    return failure(Base64UrlError::kNonZeroTrailingBits);

  std::vector<std::uint8_t> out;
  out.reserve(full / 4 * 3 + (rest == 0 ? 0 : rest - 1));
  for (std::size_t i = 0; i < full; i += 4) {
    const std::uint32_t group =
        (value(i) << 18) | (value(i + 1) << 12) | (value(i + 2) << 6) | value(i + 3);
    out.push_back(static_cast<std::uint8_t>(group >> 16));
    out.push_back(static_cast<std::uint8_t>(group >> 8));
    out.push_back(static_cast<std::uint8_t>(group));
  }
  if (rest >= 2) {
    const std::uint32_t group =
        (value(full) << 18) | (value(full + 1) << 12) | (rest == 3 ? value(full + 2) << 6 : 0);
    out.push_back(static_cast<std::uint8_t>(group >> 16));
    if (rest == 3) out.push_back(static_cast<std::uint8_t>(group >> 8));
  }
  return out;
}

}  // namespace lanparty::ctrl
