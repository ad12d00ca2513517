// SPDX-License-Identifier: MIT
// lanparty-gateway: bridges the party's wired LAN into a room (PROTOCOL.md section 6) through
// an AF_PACKET socket. The LAN side stays up while the relay connection comes and goes. The
// host's tool too (section 7): it holds the room key, makes invite links (`invite`), and
// revokes and kicks through the running gateway (`ctl`).

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <list>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app_support.hpp"
#include "config_file.hpp"
#include "invites.hpp"
#include "lan_policy.hpp"
#include "lanparty/client_core/runner.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/obs/status.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "lanparty/quic/certificate.hpp"
#include "linux/bridge_port.hpp"
#include "linux/control_socket.hpp"
#include "linux/packet_socket.hpp"
#include "linux/room_key_file.hpp"
#include "linux/run_linux.hpp"
#include "status.hpp"

namespace {

using namespace lanparty;

constexpr std::string_view kProgram = "lanparty-gateway";

struct GatewayFlags {
  apps::RelayFlags relay;
  std::string interface;
  unsigned cam_refresh = 30;
  bool keep_gro = false;
  bool no_lan_offload = false;
  std::string state_dir;
  std::string room_key;
  std::string control_socket;  // empty: STATE_DIR/ctl.sock
};

std::filesystem::path default_state_dir() {
  return ::geteuid() == 0 ? std::filesystem::path("/var/lib/lanparty-gateway")
                          : std::filesystem::path("run/gateway");
}
std::filesystem::path room_key_path(const GatewayFlags& flags) {
  return flags.room_key.empty() ? std::filesystem::path(flags.state_dir) / "room.key"
                                : std::filesystem::path(flags.room_key);
}
std::filesystem::path invites_path(const GatewayFlags& flags) {
  return std::filesystem::path(flags.state_dir) / "invites";
}
std::filesystem::path control_path(const GatewayFlags& flags) {
  return flags.control_socket.empty() ? std::filesystem::path(flags.state_dir) / "ctl.sock"
                                      : std::filesystem::path(flags.control_socket);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_time(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min);
}

int fail_with(std::string_view message) { return apps::fail_with(kProgram, message); }

class LanPort final : public apps::DevicePort {
 public:
  LanPort(gateway::PacketSocket& lan, io::EventLoop& loop, std::chrono::seconds cam_refresh,
          proto::MacAddress cam_destination, std::filesystem::path invites_file, obs::Logger log,
          bool lan_offload)
      : DevicePort(std::string(kProgram), log),
        lan_(lan),
        loop_(loop),
        cam_refresh_(cam_refresh),
        cam_destination_(cam_destination),
        invites_file_(std::move(invites_file)),
        writer_(lan, lan_offload) {}
  ~LanPort() override {
    if (cam_timer_ != 0) loop_.cancel_timer(cam_timer_);
  }

