// SPDX-License-Identifier: MIT
// The Windows client's own flag values and the choices made from them, kept free of Win32 so
// they are unit-tested like any policy.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/client_route/types.hpp"
#include "lanparty/client_tap/tap_windows.hpp"
#include "lanparty/io/address.hpp"

namespace lanparty::client_win {

// --tap-metric: leave the adapter's metric alone (off), hand it back to Windows' automatic
// metric (auto), or pin it to N (1..9999; lower wins the broadcast and default-route choice).
struct TapMetricChoice {
  enum class Kind : std::uint8_t { kOff, kAutomatic, kManual };
  Kind kind = Kind::kOff;
  std::uint32_t metric = 0;  // kManual only

  // The value to hand InterfaceMetricGuard, or nullopt for kOff.
  [[nodiscard]] std::optional<client_route::InterfaceMetric> desired() const noexcept;
  friend bool operator==(const TapMetricChoice&, const TapMetricChoice&) = default;
};

// "off", "auto", or a decimal 1..9999; kInvalidArgument says what is accepted.
[[nodiscard]] Result<TapMetricChoice> parse_tap_metric(std::string_view text);

// Which TAP adapter to use: `wanted` empty = the first one found; otherwise its GUID (braced or
// not, any case). kNotFound lists what is installed and how to install an adapter.
[[nodiscard]] Result<client_tap::TapAdapter> select_adapter(
    const std::vector<client_tap::TapAdapter>& adapters, std::string_view wanted);

// The relay's IP without the port, for the host route pin.
[[nodiscard]] Result<client_route::IpAddress> ip_of(const io::SocketAddress& address);

}  // namespace lanparty::client_win
