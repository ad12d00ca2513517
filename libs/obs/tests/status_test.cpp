// SPDX-License-Identifier: MIT
#include "lanparty/obs/status.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

namespace lanparty::obs {
namespace {

// Every code of PROTOCOL.md sections 2 and 7 has its own sentence, never the generic fallback.
TEST(DescribeReject, EveryProtocolCodeHasItsOwnSentence) {
  const char* codes[] = {
      "unsupported_protocol", "malformed_hello", "invalid_role",          "invalid_room",
      "invalid_mac",          "gateway_exists",  "duplicate_mac",         "room_full",
      "relay_full",           "mtu_too_small",   "datagrams_unsupported", "auth_required",
      "auth_failed",          "room_owned",      "invite_expired",        "invite_revoked"};
  const std::string generic = describe_reject("no_such_code");
  for (const char* code : codes) {
    const std::string sentence = describe_reject(code);
    EXPECT_NE(sentence, generic) << code;
    EXPECT_EQ(sentence.find(code), std::string::npos) << "sentence repeats the code: " << code;
  }
}

TEST(DescribeReject, DuplicateMacTellsWhatToDo) {
  EXPECT_NE(describe_reject("duplicate_mac").find("identity file"), std::string::npos);
}

TEST(DescribeReject, Section7SentencesSayWhatToDo) {
  EXPECT_NE(describe_reject("auth_required").find("invite link"), std::string::npos);
  EXPECT_NE(describe_reject("auth_failed").find("new invite link"), std::string::npos);
  EXPECT_NE(describe_reject("room_owned").find("another room name"), std::string::npos);
  EXPECT_NE(describe_reject("invite_expired").find("new one"), std::string::npos);
  EXPECT_NE(describe_reject("invite_revoked").find("withdrawn"), std::string::npos);
}

TEST(DescribeReject, UnknownCodeIsNamed) {
  EXPECT_NE(describe_reject("banned_forever").find("banned_forever"), std::string::npos);
}

TEST(DescribeState, EveryStateHasASentence) {
  for (auto s :
       {ConnectionState::kConnecting, ConnectionState::kJoining, ConnectionState::kConnected,
        ConnectionState::kReconnecting, ConnectionState::kRejected,
        ConnectionState::kHandshakeFailed, ConnectionState::kDisconnected}) {
    EXPECT_FALSE(describe(s).empty());
    EXPECT_NE(describe(s), "Unknown state.");
    EXPECT_NE(to_string(s), "unknown");
  }
}

// The stable names and exit codes are an interface (logs, scripts, the apps' READMEs).
struct FailureRow {
  HandshakeFailure failure;
  std::string_view name;
  int exit_code;
  bool permanent;
};
constexpr FailureRow kFailures[] = {
    {HandshakeFailure::kPinMismatch, "pin_mismatch", 10, true},
    {HandshakeFailure::kUntrustedCertificate, "untrusted_certificate", 11, true},
    {HandshakeFailure::kWrongServerName, "wrong_server_name", 12, true},
    {HandshakeFailure::kNoAlpn, "no_alpn", 13, true},
    {HandshakeFailure::kVersionMismatch, "version_mismatch", 14, true},
    {HandshakeFailure::kUnreachable, "unreachable", 15, false},
    {HandshakeFailure::kTimeout, "handshake_timeout", 16, false},
    {HandshakeFailure::kOther, "handshake_error", 17, false},
};

TEST(HandshakeFailure, NamesExitCodesAndPermanenceAreStable) {
  for (const auto& row : kFailures) {
    EXPECT_EQ(to_string(row.failure), row.name);
    EXPECT_EQ(exit_code(row.failure), row.exit_code) << row.name;
    EXPECT_EQ(is_permanent(row.failure), row.permanent) << row.name;
  }
}

TEST(HandshakeFailure, EachHasItsOwnSentenceAndExitCode) {
  std::set<std::string> sentences;
  std::set<int> codes;
  for (const auto& row : kFailures) {
    const std::string sentence =
        describe_handshake_failure(row.failure, "relay.example.net:4433", "lanparty-relay");
    EXPECT_FALSE(sentence.empty()) << row.name;
    EXPECT_EQ(sentence.find(row.name), std::string::npos) << "repeats the name: " << sentence;
    sentences.insert(sentence);
    codes.insert(exit_code(row.failure));
    // Clear of 0 (success), 1 (refused), 2 (set-up error) and CLI11's 100-127.
    EXPECT_GE(exit_code(row.failure), 3) << row.name;
    EXPECT_LT(exit_code(row.failure), 100) << row.name;
  }
  EXPECT_EQ(sentences.size(), std::size(kFailures));
  EXPECT_EQ(codes.size(), std::size(kFailures));
}

TEST(HandshakeFailure, SentencesSayWhatToDo) {
  const auto say = [](HandshakeFailure f) {
    return describe_handshake_failure(f, "relay.example.net:4433", "lanparty-relay");
  };
  EXPECT_EQ(say(HandshakeFailure::kUnreachable),
            "Nothing answers at relay.example.net:4433: check the address and that the relay "
            "runs.");
  EXPECT_NE(say(HandshakeFailure::kPinMismatch).find("invite link"), std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kPinMismatch).find("ask the host for a new link"),
            std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kUntrustedCertificate).find("--ca-file"), std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kWrongServerName).find("\"lanparty-relay\""), std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kWrongServerName).find("--server-name"), std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kNoAlpn).find("relay.example.net:4433"), std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kNoAlpn).find("lanparty/1"), std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kVersionMismatch).find("update softlan-vpn"), std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kTimeout).find("UDP"), std::string::npos);
  EXPECT_NE(say(HandshakeFailure::kOther).find("relay.example.net:4433"), std::string::npos);
}

