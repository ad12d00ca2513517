// SPDX-License-Identifier: MIT
// fork/exec with CPU pinning and captured pipes, /proc CPU accounting, and the relay's
// start-up handshake (its "is up on ADDRESS." banner on stderr).
#include "child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::bench {

bool cpu_allowed(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return false;
  return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set);
}

Status pin_to_cpu(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(pid, sizeof(set), &set) != 0) {
    return fail_errno(errno, fmt::format("sched_setaffinity(pid={}, cpu={})", pid, cpu));
  }
  return ok();
}

Result<double> process_cpu_seconds(pid_t pid) {
  const std::string path = fmt::format("/proc/{}/stat", pid);
  std::ifstream in(path);
  std::string text;
  if (!in || !std::getline(in, text)) return fail(Errc::kNotFound, "read " + path);
  // The command name (field 2) is in parentheses and may contain spaces: fields after the
  // last ')' start at field 3 (state); utime and stime are fields 14 and 15.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return fail(Errc::kParseError, path + ": no ')'");
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (number == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (!fields) return fail(Errc::kParseError, path + ": too few fields");
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

Result<double> process_run_queue_wait_seconds(pid_t pid) {
  const std::string path = fmt::format("/proc/{}/schedstat", pid);
  std::ifstream in(path);
  unsigned long long on_cpu_ns = 0;
  unsigned long long waiting_ns = 0;
  if (!(in >> on_cpu_ns >> waiting_ns)) return fail(Errc::kNotFound, "read " + path);
  return static_cast<double>(waiting_ns) / 1e9;
}

Result<std::uint64_t> process_rss_bytes(pid_t pid) {
  const std::string path = fmt::format("/proc/{}/status", pid);
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;  // "VmRSS:   1234 kB"
    }
  }
  return fail(Errc::kNotFound, "no VmRSS in " + path);
}

UdpDrops udp_drops_for_port(std::uint16_t port) {
  UdpDrops drops;
  std::ifstream in("/proc/net/udp");
  std::string line;
  std::getline(in, line);  // header
  // Addresses are "0100007F:1F90": the IPv4 address as a host-order hex word, then the port.
  const std::string endpoint = fmt::format("0100007F:{:04X}", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, field;
    fields >> slot >> local >> remote;
    std::string last;
    while (fields >> field) last = field;
    const std::uint64_t n = std::strtoull(last.c_str(), nullptr, 10);
    if (local == endpoint) drops.local += n;
    if (remote == endpoint) drops.remote += n;
  }
  return drops;
}

Result<std::uint16_t> pick_free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    return fail_errno(err, "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

Result<std::string> http_get(std::uint16_t port, const std::string& path,
                             std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "socket");
  const auto close_fd = [fd] { ::close(fd); };
  timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
             .tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close_fd();
    return fail_errno(err, fmt::format("connect 127.0.0.1:{}", port));
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    const int err = errno;
    close_fd();
    return fail_errno(err, "send HTTP request");
  }
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    response.append(buffer, static_cast<std::size_t>(n));
  }
  close_fd();
  if (response.rfind("HTTP/1.0 200", 0) != 0 && response.rfind("HTTP/1.1 200", 0) != 0) {
    return fail(Errc::kNotFound, fmt::format("GET {}: {}", path, response.substr(0, 40)));
  }
  const auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) return fail(Errc::kParseError, "HTTP response without a body");
  return response.substr(body + 4);
}

