// SPDX-License-Identifier: MIT
// Whole parties in one process on the simulated network (libs/quic sim_network.hpp), in
// virtual time: the real relay (relay::Relay behind a quic::Server) and client-core's Runners
// with their production timers (30 s idle, 10 s keep-alive, 250 ms..15 s backoff), all through
// the real ngtcp2 and GnuTLS. A relay host reboot costs no real seconds, and its seed replays.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lanparty/client_core/runner.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/sim_network.hpp"
#include "lanparty/obs/status.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/server.hpp"
#include "relay.hpp"

namespace lanparty {
namespace {

using namespace std::chrono_literals;
using Clock = io::EventLoop::Clock;
using obs::ConnectionState;

constexpr const char* kGatewayMac = "00:11:22:33:44:55";
constexpr const char* kClientMac = "02:5a:11:22:33:44";

const quic::CertificateKey& certificate() {
  static const quic::CertificateKey key = [] {
    auto generated = quic::generate_self_signed("relay.sim");
    EXPECT_TRUE(generated.has_value());
    return generated ? *generated : quic::CertificateKey{};
  }();
  return key;
}

// The local side of a runner: frames delivered and every state change, with its virtual time.
class RecordingPort final : public client_core::LocalPort {
 public:
  explicit RecordingPort(const io::SimNetwork& net) : net_(net) {}
  void deliver_frame(std::span<const std::uint8_t> frame) override {
    frames.emplace_back(frame.begin(), frame.end());
  }
  void on_joined(const ctrl::Welcome& w) override { welcomes.push_back(w); }
  void on_fatal(std::string_view sentence) override { fatal = std::string(sentence); }
  void on_relay_stats(const ctrl::Stats& s) override { stats.push_back(s); }
  void on_state(ConnectionState s, std::string_view /*sentence*/) override {
    if (states.empty() || states.back() != s) {
      states.push_back(s);
      at.push_back(net_.elapsed());
    }
  }

  std::vector<std::vector<std::uint8_t>> frames;
  std::vector<ctrl::Welcome> welcomes;
  std::vector<ConnectionState> states;  // consecutive repeats folded
  std::vector<Clock::duration> at;
  std::optional<std::string> fatal;
  std::vector<ctrl::Stats> stats;

 private:
  const io::SimNetwork& net_;
};

class SimPartyTest : public ::testing::Test {
 protected:
  void make(std::uint64_t seed, const io::SimLink& link, bool with_relay = true) {
    runners_.clear();
    stop_relay();
    loop_.reset();
    net_.reset();
    net_ = std::make_unique<io::SimNetwork>(seed, link);
    loop_ = std::move(*io::EventLoop::create_simulated(*net_));
    relay_host_ = *net_->add_host("10.213.98.1");
    if (with_relay) start_relay();
  }
  void TearDown() override {
    runners_.clear();
    stop_relay();
  }

  void start_relay() {
    relay::RelayConfig config;
    config.rooms = relay::RoomMode::kOpen;
    config.stats_interval = stats_interval_;
    relay_ = std::make_unique<relay::Relay>(*loop_, config, obs::Logger());
    quic::ServerConfig server_config;
    server_config.listen = "10.213.98.1:443";
    server_config.certificate = certificate();
    server_config.sim_host = relay_host_;
    auto server = quic::Server::create(*loop_, server_config, *relay_, obs::Logger());
    ASSERT_TRUE(server) << server.error().describe();
    server_ = std::move(*server);
  }
  void stop_relay() {
    server_.reset();  // drops every connection at once, as the power cut did
    relay_.reset();
  }

