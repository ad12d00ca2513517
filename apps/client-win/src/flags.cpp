// SPDX-License-Identifier: MIT
// lanparty-client-win's flags and the settings checked from them.
#include "flags.hpp"

namespace lanparty::client_win {

void add_flags(CLI::App& app, Flags& flags) {
  apps::add_relay_flags(app, flags.relay, /*with_invite=*/true);
  app.add_option("--tap", flags.tap, "TAP-Windows6 adapter GUID (default: the first one)");
  app.add_option("--tap-metric", flags.tap_metric,
                 "off (leave it), auto (Windows decides) or 1..9999; restored on exit")
      ->capture_default_str();
  app.add_option("--state-dir", flags.state_dir,
                 "where the --check identity is kept (the route journal is in "
                 "%ProgramData%\\softlan-vpn, which only Administrators may change)")
      ->capture_default_str();
  app.add_flag("--check", flags.check,
               "only test the relay: join the room, print the welcome, leave (no TAP needed)");
}

Result<Settings> resolve(Flags& flags) {
  // The link first: its refusal of --relay and the like explains more than a missing flag.
  if (auto st = apps::apply_invite_link(flags.relay); !st) return tl::unexpected(st.error());
  auto metric = parse_tap_metric(flags.tap_metric);
  if (!metric) return tl::unexpected(metric.error());
  auto quic_config = apps::make_quic_config(flags.relay);
  if (!quic_config) return tl::unexpected(quic_config.error());
  return Settings{.quic = std::move(*quic_config), .tap_metric = *metric};
}

client_core::SessionConfig session_config(const Flags& flags, const proto::MacAddress& mac) {
  return client_core::SessionConfig{.role = ctrl::Role::kClient,
                                    .room = flags.relay.room,
                                    .mac = mac,
                                    .software = std::string(kSoftware),
                                    .invite = flags.relay.invite_token};
}

}  // namespace lanparty::client_win