double self_cpu_seconds() noexcept {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double load_average_1min() noexcept {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return -1;
  double load = -1;
  if (std::fscanf(f, "%lf", &load) != 1) load = -1;
  std::fclose(f);
  return load;
}

// --- ChildProcess ------------------------------------------------------------------------------

Result<ChildProcess> ChildProcess::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return fail(Errc::kInvalidArgument, "spawn: empty argv");
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  const auto close_pipes = [&] {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (options.capture_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return fail_errno(errno, "pipe for " + options.argv[0]);
  }
  if (options.capture_stderr && ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    close_pipes();
    return fail_errno(err, "pipe for " + options.argv[0]);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    close_pipes();
    return fail_errno(err, "fork for " + options.argv[0]);
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    if (options.cpu) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(*options.cpu, &set);
      if (::sched_setaffinity(0, sizeof(set), &set) != 0) ::_exit(126);
    }
    if (options.capture_stdout) {
      ::dup2(out_pipe[1], STDOUT_FILENO);
    } else if (options.silence_stdout) {
      const int null_fd = ::open("/dev/null", O_WRONLY);
      if (null_fd >= 0) ::dup2(null_fd, STDOUT_FILENO);
    }
    if (options.capture_stderr) ::dup2(err_pipe[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (out_pipe[1] >= 0) ::close(out_pipe[1]);
  if (err_pipe[1] >= 0) ::close(err_pipe[1]);
  return ChildProcess(pid, out_pipe[0], err_pipe[0]);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), stdout_fd_(other.stdout_fd_), stderr_fd_(other.stderr_fd_) {
  other.pid_ = -1;
  other.stdout_fd_ = -1;
  other.stderr_fd_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = other.pid_;
    stdout_fd_ = other.stdout_fd_;
    stderr_fd_ = other.stderr_fd_;
    other.pid_ = -1;
    other.stdout_fd_ = -1;
    other.stderr_fd_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() { release(); }

void ChildProcess::release() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
  stdout_fd_ = -1;
  stderr_fd_ = -1;
}

Status ChildProcess::send_signal(int signal_number) {
  if (pid_ <= 0) return fail(Errc::kNotFound, "signal: the child has already been reaped");
  if (::kill(pid_, signal_number) != 0) {
    return fail_errno(errno, fmt::format("kill({}, {})", pid_, signal_number));
  }
  return ok();
}

Result<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return fail(Errc::kNotFound, "wait: the child has already been reaped");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t rv = ::waitpid(pid_, &status, WNOHANG);
    if (rv == pid_) {
      pid_ = -1;
      return status;
    }
    if (rv < 0 && errno != EINTR) return fail_errno(errno, fmt::format("waitpid({})", pid_));
    if (std::chrono::steady_clock::now() >= deadline) {
      return fail(Errc::kTimedOut, fmt::format("pid {} still running", pid_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<int> ChildProcess::terminate(int signal_number, std::chrono::milliseconds grace) {
  if (pid_ <= 0) return fail(Errc::kNotFound, "terminate: the child has already been reaped");
  (void)send_signal(signal_number);
  auto status = wait_for(grace);
  if (status) return status;
  (void)send_signal(SIGKILL);
  return wait_for(std::chrono::milliseconds(5000));
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
  return fmt::format("wait status {:#x}", status);
}

// --- RelayProcess ------------------------------------------------------------------------------

namespace {

// "...lanparty-relay is up on 127.0.0.1:40123.\n..." -> 40123, once the line is complete.
std::optional<std::uint16_t> banner_port(const std::string& text) {
  constexpr std::string_view kMarker = "is up on ";
  const auto at = text.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  const auto end = text.find('\n', at);
  if (end == std::string::npos) return std::nullopt;
  std::string address = text.substr(at + kMarker.size(), end - at - kMarker.size());
  while (!address.empty() && (address.back() == '.' || address.back() == ' ')) address.pop_back();
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const unsigned long port = std::strtoul(address.c_str() + colon + 1, nullptr, 10);
  if (port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

}  // namespace

Result<RelayProcess> RelayProcess::start(const RelayProcessConfig& config) {
  std::vector<std::string> argv = {
      config.binary.string(),  "--listen",         "127.0.0.1:0", "--dev-cert-der-out",
      config.der_out.string(), "--stats-interval", "0",           "--log-level",
      config.log_level};
  // The load generator's peers carry no room keys or invites: it measures forwarding, which
  // is the same in every room mode (ownership is checked once per hello).
  argv.push_back("--rooms");
  argv.push_back("open");
  // Every peer of the generator comes from 127.0.0.1, and a broadcast scenario sends far more
  // than a player would: the per-source caps and the per-peer rates (policy, tested in
  // apps/relay) would refuse or drop what this benchmark is here to forward.
  for (const char* flag :
       {"--max-connections-per-source=1000000", "--handshake-rate-per-source=1000000",
        "--max-rooms-per-source=65535", "--peer-rate=off", "--peer-broadcast-rate=off"}) {
    argv.emplace_back(flag);
  }
  if (config.metrics_port != 0) {
    argv.push_back("--metrics-listen");
    argv.push_back(fmt::format("127.0.0.1:{}", config.metrics_port));
  }
  auto child = ChildProcess::spawn(SpawnOptions{
      .argv = std::move(argv), .cpu = config.cpu, .capture_stderr = true, .silence_stdout = true});
  if (!child) return tl::unexpected(child.error());
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + config.startup_timeout;
  for (;;) {
    if (auto port = banner_port(text)) {
      const int fd = child->stderr_fd();
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      return RelayProcess(std::move(*child), *port);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return fail(Errc::kTimedOut,
                  fmt::format("{} printed no \"is up on\" banner within {} ms: {}",
                              config.binary.string(), config.startup_timeout.count(), text));
    }
    pollfd p{.fd = child->stderr_fd(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(child->stderr_fd(), buffer, sizeof(buffer));
    if (n <= 0) {
      auto status = child->wait_for(std::chrono::milliseconds(1000));
      return fail(Errc::kClosed,
                  fmt::format("{} exited before listening ({}): {}", config.binary.string(),
                              status ? describe_wait_status(*status) : "still running", text));
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

bool RelayProcess::forward_output() noexcept {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(child_.stderr_fd(), buffer, sizeof(buffer));
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    for (ssize_t i = 0; i < n; ++i) {
      if (at_line_start_) std::fputs("[relay] ", stderr);
      std::fputc(buffer[i], stderr);
      at_line_start_ = buffer[i] == '\n';
    }
  }
}

std::optional<int> RelayProcess::exited() {
  if (!child_.running()) return std::nullopt;
  auto status = child_.wait_for(std::chrono::milliseconds(0));
  if (!status) return std::nullopt;
  return *status;
}

Result<int> RelayProcess::stop(std::chrono::milliseconds grace) {
  return child_.terminate(SIGTERM, grace);
}

}  // namespace lanparty::bench
