// SPDX-License-Identifier: MIT
// The status report: JSON both ways, the words people read, and `status` of a daemon that is
// not running (the binaries themselves, exit code 3). A running party's status is checked
// end to end in tests/e2e (step 11).
#include "status.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "run_process.hpp"

namespace lanparty::apps::testing {
namespace {

using ::testing::HasSubstr;

StatusReport sample() {
  return StatusReport{
      .program = "lanparty-client",
      .state = "connected",
      .in_room = true,
      .since_unix = 1'800'000'000,
      .relay = "relay.example.net:4433",
      .server_name = "lanparty-relay",
      .room = "ROOM1",
      .device = "lanparty0",
      .mac = "02:5a:00:00:00:02",
      .peer_id = 2,
      .mtu = 1380,
      .rtt_us = 12'345,
      .frames_sent = 10,
      .frames_received = 20,
      .drops = {{"too_large", 3}},
      .relay_drops = {{"rate_limited", 4}},
      .connects = 2,
      .joins = 2,
      .peers = {
          {.id = 1, .role = "gateway", .mac = "02:5a:00:00:00:01", .name = "", .invite_id = ""},
          {.id = 3,
           .role = "client",
           .mac = "02:5a:00:00:00:03",
           .name = "alice",
           .invite_id = "0123456789abcdef"}}};
}

TEST(StatusReport, SurvivesJson) {
  const StatusReport report = sample();
  auto back = status_from_json(to_json(report));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(to_json(*back), to_json(report));
  EXPECT_EQ(back->peers.size(), 2u);
  EXPECT_EQ(back->peers[1].name, "alice");
  EXPECT_EQ(back->rtt_us, 12'345);
  EXPECT_EQ(back->drops.at(0).count, 3u);
}

TEST(StatusReport, RefusesWhatIsNotAReport) {
  EXPECT_FALSE(status_from_json("pong"));
  EXPECT_FALSE(status_from_json("[1,2]"));
  EXPECT_FALSE(status_from_json(R"({"room": 5})"));
  EXPECT_FALSE(status_from_json(R"({"peers": [{"id": "one"}]})"));
}

TEST(StatusReport, InWords) {
  const std::string text = describe(sample(), 1'800'000'000 + 125);
  EXPECT_THAT(text, HasSubstr("lanparty-client: connected to room ROOM1 since "
                              "2027-01-15 08:00:00 UTC (2 min ago)."));
  EXPECT_THAT(text, HasSubstr("Relay:        relay.example.net:4433 (lanparty-relay)"));
  EXPECT_THAT(text, HasSubstr("Room MTU:     1380 bytes"));
  EXPECT_THAT(text, HasSubstr("Relay RTT:    12.3 ms"));
  EXPECT_THAT(text, HasSubstr("Frames:       10 sent, 20 received"));
  EXPECT_THAT(text, HasSubstr("Dropped here: 3 too_large"));
  EXPECT_THAT(text, HasSubstr("Dropped by the relay: 4 rate_limited"));
  EXPECT_THAT(text, HasSubstr("In the room with 2 others:"));
  EXPECT_THAT(text, HasSubstr("3      client   02:5a:00:00:00:03  alice"));
}

TEST(StatusReport, OutOfTheRoomSaysSo) {
  StatusReport report = sample();
  report.in_room = false;
  report.state = "reconnecting";
  report.peers.clear();
  EXPECT_THAT(describe(report, 0),
              HasSubstr("lanparty-client: not in room ROOM1 right now (reconnecting)"));
}

// `status` of a daemon that is not running: one sentence, exit 3 (systemctl status's code for
// a stopped unit), for the client and the gateway.
TEST(StatusCommand, NotRunningExitsThree) {
  ScratchDir dir;
  const auto socket = (dir.path() / "ctl.sock").string();
  const auto client =
      run_process(LANPARTY_CLIENT_BINARY, {"--config", "", "--control-socket", socket, "status"});
  EXPECT_EQ(client.exit_code, 3) << client.output;
  EXPECT_EQ(client.output, "lanparty-client is not running (nothing answers on " + socket + ").\n");
  const auto gateway =
      run_process(LANPARTY_GATEWAY_BINARY,
                  {"--config", "", "--state-dir", dir.path().string(), "status", "--json"});
  EXPECT_EQ(gateway.exit_code, 3) << gateway.output;
  EXPECT_EQ(gateway.output,
            "lanparty-gateway is not running (nothing answers on " + socket + ").\n");
}

}  // namespace
}  // namespace lanparty::apps::testing
