// SPDX-License-Identifier: MIT
// The codec's side of PROTOCOL.md section 7: the new hello and peer fields, kick / revoke /
// revoked, and DecodeOptions{.room_ownership = false} for an `open` relay.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "ctrl_test_support.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/messages.hpp"

namespace lanparty::ctrl {
namespace {

constexpr DecodeOptions kOpenRelay{.room_ownership = false};

using test::decode_as;
using test::decode_error;
using test::mac;

// Section 7's JSON examples, verbatim where the page gives a whole message; the claim and
// invite fields completed into the section 2 hello example.
constexpr std::string_view kKickExample = R"({"type":"kick","peer_id":3,"reason":"mac_on_lan"})";
constexpr std::string_view kRevokeExample =
    R"({"type":"revoke","invite_id":"9f2c4e1a7b3d5a60","exp":1767225600})";
constexpr std::string_view kRevokedExample =
    R"({"type":"revoked","invite_id":"9f2c4e1a7b3d5a60","kicked":2})";
constexpr std::string_view kClaimHello =
    R"({"type":"hello","protocol":1,"role":"gateway","room":"ROOM1","mac":"00:11:22:33:44:55",)"
    R"("max_datagram":1430,"software":"lanparty-gateway/0.1.0",)"
    R"("room_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",)"
    R"("room_proof":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw"})";
constexpr std::string_view kInviteHello =
    R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:5a:11:22:33:44",)"
    R"("max_datagram":1430,"invite":"lpi1.e30.AAAA"})";
constexpr std::string_view kNamedPeerJoined =
    R"({"type":"peer_joined","peer":{"peer_id":3,"role":"client","mac":"02:5a:aa:bb:cc:dd","name":"alice"}})";
constexpr std::string_view kGatewayCopyPeerJoined =
    R"({"type":"peer_joined","peer":{"peer_id":3,"role":"client","mac":"02:5a:aa:bb:cc:dd","name":"alice","invite_id":"9f2c4e1a7b3d5a60"}})";

// --- Golden: decode, and re-encode byte for byte. -------------------------------------------

TEST(CodecSection7, KickExample) {
  const Kick expected{.peer_id = 3, .reason = "mac_on_lan"};
  EXPECT_EQ(decode_as<Kick>(kKickExample), expected);
  EXPECT_EQ(encode_json(expected), kKickExample);
  EXPECT_EQ(encode_json(Kick{.peer_id = 9, .reason = std::nullopt}),
            R"({"type":"kick","peer_id":9})");
  EXPECT_EQ(decode_as<Kick>(R"({"type":"kick","peer_id":9})"), (Kick{.peer_id = 9}));
}

TEST(CodecSection7, RevokeExample) {
  const Revoke expected{.invite_id = "9f2c4e1a7b3d5a60", .exp = 1767225600};
  EXPECT_EQ(decode_as<Revoke>(kRevokeExample), expected);
  EXPECT_EQ(encode_json(expected), kRevokeExample);
  const Revoke no_exp{.invite_id = "9f2c4e1a7b3d5a60", .exp = std::nullopt};
  EXPECT_EQ(encode_json(no_exp), R"({"type":"revoke","invite_id":"9f2c4e1a7b3d5a60"})");
  EXPECT_EQ(decode_as<Revoke>(encode_json(no_exp)), no_exp);
}

TEST(CodecSection7, RevokedExample) {
  const Revoked expected{.invite_id = "9f2c4e1a7b3d5a60", .kicked = 2};
  EXPECT_EQ(decode_as<Revoked>(kRevokedExample), expected);
  EXPECT_EQ(encode_json(expected), kRevokedExample);
}

