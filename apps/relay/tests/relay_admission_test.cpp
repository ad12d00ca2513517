// SPDX-License-Identifier: MIT
// Admission over real QUIC (PROTOCOL.md sections 2 and 4): every reject code and its order,
// welcome contents, peer_joined / peer_left and their reasons, rejoining.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "relay_harness.hpp"

namespace lanparty::relay::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr std::uint64_t kAppNoError = 0;

// --- every reject code, in PROTOCOL.md's order -------------------------------------------

struct RejectCase {
  const char* name;
  RoomLimits limits;
  std::vector<HelloJson> before;  // admitted first, in this order
  HelloJson candidate;
  PeerOptions candidate_options;
  const char* code;
};

HelloJson with(HelloJson hello, std::optional<std::string> HelloJson::*field,
               std::optional<std::string> value) {
  hello.*field = std::move(value);
  return hello;
}

HelloJson client(std::string_view mac, int max_datagram = 1430, std::string_view room = "ROOM1") {
  return hello_json("client", room, mac, max_datagram);
}
HelloJson gateway(std::string_view mac = kGatewayMac, std::string_view room = "ROOM1") {
  return hello_json("gateway", room, mac);
}

const PeerOptions kNoDatagrams{.max_datagram_frame_size = 0};

std::vector<RejectCase> reject_cases() {
  const HelloJson base = client("02:5a:00:00:00:01");
  using H = HelloJson;
  return {
      // 1. malformed_hello
      {"MissingProtocol", {}, {}, with(base, &H::protocol, std::nullopt), {}, "malformed_hello"},
      {"MissingRole", {}, {}, with(base, &H::role, std::nullopt), {}, "malformed_hello"},
      {"MissingRoom", {}, {}, with(base, &H::room, std::nullopt), {}, "malformed_hello"},
      {"MissingMac", {}, {}, with(base, &H::mac, std::nullopt), {}, "malformed_hello"},
      {"MissingMaxDatagram",
       {},
       {},
       with(base, &H::max_datagram, std::nullopt),
       {},
       "malformed_hello"},
      {"ProtocolAsString", {}, {}, with(base, &H::protocol, "\"1\""), {}, "malformed_hello"},
      {"ProtocolWithFraction", {}, {}, with(base, &H::protocol, "1.0"), {}, "malformed_hello"},
      {"ProtocolWithExponent", {}, {}, with(base, &H::protocol, "1e0"), {}, "malformed_hello"},
      {"ProtocolBeyondInt64",
       {},
       {},
       with(base, &H::protocol, "9223372036854775808"),
       {},
       "malformed_hello"},
      {"RoleAsNumber", {}, {}, with(base, &H::role, "1"), {}, "malformed_hello"},
      {"SoftwareNull", {}, {}, with(base, &H::software, "null"), {}, "malformed_hello"},
      {"SoftwareAsNumber", {}, {}, with(base, &H::software, "5"), {}, "malformed_hello"},
      {"MaxDatagram63", {}, {}, with(base, &H::max_datagram, "63"), {}, "malformed_hello"},
      {"MaxDatagram65536", {}, {}, with(base, &H::max_datagram, "65536"), {}, "malformed_hello"},
      {"MaxDatagramAsString",
       {},
       {},
       with(base, &H::max_datagram, "\"1430\""),
       {},
       "malformed_hello"},
      // 2. unsupported_protocol
      {"Protocol2", {}, {}, with(base, &H::protocol, "2"), {}, "unsupported_protocol"},
      {"Protocol0", {}, {}, with(base, &H::protocol, "0"), {}, "unsupported_protocol"},
      // 3. invalid_role
      {"RoleServer", {}, {}, with(base, &H::role, "\"server\""), {}, "invalid_role"},
      {"RoleCaseSensitive", {}, {}, with(base, &H::role, "\"Client\""), {}, "invalid_role"},
      // 4. invalid_room
      {"RoomTooShort", {}, {}, with(base, &H::room, "\"AB\""), {}, "invalid_room"},
      {"RoomTooLong",
       {},
       {},
       with(base, &H::room, "\"" + std::string(33, 'R') + "\""),
       {},
       "invalid_room"},
      {"RoomLeadingUnderscore", {}, {}, with(base, &H::room, "\"_ROOM\""), {}, "invalid_room"},
      {"RoomTrailingNewline", {}, {}, with(base, &H::room, "\"ROOM1\\n\""), {}, "invalid_room"},
      {"RoomWithSpace", {}, {}, with(base, &H::room, "\"ROOM 1\""), {}, "invalid_room"},
      // 5. invalid_mac
      {"MacMulticast", {}, {}, with(base, &H::mac, "\"03:00:00:00:00:01\""), {}, "invalid_mac"},
      {"MacBroadcast", {}, {}, with(base, &H::mac, "\"ff:ff:ff:ff:ff:ff\""), {}, "invalid_mac"},
      {"MacZero", {}, {}, with(base, &H::mac, "\"00:00:00:00:00:00\""), {}, "invalid_mac"},
      {"MacWithDashes", {}, {}, with(base, &H::mac, "\"02-5a-00-00-00-01\""), {}, "invalid_mac"},
      // 6. datagrams_unsupported
      {"NoDatagramFrames", {}, {}, base, kNoDatagrams, "datagrams_unsupported"},
      // 7. relay_full: only a new room counts
      {"NewRoomBeyondMaxRooms",
       {.max_rooms = 1},
       {client("02:5a:00:00:00:02")},
       client("02:5a:00:00:00:01", 1430, "ROOM2"),
       {},
       "relay_full"},
      // 8. gateway_exists
      {"SecondGateway", {}, {gateway()}, gateway("00:11:22:33:44:66"), {}, "gateway_exists"},
      // 9. duplicate_mac, compared without regard to case
      {"SameMac", {}, {client("02:5a:00:00:00:01")}, base, {}, "duplicate_mac"},
      {"SameMacOtherCase",
       {},
       {client("02:5a:aa:bb:cc:dd")},
       client("02:5A:AA:BB:CC:DD"),
       {},
       "duplicate_mac"},
      // 10. room_full: every peer counts, the gateway included
      {"RoomAtMaxPeers",
       {.max_peers_per_room = 2},
       {gateway(), client("02:5a:00:00:00:02")},
       base,
       {},
       "room_full"},
      // 11. mtu_too_small: below the room MTU (1380 here: budget - 22 must reach it), or a
      // first peer below 576.
      {"LaterPeerBelowRoomMtu",
       {},
       {gateway()},
       client("02:5a:00:00:00:01", 1380 + 22 - 1),
       {},
       "mtu_too_small"},
      {"LaterPeerBelowRoomMtuByTransportParameter",
       {},
       {gateway()},
       base,
       PeerOptions{.max_datagram_frame_size = 1380 + 22 + 3 - 1},
       "mtu_too_small"},
      {"FirstPeerBelow576", {}, {}, client("02:5a:00:00:00:01", 576 + 22 - 1), {}, "mtu_too_small"},
      {"MaxDatagram64IsWellFormedButTooSmall",
       {},
       {},
       client("02:5a:00:00:00:01", 64),
       {},
       "mtu_too_small"},
      // The first failing check answers.
      {"OrderMalformedBeforeProtocol",
       {},
       {},
       with(with(base, &H::protocol, "2"), &H::max_datagram, "63"),
       {},
       "malformed_hello"},
      {"OrderProtocolBeforeRole",
       {},
       {},
       with(with(base, &H::protocol, "2"), &H::role, "\"server\""),
       {},
       "unsupported_protocol"},
      {"OrderRoleBeforeRoom",
       {},
       {},
       with(with(base, &H::role, "\"server\""), &H::room, "\"AB\""),
       {},
       "invalid_role"},
      {"OrderRoomBeforeMac",
       {},
       {},
       with(with(base, &H::room, "\"AB\""), &H::mac, "\"03:00:00:00:00:01\""),
       {},
       "invalid_room"},
      {"OrderMacBeforeDatagrams",
       {},
       {},
       with(base, &H::mac, "\"00:00:00:00:00:00\""),
       kNoDatagrams,
       "invalid_mac"},
      {"OrderDatagramsBeforeRelayFull",
       {.max_rooms = 1},
       {client("02:5a:00:00:00:02", 1430, "ROOM2")},
       base,
       kNoDatagrams,
       "datagrams_unsupported"},
      {"OrderRelayFullBeforeMtu",
       {.max_rooms = 1},
       {client("02:5a:00:00:00:02", 1430, "ROOM2")},
       client("02:5a:00:00:00:01", 100),
       {},
       "relay_full"},
      {"OrderGatewayExistsBeforeDuplicateMac", {}, {gateway()}, gateway(), {}, "gateway_exists"},
      {"OrderDuplicateMacBeforeRoomFull",
       {.max_peers_per_room = 1},
       {client("02:5a:00:00:00:01")},
       base,
       {},
       "duplicate_mac"},
      {"OrderRoomFullBeforeMtu",
       {.max_peers_per_room = 1},
       {gateway()},
       client("02:5a:00:00:00:01", 100),
       {},
       "room_full"},
  };
}

class RejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(RejectTest, PeerReceivesRejectThenCloseWithErrorTwoAndCodeAsReason) {
  const RejectCase& c = GetParam();
  HarnessOptions options;
  options.relay.limits = c.limits;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  std::vector<std::unique_ptr<TestPeer>> earlier;
  for (const HelloJson& hello : c.before) {
    earlier.push_back(h->join(hello));
    ASSERT_NE(earlier.back(), nullptr);
  }
  auto peer = h->connect(c.candidate_options);
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(succeeded(peer->send_hello(c.candidate)));
  EXPECT_TRUE(rejected_with(*peer, c.code)) << c.candidate.to_json();
  // A rejected peer takes no place: the room holds exactly the earlier peers.
  EXPECT_EQ(h->relay().rooms().peer_count(), c.before.size());
  EXPECT_EQ(h->relay().totals().rejected, 1u);
}

INSTANTIATE_TEST_SUITE_P(Codes, RejectTest, ::testing::ValuesIn(reject_cases()),
                         [](const ::testing::TestParamInfo<RejectCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

TEST(RelayReject, CloseFollowsTheAcknowledgementNotTheLingerDeadline) {
  HarnessOptions options;
  options.relay.reject_linger = std::chrono::milliseconds(60000);
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(
      succeeded(peer->send_hello(with(client("02:5a:00:00:00:01"), &HelloJson::protocol, "2"))));
  // kWait is far below the linger: only the acknowledgement can have triggered the close.
  EXPECT_TRUE(rejected_with(*peer, "unsupported_protocol"));
}

TEST(RelayReject, TheCloseComesAtLeast100MsAfterTheRejectIsAcknowledged) {
  // PROTOCOL.md section 2: a stack that acknowledges on arrival and fails pending reads on
  // close still lets its application read the reject.
  auto h = RelayHarness::start({});
  ASSERT_NE(h, nullptr);
  for (int i = 0; i < 5; ++i) {
    auto peer = h->connect();
    ASSERT_NE(peer, nullptr);
    ASSERT_TRUE(
        succeeded(peer->send_hello(with(client("02:5a:00:00:00:01"), &HelloJson::protocol, "2"))));
    ASSERT_TRUE(peer->next<ctrl::Reject>().has_value());
    const auto reject_at = std::chrono::steady_clock::now();
    ASSERT_NE(peer->wait_closed(), nullptr);
    const auto gap = std::chrono::steady_clock::now() - reject_at;
    // Our ack leaves within the ack delay; the relay then lingers 100 ms (timers may fire a
    // few ms early relative to our clock read) and closes well before the 1 s deadline.
    EXPECT_GE(gap, std::chrono::milliseconds(95)) << "round " << i;
    EXPECT_LT(gap, std::chrono::milliseconds(900)) << "round " << i;
    EXPECT_EQ(peer->close_info()->code, 2u);
  }
}

TEST(RelayReject, ASlowReaderGetsEveryRejectBeforeTheClose) {
  // The hello-precedence cases an independent quic-go client lost the reject in: a peer that
  // reads its stream up to 95 ms after the bytes arrived (while its stack has acknowledged
  // them) must still find the reject there, every time.
  auto h = RelayHarness::start({});
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", kGatewayMac));
  ASSERT_NE(gw, nullptr);
  auto taken = h->join(client("02:5a:00:00:00:09"));
  ASSERT_NE(taken, nullptr);
  const std::vector<std::pair<HelloJson, const char*>> cases = {
      {with(client("02:5a:00:00:00:01"), &HelloJson::protocol, "2"), "unsupported_protocol"},
      {with(client("02:5a:00:00:00:01"), &HelloJson::mac, std::nullopt), "malformed_hello"},
      {with(client("02:5a:00:00:00:01"), &HelloJson::role, "\"router\""), "invalid_role"},
      {with(client("02:5a:00:00:00:01"), &HelloJson::room, "\"a\""), "invalid_room"},
      {with(client("02:5a:00:00:00:01"), &HelloJson::mac, "\"ff:ff:ff:ff:ff:ff\""), "invalid_mac"},
      {hello_json("gateway", "ROOM1", "00:11:22:33:44:66"), "gateway_exists"},
      {client("02:5a:00:00:00:09"), "duplicate_mac"},
  };
  for (int round = 0; round < 3; ++round) {
    for (const auto& [hello, code] : cases) {
      auto peer = h->connect();
      ASSERT_NE(peer, nullptr);
      ASSERT_TRUE(succeeded(peer->send_hello(hello)));
      ASSERT_TRUE(peer->next<ctrl::Reject>().has_value()) << code;
      const auto arrived = std::chrono::steady_clock::now();
      ASSERT_NE(peer->wait_closed(), nullptr) << code;
      const auto gap = std::chrono::steady_clock::now() - arrived;
      EXPECT_GE(gap, std::chrono::milliseconds(95)) << code << " round " << round;
      EXPECT_TRUE(rejected_with(*peer, code)) << code << " round " << round;
    }
  }
}

// --- welcome -----------------------------------------------------------------------------

struct MtuCase {
  const char* name;
  int hello_max_datagram;
  std::uint64_t max_datagram_frame_size;
  std::size_t max_mtu;
};

class WelcomeMtuTest : public ::testing::TestWithParam<MtuCase> {};

TEST_P(WelcomeMtuTest, FirstPeerFixesRoomMtuFromItsBudget) {
  const MtuCase& c = GetParam();
  HarnessOptions options;
  options.relay.limits.max_mtu = c.max_mtu;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto peer = h->join(client("02:5a:00:00:00:01", c.hello_max_datagram),
                      PeerOptions{.max_datagram_frame_size = c.max_datagram_frame_size});
  ASSERT_NE(peer, nullptr);
  // PROTOCOL.md: budget = min(max_datagram, max_datagram_frame_size - 3);
  // mtu = min(--max-mtu, budget - 22); max_datagram = mtu + 22.
  const std::size_t budget = std::min<std::size_t>(static_cast<std::size_t>(c.hello_max_datagram),
                                                   c.max_datagram_frame_size - 3);
  const std::size_t mtu = std::min(c.max_mtu, budget - 22);
  const ctrl::Welcome& w = peer->welcome();
  EXPECT_EQ(w.protocol, 1);
  EXPECT_EQ(w.room, "ROOM1");
  EXPECT_EQ(w.mtu, mtu);
  EXPECT_EQ(w.max_datagram, mtu + 22);
  EXPECT_GE(w.peer_id, 1u);
  EXPECT_TRUE(w.peers.empty());
}

INSTANTIATE_TEST_SUITE_P(Budgets, WelcomeMtuTest,
                         ::testing::Values(MtuCase{"CappedByMaxMtu", 1430, 65535, 1380},
                                           MtuCase{"HelloMaxDatagramBelowCap", 700, 65535, 1380},
                                           MtuCase{"TransportParameterBelowHello", 1430, 1000,
                                                   1380},
                                           MtuCase{"Exactly576", 576 + 22, 65535, 1380},
                                           MtuCase{"LargestHelloMaxDatagram", 65535, 65535, 1380},
                                           MtuCase{"OperatorMaxMtu", 1430, 65535, 1200}),
                         [](const ::testing::TestParamInfo<MtuCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

TEST(RelayWelcome, RoomMtuStaysFixedForLaterPeersWithLargerBudgets) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto first = h->join(client("02:5a:00:00:00:01", 700));
  ASSERT_NE(first, nullptr);
  auto second = h->join(client("02:5a:00:00:00:02", 1430));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->welcome().mtu, first->welcome().mtu);
  EXPECT_EQ(second->welcome().max_datagram, first->welcome().max_datagram);
}

TEST(RelayWelcome, LaterPeerExactlyAtRoomMtuIsAdmitted) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto first = h->join(gateway());
  ASSERT_NE(first, nullptr);
  auto second = h->join(client("02:5a:00:00:00:01", static_cast<int>(first->welcome().mtu) + 22));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->welcome().mtu, first->welcome().mtu);
}

