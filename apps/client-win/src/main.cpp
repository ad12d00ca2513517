// SPDX-License-Identifier: MIT
// lanparty-client-win: puts this Windows PC on the party LAN through the relay, by bridging a
// TAP-Windows6 adapter. Before touching the adapter it repairs whatever a crashed run left in
// the route table, pins a host route to the relay on the pre-TAP interface, and (if asked)
// sets the adapter's metric; all of it is undone on exit. --check only tests the relay.
// A player's whole set-up is the host's invite link: `lanparty-client-win.exe join "LINK"`.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app_support.hpp"
#include "flags.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/client_core/identity.hpp"
#include "lanparty/client_core/runner.hpp"
#include "lanparty/client_route/ip_helper_api.hpp"
#include "lanparty/client_route/journal_store.hpp"
#include "lanparty/client_route/route_journal.hpp"
#include "lanparty/client_route/route_table.hpp"
#include "lanparty/client_tap/tap_device.hpp"
#include "lanparty/client_tap/tap_windows.hpp"
#include "lanparty/obs/status.hpp"
#include "options.hpp"
#include "win/console_stop.hpp"
#include "win/tap_bridge.hpp"

namespace {

using namespace lanparty;
namespace fs = std::filesystem;

constexpr std::string_view kProgram = "lanparty-client-win";

int fail_with(std::string_view message) { return apps::fail_with(kProgram, message); }

// %LOCALAPPDATA%\softlan-vpn: per-user state that survives reinstalls of the exe.
fs::path default_state_dir() {
  const char* local = std::getenv("LOCALAPPDATA");
  if (local == nullptr || *local == '\0') return fs::current_path();
  return fs::path(local) / "softlan-vpn";
}

// --check: join the room with the identity file's MAC, print what the relay said, leave.
class CheckPort final : public client_core::LocalPort {
 public:
  explicit CheckPort(io::EventLoop& loop) : loop_(loop) {}
  void deliver_frame(std::span<const std::uint8_t> /*frame*/) override {}
  void on_joined(const ctrl::Welcome& welcome) override {
    std::printf("Joined room \"%s\" as peer %u: room MTU %u, %zu other peer(s).\n",
                welcome.room.c_str(), static_cast<unsigned>(welcome.peer_id), welcome.mtu,
                welcome.peers.size());
    std::fflush(stdout);
    joined_ = true;
    loop_.stop();
  }
  void on_state(obs::ConnectionState state, std::string_view sentence) override {
    apps::print_state_line(state, sentence);
    last_sentence_ = sentence;
    // A check is one attempt: a failed handshake ends it, even one a run would retry (no
    // answer, unreachable). The runner itself reports the permanent ones through on_fatal,
    // as it does rejects retrying cannot fix and kicks.
    if (state == obs::ConnectionState::kHandshakeFailed) {
      handshake_failed_ = true;
      loop_.stop();
    }
  }
  void on_fatal(std::string_view sentence) override {
    (void)apps::fail_with(kProgram, sentence);
    fatal_ = true;
    loop_.stop();
  }
  [[nodiscard]] bool joined() const noexcept { return joined_; }
  [[nodiscard]] bool fatal() const noexcept { return fatal_; }
  [[nodiscard]] bool handshake_failed() const noexcept { return handshake_failed_; }
  [[nodiscard]] const std::string& last_sentence() const noexcept { return last_sentence_; }

