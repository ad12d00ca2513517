// SPDX-License-Identifier: MIT
#include "lanparty/ctrl/codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctrl_test_support.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty::ctrl {
namespace {

// Order-insensitive JSON equality (nlohmann::json objects are std::maps).
bool same_json(std::string_view a, std::string_view b) {
  return nlohmann::json::parse(a) == nlohmann::json::parse(b);
}

using test::decode_as;
using test::decode_error;
using test::mac;

// --- Golden: every JSON example of PROTOCOL.md section 2, verbatim. -----------------------

constexpr std::string_view kHelloExample =
    R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1",
 "mac":"02:5a:11:22:33:44","max_datagram":1430,"software":"lanparty-client/0.1.0"})";
constexpr std::string_view kWelcomeExample =
    R"({"type":"welcome","protocol":1,"peer_id":2,"room":"ROOM1","mtu":1380,
 "max_datagram":1402,"peers":[{"peer_id":1,"role":"gateway","mac":"00:11:22:33:44:55"}]})";
constexpr std::string_view kRejectExample =
    R"({"type":"reject","code":"duplicate_mac","message":"02:5a:11:22:33:44 is already in room ROOM1"})";
constexpr std::string_view kPeerJoinedExample =
    R"({"type":"peer_joined","peer":{"peer_id":3,"role":"client","mac":"02:5a:aa:bb:cc:dd"}})";
constexpr std::string_view kPeerLeftExample =
    R"({"type":"peer_left","peer_id":3,"reason":"closed"})";
constexpr std::string_view kStatsExample =
    R"({"type":"stats","rx_frames":10,"rx_bytes":5120,"tx_frames":8,"tx_bytes":4096,
 "dropped":{"spoofed_source":1}})";
constexpr std::string_view kDisconnectExample = R"({"type":"disconnect","reason":"shutdown"})";

TEST(CodecGolden, HelloExampleDecodesAndReencodes) {
  const Hello expected{.protocol = 1,
                       .role = "client",
                       .room = "ROOM1",
                       .mac = "02:5a:11:22:33:44",
                       .max_datagram = 1430,
                       .software = "lanparty-client/0.1.0"};
  EXPECT_EQ(decode_as<Hello>(kHelloExample), expected);
  EXPECT_TRUE(same_json(encode_json(expected), kHelloExample)) << encode_json(expected);
}

TEST(CodecGolden, WelcomeExampleDecodesAndReencodes) {
  const Welcome expected{
      .protocol = 1,
      .peer_id = 2,
      .room = "ROOM1",
      .mtu = 1380,
      .max_datagram = 1402,
      .peers = {PeerInfo{.peer_id = 1, .role = Role::kGateway, .mac = mac("00:11:22:33:44:55")}}};
  EXPECT_EQ(decode_as<Welcome>(kWelcomeExample), expected);
  EXPECT_TRUE(same_json(encode_json(expected), kWelcomeExample)) << encode_json(expected);
}

TEST(CodecGolden, RejectExampleDecodesAndReencodes) {
  const Reject expected{.code = "duplicate_mac",
                        .message = "02:5a:11:22:33:44 is already in room ROOM1"};
  const auto decoded = decode_as<Reject>(kRejectExample);
  EXPECT_EQ(decoded, expected);
  EXPECT_EQ(decoded.reject_code(), RejectCode::kDuplicateMac);
  EXPECT_TRUE(same_json(encode_json(expected), kRejectExample)) << encode_json(expected);
}

TEST(CodecGolden, PeerJoinedExampleDecodesAndReencodes) {
  const PeerJoined expected{
      PeerInfo{.peer_id = 3, .role = Role::kClient, .mac = mac("02:5a:aa:bb:cc:dd")}};
  EXPECT_EQ(decode_as<PeerJoined>(kPeerJoinedExample), expected);
  EXPECT_TRUE(same_json(encode_json(expected), kPeerJoinedExample)) << encode_json(expected);
}

TEST(CodecGolden, PeerLeftExampleDecodesAndReencodes) {
  const PeerLeft expected{.peer_id = 3, .reason = "closed"};
  const auto decoded = decode_as<PeerLeft>(kPeerLeftExample);
  EXPECT_EQ(decoded, expected);
  EXPECT_EQ(decoded.leave_reason(), LeaveReason::kClosed);
  EXPECT_TRUE(same_json(encode_json(expected), kPeerLeftExample)) << encode_json(expected);
}

