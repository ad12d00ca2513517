// SPDX-License-Identifier: MIT
// lanparty_attack: drives a real lanparty-relay (a child process, claimed rooms, its own state
// directory) through bounded attack scenarios while a legitimate room keeps pinging, and
// reports the relay's memory, the room's round trips, fresh joins and the relay's refusals.
// See README.md.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "attack_net.hpp"
#include "attacks.hpp"
#include "child_process.hpp"
#include "initials.hpp"
#include "lanparty/quic/certificate.hpp"
#include "legit_room.hpp"
#include "relay_under_test.hpp"
#include "report.hpp"

#ifndef LANPARTY_RELAY_BINARY
#define LANPARTY_RELAY_BINARY ""
#endif

namespace lanparty::bench::attack {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kProbeTimeout = 5s;
constexpr auto kRelayStopGrace = 5s;
constexpr auto kScrapeTimeout = 3s;
constexpr int kAttackCpu = 0;
constexpr int kRelayCpu = 1;

struct Options {
  std::string relay_binary = LANPARTY_RELAY_BINARY;
  std::vector<std::string> relay_args;
  std::vector<std::string> scenarios;
  bool all = false;
  double duration_s = 10;
  double idle_s = 2;
  double settle_s = 0;  // 0: per scenario (7 s, 12 s after handshake floods)
  std::string report;
  std::string json;
  bool netns = true;
  bool pin = false;
  bool realtime = true;
  bool check = false;
  bool keep = false;
  bool list = false;
  std::string relay_log_level = "info";
  std::string state_root;  // room records elsewhere (e.g. /dev/shm: no fsync cost)
  std::size_t initials = 10000;
  std::string commit;
};

bool needs_initials(const std::string& name) {
  return name == "half_open" || name == "spoofed_initials" || name == "mixed";
}

// The relay keeps half-open handshakes for its handshake timeout (10 s): settle past it.
std::chrono::milliseconds settle_time(const Options& options, const std::string& name) {
  if (options.settle_s > 0) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(options.settle_s * 1000));
  }
  return needs_initials(name) ? 12s : 7s;
}

std::chrono::milliseconds seconds_to_ms(double s) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

struct Context {
  const Options& options;
  NetworkPlan plan;
  std::filesystem::path work_root;
  std::optional<InitialPool> initials;
  std::size_t initials_needed = 0;  // by the scenarios selected, at most --initials
  bool pinned = false;
};

// Runs the main thread's part while a scenario is attacking: probes at the peak (or half-time),
// watching for the relay dying. False if the attack ended before the moment to probe.
bool watch_attack(AttackRunner& runner, LegitRoom& legit, RelayUnderTest& relay,
                  std::chrono::milliseconds duration, ScenarioResult& result,
                  std::optional<MetricSeries>& at_peak) {
  const auto start = Clock::now();
  bool probed = false;
  while (!runner.finished()) {
    if (relay.exited()) {
      result.relay_died = true;
      runner.stop();
      break;
    }
    if (!probed && (runner.at_peak() || Clock::now() - start >= duration / 2)) {
      probed = true;
      auto metrics = scrape_metrics(relay.metrics_port(), kScrapeTimeout);
      if (metrics) at_peak = std::move(*metrics);
      result.probes_during = legit.probe(/*new_room=*/true, kProbeTimeout);
      continue;
    }
    std::this_thread::sleep_for(20ms);
  }
  return probed;
}

