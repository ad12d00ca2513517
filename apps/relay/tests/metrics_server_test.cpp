// SPDX-License-Identifier: MIT
// The metrics endpoint over real loopback TCP on a real EventLoop: its HTTP answers, and that
// silent, slow or non-reading scrapers never stall the loop (and so never stall forwarding).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "metrics.hpp"
#include "relay.hpp"

namespace lanparty::relay {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = io::EventLoop::Clock;

// Longest wait for something that happens at once on loopback; passing never needs it.
constexpr auto kWait = 3s;
// Most a loop timer may be late while scrapers misbehave. On this kind of shared machine any
// idle timer is now and then ~100 ms late (a plain 10 ms sleep loop with no server showed
// 99-115 ms over 90 s), so the bound sits above that and far below the old blocking server,
// which spent 200 ms on each silent or non-reading scraper inside one callback: the tests
// queue scrapers so that it would have stalled 400 ms to 1.6 s.
constexpr auto kStallBound = 250ms;

// A scraper: a TCP connection to the server that, when watched, reads on the same loop
// everything the server sends until the server closes. An unwatched one never reads.
class Scraper {
 public:
  Scraper(io::EventLoop& loop, std::uint16_t port, bool watch = true, int rcvbuf_bytes = 0)
      : loop_(loop) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    // Before connect, so the window the scraper advertises stays this small.
    if (rcvbuf_bytes > 0) {
      EXPECT_EQ(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof(rcvbuf_bytes)), 0);
    }
    // Small writes go out as written (no Nagle), so a request sent in pieces arrives so.
    const int one = 1;
    EXPECT_EQ(::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Blocking is fine: on loopback the kernel completes the handshake from the listen
    // backlog without the server's loop running.
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    if (watch) {
      EXPECT_TRUE(loop_.add_fd(fd_, EPOLLIN, [this](std::uint32_t) { on_readable(); }).has_value());
      watched_ = true;
    }
  }
  ~Scraper() {
    if (watched_) loop_.remove_fd(fd_);
    ::close(fd_);
  }
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  void send(std::string_view bytes) {
    EXPECT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] const std::string& received() const noexcept { return received_; }
  [[nodiscard]] Clock::time_point closed_at() const noexcept { return closed_at_; }

 private:
  void on_readable() {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n > 0) {
        received_.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      closed_ = true;  // EOF, or a reset
      closed_at_ = Clock::now();
      loop_.remove_fd(fd_);
      watched_ = false;
      return;
    }
  }

  io::EventLoop& loop_;
  int fd_ = -1;
  bool watched_ = false;
  bool closed_ = false;
  Clock::time_point closed_at_{};
  std::string received_;
};

// How long this thread has waited for a CPU while runnable (the second field of
// /proc/thread-self/schedstat); zero where the kernel does not say.
Clock::duration run_queue_wait() {
  std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r");
  if (f == nullptr) return Clock::duration::zero();
  unsigned long long on_cpu_ns = 0;
  unsigned long long waited_ns = 0;
  const int n = std::fscanf(f, "%llu %llu", &on_cpu_ns, &waited_ns);
  std::fclose(f);
  return n == 2 ? std::chrono::nanoseconds(waited_ns) : Clock::duration::zero();
}

// A 10 ms periodic timer that records how late each firing was: a stalled loop shows up as
// lateness. The time the thread merely waited for a CPU (other processes on a busy machine)
// is taken out, so what is left is time spent in, or blocked by, the loop's callbacks.
class Ticker {
 public:
  explicit Ticker(io::EventLoop& loop) : loop_(loop), timer_(loop, [this] { fire(); }) {
    arm(loop_.now());
  }
  [[nodiscard]] Clock::duration max_lateness() const noexcept { return max_lateness_; }
  [[nodiscard]] int ticks() const noexcept { return ticks_; }
  // For the test report (--gtest_output=json): the figures behind the bound.
  void record() const {
    const auto us = [](Clock::duration d) {
      return static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    };
    ::testing::Test::RecordProperty("max_lateness_us", us(max_lateness_));
    ::testing::Test::RecordProperty("max_wall_lateness_us", us(max_wall_lateness_));
  }

 private:
  static constexpr auto kPeriod = 10ms;
  void arm(Clock::time_point now) {
    due_ = now + kPeriod;
    waited_at_arm_ = run_queue_wait();
    timer_.arm(due_);
  }
  void fire() {
    const auto now = loop_.now();
    const auto wall = now - due_;
    const auto waited = run_queue_wait() - waited_at_arm_;
    max_wall_lateness_ = std::max(max_wall_lateness_, wall);
    max_lateness_ = std::max(max_lateness_, wall - std::min(wall, waited));
    ++ticks_;
    arm(now);
  }

