// SPDX-License-Identifier: MIT
#include "lanparty/obs/status.hpp"

#include <gtest/gtest.h>

namespace lanparty::obs {
namespace {

// Every code of PROTOCOL.md section 2 has its own sentence, never the generic fallback.
TEST(DescribeReject, EveryProtocolCodeHasItsOwnSentence) {
  const char* codes[] = {
      "unsupported_protocol", "malformed_hello", "invalid_role",         "invalid_room",
      "invalid_mac",          "gateway_exists",  "duplicate_mac",        "room_full",
      "relay_full",           "mtu_too_small",   "datagrams_unsupported"};
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

TEST(DescribeReject, UnknownCodeIsNamed) {
  EXPECT_NE(describe_reject("banned_forever").find("banned_forever"), std::string::npos);
}

TEST(DescribeState, EveryStateHasASentence) {
  for (auto s :
       {ConnectionState::kConnecting, ConnectionState::kJoining, ConnectionState::kConnected,
        ConnectionState::kReconnecting, ConnectionState::kRejected,
        ConnectionState::kCertificateMismatch, ConnectionState::kDisconnected}) {
    EXPECT_FALSE(describe(s).empty());
    EXPECT_NE(describe(s), "Unknown state.");
    EXPECT_NE(to_string(s), "unknown");
  }
}

}  // namespace
}  // namespace lanparty::obs