TEST(RelayWelcome, ListsOtherPeersAndTheyHearPeerJoined) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(gateway());
  ASSERT_NE(gw, nullptr);
  // Upper case in hello; the relay repeats MACs in lower case.
  auto a = h->join(client("02:5A:AA:BB:CC:01"));
  ASSERT_NE(a, nullptr);
  auto b = h->join(client("02:5a:aa:bb:cc:02"));
  ASSERT_NE(b, nullptr);

  const auto gw_mac = *proto::MacAddress::parse(kGatewayMac);
  const auto a_mac = *proto::MacAddress::parse("02:5a:aa:bb:cc:01");
  const auto b_mac = *proto::MacAddress::parse("02:5a:aa:bb:cc:02");
  const ctrl::PeerInfo gw_info{gw->peer_id(), ctrl::Role::kGateway, gw_mac};
  const ctrl::PeerInfo a_info{a->peer_id(), ctrl::Role::kClient, a_mac};
  const ctrl::PeerInfo b_info{b->peer_id(), ctrl::Role::kClient, b_mac};

  EXPECT_TRUE(gw->welcome().peers.empty());
  EXPECT_THAT(a->welcome().peers, UnorderedElementsAre(gw_info));
  EXPECT_THAT(b->welcome().peers, UnorderedElementsAre(gw_info, a_info));

  const auto gw_joined_a = gw->next<ctrl::PeerJoined>();
  const auto gw_joined_b = gw->next<ctrl::PeerJoined>();
  const auto a_joined_b = a->next<ctrl::PeerJoined>();
  ASSERT_TRUE(gw_joined_a && gw_joined_b && a_joined_b);
  EXPECT_EQ(gw_joined_a->peer, a_info);
  EXPECT_EQ(gw_joined_b->peer, b_info);
  EXPECT_EQ(a_joined_b->peer, b_info);
  // A peer does not hear about itself.
  EXPECT_FALSE(b->next<ctrl::PeerJoined>(std::chrono::milliseconds(0)));

  EXPECT_THAT(gw->received_text(), HasSubstr(R"("mac":"02:5a:aa:bb:cc:01")"));
  EXPECT_THAT(gw->received_text(), Not(HasSubstr("02:5A")));
  EXPECT_THAT(b->received_text(), HasSubstr(R"("mac":"02:5a:aa:bb:cc:01")"));

  // Ids are distinct and never 0.
  std::vector<std::uint16_t> ids{gw->peer_id(), a->peer_id(), b->peer_id()};
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  EXPECT_GE(ids.front(), 1u);
}

