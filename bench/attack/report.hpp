// SPDX-License-Identifier: MIT
// One scenario's figures, what the issue asks of them, and the markdown and JSON reports.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attacks.hpp"
#include "legit_room.hpp"
#include "relay_under_test.hpp"

namespace lanparty::bench::attack {

inline constexpr std::uint64_t kRssLimitKib = 512 * 1024;
inline constexpr double kAfterTolerance = 0.10;
inline constexpr double kP99LimitMs = 10.0;

struct ScenarioResult {
  std::string name;
  bool ran = false;      // got as far as attacking
  bool skipped = false;  // not possible here (spoofed sources without root)
  std::string error;     // why not, or what went wrong on the way
  double attack_seconds = 0;
  // Relay memory (KiB): end of the idle phase, highest sample while attacked or settling,
  // the kernel's high-water mark, and the last sample after the settle period.
  std::uint64_t rss_idle_kib = 0;
  std::uint64_t rss_peak_kib = 0;
  std::uint64_t rss_hwm_kib = 0;
  std::uint64_t rss_after_kib = 0;
  std::uint64_t anon_idle_kib = 0;  // RssAnon at the same two moments
  std::uint64_t anon_after_kib = 0;
  std::array<PingSummary, kPhaseCount> pings{};
  bool legit_realtime = false;  // its thread got SCHED_FIFO
  bool legit_intact = false;    // the room's three peers were still in at the end
  std::string legit_trouble;
  std::vector<JoinProbe> probes_during;
  std::vector<JoinProbe> probes_after;
  AttackTally attack;
  MetricSeries relay_deltas;                        // counters that moved, idle end -> settle end
  std::optional<double> relay_connections_at_peak;  // lanparty_relay_connections gauge
  bool metrics_scrape_failed = false;
  std::uint64_t relay_udp_drops = 0;
  // Relay CPU seconds per second of attack, and seconds per second it was runnable but waited
  // for its CPU (other work on the machine): -1 when unknown.
  double relay_cpu_share = -1;
  double relay_wait_share = -1;
  double attacker_cpu_share = -1;  // this program, every thread
  bool relay_died = false;         // exited on its own before we stopped it
  std::optional<int> relay_exit_status;
  std::string relay_log;

  // The figures, judged (informational; only --check turns some into an exit code).
  [[nodiscard]] bool rss_under_limit() const noexcept { return rss_peak_kib < kRssLimitKib; }
  [[nodiscard]] bool rss_returned() const noexcept {
    return rss_idle_kib != 0 && static_cast<double>(rss_after_kib) <=
                                    static_cast<double>(rss_idle_kib) * (1 + kAfterTolerance);
  }
  [[nodiscard]] bool ping_good() const noexcept;
  [[nodiscard]] bool probes_good() const noexcept;
  [[nodiscard]] bool clean_exit() const noexcept;
};

struct RunInfo {
  std::string relay_binary;
  std::vector<std::string> relay_args;
  std::string commit;   // of the source tree, when known
  std::string network;  // "private namespace 10.213.0.0/16" or "host loopback"
  double duration_s = 0;
  double load_before = 0;
  double load_after = 0;
  bool realtime = false;
  bool pinned = false;
  double seconds_per_initial = 0;
};

[[nodiscard]] std::string markdown_report(const RunInfo& info,
                                          const std::vector<ScenarioResult>& results);
[[nodiscard]] std::string json_report(const RunInfo& info,
                                      const std::vector<ScenarioResult>& results);
// One line per scenario for the terminal.
[[nodiscard]] std::string summary_line(const ScenarioResult& result);

}  // namespace lanparty::bench::attack
