// SPDX-License-Identifier: MIT
// Our redirect extension of reject (docs/protocol.md) and the relay addresses it carries.
#include <gtest/gtest.h>

#include <string>

#include "ctrl_test_support.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/invite_link.hpp"

namespace lanparty::ctrl {
namespace {

using test::decode_as;
using test::decode_error;

TEST(RelayAddress, ParsesNamesIpv4AndBracketedIpv6) {
  EXPECT_EQ(parse_relay_address("relay-2.example:4433").value(),
            (RelayAddress{.host = "relay-2.example", .port = 4433}));
  EXPECT_EQ(parse_relay_address("10.213.5.3:4433").value(),
            (RelayAddress{.host = "10.213.5.3", .port = 4433}));
  EXPECT_EQ(parse_relay_address("[2001:db8::1]:443").value(),
            (RelayAddress{.host = "2001:db8::1", .port = 443}));
  EXPECT_EQ(format_relay_address({.host = "2001:db8::1", .port = 443}), "[2001:db8::1]:443");
  EXPECT_EQ(format_relay_address({.host = "10.0.0.1", .port = 1}), "10.0.0.1:1");
}

TEST(RelayAddress, RefusesWhatIsNotHostColonPort) {
  for (const char* bad : {"", "relay.example", "relay.example:", ":4433", "relay.example:0",
                          "relay.example:65536", "2001:db8::1:443", "relay.example:44/x",
                          "user@relay.example:4433", "relay example:4433", "999.1.1.1:4433"}) {
    const auto parsed = parse_relay_address(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_NE(parsed.error().context.find("relay address"), std::string::npos)
        << parsed.error().context;
  }
}

TEST(RedirectReject, RoundTripsWithItsRelay) {
  const Reject redirect{
      .code = "redirect", .message = "room ROOM1 lives on 10.0.0.2:4433", .relay = "10.0.0.2:4433"};
  const std::string json = encode_json(redirect);
  EXPECT_NE(json.find(R"("relay":"10.0.0.2:4433")"), std::string::npos) << json;
  const auto decoded = decode_as<Reject>(json);
  EXPECT_EQ(decoded, redirect);
  EXPECT_EQ(decoded.reject_code(), RejectCode::kRedirect);
}

TEST(RedirectReject, OtherRejectsCarryNoRelay) {
  EXPECT_EQ(decode_as<Reject>(R"({"type":"reject","code":"room_full"})").relay, std::nullopt);
  EXPECT_EQ(encode_json(Reject{.code = "room_full", .message = "m"}).find("relay"),
            std::string::npos);
}

TEST(RedirectReject, ARelayThatIsNotHostPortOrNotOnARedirectIsMalformed) {
  EXPECT_EQ(decode_error(R"({"type":"reject","code":"room_full","relay":"10.0.0.2:4433"})"),
            FrameError::kMalformed);
  EXPECT_EQ(decode_error(R"({"type":"reject","code":"redirect","relay":"10.0.0.2"})"),
            FrameError::kMalformed);
  EXPECT_EQ(decode_error(R"({"type":"reject","code":"redirect","relay":5})"),
            FrameError::kMalformed);
  const std::string long_name = std::string(250, 'a') + ".example:4433";
  EXPECT_EQ(decode_error(R"({"type":"reject","code":"redirect","relay":")" + long_name + "\"}"),
            FrameError::kMalformed);
  // And the encoder never writes one.
  std::string out;
  EXPECT_FALSE(
      append_frame(Reject{.code = "room_full", .message = "", .relay = "10.0.0.2:1"}, out));
  EXPECT_FALSE(append_frame(Reject{.code = "redirect", .message = "", .relay = "nope"}, out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lanparty::ctrl
