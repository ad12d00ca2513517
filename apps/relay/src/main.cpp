// SPDX-License-Identifier: MIT
// lanparty-relay: the public meeting point. Holds rooms; forwards Ethernet frames between one
// gateway and its remote clients over QUIC datagrams.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#ifdef LANPARTY_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config_file.hpp"
#include "directory_metrics.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"
#include "lanparty/ctrl/invite_link.hpp"
#include "lanparty/directory/redis_room_directory.hpp"
#include "lanparty/directory/redis_room_homing.hpp"
#include "lanparty/directory/sqlite_room_directory.hpp"
#include "lanparty/directory/state_dir.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/rate_limited_sink.hpp"
#include "lanparty/obs/sinks.hpp"
#include "lanparty/proto/mtu.hpp"
#include "lanparty/quic/certificate.hpp"
#include "lanparty/quic/server.hpp"
#include "linux/control_socket.hpp"
#include "memory_trim.hpp"
#include "metrics.hpp"
#include "relay.hpp"
#include "room_options.hpp"

namespace {

using namespace lanparty;

struct Options {
  std::string listen = "4433/udp";
  std::string dev_cert_der_out;
  std::string dev_cert_name = "lanparty-relay";
  std::string cert_pem;
  std::string key_pem;
  std::size_t max_mtu = proto::kDefaultMaxMtu;
  std::size_t max_peers_per_room = 64;
  std::size_t max_rooms = 4096;
  unsigned stats_interval = 10;
  std::string log_level = "info";
  std::string log_format = "text";
  std::string metrics_listen;
  std::string rooms = "claimed";
  std::string room_owners;
  std::string room_ttl = "30d";
  std::string state_dir;       // empty: default_state_dir()
  std::string control_socket;  // empty: STATE_DIR/ctl.sock where the state directory is used
  std::size_t max_room_records = directory::kDefaultMaxRoomRecords;
  // Where the room records live: sqlite:PATH (default STATE_DIR/rooms.sqlite3) or a Redis
  // shared by the relays of a cluster (redis://HOST:PORT/DB; docs/architecture.md).
  std::string directory;
  std::string directory_password_file;
  std::string directory_prefix = std::string(directory::kDefaultRedisPrefix);
  std::string directory_ca_file;  // --directory-ca-file: rediss:// trusts these CAs
  // With redis://: this relay's public HOST:PORT, where peers of its rooms are redirected.
  std::string advertise;
  // The open internet (see README "Limits").
  std::string retry = "auto";
  std::size_t max_handshakes = quic::AdmissionLimits{}.max_handshakes;
  std::size_t max_connections_per_source = quic::AdmissionLimits{}.max_connections_per_source;
  double handshake_rate_per_source = quic::AdmissionLimits{}.handshakes_per_second_per_source;
  std::size_t max_rooms_per_source = relay::kDefaultMaxRoomsPerSource;
  std::string peer_rate = relay::to_string(relay::kDefaultPeerRate);
  std::string peer_broadcast_rate = relay::to_string(relay::kDefaultPeerBroadcastRate);
};

// The open-internet limits once checked.
struct LimitSettings {
  quic::AdmissionLimits admission;
  relay::RateLimit peer_rate;
  relay::RateLimit peer_broadcast_rate;
};

Result<LimitSettings> limit_settings(const Options& opt) {
  LimitSettings settings;
  const auto retry = quic::parse_retry_mode(opt.retry);
  if (!retry) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--retry {}: expected auto (the default: Retry while many "
                            "handshakes are in flight or a source is over its rate), always or "
                            "never",
                            opt.retry));
  }
  settings.admission.retry = *retry;
  settings.admission.max_handshakes = opt.max_handshakes;
  settings.admission.retry_above_handshakes =
      std::min(settings.admission.retry_above_handshakes, opt.max_handshakes);
  settings.admission.max_connections_per_source = opt.max_connections_per_source;
  settings.admission.handshakes_per_second_per_source = opt.handshake_rate_per_source;
  settings.admission.handshake_burst_per_source = std::max(1.0, 2 * opt.handshake_rate_per_source);
  auto peer_rate = relay::parse_rate_limit(opt.peer_rate, "--peer-rate");
  if (!peer_rate) return tl::unexpected(peer_rate.error());
  settings.peer_rate = *peer_rate;
  auto broadcast = relay::parse_rate_limit(opt.peer_broadcast_rate, "--peer-broadcast-rate");
  if (!broadcast) return tl::unexpected(broadcast.error());
  settings.peer_broadcast_rate = *broadcast;
  return settings;
}

