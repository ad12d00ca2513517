// SPDX-License-Identifier: MIT
// TAP-Windows6 facts and adapter discovery: the driver's IOCTL codes, the device path, and the
// registry walk that finds installed adapters. Neutral code: the registry sits behind
// RegistryApi so the walk is tested with a fake on Linux and against a real subtree under wine.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/obs/log.hpp"

namespace lanparty::client_tap {

// TAP_WIN_CONTROL_CODE(request, method) from tap-windows6 src/tap-windows.h:
// CTL_CODE(FILE_DEVICE_UNKNOWN = 0x22, request, method, FILE_ANY_ACCESS = 0)
//   = 0x22 << 16 | 0 << 14 | request << 2 | method.
[[nodiscard]] constexpr std::uint32_t tap_win_control_code(std::uint32_t request,
                                                           std::uint32_t method) noexcept {
  constexpr std::uint32_t kFileDeviceUnknown = 0x22;
  constexpr std::uint32_t kFileAnyAccess = 0;
  return (kFileDeviceUnknown << 16) | (kFileAnyAccess << 14) | (request << 2) | method;
}
inline constexpr std::uint32_t kMethodBuffered = 0;
// Out: 6 bytes, the adapter's MAC.
inline constexpr std::uint32_t kIoctlGetMac = tap_win_control_code(1, kMethodBuffered);
// Out: ULONG (little-endian), the driver's MTU in bytes.
inline constexpr std::uint32_t kIoctlGetMtu = tap_win_control_code(3, kMethodBuffered);
// In/out: ULONG (little-endian), 1 = media connected, 0 = disconnected.
inline constexpr std::uint32_t kIoctlSetMediaStatus = tap_win_control_code(6, kMethodBuffered);
static_assert(kIoctlGetMac == 0x00220004 && kIoctlGetMtu == 0x0022000C &&
              kIoctlSetMediaStatus == 0x00220018);

// The network adapter device class, under HKEY_LOCAL_MACHINE.
inline constexpr std::string_view kNetworkAdapterClassKey =
    "SYSTEM\\CurrentControlSet\\Control\\Class\\{4D36E972-E325-11CE-BFC1-08002BE10318}";
// ComponentId values of TAP-Windows6 adapters (compared case-insensitively): the first from
// the driver's own installer, the second from a devcon/"root\" install (OpenVPN's tapctl).
inline constexpr std::array<std::string_view, 2> kTapComponentIds = {"tap0901", "root\\tap0901"};

// `guid` must be the braced registry form "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}" (any case);
// returns "\\.\Global\{GUID}.tap", the path CreateFile opens. kInvalidArgument otherwise.
[[nodiscard]] Result<std::string> tap_device_path(std::string_view guid);

enum class RegistryRoot : std::uint8_t { kLocalMachine, kCurrentUser };

// The registry seam: one method per Win32 call we make, no policy. Paths use '\'. Strings are
// UTF-8 here and UTF-16 at the Win32 boundary. Errors: kNotFound for a missing key or value,
// else the Win32 code (std::system_category) with the path as context.
class RegistryApi {
 public:
  virtual ~RegistryApi() = default;
  // RegOpenKeyEx + RegEnumKeyEx: the names of `path`'s direct subkeys.
  [[nodiscard]] virtual Result<std::vector<std::string>> enum_subkeys(RegistryRoot root,
                                                                      std::string_view path) = 0;
  // RegGetValue(RRF_RT_REG_SZ): a string value of `path`.
  [[nodiscard]] virtual Result<std::string> read_string(RegistryRoot root, std::string_view path,
                                                        std::string_view value) = 0;
};

// The real registry on Windows; kUnsupportedPlatform elsewhere.
[[nodiscard]] Result<std::unique_ptr<RegistryApi>> make_registry_api();

struct TapAdapter {
  std::string guid;          // NetCfgInstanceId, braced, as the registry stores it
  std::string component_id;  // "tap0901" or "root\tap0901", as stored
  std::string subkey;        // "0007": which class subkey described it, for diagnostics
  friend bool operator==(const TapAdapter&, const TapAdapter&) = default;
};

// Walks the subkeys of `class_key` (kNetworkAdapterClassKey under kLocalMachine in production;
// tests pass their own subtree) and returns every TAP-Windows6 adapter, in subkey order.
// Subkeys that cannot be read (Windows denies "Properties") or lack the values are skipped;
// a TAP subkey with a malformed NetCfgInstanceId is skipped with a warning
// (tap.adapter_skipped). An empty list means the driver has no adapter. kNotFound if
// `class_key` itself is missing.
[[nodiscard]] Result<std::vector<TapAdapter>> discover_tap_adapters(RegistryApi& registry,
                                                                    RegistryRoot root,
                                                                    std::string_view class_key,
                                                                    const obs::Logger& log = {});

}  // namespace lanparty::client_tap
