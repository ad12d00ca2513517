// SPDX-License-Identifier: MIT
// One-way and echo DATAGRAM rates (100 and 1200-byte payloads) between a Server and a Client
// in one process on one thread over loopback, with CPU time from getrusage. Usage:
//   lanparty_bench_quic [seconds-per-case]     (LANPARTY_QUIC_NO_GSO=1 compares sendmmsg)
#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lanparty/quic/client.hpp"
#include "lanparty/quic/server.hpp"

namespace lio = lanparty::io;
namespace lq = lanparty::quic;
using namespace std::chrono_literals;

namespace {

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Counts datagrams; echoes them if asked.
class Counter : public lq::ConnectionHandler {
 public:
  explicit Counter(bool echo) : echo_(echo) {}
  void on_stream_data(lq::Connection&, std::int64_t, std::span<const std::uint8_t>, bool) override {
  }
  void on_datagram(lq::Connection& c, std::span<const std::uint8_t> payload) override {
    ++received;
    if (echo_ && !c.send_datagram(payload)) ++echo_failed;
  }
  void on_closed(lq::Connection&, const lq::CloseInfo& info) override {
    std::fprintf(stderr, "connection closed: %s\n", info.reason.c_str());
  }
  std::uint64_t received = 0;
  std::uint64_t echo_failed = 0;

 private:
  bool echo_;
};

struct Measurement {
  double rate = 0;          // datagrams/s delivered to the measuring side
  double cpu_per_wall = 0;  // CPU seconds per wall second (1.0 = one core busy)
  double sent_rate = 0;     // DATAGRAM frames/s the client put into packets
};

template <class T>
T must(lanparty::Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().describe().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

Measurement run_case(std::size_t payload_bytes, bool echo, std::chrono::duration<double> duration,
                     const std::filesystem::path& der, const lq::CertificateKey& certificate) {
  auto loop = must(lio::EventLoop::create(), "loop");
  Counter server_handler(echo);
  lq::ServerConfig server_config;
  server_config.listen = "127.0.0.1:0";
  server_config.certificate = certificate;
  server_config.datagram_queue_slots = 1024;
  auto server = must(lq::Server::create(*loop, server_config, server_handler, {}), "server");

  Counter client_handler(false);
  lq::ClientConfig client_config;
  client_config.host = "127.0.0.1";
  client_config.port = server->local_address().port();
  client_config.server_name = "localhost";
  client_config.trust.pinned_der = der;
  client_config.datagram_queue_slots = 1024;
  auto client = must(lq::Client::connect(*loop, client_config, client_handler, {}), "client");
  lq::Connection& c = client->connection();
  // Wait for path MTU discovery so 1200-byte payloads fit.
  (void)loop->run_until([&] { return c.handshake_completed() && c.datagram_budget() > 1300; }, 10s);
  if (c.datagram_budget() < payload_bytes) {
    std::fprintf(stderr, "budget %zu < %zu\n", c.datagram_budget(), payload_bytes);
    std::exit(1);
  }

  // Top the client's queue up once per loop turn; the endpoint then writes as much as
  // congestion control allows.
  const std::vector<std::uint8_t> payload(payload_bytes, 0x5a);
  constexpr std::size_t kTargetDepth = 512;
  std::unique_ptr<lio::EventLoop::Timer> feeder;
  feeder = std::make_unique<lio::EventLoop::Timer>(*loop, [&] {
    for (std::size_t depth = c.stats().datagram_queue_depth; depth < kTargetDepth; ++depth) {
      if (!c.send_datagram(payload)) break;
    }
    feeder->arm(loop->now());
  });
  feeder->arm(loop->now());

  const Counter& measured = echo ? client_handler : server_handler;
  (void)loop->run_until([] { return false; }, 300ms);  // warm up: cwnd opens
  const auto wall0 = loop->now();
  const double cpu0 = cpu_seconds();
  const std::uint64_t received0 = measured.received;
  const std::uint64_t sent0 = c.stats().datagrams_sent;
  (void)loop->run_until([] { return false; },
                        std::chrono::duration_cast<lio::EventLoop::Clock::duration>(duration));
  const double wall = std::chrono::duration<double>(loop->now() - wall0).count();
  Measurement m;
  m.rate = static_cast<double>(measured.received - received0) / wall;
  m.cpu_per_wall = (cpu_seconds() - cpu0) / wall;
  m.sent_rate = static_cast<double>(c.stats().datagrams_sent - sent0) / wall;
  feeder.reset();
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  char dir_template[] = "/tmp/lanparty-quic-bench-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) return 1;
  const std::filesystem::path der = std::filesystem::path(dir) / "bench.der";
  const auto certificate = must(lq::generate_self_signed("localhost"), "certificate");
  if (!lq::write_der(certificate, der)) return 1;

  std::printf("%-8s %-7s %14s %14s %10s %16s\n", "mode", "bytes", "delivered/s", "sent/s",
              "cpu/wall", "delivered/cpu-s");
  for (const bool echo : {false, true}) {
    for (const std::size_t bytes : {std::size_t{100}, std::size_t{1200}}) {
      const Measurement m =
          run_case(bytes, echo, std::chrono::duration<double>(seconds), der, certificate);
      std::printf("%-8s %-7zu %14.0f %14.0f %10.2f %16.0f\n", echo ? "echo" : "one-way", bytes,
                  m.rate, m.sent_rate, m.cpu_per_wall, m.rate / m.cpu_per_wall);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