  io::EventLoop& loop_;
  io::EventLoop::Timer timer_;
  Clock::time_point due_{};
  Clock::duration waited_at_arm_{};
  Clock::duration max_lateness_{};
  Clock::duration max_wall_lateness_{};
  int ticks_ = 0;
};

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = io::EventLoop::create();
    ASSERT_TRUE(loop) << loop.error().describe();
    loop_ = std::move(*loop);
    RelayConfig config;
    config.stats_interval = 0ms;
    relay_ = std::make_unique<Relay>(*loop_, config, obs::Logger{});
  }

  void start(MetricsServerLimits limits = {}) {
    auto server = MetricsServer::start(*loop_, "127.0.0.1:0", *relay_, obs::Logger{}, limits);
    ASSERT_TRUE(server) << server.error().describe();
    server_ = std::move(*server);
  }
  void start_rendering(MetricsServer::RenderFn render, MetricsServerLimits limits) {
    auto server =
        MetricsServer::start(*loop_, "127.0.0.1:0", std::move(render), obs::Logger{}, limits);
    ASSERT_TRUE(server) << server.error().describe();
    server_ = std::move(*server);
  }

  // Runs the loop until done() or `timeout`; false on timeout.
  bool run_until(const std::function<bool()>& done, Clock::duration timeout = kWait) {
    return loop_->run_until(done, timeout).has_value();
  }
  void run_for(Clock::duration d) {
    (void)loop_->run_until([] { return false; }, d);
  }

  // `n` scrapers that connect (and send `request`) together, before the loop runs, as a
  // burst would; then the loop runs until the server has accepted them all.
  std::vector<std::unique_ptr<Scraper>> accepted_scrapers(int n, std::string_view request = {},
                                                          bool watch = true, int rcvbuf_bytes = 0) {
    const std::size_t before = server_->open_connections();
    std::vector<std::unique_ptr<Scraper>> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(std::make_unique<Scraper>(*loop_, server_->port(), watch, rcvbuf_bytes));
      if (!request.empty()) out.back()->send(request);
    }
    EXPECT_TRUE(run_until(
        [&] { return server_->open_connections() == before + static_cast<std::size_t>(n); }));
    return out;
  }

  // Sends `request`, runs the loop until the server closes, returns what came back.
  std::string exchange(std::string_view request) {
    Scraper s(*loop_, server_->port());
    s.send(request);
    EXPECT_TRUE(run_until([&] { return s.closed(); })) << request;
    return s.received();
  }

  std::unique_ptr<io::EventLoop> loop_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<MetricsServer> server_;
};

// The body of a 200, checked against its Content-Length.
std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  if (end == std::string::npos) return {};
  const std::string body = response.substr(end + 4);
  EXPECT_THAT(response, HasSubstr(fmt::format("Content-Length: {}\r\n", body.size())));
  return body;
}

