// SPDX-License-Identifier: MIT
// The control stream over real QUIC (PROTOCOL.md section 2): framing violations before and
// after admission, unknown types, the hello timeout, and shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "relay_harness.hpp"

namespace lanparty::relay::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// 4-byte big-endian length, then `body`.
std::string framed(std::string_view body) {
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                  static_cast<char>(n)};
  out += body;
  return out;
}

std::string length_only(std::uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
          static_cast<char>(n)};
}

const char* const kValidWelcome =
    R"({"type":"welcome","protocol":1,"peer_id":1,"room":"ROOM1","mtu":1380,)"
    R"("max_datagram":1402,"peers":[]})";

struct BadBytes {
  const char* name;
  std::string bytes;
};

std::vector<BadBytes> violations() {
  return {
      {"LengthZero", length_only(0)},
      // Reported as soon as the 4 length bytes are in, before any body.
      {"LengthAboveMax", length_only(ctrl::kMaxFrameBytes + 1)},
      {"NotJson", framed("hello")},
      {"TruncatedJson", framed(R"({"type":"hello")")},
      {"JsonArray", framed(R"([{"type":"hello"}])")},
      {"JsonString", framed(R"("hello")")},
      {"NoType", framed(R"({"protocol":1,"role":"client"})")},
      {"TypeNotString", framed(R"({"type":5})")},
      {"LeadingByteOrderMark", framed("\xef\xbb\xbf{\"type\":\"hello\"}")},
  };
}

// --- before admission: close with 1, and never a reject ----------------------------------

struct BeforeCase {
  const char* name;
  std::string bytes;
};

std::vector<BeforeCase> before_admission_cases() {
  std::vector<BeforeCase> cases;
  for (auto& v : violations()) cases.push_back({v.name, v.bytes});
  cases.push_back({"FirstFrameDisconnect", framed(R"({"type":"disconnect","reason":"x"})")});
  cases.push_back({"FirstFrameRelayOnlyWelcome", framed(kValidWelcome)});
  cases.push_back({"UnknownTypeBeforeAdmission", framed(R"({"type":"frobnicate"})")});
  return cases;
}

class BeforeAdmissionTest : public ::testing::TestWithParam<BeforeCase> {};

TEST_P(BeforeAdmissionTest, ClosesWithErrorOneAndSendsNoReject) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(succeeded(peer->send_bytes(GetParam().bytes)));
  EXPECT_TRUE(closed_with(*peer, ctrl::app_error::kProtocolViolation));
  EXPECT_TRUE(peer->messages().empty()) << peer->received_text();
  EXPECT_EQ(h->relay().totals().rejected, 0u);
  EXPECT_EQ(h->relay().rooms().peer_count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Frames, BeforeAdmissionTest, ::testing::ValuesIn(before_admission_cases()),
                         [](const ::testing::TestParamInfo<BeforeCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

TEST(RelayControl, HelloSplitAcrossWritesIsAdmitted) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  const std::string bytes = framed(hello_json("client", "ROOM1", "02:5a:00:00:00:01").to_json());
  // Inside the length prefix, inside the JSON, and the rest, each from its own loop turn so
  // they leave in separate packets.
  const std::vector<std::string_view> pieces{std::string_view(bytes).substr(0, 2),
                                             std::string_view(bytes).substr(2, 30),
                                             std::string_view(bytes).substr(32)};
  std::vector<io::EventLoop::TimerId> timers;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    timers.push_back(h->loop().add_timer(
        h->loop().now() + std::chrono::milliseconds(20 * i),
        [&peer, &pieces, i] { EXPECT_TRUE(succeeded(peer->send_bytes(pieces[i]))); }));
  }
  EXPECT_TRUE(peer->next<ctrl::Welcome>());
  for (auto id : timers) h->loop().cancel_timer(id);
}

// --- after admission: close with 1, the others hear peer_left "kicked" -------------------

