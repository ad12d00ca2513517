// SPDX-License-Identifier: MIT
// client-core's Runner against the real relay over real QUIC on loopback, in one process and
// one event loop: joining, frames both ways, reconnect after the relay goes away and comes
// back, and a reject that retrying cannot fix.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "lanparty/client_core/runner.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/directory/sqlite_room_directory.hpp"
#include "lanparty/obs/sinks.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/room_key.hpp"
#include "lanparty/quic/server.hpp"
#include "relay.hpp"

namespace lanparty {
namespace {

using namespace std::chrono_literals;

// The local side of a runner, recorded: frames delivered, states seen, fatal sentence.
class RecordingPort final : public client_core::LocalPort {
 public:
  void deliver_frame(std::span<const std::uint8_t> frame) override {
    frames.emplace_back(frame.begin(), frame.end());
  }
  void end_of_batch() override { batch_ends.push_back(frames.size()); }
  void on_joined(const ctrl::Welcome& w) override { welcomes.push_back(w); }
  void on_state(obs::ConnectionState s, std::string_view sentence) override {
    states.push_back(s);
    sentences.emplace_back(sentence);
  }
  void on_fatal(std::string_view sentence) override { fatal = std::string(sentence); }
  void on_message(const ctrl::Message& m) override { messages.push_back(m); }

  std::vector<std::vector<std::uint8_t>> frames;
  std::vector<std::size_t> batch_ends;  // frames.size() at each end_of_batch()
  std::vector<ctrl::Welcome> welcomes;
  std::vector<obs::ConnectionState> states;
  std::vector<std::string> sentences;
  std::optional<std::string> fatal;
  std::vector<ctrl::Message> messages;
};

class RunnerRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loop_ = std::move(*io::EventLoop::create());
    auto cert = quic::generate_self_signed("relay.test");
    ASSERT_TRUE(cert);
    cert_ = *cert;
    dir_ = std::filesystem::temp_directory_path() /
           ("lanparty-runner-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(quic::write_der(cert_, dir_ / "relay.der"));
    start_relay(0);
  }
  void TearDown() override {
    runners_.clear();
    stop_relay();
    std::filesystem::remove_all(dir_);
  }

  relay::RelayConfig relay_config() const {
    relay::RelayConfig config;
    config.stats_interval = stats_interval_;
    config.rooms = rooms_;
    return config;
  }
  void start_relay(std::uint16_t port) {
    if (rooms_ != relay::RoomMode::kOpen && !records_) {
      directory::SqliteConfig records_config;
      records_config.path = dir_ / "rooms.sqlite3";
      auto records = directory::SqliteRoomDirectory::open(records_config);
      ASSERT_TRUE(records) << records.error().describe();
      records_ = std::move(*records);
    }
    relay_ = std::make_unique<relay::Relay>(*loop_, relay_config(), obs::Logger(), records_.get());
    auto server = quic::Server::create(
        *loop_,
        quic::ServerConfig{.listen = "127.0.0.1:" + std::to_string(port), .certificate = cert_},
        *relay_, obs::Logger());
    ASSERT_TRUE(server) << server.error().describe();
    server_ = std::move(*server);
    port_ = server_->local_address().port();
  }
  void stop_relay() {
    server_.reset();  // drops every connection at once, as a crash would
    relay_.reset();
  }

  client_core::Runner& add_runner(ctrl::Role role, const char* mac, RecordingPort& port,
                                  std::string room = "ROOM1",
                                  std::optional<quic::RoomKey> room_key = std::nullopt,
                                  std::optional<std::string> invite = std::nullopt) {
    quic::ClientConfig quic_config;
    quic_config.host = "127.0.0.1";
    quic_config.port = port_;
    quic_config.server_name = "relay.test";
    quic_config.trust.pinned_der = dir_ / "relay.der";
    // Short idle timeout so a vanished relay is noticed within the test's time.
    quic_config.idle_timeout = 3s;
    quic_config.keepalive = 1s;
    client_core::RunnerConfig config{
        .quic = quic_config,
        .session = {.role = role,
                    .room = std::move(room),
                    .mac = *proto::MacAddress::parse(mac),
                    .invite = std::move(invite)},
        .room_key = std::move(room_key),
        .backoff = {.initial = 50ms, .max = 200ms, .factor = 2.0, .jitter = 0.0}};
    runners_.push_back(std::make_unique<client_core::Runner>(*loop_, config, port, obs::Logger(),
                                                             [] { return 0.5; }));
    runners_.back()->start();
    return *runners_.back();
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
    auto st = loop_->run_until(done, timeout);
    return st.has_value() && done();
  }