  void deliver_frame(std::span<const std::uint8_t> frame) override {
    // Section 7: a remote peer never speaks with the source MAC of a machine on the LAN.
    if (frame.size() >= 12 &&
        lan_macs_.seen_recently(proto::MacAddress::from_bytes(frame.subspan<6, 6>()),
                                loop_.now())) {
      ++lan_source_drops_;
      log_.debug("gateway.frame_dropped", {{"reason", "lan_source"}});
      return;
    }
    // Every other frame from the relay goes onto the LAN: TCP segments merged into
    // super-frames, the rest batched (LanWriter), all sent by end_of_batch().
    writer_.write(frame);
  }
  void end_of_batch() override {
    writer_.end_of_batch();
    if (auto error = writer_.take_error()) {
      log_.debug("gateway.lan_write_failed", {{"error", error->describe()}});
    }
  }
  void on_joined(const ctrl::Welcome& welcome) override {
    room_mtu_ = welcome.mtu;
    kicked_.clear();
    if (lan_.interface_mtu() > welcome.mtu) {
      log_.warn("gateway.mtu_mismatch",
                {{"interface", lan_.interface()},
                 {"lan_mtu", lan_.interface_mtu()},
                 {"room_mtu", welcome.mtu},
                 {"advice",
                  "LAN packets larger than the room MTU are dropped (TCP adapts; UDP does "
                  "not); set the LAN hosts' MTU (or DHCP option 26) to the room MTU"}});
    }
    for (const auto& peer : welcome.peers) check_peer(peer);
    if (cam_timer_ == 0 && cam_refresh_.count() > 0) schedule_cam_refresh();
  }
  void on_state(obs::ConnectionState state, std::string_view sentence) override {
    log_.info("gateway.state", {{"state", obs::to_string(state)}, {"message", sentence}});
  }
  void on_relay_stats(const ctrl::Stats& /*stats*/) override {
    const auto& counters = finisher_.counters();
    const auto coalesced = writer_.coalesce_counters() != nullptr ? *writer_.coalesce_counters()
                                                                  : proto::CoalesceCounters{};
    log_.info("gateway.lan_stats", {{"checksum_completed", counters.checksum_completed},
                                    {"super_frames", counters.super_frames},
                                    {"segments", counters.segments},
                                    {"too_large", counters.too_large},
                                    {"bad_offload", counters.bad_offload},
                                    {"truncated", lan_.drops().truncated},
                                    {"unsupported_offload", lan_.drops().unsupported_offload},
                                    {"send_failed", lan_.drops().send_failed},
                                    {"coalesced_super_frames", coalesced.super_frames},
                                    {"coalesced_segments", coalesced.merged},
                                    {"bad_checksum_from_room", coalesced.bad_checksum},
                                    {"lan_source", lan_source_drops_},
                                    {"lan_macs", lan_macs_.size()}});
  }
  void on_message(const ctrl::Message& message) override {
    if (const auto* joined = std::get_if<ctrl::PeerJoined>(&message)) {
      log_.info("gateway.peer_joined", {{"peer_id", joined->peer.peer_id},
                                        {"role", ctrl::to_string(joined->peer.role)},
                                        {"mac", joined->peer.mac.to_string()},
                                        {"name", joined->peer.name.value_or("")},
                                        {"invite_id", joined->peer.invite_id.value_or("")}});
      check_peer(joined->peer);
    } else if (const auto* revoked = std::get_if<ctrl::Revoked>(&message)) {
      log_.info("gateway.revoked",
                {{"invite_id", revoked->invite_id}, {"kicked", revoked->kicked}});
      for (auto it = pending_revokes_.begin(); it != pending_revokes_.end(); ++it) {
        if (it->first != revoked->invite_id) continue;
        it->second.answer(fmt::format("revoked invite {}: {} player{} removed\n",
                                      revoked->invite_id, revoked->kicked,
                                      revoked->kicked == 1 ? "" : "s"));
        pending_revokes_.erase(it);
        break;
      }
    }
  }

  // Up to 8 batches of frames per turn (one recvmmsg each), so the relay side gets its turn.
  // A short batch means the socket was empty: the loop (level-triggered) calls again when more
  // arrives, which saves the read that would only say EAGAIN (one system call per idle frame).
  void on_readable() override {
    const auto now = loop_.now();
    for (int round = 0; round < 8; ++round) {
      auto read = lan_.receive();
      if (!read) {
        log_.warn("gateway.lan_read_failed", {{"error", read.error().describe()}});
        return;
      }
      for (const auto& frame : lan_.frames()) on_lan_frame(frame, now);
      if (*read < gateway::PacketSocket::kBatch) return;
    }
  }
  void on_lan_frame(const gateway::PacketSocket::Frame& frame,
                    io::EventLoop::Clock::time_point now) {
    const std::size_t size = frame.datagram.size() - proto::kOverlayHeaderSize;
    if (size >= 12) {
      const auto source = proto::MacAddress::from_bytes(
          frame.datagram.subspan(proto::kOverlayHeaderSize + 6).first<6>());
      lan_macs_.saw(source, now);
      if (runner_->joined() && runner_->session().peers().contains_mac(source)) {
        kick_owner_of(source);
      }
    }
    if (!runner_->joined()) return;
    const auto verdict = gateway::forward_lan_frame(
        frame.datagram, frame.offload, runner_->session().peers(), room_mtu_, finisher_,
        [this](std::span<std::uint8_t> out) { runner_->send_frame(out); });
    if (verdict == gateway::LanVerdict::kTooLarge || verdict == gateway::LanVerdict::kBadOffload) {
      log_.debug(
          "gateway.lan_frame_dropped",
          {{"reason", verdict == gateway::LanVerdict::kTooLarge ? "too_large" : "bad_offload"},
           {"bytes", size},
           {"room_mtu", room_mtu_}});
    }
  }