// Section 7 settings once checked: what run() needs beyond Options.
struct RoomSettings {
  relay::RoomMode mode = relay::RoomMode::kClaimed;
  relay::OwnerKeys owners;
  std::chrono::seconds ttl = directory::kDefaultRoomTtl;
  std::filesystem::path state_dir;
};

// A system service keeps its state under /var/lib; anyone else in the working directory, as
// the development certificate is.
std::filesystem::path default_state_dir() {
  return ::geteuid() == 0 ? std::filesystem::path("/var/lib/lanparty-relay")
                          : std::filesystem::path("run/state");
}

// Where `lanparty-relay status` finds the running relay: --control-socket, else ctl.sock in
// the state directory.
std::filesystem::path control_socket_path(const Options& opt) {
  if (!opt.control_socket.empty()) return opt.control_socket;
  return (opt.state_dir.empty() ? default_state_dir() : std::filesystem::path(opt.state_dir)) /
         "ctl.sock";
}

// The certificate the relay presents: --cert/--key, or the development one (made and kept
// beside --dev-cert-der-out on first start). Read at start and again on SIGHUP.
Result<quic::CertificateKey> load_certificate(const Options& opt);

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno(errno, fmt::format("cannot read {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail_errno(errno, fmt::format("cannot read {}", path.string()));
  return text.str();
}

// --directory-password-file: the first line, which must be non-empty; the file must not be
// readable by group or others (it grants the whole cluster's room records).
Result<std::string> read_password_file(const std::string& path) {
  std::error_code ec;
  const auto mode = std::filesystem::status(path, ec).permissions();
  if (ec) return fail(ec, fmt::format("--directory-password-file {}: {}", path, ec.message()));
  using std::filesystem::perms;
  if ((mode & (perms::group_read | perms::others_read)) != perms::none) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--directory-password-file {} is readable by group or others; "
                            "chmod 600 it",
                            path));
  }
  auto text = read_text_file(path);
  if (!text) return fail(text.error().code, "--directory-password-file " + text.error().context);
  std::string password = text->substr(0, text->find('\n'));
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--directory-password-file {}: the first line is empty", path));
  }
  return password;
}

// Checks the section 7 flags against each other; a message saying what to change otherwise.
Result<RoomSettings> room_settings(const Options& opt) {
  RoomSettings settings;
  const auto mode = relay::parse_room_mode(opt.rooms);
  if (!mode) {
    return fail(
        Errc::kInvalidArgument,
        fmt::format("--rooms {}: expected open, claimed (the default) or owners", opt.rooms));
  }
  settings.mode = *mode;
  if (settings.mode == relay::RoomMode::kOwners) {
    if (opt.room_owners.empty()) {
      return fail(Errc::kInvalidArgument,
                  "--rooms owners needs --room-owners FILE: one base64url room key (the "
                  "gateway's public key) a line");
    }
    auto text = read_text_file(opt.room_owners);
    if (!text) {
      return fail(text.error().code,
                  fmt::format("--room-owners {}: {}", opt.room_owners, text.error().describe()));
    }
    auto owners = relay::parse_room_owners(*text, opt.room_owners);
    if (!owners) return tl::unexpected(owners.error());
    settings.owners = std::move(*owners);
  } else if (!opt.room_owners.empty()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--room-owners only applies to --rooms owners (this relay runs "
                            "--rooms {}): drop it, or add --rooms owners",
                            opt.rooms));
  }
  auto ttl = relay::parse_room_ttl(opt.room_ttl);
  if (!ttl) return tl::unexpected(ttl.error());
  settings.ttl = *ttl;
  // A relay of a cluster tells peers where a room lives by its public address.
  const bool clustered =
      opt.directory.starts_with("redis") && settings.mode != relay::RoomMode::kOpen;
  if (clustered && opt.advertise.empty()) {
    return fail(Errc::kInvalidArgument,
                "--directory redis:// needs --advertise HOST:PORT: this relay's address as "
                "players reach it (the relays of a cluster send a room's peers to the relay "
                "that serves it), e.g. --advertise relay-2.example:4433");
  }
  if (!clustered && !opt.advertise.empty()) {
    return fail(Errc::kInvalidArgument,
                "--advertise only applies to a relay of a cluster (--directory redis:// with "
                "--rooms claimed or owners): drop it, or add --directory redis://HOST:PORT/DB");
  }
  if (!opt.directory_ca_file.empty() && !opt.directory.starts_with("rediss://")) {
    return fail(Errc::kInvalidArgument,
                "--directory-ca-file only applies to --directory rediss://HOST:PORT/DB (Redis "
                "over TLS)");
  }
  settings.state_dir =
      opt.state_dir.empty() ? default_state_dir() : std::filesystem::path(opt.state_dir);
  return settings;
}

