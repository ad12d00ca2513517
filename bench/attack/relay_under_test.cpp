// SPDX-License-Identifier: MIT
// Starting, watching and stopping the relay child; /proc memory samples; metrics scrapes.
#include "relay_under_test.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::bench::attack {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kRecentLogBytes = 16384;

// "...lanparty-relay is up on 0.0.0.0:40123.\n" -> 40123, once the line is complete.
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

Result<std::unique_ptr<RelayUnderTest>> RelayUnderTest::start(const RelayOptions& options) {
  std::unique_ptr<RelayUnderTest> relay(new RelayUnderTest());
  auto metrics_port = pick_free_tcp_port();
  if (!metrics_port) return tl::unexpected(metrics_port.error());
  relay->metrics_port_ = *metrics_port;
  relay->der_ = options.work_dir / "relay.der";
  relay->log_ = options.work_dir / "relay.log";
  std::vector<std::string> argv = {
      options.binary.string(),
      "--listen",
      options.listen,
      "--dev-cert-der-out",
      relay->der_.string(),
      "--rooms",
      "claimed",
      "--state-dir",
      (options.state_dir.empty() ? options.work_dir / "state" : options.state_dir).string(),
      "--metrics-listen",
      fmt::format("127.0.0.1:{}", *metrics_port),
      "--log-level",
      options.log_level};
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  auto child = ChildProcess::spawn(SpawnOptions{
      .argv = std::move(argv), .cpu = options.cpu, .capture_stderr = true, .silence_stdout = true});
  if (!child) return tl::unexpected(child.error());
  relay->pid_ = child->pid();
  // The relay must never block on a full pipe while we are busy attacking it: a large pipe
  // and a thread that does nothing but copy it to a file.
  (void)::fcntl(child->stderr_fd(), F_SETPIPE_SZ, 1 << 20);
  relay->child_.emplace(std::move(*child));
  std::promise<std::uint16_t> banner;
  auto port = banner.get_future();
  relay->drainer_ = std::thread(
      [raw = relay.get(), b = std::move(banner)]() mutable noexcept { raw->drain(std::move(b)); });
  if (port.wait_for(options.startup_timeout) != std::future_status::ready) {
    return fail(Errc::kTimedOut, fmt::format("{} printed no \"is up on\" banner within {} ms: {}",
                                             options.binary.string(),
                                             options.startup_timeout.count(), relay->log_tail(20)));
  }
  try {
    relay->port_ = port.get();
  } catch (const std::future_error&) {
    auto status = relay->child_->wait_for(std::chrono::milliseconds(2000));
    return fail(
        Errc::kClosed,
        fmt::format("{} exited before listening ({}): {}", options.binary.string(),
                    status ? describe_wait_status(*status) : "still running", relay->log_tail(20)));
  }
  return relay;
}

void RelayUnderTest::drain(std::promise<std::uint16_t> banner) noexcept {
  std::FILE* log = std::fopen(log_.c_str(), "w");
  bool banner_sent = false;
  std::string head;  // everything until the banner
  char buffer[65536];
  const int fd = child_->stderr_fd();
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const std::string_view chunk(buffer, static_cast<std::size_t>(n));
    if (log != nullptr) std::fwrite(chunk.data(), 1, chunk.size(), log);
    {
      std::lock_guard lock(log_mutex_);
      recent_.append(chunk);
      if (recent_.size() > 2 * kRecentLogBytes) recent_.erase(0, recent_.size() - kRecentLogBytes);
    }
    if (!banner_sent) {
      head.append(chunk);
      if (auto p = banner_port(head)) {
        banner.set_value(*p);
        banner_sent = true;
        head.clear();
      }
    }
  }
  if (log != nullptr) std::fclose(log);
  // Exited before the banner: start() sees a broken promise.
  if (!banner_sent) {
    try {
      banner.set_exception(
          std::make_exception_ptr(std::future_error(std::future_errc::broken_promise)));
    } catch (...) {
    }
  }
}

