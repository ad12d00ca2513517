// SPDX-License-Identifier: MIT
// The per-datagram path (send_datagram -> flush -> socket -> receive -> on_datagram) makes no
// C++ heap allocation once warmed up. Counts operator new calls in this test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "test_support.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace lanparty::quic::testing {
namespace {

// Counts and echoes without storing anything.
class CountingHandler : public ConnectionHandler {
 public:
  explicit CountingHandler(bool echo) : echo_(echo) {}
  void on_handshake_completed(Connection& c) override { connection = &c; }
  void on_stream_data(Connection&, std::int64_t, std::span<const std::uint8_t>, bool) override {}
  void on_datagram(Connection& c, std::span<const std::uint8_t> payload) override {
    ++datagrams;
    if (echo_) (void)c.send_datagram(payload);
  }
  void on_closed(Connection&, const CloseInfo&) override { closed = true; }
  Connection* connection = nullptr;
  std::uint64_t datagrams = 0;
  bool closed = false;

 private:
  bool echo_;
};

TEST(SteadyState, DatagramEchoMakesNoHeapAllocation) {
  auto loop = io::EventLoop::create();
  ASSERT_TRUE(loop.has_value());
  TempDir dir;
  auto certificate = generate_self_signed("localhost");
  ASSERT_TRUE(certificate.has_value());
  ASSERT_TRUE(write_der(*certificate, dir.file("c.der")).has_value());
  CountingHandler server_handler(true);
  ServerConfig server_config;
  server_config.listen = "127.0.0.1:0";
  server_config.certificate = *certificate;
  auto server = Server::create(**loop, server_config, server_handler, {});
  ASSERT_TRUE(server.has_value());
  CountingHandler client_handler(false);
  ClientConfig client_config;
  client_config.host = "127.0.0.1";
  client_config.port = (*server)->local_address().port();
  client_config.server_name = "localhost";
  client_config.trust.pinned_der = dir.file("c.der");
  auto client = Client::connect(**loop, client_config, client_handler, {});
  ASSERT_TRUE(client.has_value());
  Connection& c = (*client)->connection();
  const std::function<bool()> connected = [&] { return client_handler.connection != nullptr; };
  ASSERT_TRUE((*loop)->run_until(connected, 5s).has_value());

  const std::vector<std::uint8_t> payload(1000, 0x42);
  std::uint64_t target = 0;
  const std::function<bool()> echoed = [&] { return client_handler.datagrams >= target; };
  const auto round = [&] {
    for (int i = 0; i < 32; ++i) ASSERT_TRUE(c.send_datagram(payload).has_value());
    target += 32;
    ASSERT_TRUE((*loop)->run_until(echoed, 5s).has_value());
  };
  // Warm up: queue slots, socket batches, timer heap, vectors reach their working size.
  for (int i = 0; i < 50; ++i) round();

  // The counter itself works.
  g_allocations = 0;
  g_counting = true;
  auto probe = std::make_unique<int>(1);
  g_counting = false;
  ASSERT_EQ(g_allocations.load(), 1u);

  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 50; ++i) round();
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0u) << "allocations over 1600 echoed datagrams";
  EXPECT_FALSE(client_handler.closed);
}

}  // namespace
}  // namespace lanparty::quic::testing
