// SPDX-License-Identifier: MIT
#include "lanparty/ctrl/invite.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"

namespace lanparty::ctrl {
namespace {

// Signatures are verified by the relay, not here: a fixed fake is enough to test the shape.
Signature fixed_signature() {
  Signature s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(i);
  return s;
}
const InviteSigner kFakeSigner = [](std::span<const std::uint8_t>) -> Result<Signature> {
  return fixed_signature();
};

// PROTOCOL.md section 7's payload example, and its base64url computed independently.
constexpr std::string_view kExamplePayload =
    R"({"room":"ROOM1","id":"9f2c4e1a7b3d5a60","exp":1767225600,"name":"alice"})";
constexpr std::string_view kExamplePayloadB64 =
    "eyJyb29tIjoiUk9PTTEiLCJpZCI6IjlmMmM0ZTFhN2IzZDVhNjAiLCJleHAiOjE3NjcyMjU2MDAsIm5hbWUiOiJhbGlj"
    "ZSJ9";
constexpr std::string_view kFixedSignatureB64 =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw";

const InvitePayload kExample{
    .room = "ROOM1", .id = "9f2c4e1a7b3d5a60", .exp = 1767225600, .name = "alice"};

std::string bytes_to_string(const std::vector<std::uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

// A token with `payload_json` as its payload and a signature of `signature_bytes` bytes.
std::string token_with(std::string_view payload_json, std::size_t signature_bytes = 64) {
  return std::string(kInviteTokenPrefix) + base64url_encode(payload_json) + "." +
         base64url_encode(std::vector<std::uint8_t>(signature_bytes, 0x5A));
}

// The parse error's context, or "" (with a test failure) if the token parsed.
std::string parse_error(std::string_view token) {
  const auto parsed = parse_invite_token(token);
  EXPECT_FALSE(parsed.has_value()) << token;
  if (parsed) return "";
  EXPECT_EQ(parsed.error().code, make_error_code(Errc::kParseError));
  return parsed.error().context;
}

// --- Golden and round trip. -----------------------------------------------------------------

TEST(InviteToken, EncodesTheProtocolExampleExactly) {
  const auto token = encode_invite_token(kExample, kFakeSigner);
  ASSERT_TRUE(token.has_value()) << token.error().describe();
  EXPECT_EQ(*token, std::string("lpi1.") + std::string(kExamplePayloadB64) + "." +
                        std::string(kFixedSignatureB64));
  EXPECT_EQ(base64url_encode(kExamplePayload), kExamplePayloadB64);
}

TEST(InviteToken, ParsesWhatItEncodes) {
  const auto token = encode_invite_token(kExample, kFakeSigner);
  ASSERT_TRUE(token.has_value());
  const auto parsed = parse_invite_token(*token);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().describe();
  EXPECT_EQ(parsed->payload, kExample);
  EXPECT_EQ(parsed->signature, fixed_signature());
}

TEST(InviteToken, SignedBytesArePrefixPlusThePayloadPartExactly) {
  const std::string token = token_with(kExamplePayload);
  const auto parsed = parse_invite_token(token);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().describe();
  const std::size_t first_dot = token.find('.');
  const std::size_t second_dot = token.find('.', first_dot + 1);
  const std::string payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  EXPECT_EQ(bytes_to_string(parsed->signed_message), "lanparty-invite-v1." + payload_part);
  EXPECT_EQ(bytes_to_string(invite_signing_input(payload_part)),
            "lanparty-invite-v1." + payload_part);
}

TEST(InviteToken, SignerSeesTheSigningInput) {
  std::string seen;
  const InviteSigner spy = [&seen](std::span<const std::uint8_t> message) -> Result<Signature> {
    seen.assign(message.begin(), message.end());
    return fixed_signature();
  };
  ASSERT_TRUE(encode_invite_token(kExample, spy).has_value());
  EXPECT_EQ(seen, "lanparty-invite-v1." + std::string(kExamplePayloadB64));
}

TEST(InviteToken, SignerFailureIsPassedThrough) {
  const InviteSigner broken = [](std::span<const std::uint8_t>) -> Result<Signature> {
    return fail(Errc::kTlsError, "room key unusable");
  };
  const auto token = encode_invite_token(kExample, broken);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, make_error_code(Errc::kTlsError));
  EXPECT_EQ(token.error().context, "room key unusable");
  EXPECT_FALSE(encode_invite_token(kExample, InviteSigner{}).has_value());
}

TEST(InviteToken, NameIsOptionalAndUnknownFieldsAreIgnored) {
  const auto parsed = parse_invite_token(
      token_with(R"({"v":2,"room":"ROOM1","id":"0123456789abcdef","exp":-5,"extra":{"a":[1]}})"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().describe();
  EXPECT_EQ(
      parsed->payload,
      (InvitePayload{.room = "ROOM1", .id = "0123456789abcdef", .exp = -5, .name = std::nullopt}));
}

TEST(InviteToken, ExpCoversInt64) {
  EXPECT_EQ(parse_invite_token(
                token_with(R"({"room":"R","id":"0123456789abcdef","exp":9223372036854775807})"))
                ->payload.exp,
            INT64_MAX);
  EXPECT_EQ(parse_invite_token(
                token_with(R"({"room":"R","id":"0123456789abcdef","exp":-9223372036854775808})"))
                ->payload.exp,
            INT64_MIN);
}

TEST(InviteToken, NameOfOneAndOfThirtyTwoBytesIsAccepted) {
  for (const std::string& name :
       {std::string("a"), std::string(32, 'n'), std::string("\xC3\xA9") + std::string(30, 'e')}) {
    const std::string json =
        R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"name":")" + name + "\"}";
    const auto parsed = parse_invite_token(token_with(json));
    ASSERT_TRUE(parsed.has_value()) << name << ": " << parsed.error().describe();
    EXPECT_EQ(parsed->payload.name, name);
  }
}

// --- Length. --------------------------------------------------------------------------------

// A valid token of exactly `size` bytes (size - 92 must be a multiple of 4), padded with an
// unknown field.
std::string token_of_size(std::size_t size) {
  const std::size_t payload_bytes = (size - 5 - 1 - 86) / 4 * 3;
  std::string json = R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"pad":")";
  json.append(payload_bytes - json.size() - 2, 'p').append("\"}");
  std::string token = token_with(json);
  EXPECT_EQ(token.size(), size);
  return token;
}

TEST(InviteToken, AcceptsATokenOfExactly1024Bytes) {
  const auto parsed = parse_invite_token(token_of_size(1024));
  EXPECT_TRUE(parsed.has_value()) << parsed.error().describe();
}

TEST(InviteToken, RefusesTokensLongerThan1024Bytes) {
  EXPECT_EQ(parse_error(token_of_size(1024) + "A"),
            "invite token is longer than 1024 bytes (1025 bytes)");
  EXPECT_EQ(parse_error(token_of_size(1028)),
            "invite token is longer than 1024 bytes (1028 bytes)");
}

TEST(InviteToken, EncodeRefusesWhatWouldBeTooLong) {
  InvitePayload payload = kExample;
  payload.room = std::string(700, 'R');
  const auto token = encode_invite_token(payload, kFakeSigner);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().code, make_error_code(Errc::kTooLarge));
}

// --- Shape. ---------------------------------------------------------------------------------

TEST(InviteToken, RefusesABadPrefix) {
  const std::string good = token_with(kExamplePayload);
  const std::string body = good.substr(kInviteTokenPrefix.size());
  for (const std::string& token : {std::string(""), std::string("lpi1"), "lpi2." + body,
                                   "LPI1." + body, "lpi1" + body, " lpi1." + body, body}) {
    EXPECT_EQ(parse_error(token), "invite token does not start with \"lpi1.\"") << token;
  }
}

TEST(InviteToken, RefusesAMissingSignaturePart) {
  EXPECT_EQ(parse_error("lpi1." + base64url_encode(kExamplePayload)),
            "invite token has no signature part (no '.' after the payload)");
  EXPECT_EQ(parse_error("lpi1."), "invite token has no signature part (no '.' after the payload)");
}

TEST(InviteToken, RefusesAnExtraDot) {
  const std::string good = token_with(kExamplePayload);
  const std::string expected = "invite token has more than three '.'-separated parts";
  EXPECT_EQ(parse_error(good + "."), expected);
  EXPECT_EQ(parse_error(good + ".AAAA"), expected);
  const std::size_t second_dot = good.rfind('.');
  EXPECT_EQ(parse_error(good.substr(0, second_dot) + ".." + good.substr(second_dot + 1)), expected);
}

TEST(InviteToken, RefusesBadBase64UrlInThePayload) {
  const std::string sig = "." + std::string(kFixedSignatureB64);
  EXPECT_EQ(parse_error("lpi1." + std::string(kExamplePayloadB64) + "=" + sig),
            "invite payload is not valid base64url: it has '=' padding");
  EXPECT_EQ(parse_error("lpi1.eyJy+29t" + sig),
            "invite payload is not valid base64url: it contains a character outside A-Z a-z "
            "0-9 - _");
  EXPECT_EQ(parse_error("lpi1.eyJy b29t" + sig),
            "invite payload is not valid base64url: it contains whitespace");
  EXPECT_EQ(parse_error("lpi1.eyJyb" + sig),
            "invite payload is not valid base64url: its length is impossible (cut short?)");
  EXPECT_EQ(parse_error("lpi1.eyJ9" + std::string("Zh") + sig),
            "invite payload is not valid base64url: its last character is not canonical");
}

TEST(InviteToken, RefusesBadBase64UrlInTheSignature) {
  const std::string head = "lpi1." + std::string(kExamplePayloadB64) + ".";
  const std::string sig(kFixedSignatureB64);
  EXPECT_EQ(parse_error(head + sig + "=="),
            "invite signature is not valid base64url: it has '=' padding");
  EXPECT_EQ(parse_error(head + "+" + sig.substr(1)),
            "invite signature is not valid base64url: it contains a character outside A-Z a-z "
            "0-9 - _");
  EXPECT_EQ(parse_error(head + sig.substr(0, 85) + "x"),
            "invite signature is not valid base64url: its last character is not canonical");
}

TEST(InviteToken, RefusesSignaturesThatAreNot64Bytes) {
  EXPECT_EQ(parse_error(token_with(kExamplePayload, 63)), "invite signature is 63 bytes, not 64");
  EXPECT_EQ(parse_error(token_with(kExamplePayload, 65)), "invite signature is 65 bytes, not 64");
  EXPECT_EQ(parse_error(token_with(kExamplePayload, 0)), "invite signature is 0 bytes, not 64");
}

// --- Payload. -------------------------------------------------------------------------------

struct PayloadCase {
  std::string_view name;
  std::string_view json;
  std::string_view error;
};

void PrintTo(const PayloadCase& c, std::ostream* os) { *os << c.name; }

class MalformedPayload : public ::testing::TestWithParam<PayloadCase> {};

TEST_P(MalformedPayload, IsRefusedWithItsReason) {
  EXPECT_EQ(parse_error(token_with(GetParam().json)), GetParam().error) << GetParam().json;
}

constexpr std::string_view kNotJson = "invite payload is not UTF-8 JSON";
constexpr std::string_view kNotObject = "invite payload is not a JSON object";
constexpr std::string_view kBadId = "invite payload \"id\" is not 16 lower-case hex digits";
constexpr std::string_view kExpNotInteger =
    "invite payload \"exp\" is not an integer (no fraction, no exponent)";

INSTANTIATE_TEST_SUITE_P(
    Table, MalformedPayload,
    ::testing::Values(
        PayloadCase{"Empty", "", kNotJson},
        PayloadCase{"Truncated", R"({"room":"ROOM1")", kNotJson},
        PayloadCase{"TrailingGarbage", R"({"room":"ROOM1","id":"0123456789abcdef","exp":1} x)",
                    kNotJson},
        PayloadCase{"Comment", R"({"room":"ROOM1","id":"0123456789abcdef","exp":1 /* c */})",
                    kNotJson},
        PayloadCase{"InvalidUtf8", "{\"room\":\"R\xFF\",\"id\":\"0123456789abcdef\",\"exp\":1}",
                    kNotJson},
        PayloadCase{"LoneSurrogate", R"({"room":"\ud800","id":"0123456789abcdef","exp":1})",
                    kNotJson},
        PayloadCase{"ByteOrderMark",
                    "\xEF\xBB\xBF{\"room\":\"R\",\"id\":\"0123456789abcdef\",\"exp\":1}",
                    "invite payload is not UTF-8 JSON (it starts with a byte-order mark)"},
        PayloadCase{"Array", R"([{"room":"ROOM1","id":"0123456789abcdef","exp":1}])", kNotObject},
        PayloadCase{"String", R"("ROOM1")", kNotObject},
        PayloadCase{"Number", "1767225600", kNotObject}, PayloadCase{"Null", "null", kNotObject},
        PayloadCase{"MissingRoom", R"({"id":"0123456789abcdef","exp":1})",
                    "invite payload has no \"room\""},
        PayloadCase{"MissingId", R"({"room":"ROOM1","exp":1})", "invite payload has no \"id\""},
        PayloadCase{"MissingExp", R"({"room":"ROOM1","id":"0123456789abcdef"})",
                    "invite payload has no \"exp\""},
        PayloadCase{"RoomNumber", R"({"room":1,"id":"0123456789abcdef","exp":1})",
                    "invite payload \"room\" is not a string"},
        PayloadCase{"RoomNull", R"({"room":null,"id":"0123456789abcdef","exp":1})",
                    "invite payload \"room\" is not a string"},
        PayloadCase{"IdNumber", R"({"room":"ROOM1","id":1234567890123456,"exp":1})",
                    "invite payload \"id\" is not a string"},
        PayloadCase{"ExpString", R"({"room":"ROOM1","id":"0123456789abcdef","exp":"1"})",
                    kExpNotInteger},
        PayloadCase{"ExpFraction", R"({"room":"ROOM1","id":"0123456789abcdef","exp":1.5})",
                    kExpNotInteger},
        PayloadCase{"ExpPointZero", R"({"room":"ROOM1","id":"0123456789abcdef","exp":1.0})",
                    kExpNotInteger},
        PayloadCase{"ExpExponent", R"({"room":"ROOM1","id":"0123456789abcdef","exp":1e3})",
                    kExpNotInteger},
        PayloadCase{"ExpAboveInt64",
                    R"({"room":"ROOM1","id":"0123456789abcdef","exp":9223372036854775808})",
                    kExpNotInteger},
        PayloadCase{"ExpNull", R"({"room":"ROOM1","id":"0123456789abcdef","exp":null})",
                    kExpNotInteger},
        PayloadCase{"ExpBool", R"({"room":"ROOM1","id":"0123456789abcdef","exp":true})",
                    kExpNotInteger},
        PayloadCase{"IdUpperCase", R"({"room":"ROOM1","id":"9F2C4E1A7B3D5A60","exp":1})", kBadId},
        PayloadCase{"IdFifteenDigits", R"({"room":"ROOM1","id":"9f2c4e1a7b3d5a6","exp":1})",
                    kBadId},
        PayloadCase{"IdSeventeenDigits", R"({"room":"ROOM1","id":"9f2c4e1a7b3d5a601","exp":1})",
                    kBadId},
        PayloadCase{"IdNotHex", R"({"room":"ROOM1","id":"9f2c4e1a7b3d5a6g","exp":1})", kBadId},
        PayloadCase{"IdEmpty", R"({"room":"ROOM1","id":"","exp":1})", kBadId},
        PayloadCase{"NameEmpty", R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"name":""})",
                    "invite payload \"name\" is empty"},
        PayloadCase{
            "NameThirtyThreeBytes",
            R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"name":"123456789012345678901234567890123"})",
            "invite payload \"name\" is longer than 32 bytes"},
        PayloadCase{"NameNumber", R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"name":7})",
                    "invite payload \"name\" is not a string"},
        PayloadCase{"NameNull", R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"name":null})",
                    "invite payload \"name\" is not a string"},
        PayloadCase{"DuplicateRoom",
                    R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"room":"ROOM2"})",
                    "invite payload has the key \"room\" twice"},
        PayloadCase{"DuplicateExpSameValue",
                    R"({"exp":1,"room":"ROOM1","id":"0123456789abcdef","exp":1})",
                    "invite payload has the key \"exp\" twice"},
        PayloadCase{"DuplicateUnknownKey",
                    R"({"x":1,"room":"ROOM1","id":"0123456789abcdef","exp":1,"x":2})",
                    "invite payload has the key \"x\" twice"},
        PayloadCase{"DuplicateInsideNestedObject",
                    R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"x":[{"a":1,"a":2}]})",
                    "invite payload has the key \"a\" twice"}));