  // A runner on a host of its own, with the production timers and seeded backoff jitter.
  client_core::Runner& add_runner(ctrl::Role role, const char* mac, RecordingPort& port,
                                  const std::string& room = "ROOM1",
                                  std::optional<std::array<std::uint8_t, 32>> pin = std::nullopt) {
    const std::string address = "10.213.98." + std::to_string(10 + runners_.size());
    io::SimHost* host = *net_->add_host(address);
    runner_hosts_.push_back(host);
    quic::ClientConfig quic_config;
    quic_config.idle_timeout = runner_idle_timeout_;
    quic_config.keepalive = runner_keepalive_;
    quic_config.host = "10.213.98.1";
    quic_config.port = 443;
    quic_config.server_name = "relay.sim";
    quic_config.trust.pinned_sha256 =
        pin.value_or(quic::certificate_sha256(certificate().cert_der));
    quic_config.sim_host = host;
    client_core::RunnerConfig config{
        .quic = quic_config,
        .session = {.role = role, .room = room, .mac = *proto::MacAddress::parse(mac)}};
    io::SimNetwork* net = net_.get();
    runners_.push_back(std::make_unique<client_core::Runner>(
        *loop_, config, port, obs::Logger(),
        [net] { return static_cast<double>(net->random() >> 11) * (1.0 / 9007199254740992.0); }));
    runners_.back()->start();
    return *runners_.back();
  }

  bool run_until(const std::function<bool()>& done, Clock::duration limit) {
    return loop_->run_until(done, limit).has_value() && done();
  }

  static std::vector<std::uint8_t> frame(const char* dst, const char* src, std::size_t bytes,
                                         std::uint8_t tag) {
    std::vector<std::uint8_t> datagram(4, 0);  // headroom for the overlay header
    const auto d = *proto::MacAddress::parse(dst);
    const auto s = *proto::MacAddress::parse(src);
    datagram.insert(datagram.end(), d.bytes().begin(), d.bytes().end());
    datagram.insert(datagram.end(), s.bytes().begin(), s.bytes().end());
    datagram.push_back(0x08);
    datagram.push_back(0x00);
    datagram.resize(4 + bytes, tag);
    return datagram;
  }