ScenarioResult run_scenario(const std::string& name, Context& ctx) {
  const Options& options = ctx.options;
  ScenarioResult result;
  result.name = name;
  if (name == "spoofed_initials" && !ctx.plan.raw_sockets) {
    result.error = "skipped: needs root (a private network namespace and raw sockets)";
    result.skipped = true;
    return result;
  }
  if (needs_initials(name) && !ctx.initials) {
    auto pool = InitialPool::generate(ctx.initials_needed, "lanparty-relay", 120s);
    if (!pool) {
      result.error = "capturing Initials: " + pool.error().describe();
      return result;
    }
    std::printf("captured %zu client Initials (%.0f us each)\n", pool->size(),
                pool->seconds_per_initial() * 1e6);
    ctx.initials.emplace(std::move(*pool));
  }
  const auto work_dir = ctx.work_root / name;
  std::filesystem::create_directories(work_dir);

  auto relay = RelayUnderTest::start(
      RelayOptions{.binary = options.relay_binary,
                   .extra_args = options.relay_args,
                   .listen = ctx.plan.relay_listen,
                   .work_dir = work_dir,
                   .state_dir = options.state_root.empty()
                                    ? std::filesystem::path()
                                    : std::filesystem::path(options.state_root) /
                                          (ctx.work_root.filename().string() + "-" + name),
                   .cpu = ctx.pinned ? std::optional<int>(kRelayCpu) : std::nullopt,
                   .log_level = options.relay_log_level});
  if (!relay) {
    result.error = "starting the relay: " + relay.error().describe();
    return result;
  }
  result.relay_log = (*relay)->log_path().string();
  auto der = quic::read_der((*relay)->certificate_der());
  if (!der) {
    result.error = "relay certificate: " + der.error().describe();
    return result;
  }
  const RelayTarget target{.port = (*relay)->port(), .pin = quic::certificate_sha256(*der)};
  MemorySampler sampler((*relay)->pid(), 100ms);

  auto legit = LegitRoom::start(
      LegitConfig{.relay = target,
                  .gateway_host = ctx.plan.legit_gateway_host,
                  .client_hosts = {ctx.plan.legit_client_hosts[0], ctx.plan.legit_client_hosts[1]},
                  .fresh_gateway_host = ctx.plan.fresh_gateway_host,
                  .fresh_client_host = ctx.plan.fresh_client_host,
                  .realtime = options.realtime},
      10s);
  if (!legit) {
    result.error =
        "legit room: " + legit.error().describe() + "; relay log: " + (*relay)->log_tail(5);
    return result;
  }
  LegitRoom& room = **legit;
  result.legit_realtime = room.realtime_applied();

  // Idle: the baseline the "after" memory is judged against.
  room.set_phase(Phase::kIdle);
  sampler.set_phase(static_cast<int>(Phase::kIdle));
  std::this_thread::sleep_for(seconds_to_ms(options.idle_s));
  if (auto idle = read_memory((*relay)->pid())) {
    result.rss_idle_kib = idle->rss_kib;
    result.anon_idle_kib = idle->anon_kib;
  }
  auto metrics_before = scrape_metrics((*relay)->metrics_port(), kScrapeTimeout);

  AttackEnv env{.relay = target,
                .attacker_host = ctx.plan.attacker_host,
                .raw_sockets = ctx.plan.raw_sockets,
                .initials = ctx.initials ? &*ctx.initials : nullptr,
                .legit_room = "LEGIT",
                .legit_invite = {},
                .duration = seconds_to_ms(options.duration_s)};
  if (auto invite = room.invite("intruder")) env.legit_invite = *invite;
  auto attack = make_attack(name, env);
  if (!attack) {
    result.error = attack.error().describe();
    return result;
  }
  result.ran = true;
  room.set_phase(Phase::kAttack);
  sampler.set_phase(static_cast<int>(Phase::kAttack));
  std::optional<MetricSeries> metrics_peak;
  const pid_t relay_pid = (*relay)->pid();
  const auto cpu0 = process_cpu_seconds(relay_pid);
  const auto wait0 = process_run_queue_wait_seconds(relay_pid);
  const double self0 = self_cpu_seconds();
  {
    AttackRunner runner(std::move(*attack), env.duration);
    const bool probed = watch_attack(runner, room, **relay, env.duration, result, metrics_peak);
    result.attack = runner.join();
    result.attack_seconds = runner.seconds();
    if (!probed && !result.relay_died) {
      result.attack.notes.push_back(
          "the attack ended before the moment to probe: no fresh "
          "joins tried during it");
    }
  }
  if (result.attack_seconds > 0) {
    result.attacker_cpu_share = (self_cpu_seconds() - self0) / result.attack_seconds;
  }
  const auto cpu1 = process_cpu_seconds(relay_pid);
  const auto wait1 = process_run_queue_wait_seconds(relay_pid);
  if (cpu0 && cpu1 && result.attack_seconds > 0) {
    result.relay_cpu_share = (*cpu1 - *cpu0) / result.attack_seconds;
  }
  if (wait0 && wait1 && result.attack_seconds > 0) {
    result.relay_wait_share = (*wait1 - *wait0) / result.attack_seconds;
  }
  if (metrics_peak) {
    const auto it = metrics_peak->find("lanparty_relay_connections");
    if (it != metrics_peak->end()) result.relay_connections_at_peak = it->second;
  }

  room.set_phase(Phase::kSettle);
  sampler.set_phase(static_cast<int>(Phase::kSettle));
  if (!result.relay_died) {
    const auto settle_end = Clock::now() + settle_time(options, name);
    while (Clock::now() < settle_end && !(*relay)->exited()) std::this_thread::sleep_for(50ms);
  }
  if ((*relay)->exited()) {
    result.relay_died = true;
  } else {
    result.probes_after = room.probe(/*new_room=*/true, kProbeTimeout);
    result.relay_udp_drops = udp_drops_on_port((*relay)->port());
  }
  if (auto after = read_memory((*relay)->pid())) {
    result.rss_after_kib = after->rss_kib;
    result.anon_after_kib = after->anon_kib;
  }
  auto metrics_after = scrape_metrics((*relay)->metrics_port(), kScrapeTimeout);
  if (metrics_before && metrics_after) {
    result.relay_deltas = metric_deltas(*metrics_before, *metrics_after);
  } else {
    result.metrics_scrape_failed = true;
  }
  result.legit_intact = room.intact();
  room.stop();
  result.legit_trouble = room.trouble();
  for (std::size_t i = 0; i < kPhaseCount; ++i) result.pings[i] = room.pings(static_cast<Phase>(i));

  sampler.stop();
  for (const auto& sample : sampler.samples()) {
    if (sample.phase >= static_cast<int>(Phase::kAttack)) {
      result.rss_peak_kib = std::max(result.rss_peak_kib, sample.memory.rss_kib);
    }
    result.rss_hwm_kib = std::max(result.rss_hwm_kib, sample.memory.hwm_kib);
  }
  // A relay that died on its own is reaped already; its status is what it died of.
  if (auto status = (*relay)->exited()) {
    result.relay_died = true;
    result.relay_exit_status = *status;
  } else if (auto stopped = (*relay)->stop(kRelayStopGrace)) {
    result.relay_exit_status = *stopped;
  }
  if (!options.state_root.empty() && !options.keep) {
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(options.state_root) /
                                    (ctx.work_root.filename().string() + "-" + name),
                                ignored);
  }
  if (!result.clean_exit()) {
    result.error += fmt::format("{}relay log tail: {}", result.error.empty() ? "" : "; ",
                                (*relay)->log_tail(8));
  }
  return result;
}

