// SPDX-License-Identifier: MIT
// client-core's Runner against two or three real relays of one cluster (their room records
// and homes on one real redis-server), all on one event loop over loopback QUIC, sharing one
// certificate as a cluster's relays do: a runner sent elsewhere by reject `redirect` follows
// it once, a second redirect in a row is an error, and when the room's relay dies the runners
// move on to the next relay of their list, which homes the room again.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "directory_worker.hpp"
#include "lanparty/client_core/runner.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/directory/redis_room_directory.hpp"
#include "lanparty/directory/redis_room_homing.hpp"
#include "lanparty/obs/sinks.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/room_key.hpp"
#include "lanparty/quic/server.hpp"
#include "redis_server.hpp"
#include "relay.hpp"

namespace lanparty {
namespace {

using namespace std::chrono_literals;
using directory::testing_support::RedisServer;

constexpr const char* kPrefix = "clustertest";
constexpr const char* kGatewayMac = "00:11:22:33:44:55";
constexpr const char* kClientMac = "02:5a:11:22:33:44";
constexpr auto kLease = 1500ms;  // short, so that a dead relay's room frees up within a test

// A free UDP port on 127.0.0.1 for a relay to listen on and advertise (it must be known
// before the relay is built; nothing else on this machine races for it within a test).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "no free port";
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RecordingPort final : public client_core::LocalPort {
 public:
  void deliver_frame(std::span<const std::uint8_t>) override {}
  void on_state(obs::ConnectionState s, std::string_view sentence) override {
    states.push_back(s);
    sentences.emplace_back(sentence);
  }
  void on_fatal(std::string_view sentence) override { fatal = std::string(sentence); }
  std::vector<obs::ConnectionState> states;
  std::vector<std::string> sentences;
  std::optional<std::string> fatal;
};

// One relay of the cluster: its directory worker (Redis records and homing), relay, server.
struct ClusterRelay {
  std::uint16_t port = 0;
  std::string address;
  std::unique_ptr<relay::DirectoryWorker> worker;
  std::unique_ptr<relay::Relay> relay;
  std::unique_ptr<quic::Server> server;  // last: destroyed before its handler
};

class RunnerClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (directory::testing_support::redis_server_binary().empty()) {
      GTEST_SKIP() << directory::testing_support::kNoRedisMessage;
    }
    redis_ = std::make_unique<RedisServer>();
    ASSERT_TRUE(redis_->ok());
    loop_ = std::move(*io::EventLoop::create());
    auto cert = quic::generate_self_signed("relay.test");
    ASSERT_TRUE(cert);
    cert_ = *cert;
    dir_ = std::filesystem::temp_directory_path() /
           ("lanparty-cluster-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(quic::write_der(cert_, dir_ / "relay.der"));
    key_ = *quic::RoomKey::generate();
  }
  void TearDown() override {
    runners_.clear();
    relays_.clear();
    std::filesystem::remove_all(dir_);
  }

  directory::RedisEndpoint endpoint() const {
    auto endpoint = redis_->endpoint();
    endpoint.command_timeout = 500ms;
    endpoint.connect_timeout = 500ms;
    return endpoint;
  }

  ClusterRelay& start_relay() {
    auto r = std::make_unique<ClusterRelay>();
    r->port = free_port();
    r->address = "127.0.0.1:" + std::to_string(r->port);
    auto records = directory::RedisRoomDirectory::open(
        {.endpoint = endpoint(), .prefix = kPrefix, .limits = {}, .expire_batch = 1000});
    auto homing = directory::RedisRoomHoming::open(
        {.endpoint = endpoint(), .prefix = kPrefix, .relay_id = r->address});
    EXPECT_TRUE(records && homing);
    auto worker =
        relay::DirectoryWorker::start(*loop_, std::move(*records), {}, std::move(*homing));
    EXPECT_TRUE(worker);
    r->worker = std::move(*worker);
    relay::RelayConfig config;
    config.rooms = relay::RoomMode::kClaimed;
    config.homing =
        relay::HomingSettings{.advertise = r->address, .lease = kLease, .refresh = 400ms};
    r->relay =
        std::make_unique<relay::Relay>(*loop_, config, obs::Logger(), nullptr, r->worker.get());
    auto server =
        quic::Server::create(*loop_, quic::ServerConfig{.listen = r->address, .certificate = cert_},
                             *r->relay, obs::Logger());
    EXPECT_TRUE(server) << server.error().describe();
    r->server = std::move(*server);
    relays_.push_back(std::move(r));
    return *relays_.back();
  }
  // As kill -9 does: no disconnect, no unregister; its leases run out.
  void crash(ClusterRelay& r) {
    r.server.reset();
    r.relay.reset();
    r.worker.reset();
  }

  std::string invite() {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto token = ctrl::encode_invite_token(
        {.room = "ROOM1", .id = "9f2c4e1a7b3d5a60", .exp = now + 3600, .name = "alice"},
        [this](std::span<const std::uint8_t> m) -> Result<ctrl::Signature> {
          auto sig = key_->sign(m);
          if (!sig) return tl::unexpected(sig.error());
          return *sig;
        });
    EXPECT_TRUE(token);
    return *token;
  }

