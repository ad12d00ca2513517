// SPDX-License-Identifier: MIT
// The real lanparty-relay as a child process in claimed mode with its own state directory,
// its stderr kept in a file, its memory sampled from /proc every 100 ms, and its Prometheus
// counters scraped.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "lanparty/base/result.hpp"

namespace lanparty::bench::attack {

struct RelayOptions {
  std::filesystem::path binary;
  std::vector<std::string> extra_args;  // --relay-arg, appended last
  std::string listen = "127.0.0.1:0";
  std::filesystem::path work_dir;   // relay.der (+ key), relay.log; must exist
  std::filesystem::path state_dir;  // --state-dir (room records); empty: work_dir/state
  std::optional<int> cpu;
  std::string log_level = "info";
  std::chrono::milliseconds startup_timeout{15000};
};

class RelayUnderTest {
 public:
  // Returns once the relay printed its "is up on" banner (port bound, certificate written).
  [[nodiscard]] static Result<std::unique_ptr<RelayUnderTest>> start(const RelayOptions& options);
  ~RelayUnderTest();
  RelayUnderTest(const RelayUnderTest&) = delete;
  RelayUnderTest& operator=(const RelayUnderTest&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::uint16_t metrics_port() const noexcept { return metrics_port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] const std::filesystem::path& certificate_der() const noexcept { return der_; }
  [[nodiscard]] const std::filesystem::path& log_path() const noexcept { return log_; }
  // The wait status once the relay has exited (it is reaped then); nullopt while it runs.
  [[nodiscard]] std::optional<int> exited();
  // SIGTERM, then SIGKILL after `grace`; the wait status. Idempotent.
  [[nodiscard]] Result<int> stop(std::chrono::milliseconds grace);
  // The last `lines` lines the relay wrote to stderr.
  [[nodiscard]] std::string log_tail(std::size_t lines) const;

 private:
  RelayUnderTest() = default;
  void drain(std::promise<std::uint16_t> banner) noexcept;

  std::optional<ChildProcess> child_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t metrics_port_ = 0;
  std::filesystem::path der_;
  std::filesystem::path log_;
  std::thread drainer_;
  std::optional<int> exit_status_;
  mutable std::mutex log_mutex_;
  std::string recent_;  // the log's last few KiB, for log_tail()
};

// VmRSS and VmHWM of a process, in KiB; nullopt once it is gone. RssAnon is the part that is
// the process's own memory (heap, stacks); the rest of VmRSS is file pages (library code
// first run during an attack stays mapped until the kernel needs the page).
struct MemorySample {
  std::uint64_t rss_kib = 0;
  std::uint64_t hwm_kib = 0;
  std::uint64_t anon_kib = 0;
};
[[nodiscard]] std::optional<MemorySample> read_memory(pid_t pid);

// Samples a process's memory every `period` on its own thread, each sample tagged with the
// phase current when it was taken.
class MemorySampler {
 public:
  struct Sample {
    double t_s = 0;  // since start()
    int phase = 0;
    MemorySample memory;
  };
  MemorySampler(pid_t pid, std::chrono::milliseconds period);
  ~MemorySampler();
  MemorySampler(const MemorySampler&) = delete;
  MemorySampler& operator=(const MemorySampler&) = delete;

  void set_phase(int phase) noexcept { phase_.store(phase); }
  void stop();
  // Copies of what was sampled so far.
  [[nodiscard]] std::vector<Sample> samples() const;
  // The latest sample (taken now if none yet).
  [[nodiscard]] std::optional<MemorySample> latest() const;

 private:
  void run(pid_t pid, std::chrono::milliseconds period);

  std::atomic<int> phase_{0};
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
  std::thread thread_;
};

// The relay's counters, one value per series ("name" or "name{label=\"v\"}").
using MetricSeries = std::map<std::string, double>;
[[nodiscard]] MetricSeries parse_prometheus(const std::string& text);
[[nodiscard]] Result<MetricSeries> scrape_metrics(std::uint16_t port,
                                                  std::chrono::milliseconds timeout);
// after - before, for every series that changed (series only in `after` count from 0).
[[nodiscard]] MetricSeries metric_deltas(const MetricSeries& before, const MetricSeries& after);

}  // namespace lanparty::bench::attack