TEST(InviteToken, SameKeyInSiblingObjectsIsNotADuplicate) {
  const auto parsed = parse_invite_token(token_with(
      R"({"room":"ROOM1","x":{"room":1},"id":"0123456789abcdef","y":[{"id":2},{"id":3}],"exp":1})"));
  EXPECT_TRUE(parsed.has_value()) << parsed.error().describe();
}

TEST(InviteToken, NestingDepthOfAnIgnoredFieldIsHarmless) {
  std::string json = R"({"room":"ROOM1","id":"0123456789abcdef","exp":1,"x":)";
  json.append(300, '[').append(300, ']').append("}");
  EXPECT_TRUE(parse_invite_token(token_with(json)).has_value());
}

// --- Encoding refuses what parsing would. ---------------------------------------------------

TEST(InviteToken, EncodeRefusesABadIdOrNameLength) {
  for (const std::string id : {"9F2C4E1A7B3D5A60", "9f2c", "9f2c4e1a7b3d5a6z"}) {
    InvitePayload payload = kExample;
    payload.id = id;
    const auto token = encode_invite_token(payload, kFakeSigner);
    ASSERT_FALSE(token.has_value()) << id;
    EXPECT_EQ(token.error().code, make_error_code(Errc::kInvalidArgument));
  }
  for (const std::string& name : {std::string(), std::string(33, 'n')}) {
    InvitePayload payload = kExample;
    payload.name = name;
    EXPECT_FALSE(encode_invite_token(payload, kFakeSigner).has_value()) << name.size();
  }
}

