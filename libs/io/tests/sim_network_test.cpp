// SPDX-License-Identifier: MIT
// The simulated network on its own: virtual time, link delay, MTU, loss replayed by seed,
// host reboots. Raw simulated sockets on a simulated loop, no QUIC.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/sim_network.hpp"
#include "lanparty/io/sim_socket.hpp"

namespace lanparty::io {
namespace {

using namespace std::chrono_literals;

struct Pair {
  std::unique_ptr<SimNetwork> net;
  std::unique_ptr<EventLoop> loop;
  SimHost* a = nullptr;
  SimHost* b = nullptr;
  std::unique_ptr<UdpSocket> sa;
  std::unique_ptr<UdpSocket> sb;
  std::vector<std::vector<std::uint8_t>> received;  // by sb
  std::vector<EventLoop::Clock::duration> arrival;  // virtual time since start, per datagram
};

std::unique_ptr<Pair> make_pair_on(std::uint64_t seed, const SimLink& link) {
  auto p = std::make_unique<Pair>();
  p->net = std::make_unique<SimNetwork>(seed, link);
  auto loop = EventLoop::create_simulated(*p->net);
  EXPECT_TRUE(loop.has_value());
  p->loop = std::move(*loop);
  p->a = *p->net->add_host("10.1.0.1");
  p->b = *p->net->add_host("10.1.0.2");
  auto sa = open_sim_socket(*p->loop, *p->a, p->a->address().with_port(1000), {});
  auto sb = open_sim_socket(*p->loop, *p->b, p->b->address().with_port(2000), {});
  EXPECT_TRUE(sa.has_value() && sb.has_value());
  p->sa = std::move(*sa);
  p->sb = std::move(*sb);
  Pair* raw = p.get();
  EXPECT_TRUE(p->loop
                  ->add_fd(p->sb->fd(), EventLoop::kReadable,
                           [raw](std::uint32_t) {
                             const std::size_t n = raw->sb->receive();
                             for (std::size_t i = 0; i < n; ++i) {
                               const auto& packet = raw->sb->packet(i);
                               raw->received.emplace_back(packet.data.begin(), packet.data.end());
                               raw->arrival.push_back(raw->net->elapsed());
                             }
                           })
                  .has_value());
  return p;
}

void send(Pair& p, std::size_t size, std::uint8_t tag) {
  auto buffer = p.sa->tx_buffer(size);
  ASSERT_GE(buffer.size(), size);
  std::fill_n(buffer.begin(), size, tag);
  p.sa->tx_commit(size, p.sa->local_address(), p.sb->local_address());
  ASSERT_TRUE(p.sa->flush().has_value());
}

TEST(SimNetwork, DeliversAfterTheLinkDelayInVirtualTime) {
  auto p = make_pair_on(1, SimLink{.delay = 25ms});
  send(*p, 100, 7);
  const auto real_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(p->loop->run_until([&] { return !p->received.empty(); }, 1s).has_value());
  EXPECT_EQ(p->arrival.at(0), 25ms);
  EXPECT_EQ(p->loop->now() - p->net->now(), 0ns);
  EXPECT_EQ(p->received[0], std::vector<std::uint8_t>(100, 7));
  // A 60 virtual-second timer fires without 60 real seconds passing.
  bool fired = false;
  (void)p->loop->add_timer(p->loop->now() + 60s, [&] { fired = true; });
  ASSERT_TRUE(p->loop->run_until([&] { return fired; }, 120s).has_value());
  EXPECT_EQ(p->net->elapsed(), 60s + 25ms);
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 5s);
}

TEST(SimNetwork, KeepsOrderWithoutJitterAndDropsAboveTheMtu) {
  auto p = make_pair_on(1, SimLink{.delay = 5ms, .mtu = 1280});
  for (std::uint8_t i = 0; i < 50; ++i) send(*p, 100, i);
  send(*p, 1280 - 28 + 1, 99);  // one byte above what a 1280-byte IPv4 MTU carries
  send(*p, 1280 - 28, 98);      // exactly fits
  ASSERT_TRUE(p->loop->run_until([&] { return p->received.size() == 51; }, 1s).has_value());
  for (std::uint8_t i = 0; i < 50; ++i) EXPECT_EQ(p->received[i][0], i);
  EXPECT_EQ(p->received[50][0], 98);
  EXPECT_EQ(p->net->counters().too_big, 1u);
}

TEST(SimNetwork, ARateLimitedLinkSerialisesAndTailDrops) {
  // 1 Mbit/s: a 1250-byte datagram (1222 payload + 28 header bytes) takes 10 ms to send; the
  // queue holds 10 of them.
  auto p = make_pair_on(
      1, SimLink{.delay = 5ms, .rate_bits_per_second = 1'000'000, .queue_bytes = 12'500});
  for (int i = 0; i < 20; ++i) send(*p, 1222, static_cast<std::uint8_t>(i));
  ASSERT_TRUE(p->loop->run_until([&] { return p->received.size() == 10; }, 1s).has_value());
  (void)p->loop->run_until([] { return false; }, 1s);
  ASSERT_EQ(p->received.size(), 10u);
  EXPECT_EQ(p->net->counters().queue_full, 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(p->arrival[i], 5ms + (i + 1) * 10ms) << i;
    EXPECT_EQ(p->received[i][0], i);
  }
}

TEST(SimNetwork, ASeedReplaysTheSameLossJitterAndDuplicates) {
  const SimLink lossy{.delay = 10ms, .jitter = 8ms, .loss = 0.2, .reorder = 0.1, .duplicate = 0.05};
  auto run = [&](std::uint64_t seed) {
    auto p = make_pair_on(seed, lossy);
    for (int i = 0; i < 500; ++i) send(*p, 200, static_cast<std::uint8_t>(i));
    (void)p->loop->run_until([] { return false; }, 1s);
    std::vector<std::uint8_t> order;
    for (const auto& d : p->received) order.push_back(d[0]);
    return std::make_tuple(order, p->arrival, p->net->counters().lost,
                           p->net->counters().duplicated);
  };
  const auto first = run(42);
  const auto again = run(42);
  const auto other = run(43);
  EXPECT_EQ(first, again);
  EXPECT_NE(std::get<0>(first), std::get<0>(other));
  // 20% of 500, within a wide margin; reordering happened (not sorted by tag).
  EXPECT_GT(std::get<2>(first), 60u);
  EXPECT_LT(std::get<2>(first), 140u);
  EXPECT_GT(std::get<3>(first), 0u);
  const auto& order = std::get<0>(first);
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));
}

TEST(SimNetwork, ARebootKillsTheHostsSocketsAndWhatIsInFlightToIt) {
  auto p = make_pair_on(1, SimLink{.delay = 10ms});
  send(*p, 100, 1);
  p->net->reboot(*p->b, 2s);
  EXPECT_FALSE(p->b->up());
  // The old socket never becomes readable again; its port is free once the host is back.
  EXPECT_FALSE(open_sim_socket(*p->loop, *p->b, p->b->address().with_port(2000), {}).has_value());
  (void)p->loop->run_until([] { return false; }, 3s);
  EXPECT_TRUE(p->received.empty());
  EXPECT_EQ(p->net->counters().host_down, 1u);
  EXPECT_TRUE(p->b->up());
  auto fresh = open_sim_socket(*p->loop, *p->b, p->b->address().with_port(2000), {});
  ASSERT_TRUE(fresh.has_value());
  send(*p, 100, 2);
  bool got = false;
  ASSERT_TRUE(p->loop
                  ->add_fd((*fresh)->fd(), EventLoop::kReadable,
                           [&](std::uint32_t) { got = (*fresh)->receive() == 1; })
                  .has_value());
  ASSERT_TRUE(p->loop->run_until([&] { return got; }, 1s).has_value());
  p->loop->remove_fd((*fresh)->fd());
}

TEST(SimNetwork, ASimulatedLoopWithNothingToDoSaysSo) {
  SimNetwork net(1);
  auto loop = EventLoop::create_simulated(net);
  ASSERT_TRUE(loop.has_value());
  auto s = (*loop)->run();
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().describe().find("nothing can happen"), std::string::npos);
  // Real descriptors have no place on a simulated loop.
  EXPECT_FALSE((*loop)->add_fd(0, EventLoop::kReadable, [](std::uint32_t) {}).has_value());
}

TEST(SimNetwork, RefusesDuplicateAndNonNumericHosts) {
  SimNetwork net(1);
  EXPECT_TRUE(net.add_host("10.1.0.1").has_value());
  EXPECT_FALSE(net.add_host("10.1.0.1").has_value());
  EXPECT_FALSE(net.add_host("relay.example").has_value());
}

}  // namespace
}  // namespace lanparty::io
