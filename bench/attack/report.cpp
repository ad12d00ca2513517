// SPDX-License-Identifier: MIT
// Markdown and JSON reports of an attack run.
#include "report.hpp"

#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "child_process.hpp"

namespace lanparty::bench::attack {
namespace {

std::string mib(std::uint64_t kib) {
  return fmt::format("{:.1f}", static_cast<double>(kib) / 1024.0);
}

std::string yes_no(bool v) { return v ? "yes" : "**NO**"; }

std::string probe_text(const std::vector<JoinProbe>& probes) {
  if (probes.empty()) return "-";
  std::string text;
  for (const auto& p : probes) {
    if (!text.empty()) text += "; ";
    text += fmt::format("{}: {} ({:.0f} ms)", p.who, p.outcome, p.ms);
  }
  return text;
}

std::string exit_text(const ScenarioResult& r) {
  if (!r.relay_exit_status) return "-";
  std::string text = describe_wait_status(*r.relay_exit_status);
  if (r.relay_died) text = "DIED: " + text;
  return text;
}

nlohmann::json ping_json(const PingSummary& p) {
  return {{"sent", p.sent},
          {"answered", p.answered},
          {"lost", p.lost},
          {"late", p.late},
          {"loss_percent", p.loss_percent()},
          {"p50_ms", p.p50_ms},
          {"p99_ms", p.p99_ms},
          {"max_ms", p.max_ms}};
}

nlohmann::json probes_json(const std::vector<JoinProbe>& probes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : probes) {
    out.push_back({{"who", p.who}, {"ok", p.ok}, {"outcome", p.outcome}, {"ms", p.ms}});
  }
  return out;
}

// The relay counters worth a reader's eye: refusals, drops and admissions, not byte totals.
bool interesting(const std::string& series) {
  for (const char* word : {"reject", "drop", "refus", "limit", "admitted", "claims", "kick",
                           "revocation", "error", "retry", "cap", "closed", "timeout"}) {
    if (series.find(word) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

bool ScenarioResult::ping_good() const noexcept {
  const PingSummary& p = pings[static_cast<std::size_t>(Phase::kAttack)];
  return p.sent > 0 && p.lost == 0 && p.p99_ms < kP99LimitMs;
}

bool ScenarioResult::probes_good() const noexcept {
  for (const auto* probes : {&probes_during, &probes_after}) {
    for (const auto& p : *probes) {
      if (!p.ok) return false;
    }
  }
  return !probes_after.empty();
}

bool ScenarioResult::clean_exit() const noexcept {
  return !relay_died && relay_exit_status && WIFEXITED(*relay_exit_status) &&
         WEXITSTATUS(*relay_exit_status) == 0;
}

std::string summary_line(const ScenarioResult& r) {
  if (!r.ran) return fmt::format("{:<22} not run: {}", r.name, r.error);
  const PingSummary& p = r.pings[static_cast<std::size_t>(Phase::kAttack)];
  return fmt::format(
      "{:<22} RSS MiB idle {:>6} peak {:>6} after {:>6} (anon {:>6} -> {:>6}) | ping sent {:>4} "
      "lost {:>4} p50 {:>6.2f} "
      "p99 {:>7.2f} max {:>7.2f} ms | fresh joins {} | relay {}{}",
      r.name, mib(r.rss_idle_kib), mib(r.rss_peak_kib), mib(r.rss_after_kib), mib(r.anon_idle_kib),
      mib(r.anon_after_kib), p.sent, p.lost, p.p50_ms, p.p99_ms, p.max_ms,
      r.probes_good() ? "ok" : "FAILED", exit_text(r), r.error.empty() ? "" : " | " + r.error);
}

std::string markdown_report(const RunInfo& info, const std::vector<ScenarioResult>& results) {
  std::string out;
  out += fmt::format("Relay `{}`", info.relay_binary);
  if (!info.commit.empty()) out += fmt::format(" (commit {})", info.commit);
  if (!info.relay_args.empty()) {
    std::string args;
    for (const auto& a : info.relay_args) args += " " + a;
    out += fmt::format(" with `{}`", args.substr(1));
  }
  out += fmt::format(
      "; {}; attack phase at most {:.0f} s per scenario; legit thread real-time: {}; relay "
      "pinned to its own CPU: {}; load average {:.2f} before, {:.2f} after.\n\n",
      info.network, info.duration_s, info.realtime ? "yes" : "no", info.pinned ? "yes" : "no",
      info.load_before, info.load_after);
  out +=
      "| scenario | RSS idle MiB | peak MiB | after MiB | ping sent/lost (attack) | p50 ms | "
      "p99 ms | max ms | fresh joins during | fresh joins after | relay at SIGTERM |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    if (!r.ran) {
      out += fmt::format("| {} | not run: {} |||||||||\n", r.name, r.error);
      continue;
    }
    const PingSummary& p = r.pings[static_cast<std::size_t>(Phase::kAttack)];
    out += fmt::format("| {} | {} | {} | {} | {}/{} | {:.2f} | {:.2f} | {:.2f} | {} | {} | {} |\n",
                       r.name, mib(r.rss_idle_kib), mib(r.rss_peak_kib), mib(r.rss_after_kib),
                       p.sent, p.lost, p.p50_ms, p.p99_ms, p.max_ms, probe_text(r.probes_during),
                       probe_text(r.probes_after), exit_text(r));
  }
  out +=
      "\nWhat the issue asks, per scenario (RSS < 512 MiB; back within 10 % of idle; ping "
      "0 % loss and p99 < 10 ms while attacked; every fresh join from another address "
      "welcomed; SIGTERM exit 0):\n\n"
      "| scenario | RSS < 512 MiB | RSS back | ping | fresh joins | clean exit |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    if (!r.ran) continue;
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", r.name, yes_no(r.rss_under_limit()),
                       yes_no(r.rss_returned()), yes_no(r.ping_good()), yes_no(r.probes_good()),
                       yes_no(r.clean_exit()));
  }
  for (const auto& r : results) {
    if (!r.ran) continue;
    out += fmt::format("\n### {}\n\n", r.name);
    out += fmt::format("Attack ran {:.1f} s. ", r.attack_seconds);
    const PingSummary& idle = r.pings[static_cast<std::size_t>(Phase::kIdle)];
    const PingSummary& settle = r.pings[static_cast<std::size_t>(Phase::kSettle)];
    out += fmt::format(
        "Ping idle: {} sent, {} lost, p50 {:.2f} / p99 {:.2f} ms; settling: {} sent, {} lost, "
        "p99 {:.2f} ms. Legit room intact: {}{}. Relay VmHWM {} MiB; UDP receive-buffer drops "
        "at the relay: {}; relay CPU while attacked {:.2f} s/s, waiting for its CPU {:.2f} "
        "s/s.\n\n",
        idle.sent, idle.lost, idle.p50_ms, idle.p99_ms, settle.sent, settle.lost, settle.p99_ms,
        r.legit_intact ? "yes" : "no", r.legit_trouble.empty() ? "" : " (" + r.legit_trouble + ")",
        mib(r.rss_hwm_kib), r.relay_udp_drops, r.relay_cpu_share, r.relay_wait_share,
        r.attacker_cpu_share);
    out += "Attacker: ";
    bool first = true;
    for (const auto& [k, v] : r.attack.counts) {
      out += fmt::format("{}{} {:.6g}", first ? "" : ", ", k, v);
      first = false;
    }
    out += ".\n";
    for (const auto& n : r.attack.notes) out += fmt::format("- {}\n", n);
    out += "\nRelay counters that moved:";
    first = true;
    for (const auto& [k, v] : r.relay_deltas) {
      if (!interesting(k)) continue;
      out += fmt::format("{} `{}` {:.6g}", first ? "" : ",", k, v);
      first = false;
    }
    if (first) out += r.metrics_scrape_failed ? " (scrape failed)" : " none";
    out += ".\n";
    if (!r.error.empty()) out += fmt::format("\nError: {}\n", r.error);
  }
  return out;
}

