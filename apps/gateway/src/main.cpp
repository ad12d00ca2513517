// SPDX-License-Identifier: MIT
// lanparty-gateway: bridges the party's wired LAN into a room (PROTOCOL.md section 6) through
// an AF_PACKET socket. The LAN side stays up while the relay connection comes and goes.

#include <cstdio>

#include <fmt/format.h>

#include "app_support.hpp"
#include "lan_policy.hpp"
#include "lanparty/client_core/runner.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "linux/packet_socket.hpp"

namespace {

using namespace lanparty;

class LanPort final : public apps::DevicePort {
 public:
  LanPort(gateway::PacketSocket& lan, quic::EventLoop& loop, std::chrono::seconds cam_refresh,
          obs::Logger log)
      : DevicePort("lanparty-gateway", log), lan_(lan), loop_(loop), cam_refresh_(cam_refresh) {}
  ~LanPort() override {
    if (cam_timer_ != 0) loop_.cancel_timer(cam_timer_);
  }

  void deliver_frame(std::span<const std::uint8_t> frame) override {
    // Every frame from the relay goes onto the LAN unchanged.
    if (auto st = lan_.write_frame(frame); !st) {
      log_.debug("gateway.lan_write_failed", {{"error", st.error().describe()}});
    }
  }
  void on_joined(const ctrl::Welcome& welcome) override {
    room_mtu_ = welcome.mtu;
    if (lan_.interface_mtu() > welcome.mtu) {
      log_.warn("gateway.mtu_mismatch",
                {{"interface", lan_.interface()},
                 {"lan_mtu", lan_.interface_mtu()},
                 {"room_mtu", welcome.mtu},
                 {"advice",
                  "LAN packets larger than the room MTU are dropped; set the LAN "
                  "hosts' MTU (or DHCP option 26) to the room MTU"}});
    }
    if (cam_timer_ == 0 && cam_refresh_.count() > 0) schedule_cam_refresh();
  }
  void on_state(obs::ConnectionState state, std::string_view sentence) override {
    log_.info("gateway.state", {{"state", obs::to_string(state)}, {"message", sentence}});
  }

  void on_readable() override {
    drain([this](std::span<std::uint8_t> buf) { return lan_.read_frame(buf); },
          [this](std::span<const std::uint8_t> frame) { return wanted(frame); },
          "gateway.lan_read_failed");
  }

 private:
  // Section 6: only broadcast, multicast and remote peers' MACs go to the room.
  bool wanted(std::span<const std::uint8_t> frame) {
    if (!runner_->joined()) return false;
    switch (gateway::classify_lan_frame(frame, runner_->session().peers(), room_mtu_)) {
      case gateway::LanVerdict::kSend:
        return true;
      case gateway::LanVerdict::kTooLarge:
        ++too_large_;
        log_.debug("gateway.lan_frame_too_large",
                   {{"bytes", frame.size()}, {"room_mtu", room_mtu_}});
        return false;
      case gateway::LanVerdict::kNotForRoom:
      case gateway::LanVerdict::kRunt:
        return false;
    }
    return false;
  }

  void schedule_cam_refresh() {
    cam_timer_ = loop_.add_timer(loop_.now() + cam_refresh_, [this] {
      cam_timer_ = 0;
      send_cam_refresh();
      schedule_cam_refresh();
    });
  }
  void send_cam_refresh() {
    if (!runner_->joined()) return;
    for (const auto& client : runner_->session().peers().client_macs()) {
      const auto frame = gateway::cam_refresh_frame(client, lan_.interface_mac());
      if (auto st = lan_.write_frame(frame); !st) {
        log_.warn("gateway.cam_refresh_failed",
                  {{"mac", client.to_string()}, {"error", st.error().describe()}});
      }
    }
  }

  gateway::PacketSocket& lan_;
  quic::EventLoop& loop_;
  std::chrono::seconds cam_refresh_;
  std::size_t room_mtu_ = 0;
  quic::EventLoop::TimerId cam_timer_ = 0;
  std::uint64_t too_large_ = 0;
};

int fail_with(const std::string& message) { return apps::fail_with("lanparty-gateway", message); }

}  // namespace

int main(int argc, char** argv) {
  try {
    apps::RelayFlags flags;
    std::string interface;
    unsigned cam_refresh = 30;
    bool keep_gro = false;
    CLI::App app{"lanparty-gateway: bridge this wired LAN into a softlan-vpn room"};
    apps::add_relay_flags(app, flags);
    app.add_option("--interface", interface, "the LAN interface to bridge (e.g. eth0)")->required();
    app.add_option("--cam-refresh", cam_refresh,
                   "seconds between CAM refresh frames for remote players' MACs; 0 = off")
        ->check(CLI::Range(0u, 3600u))
        ->capture_default_str();
    app.add_flag("--keep-gro", keep_gro,
                 "leave generic receive offload on (frames it merges above the MTU are lost)");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    auto quic_config = apps::make_quic_config(flags);
    if (!quic_config) return fail_with(quic_config.error().context);
    auto logging = apps::make_logging(flags);

    auto lan = gateway::PacketSocket::open(interface);
    if (!lan) return fail_with(lan.error().describe());
    std::optional<gateway::ReceiveOffloadGuard> gro_guard;
    if (!keep_gro) {
      auto guard = gateway::ReceiveOffloadGuard::apply(interface, logging.logger);
      if (guard) {
        gro_guard.emplace(std::move(*guard));
      } else {
        logging.logger.warn("gateway.gro_unchanged", {{"error", guard.error().describe()}});
      }
    }
    logging.logger.info("gateway.lan_open", {{"interface", interface},
                                             {"mac", (*lan)->interface_mac().to_string()},
                                             {"mtu", (*lan)->interface_mtu()}});

    auto loop = quic::EventLoop::create();
    if (!loop) return fail_with(loop.error().describe());
    LanPort port(**lan, **loop, std::chrono::seconds(cam_refresh), logging.logger);
    client_core::Runner runner(
        **loop,
        client_core::RunnerConfig{.quic = *quic_config,
                                  .session = {.role = ctrl::Role::kGateway,
                                              .room = flags.room,
                                              .mac = (*lan)->interface_mac(),
                                              .software = "lanparty-gateway/0.1.0"}},
        port, logging.logger, apps::make_random_unit());
    return apps::run_device("lanparty-gateway", **loop, runner, port, (*lan)->fd());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lanparty-gateway: fatal: %s\n", e.what());
    return 1;
  }
}
