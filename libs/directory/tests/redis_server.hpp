// SPDX-License-Identifier: MIT
// A real redis-server for tests: started in a temp dir on a unix socket (no TCP port, so
// tests never collide on ports), no RDB snapshots, and stopped (SIGTERM, then SIGKILL) at
// scope exit. Tests that need one skip when redis-server is not installed.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "lanparty/directory/redis_endpoint.hpp"
#include "temp_dir.hpp"

namespace lanparty::directory::testing_support {

// The redis-server binary, or empty when it is not installed.
inline std::string redis_server_binary() {
  for (const char* candidate : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return {};
}

inline constexpr const char* kNoRedisMessage =
    "redis-server is not installed (scripts/install-deps.sh installs it): Redis tests skipped";

// A TLS port beside the unix socket: the server's certificate chain and key (PEM files).
struct RedisTlsFiles {
  std::string cert_file;
  std::string key_file;
};

// A TCP port on 127.0.0.1 nobody listens on right now (the kernel's pick; free again when
// the probe socket closes).
inline std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

class RedisServer {
 public:
  // Starts the server (appendonly as asked) and waits until it answers; failures are test
  // failures and leave ok() false.
  explicit RedisServer(bool appendonly = false) : appendonly_(appendonly) { start(); }
  // The same plus a TLS port on 127.0.0.1 (tls_port()), clients not asked for certificates.
  explicit RedisServer(RedisTlsFiles tls) : appendonly_(false), tls_(std::move(tls)) {
    tls_port_ = free_loopback_port();
    start();
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() { stop(/*hard=*/false); }

  [[nodiscard]] bool ok() const noexcept { return pid_ > 0; }
  [[nodiscard]] std::string socket_path() const { return (dir_.path() / "redis.sock").string(); }
  [[nodiscard]] RedisEndpoint endpoint() const {
    RedisEndpoint e;
    e.unix_path = socket_path();
    e.connect_timeout = std::chrono::milliseconds(500);
    e.command_timeout = std::chrono::milliseconds(2000);
    return e;
  }

  [[nodiscard]] std::uint16_t tls_port() const noexcept { return tls_port_; }
  // rediss://127.0.0.1:tls_port(), trusting `ca_file`.
  [[nodiscard]] RedisEndpoint tls_endpoint(const std::string& ca_file) const {
    RedisEndpoint e = endpoint();
    e.unix_path.clear();
    e.host = "127.0.0.1";
    e.port = tls_port_;
    e.tls = true;
    e.tls_ca_file = ca_file;
    return e;
  }

  // SIGKILL (hard) or SIGTERM, then reaps it.
  void stop(bool hard) {
    if (pid_ <= 0) return;
    ::kill(pid_, hard ? SIGKILL : SIGTERM);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
  }

  // Stops and starts again on the same dir and socket (an AOF, if on, is replayed).
  void restart(bool hard) {
    stop(hard);
    start();
  }

  // SIGSTOP / SIGCONT: a server that accepts nothing and answers nothing, as a hung one.
  void pause() const { ::kill(pid_, SIGSTOP); }
  void resume() const { ::kill(pid_, SIGCONT); }

 private:
  void start() {
    const std::string binary = redis_server_binary();
    if (binary.empty()) return;
    const std::string dir = dir_.path().string();
    const std::string sock = socket_path();
    std::vector<std::string> args = {binary,
                                     "--port",
                                     "0",
                                     "--unixsocket",
                                     sock,
                                     "--unixsocketperm",
                                     "700",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     appendonly_ ? "yes" : "no",
                                     "--dir",
                                     dir,
                                     "--logfile",
                                     dir + "/redis.log",
                                     "--daemonize",
                                     "no"};
    if (tls_) {
      for (const std::string& a :
           {std::string("--tls-port"), std::to_string(tls_port_), std::string("--tls-cert-file"),
            tls_->cert_file, std::string("--tls-key-file"), tls_->key_file,
            std::string("--tls-auth-clients"), std::string("no")}) {
        args.push_back(a);
      }
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Dies with the test process even if that one is killed, and keeps off its output
      // (ctest waits for every holder of the test's stdout pipe).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ASSERT_GT(pid, 0) << "fork: " << std::strerror(errno);
    pid_ = pid;
    // Ready when it answers PING.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (accepts(sock)) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "redis-server exited at start; see " << dir << "/redis.log";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop(true);
    FAIL() << "redis-server did not listen on " << sock << " within 10 s";
  }

  // Ready means PING answers PONG: a server still loading its AOF answers -LOADING.
  static bool accepts(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bool ready = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      constexpr char kPing[] = "PING\r\n";
      char reply[64] = {};
      if (::send(fd, kPing, sizeof(kPing) - 1, MSG_NOSIGNAL) == sizeof(kPing) - 1) {
        const ssize_t n = ::recv(fd, reply, sizeof(reply) - 1, 0);
        ready = n >= 5 && std::strncmp(reply, "+PONG", 5) == 0;
      }
    }
    ::close(fd);
    return ready;
  }

  TempDir dir_;
  bool appendonly_;
  std::optional<RedisTlsFiles> tls_;
  std::uint16_t tls_port_ = 0;
  pid_t pid_ = -1;
};

// Whether this redis-server was built with TLS (Debian's is): such a build links libssl.
inline bool redis_has_tls() {
  const std::string ldd = "ldd " + redis_server_binary() + " 2>/dev/null | grep -q libssl";
  return std::system(ldd.c_str()) == 0;
}

inline bool have_openssl() { return std::system("command -v openssl >/dev/null 2>&1") == 0; }

// In `dir`: ca.pem (a CA named `ca_name`) and server.pem + server.key, a certificate it
// signed for IP 127.0.0.1 and DNS redis.test, made with the openssl command as an operator
// would; its output goes to openssl.log.
inline bool make_tls_certificates(const std::filesystem::path& dir, const std::string& ca_name) {
  const std::string d = dir.string();
  {
    std::ofstream ext(dir / "ext.cnf");
    ext << "subjectAltName=IP:127.0.0.1,DNS:redis.test\n";
  }
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string script =
      "cd '" + d + "' && openssl req -x509 " + ec +
      " -keyout ca.key -out ca.pem -subj /CN=" + ca_name + " -days 2 && openssl req " + ec +
      " -keyout server.key -out server.csr -subj /CN=redis.test && openssl x509 -req -in "
      "server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile "
      "ext.cnf";
  return std::system(("(" + script + ") >'" + d + "/openssl.log' 2>&1").c_str()) == 0;
}

// One server per test process, started on first use (gtest_discover_tests runs each test in
// its own process, so this is one per test there and one in all for a whole-binary run).
inline RedisServer* shared_redis_server() {
  if (redis_server_binary().empty()) return nullptr;
  static std::unique_ptr<RedisServer> server = std::make_unique<RedisServer>();
  return server->ok() ? server.get() : nullptr;
}

// A key prefix no other test of this process uses.
inline std::string unique_prefix() {
  static int counter = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->name()) : std::string("test");
  for (char& c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '-';
  }
  return "t" + std::to_string(++counter) + "-" + name.substr(0, 40);
}

}  // namespace lanparty::directory::testing_support
