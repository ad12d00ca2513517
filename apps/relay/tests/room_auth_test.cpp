// SPDX-License-Identifier: MIT
// Section 7's admission checks as pure policy: real Ed25519 signatures, an in-memory room
// directory, a fixed clock. The same rules over real QUIC are in relay_ownership_test.cpp.
#include "room_auth.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/directory/memory_room_directory.hpp"
#include "lanparty/quic/room_key.hpp"
#include "relay_test_support.hpp"

namespace lanparty::relay {
namespace {

using ctrl::RejectCode;
using testing::hello;

const directory::Seconds kNow{std::chrono::seconds(1'800'000'000)};
constexpr std::int64_t kNowUnix = 1'800'000'000;

std::array<std::uint8_t, ctrl::kRoomClaimEkmBytes> ekm_of(std::uint8_t fill) {
  std::array<std::uint8_t, ctrl::kRoomClaimEkmBytes> ekm{};
  ekm.fill(fill);
  return ekm;
}

class RoomAuthTest : public ::testing::Test {
 protected:
  static quic::RoomKey key(std::uint8_t fill) {
    quic::Ed25519Seed seed{};
    seed.fill(fill);
    return *quic::RoomKey::from_seed(seed);
  }

  ctrl::ValidHello gateway(const quic::RoomKey& k, std::string room = "ROOM1",
                           std::uint8_t ekm_fill = 7) {
    ctrl::ValidHello h = hello(ctrl::Role::kGateway, room, "00:11:22:33:44:55");
    h.room_key = ctrl::base64url_encode(k.public_key());
    h.room_proof =
        ctrl::base64url_encode(*k.sign(ctrl::claim_signing_input(room, ekm_of(ekm_fill))));
    return h;
  }

  static std::string token(const quic::RoomKey& k, const ctrl::InvitePayload& payload) {
    return *ctrl::encode_invite_token(
        payload,
        [&k](std::span<const std::uint8_t> m) -> Result<ctrl::Signature> { return k.sign(m); });
  }

  ctrl::ValidHello client(std::optional<std::string> invite, std::string room = "ROOM1") {
    ctrl::ValidHello h = hello(ctrl::Role::kClient, std::move(room), "02:5a:00:00:00:01");
    h.invite = std::move(invite);
    return h;
  }

  RejectCode gateway_code(const ctrl::ValidHello& h, const OwnerKeys* listed = nullptr) {
    auto checked = check_gateway_claim(h, ekm_of(7), listed, records_, kNow);
    EXPECT_FALSE(checked.has_value());
    return checked ? RejectCode::kMalformedHello : checked.error().code;
  }

  RejectCode client_code(const ctrl::ValidHello& h) {
    auto checked = check_client_invite(h, records_, kNow);
    EXPECT_FALSE(checked.has_value());
    return checked ? RejectCode::kMalformedHello : checked.error().code;
  }

  void own(std::string_view room, const quic::RoomKey& k) {
    ASSERT_EQ(*records_.claim(room, k.public_key(), kNow), directory::ClaimOutcome::kClaimed);
  }

  const quic::RoomKey alice_ = key(1);
  const quic::RoomKey bob_ = key(2);
  directory::MemoryRoomDirectory records_;
};

TEST_F(RoomAuthTest, GatewayWithAValidProofGetsItsKey) {
  auto checked = check_gateway_claim(gateway(alice_), ekm_of(7), nullptr, records_, kNow);
  ASSERT_TRUE(checked.has_value()) << checked.error().why;
  EXPECT_EQ(*checked, alice_.public_key());
  // Checking writes nothing: the relay claims only after checks 6-11.
  EXPECT_FALSE(records_.lookup("ROOM1", kNow)->has_value());
}

TEST_F(RoomAuthTest, GatewayWithoutKeyOrProofIsAuthRequired) {
  ctrl::ValidHello no_key = gateway(alice_);
  no_key.room_key.reset();
  ctrl::ValidHello no_proof = gateway(alice_);
  no_proof.room_proof.reset();
  EXPECT_EQ(gateway_code(no_key), RejectCode::kAuthRequired);
  EXPECT_EQ(gateway_code(no_proof), RejectCode::kAuthRequired);
}

TEST_F(RoomAuthTest, UndecodableOrWrongLengthCredentialsAreAuthFailed) {
  const std::string key_text = ctrl::base64url_encode(alice_.public_key());
  for (const std::string& bad : {std::string(), key_text + "=", key_text.substr(0, 42),
                                 key_text + "AA", std::string(43, '+')}) {
    ctrl::ValidHello h = gateway(alice_);
    h.room_key = bad;
    EXPECT_EQ(gateway_code(h), RejectCode::kAuthFailed) << "room_key " << bad;
    ctrl::ValidHello p = gateway(alice_);
    p.room_proof = bad;
    EXPECT_EQ(gateway_code(p), RejectCode::kAuthFailed) << "room_proof " << bad;
  }
}

TEST_F(RoomAuthTest, ProofForAnotherConnectionRoomOrKeyIsAuthFailed) {
  EXPECT_EQ(gateway_code(gateway(alice_, "ROOM1", /*ekm_fill=*/8)), RejectCode::kAuthFailed);
  ctrl::ValidHello other_room = gateway(alice_, "ROOM2");
  other_room.room = "ROOM1";
  EXPECT_EQ(gateway_code(other_room), RejectCode::kAuthFailed);
  ctrl::ValidHello other_key = gateway(alice_);
  other_key.room_key = ctrl::base64url_encode(bob_.public_key());
  EXPECT_EQ(gateway_code(other_key), RejectCode::kAuthFailed);
}

TEST_F(RoomAuthTest, OwnersModeAdmitsOnlyListedKeys) {
  const OwnerKeys listed{alice_.public_key()};
  EXPECT_TRUE(check_gateway_claim(gateway(alice_), ekm_of(7), &listed, records_, kNow));
  EXPECT_EQ(gateway_code(gateway(bob_), &listed), RejectCode::kAuthFailed);
}

TEST_F(RoomAuthTest, RoomOwnedByAnotherKeyIsRoomOwnedAndByTheSameKeyIsFine) {
  own("ROOM1", alice_);
  EXPECT_EQ(gateway_code(gateway(bob_)), RejectCode::kRoomOwned);
  EXPECT_TRUE(check_gateway_claim(gateway(alice_), ekm_of(7), nullptr, records_, kNow));
}

TEST_F(RoomAuthTest, RoomOwnedIsCheckedOnlyAfterTheProof) {
  own("ROOM1", alice_);
  EXPECT_EQ(gateway_code(gateway(bob_, "ROOM1", 8)), RejectCode::kAuthFailed);
}

TEST_F(RoomAuthTest, ClientWithAValidInviteGetsItsIdAndName) {
  own("ROOM1", alice_);
  const auto t = token(
      alice_, {.room = "ROOM1", .id = "0123456789abcdef", .exp = kNowUnix + 1, .name = "carol"});
  auto grant = check_client_invite(client(t), records_, kNow);
  ASSERT_TRUE(grant.has_value()) << grant.error().why;
  EXPECT_EQ(grant->invite_id, "0123456789abcdef");
  EXPECT_EQ(grant->name, "carol");
  EXPECT_EQ(grant->room_key, alice_.public_key());
}

TEST_F(RoomAuthTest, ClientInviteRulesInOrder) {
  own("ROOM1", alice_);
  own("ROOM2", bob_);
  const ctrl::InvitePayload good{.room = "ROOM1", .id = "0123456789abcdef", .exp = kNowUnix + 60};
  EXPECT_EQ(client_code(client(std::nullopt)), RejectCode::kAuthRequired);
  EXPECT_EQ(client_code(client("lpi1.garbage")), RejectCode::kAuthFailed);
  EXPECT_EQ(client_code(client("")), RejectCode::kAuthFailed);
  // Signed by another room's owner.
  EXPECT_EQ(client_code(client(token(bob_, good))), RejectCode::kAuthFailed);
  // Signed by the owner, but for another room.
  ctrl::InvitePayload other_room = good;
  other_room.room = "ROOM2";
  EXPECT_EQ(client_code(client(token(alice_, other_room))), RejectCode::kAuthFailed);
  // A room without a record.
  ctrl::InvitePayload unowned = good;
  unowned.room = "ROOM3";
  EXPECT_EQ(client_code(client(token(alice_, unowned), "ROOM3")), RejectCode::kAuthFailed);
  // exp == now is expired.
  ctrl::InvitePayload expired = good;
  expired.exp = kNowUnix;
  EXPECT_EQ(client_code(client(token(alice_, expired))), RejectCode::kInviteExpired);
  ASSERT_TRUE(records_.revoke("ROOM1", good.id, std::nullopt, kNow));
  EXPECT_EQ(client_code(client(token(alice_, good))), RejectCode::kInviteRevoked);
}

TEST_F(RoomAuthTest, NothingOfAnUnverifiedTokenCounts) {
  own("ROOM1", alice_);
  // Expired and revoked, but signed by a stranger: auth_failed, not the payload's verdicts.
  ctrl::InvitePayload payload{.room = "ROOM1", .id = "0123456789abcdef", .exp = kNowUnix - 1};
  ASSERT_TRUE(records_.revoke("ROOM1", payload.id, std::nullopt, kNow));
  EXPECT_EQ(client_code(client(token(bob_, payload))), RejectCode::kAuthFailed);
}

TEST_F(RoomAuthTest, TamperedTokensAreAuthFailed) {
  own("ROOM1", alice_);
  const std::string t =
      token(alice_, {.room = "ROOM1", .id = "0123456789abcdef", .exp = kNowUnix + 60});
  const auto last_dot = t.rfind('.');
  std::string payload_changed = t;
  payload_changed[ctrl::kInviteTokenPrefix.size() + 3] ^= 1;  // one payload character
  std::string signature_changed = t;
  signature_changed[last_dot + 5] = signature_changed[last_dot + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(client_code(client(payload_changed)), RejectCode::kAuthFailed);
  EXPECT_EQ(client_code(client(signature_changed)), RejectCode::kAuthFailed);
}

}  // namespace
}  // namespace lanparty::relay