RelayUnderTest::~RelayUnderTest() {
  if (child_ && child_->running())
    (void)child_->terminate(SIGKILL, std::chrono::milliseconds(2000));
  if (drainer_.joinable()) drainer_.join();
}

std::optional<int> RelayUnderTest::exited() {
  if (exit_status_) return exit_status_;
  if (!child_ || !child_->running()) return exit_status_;
  auto status = child_->wait_for(std::chrono::milliseconds(0));
  if (status) exit_status_ = *status;
  return exit_status_;
}

Result<int> RelayUnderTest::stop(std::chrono::milliseconds grace) {
  if (!exit_status_ && child_ && child_->running()) {
    auto status = child_->terminate(SIGTERM, grace);
    if (!status) return status;
    exit_status_ = *status;
  }
  if (drainer_.joinable()) drainer_.join();
  if (!exit_status_) return fail(Errc::kNotFound, "the relay was never started");
  return *exit_status_;
}

std::string RelayUnderTest::log_tail(std::size_t lines) const {
  std::lock_guard lock(log_mutex_);
  std::size_t at = recent_.size();
  std::size_t seen = 0;
  while (at > 0) {
    if (recent_[at - 1] == '\n' && at != recent_.size() && ++seen == lines) break;
    --at;
  }
  return recent_.substr(at);
}

// --- memory ------------------------------------------------------------------------------

std::optional<MemorySample> read_memory(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  if (!in) return std::nullopt;
  MemorySample sample;
  bool rss = false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      sample.rss_kib = std::strtoull(line.c_str() + 6, nullptr, 10);
      rss = true;
    } else if (line.rfind("VmHWM:", 0) == 0) {
      sample.hwm_kib = std::strtoull(line.c_str() + 6, nullptr, 10);
    } else if (line.rfind("RssAnon:", 0) == 0) {
      sample.anon_kib = std::strtoull(line.c_str() + 8, nullptr, 10);
    }
  }
  if (!rss) return std::nullopt;  // a zombie has no VmRSS line
  return sample;
}

MemorySampler::MemorySampler(pid_t pid, std::chrono::milliseconds period)
    : thread_([this, pid, period] { run(pid, period); }) {}

MemorySampler::~MemorySampler() { stop(); }

void MemorySampler::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void MemorySampler::run(pid_t pid, std::chrono::milliseconds period) {
  const auto start = Clock::now();
  auto next = start;
  while (!stop_.load()) {
    if (auto memory = read_memory(pid)) {
      std::lock_guard lock(mutex_);
      samples_.push_back(Sample{.t_s = std::chrono::duration<double>(Clock::now() - start).count(),
                                .phase = phase_.load(),
                                .memory = *memory});
    }
    next += period;
    std::this_thread::sleep_until(next);
  }
}

std::vector<MemorySampler::Sample> MemorySampler::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::optional<MemorySample> MemorySampler::latest() const {
  std::lock_guard lock(mutex_);
  if (samples_.empty()) return std::nullopt;
  return samples_.back().memory;
}

// --- metrics -----------------------------------------------------------------------------

MetricSeries parse_prometheus(const std::string& text) {
  MetricSeries series;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = std::min(text.find('\n', at), text.size());
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string_view::npos || space == 0) continue;
    const std::string value(line.substr(space + 1));
    char* parsed_end = nullptr;
    const double v = std::strtod(value.c_str(), &parsed_end);
    if (parsed_end == value.c_str()) continue;
    series[std::string(line.substr(0, space))] = v;
  }
  return series;
}

Result<MetricSeries> scrape_metrics(std::uint16_t port, std::chrono::milliseconds timeout) {
  auto text = http_get(port, "/metrics", timeout);
  if (!text) return tl::unexpected(text.error());
  return parse_prometheus(*text);
}

MetricSeries metric_deltas(const MetricSeries& before, const MetricSeries& after) {
  MetricSeries deltas;
  for (const auto& [name, value] : after) {
    const auto it = before.find(name);
    const double delta = value - (it == before.end() ? 0.0 : it->second);
    if (delta != 0) deltas[name] = delta;
  }
  return deltas;
}

}  // namespace lanparty::bench::attack