int run(const Options& options) {
  std::vector<std::string> scenarios = options.scenarios;
  if (options.all) scenarios = attack_names();
  if (scenarios.empty()) {
    std::fprintf(stderr, "lanparty_attack: give --scenario NAME (repeatable) or --all\n");
    return 2;
  }
  for (const auto& s : scenarios) {
    if (std::find(attack_names().begin(), attack_names().end(), s) == attack_names().end()) {
      std::fprintf(stderr, "lanparty_attack: unknown scenario '%s' (see --list)\n", s.c_str());
      return 2;
    }
  }
  if (options.relay_binary.empty() || !std::filesystem::exists(options.relay_binary)) {
    std::fprintf(stderr, "lanparty_attack: relay binary not found: '%s' (give --relay-bin)\n",
                 options.relay_binary.c_str());
    return 2;
  }
  // The namespace first: unshare(CLONE_NEWNET) only moves the calling thread, so it must come
  // before any thread starts.
  NetworkPlan plan;
  std::string network = "host loopback (127.0.0.1 for everyone)";
  if (options.netns) {
    auto entered = enter_private_namespace();
    if (entered) {
      plan = *entered;
      network = fmt::format("private network namespace, 10.213.0.0/16 on lo; raw sockets: {}",
                            plan.raw_sockets ? "yes" : "no");
    } else {
      std::fprintf(stderr,
                   "lanparty_attack: no private namespace (%s); running on the host's "
                   "loopback, every peer from 127.0.0.1\n",
                   entered.error().describe().c_str());
    }
  }
  Context ctx{.options = options, .plan = plan, .work_root = {}, .initials = std::nullopt};
  if (options.pin && cpu_allowed(kAttackCpu) && cpu_allowed(kRelayCpu)) {
    ctx.pinned = pin_to_cpu(0, kAttackCpu).has_value();
  }
  // half_open and spoofed_initials send 10000; mixed a fifth of that.
  for (const auto& name : scenarios) {
    if (needs_initials(name)) {
      ctx.initials_needed =
          std::max(ctx.initials_needed,
                   std::min<std::size_t>(options.initials, name == "mixed" ? 2000 : 10000));
    }
  }
  char dir_template[] = "/tmp/lanparty-attack-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    std::fprintf(stderr, "lanparty_attack: mkdtemp failed\n");
    return 1;
  }
  ctx.work_root = dir_template;

  RunInfo info;
  info.relay_binary = options.relay_binary;
  info.relay_args = options.relay_args;
  info.commit = options.commit;
  info.network = network;
  info.duration_s = options.duration_s;
  info.load_before = load_average_1min();
  info.realtime = false;  // set once a legit room says so
  info.pinned = ctx.pinned;
  std::printf("relay %s; %s; work dir %s\n", options.relay_binary.c_str(), network.c_str(),
              ctx.work_root.c_str());
  std::fflush(stdout);

  std::vector<ScenarioResult> results;
  for (const auto& name : scenarios) {
    std::printf("== %s\n", name.c_str());
    std::fflush(stdout);
    results.push_back(run_scenario(name, ctx));
    info.realtime = info.realtime || results.back().legit_realtime;
    std::printf("%s\n", summary_line(results.back()).c_str());
    std::fflush(stdout);
  }
  info.load_after = load_average_1min();
  if (ctx.initials) info.seconds_per_initial = ctx.initials->seconds_per_initial();

  const auto write = [](const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) std::fprintf(stderr, "lanparty_attack: cannot write %s\n", path.c_str());
  };
  if (!options.report.empty()) {
    write(options.report, markdown_report(info, results));
  } else {
    std::printf("\n%s", markdown_report(info, results).c_str());
  }
  if (!options.json.empty()) write(options.json, json_report(info, results));

  int status = 0;
  for (const auto& r : results) {
    if (!r.ran && !r.skipped) status = 1;
  }
  if (options.check) {
    // What must hold for correctness on any machine: no latency figures here.
    for (const auto& r : results) {
      std::vector<std::string> failures;
      if (r.skipped) continue;
      if (!r.ran) failures.push_back("did not run: " + r.error);
      if (r.relay_died) failures.push_back("the relay died");
      if (r.ran && !r.relay_died) {
        const bool joined = std::any_of(
            r.probes_after.begin(), r.probes_after.end(),
            [](const JoinProbe& p) { return p.ok && p.who == "new client, legit room"; });
        if (!joined) failures.push_back("no fresh client could join after the attack");
      }
      if (!r.clean_exit()) failures.push_back("the relay's SIGTERM exit was not a clean exit 0");
      if (!r.rss_under_limit()) {
        failures.push_back(
            fmt::format("relay RSS peaked at {} KiB (limit {} KiB)", r.rss_peak_kib, kRssLimitKib));
      }
      for (const auto& f : failures) {
        std::fprintf(stderr, "CHECK FAILED %s: %s\n", r.name.c_str(), f.c_str());
        status = 1;
      }
    }
  }
  if (!options.keep && status == 0) {
    std::error_code ignored;
    std::filesystem::remove_all(ctx.work_root, ignored);
  } else {
    std::printf("relay logs kept in %s\n", ctx.work_root.c_str());
  }
  return status;
}

}  // namespace
}  // namespace lanparty::bench::attack

