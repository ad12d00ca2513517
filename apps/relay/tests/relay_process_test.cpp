// SPDX-License-Identifier: MIT
// The real lanparty-relay binary as an operator runs it: flag errors, the certificate options,
// the development certificate, SIGTERM, and room records that survive a SIGKILL. Output and
// exit are watched on the event loop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lanparty/quic/certificate.hpp"
#include "relay_harness.hpp"

extern char** environ;

namespace lanparty::relay::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// One child process with stdout and stderr on one pipe, both watched on `loop`.
class RelayProcess {
 public:
  [[nodiscard]] static std::unique_ptr<RelayProcess> spawn(io::EventLoop& loop,
                                                           const std::vector<std::string>& args) {
    std::unique_ptr<RelayProcess> p(new RelayProcess(loop));
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      ADD_FAILURE() << "pipe2 failed";
      return nullptr;
    }
    p->out_fd_ = fds[0];
    std::vector<std::string> argv_text{LANPARTY_RELAY_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 clears O_CLOEXEC on the copies; the originals close at exec.
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    const int rc = ::posix_spawn(&p->pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
      p->pid_ = -1;
      return nullptr;
    }
    // Via syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C", so C++ cannot link it.
    p->pid_fd_ = static_cast<int>(::syscall(SYS_pidfd_open, p->pid_, 0));
    if (p->pid_fd_ < 0) {
      ADD_FAILURE() << "pidfd_open failed";
      return nullptr;
    }
    RelayProcess* raw = p.get();
    if (!loop.add_fd(p->out_fd_, EPOLLIN, [raw](std::uint32_t) { raw->drain(); }) ||
        !loop.add_fd(p->pid_fd_, EPOLLIN, [raw](std::uint32_t) { raw->reap(); })) {
      ADD_FAILURE() << "cannot watch the child";
      return nullptr;
    }
    return p;
  }

  ~RelayProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (out_fd_ >= 0) {
      loop_.remove_fd(out_fd_);
      ::close(out_fd_);
    }
    if (pid_fd_ >= 0) {
      loop_.remove_fd(pid_fd_);
      ::close(pid_fd_);
    }
  }
  RelayProcess(const RelayProcess&) = delete;
  RelayProcess& operator=(const RelayProcess&) = delete;

  [[nodiscard]] const std::string& output() const noexcept { return output_; }

  [[nodiscard]] bool wait_for_output(std::string_view text, std::chrono::milliseconds timeout) {
    return loop_.run_until([&] { return output_.find(text) != std::string::npos || exited_; },
                           timeout) &&
           output_.find(text) != std::string::npos;
  }

  // The exit code once the child exits by itself; nullopt on timeout or death by a signal.
  [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    if (!loop_.run_until([&] { return exited_; }, timeout)) return std::nullopt;
    drain();  // whatever it wrote last
    if (!WIFEXITED(status_)) return std::nullopt;
    return WEXITSTATUS(status_);
  }

  void send_signal(int signal) { ::kill(pid_, signal); }

  // The UDP port from the relay.listening event ("listen=127.0.0.1:PORT").
  [[nodiscard]] std::uint16_t listening_port(std::string_view key = "listen=127.0.0.1:") const {
    const std::string_view kKey = key;
    const auto at = output_.find(kKey);
    if (at == std::string::npos) return 0;
    std::uint16_t port = 0;
    const char* begin = output_.data() + at + kKey.size();
    std::from_chars(begin, output_.data() + output_.size(), port);
    return port;
  }

 private:
  explicit RelayProcess(io::EventLoop& loop) : loop_(loop) {}

  void drain() {
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(out_fd_, buffer, sizeof(buffer));
      if (n <= 0) return;  // EAGAIN, or EOF (the pid fd reports the exit)
      output_.append(buffer, static_cast<std::size_t>(n));
    }
  }

  void reap() {
    if (exited_) return;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
      exited_ = true;
      loop_.remove_fd(pid_fd_);
    }
  }

  io::EventLoop& loop_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int pid_fd_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string output_;
};

std::unique_ptr<io::EventLoop> make_loop() {
  auto loop = io::EventLoop::create();
  EXPECT_TRUE(loop.has_value());
  return loop ? std::move(*loop) : nullptr;
}

// --- command line ------------------------------------------------------------------------

struct FlagCase {
  const char* name;
  std::vector<std::string> args;
  const char* named;  // the flag the message must name
};

class RelayFlagTest : public ::testing::TestWithParam<FlagCase> {};

TEST_P(RelayFlagTest, ExitsNonZeroNamingTheFlag) {
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(*loop, GetParam().args);
  ASSERT_NE(relay, nullptr);
  const auto code = relay->wait_exit(kWait);
  ASSERT_TRUE(code) << relay->output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay->output(), HasSubstr(GetParam().named));
}

