// SPDX-License-Identifier: MIT
// Two relays of one cluster on one real redis-server (what `--directory redis://...
// --advertise HOST:PORT` runs): a room is homed on the relay its first peer reaches, a peer
// of it at another relay is sent there with reject `redirect` (our extension, docs/
// protocol.md), and the lease moves when its relay leaves or dies.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "directory_metrics.hpp"
#include "directory_worker.hpp"
#include "lanparty/directory/redis_room_directory.hpp"
#include "lanparty/directory/redis_room_homing.hpp"
#include "redis_server.hpp"
#include "relay_harness.hpp"
#include "run_process.hpp"

namespace lanparty::relay::testing {
namespace {

using namespace std::chrono_literals;
using directory::testing_support::RedisServer;
using ::testing::HasSubstr;

constexpr const char* kHomingPrefix = "homingtest";
constexpr const char* kRelayA = "relay-a.test:4433";
constexpr const char* kRelayB = "relay-b.test:4433";
// Short leases, so that a dead relay's rooms free up within a test.
constexpr auto kLease = 1500ms;
constexpr auto kRefresh = 400ms;

// Claims the test holds back: a claim's answer waits (on the loop thread) until release().
struct ClaimGate {
  std::atomic<bool> hold{false};
  std::vector<std::function<void()>> held;  // loop thread only
  void release() {
    for (auto& answer : std::exchange(held, {})) answer();
  }
};

// The records as they are, with a note of whether the call in hand wrote a claim.
class ClaimSpy final : public directory::RoomDirectory {
 public:
  explicit ClaimSpy(directory::RoomDirectory& records) : records_(records) {}
  Result<std::optional<directory::RoomRecord>> lookup(std::string_view room,
                                                      directory::Seconds now) override {
    return records_.lookup(room, now);
  }
  Result<directory::ClaimOutcome> claim(std::string_view room, const directory::OwnerKey& owner,
                                        directory::Seconds now) override {
    claimed = true;
    return records_.claim(room, owner, now);
  }
  Status touch(std::string_view room, const directory::OwnerKey& owner,
               directory::Seconds now) override {
    return records_.touch(room, owner, now);
  }
  Status revoke(std::string_view room, std::string_view invite_id,
                std::optional<directory::Seconds> exp, directory::Seconds now) override {
    return records_.revoke(room, invite_id, exp, now);
  }
  Result<bool> is_revoked(std::string_view room, std::string_view invite_id,
                          directory::Seconds now) override {
    return records_.is_revoked(room, invite_id, now);
  }
  Result<directory::Purged> expire(directory::Seconds now) override { return records_.expire(now); }
  bool claimed = false;