  static std::vector<std::uint8_t> frame(const char* dst, const char* src, std::size_t bytes) {
    std::vector<std::uint8_t> datagram(4, 0);  // headroom for the overlay header
    const auto d = *proto::MacAddress::parse(dst);
    const auto s = *proto::MacAddress::parse(src);
    datagram.insert(datagram.end(), d.bytes().begin(), d.bytes().end());
    datagram.insert(datagram.end(), s.bytes().begin(), s.bytes().end());
    datagram.push_back(0x08);
    datagram.push_back(0x00);
    datagram.resize(4 + bytes, 0x5a);
    return datagram;
  }

  std::unique_ptr<io::EventLoop> loop_;
  quic::CertificateKey cert_;
  std::filesystem::path dir_;
  std::unique_ptr<relay::Relay> relay_;
  std::unique_ptr<quic::Server> server_;
  std::uint16_t port_ = 0;
  std::chrono::milliseconds stats_interval_{10000};
  relay::RoomMode rooms_ = relay::RoomMode::kOpen;
  std::unique_ptr<directory::RoomDirectory> records_;
  std::vector<std::unique_ptr<client_core::Runner>> runners_;
};

// The same, with the relay in `claimed` mode (PROTOCOL.md section 7) on real room records.
class RunnerOwnershipTest : public RunnerRelayTest {
 protected:
  void SetUp() override {
    rooms_ = relay::RoomMode::kClaimed;
    RunnerRelayTest::SetUp();
    key_ = *quic::RoomKey::generate();
  }
  std::string invite(std::string name, std::int64_t exp_from_now = 3600,
                     const char* id = "9f2c4e1a7b3d5a60") {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto token = ctrl::encode_invite_token(
        {.room = "ROOM1", .id = id, .exp = now + exp_from_now, .name = std::move(name)},
        [this](std::span<const std::uint8_t> m) -> Result<ctrl::Signature> {
          auto sig = key_->sign(m);
          if (!sig) return tl::unexpected(sig.error());
          return *sig;
        });
    EXPECT_TRUE(token);
    return *token;
  }
  std::optional<quic::RoomKey> key_;
};

constexpr const char* kGatewayMac = "00:11:22:33:44:55";
constexpr const char* kClientMac = "02:5a:11:22:33:44";

TEST_F(RunnerRelayTest, JoinsWithFullRoomMtuAfterPathMtuDiscovery) {
  RecordingPort gw_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  ASSERT_TRUE(run_until([&] { return gw.joined(); }));
  ASSERT_EQ(gw_port.welcomes.size(), 1u);
  // The hello waited for PMTUD, so the budget allowed the default 1380-byte room MTU.
  EXPECT_EQ(gw_port.welcomes[0].mtu, 1380u);
  EXPECT_EQ(gw.state(), obs::ConnectionState::kConnected);
}

TEST_F(RunnerRelayTest, FramesFlowBothWaysIncludingFullSize) {
  RecordingPort gw_port;
  RecordingPort cl_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
  ASSERT_TRUE(run_until([&] { return gw.joined() && cl.joined(); }));

  auto broadcast = frame("ff:ff:ff:ff:ff:ff", kClientMac, 60);
  cl.send_frame(broadcast);
  ASSERT_TRUE(run_until([&] { return !gw_port.frames.empty(); }));
  EXPECT_EQ(gw_port.frames[0], std::vector<std::uint8_t>(broadcast.begin() + 4, broadcast.end()));

  // A full-size frame (room MTU 1380 + 14) from a LAN host to the client.
  auto unicast = frame(kClientMac, "00:aa:bb:cc:dd:ee", 1394);
  gw.send_frame(unicast);
  ASSERT_TRUE(run_until([&] { return !cl_port.frames.empty(); }));
  EXPECT_EQ(cl_port.frames[0].size(), 1394u);
  // The client learned the LAN host's MAC from the frame's source.
  EXPECT_TRUE(cl.session().peers().contains_mac(*proto::MacAddress::parse("00:aa:bb:cc:dd:ee")));
  EXPECT_EQ(cl.counters().frames_to_relay, 1u);
}

// A port that holds frames back (merging TCP segments) is told when each receive batch ends:
// once after the last frame of a turn, never with nothing new delivered.
TEST_F(RunnerRelayTest, EndOfBatchFollowsTheFramesOfEachLoopTurn) {
  RecordingPort gw_port;
  RecordingPort cl_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
  ASSERT_TRUE(run_until([&] { return gw.joined() && cl.joined(); }));
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      auto unicast = frame(kClientMac, "00:aa:bb:cc:dd:ee", 600);
      gw.send_frame(unicast);
    }
    const std::size_t want = static_cast<std::size_t>(round) * 20;
    ASSERT_TRUE(run_until([&] {
      return cl_port.frames.size() == want && !cl_port.batch_ends.empty() &&
             cl_port.batch_ends.back() == want;
    })) << "round "
        << round << ": " << cl_port.frames.size() << " frames";
  }
  for (std::size_t i = 1; i < cl_port.batch_ends.size(); ++i) {
    EXPECT_GT(cl_port.batch_ends[i], cl_port.batch_ends[i - 1]) << "a batch end without frames";
  }
}