INSTANTIATE_TEST_SUITE_P(
    BadFlags, RelayFlagTest,
    ::testing::Values(
        FlagCase{"UnknownFlag", {"--bogus"}, "--bogus"},
        FlagCase{"MaxRoomsZero", {"--max-rooms", "0"}, "--max-rooms"},
        FlagCase{"MaxMtuBelow576", {"--max-mtu", "575"}, "--max-mtu"},
        FlagCase{"UnknownLogLevel", {"--log-level", "loud"}, "--log-level"},
        FlagCase{"UnknownRoomMode", {"--rooms", "closed"}, "--rooms closed: expected open"},
        FlagCase{"RoomTtlWithUnknownUnit", {"--room-ttl", "3w"}, "--room-ttl 3w"},
        FlagCase{"RoomTtlZero", {"--room-ttl", "0"}, "--room-ttl 0"},
        FlagCase{"RoomTtlNegative", {"--room-ttl", "-1d"}, "--room-ttl"},
        FlagCase{"OwnersWithoutFile", {"--rooms", "owners"}, "--room-owners FILE"},
        FlagCase{"OwnersFileWithClaimed", {"--room-owners", "/dev/null"}, "--rooms owners"},
        FlagCase{"OwnersFileWithOpen",
                 {"--rooms", "open", "--room-owners", "/dev/null"},
                 "--rooms owners"},
        FlagCase{"OwnersFileMissing",
                 {"--rooms", "owners", "--room-owners", "/nonexistent/owners.txt"},
                 "/nonexistent/owners.txt"},
        FlagCase{"MaxRoomRecordsZero", {"--max-room-records", "0"}, "--max-room-records"},
        FlagCase{"UnknownRetryMode", {"--retry", "sometimes"}, "--retry sometimes: expected"},
        FlagCase{"PeerRateWithoutUnit", {"--peer-rate", "5000"}, "--peer-rate \"5000\""},
        FlagCase{
            "BroadcastRateNegative", {"--peer-broadcast-rate", "-1pps"}, "--peer-broadcast-rate"},
        FlagCase{"MaxConnectionsPerSourceZero",
                 {"--max-connections-per-source", "0"},
                 "--max-connections-per-source"},
        FlagCase{"MaxHandshakesZero", {"--max-handshakes", "0"}, "--max-handshakes"},
        FlagCase{
            "MaxRoomsPerSourceZero", {"--max-rooms-per-source", "0"}, "--max-rooms-per-source"}),
    [](const ::testing::TestParamInfo<FlagCase>& case_info) {
      return std::string(case_info.param.name);
    });

