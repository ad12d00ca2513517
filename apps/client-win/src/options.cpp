// SPDX-License-Identifier: MIT
// Flag parsing and adapter choice for lanparty-client-win.
#include "options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_win {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string braced(std::string_view guid) {
  if (!guid.empty() && guid.front() == '{') return lower(guid);
  return "{" + lower(guid) + "}";
}

}  // namespace

std::optional<client_route::InterfaceMetric> TapMetricChoice::desired() const noexcept {
  switch (kind) {
    case Kind::kOff:
      return std::nullopt;
    case Kind::kAutomatic:
      return client_route::InterfaceMetric{.use_automatic_metric = true};
    case Kind::kManual:
      return client_route::InterfaceMetric{.use_automatic_metric = false, .metric = metric};
  }
  return std::nullopt;
}

Result<TapMetricChoice> parse_tap_metric(std::string_view text) {
  const std::string value = lower(text);
  if (value == "off") return TapMetricChoice{};
  if (value == "auto") return TapMetricChoice{.kind = TapMetricChoice::Kind::kAutomatic};
  std::uint32_t metric = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), metric);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || metric < 1 ||
      metric > 9999) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--tap-metric {}: expected off, auto, or a number from 1 to 9999 "
                            "(1 makes the TAP adapter Windows' first choice for LAN broadcasts)",
                            text));
  }
  return TapMetricChoice{.kind = TapMetricChoice::Kind::kManual, .metric = metric};
}

Result<client_tap::TapAdapter> select_adapter(const std::vector<client_tap::TapAdapter>& adapters,
                                              std::string_view wanted) {
  if (adapters.empty()) {
    return fail(Errc::kNotFound,
                "no TAP-Windows6 adapter is installed: install TAP-Windows (component tap0901, "
                "e.g. from the OpenVPN installer) and run this again");
  }
  if (wanted.empty()) return adapters.front();
  const std::string key = braced(wanted);
  auto it = std::find_if(adapters.begin(), adapters.end(),
                         [&](const client_tap::TapAdapter& a) { return lower(a.guid) == key; });
  if (it != adapters.end()) return *it;
  std::string installed;
  for (const auto& a : adapters) installed += (installed.empty() ? "" : ", ") + a.guid;
  return fail(Errc::kNotFound,
              fmt::format("--tap {}: no such TAP adapter; installed: {}", wanted, installed));
}

Result<client_route::IpAddress> ip_of(const io::SocketAddress& address) {
  const std::string text = address.to_string();
  std::string_view host = text;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else {
    host = host.substr(0, host.rfind(':'));
  }
  return client_route::IpAddress::parse(host);
}

}  // namespace lanparty::client_win