 private:
  directory::RoomDirectory& records_;
};

// The worker, with the answers to claims held at the gate while it is closed.
class GatedExecutor final : public DirectoryExecutor {
 public:
  GatedExecutor(std::unique_ptr<DirectoryExecutor> inner, std::shared_ptr<ClaimGate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  void submit(DirectoryCall call) override {
    inner_->submit([call = std::move(call), gate = gate_](directory::RoomDirectory& records) {
      ClaimSpy spy(records);
      std::function<void()> answer = call(spy);
      if (!spy.claimed || !gate->hold) return answer;
      return std::function<void()>([gate, answer] { gate->held.push_back(answer); });
    });
  }
  [[nodiscard]] bool deferred() const noexcept override { return inner_->deferred(); }
  [[nodiscard]] HomingExecutor* homing() noexcept override { return inner_->homing(); }

 private:
  std::unique_ptr<DirectoryExecutor> inner_;
  std::shared_ptr<ClaimGate> gate_;
};

std::unique_ptr<RelayHarness> start_relay(const RedisServer& server, std::string advertise,
                                          std::shared_ptr<ClaimGate> gate = nullptr) {
  auto endpoint = server.endpoint();
  endpoint.command_timeout = 500ms;
  endpoint.connect_timeout = 500ms;
  HarnessOptions options;
  options.relay = claimed_relay_config();
  options.relay.homing =
      HomingSettings{.advertise = advertise, .lease = kLease, .refresh = kRefresh};
  options.executor_factory = [endpoint, advertise,
                              gate](io::EventLoop& loop) -> std::unique_ptr<DirectoryExecutor> {
    auto records = directory::RedisRoomDirectory::open(
        {.endpoint = endpoint, .prefix = kHomingPrefix, .limits = {}, .expire_batch = 1000});
    auto homing = directory::RedisRoomHoming::open(
        {.endpoint = endpoint, .prefix = kHomingPrefix, .relay_id = advertise});
    if (!records || !homing) {
      ADD_FAILURE() << "cannot open the Redis directory";
      return nullptr;
    }
    auto worker =
        DirectoryWorker::start(loop, std::move(*records),
                               {.max_queue_wait = 2000ms, .max_queued = 64}, std::move(*homing));
    if (!worker) {
      ADD_FAILURE() << worker.error().describe();
      return nullptr;
    }
    if (gate != nullptr) return std::make_unique<GatedExecutor>(std::move(*worker), gate);
    return std::move(*worker);
  };
  return RelayHarness::start(options);
}

// Who Redis says serves `room`, read like a third relay would.
std::optional<directory::Home> home_of(const RedisServer& server, std::string_view room) {
  auto homing = directory::RedisRoomHoming::open(
      {.endpoint = server.endpoint(), .prefix = kHomingPrefix, .relay_id = "observer:1"});
  if (!homing) return std::nullopt;
  auto home = (*homing)->home_of(room);
  return home ? *home : std::nullopt;
}

::testing::AssertionResult redirected_to(TestPeer& peer, std::string_view relay) {
  auto reject = peer.next<ctrl::Reject>();
  if (!reject) return ::testing::AssertionFailure() << "no reject; got: " << peer.received_text();
  if (reject->code != "redirect" || reject->relay != std::string(relay)) {
    return ::testing::AssertionFailure() << "got: " << peer.received_text();
  }
  if (reject->message.find(relay) == std::string::npos) {
    return ::testing::AssertionFailure() << "message does not name the relay: " << reject->message;
  }
  const quic::CloseInfo* closed = peer.wait_closed();
  if (closed == nullptr || closed->code != ctrl::app_error::kRejected) {
    return ::testing::AssertionFailure() << "not closed with application error 2";
  }
  return ::testing::AssertionSuccess();
}

class TwoRelays : public ::testing::Test {
 protected:
  void SetUp() override {
    if (directory::testing_support::redis_server_binary().empty()) {
      GTEST_SKIP() << directory::testing_support::kNoRedisMessage;
    }
    server_ = std::make_unique<RedisServer>();
    ASSERT_TRUE(server_->ok());
    a_ = start_relay(*server_, kRelayA);
    b_ = start_relay(*server_, kRelayB);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    // Both registered (their first refresh runs on their first loop turn).
    ASSERT_TRUE(a_->run_until([&] { return a_->relay().directory_stats()->calls >= 1; }));
    ASSERT_TRUE(b_->run_until([&] { return b_->relay().directory_stats()->calls >= 1; }));
  }

