// SPDX-License-Identifier: MIT
// The relay binary as an operator drives it: SIGHUP after a certificate renewal (new
// handshakes get the new certificate, the room and its connections stay), and
// `lanparty-relay status` against the running relay and a stopped one.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include "child_process.hpp"
#include "lanparty/quic/certificate.hpp"
#include "relay_harness.hpp"
#include "relay_test_support.hpp"
#include "run_process.hpp"

namespace lanparty::relay::testing {
namespace {

using apps::testing::ChildProcess;
using apps::testing::run_process;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr auto kStartWait = 10s;

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// A certificate as the relay's files: chain and key PEM, and the DER a client pins.
struct CertFiles {
  quic::CertificateKey key;
  std::filesystem::path der;
};
CertFiles make_certificate(const std::filesystem::path& dir, const std::string& name) {
  auto made = quic::generate_self_signed("localhost");
  EXPECT_TRUE(made) << made.error().describe();
  CertFiles files{.key = std::move(*made), .der = dir / (name + ".der")};
  EXPECT_TRUE(succeeded(quic::write_der(files.key, files.der)));
  return files;
}

// The relay's UDP port, from its relay.listening line.
std::uint16_t listening_port(const std::string& output) {
  static const std::regex kListen(R"(relay\.listening.*listen=[0-9.]+:([0-9]+))");
  std::smatch match;
  if (!std::regex_search(output, match, kListen)) return 0;
  return static_cast<std::uint16_t>(std::stoi(match[1].str()));
}

// A client that records how its handshake ended.
class HandshakeWatcher final : public quic::ConnectionHandler {
 public:
  void on_handshake_completed(quic::Connection& /*c*/) override { completed = true; }
  void on_stream_data(quic::Connection&, std::int64_t, std::span<const std::uint8_t>,
                      bool) override {}
  void on_datagram(quic::Connection&, std::span<const std::uint8_t>) override {}
  void on_closed(quic::Connection& /*c*/, const quic::CloseInfo& info) override { close = info; }
  bool completed = false;
  std::optional<quic::CloseInfo> close;
};

class RelayOperations : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--config",
                                  "",
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--rooms",
                                  "open",
                                  "--cert",
                                  cert_pem_.string(),
                                  "--key",
                                  key_pem_.string(),
                                  "--control-socket",
                                  socket_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    relay_ = std::make_unique<ChildProcess>(LANPARTY_RELAY_BINARY, args);
    ASSERT_TRUE(relay_->started());
    ASSERT_TRUE(relay_->wait_for_output("relay.listening", kStartWait)) << relay_->output();
    ASSERT_TRUE(relay_->wait_for_output("peer_broadcast_rate", kStartWait)) << relay_->output();
    port_ = listening_port(relay_->output());
    ASSERT_NE(port_, 0) << relay_->output();
  }
  void install(const CertFiles& cert) {
    write_text(cert_pem_, cert.key.cert_chain_pem);
    write_text(key_pem_, cert.key.key_pem);
  }
  // SIGHUP, then the log line that says how it went (counted from before the signal).
  [[nodiscard]] bool reload_and_wait(std::string_view outcome) {
    const std::size_t before = relay_->output().size();
    relay_->send_signal(SIGHUP);
    return relay_->wait_for_output(outcome, kStartWait, before);
  }

  TempDir dir_;
  std::filesystem::path cert_pem_ = dir_.path() / "relay.pem";
  std::filesystem::path key_pem_ = dir_.path() / "relay.key.pem";
  std::filesystem::path socket_ = dir_.path() / "ctl.sock";
  std::unique_ptr<ChildProcess> relay_;
  std::uint16_t port_ = 0;
  std::unique_ptr<io::EventLoop> loop_ = std::move(*io::EventLoop::create());
};

TEST_F(RelayOperations, SighupPresentsTheRenewedCertificateAndKeepsTheRoom) {
  const CertFiles a = make_certificate(dir_.path(), "a");
  const CertFiles b = make_certificate(dir_.path(), "b");
  install(a);
  ASSERT_NO_FATAL_FAILURE(start());

  auto gateway = TestPeer::connect(*loop_, port_, a.der);
  ASSERT_TRUE(gateway && gateway->join(hello_json("gateway", "ROOM1", "02:5a:00:00:00:01")));
  auto client = TestPeer::connect(*loop_, port_, a.der);
  ASSERT_TRUE(client && client->join(hello_json("client", "ROOM1", "02:5a:00:00:00:02")));

  install(b);
  ASSERT_TRUE(reload_and_wait("relay.certificate_reloaded")) << relay_->output();

  // The connections made with A still carry frames, both ways.
  const auto to_gateway = frame(mac("ff:ff:ff:ff:ff:ff"), mac("02:5a:00:00:00:02"), 0x88b5);
  ASSERT_TRUE(succeeded(client->send_frame(to_gateway)));
  EXPECT_TRUE(gateway->run_until([&] { return !gateway->frames().empty(); }));
  const auto to_client = frame(mac("02:5a:00:00:00:02"), mac("02:5a:00:00:00:99"), 0x88b5);
  ASSERT_TRUE(succeeded(gateway->send_frame(to_client)));
  EXPECT_TRUE(client->run_until([&] { return !client->frames().empty(); }));
  EXPECT_FALSE(gateway->closed());
  EXPECT_FALSE(client->closed());

  // A new player pinned to B gets in and joins the same room.
  auto renewed = TestPeer::connect(*loop_, port_, b.der);
  ASSERT_TRUE(renewed && renewed->join(hello_json("client", "ROOM1", "02:5a:00:00:00:03")));
  EXPECT_EQ(renewed->welcome().peers.size(), 2u);

  // One still pinned to A is refused by its own pin check.
  HandshakeWatcher watcher;
  quic::ClientConfig config;
  config.host = "127.0.0.1";
  config.port = port_;
  config.server_name = "localhost";
  config.trust.pinned_der = a.der;
  auto stale = quic::Client::connect(*loop_, config, watcher, obs::Logger{});
  ASSERT_TRUE(stale) << stale.error().describe();
  EXPECT_TRUE(client->run_until([&] { return watcher.close.has_value(); }));
  EXPECT_FALSE(watcher.completed);
  ASSERT_TRUE(watcher.close && watcher.close->handshake_failure);
  EXPECT_EQ(*watcher.close->handshake_failure, obs::HandshakeFailure::kPinMismatch)
      << watcher.close->reason;
}