TEST(DescribeKick, MacOnLanExplainsTheAddressClash) {
  EXPECT_EQ(describe_kick("mac_on_lan"),
            "The party host removed you: your network card's address belongs to a machine on the "
            "party LAN. Give it another address (Linux: delete the identity file or pass "
            "--virtual-mac; Windows: set the TAP adapter's MAC in its advanced properties), then "
            "join again.");
}

TEST(DescribeKick, OtherReasonsAreQuotedAndEmptyIsGeneric) {
  EXPECT_EQ(describe_kick(""), "The party host removed you from the room.");
  EXPECT_EQ(describe_kick("afk"), "The party host removed you from the room (reason: \"afk\").");
  EXPECT_EQ(kAppErrorKicked, 4u);
}

TEST(DescribeKick, ReasonCannotSteerATerminal) {
  EXPECT_EQ(describe_kick("a\nb\x1b[31mc\x7f"),
            "The party host removed you from the room (reason: \"a?b?[31mc?\").");
}

TEST(DescribeKick, LongReasonIsCutAtACharacterBoundary) {
  // 63 ASCII bytes then a two-byte character: byte 64 would split it.
  const std::string reason = std::string(63, 'r') + "\xC3\xA9" + "tail";
  EXPECT_EQ(describe_kick(reason),
            "The party host removed you from the room (reason: \"" + std::string(63, 'r') + "\").");
}

// 2026-12-01 20:00:00 UTC, a Tuesday.
constexpr std::int64_t kDec1At2000 = 1796155200;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;

TEST(DescribeInviteExpiry, Yesterday) {
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 + 13 * kHour + 30 * 60),
            "This invite expired yesterday at 20:00 UTC; ask the host for a new one.");
}

TEST(DescribeInviteExpiry, EarlierDaysGiveTheDate) {
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 + 2 * kDay),
            "This invite expired on 2026-12-01 at 20:00 UTC; ask the host for a new one.");
  EXPECT_EQ(describe_invite_expiry(1767225600, 1767225600 + 400 * kDay),
            "This invite expired on 2026-01-01 at 00:00 UTC; ask the host for a new one.");
}

TEST(DescribeInviteExpiry, TodayAndMinutesAgo) {
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 + 3 * kHour),
            "This invite expired today at 20:00 UTC; ask the host for a new one.");
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 + 25 * 60),
            "This invite expired 25 minutes ago; ask the host for a new one.");
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 + 60),
            "This invite expired 1 minute ago; ask the host for a new one.");
  // exp == now is expired (PROTOCOL.md: exp <= the relay's clock).
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000),
            "This invite expired less than a minute ago; ask the host for a new one.");
}

TEST(DescribeInviteExpiry, DaysFollowTheGivenOffset) {
  // 20:00 UTC is 21:00 at UTC+01:00; 09:30 next morning UTC is 10:30 there: yesterday.
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 + 13 * kHour + 30 * 60,
                                   std::chrono::minutes{60}),
            "This invite expired yesterday at 21:00 UTC+01:00; ask the host for a new one.");
  // At UTC-05:00 the invite ran out at 15:00 and it is now 17:00 the same day.
  EXPECT_EQ(
      describe_invite_expiry(kDec1At2000, kDec1At2000 + 2 * kHour, std::chrono::minutes{-5 * 60}),
      "This invite expired today at 15:00 UTC-05:00; ask the host for a new one.");
  // At UTC+05:30, 20:00 UTC is 01:30 on 2 December.
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 + 3 * kDay,
                                   std::chrono::minutes{5 * 60 + 30}),
            "This invite expired on 2026-12-02 at 01:30 UTC+05:30; ask the host for a new one.");
}

TEST(DescribeInviteExpiry, FutureExpSuspectsAClock) {
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 - 2 * kHour),
            "The relay says this invite has expired, but by this computer's clock it is valid "
            "until today at 20:00 UTC. Check this computer's date and time, or ask the host for "
            "a new invite.");
  EXPECT_NE(describe_invite_expiry(kDec1At2000, kDec1At2000 - 21 * kHour).find("tomorrow at 20:00"),
            std::string::npos);
  EXPECT_NE(describe_invite_expiry(kDec1At2000, kDec1At2000 - 5 * kDay).find("2026-12-01 at 20:00"),
            std::string::npos);
}

TEST(DescribeInviteExpiry, OutOfRangeValuesGetAPlainSentence) {
  const std::string plain = "This invite has expired; ask the host for a new one.";
  EXPECT_EQ(describe_invite_expiry(INT64_MIN, kDec1At2000), plain);
  EXPECT_EQ(describe_invite_expiry(-1, kDec1At2000), plain);
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, INT64_MAX), plain);
  EXPECT_EQ(describe_invite_expiry(INT64_MAX, INT64_MIN), plain);
  EXPECT_EQ(describe_invite_expiry(kDec1At2000, kDec1At2000 + kDay, std::chrono::hours{24}), plain);
  // The edges of the range still get a date.
  EXPECT_EQ(describe_invite_expiry(0, 253402300799),
            "This invite expired on 1970-01-01 at 00:00 UTC; ask the host for a new one.");
}

}  // namespace
}  // namespace lanparty::obs