std::vector<BeforeCase> after_admission_cases() {
  std::vector<BeforeCase> cases;
  for (auto& v : violations()) cases.push_back({v.name, v.bytes});
  cases.push_back(
      {"SecondHello", framed(hello_json("client", "ROOM1", "02:5a:00:00:00:01").to_json())});
  cases.push_back({"SecondHelloMalformed", framed(R"({"type":"hello"})")});
  cases.push_back({"RelayOnlyWelcome", framed(kValidWelcome)});
  cases.push_back({"RelayOnlyReject", framed(R"({"type":"reject","code":"room_full"})")});
  cases.push_back(
      {"RelayOnlyPeerJoined", framed(R"({"type":"peer_joined","peer":{"peer_id":9,"role":"client",)"
                                     R"("mac":"02:00:00:00:00:09"}})")});
  cases.push_back({"RelayOnlyPeerLeft", framed(R"({"type":"peer_left","peer_id":9,)"
                                               R"("reason":"closed"})")});
  cases.push_back({"RelayOnlyStats", framed(R"({"type":"stats","rx_frames":0,"rx_bytes":0,)"
                                            R"("tx_frames":0,"tx_bytes":0})")});
  return cases;
}

class AfterAdmissionTest : public ::testing::TestWithParam<BeforeCase> {};

TEST_P(AfterAdmissionTest, ClosesWithErrorOneAndOthersHearKicked) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", "00:11:22:33:44:55"));
  ASSERT_NE(gw, nullptr);
  auto peer = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(succeeded(peer->send_bytes(GetParam().bytes)));
  EXPECT_TRUE(closed_with(*peer, ctrl::app_error::kProtocolViolation));
  const auto left = gw->next<ctrl::PeerLeft>();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->peer_id, peer->peer_id());
  EXPECT_EQ(left->reason, "kicked");
  EXPECT_FALSE(gw->closed());
}

INSTANTIATE_TEST_SUITE_P(Frames, AfterAdmissionTest, ::testing::ValuesIn(after_admission_cases()),
                         [](const ::testing::TestParamInfo<BeforeCase>& case_info) {
                           return std::string(case_info.param.name);
                         });

TEST(RelayControl, UnknownTypeAfterAdmissionIsIgnored) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", "00:11:22:33:44:55"));
  ASSERT_NE(gw, nullptr);
  auto peer = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(succeeded(peer->send_json(R"({"type":"frobnicate","future":[1,2,3]})")));
  ASSERT_TRUE(h->run_until([&] { return h->log().count("relay.ignored_message") == 1; }));
  // Still admitted: the stream goes on (a later disconnect is read) and datagrams flow.
  ASSERT_TRUE(succeeded(peer->send_message(ctrl::Disconnect{"later"})));
  EXPECT_TRUE(h->run_until([&] { return h->log().count("relay.peer_disconnect") == 1; }));
  EXPECT_TRUE(peer->probe_fence());
  EXPECT_FALSE(peer->closed());
  EXPECT_FALSE(gw->next<ctrl::PeerLeft>(0ms));
  EXPECT_EQ(h->relay().rooms().peer_count(), 2u);
}

TEST(RelayStreams, APeerGetsExactlyOneStreamForItsWholeConnection) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01")));
  // The relay's transport parameters grant one bidirectional stream: the control stream.
  auto second = peer->connection().open_bidi_stream();
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::kWouldBlock) << second.error().describe();
  EXPECT_TRUE(peer->probe_fence());
  EXPECT_FALSE(peer->closed());
}

// Up to `count` frames of an unknown type, each nearly 16 KiB, back to back; how many were
// accepted for sending.
int send_full_size_frames(TestPeer& peer, int count) {
  const std::string frame =
      R"({"type":"future_bulk","pad":")" + std::string(ctrl::kMaxFrameBytes - 64, 'x') + R"("})";
  int sent = 0;
  while (sent < count && !peer.closed() && peer.send_json(frame)) ++sent;
  return sent;
}

