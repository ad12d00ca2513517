// SPDX-License-Identifier: MIT
// Relay flags, their checks and the QUIC config, logging, and the shared device port.
#include "app_support.hpp"

#include <charconv>
#include <cstdio>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::apps {

void add_relay_flags(CLI::App& app, RelayFlags& flags) {
  app.add_option("--relay", flags.relay, "relay address, HOST:PORT (e.g. relay.example.net:4433)")
      ->required();
  app.add_option("--server-name", flags.server_name,
                 "the relay's name as in its certificate (TLS SNI)")
      ->required();
  app.add_option("--relay-ca-cert", flags.relay_ca_cert,
                 "the relay's certificate (DER) to trust exactly")
      ->check(CLI::ExistingFile);
  app.add_option("--ca-file", flags.ca_file,
                 "instead of --relay-ca-cert: PEM CA bundle the relay's chain must validate to")
      ->check(CLI::ExistingFile);
  app.add_option("--room", flags.room, "room name: 3-32 of A-Z a-z 0-9 _ -")->required();
  app.add_option("--log-level", flags.log_level, "debug, info, warn, error or off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", flags.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

Result<quic::ClientConfig> make_quic_config(const RelayFlags& flags) {
  if (!ctrl::is_valid_room(flags.room)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--room {}: {}", flags.room, obs::describe_reject("invalid_room")));
  }
  if (flags.relay_ca_cert.empty() == flags.ca_file.empty()) {
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
  config.server_name = flags.server_name;
  if (!flags.relay_ca_cert.empty()) {
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
