// SPDX-License-Identifier: MIT
// lanparty-gateway: bridges the party's wired LAN into a room (PROTOCOL.md section 6) through
// an AF_PACKET socket. The LAN side stays up while the relay connection comes and goes.

#include <cstdio>

#include <fmt/format.h>

#include "app_support.hpp"
#include "lan_policy.hpp"
#include "lanparty/client_core/runner.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "linux/bridge_port.hpp"
#include "linux/packet_socket.hpp"

namespace {

using namespace lanparty;

class LanPort final : public apps::DevicePort {
 public:
  LanPort(gateway::PacketSocket& lan, quic::EventLoop& loop, std::chrono::seconds cam_refresh,
          proto::MacAddress cam_destination, obs::Logger log)
      : DevicePort("lanparty-gateway", log),
        lan_(lan),
        loop_(loop),
        cam_refresh_(cam_refresh),
        cam_destination_(cam_destination) {
    read_buffer_.resize(proto::kOverlayHeaderSize + gateway::PacketSocket::kMaxFrameBytes + 4);
  }
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
                  "LAN packets larger than the room MTU are dropped (TCP adapts; UDP does "
                  "not); set the LAN hosts' MTU (or DHCP option 26) to the room MTU"}});
    }
    if (cam_timer_ == 0 && cam_refresh_.count() > 0) schedule_cam_refresh();
  }
  void on_state(obs::ConnectionState state, std::string_view sentence) override {
    log_.info("gateway.state", {{"state", obs::to_string(state)}, {"message", sentence}});
  }
  void on_relay_stats(const ctrl::Stats& /*stats*/) override {
    log_.info("gateway.lan_stats", {{"checksum_completed", counters_.checksum_completed},
                                    {"super_frames", counters_.super_frames},
                                    {"segments", counters_.segments},
                                    {"too_large", counters_.too_large},
                                    {"bad_offload", counters_.bad_offload},
                                    {"truncated", lan_.drops().truncated},
                                    {"unsupported_offload", lan_.drops().unsupported_offload}});
  }

  // Up to 256 frames per turn, so the relay side gets its turn too.
  void on_readable() override {
    for (int i = 0; i < 256; ++i) {
      auto frame = lan_.read_frame(read_buffer_, proto::kOverlayHeaderSize);
      if (!frame) {
        log_.warn("gateway.lan_read_failed", {{"error", frame.error().describe()}});
        return;
      }
      if (!*frame) return;
      if (!runner_->joined()) continue;
      auto datagram = std::span(read_buffer_)
                          .subspan((*frame)->offset - proto::kOverlayHeaderSize,
                                   proto::kOverlayHeaderSize + (*frame)->size);
      const auto verdict = gateway::forward_lan_frame(
          datagram, (*frame)->offload, runner_->session().peers(), room_mtu_, segment_buffer_,
          counters_, [this](std::span<std::uint8_t> out) { runner_->send_frame(out); });
      if (verdict == gateway::LanVerdict::kTooLarge ||
          verdict == gateway::LanVerdict::kBadOffload) {
        log_.debug(
            "gateway.lan_frame_dropped",
            {{"reason", verdict == gateway::LanVerdict::kTooLarge ? "too_large" : "bad_offload"},
             {"bytes", (*frame)->size},
             {"room_mtu", room_mtu_}});
      }
    }
  }

 private:
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
      const auto frame = gateway::cam_refresh_frame(client, cam_destination_);
      if (auto st = lan_.write_frame(frame); !st) {
        log_.warn("gateway.cam_refresh_failed",
                  {{"mac", client.to_string()}, {"error", st.error().describe()}});
      }
    }
  }

  gateway::PacketSocket& lan_;
  quic::EventLoop& loop_;
  std::chrono::seconds cam_refresh_;
  proto::MacAddress cam_destination_;
  std::size_t room_mtu_ = 0;
  quic::EventLoop::TimerId cam_timer_ = 0;
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> segment_buffer_;
  gateway::LanCounters counters_;
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
                 "leave generic receive offload on (the gateway then cuts merged frames back "
                 "into segments itself, at some CPU cost)");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    auto quic_config = apps::make_quic_config(flags);
    if (!quic_config) return fail_with(quic_config.error().context);
    auto logging = apps::make_logging(flags);

    // On a bridge the gateway becomes one more port of it (bridge_port.hpp says why).
    std::optional<gateway::BridgePort> bridge_port;
    std::string socket_interface = interface;
    if (gateway::is_bridge(interface)) {
      auto port = gateway::BridgePort::attach(interface, logging.logger);
      if (!port) return fail_with(port.error().describe());
      bridge_port.emplace(std::move(*port));
      socket_interface = bridge_port->gateway_end();
    }
    auto lan = gateway::PacketSocket::open(socket_interface);
    if (!lan) return fail_with(lan.error().describe());
    std::optional<gateway::ReceiveOffloadGuard> gro_guard;
    if (!keep_gro && !bridge_port) {
      auto guard = gateway::ReceiveOffloadGuard::apply(interface, logging.logger);
      if (guard) {
        gro_guard.emplace(std::move(*guard));
      } else {
        logging.logger.warn("gateway.gro_unchanged", {{"error", guard.error().describe()}});
      }
    }
    logging.logger.info("gateway.lan_open", {{"interface", interface},
                                             {"socket_interface", socket_interface},
                                             {"mac", (*lan)->interface_mac().to_string()},
                                             {"mtu", (*lan)->interface_mtu()}});

    auto loop = quic::EventLoop::create();
    if (!loop) return fail_with(loop.error().describe());
    const proto::MacAddress cam_destination =
        bridge_port ? bridge_port->bridge_mac() : (*lan)->interface_mac();
    LanPort port(**lan, **loop, std::chrono::seconds(cam_refresh), cam_destination, logging.logger);
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
