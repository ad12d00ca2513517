// SPDX-License-Identifier: MIT
#include "lanparty/ctrl/base64url.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lanparty::ctrl {
namespace {

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

Base64UrlError base64_decode_error(std::string_view text) {
  const auto decoded = base64url_decode(text);
  EXPECT_FALSE(decoded.has_value()) << '"' << text << '"';
  return decoded ? Base64UrlError::kWrongSize : decoded.error();
}

struct Vector {
  std::string_view bytes;
  std::string_view text;
};

// RFC 4648 section 10, without the '=' padding section 7 forbids.
constexpr Vector kRfc4648Vectors[] = {
    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64Url, Rfc4648VectorsEncode) {
  for (const auto& v : kRfc4648Vectors) EXPECT_EQ(base64url_encode(v.bytes), v.text) << v.bytes;
}

TEST(Base64Url, Rfc4648VectorsDecode) {
  for (const auto& v : kRfc4648Vectors) {
    const auto decoded = base64url_decode(v.text);
    ASSERT_TRUE(decoded.has_value()) << v.text << ": " << to_string(decoded.error());
    EXPECT_EQ(*decoded, bytes_of(v.bytes)) << v.text;
  }
}

TEST(Base64Url, UsesTheUrlAlphabetForValues62And63) {
  const std::vector<std::uint8_t> bytes = {0xFB, 0xFF};  // standard base64: "+/8="
  EXPECT_EQ(base64url_encode(bytes), "-_8");
  EXPECT_EQ(base64url_decode("-_8").value(), bytes);
  EXPECT_EQ(base64url_encode(std::vector<std::uint8_t>{0xFF, 0xFF, 0xFF}), "____");
  EXPECT_EQ(base64url_encode(std::vector<std::uint8_t>{0xF8}), "-A");
}

TEST(Base64Url, EncodedSizeMatchesEncoder) {
  for (std::size_t n = 0; n < 70; ++n) {
    EXPECT_EQ(base64url_encode(std::string(n, 'x')).size(), base64url_encoded_size(n)) << n;
  }
  EXPECT_EQ(base64url_encoded_size(32), 43u);
  EXPECT_EQ(base64url_encoded_size(64), 86u);
}

TEST(Base64Url, RefusesPadding) {
  EXPECT_EQ(base64_decode_error("Zg=="), Base64UrlError::kPadding);
  EXPECT_EQ(base64_decode_error("Zm8="), Base64UrlError::kPadding);
  EXPECT_EQ(base64_decode_error("="), Base64UrlError::kPadding);
  EXPECT_EQ(base64_decode_error("Zm9v===="), Base64UrlError::kPadding);
}

TEST(Base64Url, RefusesWhitespaceAnywhere) {
  EXPECT_EQ(base64_decode_error(" Zm9v"), Base64UrlError::kWhitespace);
  EXPECT_EQ(base64_decode_error("Zm9v\n"), Base64UrlError::kWhitespace);
  EXPECT_EQ(base64_decode_error("Zm\r\n9v"), Base64UrlError::kWhitespace);
  EXPECT_EQ(base64_decode_error("Zm9v\tYg"), Base64UrlError::kWhitespace);
}

TEST(Base64Url, RefusesCharactersOutsideTheAlphabet) {
  EXPECT_EQ(base64_decode_error("+_8"), Base64UrlError::kBadCharacter);  // standard alphabet
  EXPECT_EQ(base64_decode_error("-/8"), Base64UrlError::kBadCharacter);
  EXPECT_EQ(base64_decode_error("Zm9v."), Base64UrlError::kBadCharacter);
  EXPECT_EQ(base64_decode_error("Zm9\x80"), Base64UrlError::kBadCharacter);
  EXPECT_EQ(base64_decode_error(std::string_view("Zm\0v", 4)), Base64UrlError::kBadCharacter);
}

TEST(Base64Url, PaddingIsNamedBeforeOtherBadBytes) {
  EXPECT_EQ(base64_decode_error("Z m="), Base64UrlError::kPadding);
  EXPECT_EQ(base64_decode_error("Z+ m"), Base64UrlError::kWhitespace);
}

TEST(Base64Url, RefusesALengthOfOneModFour) {
  EXPECT_EQ(base64_decode_error("Z"), Base64UrlError::kBadLength);
  EXPECT_EQ(base64_decode_error("Zm9vY"), Base64UrlError::kBadLength);
}

TEST(Base64Url, RefusesNonZeroTrailingBits) {
  // "f" is "Zg"; "Zh".."Zv" carry the same byte plus stray low bits.
  EXPECT_EQ(base64_decode_error("Zh"), Base64UrlError::kNonZeroTrailingBits);
  EXPECT_EQ(base64_decode_error("Zv"), Base64UrlError::kNonZeroTrailingBits);
  // "fo" is "Zm8"; "Zm9" sets a low bit of the last character.
  EXPECT_EQ(base64_decode_error("Zm9"), Base64UrlError::kNonZeroTrailingBits);
  EXPECT_EQ(base64_decode_error("-_9"), Base64UrlError::kNonZeroTrailingBits);
}

TEST(Base64Url, DecodeArrayRequiresTheExactSize) {
  const auto key = base64url_decode_array<32>("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
  ASSERT_TRUE(key.has_value());
  for (std::size_t i = 0; i < 32; ++i) EXPECT_EQ((*key)[i], i);
  EXPECT_EQ(base64url_decode_array<32>("").error(), Base64UrlError::kWrongSize);
  EXPECT_EQ(base64url_decode_array<32>("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg").error(),
            Base64UrlError::kWrongSize);  // 31 bytes
  EXPECT_EQ(base64url_decode_array<2>("Zm8=").error(), Base64UrlError::kPadding);
}

TEST(Base64Url, EmptyTextIsNoBytes) {
  const auto decoded = base64url_decode("");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->empty());
}

TEST(Base64Url, ErrorNamesAreDistinct) {
  EXPECT_EQ(to_string(Base64UrlError::kPadding), "padding");
  EXPECT_EQ(to_string(Base64UrlError::kWhitespace), "whitespace");
  EXPECT_EQ(to_string(Base64UrlError::kBadCharacter), "bad_character");
  EXPECT_EQ(to_string(Base64UrlError::kBadLength), "bad_length");
  EXPECT_EQ(to_string(Base64UrlError::kNonZeroTrailingBits), "non_zero_trailing_bits");
  EXPECT_EQ(to_string(Base64UrlError::kWrongSize), "wrong_size");
}

}  // namespace
}  // namespace lanparty::ctrl
