// SPDX-License-Identifier: MIT
#include "lanparty/ctrl/hello.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "ctrl_test_support.hpp"

namespace lanparty::ctrl {
namespace {

// A hello that passes every check; each case below changes what it needs to.
Hello good_hello() {
  return Hello{.protocol = 1,
               .role = "client",
               .room = "ROOM1",
               .mac = "02:5a:11:22:33:44",
               .max_datagram = 1430,
               .software = "lanparty-client/0.1.0"};
}

TEST(ValidateHello, AcceptsProtocolExample) {
  const auto valid = validate_hello(good_hello());
  ASSERT_TRUE(valid.has_value()) << to_string(valid.error());
  EXPECT_EQ(valid->role, Role::kClient);
  EXPECT_EQ(valid->room, "ROOM1");
  EXPECT_EQ(valid->mac, proto::MacAddress::parse("02:5a:11:22:33:44").value());
  EXPECT_EQ(valid->max_datagram, 1430);
  EXPECT_EQ(valid->software, "lanparty-client/0.1.0");
}

struct Case {
  std::string_view name;
  std::string_view json;             // a whole hello frame body
  std::optional<RejectCode> reject;  // nullopt: admitted past checks 1-5
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class HelloVerdict : public ::testing::TestWithParam<Case> {};

TEST_P(HelloVerdict, MatchesProtocolCheckOrder) {
  const auto verdict = test::hello_verdict(GetParam().json);
  ASSERT_TRUE(verdict.has_value()) << "not a hello: " << GetParam().json;
  if (GetParam().reject) {
    ASSERT_FALSE(verdict->has_value()) << GetParam().json;
    EXPECT_EQ(verdict->error(), *GetParam().reject) << to_string(verdict->error());
  } else {
    EXPECT_TRUE(verdict->has_value()) << to_string(verdict->error());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, HelloVerdict,
    ::testing::Values(
        // Check 1, malformed_hello.
        Case{
            "ProtocolAsString",
            R"({"type":"hello","protocol":"1","role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kMalformedHello},
        Case{
            "ProtocolAsFraction",
            R"({"type":"hello","protocol":1.0,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kMalformedHello},
        Case{
            "ProtocolWithExponent",
            R"({"type":"hello","protocol":1e0,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kMalformedHello},
        Case{
            "ProtocolAboveInt64",
            R"({"type":"hello","protocol":9223372036854775808,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kMalformedHello},
        Case{
            "SoftwareNull",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400,"software":null})",
            RejectCode::kMalformedHello},
        Case{"MissingMac",
             R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","max_datagram":1400})",
             RejectCode::kMalformedHello},
        Case{
            "MaxDatagram63",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":63})",
            RejectCode::kMalformedHello},
        Case{
            "MaxDatagram65536",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":65536})",
            RejectCode::kMalformedHello},
        Case{
            "MaxDatagramNegative",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":-1400})",
            RejectCode::kMalformedHello},
        Case{
            "MaxDatagram64",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":64})",
            std::nullopt},
        Case{
            "MaxDatagram65535",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":65535})",
            std::nullopt},
        // First failure wins.
        Case{
            "MalformedBeatsEverything",
            R"({"type":"hello","protocol":2,"role":"king","room":"x","mac":"ff:ff:ff:ff:ff:ff","max_datagram":63})",
            RejectCode::kMalformedHello},
        Case{
            "WrongTypeBeatsBadProtocol",
            R"({"type":"hello","protocol":2,"role":7,"room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kMalformedHello},
        // Check 2, unsupported_protocol.
        Case{
            "Protocol2",
            R"({"type":"hello","protocol":2,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kUnsupportedProtocol},
        Case{
            "Protocol0",
            R"({"type":"hello","protocol":0,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kUnsupportedProtocol},
        Case{
            "ProtocolBeatsRole",
            R"({"type":"hello","protocol":2,"role":"king","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kUnsupportedProtocol},
        // Check 3, invalid_role.
        Case{
            "RoleUnknown",
            R"({"type":"hello","protocol":1,"role":"relay","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRole},
        Case{
            "RoleUpperCase",
            R"({"type":"hello","protocol":1,"role":"Client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRole},
        Case{
            "RoleBeatsRoom",
            R"({"type":"hello","protocol":1,"role":"","room":"x","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRole},
        Case{
            "GatewayRole",
            R"({"type":"hello","protocol":1,"role":"gateway","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            std::nullopt},
        // Check 4, invalid_room.
        Case{
            "Room2Chars",
            R"({"type":"hello","protocol":1,"role":"client","room":"ab","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        Case{
            "Room3Chars",
            R"({"type":"hello","protocol":1,"role":"client","room":"abc","mac":"02:00:00:00:00:01","max_datagram":1400})",
            std::nullopt},
        Case{
            "Room32Chars",
            R"({"type":"hello","protocol":1,"role":"client","room":"A234567890123456789012345678901_","mac":"02:00:00:00:00:01","max_datagram":1400})",
            std::nullopt},
        Case{
            "Room33Chars",
            R"({"type":"hello","protocol":1,"role":"client","room":"A2345678901234567890123456789012-","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        Case{
            "RoomLeadingUnderscore",
            R"({"type":"hello","protocol":1,"role":"client","room":"_room","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        Case{
            "RoomLeadingDash",
            R"({"type":"hello","protocol":1,"role":"client","room":"-room","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        Case{
            "RoomTrailingNewline",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1\n","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        Case{
            "RoomLeadingSpace",
            R"({"type":"hello","protocol":1,"role":"client","room":" ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        Case{
            "RoomUnicode",
            R"({"type":"hello","protocol":1,"role":"client","room":"Räume","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        Case{
            "RoomEmbeddedNul",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM\u0000","mac":"02:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        Case{
            "RoomInnerUnderscoreAndDash",
            R"({"type":"hello","protocol":1,"role":"client","room":"9a_b-C","mac":"02:00:00:00:00:01","max_datagram":1400})",
            std::nullopt},
        Case{
            "RoomBeatsMac",
            R"({"type":"hello","protocol":1,"role":"client","room":"a","mac":"nope","max_datagram":1400})",
            RejectCode::kInvalidRoom},
        // Check 5, invalid_mac.
        Case{
            "MacUpperCase",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:5A:AB:CD:EF:01","max_datagram":1400})",
            std::nullopt},
        Case{
            "MacMulticast",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"03:00:00:00:00:01","max_datagram":1400})",
            RejectCode::kInvalidMac},
        Case{
            "MacBroadcast",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"ff:ff:ff:ff:ff:ff","max_datagram":1400})",
            RejectCode::kInvalidMac},
        Case{
            "MacZero",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"00:00:00:00:00:00","max_datagram":1400})",
            RejectCode::kInvalidMac},
        Case{
            "MacDashes",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02-00-00-00-00-01","max_datagram":1400})",
            RejectCode::kInvalidMac},
        Case{
            "MacTrailingNewline",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01\n","max_datagram":1400})",
            RejectCode::kInvalidMac},
        // Extra fields are ignored.
        Case{
            "UnknownExtraField",
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400,"color":"blue"})",
            std::nullopt}),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(ValidateHello, UpperCaseMacComesOutAsTheSameAddress) {
  Hello hello = good_hello();
  hello.mac = "02:5A:11:22:33:44";
  const auto valid = validate_hello(hello);
  ASSERT_TRUE(valid.has_value());
  EXPECT_EQ(valid->mac.to_string(), "02:5a:11:22:33:44");
}

TEST(ValidateHello, AbsentSoftwareIsEmpty) {
  Hello hello = good_hello();
  hello.software.reset();
  EXPECT_EQ(validate_hello(hello).value().software, "");
}

TEST(ValidateHello, SoftwareIsCutBeforeMultiByteCharacterAcrossByte64) {
  Hello hello = good_hello();
  // 62 ASCII bytes, then "€" (3 bytes: 62..64), then more: byte 64 is inside the euro sign.
  hello.software = std::string(62, 's') + "\xE2\x82\xAC" + "tail";
  EXPECT_EQ(validate_hello(hello).value().software, std::string(62, 's'));
}

TEST(ValidateHello, SoftwareOfExactly64BytesIsKeptWhole) {
  Hello hello = good_hello();
  hello.software = std::string(61, 's') + "\xE2\x82\xAC";  // the euro sign ends at byte 64
  EXPECT_EQ(validate_hello(hello).value().software, *hello.software);
  hello.software = *hello.software + "x";
  EXPECT_EQ(validate_hello(hello).value().software, std::string(61, 's') + "\xE2\x82\xAC");
}

TEST(Utf8Prefix, NeverSplitsASequence) {
  const std::string four = "\xF0\x9F\x8E\xAE";  // U+1F3AE, 4 bytes
  const std::string text = "ab" + four + "c";
  EXPECT_EQ(utf8_prefix(text, 2), "ab");
  EXPECT_EQ(utf8_prefix(text, 3), "ab");
  EXPECT_EQ(utf8_prefix(text, 5), "ab");
  EXPECT_EQ(utf8_prefix(text, 6), "ab" + four);
  EXPECT_EQ(utf8_prefix(text, 100), text);
  EXPECT_EQ(utf8_prefix("", 0), "");
}

TEST(Utf8Prefix, BacksUpAtMostThreeBytesOnInvalidInput) {
  const std::string junk(10, '\x80');  // continuation bytes only
  EXPECT_EQ(utf8_prefix(junk, 8).size(), 5u);
}

TEST(IsValidRoom, MatchesPatternOnly) {
  EXPECT_TRUE(is_valid_room("abc"));
  EXPECT_TRUE(is_valid_room("0--"));
  EXPECT_TRUE(is_valid_room(std::string(32, 'Z')));
  EXPECT_FALSE(is_valid_room(std::string(33, 'Z')));
  EXPECT_FALSE(is_valid_room(""));
  EXPECT_FALSE(is_valid_room("a b"));
  EXPECT_FALSE(is_valid_room("abc."));
  EXPECT_FALSE(is_valid_room(std::string_view("abc\0", 4)));
}

}  // namespace
}  // namespace lanparty::ctrl