TEST_F(RelayOperations, ABadRenewedCertificateIsLoggedAndTheOldOneStays) {
  const CertFiles a = make_certificate(dir_.path(), "a");
  install(a);
  ASSERT_NO_FATAL_FAILURE(start());
  auto gateway = TestPeer::connect(*loop_, port_, a.der);
  ASSERT_TRUE(gateway && gateway->join(hello_json("gateway", "ROOM1", "02:5a:00:00:00:01")));

  write_text(cert_pem_, "-----BEGIN CERTIFICATE-----\nnot a certificate\n");
  ASSERT_TRUE(reload_and_wait("relay.reload_failed")) << relay_->output();
  EXPECT_THAT(relay_->output(), HasSubstr(cert_pem_.string()));
  EXPECT_THAT(relay_->output(), HasSubstr("keeps presenting its previous certificate"));

  // Still A, for the peer already there and for a new one.
  EXPECT_TRUE(gateway->probe_fence());
  auto again = TestPeer::connect(*loop_, port_, a.der);
  ASSERT_TRUE(again && again->join(hello_json("client", "ROOM1", "02:5a:00:00:00:02")));

  // A reload after the files are fixed works again.
  const CertFiles b = make_certificate(dir_.path(), "b");
  install(b);
  ASSERT_TRUE(reload_and_wait("relay.certificate_reloaded")) << relay_->output();
  EXPECT_TRUE(TestPeer::connect(*loop_, port_, b.der) != nullptr);
}

TEST_F(RelayOperations, StatusListsRoomsPeersAndTopTalkers) {
  const CertFiles a = make_certificate(dir_.path(), "a");
  install(a);
  ASSERT_NO_FATAL_FAILURE(start());
  auto gateway = TestPeer::connect(*loop_, port_, a.der);
  ASSERT_TRUE(gateway && gateway->join(hello_json("gateway", "ROOM1", "02:5a:00:00:00:01")));
  auto client = TestPeer::connect(*loop_, port_, a.der);
  ASSERT_TRUE(client && client->join(hello_json("client", "ROOM1", "02:5a:00:00:00:02")));
  // The client talks most: 20 frames of 1000 bytes to the gateway.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(succeeded(client->send_frame(
        frame(mac("ff:ff:ff:ff:ff:ff"), mac("02:5a:00:00:00:02"), 0x88b5, 1000))));
  }
  ASSERT_TRUE(gateway->run_until([&] { return gateway->frames().size() == 20; }));

  const auto text = run_process(LANPARTY_RELAY_BINARY,
                                {"--config", "", "--control-socket", socket_.string(), "status"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_THAT(text.output, HasSubstr("1 room, 2 peers"));
  EXPECT_THAT(text.output, HasSubstr("Room ROOM1"));
  EXPECT_THAT(text.output, HasSubstr("02:5a:00:00:00:01"));
  EXPECT_THAT(text.output, HasSubstr("02:5a:00:00:00:02"));
  EXPECT_THAT(text.output, HasSubstr("Top talkers"));
  EXPECT_THAT(text.output, HasSubstr("1. client 02:5a:00:00:00:02, room ROOM1 (peer 2): 19 KiB"));
  EXPECT_THAT(text.output, Not(HasSubstr("2. ")));  // the gateway sent nothing

  const auto json = run_process(LANPARTY_RELAY_BINARY, {"--config", "", "--control-socket",
                                                        socket_.string(), "status", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"name\":\"ROOM1\""));
  EXPECT_THAT(json.output, HasSubstr("\"rx_frames\":20"));
  EXPECT_THAT(json.output, HasSubstr("\"role\":\"gateway\""));
}

TEST(RelayStatus, AStoppedRelayExitsThreeWithOneSentence) {
  TempDir dir;
  const auto socket = dir.path() / "ctl.sock";
  const auto result = run_process(LANPARTY_RELAY_BINARY,
                                  {"--config", "", "--control-socket", socket.string(), "status"});
  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_EQ(result.output,
            "lanparty-relay is not running (nothing answers on " + socket.string() + ").\n");
}

}  // namespace
}  // namespace lanparty::relay::testing