  std::unique_ptr<io::SimNetwork> net_;
  std::unique_ptr<io::EventLoop> loop_;
  io::SimHost* relay_host_ = nullptr;
  std::unique_ptr<relay::Relay> relay_;
  std::unique_ptr<quic::Server> server_;
  std::vector<std::unique_ptr<client_core::Runner>> runners_;
  std::vector<io::SimHost*> runner_hosts_;  // runners_[i] lives on runner_hosts_[i]
  std::chrono::milliseconds stats_interval_{10000};
  // quic::ClientConfig's own defaults unless a test sets the apps' (apps/common).
  std::chrono::milliseconds runner_idle_timeout_{30000};
  std::chrono::milliseconds runner_keepalive_{10000};
};

TEST_F(SimPartyTest, GatewayAndClientJoinAndFramesFlowBothWays) {
  make(1, io::SimLink{.delay = 20ms});
  RecordingPort gw_port(*net_);
  RecordingPort cl_port(*net_);
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
  ASSERT_TRUE(run_until([&] { return gw.joined() && cl.joined(); }, 30s));
  // connecting -> joining (handshake done, hello after the PMTUD wait) -> connected.
  const std::vector<ConnectionState> joined{ConnectionState::kConnecting, ConnectionState::kJoining,
                                            ConnectionState::kConnected};
  EXPECT_EQ(cl_port.states, joined);
  EXPECT_EQ(gw_port.states, joined);
  // The hello waits up to pmtud_wait (1.5 s) for the budget to grow to the room MTU.
  EXPECT_LE(cl_port.at.back(), 2s);
  EXPECT_EQ(cl_port.welcomes.at(0).mtu, 1380u);

  for (std::uint8_t i = 0; i < 20; ++i) {
    auto to_gw = frame(kGatewayMac, kClientMac, 1380, i);
    cl.send_frame(to_gw);
    auto to_cl = frame(kClientMac, kGatewayMac, 60, i);
    gw.send_frame(to_cl);
  }
  ASSERT_TRUE(
      run_until([&] { return gw_port.frames.size() == 20 && cl_port.frames.size() == 20; }, 5s));
  EXPECT_EQ(gw_port.frames[19].size(), 1380u);
  EXPECT_EQ(gw_port.frames[19].back(), 19);
}

// The players' and gateway's defaults (apps/common make_quic_config: --relay-timeout 6, a
// keepalive every second) against a Wi-Fi stall: the player's path loses every datagram both
// ways for a while. 3 s must not drop the player (issue 17: a dead relay is given up after
// 6 s, but a hiccup is no dead relay); 8 s does, and the runner reconnects on its own.
TEST_F(SimPartyTest, AThreeSecondStallKeepsThePlayerAnEightSecondOneReconnectsIt) {
  runner_idle_timeout_ = 6s;
  runner_keepalive_ = 1s;
  const io::SimLink good{.delay = 20ms};
  make(17, good);
  RecordingPort gw_port(*net_);
  RecordingPort cl_port(*net_);
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
  ASSERT_TRUE(run_until([&] { return gw.joined() && cl.joined(); }, 30s));
  const auto stall = [&](Clock::duration length) {
    const io::SimLink dead{.delay = 20ms, .loss = 1.0};
    net_->set_link(*runner_hosts_[1], *relay_host_, dead);
    // The gateway keeps talking to the player throughout, as a game would.
    const auto until = net_->now() + length;
    for (std::uint8_t i = 0; net_->now() < until; ++i) {
      auto to_cl = frame(kClientMac, kGatewayMac, 100, i);
      gw.send_frame(to_cl);
      (void)run_until([] { return false; }, 200ms);
    }
    net_->set_link(*runner_hosts_[1], *relay_host_, good);
  };

  stall(3s);
  (void)run_until([] { return false; }, 10s);
  EXPECT_EQ(cl.counters().connects, 1u);
  EXPECT_TRUE(cl.joined());
  const std::size_t before = cl_port.frames.size();
  auto after_stall = frame(kClientMac, kGatewayMac, 100, 0xee);
  gw.send_frame(after_stall);
  ASSERT_TRUE(run_until([&] { return cl_port.frames.size() > before; }, 2s));

  stall(8s);
  ASSERT_TRUE(run_until([&] { return cl.counters().connects == 2 && cl.joined(); }, 10s));
  EXPECT_EQ(gw.counters().connects, 1u);
}

// The relay's host loses power for `down` and the relay restarts on the same address with the
// same certificate. Returns the virtual time from the restart until both runners are back in
// the room, or nullopt if they were not within `limit`.
struct RestartResult {
  std::optional<Clock::duration> rejoin;
  std::vector<ConnectionState> client_states;
};

class SimRestartTest : public SimPartyTest {
 protected:
  RestartResult restart_once(std::uint64_t seed, Clock::duration down) {
    RestartResult result;
    make(seed, io::SimLink{.delay = 15ms, .jitter = 5ms, .loss = 0.01});
    RecordingPort gw_port(*net_);
    RecordingPort cl_port(*net_);
    auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
    auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
    if (!run_until([&] { return gw.joined() && cl.joined(); }, 60s)) {
      runners_.clear();
      return result;
    }
    run_for(20s);  // a quiet party: keep-alives and probes only
    net_->reboot(*relay_host_, down);
    stop_relay();
    run_for(down);
    start_relay();
    const Clock::duration restarted = net_->elapsed();
    const bool back = run_until(
        [&] {
          return gw.joined() && cl.joined() && gw.counters().joins == 2 && cl.counters().joins == 2;
        },
        2min);
    if (back) result.rejoin = net_->elapsed() - restarted;
    result.client_states = cl_port.states;
    runners_.clear();
    return result;
  }
  void run_for(Clock::duration d) {
    (void)loop_->run_until([] { return false; }, d);
  }
};

// The bound the runner's own settings allow, from the relay's restart: a runner that lost
// the connection during the outage is retrying with backoff, each attempt's Initials
// retransmitted on QUIC's PTO schedule; the worst case is an attempt that went out just before
// the restart and whose next Initial retransmission is up to one handshake timeout (10 s)
// away, then the longest backoff step it can have reached (15 s), then a handshake and the
// PMTUD wait (1.5 s) before hello. PROTOCOL.md itself sets no reconnect bound.
constexpr Clock::duration kRejoinBound = 10s + 15s + 1500ms + 1s;

TEST_F(SimRestartTest, RunnersRejoinARebootedRelayWithinTheBackoffBound) {
  const RestartResult r = restart_once(5, 5s);
  ASSERT_TRUE(r.rejoin.has_value()) << "no rejoin within 2 virtual minutes";
  std::printf("rejoin after a 5 s relay reboot: %lld virtual ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(*r.rejoin).count()));
  EXPECT_LE(*r.rejoin, kRejoinBound);
  // The client saw the loss and came back: connected, reconnecting, ..., connected.
  ASSERT_FALSE(r.client_states.empty());
  EXPECT_EQ(r.client_states.back(), ConnectionState::kConnected);
  EXPECT_NE(
      std::find(r.client_states.begin(), r.client_states.end(), ConnectionState::kReconnecting),
      r.client_states.end());
}

TEST_F(SimRestartTest, ASeedReplaysTheSameRestart) {
  const RestartResult a = restart_once(9, 4s);
  const RestartResult b = restart_once(9, 4s);
  ASSERT_TRUE(a.rejoin.has_value());
  EXPECT_EQ(a.rejoin, b.rejoin);
  EXPECT_EQ(a.client_states, b.client_states);
}

TEST_F(SimRestartTest, RejoinTimesAcrossSeedsStayWithinTheBound) {
  Clock::duration worst{};
  std::uint64_t worst_seed = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const RestartResult r = restart_once(seed, 3s + std::chrono::milliseconds(seed * 400));
    ASSERT_TRUE(r.rejoin.has_value()) << "seed " << seed << ": no rejoin";
    EXPECT_LE(*r.rejoin, kRejoinBound) << "seed " << seed;
    if (*r.rejoin > worst) {
      worst = *r.rejoin;
      worst_seed = seed;
    }
    stop_relay();
  }
  std::printf(
      "20 seeds, outages 3.4..11 s: slowest rejoin %lld virtual ms (seed %llu)\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(worst).count()),
      static_cast<unsigned long long>(worst_seed));
}

// A party on a bad path: 5% loss each way, jitter and held-back datagrams, for 10 virtual
// minutes. The relay's `stats` every second must all arrive on the control stream, in order,
// the room must never lose a member (one join each), and frames keep flowing.
struct LossyPartyResult {
  std::string failure;
  std::size_t stats_messages = 0;
  std::size_t frames_sent = 0;
  std::size_t frames_received = 0;
};

class SimLossyPartyTest : public SimPartyTest {
 protected:
  LossyPartyResult run_party(std::uint64_t seed, Clock::duration duration) {
    LossyPartyResult r;
    stats_interval_ = 1000ms;
    make(seed, io::SimLink{.delay = 20ms,
                           .jitter = 10ms,
                           .loss = 0.05,
                           .reorder = 0.05,
                           .reorder_delay = 15ms,
                           .duplicate = 0.01});
    RecordingPort gw_port(*net_);
    RecordingPort cl_port(*net_);
    auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
    auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
    if (!run_until([&] { return gw.joined() && cl.joined(); }, 60s)) {
      r.failure = "no join in 60 virtual seconds";
      runners_.clear();
      return r;
    }
    const auto joined = net_->elapsed();
    std::function<void()> tick = [&] {
      auto f = frame(kGatewayMac, kClientMac, 200, static_cast<std::uint8_t>(r.frames_sent));
      cl.send_frame(f);
      ++r.frames_sent;
      (void)loop_->add_timer(loop_->now() + 100ms, tick);
    };
    tick();
    (void)loop_->run_until([] { return false; }, duration);
    r.frames_received = gw_port.frames.size();
    r.stats_messages = cl_port.stats.size();
    const auto expected_stats = static_cast<std::size_t>(
        std::chrono::duration_cast<std::chrono::seconds>(net_->elapsed() - joined).count());
    if (gw.counters().joins != 1 || cl.counters().joins != 1 || !gw.joined() || !cl.joined()) {
      r.failure = "a runner left the room";
    } else if (r.stats_messages + 2 < expected_stats) {
      r.failure = "stats lost: " + std::to_string(r.stats_messages) + " of about " +
                  std::to_string(expected_stats);
    } else if (r.frames_received * 10 < r.frames_sent * 8) {
      r.failure = "frames stuck: " + std::to_string(r.frames_received) + " of " +
                  std::to_string(r.frames_sent);
    }
    runners_.clear();
    return r;
  }
};

TEST_F(SimLossyPartyTest, TenVirtualMinutesAt5PercentLossLoseNoControlMessage) {
  const LossyPartyResult r = run_party(21, 10min);
  EXPECT_EQ(r.failure, "");
  EXPECT_GE(r.stats_messages, 598u);
  // Frames are datagrams: about 5% of each hop is gone for good, never retransmitted.
  EXPECT_LT(r.frames_received, r.frames_sent);
  std::printf("10 virtual minutes at 5%% loss: %zu stats messages, %zu of %zu frames\n",
              r.stats_messages, r.frames_received, r.frames_sent);
}

TEST_F(SimLossyPartyTest, NoStuckRoomAcrossSeeds) {
  for (std::uint64_t seed = 100; seed < 130; ++seed) {
    const LossyPartyResult r = run_party(seed, 60s);
    EXPECT_EQ(r.failure, "") << "seed " << seed;
  }
}

// One client floods broadcasts at 10000 frames/s for 5 virtual seconds. The relay's broadcast
// limit (2000 frames/s, bursts of 400) runs on the loop's clock, so the others get about
// 10000 of them, not 50000 and not only the first burst, and a gateway's unicast frames to
// a third member still all arrive.
TEST_F(SimPartyTest, ABroadcastFloodIsHeldToTheRelaysBroadcastRate) {
  make(2, io::SimLink{.delay = 10ms});
  constexpr const char* kQuietMac = "02:5a:11:22:33:55";
  RecordingPort gw_port(*net_);
  RecordingPort flood_port(*net_);
  RecordingPort quiet_port(*net_);
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  auto& flooder = add_runner(ctrl::Role::kClient, kClientMac, flood_port);
  auto& quiet = add_runner(ctrl::Role::kClient, kQuietMac, quiet_port);
  ASSERT_TRUE(run_until([&] { return gw.joined() && flooder.joined() && quiet.joined(); }, 30s));
  const auto start = loop_->now();
  std::size_t flooded = 0;
  std::size_t unicast = 0;
  std::function<void()> flood = [&] {
    if (loop_->now() - start >= 5s) return;
    for (int i = 0; i < 10; ++i, ++flooded) {
      auto f = frame("ff:ff:ff:ff:ff:ff", kClientMac, 100, 0xbb);
      flooder.send_frame(f);
    }
    (void)loop_->add_timer(loop_->now() + 1ms, flood);
  };
  std::function<void()> talk = [&] {
    if (loop_->now() - start >= 5s) return;
    auto f = frame(kQuietMac, kGatewayMac, 100, 0x11);
    gw.send_frame(f);
    ++unicast;
    (void)loop_->add_timer(loop_->now() + 100ms, talk);
  };
  flood();
  talk();
  (void)loop_->run_until([] { return false; }, 6s);
  const auto count = [](const RecordingPort& port, std::uint8_t tag) {
    return static_cast<std::size_t>(std::count_if(
        port.frames.begin(), port.frames.end(),
        [tag](const std::vector<std::uint8_t>& f) { return f.size() > 20 && f[20] == tag; }));
  };
  const std::size_t at_gateway = count(gw_port, 0xbb);
  EXPECT_GE(flooded, 49000u);
  EXPECT_GE(at_gateway, 9000u);   // 2000/s for 5 s
  EXPECT_LE(at_gateway, 10600u);  // plus one burst
  EXPECT_EQ(count(quiet_port, 0xbb), at_gateway);
  EXPECT_EQ(count(quiet_port, 0x11), unicast);
  EXPECT_TRUE(gw.joined() && flooder.joined() && quiet.joined());
  std::printf("broadcast flood: %zu sent in 5 virtual s, %zu forwarded to each member\n", flooded,
              at_gateway);
}

// --- the runner's other state changes ------------------------------------------------------

TEST_F(SimPartyTest, NoRelayMeansHandshakeTimeoutsRetriedWithJitteredExponentialBackoff) {
  make(3, io::SimLink{.delay = 20ms}, /*with_relay=*/false);
  RecordingPort port(*net_);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, port);
  (void)run_until([&] { return cl.counters().connects >= 7; }, 2min);
  ASSERT_GE(cl.counters().connects, 7u);
  EXPECT_FALSE(port.fatal.has_value());  // nothing answering is worth retrying
  // connecting, handshake failed (10 s handshake timeout), connecting after the backoff, ...
  std::vector<Clock::duration> delays;
  for (std::size_t i = 0; i + 2 < port.states.size(); i += 2) {
    ASSERT_EQ(port.states[i], ConnectionState::kConnecting) << i;
    ASSERT_EQ(port.states[i + 1], ConnectionState::kHandshakeFailed) << i;
    const auto attempt = port.at[i + 1] - port.at[i];
    EXPECT_GE(attempt, 10s);
    EXPECT_LE(attempt, 11s);
    delays.push_back(port.at[i + 2] - port.at[i + 1]);
  }
  ASSERT_GE(delays.size(), 6u);
  // Backoff::Config defaults: base 250 ms doubling to 15 s, each delay in [base/2, base].
  std::chrono::milliseconds base = 250ms;
  bool all_at_base = true;
  for (const auto& d : delays) {
    EXPECT_GE(d, base / 2);
    EXPECT_LE(d, base);
    if (d != base) all_at_base = false;
    base = std::min<std::chrono::milliseconds>(base * 2, 15s);
  }
  EXPECT_FALSE(all_at_base);  // the jitter spreads them
}

TEST_F(SimPartyTest, AWrongPinIsAPermanentHandshakeFailure) {
  make(1, io::SimLink{.delay = 20ms});
  RecordingPort port(*net_);
  std::array<std::uint8_t, 32> wrong{};
  wrong[0] = 1;
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, port, "ROOM1", wrong);
  ASSERT_TRUE(run_until([&] { return port.fatal.has_value(); }, 30s));
  EXPECT_EQ(port.states.back(), ConnectionState::kHandshakeFailed);
  EXPECT_EQ(cl.handshake_failure_to_report(), obs::HandshakeFailure::kPinMismatch);
  // No retry: nothing else happens for a minute.
  const auto connects = cl.counters().connects;
  (void)loop_->run_until([] { return false; }, 60s);
  EXPECT_EQ(cl.counters().connects, connects);
}