TEST(CodecGolden, StatsExampleDecodesAndReencodesWithEmptyTxDropped) {
  const Stats expected{.rx_frames = 10,
                       .rx_bytes = 5120,
                       .tx_frames = 8,
                       .tx_bytes = 4096,
                       .dropped = {{"spoofed_source", 1}},
                       .tx_dropped = {}};
  EXPECT_EQ(decode_as<Stats>(kStatsExample), expected);
  // The example omits tx_dropped; the encoder always writes it, {} when empty.
  EXPECT_TRUE(
      same_json(encode_json(expected),
                R"({"type":"stats","rx_frames":10,"rx_bytes":5120,"tx_frames":8,"tx_bytes":4096,
          "dropped":{"spoofed_source":1},"tx_dropped":{}})"))
      << encode_json(expected);
}

TEST(CodecGolden, DisconnectExampleDecodesAndReencodes) {
  const Disconnect expected{.reason = "shutdown"};
  EXPECT_EQ(decode_as<Disconnect>(kDisconnectExample), expected);
  EXPECT_TRUE(same_json(encode_json(expected), kDisconnectExample)) << encode_json(expected);
}

TEST(CodecGolden, EncodingIsCompactWithTypeFirstInProtocolFieldOrder) {
  const Hello hello = decode_as<Hello>(kHelloExample);
  EXPECT_EQ(encode_json(hello),
            R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1",)"
            R"("mac":"02:5a:11:22:33:44","max_datagram":1430,"software":"lanparty-client/0.1.0"})");
}

// --- Frame-level errors. ------------------------------------------------------------------

TEST(DecodeMessage, RejectsEmptyAndOversizedBodies) {
  EXPECT_EQ(decode_error(""), FrameError::kEmpty);
  std::string big = R"({"type":"disconnect","reason":")";
  big.append(kMaxFrameBytes, 'x').append("\"}");
  EXPECT_EQ(decode_error(big), FrameError::kTooLong);
}

TEST(DecodeMessage, AcceptsBodyOfExactlyMaxFrameBytes) {
  std::string body = R"({"type":"disconnect","reason":")";
  const std::size_t reason_bytes = kMaxFrameBytes - body.size() - 2;
  body.append(reason_bytes, 'x').append("\"}");
  ASSERT_EQ(body.size(), kMaxFrameBytes);
  EXPECT_EQ(decode_as<Disconnect>(body).reason, std::string(reason_bytes, 'x'));
}

TEST(DecodeMessage, ClassifiesNonObjects) {
  EXPECT_EQ(decode_error("not json"), FrameError::kNotJson);
  EXPECT_EQ(decode_error(R"({"type":"hello")"), FrameError::kNotJson);
  EXPECT_EQ(decode_error(R"({"type":"stats"} {})"), FrameError::kNotJson);
  EXPECT_EQ(decode_error("[1,2]"), FrameError::kNotObject);
  EXPECT_EQ(decode_error("5"), FrameError::kNotObject);
  EXPECT_EQ(decode_error(R"("hello")"), FrameError::kNotObject);
  EXPECT_EQ(decode_error("null"), FrameError::kNotObject);
}

TEST(DecodeMessage, RequiresStringType) {
  EXPECT_EQ(decode_error(R"({"x":1})"), FrameError::kNoType);
  EXPECT_EQ(decode_error(R"({"type":5})"), FrameError::kNoType);
  EXPECT_EQ(decode_error(R"({"type":null})"), FrameError::kNoType);
  EXPECT_EQ(decode_error(R"({"Type":"hello"})"), FrameError::kNoType);
}

TEST(DecodeMessage, RejectsInvalidUtf8AndByteOrderMark) {
  EXPECT_EQ(decode_error("{\"type\":\"disconnect\",\"reason\":\"\xff\"}"), FrameError::kNotJson);
  EXPECT_EQ(decode_error(R"({"type":"disconnect","reason":"\ud800"})"), FrameError::kNotJson);
  EXPECT_EQ(decode_error("\xEF\xBB\xBF{\"type\":\"disconnect\"}"), FrameError::kNotJson);
}

TEST(DecodeMessage, RejectsComments) {
  EXPECT_EQ(decode_error("{\"type\":\"disconnect\" /* bye */}"), FrameError::kNotJson);
}

