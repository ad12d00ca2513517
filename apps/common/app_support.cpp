// SPDX-License-Identifier: MIT
// Relay flags, their checks and the QUIC config, logging, and the shared device port.
#include "app_support.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/invite_link.hpp"
#include "lanparty/obs/rate_limited_sink.hpp"

namespace lanparty::apps {

void add_relay_flags(CLI::App& app, RelayFlags& flags, bool with_invite) {
  app.add_option("--relay", flags.relay, "relay address, HOST:PORT (e.g. relay.example.net:4433)");
  app.add_option("--more-relays", flags.more_relays_text,
                 "further relays of the same cluster (one certificate), HOST:PORT,HOST:PORT: "
                 "tried in turn after --relay when it cannot be reached");
  app.add_option("--relay-timeout", flags.relay_timeout_s,
                 "seconds without a packet from the relay (while a keepalive goes out every "
                 "second) after which it counts as lost and the next relay is tried; 6 rides "
                 "out a 2-3 s Wi-Fi stall and moves a party within ~8 s of its relay's death")
      ->check(CLI::Range(3u, 600u))
      ->capture_default_str();
  app.add_option("--server-name", flags.server_name,
                 "the relay's name as in its certificate (TLS SNI)");
  app.add_option("--relay-ca-cert", flags.relay_ca_cert,
                 "the relay's certificate (DER) to trust exactly")
      ->check(CLI::ExistingFile);
  app.add_option("--ca-file", flags.ca_file,
                 "instead of --relay-ca-cert: PEM CA bundle the relay's chain must validate to")
      ->check(CLI::ExistingFile);
  app.add_option("--room", flags.room, "room name: 3-32 of A-Z a-z 0-9 _ -");
  app.add_option("--log-level", flags.log_level, "debug, info, warn, error or off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", flags.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  if (with_invite) {
    app.add_option("--invite", flags.invite_link,
                   "the host's invite link (lanparty://...): relay, room, certificate and "
                   "invite in one");
    auto* join = app.add_subcommand("join", "join a party with the host's invite link");
    join->add_option("link", flags.join_link, "the invite link, lanparty://...")->required();
    join->fallthrough();  // the other flags may follow the link
  }
}

Status apply_invite_link(RelayFlags& flags) {
  if (!flags.join_link.empty()) flags.invite_link = flags.join_link;
  if (flags.invite_link.empty()) {
    if (flags.more_relays_text.empty()) return ok();
    auto relays = ctrl::parse_relay_list(flags.more_relays_text);
    if (!relays) return fail(Errc::kInvalidArgument, "--more-relays: " + relays.error().context);
    flags.more_relays = std::move(*relays);
    return ok();
  }
  for (const auto& [given, name] : {std::pair{!flags.relay.empty(), "--relay"},
                                    {!flags.server_name.empty(), "--server-name"},
                                    {!flags.room.empty(), "--room"},
                                    {!flags.relay_ca_cert.empty(), "--relay-ca-cert"},
                                    {!flags.ca_file.empty(), "--ca-file"},
                                    {!flags.more_relays_text.empty(), "--more-relays"}}) {
    if (given) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("{} cannot be combined with an invite link: the link already "
                              "names the relay, the room and its certificate",
                              name));
    }
  }
  auto link = ctrl::parse_invite_link(flags.invite_link);
  if (!link) return tl::unexpected(link.error());
  const bool ipv6 = link->host.find(':') != std::string::npos;
  flags.relay = ipv6 ? fmt::format("[{}]:{}", link->host, link->port)
                     : fmt::format("{}:{}", link->host, link->port);
  flags.server_name = link->server_name;
  flags.room = link->room;
  flags.pin_sha256 = link->pin_sha256;
  flags.invite_token = link->invite;
  flags.more_relays = link->more_relays;
  return ok();
}