 private:
  io::EventLoop& loop_;
  bool joined_ = false;
  bool fatal_ = false;
  bool handshake_failed_ = false;
  std::string last_sentence_;
};

using client_win::Flags;

// Both modes join as a client of the room the flags or the invite link named.
client_core::RunnerConfig runner_config(const Flags& flags, const quic::ClientConfig& quic_config,
                                        const proto::MacAddress& mac) {
  return client_core::RunnerConfig{.quic = quic_config,
                                   .more_relays = flags.relay.more_relays,
                                   .session = client_win::session_config(flags, mac)};
}

// After a stop request: send disconnect and let the close go out, at most 1 s.
void leave_gracefully(io::EventLoop& loop, client_core::Runner& runner) {
  runner.stop();
  (void)loop.run_until([&] { return runner.state() == obs::ConnectionState::kDisconnected; },
                       std::chrono::seconds(1));
}

int run_check(const Flags& flags, const quic::ClientConfig& quic_config, obs::Logger log) {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  const fs::path identity_path = fs::path(flags.state_dir) / client_core::kIdentityFileName;
  auto mac = client_core::load_or_create_identity(identity_path,
                                                  proto::MacAddress::random_local_unicast(gen));
  if (!mac) return fail_with(mac.error().describe());

  auto loop = io::EventLoop::create();
  if (!loop) return fail_with(loop.error().describe());
  auto console = client_win::ConsoleStop::install(**loop);
  if (!console) return fail_with(console.error().describe());
  CheckPort port(**loop);
  client_core::Runner runner(**loop, runner_config(flags, quic_config, *mac), port, log,
                             apps::make_random_unit());
  runner.start();
  const auto waited = (*loop)->run_until(
      [&] {
        return port.joined() || port.fatal() || port.handshake_failed() ||
               client_win::ConsoleStop::requested();
      },
      std::chrono::seconds(20));
  leave_gracefully(**loop, runner);
  if (port.joined()) return 0;
  // Each failed handshake has its own code (README, "Exit codes").
  if (const auto failure = runner.handshake_failure_to_report()) return obs::exit_code(*failure);
  if (port.fatal()) return 1;
  if (!waited) {
    return fail_with(
        fmt::format("no welcome from the relay within 20 s (last: {})", port.last_sentence()));
  }
  return 1;
}

int run_bridge(const Flags& flags, const quic::ClientConfig& quic_config, obs::Logger log,
               const client_win::TapMetricChoice& metric_choice) {
  // Console first: it is destroyed last, after every guard below has restored its change.
  auto loop = io::EventLoop::create();
  if (!loop) return fail_with(loop.error().describe());
  auto console = client_win::ConsoleStop::install(**loop);
  if (!console) return fail_with(console.error().describe());

  // 1. Undo what a crashed run left behind, before changing anything new.
  auto ip_helper = client_route::make_ip_helper_api();
  if (!ip_helper) return fail_with(ip_helper.error().describe());
  // The journal is in %ProgramData%\softlan-vpn, which only SYSTEM and Administrators may
  // change: this elevated run restores what it lists, so --state-dir (the user's) is no place
  // for it.
  auto journal_dir = client_route::default_journal_dir();
  if (!journal_dir) return fail_with(journal_dir.error().describe());
  auto journal = client_route::open_admin_journal(*journal_dir, log);
  if (!journal) return fail_with(journal.error().describe());
  const fs::path journal_path = journal->path();
  // Versions before the move kept the journal with the user's state.
  const fs::path old_journal = fs::path(flags.state_dir) / client_route::kRouteJournalFileName;
  if (std::error_code ec; fs::exists(old_journal, ec)) {
    std::printf(
        "Note: %s is a route journal an older version left in the per-user folder; it is not "
        "applied (any program of this user could have written it). Check the settings it "
        "lists, then delete it.\n",
        old_journal.string().c_str());
  }
  auto repaired = client_route::repair_from_journal(**ip_helper, *journal, log);
  if (!repaired) return fail_with(repaired.error().describe());
  if (repaired->restored > 0) {
    std::printf("Restored %zu network setting(s) an earlier run left changed.\n",
                repaired->restored);
  }
  if (repaired->failed > 0) {
    return fail_with(fmt::format(
        "{} network setting(s) from an earlier run could not be restored (journal {}); run "
        "this as Administrator once so they can be",
        repaired->failed, journal_path.string()));
  }

  // 2. The adapter.
  auto registry = client_tap::make_registry_api();
  if (!registry) return fail_with(registry.error().describe());
  auto adapters =
      client_tap::discover_tap_adapters(**registry, client_tap::RegistryRoot::kLocalMachine,
                                        client_tap::kNetworkAdapterClassKey, log);
  // No network adapter class key at all (seen under wine) means no TAP adapter either.
  if (!adapters && adapters.error().code != make_error_code(Errc::kNotFound)) {
    return fail_with(adapters.error().describe());
  }
  auto adapter = client_win::select_adapter(
      adapters.value_or(std::vector<client_tap::TapAdapter>{}), flags.tap);
  if (!adapter) return fail_with(adapter.error().describe());
  auto tap_api = client_tap::make_tap_device_api();
  if (!tap_api) return fail_with(tap_api.error().describe());
  auto tap = client_tap::open_tap(**tap_api, adapter->guid);
  if (!tap) return fail_with(tap.error().describe());
  auto mac = client_tap::get_mac(**tap_api, *tap);
  if (!mac) return fail_with(mac.error().describe());
  auto driver_mtu = client_tap::get_mtu(**tap_api, *tap);
  if (!driver_mtu) return fail_with(driver_mtu.error().describe());
  auto guid = client_route::AdapterGuid::parse(adapter->guid);
  if (!guid) return fail_with(guid.error().describe());
  auto tap_if = client_route::resolve_adapter(**ip_helper, *guid);
  if (!tap_if) return fail_with(tap_if.error().describe());
  std::printf("TAP adapter %s: MAC %s, driver MTU %u, interface index %u, LUID 0x%llx.\n",
              adapter->guid.c_str(), mac->to_string().c_str(), *driver_mtu, tap_if->index,
              static_cast<unsigned long long>(tap_if->luid.value));

  // 3. Keep the tunnel itself off the TAP: a host route to the relay via today's path.
  auto relay_address = io::resolve_host_port(quic_config.host, quic_config.port);
  if (!relay_address) return fail_with(relay_address.error().describe());
  auto relay_ip = client_win::ip_of(*relay_address);
  if (!relay_ip) return fail_with(relay_ip.error().describe());
  std::optional<client_route::HostRoutePin> pin;
  if (auto pinned = client_route::HostRoutePin::pin(**ip_helper, *journal, *relay_ip, log)) {
    pin.emplace(std::move(*pinned));
    std::printf("Pinned the route to the relay %s via %s.\n", relay_ip->to_string().c_str(),
                pin->route().next_hop.to_string().c_str());
  } else {
    std::printf(
        "Warning: could not pin the route to the relay (%s). If the party LAN hands this PC a "
        "default route, the tunnel may try to run through itself; run as Administrator to "
        "fix.\n",
        pinned.error().describe().c_str());
  }

  // 4. The metric, both families, only if asked.
  std::vector<client_route::InterfaceMetricGuard> metric_guards;
  if (const auto desired = metric_choice.desired()) {
    for (auto family : {client_route::AddressFamily::kIpv4, client_route::AddressFamily::kIpv6}) {
      auto guard = client_route::InterfaceMetricGuard::apply(**ip_helper, *journal, tap_if->luid,
                                                             family, *desired, log);
      if (!guard) {
        return fail_with(
            fmt::format("--tap-metric {}: {}", flags.tap_metric, guard.error().describe()));
      }
      metric_guards.push_back(std::move(*guard));
    }
  }

  // 5. Link up, bridge, run.
  auto media = client_tap::MediaConnectedGuard::apply(**tap_api, *tap, log);
  if (!media) return fail_with(media.error().describe());
  // The adapter's IP MTU follows the room's, set again after a welcome with a new value and
  // put back on exit.
  std::optional<client_route::InterfaceMtuGuard> mtu_v4;
  std::optional<client_route::InterfaceMtuGuard> mtu_v6;
  std::uint32_t applied_mtu = 0;
  auto apply_room_mtu = [&](const ctrl::Welcome& welcome) {
    if (welcome.mtu == applied_mtu) return;
    mtu_v4.reset();  // restore first: a guard taken over a changed MTU would keep the change
    mtu_v6.reset();
    applied_mtu = welcome.mtu;
    std::string outcome = fmt::format("Room MTU is {} bytes", welcome.mtu);
    auto v4 = client_route::InterfaceMtuGuard::apply(
        **ip_helper, tap_if->luid, client_route::AddressFamily::kIpv4, welcome.mtu, log);
    if (v4) {
      mtu_v4.emplace(std::move(*v4));
      outcome += "; set on the TAP adapter";
    } else {
      outcome += fmt::format(
          "; could not set it on the TAP adapter ({}): large packets may be "
          "dropped, set the adapter MTU by hand",
          v4.error().describe());
    }
    if (welcome.mtu >= client_route::kMinIpv6Mtu) {
      auto v6 = client_route::InterfaceMtuGuard::apply(
          **ip_helper, tap_if->luid, client_route::AddressFamily::kIpv6, welcome.mtu, log);
      if (v6) {
        mtu_v6.emplace(std::move(*v6));
      } else {
        log.warn("client.tap_mtu_failed", {{"family", "6"}, {"error", v6.error().describe()}});
      }
    } else {
      outcome += "; below IPv6's 1280, so IPv6 keeps its own";
    }
    std::printf("%s.\n", outcome.c_str());
    std::fflush(stdout);
  };
  client_win::TapBridge bridge(**loop, **tap_api, *tap, log, apply_room_mtu);
  client_core::Runner runner(**loop, runner_config(flags, quic_config, *mac), bridge, log,
                             apps::make_random_unit());
  bridge.attach(runner);
  if (auto st = bridge.start(); !st) return fail_with(st.error().describe());
  runner.start();
  if (auto st = (*loop)->run(); !st) return fail_with(st.error().describe());
  leave_gracefully(**loop, runner);
  const auto& c = bridge.counters();
  log.info("client.exit", {{"frames_from_tap", c.frames_read.load()},
                           {"frames_to_tap", c.frames_written},
                           {"dropped_ring_full", c.dropped_ring_full.load()}});
  // A failed handshake that stopped the run, or kept it from ever joining, has its own code.
  if (const auto failure = runner.handshake_failure_to_report()) return obs::exit_code(*failure);
  return bridge.fatal() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Flags flags;
    flags.state_dir = default_state_dir().string();
    CLI::App app{"lanparty-client-win: join a LAN party through a softlan-vpn relay"};
    client_win::add_flags(app, flags);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    auto settings = client_win::resolve(flags);
    if (!settings) return fail_with(settings.error().context);
    std::error_code ec;
    fs::create_directories(flags.state_dir, ec);
    if (ec) {
      return fail_with(fmt::format("--state-dir {}: {}", flags.state_dir, ec.message()));
    }
    auto logging = apps::make_logging(flags.relay);
    if (flags.check) return run_check(flags, settings->quic, logging.logger);
    return run_bridge(flags, settings->quic, logging.logger, settings->tap_metric);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lanparty-client-win: fatal: %s\n", e.what());
    return 1;
  }
}