TEST_F(MetricsServerTest, ServesTheExpositionOnMetricsAndRoot) {
  start();
  for (const char* request : {"GET /metrics HTTP/1.1\r\nHost: relay\r\nAccept: */*\r\n\r\n",
                              "GET / HTTP/1.0\r\n\r\n", "GET /metrics HTTP/1.0\n\n"}) {
    const std::string response = exchange(request);
    EXPECT_THAT(response, StartsWith("HTTP/1.0 200 OK\r\n")) << request;
    EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; version=0.0.4\r\n"));
    const std::string body = body_of(response);
    EXPECT_THAT(body, HasSubstr("\nlanparty_relay_peers 0\n"));
    EXPECT_THAT(body, HasSubstr("lanparty_relay_drops_total{reason="));
  }
  // Each scrape is counted once it is closed, so the third body shows the first two.
  EXPECT_EQ(server_->scrapes().ok, 3u);
  const std::string body = body_of(exchange("GET /metrics HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(body, HasSubstr("lanparty_relay_metrics_scrapes_total{result=\"ok\"} 3\n"));
  EXPECT_THAT(body, HasSubstr("lanparty_relay_metrics_scrapes_total{result=\"refused\"} 0\n"));
}

TEST_F(MetricsServerTest, AnswersOtherPathsAndMethodsWith404AndNonHttpWith400) {
  start();
  struct Case {
    std::string request;
    std::string_view status;
  };
  const std::vector<Case> cases = {
      {"GET /other HTTP/1.1\r\n\r\n", "HTTP/1.0 404 Not Found\r\n"},
      {"GET /metrics?x=1 HTTP/1.1\r\n\r\n", "HTTP/1.0 404 Not Found\r\n"},
      {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.0 404 Not Found\r\n"},
      {"HEAD /metrics HTTP/1.1\r\n\r\n", "HTTP/1.0 404 Not Found\r\n"},
      {"hello\r\n\r\n", "HTTP/1.0 400 Bad Request\r\n"},
      {"GET /metrics\r\n\r\n", "HTTP/1.0 400 Bad Request\r\n"},
      {"GET /metrics FTP/1.0\r\n\r\n", "HTTP/1.0 400 Bad Request\r\n"},
      {"GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n",
       "HTTP/1.0 400 Bad Request\r\n"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(exchange(c.request), StartsWith(std::string(c.status))) << c.request.substr(0, 40);
  }
  EXPECT_EQ(server_->scrapes().not_found, 4u);
  EXPECT_EQ(server_->scrapes().bad_request, 4u);
  EXPECT_EQ(server_->scrapes().ok, 0u);
}

TEST_F(MetricsServerTest, ReadsARequestThatArrivesByteByByte) {
  start();
  Scraper s(*loop_, server_->port());
  for (const char ch : std::string_view("GET /metrics HTTP/1.1\r\nHost: r\r\n\r\n")) {
    s.send(std::string_view(&ch, 1));
    run_for(1ms);
  }
  ASSERT_TRUE(run_until([&] { return s.closed(); }));
  EXPECT_THAT(s.received(), StartsWith("HTTP/1.0 200 OK\r\n"));
}

TEST_F(MetricsServerTest, AnswersARequestLineEndedByHalfClose) {
  start();
  Scraper s(*loop_, server_->port());
  s.send("GET /metrics HTTP/1.0\r\n");
  s.shutdown_write();
  ASSERT_TRUE(run_until([&] { return s.closed(); }));
  EXPECT_THAT(s.received(), StartsWith("HTTP/1.0 200 OK\r\n"));
}

TEST_F(MetricsServerTest, SilentAndHalfSentScrapersNeverStallTheLoop) {
  start(MetricsServerLimits{.max_connections = 20});
  Ticker ticker(*loop_);
  auto silent = accepted_scrapers(8);
  for (auto& s : accepted_scrapers(8)) silent.push_back(std::move(s));
  auto half = std::move(accepted_scrapers(1, "GET /metr").front());
  run_for(200ms);

  const auto asked = Clock::now();
  Scraper scraper(*loop_, server_->port());
  scraper.send("GET /metrics HTTP/1.1\r\nHost: relay\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return scraper.closed(); }));
  const auto answered_in = Clock::now() - asked;
  run_for(200ms);

  EXPECT_THAT(scraper.received(), StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(body_of(scraper.received()), HasSubstr("\nlanparty_relay_rooms 0\n"));
  EXPECT_LT(answered_in, 500ms);
  EXPECT_LT(ticker.max_lateness(), kStallBound)
      << std::chrono::duration_cast<std::chrono::milliseconds>(ticker.max_lateness()).count();
  EXPECT_GE(ticker.ticks(), 20);
  ticker.record();
  // Nobody waiting was dropped: the deadline (5 s) has not passed.
  EXPECT_EQ(server_->open_connections(), 17u);
  for (const auto& s : silent) EXPECT_FALSE(s->closed());
  EXPECT_FALSE(half->closed());
}

TEST_F(MetricsServerTest, TheDeadlineClosesSilentAndHalfSentScrapers) {
  start(MetricsServerLimits{.deadline = 300ms});
  const auto opened = Clock::now();
  auto silent = std::move(accepted_scrapers(1).front());
  auto half = std::move(accepted_scrapers(1, "GET /metrics HTTP/1.1\r\nHost:").front());
  ASSERT_TRUE(run_until([&] { return silent->closed() && half->closed(); }));
  EXPECT_GE(silent->closed_at() - opened, 250ms);
  EXPECT_GE(half->closed_at() - opened, 250ms);
  EXPECT_EQ(silent->received(), "");
  EXPECT_EQ(half->received(), "");
  EXPECT_EQ(server_->scrapes().timed_out, 2u);
  EXPECT_EQ(server_->open_connections(), 0u);
}

TEST_F(MetricsServerTest, ScrapersThatNeverReadALargeAnswerDoNotBlockTheLoop) {
  // More than the kernel holds for a connection whose reader never reads (its receive buffer
  // is made tiny; the sender's buffer starts at ~2.8 MB on loopback and cannot grow without
  // acknowledged data), so the server must wait for room that never comes.
  // Built up front and moved out, so the measurement is of the server, not of filling 12 MB.
  auto bodies = std::make_shared<std::vector<std::string>>(2, std::string(6u << 20, 'x'));
  start_rendering(
      [bodies] {
        std::string body;
        if (!bodies->empty()) {
          body = std::move(bodies->back());
          bodies->pop_back();
        }
        return body;
      },
      MetricsServerLimits{.deadline = 1s});
  Ticker ticker(*loop_);
  const auto stuck = accepted_scrapers(2, "GET /metrics HTTP/1.1\r\n\r\n", /*watch=*/false,
                                       /*rcvbuf_bytes=*/4096);
  run_for(300ms);
  EXPECT_EQ(server_->open_connections(), 2u);  // both still writing

  // Meanwhile another scraper is answered (a 404 keeps the big body out of the way).
  EXPECT_THAT(exchange("GET /nothing HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.0 404 Not Found\r\n"));
  EXPECT_LT(ticker.max_lateness(), kStallBound)
      << std::chrono::duration_cast<std::chrono::milliseconds>(ticker.max_lateness()).count();

  // The deadline covers the writing too.
  ASSERT_TRUE(run_until([&] { return server_->open_connections() == 0; }));
  EXPECT_EQ(server_->scrapes().timed_out, 2u);
  EXPECT_EQ(server_->scrapes().ok, 0u);
  EXPECT_LT(ticker.max_lateness(), kStallBound);
  ticker.record();
}

TEST_F(MetricsServerTest, ConnectionsBeyondTheCapAreClosedAtOnceAndCounted) {
  start(MetricsServerLimits{.max_connections = 4});
  const auto held = accepted_scrapers(4);

  Scraper extra(*loop_, server_->port());
  extra.send("GET /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return extra.closed(); }));
  EXPECT_EQ(extra.received(), "");
  EXPECT_EQ(server_->scrapes().refused, 1u);
  EXPECT_EQ(server_->open_connections(), 4u);

  // A slot that frees up serves the next scraper.
  held.front()->send("GET /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return held.front()->closed(); }));
  const std::string body = body_of(exchange("GET /metrics HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(body, HasSubstr("lanparty_relay_metrics_scrapes_total{result=\"refused\"} 1\n"));
  EXPECT_THAT(body, HasSubstr("lanparty_relay_metrics_scrapes_total{result=\"ok\"} 1\n"));
}

// CPU time this thread has used.
Clock::duration thread_cpu_time() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  const auto us = [](const timeval& tv) {
    return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

// Lowers the soft descriptor limit so that the next fd this process opens fails with EMFILE;
// restores it on destruction.
class DescriptorLimit {
 public:
  DescriptorLimit() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    const int lowest_free = ::dup(0);
    ::close(lowest_free);
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(lowest_free);
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  }
  ~DescriptorLimit() { restore(); }
  DescriptorLimit(const DescriptorLimit&) = delete;
  DescriptorLimit& operator=(const DescriptorLimit&) = delete;
  void restore() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

TEST_F(MetricsServerTest, RunningOutOfDescriptorsPausesAcceptInsteadOfSpinning) {
  start();
  Scraper waiting(*loop_, server_->port());  // queued in the backlog; accept4 will get EMFILE
  DescriptorLimit limit;
  const auto cpu_before = thread_cpu_time();
  run_for(300ms);
  const auto cpu_used = thread_cpu_time() - cpu_before;
  EXPECT_EQ(server_->open_connections(), 0u);
  // A level-triggered listener retried at once would keep this thread busy the whole time.
  EXPECT_LT(cpu_used, 50ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(cpu_used).count();
  limit.restore();
  ASSERT_TRUE(run_until([&] { return server_->open_connections() == 1; }));
  waiting.send("GET /metrics HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return waiting.closed(); }));
  EXPECT_THAT(waiting.received(), StartsWith("HTTP/1.0 200 OK\r\n"));
}

TEST_F(MetricsServerTest, DestroyingTheServerClosesOpenScrapes) {
  start();
  const auto silent = accepted_scrapers(1);
  server_.reset();
  ASSERT_TRUE(run_until([&] { return silent.front()->closed(); }));
}

TEST(MetricsServerStart, RefusesABadListenAddress) {
  auto loop = io::EventLoop::create();
  ASSERT_TRUE(loop);
  Relay relay(**loop, RelayConfig{}, obs::Logger{});
  for (const char* bad : {"9100", "localhost:9100", "127.0.0.1:99999", "[::1:9100"}) {
    auto server = MetricsServer::start(**loop, bad, relay, obs::Logger{});
    ASSERT_FALSE(server) << bad;
    EXPECT_THAT(server.error().describe(), HasSubstr("--metrics-listen")) << bad;
  }
}

}  // namespace
}  // namespace lanparty::relay
