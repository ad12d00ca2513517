// SPDX-License-Identifier: MIT
// Connection::export_keying_material over real loopback handshakes: both ends agree, labels and
// connections separate, an independent RFC 8446 derivation from the key log agrees.
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "test_support.hpp"

namespace lanparty::quic::testing {
namespace {

constexpr std::string_view kClaimLabel = "EXPORTER-lanparty-room-claim";
using Exported = std::array<std::uint8_t, 32>;

class ExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = io::EventLoop::create();
    ASSERT_TRUE(loop.has_value());
    loop_ = std::move(*loop);
  }

  [[nodiscard]] bool run_until(const std::function<bool()>& done) {
    return loop_->run_until(done, 5s).has_value();
  }

  // A server and one client per entry of clients, all handshakes completed.
  void connect(std::size_t clients) {
    server_ = start_server(*loop_, dir_);
    ASSERT_TRUE(server_);
    for (std::size_t i = 0; i < clients; ++i) {
      clients_.push_back(connect_client(*loop_, *server_));
      ASSERT_TRUE(clients_.back());
    }
    ASSERT_TRUE(run_until([&] {
      return server_->handler.handshakes == clients &&
             std::ranges::all_of(clients_,
                                 [](const auto& c) { return c->handler.handshakes == 1; });
    })) << "timed out";
  }

  static Exported exported(const Connection& connection, std::string_view label) {
    auto bytes = connection.export_keying_material(label);
    EXPECT_TRUE(bytes.has_value()) << (bytes ? "" : bytes.error().describe());
    return bytes ? *bytes : Exported{};
  }

  std::unique_ptr<io::EventLoop> loop_;
  TempDir dir_;
  std::unique_ptr<TestServer> server_;
  std::vector<std::unique_ptr<TestClient>> clients_;
};

TEST_F(ExporterTest, BothEndsExportTheSameBytes) {
  connect(1);
  const Exported client = exported(clients_[0]->client->connection(), kClaimLabel);
  const Exported server = exported(*server_->handler.open.front(), kClaimLabel);
  EXPECT_EQ(client, server);
  EXPECT_NE(client, Exported{});
  // Asking again changes nothing.
  EXPECT_EQ(exported(clients_[0]->client->connection(), kClaimLabel), client);
}

TEST_F(ExporterTest, AnotherLabelGivesOtherBytes) {
  connect(1);
  const Connection& connection = clients_[0]->client->connection();
  const Exported claim = exported(connection, kClaimLabel);
  const Exported other = exported(connection, "EXPORTER-lanparty-something-else");
  EXPECT_NE(claim, other);
  EXPECT_EQ(other, exported(*server_->handler.open.front(), "EXPORTER-lanparty-something-else"));
}

TEST_F(ExporterTest, EachConnectionHasItsOwnBytes) {
  connect(2);
  const Exported first = exported(clients_[0]->client->connection(), kClaimLabel);
  const Exported second = exported(clients_[1]->client->connection(), kClaimLabel);
  EXPECT_NE(first, second);
  std::vector<Exported> server_side;
  for (const Connection* c : server_->handler.open)
    server_side.push_back(exported(*c, kClaimLabel));
  ASSERT_EQ(server_side.size(), 2u);
  EXPECT_NE(std::ranges::find(server_side, first), server_side.end());
  EXPECT_NE(std::ranges::find(server_side, second), server_side.end());
}

TEST_F(ExporterTest, FailsUntilTheHandshakeCompletes) {
  server_ = start_server(*loop_, dir_);
  ASSERT_TRUE(server_);
  auto client = connect_client(*loop_, *server_);
  ASSERT_TRUE(client);
  auto early = client->client->connection().export_keying_material(kClaimLabel);
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code, Errc::kWouldBlock);
  ASSERT_TRUE(run_until([&] { return client->handler.handshakes == 1; })) << "timed out";
  EXPECT_TRUE(client->client->connection().export_keying_material(kClaimLabel).has_value());
}

TEST_F(ExporterTest, RefusesEmptyAndOverlongLabels) {
  connect(1);
  const Connection& connection = clients_[0]->client->connection();
  for (const std::string& label : {std::string(), std::string(64, 'x')}) {
    auto r = connection.export_keying_material(label);
    ASSERT_FALSE(r.has_value()) << label.size();
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  }
  EXPECT_TRUE(connection.export_keying_material(std::string(63, 'x')).has_value());
}

TEST_F(ExporterTest, ClosedClientConnectionEventuallyRefuses) {
  connect(1);
  Connection& connection = clients_[0]->client->connection();
  connection.close(0, "done");
  // The closing period ends with the TLS state freed; then kClosed, never a crash.
  ASSERT_TRUE(run_until([&] {
    auto r = connection.export_keying_material(kClaimLabel);
    return !r.has_value() && r.error().code == Errc::kClosed;
  })) << "timed out";
}