TEST(CodecSection7, ClaimHello) {
  const Hello hello = decode_as<Hello>(kClaimHello);
  EXPECT_EQ(hello.room_key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
  EXPECT_EQ(hello.room_proof,
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-"
            "Pw");
  EXPECT_EQ(hello.invite, std::nullopt);
  EXPECT_EQ(encode_json(hello), kClaimHello);
}

TEST(CodecSection7, InviteHello) {
  const Hello hello = decode_as<Hello>(kInviteHello);
  EXPECT_EQ(hello.invite, "lpi1.e30.AAAA");
  EXPECT_EQ(hello.room_key, std::nullopt);
  EXPECT_EQ(hello.room_proof, std::nullopt);
  EXPECT_EQ(encode_json(hello), kInviteHello);
}

TEST(CodecSection7, HelloFieldsAreEncodedOnlyWhenSet) {
  const Hello hello{.protocol = 1,
                    .role = "client",
                    .room = "ROOM1",
                    .mac = "02:5a:11:22:33:44",
                    .max_datagram = 1430,
                    .software = std::nullopt};
  EXPECT_EQ(encode_json(hello), R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1",)"
                                R"("mac":"02:5a:11:22:33:44","max_datagram":1430})");
}

TEST(CodecSection7, EmptyCredentialsAreStringsNotMalformed) {
  // An empty or undecodable value is auth_failed, the relay's check, not malformed_hello.
  const Hello hello = decode_as<Hello>(
      R"({"type":"hello","protocol":1,"role":"gateway","room":"ROOM1","mac":"02:00:00:00:00:01",)"
      R"("max_datagram":1400,"room_key":"","room_proof":"not base64!","invite":""})");
  EXPECT_EQ(hello.room_key, "");
  EXPECT_EQ(hello.room_proof, "not base64!");
  EXPECT_EQ(hello.invite, "");
}

TEST(CodecSection7, PeerNameAndInviteId) {
  const PeerInfo named{.peer_id = 3,
                       .role = Role::kClient,
                       .mac = mac("02:5a:aa:bb:cc:dd"),
                       .name = "alice",
                       .invite_id = std::nullopt};
  EXPECT_EQ(decode_as<PeerJoined>(kNamedPeerJoined), PeerJoined{named});
  EXPECT_EQ(encode_json(PeerJoined{named}), kNamedPeerJoined);

  PeerInfo gateway_copy = named;
  gateway_copy.invite_id = "9f2c4e1a7b3d5a60";
  EXPECT_EQ(decode_as<PeerJoined>(kGatewayCopyPeerJoined), PeerJoined{gateway_copy});
  EXPECT_EQ(encode_json(PeerJoined{gateway_copy}), kGatewayCopyPeerJoined);
}

TEST(CodecSection7, WelcomePeersCarryNames) {
  const std::string_view json =
      R"({"type":"welcome","protocol":1,"peer_id":1,"room":"ROOM1","mtu":1380,"max_datagram":1402,)"
      R"("peers":[{"peer_id":2,"role":"client","mac":"02:00:00:00:00:02","name":"bob","invite_id":"0123456789abcdef"},)"
      R"({"peer_id":3,"role":"client","mac":"02:00:00:00:00:03"}]})";
  const Welcome welcome = decode_as<Welcome>(json);
  ASSERT_EQ(welcome.peers.size(), 2u);
  EXPECT_EQ(welcome.peers[0].name, "bob");
  EXPECT_EQ(welcome.peers[0].invite_id, "0123456789abcdef");
  EXPECT_EQ(welcome.peers[1].name, std::nullopt);
  EXPECT_EQ(welcome.peers[1].invite_id, std::nullopt);
  EXPECT_EQ(encode_json(welcome), json);
}

TEST(CodecSection7, MessageTypes) {
  EXPECT_EQ(message_type(Kick{}), "kick");
  EXPECT_EQ(message_type(Revoke{}), "revoke");
  EXPECT_EQ(message_type(Revoked{}), "revoked");
}

TEST(CodecSection7, RevokedCountSaturatesAtInt64Max) {
  const Revoked revoked{.invite_id = "x", .kicked = std::numeric_limits<std::uint64_t>::max()};
  EXPECT_EQ(decode_as<Revoked>(encode_json(revoked)).kicked,
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
}

TEST(CodecSection7, RevokeKeepsAnyInviteIdTextForTheRelayToJudge) {
  EXPECT_EQ(decode_as<Revoke>(R"({"type":"revoke","invite_id":"NOT-HEX"})").invite_id, "NOT-HEX");
  EXPECT_EQ(decode_as<Revoke>(R"({"type":"revoke","invite_id":"x","exp":-1})").exp, -1);
}

// --- Wrong types. ---------------------------------------------------------------------------

class Section7MalformedHello : public ::testing::TestWithParam<std::string_view> {};

TEST_P(Section7MalformedHello, IsMalformedHelloNamingTheField) {
  const std::string json =
      R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01",)"
      R"("max_datagram":1400,)" +
      std::string(GetParam()) + "}";
  const MalformedHello malformed = decode_as<MalformedHello>(json);
  const std::string field(GetParam().substr(0, GetParam().find(':')));
  EXPECT_EQ(malformed.why, field + " is not a string") << json;
  // Check 1: malformed_hello, whatever else the hello says.
  const auto verdict = test::hello_verdict(json);
  ASSERT_TRUE(verdict.has_value());
  ASSERT_FALSE(verdict->has_value());
  EXPECT_EQ(verdict->error(), RejectCode::kMalformedHello);
}

INSTANTIATE_TEST_SUITE_P(WrongJsonTypes, Section7MalformedHello,
                         ::testing::Values(R"("room_key":null)", R"("room_key":5)",
                                           R"("room_key":["a"])", R"("room_proof":null)",
                                           R"("room_proof":{})", R"("room_proof":true)",
                                           R"("invite":null)", R"("invite":1.5)",
                                           R"("invite":{"t":"lpi1"})"));

class Section7StrictDecode : public ::testing::TestWithParam<std::string_view> {};

TEST_P(Section7StrictDecode, IsMalformed) {
  EXPECT_EQ(decode_error(GetParam()), FrameError::kMalformed);
}

INSTANTIATE_TEST_SUITE_P(
    WrongShapes, Section7StrictDecode,
    ::testing::Values(
        // kick
        R"({"type":"kick"})", R"({"type":"kick","peer_id":"3"})",
        R"({"type":"kick","peer_id":3.0})", R"({"type":"kick","peer_id":0})",
        R"({"type":"kick","peer_id":65536})", R"({"type":"kick","peer_id":-3})",
        R"({"type":"kick","peer_id":3,"reason":null})", R"({"type":"kick","peer_id":3,"reason":4})",
        // revoke
        R"({"type":"revoke"})", R"({"type":"revoke","invite_id":5})",
        R"({"type":"revoke","invite_id":null})",
        R"({"type":"revoke","invite_id":"9f2c4e1a7b3d5a60","exp":"1767225600"})",
        R"({"type":"revoke","invite_id":"9f2c4e1a7b3d5a60","exp":1.5})",
        R"({"type":"revoke","invite_id":"9f2c4e1a7b3d5a60","exp":1e9})",
        R"({"type":"revoke","invite_id":"9f2c4e1a7b3d5a60","exp":null})",
        R"({"type":"revoke","invite_id":"9f2c4e1a7b3d5a60","exp":9223372036854775808})",
        // revoked
        R"({"type":"revoked","invite_id":"9f2c4e1a7b3d5a60"})", R"({"type":"revoked","kicked":1})",
        R"({"type":"revoked","invite_id":"9f2c4e1a7b3d5a60","kicked":-1})",
        R"({"type":"revoked","invite_id":"9f2c4e1a7b3d5a60","kicked":"1"})",
        R"({"type":"revoked","invite_id":"9f2c4e1a7b3d5a60","kicked":1.0})",
        // peer fields
        R"({"type":"peer_joined","peer":{"peer_id":3,"role":"client","mac":"02:5a:aa:bb:cc:dd","name":5}})",
        R"({"type":"peer_joined","peer":{"peer_id":3,"role":"client","mac":"02:5a:aa:bb:cc:dd","name":null}})",
        R"({"type":"peer_joined","peer":{"peer_id":3,"role":"client","mac":"02:5a:aa:bb:cc:dd","invite_id":7}})",
        R"({"type":"welcome","protocol":1,"peer_id":1,"room":"ROOM1","mtu":1380,"max_datagram":1402,"peers":[{"peer_id":2,"role":"client","mac":"02:00:00:00:00:02","name":["bob"]}]})"));

// --- An `open` relay reads sections 1-6 exactly. --------------------------------------------

TEST(CodecOpenRelay, OwnerMessagesAreUnknownTypes) {
  EXPECT_EQ(decode_as<UnknownMessage>(kKickExample, kOpenRelay).type, "kick");
  EXPECT_EQ(decode_as<UnknownMessage>(kRevokeExample, kOpenRelay).type, "revoke");
  EXPECT_EQ(decode_as<UnknownMessage>(kRevokedExample, kOpenRelay).type, "revoked");
  // Malformed ones too: ignored after admission, never a reason to close.
  EXPECT_EQ(decode_as<UnknownMessage>(R"({"type":"kick","peer_id":"x"})", kOpenRelay).type, "kick");
}

TEST(CodecOpenRelay, NewHelloFieldsAreIgnoredWhateverTheirType) {
  const Hello hello = decode_as<Hello>(
      R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1","mac":"02:00:00:00:00:01",)"
      R"("max_datagram":1400,"room_key":null,"room_proof":5,"invite":"lpi1.x.y"})",
      kOpenRelay);
  EXPECT_EQ(hello.room_key, std::nullopt);
  EXPECT_EQ(hello.room_proof, std::nullopt);
  EXPECT_EQ(hello.invite, std::nullopt);
}

TEST(CodecOpenRelay, NewPeerFieldsAreIgnoredWhateverTheirType) {
  const PeerJoined joined = decode_as<PeerJoined>(
      R"({"type":"peer_joined","peer":{"peer_id":3,"role":"client","mac":"02:5a:aa:bb:cc:dd","name":5,"invite_id":"x"}})",
      kOpenRelay);
  EXPECT_EQ(joined.peer.name, std::nullopt);
  EXPECT_EQ(joined.peer.invite_id, std::nullopt);
}

TEST(CodecOpenRelay, FrameDecoderHonoursTheOptions) {
  FrameDecoder open(kOpenRelay);
  FrameDecoder full;
  const auto bytes = test::frame(R"({"type":"kick","peer_id":0})");
  open.feed(bytes);
  full.feed(bytes);
  const auto from_open = open.next();
  ASSERT_TRUE(from_open.has_value());
  ASSERT_TRUE(from_open->has_value());
  EXPECT_TRUE(std::holds_alternative<UnknownMessage>(**from_open));
  const auto from_full = full.next();
  ASSERT_FALSE(from_full.has_value());
  EXPECT_EQ(from_full.error(), FrameError::kMalformed);
}

// --- Everything else is unchanged. ----------------------------------------------------------

TEST(CodecSection7, ValidateHelloPassesCredentialsThrough) {
  const Hello hello = decode_as<Hello>(kClaimHello);
  const auto valid = validate_hello(hello);
  ASSERT_TRUE(valid.has_value());
  EXPECT_EQ(valid->room_key, hello.room_key);
  EXPECT_EQ(valid->room_proof, hello.room_proof);
  EXPECT_EQ(valid->invite, std::nullopt);
}

TEST(CodecSection7, AppErrorKickedIsFour) { EXPECT_EQ(app_error::kKicked, 4u); }

}  // namespace
}  // namespace lanparty::ctrl