// The development certificate survives restarts: its key and chain are kept beside the DER
// (NAME.key.pem, NAME.pem), so players keep their pin and a restarted relay can reset its old
// connections at once (its stateless reset key derives from the certificate key).
Result<quic::CertificateKey> load_or_create_dev_certificate(const std::filesystem::path& der,
                                                            const std::string& name) {
  auto key_path = der;
  key_path.replace_extension(".key.pem");
  auto chain_path = der;
  chain_path.replace_extension(".pem");
  Result<quic::CertificateKey> certificate = fail(Errc::kNotFound, "no saved certificate");
  std::error_code ec;
  if (std::filesystem::exists(key_path, ec) && std::filesystem::exists(chain_path, ec)) {
    certificate = quic::load_pem(chain_path, key_path);
    if (!certificate) {
      return fail(certificate.error().code,
                  fmt::format("saved development certificate {} / {} ({}); delete both to make "
                              "a new one (players must then pin the new {})",
                              chain_path.string(), key_path.string(), certificate.error().context,
                              der.string()));
    }
  } else {
    certificate = quic::generate_self_signed(name);
    if (!certificate) {
      return fail(certificate.error().code,
                  "cannot generate a development certificate: " + certificate.error().describe());
    }
    if (auto st = write_private_file(key_path, certificate->key_pem); !st) {
      return tl::unexpected(st.error());
    }
    if (auto st = write_private_file(chain_path, certificate->cert_chain_pem); !st) {
      return tl::unexpected(st.error());
    }
  }
  if (auto st = quic::write_der(*certificate, der); !st) {
    return fail(st.error().code, fmt::format("cannot write --dev-cert-der-out {}: {}", der.string(),
                                             st.error().describe()));
  }
  return certificate;
}

// systemd integration (Type=notify, WatchdogSec=). Without NOTIFY_SOCKET, or in a build
// without libsystemd, every call is a no-op.
void notify_systemd([[maybe_unused]] const char* state) {
#ifdef LANPARTY_HAVE_SYSTEMD
  (void)::sd_notify(0, state);
#endif
}

// Half the watchdog interval systemd asked for (WATCHDOG_USEC), or zero when it asked for none.
std::chrono::microseconds watchdog_ping_interval() {
#ifdef LANPARTY_HAVE_SYSTEMD
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    return std::chrono::microseconds(usec / 2);
  }
#endif
  return std::chrono::microseconds(0);
}

// Two relays started with one --advertise would share one id in the cluster: its rooms, its
// leases and the redirects to it. A registration of this id by another live process refuses
// the start. One that is not refreshed (this relay's previous run, killed a moment ago) is
// waited out once: it lapses within the liveness time. Redis down: the start goes on, and
// every refresh checks again (the conflict is then logged and counted, not fatal).
Status check_advertise_unique(directory::RedisRoomHoming& homing, const std::string& advertise,
                              obs::Logger& log) {
  std::chrono::milliseconds left{0};
  Status registered = homing.register_relay(advertise, 0, directory::kDefaultRelayLiveness, &left);
  if (registered) return ok();
  if (registered.error().code != std::errc::address_in_use) {
    log.warn("relay.directory_unreachable",
             {{"error", registered.error().describe()},
              {"advice", "starting anyway; the relay registers once the directory answers"}});
    return ok();
  }
  const auto wait =
      std::min(left, directory::kDefaultRelayLiveness) + directory::kDefaultLivenessRefresh / 2;
  log.warn("relay.advertise_in_use",
           {{"advertise", advertise},
            {"wait_ms", static_cast<std::int64_t>(wait.count())},
            {"advice",
             "another process holds this relay's registration; waiting to see whether "
             "it is alive (a previous run of this relay that died lets it lapse)"}});
  std::this_thread::sleep_for(wait);
  registered = homing.register_relay(advertise, 0, directory::kDefaultRelayLiveness);
  if (registered || registered.error().code != std::errc::address_in_use) return ok();
  return fail(registered.error().code,
              fmt::format("--advertise {}: {}", advertise, registered.error().context));
}

int fail_with(const std::string& message) {
  std::fprintf(stderr, "lanparty-relay: %s\n", message.c_str());
  return 2;
}

Result<quic::CertificateKey> load_certificate(const Options& opt) {
  if (opt.cert_pem.empty()) {
    return load_or_create_dev_certificate(opt.dev_cert_der_out, opt.dev_cert_name);
  }
  auto certificate = quic::load_pem(opt.cert_pem, opt.key_pem);
  if (!certificate) {
    return fail(certificate.error().code,
                fmt::format("cannot load --cert {} / --key {}: {}", opt.cert_pem, opt.key_pem,
                            certificate.error().describe()));
  }
  return certificate;
}