TEST(RelayWelcome, RoomsAreSeparate) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto a = h->join(client("02:5a:00:00:00:01", 1430, "ROOM1"));
  ASSERT_NE(a, nullptr);
  // The same MAC is fine in another room; room names are case-sensitive.
  auto b = h->join(client("02:5a:00:00:00:01", 1430, "room1"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->welcome().room, "room1");
  EXPECT_TRUE(b->welcome().peers.empty());
  EXPECT_TRUE(a->probe_fence());
  EXPECT_FALSE(a->next<ctrl::PeerJoined>(std::chrono::milliseconds(0)));
  EXPECT_EQ(h->relay().rooms().room_count(), 2u);
}

TEST(RelayWelcome, FrameOfExactly16384BytesWithUnknownFieldsIsAccepted) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  HelloJson hello = client("02:5a:00:00:00:01");
  hello.extra = R"(,"padding":")";
  const std::size_t fixed = hello.to_json().size() + 1;  // + the closing quote
  hello.extra += std::string(ctrl::kMaxFrameBytes - fixed, 'x') + "\"";
  ASSERT_EQ(hello.to_json().size(), ctrl::kMaxFrameBytes);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  EXPECT_TRUE(peer->join(hello));
}

TEST(RelayWelcome, SoftwareIsKeptToItsFirst64BytesAtACharacterBoundary) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  HelloJson hello = client("02:5a:00:00:00:01");
  // 63 ASCII bytes, then a 2-byte character across the 64-byte line: it must go whole.
  const std::string ascii(63, 'v');
  hello.software = "\"" + ascii + "\u00e9tail\"";
  auto peer = h->join(hello);
  ASSERT_NE(peer, nullptr);
  const auto admitted = h->log().named("relay.peer_admitted");
  ASSERT_EQ(admitted.size(), 1u);
  EXPECT_EQ(admitted[0].text("software"), ascii);
}

