// SPDX-License-Identifier: MIT
// Child processes for the relay benchmark (the real lanparty-relay, perf, the QUIC bench),
// pinned to one CPU, plus the per-process CPU time the benchmark divides by. Linux only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lanparty/base/result.hpp"

namespace lanparty::bench {

// Whether this process may run on `cpu` (its affinity mask allows it).
[[nodiscard]] bool cpu_allowed(int cpu) noexcept;
// Restricts process `pid` (0 = this process) to the one CPU `cpu`.
[[nodiscard]] Status pin_to_cpu(pid_t pid, int cpu);

// utime + stime of `pid` from /proc/<pid>/stat, in seconds (resolution: one clock tick,
// 10 ms at the usual USER_HZ of 100). kNotFound once the process is gone.
[[nodiscard]] Result<double> process_cpu_seconds(pid_t pid);
// Seconds `pid` spent runnable but waiting for a CPU (second field of /proc/<pid>/schedstat,
// nanosecond resolution): how much other work on its CPU delayed it.
[[nodiscard]] Result<double> process_run_queue_wait_seconds(pid_t pid);
// Receive-buffer drops (last column of /proc/net/udp) of IPv4 UDP sockets: `local` sums the
// sockets bound to 127.0.0.1:port, `remote` the sockets connected to it.
struct UdpDrops {
  std::uint64_t local = 0;
  std::uint64_t remote = 0;
};
[[nodiscard]] UdpDrops udp_drops_for_port(std::uint16_t port);
// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close).
[[nodiscard]] Result<std::uint16_t> pick_free_tcp_port();
// GET http://127.0.0.1:port/path with HTTP/1.0; the body on status 200.
[[nodiscard]] Result<std::string> http_get(std::uint16_t port, const std::string& path,
                                           std::chrono::milliseconds timeout);
// Resident set size of `pid` (VmRSS of /proc/<pid>/status), in bytes.
[[nodiscard]] Result<std::uint64_t> process_rss_bytes(pid_t pid);
// This process's own utime + stime (children excluded), in seconds.
[[nodiscard]] double self_cpu_seconds() noexcept;
// The 1-minute load average, or -1 if /proc/loadavg cannot be read.
[[nodiscard]] double load_average_1min() noexcept;

struct SpawnOptions {
  std::vector<std::string> argv{};  // argv[0] is the executable path (no PATH search)
  std::optional<int> cpu{};         // pin the child to this CPU before exec
  bool capture_stdout = false;      // otherwise inherited
  bool capture_stderr = false;      // otherwise inherited
  bool silence_stdout = false;      // /dev/null (ignored when captured)
};

// One child, killed (SIGKILL) and reaped by the destructor if still running. Move-only.
// The child also gets SIGTERM if this process dies first (PR_SET_PDEATHSIG).
class ChildProcess {
 public:
  [[nodiscard]] static Result<ChildProcess> spawn(const SpawnOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool running() const noexcept { return pid_ > 0; }
  // Pipe read ends (blocking), -1 when not captured. Owned by this object.
  [[nodiscard]] int stdout_fd() const noexcept { return stdout_fd_; }
  [[nodiscard]] int stderr_fd() const noexcept { return stderr_fd_; }

  [[nodiscard]] Status send_signal(int signal_number);
  // Waits until the child exits or `timeout` passes (kTimedOut; still running). Returns the
  // raw wait status (WIFEXITED etc.). Non-blocking when timeout is 0.
  [[nodiscard]] Result<int> wait_for(std::chrono::milliseconds timeout);
  // signal, wait up to grace, then SIGKILL and reap. Returns the wait status.
  [[nodiscard]] Result<int> terminate(int signal_number, std::chrono::milliseconds grace);

 private:
  ChildProcess(pid_t pid, int stdout_fd, int stderr_fd) noexcept
      : pid_(pid), stdout_fd_(stdout_fd), stderr_fd_(stderr_fd) {}
  void release() noexcept;

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
};

// "exit 0", "signal 9": a wait status for people.
[[nodiscard]] std::string describe_wait_status(int status);

struct RelayProcessConfig {
  std::filesystem::path binary{};   // lanparty-relay
  std::filesystem::path der_out{};  // --dev-cert-der-out; key and chain are kept beside it
  std::optional<int> cpu{};
  std::string log_level = "warn";
  std::uint16_t metrics_port = 0;  // --metrics-listen 127.0.0.1:PORT when non-zero
  std::chrono::milliseconds startup_timeout{10000};
};

// The real relay on 127.0.0.1 with an ephemeral port, a development certificate and
// --stats-interval 0. start() returns once the relay printed its "is up on" banner, so the
// port is bound and the DER file written.
class RelayProcess {
 public:
  [[nodiscard]] static Result<RelayProcess> start(const RelayProcessConfig& config);

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return child_.pid(); }
  // Non-blocking after start(); what the relay writes to stderr (its warnings).
  [[nodiscard]] int stderr_fd() const noexcept { return child_.stderr_fd(); }
  // Copies what is waiting on stderr_fd() to our stderr, each line prefixed "[relay] ".
  // Returns false at end of file (the relay closed stderr: it exited).
  bool forward_output() noexcept;
  // utime + stime so far.
  [[nodiscard]] Result<double> cpu_seconds() const { return process_cpu_seconds(child_.pid()); }
  // Non-blocking: the wait status if the relay has exited.
  [[nodiscard]] std::optional<int> exited();
  // SIGTERM (the relay's graceful shutdown), SIGKILL after `grace`. The wait status.
  [[nodiscard]] Result<int> stop(std::chrono::milliseconds grace);

 private:
  RelayProcess(ChildProcess child, std::uint16_t port) noexcept
      : child_(std::move(child)), port_(port) {}

  ChildProcess child_;
  std::uint16_t port_ = 0;
  bool at_line_start_ = true;
};

}  // namespace lanparty::bench