// `lanparty-relay status`: asks the running relay on its control socket. Exit codes as
// systemctl status: 0, 3 when no relay runs there, 1 on another failure.
int run_status(const Options& opt, bool json_out) {
  const auto path = control_socket_path(opt);
  auto answer = apps::control_request(path, "status", std::chrono::seconds(5));
  if (!answer) {
    if (apps::nobody_listening(answer.error())) {
      std::printf("lanparty-relay is not running (nothing answers on %s).\n", path.c_str());
      return 3;
    }
    std::fprintf(stderr, "lanparty-relay: status: %s\n", answer.error().describe().c_str());
    return 1;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto text = relay::describe_status(*answer, now);
  if (!text) {
    std::fprintf(stderr, "lanparty-relay: status: unexpected answer from %s: %s\n", path.c_str(),
                 text.error().context.c_str());
    return 1;
  }
  std::fputs(json_out ? answer->c_str() : text->c_str(), stdout);
  return 0;
}

int run(const Options& opt, const RoomSettings& room_settings, const LimitSettings& limits) {
  const auto level = obs::parse_level(opt.log_level);
  std::unique_ptr<obs::Sink> sink;
  if (opt.log_format == "json") {
    sink = std::make_unique<obs::JsonLinesSink>(stderr);
  } else {
    sink = std::make_unique<obs::TextSink>(stderr);
  }
  // Repeated events are capped per name (log.suppressed counts the rest): a flood of
  // connections or errors cannot fill the disk.
  sink = std::make_unique<obs::RateLimitedSink>(std::move(sink));
  obs::Logger log(sink.get(), *level);

  auto certificate = load_certificate(opt);
  if (!certificate) return fail_with(certificate.error().context);

  // The room records: opened before the relay answers anyone, never in open mode.
  std::unique_ptr<directory::RoomDirectory> room_records;
  std::unique_ptr<directory::RedisRoomHoming> room_homing;  // a relay of a Redis cluster
  const bool owned_rooms = room_settings.mode != relay::RoomMode::kOpen;
  const bool redis_records = opt.directory.starts_with("redis");
  if (owned_rooms && redis_records) {
    auto endpoint = directory::parse_redis_url(opt.directory);
    if (!endpoint) return fail_with("--directory: " + endpoint.error().context);
    if (!opt.directory_password_file.empty()) {
      auto password = read_password_file(opt.directory_password_file);
      if (!password) return fail_with(password.error().context);
      endpoint->password = std::move(*password);
    }
    endpoint->tls_ca_file = opt.directory_ca_file;
    auto opened = directory::RedisRoomDirectory::open(directory::RedisDirectoryConfig{
        .endpoint = *endpoint,
        .prefix = opt.directory_prefix,
        .limits = {.room_ttl = room_settings.ttl, .max_room_records = opt.max_room_records}});
    if (!opened) return fail_with("--directory: " + opened.error().describe());
    room_records = std::move(*opened);
    auto homing = directory::RedisRoomHoming::open(directory::RedisHomingConfig{
        .endpoint = *endpoint, .prefix = opt.directory_prefix, .relay_id = opt.advertise});
    if (!homing) return fail_with("--advertise: " + homing.error().describe());
    room_homing = std::move(*homing);
    log.info("relay.directory", {{"directory", endpoint->describe()},
                                 {"prefix", opt.directory_prefix},
                                 {"advertise", opt.advertise},
                                 {"instance", room_homing->instance()}});
    if (auto unique = check_advertise_unique(*room_homing, opt.advertise, log); !unique) {
      return fail_with(unique.error().context);
    }
  } else if (owned_rooms) {
    if (auto st = directory::ensure_state_dir(room_settings.state_dir); !st) {
      return fail_with(fmt::format("--state-dir {}: {}", room_settings.state_dir.string(),
                                   st.error().describe()));
    }
    const auto path = opt.directory.starts_with("sqlite:")
                          ? std::filesystem::path(opt.directory.substr(7))
                          : room_settings.state_dir / directory::kRoomsFileName;
    auto opened = directory::SqliteRoomDirectory::open(directory::SqliteConfig{
        .path = path,
        .limits = {.room_ttl = room_settings.ttl, .max_room_records = opt.max_room_records}});
    if (!opened) {
      return fail_with(
          fmt::format("room records {}: {}", path.string(), opened.error().describe()));
    }
    room_records = std::move(*opened);
  } else if (!opt.state_dir.empty()) {
    log.warn("relay.state_dir_unused", {{"state_dir", opt.state_dir}, {"rooms", "open"}});
  }

  auto loop = io::EventLoop::create();
  if (!loop) return fail_with("event loop: " + loop.error().describe());
  // A networked directory is called from its own thread: a slow or restarting Redis delays
  // joins, never forwarding. Declared before the relay, so it outlives it.
  std::unique_ptr<relay::DirectoryWorker> directory_worker;
  if (room_records && redis_records) {
    auto started =
        relay::DirectoryWorker::start(**loop, std::move(room_records), {}, std::move(room_homing));
    if (!started) return fail_with("directory worker: " + started.error().describe());
    directory_worker = std::move(*started);
  }

  relay::Relay relay(
      **loop,
      relay::RelayConfig{
          .limits = {.max_mtu = opt.max_mtu,
                     .max_peers_per_room = opt.max_peers_per_room,
                     .max_rooms = opt.max_rooms},
          .stats_interval = std::chrono::seconds(opt.stats_interval),
          .peer_rate = limits.peer_rate,
          .peer_broadcast_rate = limits.peer_broadcast_rate,
          .max_rooms_per_source = opt.max_rooms_per_source,
          .rooms = room_settings.mode,
          .room_owners = room_settings.owners,
          .owner_touch_interval = relay::owner_touch_interval(room_settings.ttl),
          .homing = directory_worker != nullptr
                        ? std::optional(relay::HomingSettings{.advertise = opt.advertise})
                        : std::nullopt},
      log, room_records.get(), directory_worker.get());
  auto server = quic::Server::create(**loop,
                                     quic::ServerConfig{.listen = opt.listen,
                                                        .certificate = std::move(*certificate),
                                                        .admission = limits.admission},
                                     relay, log);
  if (!server)
    return fail_with(fmt::format("--listen {}: {}", opt.listen, server.error().describe()));
  relay::MemoryTrim memory_trim(**loop, **server);

  std::unique_ptr<relay::MetricsServer> metrics;
  if (!opt.metrics_listen.empty()) {
    quic::Server& listening = **server;
    auto started = relay::MetricsServer::start(
        **loop, opt.metrics_listen,
        [&relay, &listening] {
          return relay::render_metrics(relay) +
                 relay::render_admission_metrics(listening.admission_counters()) +
                 relay::render_udp_metrics(listening.udp_stats()) +
                 relay::render_cluster_metrics(relay);
        },
        log);
    if (!started) return fail_with(started.error().describe());
    metrics = std::move(*started);
  }

  // `lanparty-relay status`. Only where the state directory is in use (or the socket is named):
  // an open-mode relay keeps nothing on disk. Without it the relay still serves.
  const auto started_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  std::unique_ptr<apps::ControlServer> control;
  if (owned_rooms || !opt.control_socket.empty()) {
    quic::Server& listening = **server;
    auto opened = apps::ControlServer::open(
        **loop, control_socket_path(opt),
        [&relay, &listening, started_unix](apps::ControlServer::Request request) {
          if (request.line() == "status") {
            request.answer(relay::render_status_json(relay, listening.local_address().to_string(),
                                                     started_unix) +
                           "\n");
          } else if (request.line() == "ping") {
            request.answer("pong\n");
          } else {
            request.answer("error: unknown command; use status\n");
          }
        });
    if (opened) {
      control = std::move(*opened);
    } else {
      log.warn("relay.control_socket_unavailable",
               {{"path", control_socket_path(opt).string()}, {"error", opened.error().describe()}});
    }
  }

  // Signals arrive through a signalfd so the shutdown runs on the loop, not in a handler.
  // SIGHUP reloads the certificate (a renewed one) without touching a room.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) return fail_with("signalfd failed");
  bool shutting_down = false;
  // Outlives the signal callback: each timer holds a copy that re-arms through this one.
  std::function<void()> shutdown_poll;
  io::EventLoop& ev = **loop;
  quic::Server& srv = **server;
  const auto reload = [&] {
    notify_systemd("RELOADING=1");
    auto renewed = load_certificate(opt);
    if (!renewed) {
      log.error("relay.reload_failed",
                {{"error", renewed.error().context},
                 {"advice",
                  "the relay keeps presenting its previous certificate; fix the files "
                  "and send SIGHUP again"}});
    } else if (auto st = srv.reload_certificate(*renewed); !st) {
      log.error("relay.reload_failed",
                {{"error", st.error().describe()},
                 {"advice",
                  "the relay keeps presenting its previous certificate; fix the files "
                  "and send SIGHUP again"}});
    } else {
      log.info("relay.certificate_reloaded",
               {{"cert", opt.cert_pem.empty() ? opt.dev_cert_der_out : opt.cert_pem},
                {"connections_kept", srv.connection_count()}});
    }
    notify_systemd("READY=1");
  };
  auto status = ev.add_fd(signal_fd, EPOLLIN, [&](std::uint32_t) {
    signalfd_siginfo info{};
    bool stop = false;
    bool hangup = false;
    while (::read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
      (info.ssi_signo == SIGHUP ? hangup : stop) = true;
    }
    if (hangup && !shutting_down) reload();
    if (!stop) return;
    if (shutting_down) {
      ev.stop();  // a second signal: stop waiting for acknowledgements
      return;
    }
    shutting_down = true;
    notify_systemd("STOPPING=1");
    relay.shutdown();
    // Wait for the disconnects to be acknowledged and the closes to go out, at most 2 s.
    const auto deadline = ev.now() + std::chrono::seconds(2);
    shutdown_poll = [&ev, &srv, &shutdown_poll, deadline] {
      if (srv.connection_count() == 0 || ev.now() >= deadline) {
        ev.stop();
        return;
      }
      (void)ev.add_timer(ev.now() + std::chrono::milliseconds(20), shutdown_poll);
    };
    (void)ev.add_timer(ev.now() + std::chrono::milliseconds(20), shutdown_poll);
  });
  if (!status) return fail_with("signal handling: " + status.error().describe());

  log.info("relay.listening",
           {{"listen", srv.local_address().to_string()},
            {"max_mtu", opt.max_mtu},
            {"max_peers_per_room", opt.max_peers_per_room},
            {"max_rooms", opt.max_rooms},
            {"stats_interval_s", opt.stats_interval},
            {"rooms", relay::to_string(room_settings.mode)},
            {"room_owners", room_settings.owners.size()},
            {"room_ttl_s", static_cast<std::int64_t>(room_settings.ttl.count())},
            {"state_dir", owned_rooms ? room_settings.state_dir.string() : std::string()},
            {"retry", quic::to_string(limits.admission.retry)},
            {"max_handshakes", limits.admission.max_handshakes},
            {"max_connections_per_source", limits.admission.max_connections_per_source},
            {"handshake_rate_per_source", limits.admission.handshakes_per_second_per_source},
            {"max_rooms_per_source", opt.max_rooms_per_source},
            {"peer_rate", relay::to_string(limits.peer_rate)},
            {"peer_broadcast_rate", relay::to_string(limits.peer_broadcast_rate)}});
  if (!opt.dev_cert_der_out.empty()) {
    const std::string port =
        srv.local_address().to_string().substr(srv.local_address().to_string().rfind(':') + 1);
    const std::string address = srv.local_address().to_string();
    const std::string cert = std::filesystem::absolute(opt.dev_cert_der_out).string();
    std::string text = fmt::format(
        "\nlanparty-relay is up on {}.\n"
        "  Development certificate: {} (copy it to the party host's gateway machine once)\n"
        "  The host's gateway bridges its LAN and claims the room:\n"
        "    lanparty-gateway --relay RELAY_HOST:{} --server-name {} --relay-ca-cert {} "
        "--room ROOM1 --interface eth0\n",
        address, cert, port, opt.dev_cert_name, cert);
    if (owned_rooms) {
      text += fmt::format(
          "  The host makes an invite link for each player:\n"
          "    lanparty-gateway invite --room ROOM1 --relay RELAY_HOST:{} --relay-ca-cert {} "
          "--name alice\n"
          "  and the player joins with it: lanparty-client join 'lanparty://...' (Windows: "
          "lanparty-client-win.exe join \"lanparty://...\")\n"
          "  Rooms are {}: a room belongs to the first gateway that proves a room key for it.\n\n",
          port, cert, relay::to_string(room_settings.mode));
    } else {
      text += fmt::format(
          "  Rooms are open: a player joins with\n"
          "    lanparty-client --relay RELAY_HOST:{} --server-name {} --relay-ca-cert {} "
          "--room ROOM1\n\n",
          port, opt.dev_cert_name, cert);
    }
    std::fputs(text.c_str(), stderr);
  }
  if (metrics) log.info("relay.metrics_listening", {{"port", metrics->port()}});

  // systemd: `systemctl start` returns once the relay listens; the watchdog is fed from the
  // loop, so a wedged loop gets the relay restarted.
  notify_systemd("READY=1");
  std::function<void()> watchdog_ping;
  if (const auto interval = watchdog_ping_interval(); interval.count() > 0) {
    watchdog_ping = [&ev, &watchdog_ping, interval] {
      notify_systemd("WATCHDOG=1");
      (void)ev.add_timer(ev.now() + interval, watchdog_ping);
    };
    watchdog_ping();
  }

  if (auto st = ev.run(); !st) return fail_with("event loop: " + st.error().describe());
  log.info("relay.stopped", {});
  ev.remove_fd(signal_fd);
  ::close(signal_fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options opt;
    CLI::App app{
        "lanparty-relay: holds LAN-party rooms and forwards their Ethernet frames over "
        "QUIC"};
    app.add_option("--listen", opt.listen,
                   "UDP address: PORT/udp (all interfaces), 0.0.0.0:PORT or [::]:PORT")
        ->capture_default_str();
    app.add_option("--dev-cert-der-out", opt.dev_cert_der_out,
                   "development certificate: write its DER here for clients to pin (kept with "
                   "its key as NAME.pem/NAME.key.pem and reused on restart)");
    app.add_option("--dev-cert-name", opt.dev_cert_name,
                   "server name in the development certificate (clients' --server-name)")
        ->capture_default_str();
    app.add_option("--cert", opt.cert_pem, "PEM certificate chain (production)")
        ->check(CLI::ExistingFile);
    app.add_option("--key", opt.key_pem, "PEM private key (production)")->check(CLI::ExistingFile);
    app.add_option("--max-mtu", opt.max_mtu, "largest room MTU (IP packet bytes)")
        ->check(CLI::Range(std::size_t{576}, std::size_t{65535 - 22 - 3}))
        ->capture_default_str();
    app.add_option("--max-peers-per-room", opt.max_peers_per_room,
                   "peers per room, the gateway included")
        ->check(CLI::Range(std::size_t{1}, std::size_t{65535}))
        ->capture_default_str();
    app.add_option("--max-rooms", opt.max_rooms, "rooms this relay holds at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{65535}))
        ->capture_default_str();
    app.add_option("--stats-interval", opt.stats_interval,
                   "seconds between stats messages to each peer; 0 = off")
        ->check(CLI::Range(0u, 86400u))
        ->capture_default_str();
    app.add_option("--log-level", opt.log_level, "debug, info, warn, error or off")
        ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
        ->capture_default_str();
    app.add_option("--log-format", opt.log_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--metrics-listen", opt.metrics_listen,
                   "serve Prometheus metrics over HTTP on ADDR:PORT, e.g. 127.0.0.1:9100");
    // Section 7. Values are checked after parsing (room_settings) so that each message can
    // say how to fix it.
    app.add_option("--rooms", opt.rooms,
                   "room mode: open (anyone joins any room), claimed (a room belongs to the "
                   "first gateway that proves a room key; players need its invites) or owners "
                   "(as claimed, only keys in --room-owners may claim)")
        ->capture_default_str();
    app.add_option("--room-owners", opt.room_owners,
                   "with --rooms owners: file of room keys that may claim rooms, one base64url "
                   "public key a line, # comments");
    app.add_option("--room-ttl", opt.room_ttl,
                   "forget a room's owner after it has not been seen this long: seconds, or "
                   "a number with s, m, h or d (30d, 12h, 90m, 45s)")
        ->capture_default_str();
    app.add_option("--state-dir", opt.state_dir,
                   "directory for the room records (rooms.sqlite3), created mode 0700; default "
                   "/var/lib/lanparty-relay as root, else ./run/state; unused with --rooms open");
    app.add_option("--control-socket", opt.control_socket,
                   "where `lanparty-relay status` asks the running relay (0600); default "
                   "STATE_DIR/ctl.sock; with --rooms open only when given");
    app.add_option("--directory", opt.directory,
                   "where the room records live: sqlite:PATH (one relay; default "
                   "sqlite:STATE_DIR/rooms.sqlite3) or redis://HOST:PORT/DB, a Redis shared by "
                   "the relays of a cluster (rediss:// for TLS, see --directory-ca-file; "
                   "redis+unix:///PATH?db=N for a local socket)")
        ->check([](const std::string& v) -> std::string {
          if (v.starts_with("sqlite:") && v.size() > 7) return {};
          if (v.starts_with("redis")) {
            auto parsed = directory::parse_redis_url(v);
            return parsed ? std::string() : parsed.error().context;
          }
          return "expected sqlite:PATH or redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0";
        });
    app.add_option("--directory-password-file", opt.directory_password_file,
                   "with --directory redis://: file holding the Redis password (AUTH), one "
                   "line; it must not be readable by group or others");
    app.add_option("--directory-ca-file", opt.directory_ca_file,
                   "with --directory rediss://: PEM CA certificates the Redis server's "
                   "certificate must chain to (default: the system's trust store); its name "
                   "must match the URL's host")
        ->check(CLI::ExistingFile);
    app.add_option("--directory-prefix", opt.directory_prefix,
                   "with --directory redis://: key prefix shared by the relays of one cluster")
        ->check([](const std::string& v) -> std::string {
          auto ok = directory::check_redis_prefix(v);
          return ok ? std::string() : ok.error().context;
        })
        ->capture_default_str();
    app.add_option("--advertise", opt.advertise,
                   "with --directory redis://: this relay's HOST:PORT as peers reach it (its id "
                   "in the cluster; peers of the rooms it serves are redirected there), e.g. "
                   "relay-2.example:4433")
        ->check([](const std::string& v) -> std::string {
          auto parsed = ctrl::parse_relay_address(v);
          if (!parsed) return parsed.error().context;
          if (v.size() > ctrl::kMaxRedirectRelayBytes) return "at most 255 bytes";
          return {};
        });
    app.add_option("--max-room-records", opt.max_room_records,
                   "room records kept at most; a claim beyond gets relay_full")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}))
        ->capture_default_str();
    // The open internet. Defaults no LAN party reaches; see README "Limits".
    app.add_option("--retry", opt.retry,
                   "QUIC Retry (address validation before any state is kept): auto (while many "
                   "handshakes are in flight, or for a source over its handshake rate), always "
                   "(one more round trip for everyone) or never")
        ->capture_default_str();
    app.add_option("--max-handshakes", opt.max_handshakes,
                   "QUIC handshakes in flight at once, all sources together")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
        ->capture_default_str();
    app.add_option("--max-connections-per-source", opt.max_connections_per_source,
                   "connections one IPv4 address or IPv6 /64 may hold")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
        ->capture_default_str();
    app.add_option("--handshake-rate-per-source", opt.handshake_rate_per_source,
                   "new connections a second one IPv4 address or IPv6 /64 may start (bursts "
                   "of twice that)")
        ->check(CLI::Range(0.01, 1e6))
        ->capture_default_str();
    app.add_option("--max-rooms-per-source", opt.max_rooms_per_source,
                   "rooms one IPv4 address or IPv6 /64 may open (be the first peer of)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{65535}))
        ->capture_default_str();
    app.add_option("--peer-rate", opt.peer_rate,
                   "what one peer may send, e.g. 200000pps,2Gbit (frames/s and/or bits/s: "
                   "bit, kbit, Mbit, Gbit; or bytes/s: B, kB, MB, GB), or off; frames past it "
                   "are dropped as rate_limited")
        ->capture_default_str();
    app.add_option("--peer-broadcast-rate", opt.peer_broadcast_rate,
                   "what one peer may send to broadcast and multicast addresses (copied to "
                   "the whole room), same form as --peer-rate")
        ->capture_default_str();
    // Every flag above can also come from a TOML file (key = the long flag without --);
    // flags given on the command line win over the file.
    bool status_json = false;
    auto* status_cmd = app.add_subcommand(
        "status", "ask the running relay: its rooms, their peers and the top talkers");
    status_cmd->add_flag("--json", status_json, "the same as one JSON object, for scripts");
    status_cmd->fallthrough();
    apps::ConfigFileFlags config;
    apps::add_config_file(app, config, "/etc/lanparty/relay.toml", "max-peers-per-room = 16");
    if (auto code = apps::parse_command_line(app, argc, argv, "lanparty-relay")) return *code;
    if (config.print) {
      std::fputs(apps::effective_config(app).c_str(), stdout);
      return 0;
    }
    if (status_cmd->parsed()) return run_status(opt, status_json);
    auto settings = room_settings(opt);
    if (!settings) return fail_with(settings.error().context);
    auto limits = limit_settings(opt);
    if (!limits) return fail_with(limits.error().context);
    const bool production = !opt.cert_pem.empty() || !opt.key_pem.empty();
    if (production && (opt.cert_pem.empty() || opt.key_pem.empty())) {
      return fail_with("--cert and --key go together: give both PEM files");
    }
    if (production && !opt.dev_cert_der_out.empty()) {
      return fail_with("use either --cert/--key (production) or --dev-cert-der-out (development)");
    }
    if (!production && opt.dev_cert_der_out.empty()) {
      return fail_with(
          "no certificate: give --cert PEM --key PEM, or --dev-cert-der-out PATH to generate a "
          "development certificate that clients pin");
    }
    return run(opt, *settings, *limits);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lanparty-relay: fatal: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "lanparty-relay: fatal: unknown error\n");
    return 1;
  }
}