std::string json_report(const RunInfo& info, const std::vector<ScenarioResult>& results) {
  nlohmann::json root;
  root["relay_binary"] = info.relay_binary;
  root["relay_args"] = info.relay_args;
  root["commit"] = info.commit;
  root["network"] = info.network;
  root["duration_s"] = info.duration_s;
  root["load_before"] = info.load_before;
  root["load_after"] = info.load_after;
  root["legit_realtime"] = info.realtime;
  root["relay_pinned"] = info.pinned;
  root["seconds_per_initial"] = info.seconds_per_initial;
  nlohmann::json scenarios = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json s;
    s["name"] = r.name;
    s["ran"] = r.ran;
    s["skipped"] = r.skipped;
    s["error"] = r.error;
    s["attack_seconds"] = r.attack_seconds;
    s["rss_kib"] = {{"idle", r.rss_idle_kib},       {"peak", r.rss_peak_kib},
                    {"hwm", r.rss_hwm_kib},         {"after", r.rss_after_kib},
                    {"anon_idle", r.anon_idle_kib}, {"anon_after", r.anon_after_kib}};
    nlohmann::json pings;
    for (std::size_t i = 0; i < kPhaseCount; ++i) {
      pings[std::string(to_string(static_cast<Phase>(i)))] = ping_json(r.pings[i]);
    }
    s["ping"] = pings;
    s["legit_intact"] = r.legit_intact;
    s["legit_trouble"] = r.legit_trouble;
    s["probes_during"] = probes_json(r.probes_during);
    s["probes_after"] = probes_json(r.probes_after);
    nlohmann::json counts = nlohmann::json::object();
    for (const auto& [k, v] : r.attack.counts) counts[k] = v;
    s["attack"] = {{"counts", counts}, {"notes", r.attack.notes}};
    s["relay_metric_deltas"] = r.relay_deltas;
    s["relay_udp_drops"] = r.relay_udp_drops;
    s["relay_cpu_share"] = r.relay_cpu_share;
    s["relay_wait_share"] = r.relay_wait_share;
    s["attacker_cpu_share"] = r.attacker_cpu_share;
    if (r.relay_connections_at_peak) s["relay_connections_at_peak"] = *r.relay_connections_at_peak;
    s["relay_died"] = r.relay_died;
    s["relay_exit"] = r.relay_exit_status ? describe_wait_status(*r.relay_exit_status) : "";
    s["checks"] = {{"rss_under_512_mib", r.rss_under_limit()},
                   {"rss_back_within_10_percent", r.rss_returned()},
                   {"ping_no_loss_p99_under_10_ms", r.ping_good()},
                   {"fresh_joins_welcomed", r.probes_good()},
                   {"clean_exit", r.clean_exit()}};
    scenarios.push_back(std::move(s));
  }
  root["scenarios"] = std::move(scenarios);
  return root.dump(2) + "\n";
}

}  // namespace lanparty::bench::attack