TEST_F(RunnerRelayTest, ReconnectsAfterRelayRestart) {
  RecordingPort gw_port;
  RecordingPort cl_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
  ASSERT_TRUE(run_until([&] { return gw.joined() && cl.joined(); }));

  const std::uint16_t port = port_;
  stop_relay();
  // Restart on the same port: the runners' next packets meet a relay that does not know
  // their connections; they notice (stateless reset or idle timeout) and join again.
  start_relay(port);
  ASSERT_EQ(port_, port);
  const auto started = loop_->now();
  ASSERT_TRUE(
      run_until([&] { return gw_port.welcomes.size() == 2 && cl_port.welcomes.size() == 2; }, 15s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(loop_->now() - started);
  std::printf("rejoined %lld ms after the relay restarted\n", static_cast<long long>(took.count()));

  auto broadcast = frame("ff:ff:ff:ff:ff:ff", kClientMac, 60);
  cl.send_frame(broadcast);
  ASSERT_TRUE(run_until([&] { return !gw_port.frames.empty(); }));
  EXPECT_GE(cl.counters().connects, 2u);
}

TEST_F(RunnerRelayTest, PermanentRejectIsFatalAndNotRetried) {
  RecordingPort port;
  auto& bad = add_runner(ctrl::Role::kClient, kClientMac, port, "x");  // room too short
  ASSERT_TRUE(run_until([&] { return port.fatal.has_value(); }));
  EXPECT_NE(port.fatal->find("room name"), std::string::npos);
  // No second connection attempt follows.
  (void)loop_->run_until([] { return false; }, 500ms);
  EXPECT_EQ(bad.counters().connects, 1u);
}

TEST_F(RunnerRelayTest, EachStatsMessageGivesThePlayerAStatusLine) {
  stop_relay();
  stats_interval_ = 200ms;
  start_relay(0);
  RecordingPort gw_port;
  RecordingPort cl_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
  ASSERT_TRUE(run_until([&] { return gw.joined() && cl.joined(); }));
  const auto has_line = [&] {
    for (const auto& s : cl_port.sentences) {
      if (s.find("1 other in the room") != std::string::npos &&
          s.find("ms to the relay") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(run_until(has_line, 3s));
}

TEST_F(RunnerRelayTest, StopSendsDisconnectAndEnds) {
  RecordingPort gw_port;
  RecordingPort cl_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port);
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port);
  ASSERT_TRUE(run_until([&] { return gw.joined() && cl.joined(); }));
  cl.stop();
  ASSERT_TRUE(run_until([&] { return cl.state() == obs::ConnectionState::kDisconnected; }));
  // The gateway hears that the client left, with reason "closed".
  ASSERT_TRUE(run_until([&] { return gw.session().peers().peers().empty(); }));
  EXPECT_EQ(relay_->rooms().peer_count(), 1u);
}

TEST_F(RunnerOwnershipTest, GatewayClaimsWithItsKeyAndAnInvitedPlayerJoinsByName) {
  RecordingPort gw_port;
  RecordingPort cl_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port, "ROOM1", key_);
  ASSERT_TRUE(run_until([&] { return gw.joined(); }));
  auto& cl =
      add_runner(ctrl::Role::kClient, kClientMac, cl_port, "ROOM1", std::nullopt, invite("alice"));
  ASSERT_TRUE(run_until([&] { return cl.joined() && gw.session().peers().peers().size() == 1; }));
  // The gateway learns who joined, with which invite (section 7), and says so.
  const auto& peer = gw.session().peers().peers().begin()->second;
  EXPECT_EQ(peer.name, "alice");
  EXPECT_EQ(peer.invite_id, "9f2c4e1a7b3d5a60");
  EXPECT_NE(std::find_if(gw_port.sentences.begin(), gw_port.sentences.end(),
                         [](const std::string& s) { return s.find("alice joined") != s.npos; }),
            gw_port.sentences.end());
  // Frames flow as in an open room.
  auto broadcast = frame("ff:ff:ff:ff:ff:ff", kClientMac, 60);
  cl.send_frame(broadcast);
  ASSERT_TRUE(run_until([&] { return !gw_port.frames.empty(); }));
}

TEST_F(RunnerOwnershipTest, AnotherKeysGatewayGivesUpWithRoomOwned) {
  RecordingPort gw_port;
  RecordingPort thief_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port, "ROOM1", key_);
  ASSERT_TRUE(run_until([&] { return gw.joined(); }));
  auto& thief = add_runner(ctrl::Role::kGateway, "00:11:22:33:44:66", thief_port, "ROOM1",
                           *quic::RoomKey::generate());
  ASSERT_TRUE(run_until([&] { return thief_port.fatal.has_value(); }));
  EXPECT_NE(thief_port.fatal->find("belongs to another host"), std::string::npos)
      << *thief_port.fatal;
  (void)loop_->run_until([] { return false; }, 300ms);
  EXPECT_EQ(thief.counters().connects, 1u);
  EXPECT_TRUE(gw.joined());
}

TEST_F(RunnerOwnershipTest, APlayerWithoutInviteOrWithAnExpiredOneGivesUpWithASentence) {
  RecordingPort gw_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port, "ROOM1", key_);
  ASSERT_TRUE(run_until([&] { return gw.joined(); }));
  RecordingPort none_port;
  (void)add_runner(ctrl::Role::kClient, kClientMac, none_port);
  RecordingPort old_port;
  (void)add_runner(ctrl::Role::kClient, "02:5a:11:22:33:55", old_port, "ROOM1", std::nullopt,
                   invite("bob", -300));
  ASSERT_TRUE(run_until([&] { return none_port.fatal && old_port.fatal; }));
  EXPECT_NE(none_port.fatal->find("invite link"), std::string::npos) << *none_port.fatal;
  EXPECT_NE(old_port.fatal->find("expired"), std::string::npos) << *old_port.fatal;
  EXPECT_NE(old_port.fatal->find("5 minutes ago"), std::string::npos) << *old_port.fatal;
}