// --- peer_left ---------------------------------------------------------------------------

struct LeaveCase {
  const char* name;
  bool send_disconnect;
  std::uint64_t close_code;
  const char* reason;
};

class PeerLeftTest : public ::testing::TestWithParam<LeaveCase> {};

TEST_P(PeerLeftTest, OthersHearTheReasonForHowThePeerEnded) {
  const LeaveCase& c = GetParam();
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(gateway());
  ASSERT_NE(gw, nullptr);
  auto a = h->join(client("02:5a:00:00:00:01"));
  ASSERT_NE(a, nullptr);
  const std::uint16_t a_id = a->peer_id();
  if (c.send_disconnect) {
    ASSERT_TRUE(succeeded(a->send_message(ctrl::Disconnect{"bye"})));
    // The relay must have read the disconnect before the close for it to count.
    ASSERT_TRUE(h->run_until([&] { return h->log().count("relay.peer_disconnect") == 1; }));
  }
  a->connection().close(c.close_code, "test");
  const auto left = gw->next<ctrl::PeerLeft>();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->peer_id, a_id);
  EXPECT_EQ(left->reason, c.reason);
  EXPECT_EQ(h->relay().rooms().peer_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Reasons, PeerLeftTest,
                         ::testing::Values(LeaveCase{"CloseNoError", false, kAppNoError, "closed"},
                                           LeaveCase{"CloseShutdown", false,
                                                     ctrl::app_error::kShutdown, "closed"},
                                           LeaveCase{"DisconnectThenOtherCode", true, 7, "closed"},
                                           LeaveCase{"CloseProtocolViolation", false, 1, "lost"},
                                           LeaveCase{"CloseOtherCode", false, 7, "lost"}),
                         [](const ::testing::TestParamInfo<LeaveCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

TEST(RelayPeerLeft, SilentPeerLeavesWithTimeoutAfterIdleTimeout) {
  HarnessOptions options;
  options.idle_timeout = std::chrono::milliseconds(600);
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  const PeerOptions chatty{.keepalive = std::chrono::milliseconds(100)};
  auto gw = h->join(gateway(), chatty);
  ASSERT_NE(gw, nullptr);
  auto a = h->join(client("02:5a:00:00:00:01"), chatty);
  ASSERT_NE(a, nullptr);
  const std::uint16_t a_id = a->peer_id();
  a.reset();  // gone without a word: the relay hears nothing more from it
  const auto left = gw->next<ctrl::PeerLeft>();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->peer_id, a_id);
  EXPECT_EQ(left->reason, "timeout");
  EXPECT_FALSE(gw->closed());
}

TEST(RelayPeerLeft, LastPeerLeavingDeletesTheRoom) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto a = h->join(client("02:5a:00:00:00:01"));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(h->relay().rooms().room_count(), 1u);
  a->connection().close(kAppNoError, "done");
  EXPECT_TRUE(h->run_until([&] { return h->relay().rooms().room_count() == 0; }));
  EXPECT_EQ(h->relay().rooms().peer_count(), 0u);
}