TEST(DecodeMessage, UnknownTypeIsKeptForTheCallerToIgnore) {
  EXPECT_EQ(decode_as<UnknownMessage>(R"({"type":"ping","seq":1})").type, "ping");
  EXPECT_EQ(decode_as<UnknownMessage>(R"({"type":"Hello"})").type, "Hello");
}

TEST(DecodeMessage, IgnoresUnknownFields) {
  const auto left =
      decode_as<PeerLeft>(R"({"type":"peer_left","peer_id":3,"reason":"lost","extra":[1,{}]})");
  EXPECT_EQ(left, (PeerLeft{.peer_id = 3, .reason = "lost"}));
}

TEST(DecodeMessage, DuplicateKeyKeepsLastValue) {
  EXPECT_EQ(
      decode_as<PeerLeft>(R"({"type":"peer_left","peer_id":3,"peer_id":4,"reason":"x"})").peer_id,
      4);
  EXPECT_EQ(decode_as<UnknownMessage>(R"({"type":"peer_left","type":"later"})").type, "later");
}

TEST(DecodeMessage, SurvivesDeepNestingInIgnoredField) {
  std::string deep = R"({"type":"disconnect","junk":)";
  const std::size_t depth = (kMaxFrameBytes - deep.size() - 1) / 2;
  deep.append(depth, '[').append(depth, ']').append("}");
  EXPECT_EQ(decode_as<Disconnect>(deep).reason, "");
}

// --- Integers: no fraction, no exponent, fits int64. ---------------------------------------

TEST(DecodeMessage, IntegerBoundsOfInt64) {
  EXPECT_EQ(decode_as<Hello>(R"({"type":"hello","protocol":9223372036854775807,"role":"",
              "room":"","mac":"","max_datagram":-9223372036854775808})"),
            (Hello{.protocol = std::numeric_limits<std::int64_t>::max(),
                   .role = "",
                   .room = "",
                   .mac = "",
                   .max_datagram = std::numeric_limits<std::int64_t>::min(),
                   .software = std::nullopt}));
}

TEST(DecodeMessage, NegativeZeroIsTheIntegerZero) {
  EXPECT_EQ(decode_as<Stats>(R"({"type":"stats","rx_frames":-0,"rx_bytes":0,"tx_frames":0,
              "tx_bytes":0})")
                .rx_frames,
            0u);
}

// --- hello: wrong JSON types are MalformedHello (reject), never a FrameError (close). ------

class MalformedHelloTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(MalformedHelloTest, IsMalformedHello) {
  const MalformedHello malformed = decode_as<MalformedHello>(GetParam());
  EXPECT_FALSE(malformed.why.empty());
}

INSTANTIATE_TEST_SUITE_P(
    WrongTypesAndMissingFields, MalformedHelloTest,
    ::testing::Values(
        R"({"type":"hello","protocol":"1","role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":1.0,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":1e0,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":9223372036854775808,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":-9223372036854775809,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":true,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400,"software":null})",
        R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400,"software":7})",
        R"({"type":"hello","protocol":1,"role":null,"room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":1,"role":"client","room":["ROOM1"],"mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":2,"max_datagram":1400})",
        R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":"1400"})",
        R"({"type":"hello","role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":1,"room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":1,"role":"client","mac":"02:00:00:00:00:01","max_datagram":1400})",
        R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","max_datagram":1400})",
        R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01"})",
        R"({"type":"hello"})"));

TEST(DecodeMessage, MalformedHelloNamesTheFirstBadField) {
  EXPECT_EQ(decode_as<MalformedHello>(R"({"type":"hello","protocol":"1"})").why,
            R"("protocol" is not an integer)");
  EXPECT_EQ(decode_as<MalformedHello>(R"({"type":"hello","protocol":1})").why,
            R"("role" is missing)");
}

TEST(DecodeMessage, HelloWithoutSoftwareHasNone) {
  const auto hello = decode_as<Hello>(
      R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01","max_datagram":1400})");
  EXPECT_EQ(hello.software, std::nullopt);
}

TEST(DecodeMessage, HelloKeepsOutOfRangeValuesForValidation) {
  const auto hello = decode_as<Hello>(
      R"({"type":"hello","protocol":2,"role":"king","room":"","mac":"x","max_datagram":70000})");
  EXPECT_EQ(hello.protocol, 2);
  EXPECT_EQ(hello.role, "king");
  EXPECT_EQ(hello.max_datagram, 70000);
}