int main(int argc, char** argv) {
  try {
    lanparty::bench::attack::Options options;
    CLI::App app{
        "lanparty_attack: bounded attacks on a real lanparty-relay while a legitimate room pings "
        "(see bench/attack/README.md)"};
    app.add_option("--scenario", options.scenarios, "scenario to run (repeatable; see --list)");
    app.add_flag("--all", options.all, "every scenario, in --list order");
    app.add_flag("--list", options.list, "print the scenario names and exit");
    app.add_option("--duration", options.duration_s, "longest attack phase per scenario, seconds")
        ->check(CLI::Range(1.0, 600.0))
        ->capture_default_str();
    app.add_option("--idle", options.idle_s, "idle baseline before each attack, seconds")
        ->check(CLI::Range(0.5, 60.0))
        ->capture_default_str();
    app.add_option("--settle", options.settle_s,
                   "settle period after each attack, seconds (0: 7 s, 12 s after Initial floods)")
        ->check(CLI::Range(0.0, 120.0))
        ->capture_default_str();
    app.add_option("--relay-bin", options.relay_binary, "lanparty-relay binary")
        ->capture_default_str();
    app.add_option("--relay-arg", options.relay_args,
                   "extra relay argument, repeatable (e.g. --relay-arg=--retry --relay-arg=always)")
        ->allow_extra_args(false);
    app.add_option("--relay-log-level", options.relay_log_level, "the relay's --log-level")
        ->capture_default_str();
    app.add_option("--report", options.report,
                   "write the markdown report here (default: print it)");
    app.add_option("--json", options.json, "also write the figures as JSON here");
    app.add_option("--state-root", options.state_root,
                   "keep the relay's room records under this directory (e.g. /dev/shm, where "
                   "their fsyncs cost nothing) instead of the work directory on disk");
    app.add_option("--initials", options.initials,
                   "at most this many client Initials to capture (half_open and spoofed_initials "
                   "send 10000, mixed 2000)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
        ->capture_default_str();
    app.add_option("--commit", options.commit, "source commit to name in the report");
    app.add_flag("!--no-netns", options.netns,
                 "stay on the host's loopback (every peer from 127.0.0.1; no spoofed_initials)");
    app.add_flag("--pin", options.pin,
                 "pin the relay to CPU 1 and this program to CPU 0 (on a shared machine this "
                 "piles everyone else's work onto the relay's CPU)");
    app.add_flag("!--no-realtime", options.realtime,
                 "run the legitimate room's thread at normal priority");
    app.add_flag("--check", options.check,
                 "exit 1 unless the relay stayed up, took a fresh join after each attack, stayed "
                 "under 512 MiB and exited 0 on SIGTERM");
    app.add_flag("--keep", options.keep, "keep the work directory (relay logs, state)");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    if (options.list) {
      for (const auto& name : lanparty::bench::attack::attack_names()) {
        std::printf("%s\n", name.c_str());
      }
      return 0;
    }
    return lanparty::bench::attack::run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lanparty_attack: fatal: %s\n", e.what());
    return 1;
  }
}
