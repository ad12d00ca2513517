// SPDX-License-Identifier: MIT
// Non-Windows builds: TAP-Windows6 and its registry do not exist here; say so with context.
#include "lanparty/base/errc.hpp"
#include "lanparty/client_tap/tap_device.hpp"
#include "lanparty/client_tap/tap_windows.hpp"

namespace lanparty::client_tap {

Result<std::unique_ptr<RegistryApi>> make_registry_api() {
  return fail(Errc::kUnsupportedPlatform,
              "client-tap: the Windows registry exists only on Windows; this build is not for "
              "Windows");
}

Result<std::unique_ptr<TapDeviceApi>> make_tap_device_api() {
  return fail(Errc::kUnsupportedPlatform,
              "client-tap: TAP-Windows6 devices exist only on Windows; on Linux the client uses "
              "/dev/net/tun (apps/client-linux)");
}

Result<TapHandle> adopt_overlapped_handle(NativeHandle) {
  return fail(Errc::kUnsupportedPlatform,
              "client-tap: overlapped Win32 handles exist only on Windows");
}

}  // namespace lanparty::client_tap