// Started with a development certificate in `dir` (so flag checks after parsing run too).
std::vector<std::string> dev_args(const TempDir& dir, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--listen",           "127.0.0.1:0",
                                "--dev-cert-der-out", (dir.path() / "relay.der").string(),
                                "--dev-cert-name",    "localhost"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(RelayProcess, ABadRoomOwnersLineIsNamedByFileAndLine) {
  TempDir dir;
  const auto owners = dir.path() / "owners.txt";
  std::ofstream(owners) << "# our gateways\n"
                        << public_key_text(new_room_key()) << "  # hall\n"
                        << "\n"
                        << "not-a-key\n";
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(
      *loop, dev_args(dir, {"--rooms", "owners", "--room-owners", owners.string(), "--state-dir",
                            (dir.path() / "state").string()}));
  ASSERT_NE(relay, nullptr);
  const auto code = relay->wait_exit(kWait);
  ASSERT_TRUE(code) << relay->output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay->output(), HasSubstr(owners.string() + ":4:"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state"));
}

TEST(RelayProcess, AWorldWritableStateDirIsRefused) {
  TempDir dir;
  const auto state = dir.path() / "state";
  std::filesystem::create_directory(state);
  std::filesystem::permissions(state, std::filesystem::perms::all);
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(*loop, dev_args(dir, {"--state-dir", state.string()}));
  ASSERT_NE(relay, nullptr);
  const auto code = relay->wait_exit(kWait);
  ASSERT_TRUE(code) << relay->output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay->output(), HasSubstr("--state-dir " + state.string()));
  EXPECT_FALSE(std::filesystem::exists(state / "rooms.sqlite3"));
}

TEST(RelayProcess, OpenRoomsNeverCreateTheStateDir) {
  TempDir dir;
  const auto state = dir.path() / "state";
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay =
      RelayProcess::spawn(*loop, dev_args(dir, {"--rooms", "open", "--state-dir", state.string()}));
  ASSERT_NE(relay, nullptr);
  ASSERT_TRUE(relay->wait_for_output("relay.listening", kWait)) << relay->output();
  EXPECT_THAT(relay->output(), HasSubstr("rooms=open"));
  EXPECT_FALSE(std::filesystem::exists(state));
  relay->send_signal(SIGTERM);
  EXPECT_EQ(relay->wait_exit(kWait), 0);
}

TEST(RelayProcess, ClaimedIsTheDefaultAndTheStateDirIsCreatedPrivate) {
  TempDir dir;
  const auto state = dir.path() / "nested" / "state";
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(*loop, dev_args(dir, {"--state-dir", state.string()}));
  ASSERT_NE(relay, nullptr);
  ASSERT_TRUE(relay->wait_for_output("relay.listening", kWait)) << relay->output();
  EXPECT_THAT(relay->output(), HasSubstr("rooms=claimed"));
  EXPECT_EQ(std::filesystem::status(state).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  EXPECT_TRUE(std::filesystem::exists(state / "rooms.sqlite3"));

  // A client without an invite is refused.
  auto peer = TestPeer::connect(*loop, relay->listening_port(), dir.path() / "relay.der");
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(succeeded(peer->send_hello(hello_json("client", "ROOM1", "02:5a:00:00:00:01"))));
  EXPECT_TRUE(rejected_with(*peer, "auth_required"));
  relay->send_signal(SIGTERM);
  EXPECT_EQ(relay->wait_exit(kWait), 0);
}

TEST(RelayProcess, ARoomStaysOwnedAcrossASigkill) {
  TempDir dir;
  const auto state = dir.path() / "state";
  const quic::RoomKey owner = new_room_key();
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto first = RelayProcess::spawn(*loop, dev_args(dir, {"--state-dir", state.string()}));
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->wait_for_output("relay.listening", kWait)) << first->output();
  auto gw = TestPeer::connect(*loop, first->listening_port(), dir.path() / "relay.der");
  ASSERT_NE(gw, nullptr);
  ASSERT_TRUE(gw->join(claim_hello(*gw, owner, "ROOM1", "00:11:22:33:44:55")));
  // Killed right after the welcome: the claim must already be on disk.
  first->send_signal(SIGKILL);
  ASSERT_FALSE(first->wait_exit(kWait));  // died by the signal
  gw.reset();
  first.reset();

  auto second = RelayProcess::spawn(*loop, dev_args(dir, {"--state-dir", state.string()}));
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->wait_for_output("relay.listening", kWait)) << second->output();
  const std::uint16_t port = second->listening_port();
  auto stranger = TestPeer::connect(*loop, port, dir.path() / "relay.der");
  ASSERT_NE(stranger, nullptr);
  ASSERT_TRUE(succeeded(
      stranger->send_hello(claim_hello(*stranger, new_room_key(), "ROOM1", "00:11:22:33:44:66"))));
  EXPECT_TRUE(rejected_with(*stranger, "room_owned"));
  auto back = TestPeer::connect(*loop, port, dir.path() / "relay.der");
  ASSERT_NE(back, nullptr);
  EXPECT_TRUE(back->join(claim_hello(*back, owner, "ROOM1", "00:11:22:33:44:55")));
  second->send_signal(SIGTERM);
  EXPECT_EQ(second->wait_exit(kWait), 0) << second->output();
}

TEST(RelayProcess, NoCertificateOptionExitsNonZeroWithAHint) {
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(*loop, {"--listen", "127.0.0.1:0"});
  ASSERT_NE(relay, nullptr);
  const auto code = relay->wait_exit(kWait);
  ASSERT_TRUE(code) << relay->output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay->output(), HasSubstr("--dev-cert-der-out"));
  EXPECT_THAT(relay->output(), HasSubstr("--cert"));
}

TEST(RelayProcess, CertWithoutKeyExitsNonZeroNamingKey) {
  TempDir dir;
  const auto pem = dir.path() / "relay.pem";
  std::ofstream(pem) << "not really a certificate\n";
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(*loop, {"--listen", "127.0.0.1:0", "--cert", pem.string()});
  ASSERT_NE(relay, nullptr);
  const auto code = relay->wait_exit(kWait);
  ASSERT_TRUE(code) << relay->output();
  EXPECT_NE(*code, 0);
  EXPECT_THAT(relay->output(), HasSubstr("--key"));
}

// --- running -----------------------------------------------------------------------------

TEST(RelayProcess, WritesTheDevelopmentCertificateAsDer) {
  TempDir dir;
  const auto der = dir.path() / "relay.der";
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(
      *loop, {"--listen", "127.0.0.1:0", "--dev-cert-der-out", der.string(), "--rooms", "open"});
  ASSERT_NE(relay, nullptr);
  ASSERT_TRUE(relay->wait_for_output("relay.listening", kWait)) << relay->output();
  const auto cert = quic::read_der(der);
  ASSERT_TRUE(cert.has_value()) << cert.error().describe();
  EXPECT_FALSE(cert->empty());
  // The banner, written just after the listening event, names the file to hand out.
  EXPECT_TRUE(relay->wait_for_output(der.string(), kWait)) << relay->output();
  relay->send_signal(SIGTERM);
  EXPECT_EQ(relay->wait_exit(kWait), 0);
}

