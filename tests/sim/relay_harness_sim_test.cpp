// SPDX-License-Identifier: MIT
// apps/relay's integration harness (RelayHarness, TestPeer) run on the simulated network:
// the relay's timers that take seconds on loopback (hello timeout, stats, idle timeout) are
// checked to the millisecond in virtual time, and cost none of it in real time.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "lanparty/io/sim_network.hpp"
#include "relay_harness.hpp"
#include "relay_test_support.hpp"

namespace lanparty::relay::testing {
namespace {

using namespace std::chrono_literals;

TEST(RelayHarnessSim, HelloTimeoutClosesASilentPeerAtFiveVirtualSeconds) {
  io::SimNetwork net(1, io::SimLink{.delay = 10ms});
  HarnessOptions options;
  options.sim = &net;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  const auto real_start = std::chrono::steady_clock::now();
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  const auto handshake_done = net.elapsed();
  ASSERT_NE(peer->wait_closed(10s), nullptr);
  EXPECT_TRUE(closed_with(*peer, 1));
  // PROTOCOL.md section 2: 5 s after the handshake completed (the relay's side finished it
  // half a round trip before ours), plus the close's trip back.
  const auto after = net.elapsed() - handshake_done;
  EXPECT_GE(after, 5s - 20ms);
  EXPECT_LE(after, 5s + 40ms);
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 5s);
}

TEST(RelayHarnessSim, StatsArriveEveryIntervalInVirtualTime) {
  io::SimNetwork net(1, io::SimLink{.delay = 10ms});
  HarnessOptions options;
  options.sim = &net;
  options.relay.stats_interval = 2s;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto peer = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"));
  ASSERT_NE(peer, nullptr);
  const auto joined = net.elapsed();
  ASSERT_TRUE(peer->run_until([&] { return net.elapsed() - joined >= 61s; }, 70s) ||
              net.elapsed() - joined >= 60s);
  std::size_t stats = 0;
  for (const auto& m : peer->messages()) stats += std::holds_alternative<ctrl::Stats>(m) ? 1 : 0;
  EXPECT_GE(stats, 30u);
  EXPECT_LE(stats, 31u);
}

TEST(RelayHarnessSim, APeerWithoutKeepaliveIsDroppedAfterTheIdleTimeout) {
  io::SimNetwork net(1, io::SimLink{.delay = 10ms});
  HarnessOptions options;
  options.sim = &net;
  options.relay.stats_interval = 0ms;  // stats would keep the connection busy
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  PeerOptions quiet;
  quiet.keepalive = 0ms;
  auto peer = h->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01"), quiet);
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(h->relay().rooms().peer_count(), 1u);
  const auto joined = net.elapsed();
  ASSERT_TRUE(h->run_until([&] { return h->relay().rooms().peer_count() == 0; }, 60s));
  EXPECT_GE(net.elapsed() - joined, 29s);
  EXPECT_LE(net.elapsed() - joined, 31s);
}

// The relay's own path MTU discovery proves what it may send: a hello sent right after the
// handshake (as this peer's is) arrives before the relay's probe is answered. The welcome
// waits for it, so a full-size frame forwarded the moment the peer is welcomed is sent, not
// dropped as above the relay's datagram budget.
TEST(RelayHarnessSim, AWelcomeWaitsForTheRelaysPathMtuToCarryAFullSizeFrame) {
  io::SimNetwork net(1, io::SimLink{.delay = 10ms});
  HarnessOptions options;
  options.sim = &net;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto gw = h->join(hello_json("gateway", "ROOM1", kGatewayMac));
  ASSERT_NE(gw, nullptr);
  auto client = h->connect();
  ASSERT_NE(client, nullptr);
  const auto handshake_done = net.elapsed();
  ASSERT_TRUE(succeeded(client->send_hello(hello_json("client", "ROOM1", "02:5a:00:00:00:01"))));
  // In the same packet: read after the wait, as an admitted peer's (an unknown type, ignored).
  ASSERT_TRUE(succeeded(client->send_json(R"({"type":"frobnicate"})")));
  ASSERT_TRUE(client->run_until([&] { return h->relay().rooms().peer_count() == 2; }));
  // Admitted once the relay's probe came back (a round trip), not at its 1.5 s deadline.
  EXPECT_LT(net.elapsed() - handshake_done, 200ms);
  const auto full_size = frame(mac("02:5a:00:00:00:01"), mac("00:aa:bb:cc:dd:ee"), 0x0800, 1380);
  ASSERT_TRUE(succeeded(gw->send_frame(full_size)));
  ASSERT_TRUE(client->run_until([&] { return !client->frames().empty(); }));
  EXPECT_EQ(client->frames()[0].body, full_size);
  EXPECT_EQ(h->relay().totals().tx_too_large, 0u);
  EXPECT_EQ(h->log().count("relay.ignored_message"), 1u);
  EXPECT_FALSE(client->closed());
}

// A path that never carries more than 1280 bytes (the hello's 1430 speaks for the other
// direction, or is wrong): the wait ends at RelayConfig::path_mtu_wait after the handshake,
// and the peer is welcomed with the budget the hello announced (section 4).
TEST(RelayHarnessSim, AWelcomeWaitsNoLongerThanThePathMtuWait) {
  io::SimNetwork net(1, io::SimLink{.delay = 10ms, .mtu = 1280});
  HarnessOptions options;
  options.sim = &net;
  auto h = RelayHarness::start(options);
  ASSERT_NE(h, nullptr);
  auto peer = h->connect();
  ASSERT_NE(peer, nullptr);
  const auto handshake_done = net.elapsed();
  ASSERT_TRUE(succeeded(peer->send_hello(hello_json("gateway", "ROOM1", kGatewayMac))));
  const auto welcome = peer->next<ctrl::Welcome>(5s);
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->mtu, 1380u);
  // The relay's deadline runs from its side of the handshake, half a round trip before ours.
  const auto waited = net.elapsed() - handshake_done;
  EXPECT_GE(waited, options.relay.path_mtu_wait - 20ms);
  EXPECT_LE(waited, options.relay.path_mtu_wait + 60ms);
}

}  // namespace
}  // namespace lanparty::relay::testing