  // The LAN side's drops, for `status`.
  [[nodiscard]] std::vector<apps::NamedCount> local_drops() const {
    const auto& counters = finisher_.counters();
    return {{"too_large", counters.too_large},
            {"bad_offload", counters.bad_offload},
            {"truncated", lan_.drops().truncated},
            {"unsupported_offload", lan_.drops().unsupported_offload},
            {"send_failed", lan_.drops().send_failed},
            {"lan_source", lan_source_drops_}};
  }
  // What `status` answers (the runner's report as JSON); set once the runner exists.
  void set_status(std::function<std::string()> status) { status_ = std::move(status); }

  // `ctl` requests: peers, kick PEER_ID [REASON], revoke INVITE_ID, ping; and status.
  void on_control_request(apps::ControlServer::Request request) {
    std::istringstream words(request.line());
    std::string command;
    words >> command;
    if (command == "ping") {
      request.answer("pong\n");
    } else if (command == "status" && status_) {
      request.answer(status_() + "\n");
    } else if (command == "peers") {
      request.answer(describe_peers());
    } else if (command == "kick") {
      unsigned peer_id = 0;
      std::string reason;
      if (!(words >> peer_id) || peer_id == 0 || peer_id > 65535) {
        request.answer("error: usage: kick PEER_ID [REASON] (ids as `ctl peers` lists them)\n");
        return;
      }
      std::getline(words >> std::ws, reason);
      const auto sent = runner_->send_control(ctrl::Kick{
          .peer_id = static_cast<std::uint16_t>(peer_id),
          .reason = reason.empty() ? std::optional<std::string>("removed by the host") : reason});
      log_.info("gateway.kick", {{"peer_id", peer_id}, {"reason", reason}, {"by", "ctl"}});
      request.answer(sent ? fmt::format("kick sent for peer {}\n", peer_id)
                          : fmt::format("error: {}\n", sent.error().describe()));
    } else if (command == "revoke") {
      std::string id;
      words >> id;
      if (!ctrl::is_valid_invite_id(id)) {
        request.answer("error: usage: revoke INVITE_ID (16 hex digits, as `invite` printed)\n");
        return;
      }
      const auto exp = gateway::issued_invite_expiry(invites_file_, id);
      if (auto sent = runner_->send_control(ctrl::Revoke{.invite_id = id, .exp = exp}); !sent) {
        request.answer(fmt::format("error: {}\n", sent.error().describe()));
        return;
      }
      log_.info("gateway.revoke", {{"invite_id", id}, {"exp", exp.value_or(0)}});
      pending_revokes_.emplace_back(id, std::move(request));
      // The relay answers within a round trip; a request left waiting is answered when the
      // port goes (Request's destructor) or by this timer.
      (void)loop_.add_timer(loop_.now() + std::chrono::seconds(5), [this, id] {
        for (auto it = pending_revokes_.begin(); it != pending_revokes_.end(); ++it) {
          if (it->first == id) {
            it->second.answer("error: sent, but the relay did not confirm within 5 s\n");
            pending_revokes_.erase(it);
            return;
          }
        }
      });
    } else {
      request.answer("error: unknown command; use peers, kick PEER_ID [REASON] or revoke ID\n");
    }
  }

 private:
  // Section 7: a client whose MAC is on the LAN gets no CAM refresh and is kicked.
  void check_peer(const ctrl::PeerInfo& peer) {
    if (peer.role == ctrl::Role::kClient && lan_macs_.seen_recently(peer.mac, loop_.now())) {
      kick(peer.peer_id, peer.mac);
    }
  }
  void kick_owner_of(const proto::MacAddress& mac) {
    for (const auto& [id, peer] : runner_->session().peers().peers()) {
      if (peer.role == ctrl::Role::kClient && peer.mac == mac) kick(id, mac);
    }
  }
  void kick(std::uint16_t peer_id, const proto::MacAddress& mac) {
    if (!kicked_.insert(peer_id).second) return;  // once per peer
    log_.warn("gateway.kick", {{"peer_id", peer_id},
                               {"mac", mac.to_string()},
                               {"reason", "mac_on_lan"},
                               {"why", "a machine on the LAN uses this MAC"}});
    if (auto st = runner_->send_control(ctrl::Kick{.peer_id = peer_id, .reason = "mac_on_lan"});
        !st) {
      log_.warn("gateway.kick_failed", {{"peer_id", peer_id}, {"error", st.error().describe()}});
    }
  }