// --- Relay -> peer messages decode strictly. ----------------------------------------------

class StrictDecodeTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(StrictDecodeTest, IsMalformed) {
  EXPECT_EQ(decode_error(GetParam()), FrameError::kMalformed);
}

INSTANTIATE_TEST_SUITE_P(
    RelayMessages, StrictDecodeTest,
    ::testing::Values(
        // welcome
        R"({"type":"welcome","protocol":1,"peer_id":0,"room":"R00","mtu":1380,"max_datagram":1402,"peers":[]})",
        R"({"type":"welcome","protocol":1,"peer_id":65536,"room":"R00","mtu":1380,"max_datagram":1402,"peers":[]})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":-1,"max_datagram":1402,"peers":[]})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":4294967296,"max_datagram":1402,"peers":[]})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":1380,"max_datagram":1402.5,"peers":[]})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":1380,"max_datagram":1402,"peers":{}})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":1380,"max_datagram":1402})",
        R"({"type":"welcome","protocol":"1","peer_id":2,"room":"R00","mtu":1380,"max_datagram":1402,"peers":[]})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":1380,"max_datagram":1402,"peers":[5]})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":1380,"max_datagram":1402,"peers":[{"peer_id":1,"role":"relay","mac":"00:11:22:33:44:55"}]})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":1380,"max_datagram":1402,"peers":[{"peer_id":1,"role":"gateway","mac":"00-11-22-33-44-55"}]})",
        R"({"type":"welcome","protocol":1,"peer_id":2,"room":"R00","mtu":1380,"max_datagram":1402,"peers":[{"role":"gateway","mac":"00:11:22:33:44:55"}]})",
        // reject
        R"({"type":"reject","message":"no code"})", R"({"type":"reject","code":3,"message":"x"})",
        R"({"type":"reject","code":"room_full","message":null})",
        // peer_joined
        R"({"type":"peer_joined"})", R"({"type":"peer_joined","peer":[]})",
        R"({"type":"peer_joined","peer":{"peer_id":0,"role":"client","mac":"02:5a:aa:bb:cc:dd"}})",
        // peer_left
        R"({"type":"peer_left","peer_id":3})", R"({"type":"peer_left","reason":"closed"})",
        R"({"type":"peer_left","peer_id":"3","reason":"closed"})",
        // stats
        R"({"type":"stats","rx_frames":1,"rx_bytes":1,"tx_frames":1})",
        R"({"type":"stats","rx_frames":-1,"rx_bytes":1,"tx_frames":1,"tx_bytes":1})",
        R"({"type":"stats","rx_frames":1,"rx_bytes":1,"tx_frames":1,"tx_bytes":1,"dropped":[]})",
        R"({"type":"stats","rx_frames":1,"rx_bytes":1,"tx_frames":1,"tx_bytes":1,"dropped":{"runt":-2}})",
        R"({"type":"stats","rx_frames":1,"rx_bytes":1,"tx_frames":1,"tx_bytes":1,"tx_dropped":{"queue_full":"2"}})",
        // disconnect
        R"({"type":"disconnect","reason":null})"));

TEST(DecodeMessage, PeerMacsOfEitherCaseAreAccepted) {
  const auto joined = decode_as<PeerJoined>(
      R"({"type":"peer_joined","peer":{"peer_id":3,"role":"client","mac":"02:5A:AA:BB:CC:DD"}})");
  EXPECT_EQ(joined.peer.mac, mac("02:5a:aa:bb:cc:dd"));
}

TEST(DecodeMessage, TextsForPeopleMayBeAbsent) {
  EXPECT_EQ(decode_as<Reject>(R"({"type":"reject","code":"room_full"})"),
            (Reject{.code = "room_full", .message = ""}));
  EXPECT_EQ(decode_as<Disconnect>(R"({"type":"disconnect"})").reason, "");
}

TEST(DecodeMessage, StatsCountsComeBackSortedByName) {
  const auto stats = decode_as<Stats>(
      R"({"type":"stats","rx_frames":1,"rx_bytes":2,"tx_frames":3,"tx_bytes":4,
          "dropped":{"spoofed_source":1,"runt":2,"bad_kind":3},"tx_dropped":{"queue_full":9}})");
  EXPECT_EQ(stats.dropped, (Stats::Counts{{"bad_kind", 3}, {"runt", 2}, {"spoofed_source", 1}}));
  EXPECT_EQ(stats.tx_dropped, (Stats::Counts{{"queue_full", 9}}));
}

