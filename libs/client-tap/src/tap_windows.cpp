// SPDX-License-Identifier: MIT
// Device path and the registry walk for TAP-Windows6 adapters (ZeroTier
// osdep/WindowsEthernetTap.cpp walks the same class key), over the RegistryApi seam.
#include "lanparty/client_tap/tap_windows.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_tap {
namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "{8-4-4-4-12}" of hex digits: the only form we build a device path from, so a registry value
// can never smuggle path separators into CreateFile.
bool is_braced_guid(std::string_view text) {
  if (text.size() != 38 || text.front() != '{' || text.back() != '}') return false;
  for (std::size_t i = 1; i < 37; ++i) {
    const bool dash = i == 9 || i == 14 || i == 19 || i == 24;
    const char c = text[i];
    if (dash ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

Result<std::string> tap_device_path(std::string_view guid) {
  if (!is_braced_guid(guid)) {
    return fail(
        Errc::kInvalidArgument,
        fmt::format("TAP adapter GUID '{}' is not of the form {{XXXXXXXX-XXXX-...}}", guid));
  }
  // \\.\Global\ reaches the device from any session (a service or RDP), not only session 0's
  // local namespace.
  return fmt::format("\\\\.\\Global\\{}.tap", guid);
}

Result<std::vector<TapAdapter>> discover_tap_adapters(RegistryApi& registry, RegistryRoot root,
                                                      std::string_view class_key,
                                                      const obs::Logger& log) {
  auto subkeys = registry.enum_subkeys(root, class_key);
  if (!subkeys) {
    return fail(subkeys.error().code,
                fmt::format("list network adapters: {}", subkeys.error().context));
  }
  std::vector<TapAdapter> found;
  for (const auto& subkey : *subkeys) {
    const std::string path = fmt::format("{}\\{}", class_key, subkey);
    // Most subkeys are other adapters, and "Properties" is not readable at all: a failed read
    // just means "not a TAP".
    auto component = registry.read_string(root, path, "ComponentId");
    if (!component) continue;
    const bool is_tap =
        std::any_of(kTapComponentIds.begin(), kTapComponentIds.end(),
                    [&](std::string_view id) { return equals_ignoring_case(*component, id); });
    if (!is_tap) continue;
    auto guid = registry.read_string(root, path, "NetCfgInstanceId");
    if (!guid || !is_braced_guid(*guid)) {
      const std::string why =
          guid ? fmt::format("NetCfgInstanceId '{}'", *guid) : guid.error().describe();
      log.warn("tap.adapter_skipped", {{"subkey", path}, {"reason", why}});
      continue;
    }
    found.push_back(TapAdapter{*guid, *component, subkey});
  }
  return found;
}

}  // namespace lanparty::client_tap