  // A runner whose link names `relays` in this order; the gateway proves the room key.
  client_core::Runner& add_runner(ctrl::Role role, const char* mac, RecordingPort& port,
                                  const std::vector<const ClusterRelay*>& relays) {
    quic::ClientConfig quic_config;
    quic_config.host = "127.0.0.1";
    quic_config.port = relays.front()->port;
    quic_config.server_name = "relay.test";
    quic_config.trust.pinned_der = dir_ / "relay.der";  // one pin for every relay
    quic_config.idle_timeout = 3s;
    quic_config.keepalive = 1s;
    client_core::RunnerConfig config{
        .quic = quic_config,
        .session = {.role = role,
                    .room = "ROOM1",
                    .mac = *proto::MacAddress::parse(mac),
                    .invite = role == ctrl::Role::kClient ? std::optional(invite()) : std::nullopt},
        .room_key = role == ctrl::Role::kGateway ? key_ : std::nullopt,
        .backoff = {.initial = 50ms, .max = 200ms, .factor = 2.0, .jitter = 0.0}};
    for (std::size_t i = 1; i < relays.size(); ++i) {
      config.more_relays.push_back({.host = "127.0.0.1", .port = relays[i]->port});
    }
    runners_.push_back(std::make_unique<client_core::Runner>(*loop_, config, port, obs::Logger(),
                                                             [] { return 0.5; }));
    runners_.back()->start();
    return *runners_.back();
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
    auto st = loop_->run_until(done, timeout);
    return st.has_value() && done();
  }
  static std::size_t peers_on(const ClusterRelay& r) { return r.relay->rooms().peer_count(); }

  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<io::EventLoop> loop_;
  quic::CertificateKey cert_;
  std::filesystem::path dir_;
  std::optional<quic::RoomKey> key_;
  std::vector<std::unique_ptr<ClusterRelay>> relays_;
  std::vector<std::unique_ptr<client_core::Runner>> runners_;
};

TEST_F(RunnerClusterTest, APlayerWhoseLinkNamesAnotherRelayIsRedirectedToTheRoom) {
  ClusterRelay& a = start_relay();
  ClusterRelay& b = start_relay();
  RecordingPort gw_port;
  RecordingPort client_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port, {&a});
  ASSERT_TRUE(run_until([&] { return gw.joined(); }));
  auto& client = add_runner(ctrl::Role::kClient, kClientMac, client_port, {&b});
  ASSERT_TRUE(run_until([&] { return client.joined(); }));
  EXPECT_EQ(peers_on(a), 2u);
  EXPECT_EQ(peers_on(b), 0u);
  EXPECT_EQ(b.relay->totals().redirects, 1u);
  // One connection to B, then one to A at once (no reject_retry wait of 10 s).
  EXPECT_EQ(client.counters().connects, 2u);
  EXPECT_EQ(client.relay(), a.address);  // what `status` shows: where it is now
  bool told = false;
  for (const auto& s : client_port.sentences) {
    told |= s.find("the room is on relay " + a.address) != std::string::npos;
  }
  EXPECT_TRUE(told);
  EXPECT_FALSE(client_port.fatal);
}

TEST_F(RunnerClusterTest, ASecondRedirectInARowIsAnErrorNotALoop) {
  ClusterRelay& b = start_relay();
  // A relay that registered B's own address as its own (a misconfigured --advertise) holds
  // the room: B sends the player to itself, and the second redirect must not be followed.
  auto ghost = directory::RedisRoomHoming::open(
      {.endpoint = endpoint(), .prefix = kPrefix, .relay_id = "ghost"});
  ASSERT_TRUE(ghost);
  ASSERT_TRUE((*ghost)->register_relay(b.address, 0, 60s));
  ASSERT_TRUE((*ghost)->home("ROOM1", 60s));
  auto records = directory::RedisRoomDirectory::open(
      {.endpoint = endpoint(), .prefix = kPrefix, .limits = {}, .expire_batch = 1000});
  ASSERT_TRUE(records);
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  ASSERT_TRUE((*records)->claim("ROOM1", key_->public_key(), now));

  RecordingPort client_port;
  auto& client = add_runner(ctrl::Role::kClient, kClientMac, client_port, {&b});
  ASSERT_TRUE(run_until([&] { return b.relay->totals().redirects >= 2; }));
  ASSERT_TRUE(run_until([&] { return client.state() == obs::ConnectionState::kRejected; }));
  EXPECT_FALSE(client.joined());
  EXPECT_EQ(client.counters().connects, 2u);  // no third connection at once
  bool told = false;
  for (const auto& s : client_port.sentences) told |= s.find("disagree") != std::string::npos;
  EXPECT_TRUE(told);
}

TEST_F(RunnerClusterTest, WhenTheRoomsRelayDiesEveryoneMovesToTheNextRelayOfTheirList) {
  ClusterRelay& a = start_relay();
  ClusterRelay& b = start_relay();
  RecordingPort gw_port;
  RecordingPort client_port;
  auto& gw = add_runner(ctrl::Role::kGateway, kGatewayMac, gw_port, {&a, &b});
  ASSERT_TRUE(run_until([&] { return gw.joined(); }));
  auto& client = add_runner(ctrl::Role::kClient, kClientMac, client_port, {&a, &b});
  ASSERT_TRUE(run_until([&] { return client.joined() && peers_on(a) == 2; }));

  crash(a);
  // Idle timeout (3 s) notices; the lease (1.5 s) has run out by then; B homes the room.
  ASSERT_TRUE(run_until([&] { return peers_on(b) == 2 && gw.joined() && client.joined(); }, 10s));
  EXPECT_EQ(b.relay->homed_count(), 1u);
  EXPECT_EQ(gw.counters().joins, 2u);
  EXPECT_EQ(client.counters().joins, 2u);
}

}  // namespace
}  // namespace lanparty