  std::string describe_peers() const {
    if (!runner_->joined())
      return fmt::format("not in the room ({})\n", obs::to_string(runner_->state()));
    std::string out =
        fmt::format("{:<6} {:<8} {:<18} {:<12} {}\n", "PEER", "ROLE", "MAC", "NAME", "INVITE");
    for (const auto& [id, peer] : runner_->session().peers().peers()) {
      out +=
          fmt::format("{:<6} {:<8} {:<18} {:<12} {}\n", id, ctrl::to_string(peer.role),
                      peer.mac.to_string(), peer.name.value_or("-"), peer.invite_id.value_or("-"));
    }
    return out;
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
    const auto now = loop_.now();
    for (const auto& client : runner_->session().peers().client_macs()) {
      if (lan_macs_.seen_recently(client, now)) continue;  // never teach the switch a LAN MAC
      const auto frame = gateway::cam_refresh_frame(client, cam_destination_);
      if (auto st = lan_.write_frame(frame); !st) {
        log_.warn("gateway.cam_refresh_failed",
                  {{"mac", client.to_string()}, {"error", st.error().describe()}});
      }
    }
  }

  gateway::PacketSocket& lan_;
  io::EventLoop& loop_;
  std::chrono::seconds cam_refresh_;
  proto::MacAddress cam_destination_;
  std::filesystem::path invites_file_;
  std::size_t room_mtu_ = 0;
  io::EventLoop::TimerId cam_timer_ = 0;
  proto::LocalFrameFinisher finisher_{proto::kOverlayHeaderSize};
  gateway::LanWriter writer_;
  gateway::LanMacTable lan_macs_;
  std::uint64_t lan_source_drops_ = 0;
  std::set<std::uint16_t> kicked_;  // peers kicked for mac_on_lan on this connection
  std::list<std::pair<std::string, apps::ControlServer::Request>> pending_revokes_;
  std::function<std::string()> status_;
};

Result<quic::RoomKey> open_room_key(const GatewayFlags& flags, obs::Logger* log) {
  if (auto st = gateway::ensure_private_dir(flags.state_dir); !st)
    return tl::unexpected(st.error());
  bool created = false;
  auto key = gateway::load_or_create_room_key(room_key_path(flags), &created);
  if (key && created && log != nullptr) {
    log->info("gateway.room_key_created", {{"path", room_key_path(flags).string()}});
  }
  return key;
}

int run_gateway(GatewayFlags& flags) {
  if (flags.interface.empty()) {
    return fail_with("--interface is required: the LAN interface to bridge (e.g. eth0, br-lan)");
  }
  if (auto st = apps::apply_invite_link(flags.relay); !st) return fail_with(st.error().context);
  auto quic_config = apps::make_quic_config(flags.relay);
  if (!quic_config) return fail_with(quic_config.error().context);
  auto logging = apps::make_logging(flags.relay);
  auto key = open_room_key(flags, &logging.logger);
  if (!key) return fail_with(key.error().describe());

  // On a bridge the gateway becomes one more port of it (bridge_port.hpp says why).
  std::optional<gateway::BridgePort> bridge_port;
  std::string socket_interface = flags.interface;
  if (gateway::is_bridge(flags.interface)) {
    auto port = gateway::BridgePort::attach(flags.interface, logging.logger);
    if (!port) return fail_with(port.error().describe());
    bridge_port.emplace(std::move(*port));
    socket_interface = bridge_port->gateway_end();
  }
  auto lan = gateway::PacketSocket::open(socket_interface, proto::kOverlayHeaderSize);
  if (!lan) return fail_with(lan.error().describe());
  std::optional<gateway::ReceiveOffloadGuard> gro_guard;
  if (!flags.keep_gro && !bridge_port) {
    auto guard = gateway::ReceiveOffloadGuard::apply(flags.interface, logging.logger);
    if (guard) {
      gro_guard.emplace(std::move(*guard));
    } else {
      logging.logger.warn("gateway.gro_unchanged", {{"error", guard.error().describe()}});
    }
  }
  logging.logger.info("gateway.lan_open", {{"interface", flags.interface},
                                           {"socket_interface", socket_interface},
                                           {"mac", (*lan)->interface_mac().to_string()},
                                           {"mtu", (*lan)->interface_mtu()}});

  auto loop = io::EventLoop::create();
  if (!loop) return fail_with(loop.error().describe());
  const proto::MacAddress cam_destination =
      bridge_port ? bridge_port->bridge_mac() : (*lan)->interface_mac();
  LanPort port(**lan, **loop, std::chrono::seconds(flags.cam_refresh), cam_destination,
               invites_path(flags), logging.logger, !flags.no_lan_offload);
  auto control = apps::ControlServer::open(**loop, control_path(flags),
                                           [&port](apps::ControlServer::Request request) {
                                             port.on_control_request(std::move(request));
                                           });
  if (!control) return fail_with(control.error().describe());
  client_core::Runner runner(
      **loop,
      client_core::RunnerConfig{.quic = *quic_config,
                                .more_relays = flags.relay.more_relays,
                                .session = {.role = ctrl::Role::kGateway,
                                            .room = flags.relay.room,
                                            .mac = (*lan)->interface_mac(),
                                            .software = "lanparty-gateway/0.1.0"},
                                .room_key = *key},
      port, logging.logger, apps::make_random_unit());
  port.set_status([&, loop = loop->get()] {
    return apps::to_json(apps::collect_status(std::string(kProgram), runner, *quic_config,
                                              flags.interface, port.local_drops(), loop->now()));
  });
  logging.logger.info("gateway.room_owner",
                      {{"room", flags.relay.room},
                       {"room_key", ctrl::base64url_encode(key->public_key()).substr(0, 8)},
                       {"control_socket", control_path(flags).string()}});
  const int run_code = apps::run_device(kProgram, **loop, runner, port, (*lan)->fd());
  // A failed handshake that stopped the run, or kept it from ever joining, ends with that
  // failure's own code (README, "Exit codes").
  const auto failure = runner.handshake_failure_to_report();
  if (!failure || run_code == 2) return run_code;
  return obs::exit_code(*failure);
}

struct InviteFlags {
  std::vector<std::string> relays;  // the first, then the cluster's others (relays=)
  std::string relay_ca_cert;
  std::string server_name;
  std::string expires = "24h";
  std::string name;
};

int run_invite(const GatewayFlags& flags, const InviteFlags& invite) {
  if (flags.relay.room.empty() || invite.relays.empty() || invite.relay_ca_cert.empty()) {
    return fail_with(
        "invite needs --room ROOM, --relay HOST:PORT (as players reach the relay) "
        "and --relay-ca-cert relay-cert.der");
  }
  auto valid_for = gateway::parse_invite_lifetime(invite.expires);
  if (!valid_for) return fail_with(fmt::format("--expires: {}", valid_for.error().context));
  auto der = quic::read_der(invite.relay_ca_cert);
  if (!der) return fail_with(der.error().describe());
  auto key = open_room_key(flags, nullptr);
  if (!key) return fail_with(key.error().describe());
  gateway::InviteRequest request{
      .room = flags.relay.room,
      .relay = invite.relays.front(),
      .more_relays = {invite.relays.begin() + 1, invite.relays.end()},
      .server_name = invite.server_name,
      .relay_cert_sha256 = quic::certificate_sha256(*der),
      .valid_for = *valid_for,
      .name = invite.name.empty() ? std::nullopt : std::optional<std::string>(invite.name),
      .now_unix = unix_now(),
      .id = gateway::random_invite_id()};
  auto made = gateway::make_invite(request, *key);
  if (!made) return fail_with(made.error().context);
  if (auto st = gateway::record_issued_invite(invites_path(flags), made->payload); !st) {
    return fail_with(st.error().describe());
  }
  std::printf(
      "Invite %s for room %s%s, valid until %s:\n\n%s\n\n"
      "A player on Linux runs:\n  sudo lanparty-client join '%s'\n"
      "A player on Windows runs, as Administrator:\n  lanparty-client-win.exe join \"%s\"\n\n"
      "Revoke it with: lanparty-gateway ctl revoke %s\n",
      made->payload.id.c_str(), made->payload.room.c_str(),
      made->payload.name ? fmt::format(" ({})", *made->payload.name).c_str() : "",
      utc_time(made->payload.exp).c_str(), made->link.c_str(), made->link.c_str(),
      made->link.c_str(), made->payload.id.c_str());
  return 0;
}

// The unit runs one gateway per interface, each with its state in
// /var/lib/lanparty-gateway/IFACE: when the host names none and exactly one runs, that one.
std::filesystem::path status_socket(const GatewayFlags& flags, bool named) {
  auto path = control_path(flags);
  std::error_code ec;
  if (named || std::filesystem::exists(path, ec) ||
      flags.state_dir != default_state_dir().string()) {
    return path;
  }
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(flags.state_dir, ec)) {
    if (std::filesystem::exists(entry.path() / "ctl.sock", ec)) {
      found.push_back(entry.path() / "ctl.sock");
    }
  }
  return found.size() == 1 ? found.front() : path;
}