TEST(RelayStreams, FullSizeControlFramesBackToBackAllArrive) {
  // 64 KiB windows hold four 16 KiB frames; they must reopen as the relay reads. (Seven frames
  // stay within the control budget's burst.)
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", "00:11:22:33:44:55"));
  ASSERT_NE(gw, nullptr);
  auto peer = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  ASSERT_NE(peer, nullptr);
  constexpr int kFrames = 7;  // 112 KiB: the window reopens at least once
  EXPECT_EQ(send_full_size_frames(*peer, kFrames), kFrames);
  EXPECT_TRUE(
      h->run_until([&] { return h->log().count("relay.ignored_message") == kFrames; }, 10s));
  EXPECT_FALSE(peer->closed());
}

TEST(RelayStreams, AControlStreamFloodIsClosedWithErrorOne) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", "00:11:22:33:44:55"));
  ASSERT_NE(gw, nullptr);
  auto peer = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  ASSERT_NE(peer, nullptr);
  (void)send_full_size_frames(*peer, 64);  // 1 MiB at once: far past the 128 KiB burst
  EXPECT_TRUE(closed_with(*peer, ctrl::app_error::kProtocolViolation));
  EXPECT_EQ(h->relay().totals().control_flooded, 1u);
  const auto left = gw->next<ctrl::PeerLeft>();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->reason, "kicked");
  EXPECT_FALSE(gw->closed());
}

TEST(RelayStreams, APeerThatNeverReadsItsControlStreamIsClosedWithErrorOne) {
  HarnessOptions options;
  options.relay.stats_interval = 2ms;  // plenty of control data for the peer to leave unread
  options.server_streams.max_unacked_stream_bytes = 4096;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", "00:11:22:33:44:55"));
  ASSERT_NE(gw, nullptr);
  PeerOptions deaf;
  deaf.streams.stream_window = 1024;  // the welcome fits; a few stats messages later, no more
  deaf.streams.max_stream_window = 1024;
  deaf.streams.never_reopen_windows = true;
  auto peer = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"), deaf);
  ASSERT_NE(peer, nullptr);
  EXPECT_TRUE(closed_with(*peer, ctrl::app_error::kProtocolViolation));
  const auto left = gw->next<ctrl::PeerLeft>();
  ASSERT_TRUE(left);
  EXPECT_EQ(left->peer_id, peer->peer_id());
  EXPECT_EQ(left->reason, "kicked");
  EXPECT_EQ(h->relay().totals().control_unread, 1u);
  EXPECT_EQ(h->log().count("relay.protocol_violation"), 1u);
  // The reading gateway, sent the same stats, stays.
  EXPECT_FALSE(gw->closed());
  EXPECT_EQ(h->relay().rooms().peer_count(), 1u);
}

TEST(RelayControl, OtherStreamsAreIgnored) {
  // A later protocol may use more streams; a relay configured to grant them ignores them.
  HarnessOptions options;
  options.server_streams.peer_bidi_streams = 2;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01")));
  auto other = peer->connection().open_bidi_stream();
  ASSERT_TRUE(other.has_value()) << other.error().describe();
  ASSERT_NE(*other, 0);
  const std::string junk = length_only(0) + "not a frame";
  ASSERT_TRUE(succeeded(peer->connection().send_stream(
      *other, std::span(reinterpret_cast<const std::uint8_t*>(junk.data()), junk.size()))));
  ASSERT_TRUE(h->run_until([&] { return h->log().count("relay.ignored_stream") >= 1; }));
  EXPECT_TRUE(peer->probe_fence());
  EXPECT_FALSE(peer->closed());
}

// --- hello timeout -----------------------------------------------------------------------

