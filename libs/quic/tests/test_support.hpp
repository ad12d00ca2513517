// SPDX-License-Identifier: MIT
// Shared test scaffolding: a recording ConnectionHandler, temp dirs, a test CA built with
// GnuTLS, and helpers that start a server and clients on loopback.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/sinks.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/client.hpp"
#include "lanparty/quic/connection.hpp"
#include "lanparty/quic/server.hpp"

namespace lanparty::quic::testing {

using namespace std::chrono_literals;

// Records every event; optional hooks run after recording.
class Recorder : public ConnectionHandler {
 public:
  struct Closed {
    std::uint64_t id;
    CloseInfo info;
  };

  void on_handshake_completed(Connection& connection) override;
  void on_stream_data(Connection& connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_datagram(Connection& connection, std::span<const std::uint8_t> payload) override;
  void on_closed(Connection& connection, const CloseInfo& info) override;

  std::vector<Connection*> open;  // handshake completed, not closed yet
  std::size_t handshakes = 0;
  std::map<std::uint64_t, std::vector<std::uint8_t>> stream_bytes;  // by connection id
  std::map<std::uint64_t, bool> stream_fin;
  std::vector<std::vector<std::uint8_t>> datagrams;
  std::vector<Closed> closed;
  std::vector<std::string> order;  // "handshake", "stream", "fin", "datagram", "closed"

  bool echo_streams = false;    // send every stream chunk back, FIN on FIN
  bool echo_datagrams = false;  // send every datagram back
  std::function<void(Connection&)> after_handshake;
  std::function<void(Connection&, std::int64_t, std::span<const std::uint8_t>, bool)> after_stream;
  std::function<void(Connection&, std::span<const std::uint8_t>)> after_datagram;
};

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path file(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A CA and leaves it signs, made with GnuTLS directly (the library only makes self-signed).
struct TestCa {
  std::string ca_pem;
  std::string ca_key_pem;
};
TestCa make_test_ca(std::string_view common_name);
CertificateKey issue_leaf(const TestCa& ca, std::string_view server_name);

// A server on 127.0.0.1:0 (or listen) with a self-signed "localhost" certificate whose DER
// is written to dir/relay.der.
struct TestServer {
  Recorder handler;
  CertificateKey certificate;
  std::filesystem::path der_path;
  std::unique_ptr<Server> server;
};
std::unique_ptr<TestServer> start_server(io::EventLoop& loop, const TempDir& dir,
                                         const std::function<void(ServerConfig&)>& tweak = {},
                                         obs::Logger logger = {});

struct TestClient {
  Recorder handler;
  std::unique_ptr<Client> client;
};
// Pins the server's certificate unless tweak changes the trust.
std::unique_ptr<TestClient> connect_client(io::EventLoop& loop, const TestServer& server,
                                           const std::function<void(ClientConfig&)>& tweak = {},
                                           obs::Logger logger = {});

std::vector<std::uint8_t> pattern_bytes(std::size_t size, std::uint32_t seed);

// A fresh io::EventLoop and scratch directory per test, and ways to run the loop.
class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = io::EventLoop::create();
    ASSERT_TRUE(loop.has_value());
    loop_ = std::move(*loop);
  }
  // Runs the loop until done() holds; false after timeout.
  [[nodiscard]] bool run_until(const std::function<bool()>& done,
                               io::EventLoop::Clock::duration timeout = 5s) {
    return loop_->run_until(done, timeout).has_value();
  }
  void run_for(io::EventLoop::Clock::duration duration) {
    (void)loop_->run_until([] { return false; }, duration);
  }

  std::unique_ptr<io::EventLoop> loop_;
  TempDir dir_;
};

}  // namespace lanparty::quic::testing