int run_ctl(const GatewayFlags& flags, const std::vector<std::string>& words) {
  if (words.empty())
    return fail_with("ctl needs a command: peers, kick PEER_ID [REASON], revoke ID");
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  auto answer = apps::control_request(control_path(flags), line, std::chrono::seconds(10));
  if (!answer) return fail_with(answer.error().describe());
  std::fputs(answer->c_str(), stdout);
  return answer->starts_with("error:") ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    GatewayFlags flags;
    flags.state_dir = default_state_dir().string();
    InviteFlags invite;
    std::vector<std::string> ctl_words;
    CLI::App app{
        "lanparty-gateway: bridge this wired LAN into a softlan-vpn room, and manage who may "
        "join it"};
    apps::add_relay_flags(app, flags.relay);
    app.add_option("--interface", flags.interface,
                   "the LAN interface to bridge (a NIC such as eth0, or a bridge such as br-lan)");
    app.add_option("--cam-refresh", flags.cam_refresh,
                   "seconds between CAM refresh frames for remote players' MACs; 0 = off")
        ->check(CLI::Range(0u, 3600u))
        ->capture_default_str();
    app.add_flag("--keep-gro", flags.keep_gro,
                 "leave generic receive offload on (the gateway then cuts merged frames back "
                 "into segments itself, at some CPU cost)");
    app.add_flag("--no-lan-offload", flags.no_lan_offload,
                 "write frames from the room to the LAN one by one as they came: no merged TCP "
                 "super-frames for the kernel or NIC to cut (for set-ups that mishandle them)");
    app.add_option("--state-dir", flags.state_dir,
                   "the room key, issued invites and the control socket (created 0700)")
        ->capture_default_str();
    app.add_option("--room-key", flags.room_key,
                   "the room key file (default STATE_DIR/room.key; made on first use, 0600)");
    app.add_option("--control-socket", flags.control_socket,
                   "the running gateway's control socket, for ctl and status (default "
                   "STATE_DIR/ctl.sock, 0600)");
    apps::ConfigFileFlags config;
    apps::add_config_file(app, config, "/etc/lanparty/gateway.toml", "room = \"ROOM1\"");

    auto* invite_cmd = app.add_subcommand(
        "invite", "print an invite link for a player (uses the room key; no relay needed)");
    invite_cmd->add_option("--room", flags.relay.room, "the room")->required();
    invite_cmd
        ->add_option("--relay", invite.relays,
                     "HOST:PORT as players reach the relay; repeat it for the other relays of "
                     "a cluster (they share one certificate): players try them in turn")
        ->required();
    invite_cmd
        ->add_option("--relay-ca-cert", invite.relay_ca_cert,
                     "the relay's certificate (DER): the link pins its SHA-256")
        ->required()
        ->check(CLI::ExistingFile);
    invite_cmd->add_option("--server-name", invite.server_name,
                           "the relay's TLS name (default: the relay's host name, or "
                           "lanparty-relay for an IP address)");
    invite_cmd->add_option("--expires", invite.expires, "how long it is valid: 90, 30m, 24h, 7d")
        ->capture_default_str();
    invite_cmd->add_option("--name", invite.name, "the player's name, shown to the room");
    invite_cmd->fallthrough();

    auto* ctl_cmd = app.add_subcommand(
        "ctl", "talk to the running gateway: peers | kick PEER_ID [REASON] | revoke INVITE_ID");
    ctl_cmd->add_option("command", ctl_words, "the command and its arguments")->required();
    ctl_cmd->fallthrough();
    bool status_json = false;
    auto* status_cmd = app.add_subcommand(
        "status", "how the running gateway is doing: room, relay, MTU, peers, RTT, frames");
    status_cmd->add_flag("--json", status_json, "the same as one JSON object, for scripts");
    status_cmd->fallthrough();
    app.require_subcommand(0, 1);
    if (auto code = apps::parse_command_line(app, argc, argv, kProgram)) return *code;
    if (config.print) {
      std::fputs(apps::effective_config(app).c_str(), stdout);
      return 0;
    }
    if (invite_cmd->parsed()) return run_invite(flags, invite);
    if (ctl_cmd->parsed()) return run_ctl(flags, ctl_words);
    if (status_cmd->parsed()) {
      const bool named =
          app.get_option("--state-dir")->count() > 0 || !flags.control_socket.empty();
      return apps::run_status_command(kProgram, status_socket(flags, named), status_json);
    }
    return run_gateway(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lanparty-gateway: fatal: %s\n", e.what());
    return 1;
  }
}
