// SPDX-License-Identifier: MIT
// lanparty-client (Linux): a TAP device that puts this machine on the party LAN through the
// relay. The TAP side stays up while the connection to the relay comes and goes.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "app_support.hpp"
#include "config_file.hpp"
#include "lanparty/client_core/identity.hpp"
#include "lanparty/client_core/runner.hpp"
#include "lanparty/obs/status.hpp"
#include "lanparty/proto/offload.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "linux/control_socket.hpp"
#include "linux/run_linux.hpp"
#include "linux/tap_device.hpp"
#include "linux/tap_writer.hpp"
#include "status.hpp"

namespace {

using namespace lanparty;

// TAP <-> relay. Frames read from the TAP land 4 bytes into the buffer, so the overlay
// header is written in front of them without a copy. With offloads, super-frames are cut and
// partial checksums completed (proto::LocalFrameFinisher) on the way out, and TCP segments
// from the room are merged into super-frames on the way in (TapWriter).
class TapPort final : public apps::DevicePort {
 public:
  TapPort(client_linux::TapDevice& tap, obs::Logger log)
      : DevicePort("lanparty-client", log),
        tap_(tap),
        read_buffer_(proto::kOverlayHeaderSize + client_linux::TapDevice::kMaxReadBytes),
        writer_(tap) {}

  void deliver_frame(std::span<const std::uint8_t> frame) override { writer_.write(frame); }
  void end_of_batch() override {
    writer_.end_of_batch();
    if (auto error = writer_.take_error()) {
      log_.debug("client.tap_write_failed", {{"error", error->describe()}});
    }
  }
  void on_joined(const ctrl::Welcome& welcome) override {
    room_mtu_ = welcome.mtu;
    if (auto st = tap_.set_mtu(welcome.mtu); !st) {
      log_.warn("client.tap_mtu_failed", {{"error", st.error().describe()}});
    }
  }
  void on_state(obs::ConnectionState state, std::string_view sentence) override {
    apps::print_state_line(state, sentence);
  }
  void on_relay_stats(const ctrl::Stats& /*stats*/) override {
    if (!tap_.vnet_header()) return;
    const auto& counters = finisher_.counters();
    const auto coalesced = writer_.coalesce_counters() != nullptr ? *writer_.coalesce_counters()
                                                                  : proto::CoalesceCounters{};
    log_.info("client.tap_stats", {{"checksum_completed", counters.checksum_completed},
                                   {"super_frames", counters.super_frames},
                                   {"segments", counters.segments},
                                   {"too_large", counters.too_large},
                                   {"bad_offload", counters.bad_offload},
                                   {"unusable", unusable_},
                                   {"coalesced_super_frames", coalesced.super_frames},
                                   {"coalesced_segments", coalesced.merged},
                                   {"bad_checksum_from_room", coalesced.bad_checksum},
                                   {"write_errors", writer_.write_errors()}});
  }
  // The TAP side's drops, for `status`.
  [[nodiscard]] std::vector<apps::NamedCount> local_drops() const {
    const auto& counters = finisher_.counters();
    return {{"too_large", counters.too_large},
            {"bad_offload", counters.bad_offload},
            {"unusable_read", unusable_}};
  }
  // Up to 256 reads per turn, so the relay side gets its turn.
  void on_readable() override {
    for (int i = 0; i < 256; ++i) {
      auto payload = std::span(read_buffer_).subspan(proto::kOverlayHeaderSize);
      auto got = tap_.read_frame(payload);
      if (!got) {
        log_.warn("client.tap_read_failed", {{"error", got.error().describe()}});
        return;
      }
      if (got->size == 0) return;
      if (got->unusable) {
        ++unusable_;
        continue;
      }
      auto datagram = std::span(read_buffer_).first(proto::kOverlayHeaderSize + got->size);
      if (!runner_->joined()) {
        runner_->send_frame(datagram);  // counted as dropped_not_joined; no MTU to cut to yet
        continue;
      }
      const auto verdict =
          finisher_.finish(datagram, got->offload, room_mtu_,
                           [this](std::span<std::uint8_t> out) { runner_->send_frame(out); });
      if (verdict != proto::FinishVerdict::kSent) {
        log_.debug(
            "client.tap_frame_dropped",
            {{"reason", proto::to_string(verdict)}, {"bytes", got->size}, {"room_mtu", room_mtu_}});
      }
    }
  }

 private:
  client_linux::TapDevice& tap_;
  std::vector<std::uint8_t> read_buffer_;
  proto::LocalFrameFinisher finisher_{proto::kOverlayHeaderSize};
  client_linux::TapWriter writer_;
  std::size_t room_mtu_ = 0;
  std::uint64_t unusable_ = 0;  // reads the TAP described with offloads we never enabled
};

int fail_with(const std::string& message) { return apps::fail_with("lanparty-client", message); }

// Where `status` finds the running client: root's runtime directory (the unit's
// RuntimeDirectory=), else the user's.
std::string default_control_socket() {
  if (::geteuid() == 0) return "/run/lanparty-client/ctl.sock";
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime != nullptr && *runtime) {
    return std::string(runtime) + "/lanparty-client/ctl.sock";
  }
  return "run/client/ctl.sock";
}