// --- Encoding. -----------------------------------------------------------------------------

TEST(EncodeJson, DecodeOnlyMessagesAreNotEncodable) {
  EXPECT_EQ(encode_json(MalformedHello{"x"}), "");
  EXPECT_EQ(encode_json(UnknownMessage{"ping"}), "");
}

TEST(EncodeJson, MacsAreLowerCase) {
  const PeerJoined joined{
      PeerInfo{.peer_id = 9, .role = Role::kGateway, .mac = mac("0A:BC:DE:F0:12:34")}};
  EXPECT_NE(encode_json(joined).find(R"("mac":"0a:bc:de:f0:12:34")"), std::string::npos);
}

TEST(EncodeJson, StatsAlwaysCarryBothDropObjects) {
  const std::string json = encode_json(Stats{});
  EXPECT_TRUE(same_json(json, R"({"type":"stats","rx_frames":0,"rx_bytes":0,"tx_frames":0,
                                  "tx_bytes":0,"dropped":{},"tx_dropped":{}})"))
      << json;
}

TEST(EncodeJson, CountsAboveInt64SaturateSoTheOutputStaysDecodable) {
  Stats stats;
  stats.rx_bytes = std::numeric_limits<std::uint64_t>::max();
  stats.dropped = {{"runt", std::numeric_limits<std::uint64_t>::max()}};
  const auto decoded = decode_as<Stats>(encode_json(stats));
  const auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(decoded.rx_bytes, int64_max);
  EXPECT_EQ(decoded.dropped, (Stats::Counts{{"runt", int64_max}}));
}

TEST(EncodeJson, InvalidUtf8IsReplacedNotThrown) {
  const std::string json = encode_json(Disconnect{.reason = "bad \xff byte"});
  EXPECT_EQ(decode_as<Disconnect>(json).reason, "bad \xEF\xBF\xBD byte");
}

TEST(EncodeJson, EscapesControlCharactersAndQuotes) {
  const Reject reject{.code = "x", .message = std::string("a\"b\\c\n\0d", 8)};
  EXPECT_EQ(decode_as<Reject>(encode_json(reject)), reject);
}

// --- Framing. ------------------------------------------------------------------------------

TEST(AppendFrame, WritesBigEndianLengthThenJson) {
  std::string out = "prefix";
  ASSERT_TRUE(append_frame(Disconnect{.reason = "shutdown"}, out));
  const std::string json = R"({"type":"disconnect","reason":"shutdown"})";
  ASSERT_EQ(json.size(), 41u);
  EXPECT_EQ(out, std::string("prefix") + std::string("\x00\x00\x00\x29", 4) + json);
}

TEST(AppendFrame, RawBodyOfMaxSizeIsFramed) {
  std::string out;
  ASSERT_TRUE(append_frame(std::string(kMaxFrameBytes, 'x'), out));
  ASSERT_EQ(out.size(), kLengthPrefixBytes + kMaxFrameBytes);
  EXPECT_EQ(out.substr(0, 4), std::string("\x00\x00\x40\x00", 4));
}

TEST(AppendFrame, TooLargeFailsAndLeavesOutputUnchanged) {
  std::string out = "keep";
  Reject reject{.code = "x", .message = std::string(kMaxFrameBytes, 'm')};
  const Status status = append_frame(reject, out);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, Errc::kTooLarge);
  EXPECT_EQ(out, "keep");

  const Status raw = append_frame(std::string(kMaxFrameBytes + 1, 'x'), out);
  ASSERT_FALSE(raw);
  EXPECT_EQ(raw.error().code, Errc::kTooLarge);
  EXPECT_EQ(out, "keep");
}

TEST(AppendFrame, EmptyRawBodyAndDecodeOnlyMessagesAreInvalidArguments) {
  std::string out;
  const Status empty = append_frame(std::string_view(), out);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::kInvalidArgument);
  const Status unknown = append_frame(UnknownMessage{"ping"}, out);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(out.empty());
}

TEST(FrameError, ConvertsToProtocolViolation) {
  const Error error = to_error(FrameError::kNoType);
  EXPECT_EQ(error.code, Errc::kProtocolViolation);
  EXPECT_EQ(error.context, "ctrl frame: no_type");
}

}  // namespace
}  // namespace lanparty::ctrl
