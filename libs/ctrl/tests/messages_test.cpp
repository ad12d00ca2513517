// SPDX-License-Identifier: MIT
#include "lanparty/ctrl/messages.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <utility>
#include <vector>

#include "ctrl_test_support.hpp"

namespace lanparty::ctrl {
namespace {

// The spellings are PROTOCOL.md's, written out here independently of the implementation.
const std::vector<std::pair<RejectCode, std::string_view>> kRejectSpellings = {
    {RejectCode::kUnsupportedProtocol, "unsupported_protocol"},
    {RejectCode::kMalformedHello, "malformed_hello"},
    {RejectCode::kInvalidRole, "invalid_role"},
    {RejectCode::kInvalidRoom, "invalid_room"},
    {RejectCode::kInvalidMac, "invalid_mac"},
    {RejectCode::kGatewayExists, "gateway_exists"},
    {RejectCode::kDuplicateMac, "duplicate_mac"},
    {RejectCode::kRoomFull, "room_full"},
    {RejectCode::kRelayFull, "relay_full"},
    {RejectCode::kMtuTooSmall, "mtu_too_small"},
    {RejectCode::kDatagramsUnsupported, "datagrams_unsupported"},
    {RejectCode::kAuthRequired, "auth_required"},
    {RejectCode::kAuthFailed, "auth_failed"},
    {RejectCode::kRoomOwned, "room_owned"},
    {RejectCode::kInviteExpired, "invite_expired"},
    {RejectCode::kInviteRevoked, "invite_revoked"},
    {RejectCode::kRedirect, "redirect"},  // our extension (docs/protocol.md)
};

TEST(RejectCode, EveryCodeHasProtocolSpellingBothWays) {
  for (const auto& [code, spelling] : kRejectSpellings) {
    EXPECT_EQ(to_string(code), spelling);
    EXPECT_EQ(parse_reject_code(spelling), code) << spelling;
  }
}

TEST(RejectCode, ParseIsExactAndCaseSensitive) {
  EXPECT_EQ(parse_reject_code("Room_Full"), std::nullopt);
  EXPECT_EQ(parse_reject_code("room_full "), std::nullopt);
  EXPECT_EQ(parse_reject_code(""), std::nullopt);
  EXPECT_EQ(parse_reject_code("banned"), std::nullopt);
}

TEST(Role, SpellingsRoundTrip) {
  EXPECT_EQ(to_string(Role::kClient), "client");
  EXPECT_EQ(to_string(Role::kGateway), "gateway");
  EXPECT_EQ(parse_role("client"), Role::kClient);
  EXPECT_EQ(parse_role("gateway"), Role::kGateway);
  EXPECT_EQ(parse_role("Client"), std::nullopt);
  EXPECT_EQ(parse_role("server"), std::nullopt);
}

TEST(LeaveReason, SpellingsRoundTrip) {
  const std::vector<std::pair<LeaveReason, std::string_view>> spellings = {
      {LeaveReason::kClosed, "closed"},
      {LeaveReason::kTimeout, "timeout"},
      {LeaveReason::kKicked, "kicked"},
      {LeaveReason::kLost, "lost"},
  };
  for (const auto& [reason, spelling] : spellings) {
    EXPECT_EQ(to_string(reason), spelling);
    EXPECT_EQ(parse_leave_reason(spelling), reason);
  }
  EXPECT_EQ(parse_leave_reason("gone"), std::nullopt);
}

TEST(Enums, OutOfRangeValueNamesUnknownInsteadOfReadingPastTable) {
  EXPECT_EQ(to_string(static_cast<RejectCode>(200)), "unknown");
  EXPECT_EQ(to_string(static_cast<Role>(9)), "unknown");
  EXPECT_EQ(to_string(static_cast<LeaveReason>(4)), "unknown");
}

TEST(Reject, KnownCodeParsesAndNewerCodeStaysText) {
  EXPECT_EQ(make_reject(RejectCode::kRoomFull, "full").reject_code(), RejectCode::kRoomFull);
  const Reject newer{.code = "banned_for_cheating", .message = "bye"};
  EXPECT_EQ(newer.reject_code(), std::nullopt);
  EXPECT_EQ(newer.code, "banned_for_cheating");
}

TEST(PeerLeft, ReasonParsesWhenKnown) {
  EXPECT_EQ((PeerLeft{.peer_id = 3, .reason = "kicked"}).leave_reason(), LeaveReason::kKicked);
  EXPECT_EQ((PeerLeft{.peer_id = 3, .reason = "vanished"}).leave_reason(), std::nullopt);
}

TEST(MessageType, NamesTheWireType) {
  EXPECT_EQ(message_type(Hello{}), "hello");
  EXPECT_EQ(message_type(MalformedHello{"x"}), "hello");
  EXPECT_EQ(message_type(Welcome{}), "welcome");
  EXPECT_EQ(message_type(Reject{}), "reject");
  EXPECT_EQ(message_type(PeerJoined{}), "peer_joined");
  EXPECT_EQ(message_type(PeerLeft{}), "peer_left");
  EXPECT_EQ(message_type(Stats{}), "stats");
  EXPECT_EQ(message_type(Disconnect{}), "disconnect");
  EXPECT_EQ(message_type(UnknownMessage{"ping"}), "ping");
}

}  // namespace
}  // namespace lanparty::ctrl
