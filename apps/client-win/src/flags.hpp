// SPDX-License-Identifier: MIT
// lanparty-client-win's command line: the flags, `join LINK`, and what a run takes from them.
// Kept out of main() so the tests parse real command lines the way the exe does.
#pragma once

#include <string>
#include <string_view>

#include "app_support.hpp"
#include "lanparty/base/result.hpp"
#include "lanparty/client_core/session.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/quic/client.hpp"
#include "options.hpp"

namespace lanparty::client_win {

inline constexpr std::string_view kSoftware = "lanparty-client-win/0.1.0 (windows)";

struct Flags {
  apps::RelayFlags relay;  // after resolve(): filled from the invite link when one was given
  std::string tap;         // adapter GUID; empty = the first TAP-Windows6 adapter
  std::string tap_metric = "off";
  std::string state_dir;  // set to the default before add_flags, which shows it in --help
  bool check = false;
};

// Registers every flag on `app`: the relay flags, `--invite LINK` and `join LINK` (a player
// pastes one link instead of the relay, SNI, room and certificate flags), --tap,
// --tap-metric, --state-dir and --check. `flags` must outlive the parse.
void add_flags(CLI::App& app, Flags& flags);

// What a run needs, checked.
struct Settings {
  quic::ClientConfig quic;
  TapMetricChoice tap_metric;
};

// After a successful parse: applies the invite link (relay, SNI, room, certificate pin and
// invite token come from it, and a flag it replaces is refused), then checks --tap-metric and
// the relay flags. The error's context is the sentence to print, as is.
[[nodiscard]] Result<Settings> resolve(Flags& flags);

// The hello both modes send: a client of the room, with the link's invite token if any.
[[nodiscard]] client_core::SessionConfig session_config(const Flags& flags,
                                                        const proto::MacAddress& mac);

}  // namespace lanparty::client_win