TEST(InviteToken, EncodeRefusesInvalidUtf8) {
  InvitePayload payload = kExample;
  payload.name = "bad \xFF";
  const auto token = encode_invite_token(payload, kFakeSigner);
  ASSERT_FALSE(token.has_value());
  EXPECT_EQ(token.error().context, "invite room or name is not valid UTF-8");
}

TEST(InviteId, IsSixteenLowerCaseHexDigits) {
  EXPECT_TRUE(is_valid_invite_id("9f2c4e1a7b3d5a60"));
  EXPECT_TRUE(is_valid_invite_id("0000000000000000"));
  EXPECT_FALSE(is_valid_invite_id("9F2C4E1A7B3D5A60"));
  EXPECT_FALSE(is_valid_invite_id("9f2c4e1a7b3d5a6"));
  EXPECT_FALSE(is_valid_invite_id("9f2c4e1a7b3d5a600"));
  EXPECT_FALSE(is_valid_invite_id("9f2c4e1a7b3d5a6 "));
  EXPECT_FALSE(is_valid_invite_id(""));
}

// --- Room claim. ----------------------------------------------------------------------------

TEST(ClaimSigningInput, IsContextNulRoomNulEkm) {
  std::array<std::uint8_t, kRoomClaimEkmBytes> ekm{};
  for (std::size_t i = 0; i < ekm.size(); ++i) ekm[i] = static_cast<std::uint8_t>(0xA0 + i);
  const std::vector<std::uint8_t> input = claim_signing_input("ROOM1", ekm);
  std::string expected("lanparty-room-claim-v1");
  expected.push_back('\0');
  expected.append("ROOM1");
  expected.push_back('\0');
  expected.append(ekm.begin(), ekm.end());
  EXPECT_EQ(bytes_to_string(input), expected);
  EXPECT_EQ(input.size(), 22u + 1 + 5 + 1 + 32);
}

TEST(ClaimSigningInput, DependsOnRoomAndEkm) {
  std::array<std::uint8_t, kRoomClaimEkmBytes> ekm{};
  const auto a = claim_signing_input("ROOM1", ekm);
  ekm[31] = 1;
  EXPECT_NE(claim_signing_input("ROOM1", ekm), a);
  EXPECT_NE(claim_signing_input("ROOM2", std::array<std::uint8_t, kRoomClaimEkmBytes>{}), a);
}

}  // namespace
}  // namespace lanparty::ctrl