TEST(RelayProcess, SigtermExitsZero) {
  TempDir dir;
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(*loop, {"--listen", "127.0.0.1:0", "--dev-cert-der-out",
                                           (dir.path() / "r.der").string(), "--rooms", "open"});
  ASSERT_NE(relay, nullptr);
  ASSERT_TRUE(relay->wait_for_output("relay.listening", kWait)) << relay->output();
  relay->send_signal(SIGTERM);
  const auto code = relay->wait_exit(kWait);
  ASSERT_TRUE(code) << relay->output();
  EXPECT_EQ(*code, 0);
  EXPECT_THAT(relay->output(), HasSubstr("relay.stopped"));
}

// One HTTP GET over a blocking socket with a timeout; the whole answer, or empty.
std::string http_get(std::uint16_t port, const char* path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  const timeval timeout{.tv_sec = 3, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
    const std::string request = std::string("GET ") + path + " HTTP/1.0\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      ssize_t n = 0;
      while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) {
        answer.append(buffer, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  return answer;
}

TEST(RelayProcess, RetryAlwaysConnectsAndTheMetricsCountIt) {
  TempDir dir;
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay = RelayProcess::spawn(*loop, dev_args(dir, {"--rooms", "open", "--retry", "always",
                                                         "--metrics-listen", "127.0.0.1:0"}));
  ASSERT_NE(relay, nullptr);
  ASSERT_TRUE(relay->wait_for_output("relay.metrics_listening", kWait)) << relay->output();
  EXPECT_THAT(relay->output(), HasSubstr("retry=always"));
  auto peer = TestPeer::connect(*loop, relay->listening_port(), dir.path() / "relay.der");
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01")));
  // The scrape blocks this thread, not the relay: the relay is another process.
  const std::string metrics =
      http_get(relay->listening_port("metrics_listening port="), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_retries_sent_total 1\n"));
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_retry_tokens_valid_total 1\n"));
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_handshakes_accepted_total 1\n"));
  EXPECT_THAT(
      metrics,
      HasSubstr("lanparty_relay_handshakes_refused_total{reason=\"source_connections\"} 0"));
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_peers 1\n"));
  // The client's Initials came in through the handshake lane, its 1-RTT packets through main.
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_udp_handshake_lane 1\n"));
  EXPECT_THAT(metrics,
              Not(HasSubstr("lanparty_relay_udp_received_total{socket=\"handshake_lane\"} 0\n")));
  EXPECT_THAT(metrics, Not(HasSubstr("lanparty_relay_udp_received_total{socket=\"main\"} 0\n")));
  EXPECT_THAT(metrics, HasSubstr("lanparty_relay_udp_dropped_total{reason=\"rx_truncated\"} 0\n"));
  relay->send_signal(SIGTERM);
  EXPECT_EQ(relay->wait_exit(kWait), 0) << relay->output();
}

TEST(RelayProcess, PinnedPeerIsWelcomedAndSigtermSendsItDisconnectThenCloseThree) {
  TempDir dir;
  const auto der = dir.path() / "relay.der";
  auto loop = make_loop();
  ASSERT_NE(loop, nullptr);
  auto relay =
      RelayProcess::spawn(*loop, {"--listen", "127.0.0.1:0", "--dev-cert-der-out", der.string(),
                                  "--dev-cert-name", "localhost", "--rooms", "open"});
  ASSERT_NE(relay, nullptr);
  ASSERT_TRUE(relay->wait_for_output("relay.listening", kWait)) << relay->output();
  const std::uint16_t port = relay->listening_port();
  ASSERT_NE(port, 0) << relay->output();

  auto peer = TestPeer::connect(*loop, port, der);
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(peer->join(hello_json("client", "ROOM1", "02:5a:00:00:00:01")));
  EXPECT_EQ(peer->welcome().mtu, 1380u);

  relay->send_signal(SIGTERM);
  const quic::CloseInfo* close = peer->wait_closed();
  ASSERT_NE(close, nullptr);
  EXPECT_EQ(close->kind, quic::CloseInfo::Kind::kPeerApplication);
  EXPECT_EQ(close->code, 3u);
  const auto disconnect = peer->next<ctrl::Disconnect>(0ms);
  ASSERT_TRUE(disconnect);
  EXPECT_EQ(disconnect->reason, "shutdown");
  EXPECT_EQ(relay->wait_exit(kWait), 0) << relay->output();
}

}  // namespace
}  // namespace lanparty::relay::testing