Result<quic::ClientConfig> make_quic_config(const RelayFlags& flags) {
  if (flags.relay.empty() || flags.server_name.empty() || flags.room.empty()) {
    return fail(Errc::kInvalidArgument,
                "give the host's invite link (join LINK, or --invite LINK), or all of --relay, "
                "--server-name, --room and --relay-ca-cert");
  }
  if (!ctrl::is_valid_room(flags.room)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--room {}: {}", flags.room, obs::describe_reject("invalid_room")));
  }
  if (!flags.pin_sha256 && flags.relay_ca_cert.empty() == flags.ca_file.empty()) {
    return fail(Errc::kInvalidArgument,
                "give exactly one of --relay-ca-cert FILE.der (the relay's own certificate, "
                "printed by lanparty-relay at start) or --ca-file CA.pem");
  }
  const auto colon = flags.relay.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == flags.relay.size()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--relay {}: expected HOST:PORT, e.g. 203.0.113.7:4433 or "
                            "[2001:db8::7]:4433",
                            flags.relay));
  }
  std::string host = flags.relay.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const char* first = flags.relay.data() + colon + 1;
  const char* last = flags.relay.data() + flags.relay.size();
  const auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc{} || end != last || port == 0 || port > 65535) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--relay {}: the port must be a number from 1 to 65535", flags.relay));
  }
  quic::ClientConfig config;
  config.host = host;
  config.port = static_cast<std::uint16_t>(port);
  config.idle_timeout = std::chrono::seconds(flags.relay_timeout_s);
  // A quiet room must not look lost, and a dead relay is noticed one timeout after it died:
  // the idle timer counts from the first packet sent after the last one received, so with a
  // keepalive of a tenth of the timeout (at least 1 s) a peer that had nothing to say notices
  // at most a tenth later than one in a busy room. With the default 6 s this is the probe a
  // dead-relay detector would send: a PING every second, and 6 s without any answer (ngtcp2
  // retransmits it on its PTO meanwhile) is a lost relay. A separate probe timer would only
  // duplicate this, and the negotiated idle timeout also lets the relay free a dead peer.
  config.keepalive = std::min(
      config.keepalive,
      std::max(std::chrono::milliseconds(1000),
               std::chrono::duration_cast<std::chrono::milliseconds>(config.idle_timeout / 10)));
  config.server_name = flags.server_name;
  if (flags.pin_sha256) {
    config.trust.pinned_sha256 = *flags.pin_sha256;
  } else if (!flags.relay_ca_cert.empty()) {
    config.trust.pinned_der = flags.relay_ca_cert;
  } else {
    config.trust.ca_file = flags.ca_file;
  }
  return config;
}

Logging make_logging(const RelayFlags& flags) {
  Logging logging;
  if (flags.log_format == "json") {
    logging.sink = std::make_unique<obs::JsonLinesSink>(stderr);
  } else {
    logging.sink = std::make_unique<obs::TextSink>(stderr);
  }
  // Repeated events are capped per name (log.suppressed counts the rest): no flood of
  // connections or errors fills the disk.
  logging.sink = std::make_unique<obs::RateLimitedSink>(std::move(logging.sink));
  logging.logger = obs::Logger(logging.sink.get(),
                               obs::parse_level(flags.log_level).value_or(obs::Level::kInfo));
  return logging;
}

DevicePort::DevicePort(std::string program, obs::Logger log)
    : log_(log), program_(std::move(program)) {
  buffer_.resize(proto::kOverlayHeaderSize + 65536);
}

void DevicePort::on_fatal(std::string_view sentence) {
  fatal_ = true;
  if (stop_on_fatal_) stop_on_fatal_();
  (void)fail_with(program_, sentence);
}

int fail_with(std::string_view program, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
               static_cast<int>(message.size()), message.data());
  return 2;
}

void print_state_line(obs::ConnectionState state, std::string_view sentence) {
  std::printf("[%s] %.*s\n", std::string(obs::to_string(state)).c_str(),
              static_cast<int>(sentence.size()), sentence.data());
  std::fflush(stdout);
}

std::function<double()> make_random_unit() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace lanparty::apps
