// SPDX-License-Identifier: MIT
// rediss:// against a real redis-server with a TLS port: a test CA signs the server's
// certificate (made with the openssl command, as an operator would); the room records and the
// homing work over TLS, a connection survives a server restart, and a wrong CA or name is
// refused with a sentence that says so.
#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/directory/redis_room_directory.hpp"
#include "lanparty/directory/redis_room_homing.hpp"
#include "redis_server.hpp"
#include "temp_dir.hpp"

namespace lanparty::directory {
namespace {

using namespace std::chrono_literals;
using testing_support::RedisServer;
using testing_support::RedisTlsFiles;

const Seconds kNow{std::chrono::seconds(1'800'000'000)};

class RedisTls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing_support::redis_server_binary().empty()) {
      GTEST_SKIP() << testing_support::kNoRedisMessage;
    }
    if (!testing_support::redis_has_tls()) {
      GTEST_SKIP() << "this redis-server was built without TLS";
    }
    if (!testing_support::have_openssl()) {
      GTEST_SKIP() << "no openssl command to make test certificates";
    }
    ASSERT_TRUE(testing_support::make_tls_certificates(certs_.path(), "lanparty-test-ca"))
        << "see " << certs_.path() / "openssl.log";
    ASSERT_TRUE(testing_support::make_tls_certificates(other_.path(), "some-other-ca"));
    server_ = std::make_unique<RedisServer>(
        RedisTlsFiles{.cert_file = (certs_.path() / "server.pem").string(),
                      .key_file = (certs_.path() / "server.key").string()});
    ASSERT_TRUE(server_->ok());
  }
  [[nodiscard]] RedisEndpoint endpoint() const {
    return server_->tls_endpoint((certs_.path() / "ca.pem").string());
  }
  [[nodiscard]] Result<std::unique_ptr<RedisRoomDirectory>> open(RedisEndpoint e) const {
    return RedisRoomDirectory::open(
        RedisDirectoryConfig{.endpoint = std::move(e), .prefix = "tls", .limits = {}});
  }

  // Opens the records (which talks to the server) and looks a room up: the first error.
  [[nodiscard]] Status open_and_look_up(RedisEndpoint e) const {
    auto records = open(std::move(e));
    if (!records) return fail(records.error().code, records.error().context);
    auto found = (*records)->lookup("ROOM1", kNow);
    if (!found) return fail(found.error().code, found.error().context);
    return ok();
  }

  static inline testing_support::TempDir certs_;
  testing_support::TempDir other_;
  std::unique_ptr<RedisServer> server_;
};

const OwnerKey kOwner = [] {
  OwnerKey k{};
  k.fill(7);
  return k;
}();

TEST_F(RedisTls, RoomRecordsAndHomingWorkOverTls) {
  auto records = open(endpoint());
  ASSERT_TRUE(records) << records.error().describe();
  auto claimed = (*records)->claim("ROOM1", kOwner, kNow);
  ASSERT_TRUE(claimed) << claimed.error().describe();
  EXPECT_EQ(*claimed, ClaimOutcome::kClaimed);
  auto found = (*records)->lookup("ROOM1", kNow);
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->owner_key, kOwner);

  auto homing = RedisRoomHoming::open({.endpoint = endpoint(), .prefix = "tls", .relay_id = "a"});
  ASSERT_TRUE(homing);
  ASSERT_TRUE((*homing)->register_relay("a:4433", 0, 10s));
  auto home = (*homing)->home("ROOM1", 10s);
  ASSERT_TRUE(home) << home.error().describe();
  EXPECT_TRUE(home->mine);
}

TEST_F(RedisTls, ReconnectsAfterAServerRestart) {
  auto records = open(endpoint());
  ASSERT_TRUE(records);
  ASSERT_TRUE((*records)->claim("ROOM1", kOwner, kNow));
  server_->restart(/*hard=*/false);
  ASSERT_TRUE(server_->ok());
  // The old TLS connection is dead; the call reconnects and runs (no AOF: the record is gone).
  auto found = (*records)->lookup("ROOM1", kNow);
  ASSERT_TRUE(found) << found.error().describe();
  EXPECT_FALSE(found->has_value());
}

TEST_F(RedisTls, RefusesAServerCertificateFromAnotherCa) {
  Status refused = open_and_look_up(server_->tls_endpoint((other_.path() / "ca.pem").string()));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(Errc::kTlsError));
  EXPECT_NE(refused.error().context.find("does not verify"), std::string::npos)
      << refused.error().context;
}

TEST_F(RedisTls, RefusesACertificateForAnotherName) {
  RedisEndpoint e = endpoint();
  e.tls_server_name = "not-redis.test";
  Status refused = open_and_look_up(e);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, make_error_code(Errc::kTlsError));
  e.tls_server_name = "redis.test";  // the DNS name the certificate carries
  Status named = open_and_look_up(e);
  EXPECT_TRUE(named) << named.error().describe();
}

TEST_F(RedisTls, ACaFileWithoutCertificatesIsAClearError) {
  const auto empty = certs_.path() / "empty.pem";
  std::ofstream(empty) << "not a certificate\n";
  Status refused = open_and_look_up(server_->tls_endpoint(empty.string()));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().context.find("holds no PEM certificate"), std::string::npos)
      << refused.error().context;
}

TEST_F(RedisTls, APlainConnectionToTheTlsPortFails) {
  RedisEndpoint e = endpoint();
  e.tls = false;
  EXPECT_FALSE(open_and_look_up(e));
}

}  // namespace
}  // namespace lanparty::directory
