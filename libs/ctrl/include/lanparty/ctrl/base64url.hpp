// SPDX-License-Identifier: MIT
// Strict base64url (RFC 4648 section 5) as PROTOCOL.md section 7 uses it for room keys,
// claim proofs, invite tokens and certificate pins: no padding, one canonical text per value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace lanparty::ctrl {

// Why a text is not strict base64url. A text with several problems reports the first one in
// this list, wherever it sits in the text.
enum class Base64UrlError : std::uint8_t {
  kPadding,              // contains '=' (section 7 forbids padding)
  kWhitespace,           // contains a space, tab, CR, LF, VT or FF
  kBadCharacter,         // any other byte outside A-Z a-z 0-9 '-' '_' ('+' and '/' included)
  kBadLength,            // length % 4 == 1: no byte count encodes to that
  kNonZeroTrailingBits,  // the last character carries bits past the data (non-canonical)
  kWrongSize,            // valid base64url, but not the byte count the caller required
};
// "padding", "whitespace", "bad_character", "bad_length", "non_zero_trailing_bits",
// "wrong_size".
[[nodiscard]] std::string_view to_string(Base64UrlError error) noexcept;

// Unpadded base64url of `bytes`: ceil(4n/3) characters from A-Z a-z 0-9 '-' '_'.
[[nodiscard]] std::string base64url_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] std::string base64url_encode(std::string_view bytes);

// The bytes `text` encodes. "" is valid and decodes to no bytes (callers that need a fixed
// length, such as section 7's keys, check it: base64url_decode_array). Allocates only on
// success.
[[nodiscard]] tl::expected<std::vector<std::uint8_t>, Base64UrlError> base64url_decode(
    std::string_view text);

// Decodes into exactly N bytes; any other count (0 included) is kWrongSize.
template <std::size_t N>
[[nodiscard]] tl::expected<std::array<std::uint8_t, N>, Base64UrlError> base64url_decode_array(
    std::string_view text) {
  auto bytes = base64url_decode(text);
  if (!bytes) return tl::unexpected<Base64UrlError>(bytes.error());
  if (bytes->size() != N) return tl::unexpected<Base64UrlError>(Base64UrlError::kWrongSize);
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
  return out;
}

// Characters base64url_encode produces for `byte_count` bytes.
[[nodiscard]] constexpr std::size_t base64url_encoded_size(std::size_t byte_count) noexcept {
  return (byte_count / 3) * 4 + (byte_count % 3 == 0 ? 0 : byte_count % 3 + 1);
}

}  // namespace lanparty::ctrl
