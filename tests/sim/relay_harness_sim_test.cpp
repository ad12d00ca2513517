// SPDX-License-Identifier: MIT
// apps/relay's integration harness (RelayHarness, TestPeer) run on the simulated network:
// the relay's timers that take seconds on loopback (hello timeout, stats, idle timeout) are
// checked to the millisecond in virtual time, and cost none of it in real time.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "lanparty/io/sim_network.hpp"
#include "relay_harness.hpp"

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

}  // namespace
}  // namespace lanparty::relay::testing
