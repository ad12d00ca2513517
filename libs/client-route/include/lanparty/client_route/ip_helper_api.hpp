// SPDX-License-Identifier: MIT
// The syscall seam of client-route: one virtual method per IP Helper call, no policy, so the
// policy in route_table.hpp runs against a fake on Linux (STYLE.md sections 1 and 7).
#pragma once

#include <cstdint>
#include <memory>

#include "lanparty/base/result.hpp"
#include "lanparty/client_route/types.hpp"

namespace lanparty::client_route {

// Error contract shared by every method (the Windows implementation maps to it, fakes obey it):
// - Errc::kNotFound: the interface or route does not exist (ERROR_NOT_FOUND,
//   ERROR_FILE_NOT_FOUND);
// - std::errc::file_exists: create found the same route already there
//   (ERROR_OBJECT_ALREADY_EXISTS);
// - Errc::kUnsupportedPlatform: this Windows (or wine) lacks the function;
// - otherwise the Win32 code in std::system_category().
// The context always names the call and its arguments.
// Not thread-safe: one session thread drives it.
class IpHelperApi {
 public:
  virtual ~IpHelperApi() = default;

  // GetBestRoute2(destination): the route and source address Windows would use now.
  [[nodiscard]] virtual Result<BestRoute> get_best_route2(const IpAddress& destination) = 0;
  // ConvertInterfaceGuidToLuid.
  [[nodiscard]] virtual Result<InterfaceLuid> convert_interface_guid_to_luid(
      const AdapterGuid& guid) = 0;
  // ConvertInterfaceLuidToIndex.
  [[nodiscard]] virtual Result<std::uint32_t> convert_interface_luid_to_index(
      InterfaceLuid luid) = 0;
  // InitializeIpInterfaceEntry + GetIpInterfaceEntry for (luid, family).
  [[nodiscard]] virtual Result<IpInterfaceState> get_ip_interface_entry(InterfaceLuid luid,
                                                                        AddressFamily family) = 0;
  // SetIpInterfaceEntry writing exactly Metric and UseAutomaticMetric; every other field of the
  // row is written back as read.
  [[nodiscard]] virtual Status set_ip_interface_entry(InterfaceLuid luid, AddressFamily family,
                                                      const InterfaceMetric& metric) = 0;
  // SetIpInterfaceEntry writing exactly NlMtu (`mtu`, in bytes); every other field of the row is
  // written back as read. The caller checks the range; the OS may still refuse a value.
  [[nodiscard]] virtual Status set_ip_interface_mtu(InterfaceLuid luid, AddressFamily family,
                                                    std::uint32_t mtu) = 0;
  // CreateIpForwardEntry2 (a manual, static route).
  [[nodiscard]] virtual Status create_ip_forward_entry2(const RouteEntry& route) = 0;
  // DeleteIpForwardEntry2, matched on luid, destination and next hop.
  [[nodiscard]] virtual Status delete_ip_forward_entry2(const RouteEntry& route) = 0;
};

// The real IP Helper on Windows: the functions are resolved from iphlpapi.dll at run time, so
// an exe still starts where some are missing (wine 8) and such calls return kUnsupportedPlatform.
// Elsewhere: Errc::kUnsupportedPlatform.
[[nodiscard]] Result<std::unique_ptr<IpHelperApi>> make_ip_helper_api();

}  // namespace lanparty::client_route