TEST_F(RunnerOwnershipTest, AKickedPlayerIsToldWhyAndDoesNotRejoin) {
  RecordingPort gw_port;
  RecordingPort cl_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port, "ROOM1", key_);
  ASSERT_TRUE(run_until([&] { return gw.joined(); }));
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port, "ROOM1", std::nullopt,
                        invite("mallory"));
  ASSERT_TRUE(run_until([&] { return cl.joined(); }));
  ASSERT_TRUE(gw.send_control(
      ctrl::Kick{.peer_id = cl.session().welcome()->peer_id, .reason = "mac_on_lan"}));
  ASSERT_TRUE(run_until([&] { return cl_port.fatal.has_value(); }));
  EXPECT_NE(cl_port.fatal->find("belongs to a machine on the party LAN"), std::string::npos)
      << *cl_port.fatal;
  (void)loop_->run_until([] { return false; }, 300ms);
  EXPECT_EQ(cl.counters().connects, 1u);
}

TEST_F(RunnerOwnershipTest, RevokeReachesTheGatewayAsRevoked) {
  RecordingPort gw_port;
  RecordingPort cl_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port, "ROOM1", key_);
  ASSERT_TRUE(run_until([&] { return gw.joined(); }));
  auto& cl = add_runner(ctrl::Role::kClient, kClientMac, cl_port, "ROOM1", std::nullopt,
                        invite("eve", 3600, "00000000000000e7"));
  ASSERT_TRUE(run_until([&] { return cl.joined(); }));
  ASSERT_TRUE(gw.send_control(ctrl::Revoke{.invite_id = "00000000000000e7"}));
  ASSERT_TRUE(run_until([&] {
    return cl_port.fatal.has_value() &&
           std::any_of(
               gw_port.messages.begin(), gw_port.messages.end(),
               [](const ctrl::Message& m) { return std::holds_alternative<ctrl::Revoked>(m); });
  }));
  const auto it =
      std::find_if(gw_port.messages.begin(), gw_port.messages.end(),
                   [](const ctrl::Message& m) { return std::holds_alternative<ctrl::Revoked>(m); });
  EXPECT_EQ(std::get<ctrl::Revoked>(*it).kicked, 1u);
}

}  // namespace
}  // namespace lanparty