TEST_F(SimPartyTest, AnInvalidRoomIsRejectedForGood) {
  make(1, io::SimLink{.delay = 20ms});
  RecordingPort port(*net_);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, port, "not a room!");
  ASSERT_TRUE(run_until([&] { return port.fatal.has_value(); }, 30s));
  EXPECT_EQ(port.states.back(), ConnectionState::kRejected);
  EXPECT_FALSE(cl.joined());
}

TEST_F(SimPartyTest, StopDisconnectsAndTheRelayForgetsThePeer) {
  make(1, io::SimLink{.delay = 20ms});
  RecordingPort port(*net_);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, port);
  ASSERT_TRUE(run_until([&] { return cl.joined(); }, 30s));
  cl.stop();
  ASSERT_TRUE(run_until([&] { return server_->connection_count() == 0; }, 10s));
  EXPECT_EQ(port.states.back(), ConnectionState::kDisconnected);
  EXPECT_LT(net_->elapsed(), 15s);  // a close, not an idle timeout
}

TEST_F(SimPartyTest, RelayClosesAPeerThatSendsNoHelloWithin5VirtualSeconds) {
  make(1, io::SimLink{.delay = 20ms});
  struct Silent final : quic::ConnectionHandler {
    void on_stream_data(quic::Connection&, std::int64_t, std::span<const std::uint8_t>,
                        bool) override {}
    void on_datagram(quic::Connection&, std::span<const std::uint8_t>) override {}
    void on_closed(quic::Connection&, const quic::CloseInfo& i) override { info = i; }
    std::optional<quic::CloseInfo> info;
  } silent;
  quic::ClientConfig config;
  config.host = "10.213.98.1";
  config.port = 443;
  config.server_name = "relay.sim";
  config.trust.pinned_sha256 = quic::certificate_sha256(certificate().cert_der);
  config.sim_host = *net_->add_host("10.213.98.50");
  auto client = quic::Client::connect(*loop_, config, silent, obs::Logger());
  ASSERT_TRUE(client) << client.error().describe();
  ASSERT_TRUE(run_until([&] { return silent.info.has_value(); }, 30s));
  EXPECT_EQ(silent.info->kind, quic::CloseInfo::Kind::kPeerApplication);
  EXPECT_EQ(silent.info->code, 1u);  // PROTOCOL.md section 2: application error 1
  EXPECT_GE(net_->elapsed(), 5s);
  EXPECT_LE(net_->elapsed(), 5s + 200ms);
}

}  // namespace
}  // namespace lanparty