// run_device's code, unless a failed handshake stopped the run or kept it from ever joining:
// then that failure's own code (README, "Exit codes").
int exit_code(int run_code, const client_core::Runner& runner) {
  const auto failure = runner.handshake_failure_to_report();
  if (!failure || run_code == 2) return run_code;
  return obs::exit_code(*failure);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    apps::RelayFlags flags;
    std::string tap_name = "lanparty0";
    std::string virtual_mac;
    std::string identity_file = std::string(client_core::kIdentityFileName);
    CLI::App app{"lanparty-client: join a LAN party through a softlan-vpn relay"};
    apps::add_relay_flags(app, flags, /*with_invite=*/true);
    app.add_option("--tap", tap_name, "TAP interface to create")->capture_default_str();
    app.add_option("--virtual-mac", virtual_mac,
                   "MAC of the TAP interface (default: from the identity file)");
    app.add_option("--identity-file", identity_file, "where the generated virtual MAC is kept")
        ->capture_default_str();
    bool no_tap_offload = false;
    app.add_flag("--no-tap-offload", no_tap_offload,
                 "read one ordinary frame per read from the TAP: no TSO super-frames or "
                 "unfinished checksums (slower; for kernels or set-ups that refuse them)");
    std::string control_socket = default_control_socket();
    app.add_option("--control-socket", control_socket,
                   "where the running client answers `status` (0600)")
        ->capture_default_str();
    bool status_json = false;
    auto* status_cmd = app.add_subcommand(
        "status", "how the running client is doing: room, relay, MTU, peers, RTT, frames");
    status_cmd->add_flag("--json", status_json, "the same as one JSON object, for scripts");
    status_cmd->fallthrough();
    apps::ConfigFileFlags config;
    apps::add_config_file(app, config, "/etc/lanparty/client.toml", "invite = \"lanparty://...\"");
    if (auto code = apps::parse_command_line(app, argc, argv, "lanparty-client")) return *code;
    if (config.print) {
      std::fputs(apps::effective_config(app).c_str(), stdout);
      return 0;
    }
    if (status_cmd->parsed()) {
      return apps::run_status_command("lanparty-client", control_socket, status_json);
    }
    if (auto st = apps::apply_invite_link(flags); !st) return fail_with(st.error().context);
    auto quic_config = apps::make_quic_config(flags);
    if (!quic_config) return fail_with(quic_config.error().context);

    proto::MacAddress mac;
    if (!virtual_mac.empty()) {
      auto parsed = proto::MacAddress::parse(virtual_mac);
      if (!parsed || !parsed->is_unicast() || parsed->is_zero()) {
        return fail_with(
            fmt::format("--virtual-mac {}: expected a unicast MAC such as "
                        "02:5a:11:22:33:44",
                        virtual_mac));
      }
      mac = *parsed;
    } else {
      std::random_device rd;
      std::mt19937_64 gen(rd());
      auto identity = client_core::load_or_create_identity(
          identity_file, proto::MacAddress::random_local_unicast(gen));
      if (!identity) return fail_with(identity.error().describe());
      mac = *identity;
    }

    auto logging = apps::make_logging(flags);
    auto tap = client_linux::TapDevice::open(tap_name, !no_tap_offload);
    if (!tap) return fail_with(tap.error().describe());
    const auto& offloads = (*tap)->offloads();
    logging.logger.info("client.tap_opened", {{"tap", (*tap)->name()},
                                              {"vnet_header", (*tap)->vnet_header()},
                                              {"checksum", offloads.checksum},
                                              {"tso", offloads.tso},
                                              {"uso", offloads.uso}});
    if (auto st = (*tap)->set_mac(mac); !st) return fail_with(st.error().describe());
    if (auto st = (*tap)->set_up(true); !st) return fail_with(st.error().describe());
    std::printf("Virtual network card %s is up with MAC %s.\n", (*tap)->name().c_str(),
                mac.to_string().c_str());

    auto loop = io::EventLoop::create();
    if (!loop) return fail_with(loop.error().describe());
    TapPort port(**tap, logging.logger);
    client_core::Runner runner(
        **loop,
        client_core::RunnerConfig{.quic = *quic_config,
                                  .more_relays = flags.more_relays,
                                  .session = {.role = ctrl::Role::kClient,
                                              .room = flags.room,
                                              .mac = mac,
                                              .software = "lanparty-client/0.1.0 (linux)",
                                              .invite = flags.invite_token}},
        port, logging.logger, apps::make_random_unit());
    // `status`: the player's view of the party. Without it the client still plays (a second
    // client on this machine, say), so a socket that cannot be had is only a warning.
    const std::string tap_device = (*tap)->name();
    auto control = apps::ControlServer::open(
        **loop, control_socket, [&](apps::ControlServer::Request request) {
          if (request.line() == "status") {
            request.answer(apps::to_json(apps::collect_status("lanparty-client", runner,
                                                              *quic_config, tap_device,
                                                              port.local_drops(), (*loop)->now())) +
                           "\n");
          } else if (request.line() == "ping") {
            request.answer("pong\n");
          } else {
            request.answer("error: unknown command; use status\n");
          }
        });
    if (!control) {
      logging.logger.warn("client.control_socket_unavailable",
                          {{"path", control_socket}, {"error", control.error().describe()}});
    }
    return exit_code(apps::run_device("lanparty-client", **loop, runner, port, (*tap)->fd()),
                     runner);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lanparty-client: fatal: %s\n", e.what());
    return 1;
  }
}