TEST(RelayHelloTimeout, ClosesWithErrorOneWhenNoHelloArrives) {
  HarnessOptions options;
  options.relay.hello_timeout = 300ms;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  const auto handshake_done = h->loop().now();
  EXPECT_TRUE(closed_with(*peer, ctrl::app_error::kProtocolViolation));
  // The relay's clock starts at its own handshake completion, after ours.
  EXPECT_GE(h->loop().now() - handshake_done, options.relay.hello_timeout);
  EXPECT_THAT(peer->close_info()->reason, HasSubstr("hello"));
  EXPECT_TRUE(peer->messages().empty());
}

TEST(RelayHelloTimeout, PartialFrameBytesDoNotRestartTheClock) {
  HarnessOptions options;
  options.relay.hello_timeout = 500ms;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  const auto handshake_done = h->loop().now();
  const std::string bytes = framed(hello_json("client", "ROOM1", "02:5a:00:00:00:01").to_json());
  // A frame that starts at once and gets more bytes 400 ms in, but never finishes: a clock
  // restarted by data would close at 900 ms or later.
  ASSERT_TRUE(succeeded(peer->send_bytes(std::string_view(bytes).substr(0, 10))));
  const auto more = h->loop().add_timer(handshake_done + 400ms, [&] {
    EXPECT_TRUE(succeeded(peer->send_bytes(std::string_view(bytes).substr(10, 10))));
  });
  EXPECT_TRUE(closed_with(*peer, ctrl::app_error::kProtocolViolation));
  const auto elapsed = h->loop().now() - handshake_done;
  EXPECT_GE(elapsed, options.relay.hello_timeout);
  EXPECT_LT(elapsed, 850ms);
  h->loop().cancel_timer(more);
}

TEST(RelayHelloTimeout, AdmittedPeerIsNotClosedAfterTheTimeout) {
  HarnessOptions options;
  options.relay.hello_timeout = 300ms;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto peer = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  ASSERT_NE(peer, nullptr);
  // Three stats at 200 ms intervals take the connection well past the hello timeout.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(peer->next<ctrl::Stats>());
  EXPECT_FALSE(peer->closed());
}

// --- shutdown ----------------------------------------------------------------------------

TEST(RelayShutdown, AdmittedPeersGetDisconnectThenCloseThree) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", "00:11:22:33:44:55"));
  auto a = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  auto b = h->join(hello_json("client", "ROOM2", "02:5a:00:00:00:02"));
  auto waiting = h->connect();  // connected, no hello yet
  ASSERT_TRUE(gw && a && b && waiting);
  // Our handshake completes before the relay's: wait until it knows the waiting connection.
  ASSERT_TRUE(h->run_until([&] { return h->relay().connection_count() == 4; }));

  h->relay().shutdown();

  for (TestPeer* peer : {gw.get(), a.get(), b.get()}) {
    EXPECT_TRUE(closed_with(*peer, ctrl::app_error::kShutdown));
    // Taken after the close: it arrived before it (nothing is delivered after a close).
    const auto disconnect = peer->next<ctrl::Disconnect>(0ms);
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, "shutdown");
    EXPECT_THAT(peer->received_text(), HasSubstr(R"({"type":"disconnect","reason":"shutdown"})"));
  }
  EXPECT_TRUE(closed_with(*waiting, ctrl::app_error::kShutdown));
  EXPECT_TRUE(waiting->messages().empty());
  EXPECT_TRUE(h->run_until([&] { return h->relay().connection_count() == 0; }));
  EXPECT_EQ(h->relay().rooms().room_count(), 0u);
}

TEST(RelayShutdown, HandshakeCompletingAfterShutdownIsClosedWithThree) {
  auto h = RelayHarness::start();
  ASSERT_NE(h, nullptr);
  h->relay().shutdown();
  auto late = h->connect();
  ASSERT_NE(late, nullptr);
  EXPECT_TRUE(closed_with(*late, ctrl::app_error::kShutdown));
  EXPECT_TRUE(late->messages().empty());
}

}  // namespace
}  // namespace lanparty::relay::testing
