// SPDX-License-Identifier: MIT
// Non-Windows builds: there is no IP Helper, and saying so beats a silent no-op (Tailscale
// wgengine/router/router.go does the same for unknown OSes).
#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/ip_helper_api.hpp"

namespace lanparty::client_route {

Result<std::unique_ptr<IpHelperApi>> make_ip_helper_api() {
  return fail(Errc::kUnsupportedPlatform,
              "client-route: the IP Helper API exists only on Windows; this build is not for "
              "Windows");
}

}  // namespace lanparty::client_route