TEST(RelayPeerLeft, RejoinWithTheSameMacGetsAFreshPeerId) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(gateway());
  ASSERT_NE(gw, nullptr);
  auto a = h->join(client("02:5a:00:00:00:01"));
  ASSERT_NE(a, nullptr);
  const std::uint16_t old_id = a->peer_id();
  a->connection().close(kAppNoError, "restart");
  const auto left = gw->next<ctrl::PeerLeft>();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->peer_id, old_id);

  auto again = h->join(client("02:5a:00:00:00:01"));
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again->peer_id(), old_id);
  EXPECT_NE(again->peer_id(), 0u);
  const auto joined = gw->next<ctrl::PeerJoined>();  // the first join
  const auto rejoined = gw->next<ctrl::PeerJoined>();
  ASSERT_TRUE(joined && rejoined);
  EXPECT_EQ(rejoined->peer.peer_id, again->peer_id());
  EXPECT_EQ(rejoined->peer.mac, *proto::MacAddress::parse("02:5a:00:00:00:01"));
}

}  // namespace
}  // namespace lanparty::relay::testing

// --- the open internet: limits per source --------------------------------------------------

namespace lanparty::relay::testing {
namespace {

TEST(RelayLimits, OneAddressCannotOpenMoreThanItsShareOfRooms) {
  HarnessOptions options;
  options.relay.max_rooms_per_source = 2;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto gw1 = h->join(hello_json("gateway", "ROOM1", "00:11:22:33:44:01"));
  ASSERT_NE(gw1, nullptr);
  auto gw2 = h->join(hello_json("gateway", "ROOM2", "00:11:22:33:44:02"));
  ASSERT_NE(gw2, nullptr);
  auto third = h->connect();
  ASSERT_NE(third, nullptr);
  ASSERT_TRUE(succeeded(third->send_hello(hello_json("gateway", "ROOM3", "00:11:22:33:44:03"))));
  EXPECT_TRUE(rejected_with(*third, "relay_full"));
  const auto reject = third->next<ctrl::Reject>(std::chrono::milliseconds(0));
  ASSERT_TRUE(reject);
  EXPECT_THAT(reject->message, HasSubstr("2 rooms"));
  EXPECT_EQ(h->relay().totals().rooms_per_source_refused, 1u);
  // Joining a room that is already open is not opening one.
  auto player = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  EXPECT_NE(player, nullptr);
  // Once a room of its own closes, the address may open another.
  gw2->connection().close(0, "bye");
  ASSERT_TRUE(h->run_until([&] { return h->relay().rooms().room_count() == 1; }));
  EXPECT_NE(h->join(hello_json("gateway", "ROOM3", "00:11:22:33:44:03")), nullptr);
}

TEST(RelayLimits, TheRoomsOfAnAddressAreCountedUntilTheirLastPeerLeaves) {
  HarnessOptions options;
  options.relay.max_rooms_per_source = 1;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", "00:11:22:33:44:01"));
  ASSERT_NE(gw, nullptr);
  auto player = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  ASSERT_NE(player, nullptr);
  gw->connection().close(0, "bye");
  ASSERT_TRUE(h->run_until([&] { return h->relay().rooms().peer_count() == 1; }));
  // ROOM1 lives on with its player: still this address's one room.
  auto other = h->connect();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(succeeded(other->send_hello(hello_json("gateway", "ROOM2", "00:11:22:33:44:02"))));
  EXPECT_TRUE(rejected_with(*other, "relay_full"));
  player->connection().close(0, "bye");
  ASSERT_TRUE(h->run_until([&] { return h->relay().rooms().room_count() == 0; }));
  EXPECT_NE(h->join(hello_json("gateway", "ROOM2", "00:11:22:33:44:02")), nullptr);
}

}  // namespace
}  // namespace lanparty::relay::testing