  std::unique_ptr<TestPeer> invited(RelayHarness& relay, const quic::RoomKey& key,
                                    std::string_view mac, std::string_view id) {
    auto peer = relay.connect();
    if (peer == nullptr) return nullptr;
    const std::string token = invite_token(key, invite_payload("ROOM1", id));
    if (!peer->send_hello(invited_hello("ROOM1", mac, token))) return nullptr;
    return peer;
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RelayHarness> a_;
  std::unique_ptr<RelayHarness> b_;
  const quic::RoomKey key_ = new_room_key();
};

TEST_F(TwoRelays, ARoomLivesOnTheRelayItsGatewayReachedAndOthersRedirectThere) {
  auto gw = a_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(a_->relay().homed_count(), 1u);
  auto home = home_of(*server_, "ROOM1");
  ASSERT_TRUE(home);
  EXPECT_EQ(home->address, kRelayA);

  // A player whose link names relay B is sent to A, and B homes nothing.
  auto player = invited(*b_, key_, "02:5a:00:00:00:01", "00000000000000a1");
  ASSERT_NE(player, nullptr);
  EXPECT_TRUE(redirected_to(*player, kRelayA));
  EXPECT_EQ(b_->relay().totals().redirects, 1u);
  EXPECT_EQ(b_->relay().homed_count(), 0u);
  EXPECT_EQ(b_->relay().rooms().room_count(), 0u);

  // The same player at A gets in: one room, on one relay.
  auto at_home = invited(*a_, key_, "02:5a:00:00:00:01", "00000000000000a1");
  ASSERT_NE(at_home, nullptr);
  ASSERT_TRUE(at_home->next<ctrl::Welcome>());
  EXPECT_EQ(a_->relay().rooms().find_room("ROOM1")->peers.size(), 2u);

  // The metrics say so.
  const std::string metrics = render_cluster_metrics(b_->relay());
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_redirects_total 1\n"));
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_rooms_homed 0\n"));
  EXPECT_THAT(render_cluster_metrics(a_->relay()), HasSubstr("lanparty_relay_rooms_homed 1\n"));
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_directory_calls_total "));
}

TEST_F(TwoRelays, AGatewayReachingAnotherRelayOfALiveRoomIsRedirectedToo) {
  // A player reached A first (the record exists from an earlier claim): the room lives on A.
  auto gw = a_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  auto player = invited(*a_, key_, "02:5a:00:00:00:01", "00000000000000a1");
  ASSERT_NE(player, nullptr);
  ASSERT_TRUE(player->next<ctrl::Welcome>());
  gw->connection().close(0, "restart");  // the host's gateway restarts...
  ASSERT_TRUE(a_->run_until([&] { return a_->relay().rooms().peer_count() == 1; }));

  // ...with a link naming B: the live lease is not taken over, the gateway follows the room.
  auto moved = b_->connect();
  ASSERT_NE(moved, nullptr);
  ASSERT_TRUE(moved->send_hello(claim_hello(*moved, key_, "ROOM1", "00:11:22:33:44:55")));
  EXPECT_TRUE(redirected_to(*moved, kRelayA));
  EXPECT_EQ(home_of(*server_, "ROOM1")->address, kRelayA);
}

TEST_F(TwoRelays, AnEmptiedRoomIsGivenUpAndHomedWhereTheNextPeerComes) {
  auto gw = a_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  gw->connection().close(0, "bye");
  ASSERT_TRUE(a_->run_until([&] { return a_->relay().homed_count() == 0; }));
  // The release reached Redis: nobody serves the room.
  ASSERT_TRUE(a_->run_until([&] { return !home_of(*server_, "ROOM1"); }));

  auto back = b_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(home_of(*server_, "ROOM1")->address, kRelayB);
}

TEST_F(TwoRelays, ARelayThatShutsDownGivesItsRoomsUpAtOnce) {
  auto gw = a_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  a_->relay().shutdown();
  EXPECT_TRUE(gw->wait_closed());
  gw.reset();  // a peer lives on its relay's loop
  a_.reset();  // the worker runs the unregister before it stops
  EXPECT_FALSE(home_of(*server_, "ROOM1"));
  // Well within the lease: the next relay homes the room at once.
  auto back = b_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(back, nullptr);
}

TEST_F(TwoRelays, ADeadRelaysRoomIsReHomedOnceItsLeaseRunsOut) {
  auto gw = a_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  // A dies without a word (no shutdown, no unregister): like kill -9, its refreshes stop.
  gw.reset();
  a_.reset();
  ASSERT_TRUE(home_of(*server_, "ROOM1"));  // the lease holds until it runs out...

  auto early = invited(*b_, key_, "02:5a:00:00:00:01", "00000000000000a1");
  ASSERT_NE(early, nullptr);
  EXPECT_TRUE(redirected_to(*early, kRelayA));  // ...and B still sends peers there

  std::this_thread::sleep_for(kLease + 200ms);
  auto player = invited(*b_, key_, "02:5a:00:00:00:01", "00000000000000a1");
  ASSERT_NE(player, nullptr);
  ASSERT_TRUE(player->next<ctrl::Welcome>());
  EXPECT_EQ(home_of(*server_, "ROOM1")->address, kRelayB);
  EXPECT_EQ(b_->relay().totals().rooms_homed, 1u);
}

TEST_F(TwoRelays, LeasesAreRefreshedWhileTheRoomLives) {
  auto gw = a_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  // Three leases long: A's refreshes keep the room; B keeps redirecting to it.
  const auto until = std::chrono::steady_clock::now() + 3 * kLease;
  (void)a_->run_until([&] { return std::chrono::steady_clock::now() >= until; }, 3 * kLease + 1s);
  ASSERT_FALSE(gw->closed());
  auto player = invited(*b_, key_, "02:5a:00:00:00:01", "00000000000000a1");
  ASSERT_NE(player, nullptr);
  EXPECT_TRUE(redirected_to(*player, kRelayA));
  EXPECT_EQ(a_->relay().totals().homing_errors, 0u);
}

// Another relay takes a room's lease while its relay cannot refresh it (Redis or the relay
// unreachable for longer than the lease; here the key is simply overwritten): at its next
// refresh the old relay closes the room's peers, the gateway whose claim it is still writing
// among them, so that all of them reconnect and are sent to the room's new relay.
TEST_F(TwoRelays, ARoomThatMovedAwayLosesItsPeersHereEvenAGatewayStillClaiming) {
  if (std::system("command -v redis-cli >/dev/null") != 0) GTEST_SKIP() << "no redis-cli";
  auto gate = std::make_shared<ClaimGate>();
  a_.reset();
  a_ = start_relay(*server_, kRelayA, gate);
  ASSERT_NE(a_, nullptr);
  auto gw = a_->join_gateway(key_, "ROOM1", "00:11:22:33:44:55");
  ASSERT_NE(gw, nullptr);
  auto player = invited(*a_, key_, "02:5a:00:00:00:01", "00000000000000a1");
  ASSERT_NE(player, nullptr);
  ASSERT_TRUE(player->next<ctrl::Welcome>());
  gw->connection().close(0, "restart");  // the host's gateway restarts: the player holds the room
  ASSERT_TRUE(a_->run_until([&] { return a_->relay().rooms().peer_count() == 1; }));

  // The gateway is back; its claim is being written when the room moves.
  gate->hold = true;
  auto back = a_->connect();
  ASSERT_NE(back, nullptr);
  ASSERT_TRUE(back->send_hello(claim_hello(*back, key_, "ROOM1", "00:11:22:33:44:55")));
  ASSERT_TRUE(a_->run_until([&] { return gate->held.size() == 1; }));
  const std::string take_over = fmt::format("redis-cli -s {} SET {}:home:ROOM1 {} >/dev/null",
                                            server_->socket_path(), kHomingPrefix, kRelayB);
  ASSERT_EQ(std::system(take_over.c_str()), 0);
  ASSERT_TRUE(a_->run_until([&] { return a_->relay().totals().rooms_moved == 1; }, 3s));

  // The player is told and closed; the claiming gateway is closed before any welcome.
  EXPECT_TRUE(player->next<ctrl::Disconnect>());
  const quic::CloseInfo* closed = back->wait_closed();
  ASSERT_NE(closed, nullptr);
  EXPECT_EQ(closed->code, ctrl::app_error::kShutdown);
  gate->release();  // the claim's answer comes after all
  (void)a_->run_until([] { return false; }, 200ms);
  EXPECT_FALSE(back->next<ctrl::Welcome>(0ms));
  EXPECT_TRUE(a_->run_until([&] { return a_->relay().rooms().find_room("ROOM1") == nullptr; }));
  EXPECT_EQ(a_->relay().homed_count(), 0u);
}

TEST(RelayAdvertise, ARedisDirectoryNeedsAnAdvertisedAddressAndChecksIt) {
  const auto missing = apps::testing::run_process(
      LANPARTY_RELAY_BINARY, {"--directory", "redis://127.0.0.1:1/0", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(missing.exit_code);
  EXPECT_NE(*missing.exit_code, 0);
  EXPECT_THAT(missing.output, HasSubstr("--directory redis:// needs --advertise HOST:PORT"));

  const auto bad = apps::testing::run_process(
      LANPARTY_RELAY_BINARY, {"--directory", "redis://127.0.0.1:1/0", "--advertise", "relay-2"});
  ASSERT_TRUE(bad.exit_code);
  EXPECT_NE(*bad.exit_code, 0);
  EXPECT_THAT(bad.output, HasSubstr("--advertise"));
  EXPECT_THAT(bad.output, HasSubstr("HOST:PORT"));

  const auto alone = apps::testing::run_process(
      LANPARTY_RELAY_BINARY, {"--advertise", "relay-2.example:4433", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(alone.exit_code);
  EXPECT_NE(*alone.exit_code, 0);
  EXPECT_THAT(alone.output, HasSubstr("--advertise only applies to a relay of a cluster"));
}

TEST(RelayAdvertise, ASecondRelayWithALiveRelaysAddressRefusesToStart) {
  if (directory::testing_support::redis_server_binary().empty()) {
    GTEST_SKIP() << directory::testing_support::kNoRedisMessage;
  }
  RedisServer server;
  ASSERT_TRUE(server.ok());
  apps::testing::ScratchDir dir_a;
  apps::testing::ScratchDir dir_b;
  const auto args = [&](const apps::testing::ScratchDir& dir) {
    return std::vector<std::string>{"--listen",           "127.0.0.1:0",
                                    "--dev-cert-der-out", (dir.path() / "relay.der").string(),
                                    "--dev-cert-name",    "localhost",
                                    "--state-dir",        dir.path().string(),
                                    "--directory",        "redis+unix://" + server.socket_path(),
                                    "--advertise",        "relay-a.test:4433"};
  };
  apps::testing::ChildProcess first(LANPARTY_RELAY_BINARY, args(dir_a));
  ASSERT_TRUE(first.wait_for_output("relay.listening", 10s)) << first.output();

  // The same --advertise while the first one lives: it waits out one liveness time (the first
  // keeps refreshing) and refuses.
  const auto started = std::chrono::steady_clock::now();
  const auto second = apps::testing::run_process(LANPARTY_RELAY_BINARY, args(dir_b), 15s);
  ASSERT_TRUE(second.exit_code) << second.output;
  EXPECT_NE(*second.exit_code, 0);
  EXPECT_THAT(second.output, HasSubstr("relay.advertise_in_use"));
  EXPECT_THAT(second.output, HasSubstr("--advertise relay-a.test:4433: relay relay-a.test:4433 "
                                       "is already registered in this cluster by another live "
                                       "relay process"));
  EXPECT_LE(std::chrono::steady_clock::now() - started, directory::kDefaultRelayLiveness + 5s);

  // kill -9 of the first, and a restart on its address at once (systemd's Restart=): its old
  // registration lapses within the liveness time, then this one starts.
  first.send_signal(SIGKILL);
  (void)first.wait_exit(5s);
  apps::testing::ChildProcess restarted(LANPARTY_RELAY_BINARY, args(dir_b));
  ASSERT_TRUE(restarted.wait_for_output("relay.listening", 15s)) << restarted.output();
  EXPECT_THAT(restarted.output(), HasSubstr("relay.advertise_in_use"));
}

TEST(RelayDirectoryTls, ARelayUsesRedisOverTlsAndRefusesAnUntrustedServer) {
  namespace ts = directory::testing_support;
  if (ts::redis_server_binary().empty()) GTEST_SKIP() << ts::kNoRedisMessage;
  if (!ts::redis_has_tls()) GTEST_SKIP() << "this redis-server was built without TLS";
  if (!ts::have_openssl()) GTEST_SKIP() << "no openssl command to make test certificates";
  apps::testing::ScratchDir certs;
  apps::testing::ScratchDir other;
  ASSERT_TRUE(ts::make_tls_certificates(certs.path(), "lanparty-test-ca"));
  ASSERT_TRUE(ts::make_tls_certificates(other.path(), "some-other-ca"));
  RedisServer server(ts::RedisTlsFiles{.cert_file = (certs.path() / "server.pem").string(),
                                       .key_file = (certs.path() / "server.key").string()});
  ASSERT_TRUE(server.ok());
  apps::testing::ScratchDir state;
  const auto args = [&](const std::filesystem::path& ca) {
    return std::vector<std::string>{"--listen",
                                    "127.0.0.1:0",
                                    "--dev-cert-der-out",
                                    (state.path() / "relay.der").string(),
                                    "--dev-cert-name",
                                    "localhost",
                                    "--state-dir",
                                    state.path().string(),
                                    "--directory",
                                    fmt::format("rediss://127.0.0.1:{}/0", server.tls_port()),
                                    "--directory-ca-file",
                                    ca.string(),
                                    "--advertise",
                                    "relay-a.test:4433"};
  };
  {
    apps::testing::ChildProcess relay(LANPARTY_RELAY_BINARY, args(certs.path() / "ca.pem"));
    ASSERT_TRUE(relay.wait_for_output("relay.listening", 10s)) << relay.output();
    EXPECT_THAT(relay.output(), HasSubstr("rediss://127.0.0.1:"));
    // It registered over TLS: the plain unix socket of the same server shows it.
    auto homing = directory::RedisRoomHoming::open(
        {.endpoint = server.endpoint(), .prefix = "lanparty", .relay_id = "observer"});
    ASSERT_TRUE(homing);
    auto relays = (*homing)->relays();
    ASSERT_TRUE(relays) << relays.error().describe();
    ASSERT_EQ(relays->size(), 1u);
    EXPECT_EQ(relays->front().address, "relay-a.test:4433");
  }
  const auto untrusted =
      apps::testing::run_process(LANPARTY_RELAY_BINARY, args(other.path() / "ca.pem"));
  ASSERT_TRUE(untrusted.exit_code) << untrusted.output;
  EXPECT_NE(*untrusted.exit_code, 0);
  EXPECT_THAT(untrusted.output, HasSubstr("certificate does not verify"));

  auto plain = args(certs.path() / "ca.pem");
  plain[9] = "redis+unix://" + server.socket_path();
  const auto misplaced = apps::testing::run_process(LANPARTY_RELAY_BINARY, plain);
  ASSERT_TRUE(misplaced.exit_code);
  EXPECT_NE(*misplaced.exit_code, 0);
  EXPECT_THAT(misplaced.output, HasSubstr("--directory-ca-file only applies to --directory "
                                          "rediss://"));
}

}  // namespace
}  // namespace lanparty::relay::testing