// --- the same bytes derived independently (RFC 8446 section 7.5) from the key log ------------

// SSLKEYLOGFILE while the server and client are created (they read it then).
class ScopedKeyLog {
 public:
  explicit ScopedKeyLog(const std::filesystem::path& path) {
    ::setenv("SSLKEYLOGFILE", path.c_str(), 1);
  }
  ~ScopedKeyLog() { ::unsetenv("SSLKEYLOGFILE"); }
  ScopedKeyLog(const ScopedKeyLog&) = delete;
  ScopedKeyLog& operator=(const ScopedKeyLog&) = delete;
};

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// HKDF-Expand-Label (RFC 8446 section 7.1), for outputs of at most one hash block: HKDF-Expand
// (RFC 5869) is then T(1) = HMAC(secret, HkdfLabel || 0x01), cut to length.
std::vector<std::uint8_t> expand_label(gnutls_mac_algorithm_t mac, std::size_t hash_bytes,
                                       std::span<const std::uint8_t> secret, std::string_view label,
                                       std::span<const std::uint8_t> context, std::size_t length) {
  const std::string full_label = "tls13 " + std::string(label);
  std::vector<std::uint8_t> info = {static_cast<std::uint8_t>(length >> 8),
                                    static_cast<std::uint8_t>(length & 0xff),
                                    static_cast<std::uint8_t>(full_label.size())};
  info.insert(info.end(), full_label.begin(), full_label.end());
  info.push_back(static_cast<std::uint8_t>(context.size()));
  info.insert(info.end(), context.begin(), context.end());
  info.push_back(0x01);
  std::vector<std::uint8_t> block(hash_bytes);
  EXPECT_EQ(
      gnutls_hmac_fast(mac, secret.data(), secret.size(), info.data(), info.size(), block.data()),
      0);
  block.resize(length);
  return block;
}

TEST_F(ExporterTest, MatchesAnIndependentRfc8446DerivationFromTheKeyLog) {
  const auto log_path = dir_.file("keys.log");
  {
    ScopedKeyLog keylog(log_path);
    server_ = start_server(*loop_, dir_);
    ASSERT_TRUE(server_);
    clients_.push_back(connect_client(*loop_, *server_));
    ASSERT_TRUE(clients_.back());
  }
  ASSERT_TRUE(run_until([&] {
    return server_->handler.handshakes == 1 && clients_[0]->handler.handshakes == 1;
  })) << "timed out";

  // Both sessions log "EXPORTER_SECRET <client random> <exporter_master_secret>".
  std::ifstream log(log_path);
  std::string line;
  std::vector<std::uint8_t> secret;
  while (std::getline(log, line)) {
    std::istringstream fields(line);
    std::string name, random, hex;
    fields >> name >> random >> hex;
    if (name != "EXPORTER_SECRET") continue;
    if (secret.empty()) secret = from_hex(hex);
    EXPECT_EQ(from_hex(hex), secret) << "client and server logged different exporter secrets";
  }
  ASSERT_FALSE(secret.empty()) << "no EXPORTER_SECRET in " << log_path;

  // The suite's hash: SHA-256 (AES-128-GCM, ChaCha20) or SHA-384 (AES-256-GCM).
  const bool sha384 = secret.size() == 48;
  ASSERT_TRUE(secret.size() == 32 || sha384) << secret.size();
  const auto mac = sha384 ? GNUTLS_MAC_SHA384 : GNUTLS_MAC_SHA256;
  const auto digest = sha384 ? GNUTLS_DIG_SHA384 : GNUTLS_DIG_SHA256;
  std::vector<std::uint8_t> empty_hash(secret.size());
  ASSERT_EQ(gnutls_hash_fast(digest, "", 0, empty_hash.data()), 0);

  // TLS-Exporter(label, "", 32) =
  //   HKDF-Expand-Label(Derive-Secret(secret, label, ""), "exporter", Hash(""), 32)
  const auto derived =
      expand_label(mac, secret.size(), secret, kClaimLabel, empty_hash, secret.size());
  const auto expected = expand_label(mac, secret.size(), derived, "exporter", empty_hash, 32);

  const Exported client = exported(clients_[0]->client->connection(), kClaimLabel);
  EXPECT_EQ(std::vector<std::uint8_t>(client.begin(), client.end()), expected);
  const Exported server = exported(*server_->handler.open.front(), kClaimLabel);
  EXPECT_EQ(server, client);
}

}  // namespace
}  // namespace lanparty::quic::testing
