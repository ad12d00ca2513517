// SPDX-License-Identifier: MIT
// The IP Helper calls behind IpHelperApi, translated to and from our plain types. Every
// function is looked up in iphlpapi.dll at run time: wine 8 does not export
// Initialize/Get/SetIpInterfaceEntry or Create/DeleteIpForwardEntry2, and a PE that imports a
// missing symbol does not start at all. A missing function is a kUnsupportedPlatform value.
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>

// Order matters: winsock2.h before windows.h (else windows.h drags in winsock 1), and
// ws2ipdef.h (SOCKADDR_INET) before iphlpapi.h/netioapi.h, which use it.
// clang-format off
#include <winsock2.h>
#include <ws2ipdef.h>
#include <windows.h>
#include <iphlpapi.h>
#include <netioapi.h>
// clang-format on

#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/ip_helper_api.hpp"

namespace lanparty::client_route {
namespace {

using GetBestRoute2Fn = decltype(&::GetBestRoute2);
using ConvertInterfaceGuidToLuidFn = decltype(&::ConvertInterfaceGuidToLuid);
using ConvertInterfaceLuidToIndexFn = decltype(&::ConvertInterfaceLuidToIndex);
using InitializeIpInterfaceEntryFn = decltype(&::InitializeIpInterfaceEntry);
using GetIpInterfaceEntryFn = decltype(&::GetIpInterfaceEntry);
using SetIpInterfaceEntryFn = decltype(&::SetIpInterfaceEntry);
using InitializeIpForwardEntryFn = decltype(&::InitializeIpForwardEntry);
using CreateIpForwardEntry2Fn = decltype(&::CreateIpForwardEntry2);
using DeleteIpForwardEntry2Fn = decltype(&::DeleteIpForwardEntry2);

// GetProcAddress returns FARPROC; the real signature is restored here, in one place.
template <class Fn>
Fn lookup(HMODULE module, const char* name) noexcept {
  const FARPROC proc = ::GetProcAddress(module, name);
  Fn fn = nullptr;
  static_assert(sizeof(fn) == sizeof(proc));
  std::memcpy(&fn, &proc, sizeof(fn));
  return fn;
}

tl::unexpected<Error> missing(const char* name) {
  return fail(Errc::kUnsupportedPlatform,
              fmt::format("iphlpapi.dll does not export {} (wine 8 lacks it; Windows Vista+ "
                          "has it)",
                          name));
}

// The seam's error contract (ip_helper_api.hpp): not-found and already-exists get portable
// codes the policy can test without Win32 constants; everything else stays a Win32 code.
tl::unexpected<Error> win32_error(DWORD code, std::string context) {
  context = fmt::format("{}: Win32 error {}", context, code);
  switch (code) {
    case ERROR_NOT_FOUND:
    case ERROR_FILE_NOT_FOUND:
      return fail(Errc::kNotFound, std::move(context));
    case ERROR_OBJECT_ALREADY_EXISTS:
      return fail(std::make_error_code(std::errc::file_exists), std::move(context));
    default:
      return fail(std::error_code(static_cast<int>(code), std::system_category()),
                  std::move(context));
  }
}

ADDRESS_FAMILY to_win(AddressFamily family) noexcept {
  return family == AddressFamily::kIpv4 ? AF_INET : AF_INET6;
}

SOCKADDR_INET to_sockaddr(const IpAddress& address) noexcept {
  SOCKADDR_INET out;
  std::memset(&out, 0, sizeof(out));
  const auto bytes = address.bytes();
  if (address.family() == AddressFamily::kIpv4) {
    out.Ipv4.sin_family = AF_INET;
    std::memcpy(&out.Ipv4.sin_addr, bytes.data(), 4);
  } else {
    out.Ipv6.sin6_family = AF_INET6;
    std::memcpy(&out.Ipv6.sin6_addr, bytes.data(), 16);
  }
  return out;
}

// kInternal (not a crash) if Windows hands back a family we do not know.
Result<IpAddress> from_sockaddr(const SOCKADDR_INET& in, const char* what) {
  if (in.si_family == AF_INET) {
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), &in.Ipv4.sin_addr, 4);
    return IpAddress::v4(b);
  }
  if (in.si_family == AF_INET6) {
    std::array<std::uint8_t, 16> b{};
    std::memcpy(b.data(), &in.Ipv6.sin6_addr, 16);
    return IpAddress::v6(b);
  }
  return fail(Errc::kInternal, fmt::format("{}: address family {}", what, in.si_family));
}

NET_LUID to_win(InterfaceLuid luid) noexcept {
  NET_LUID out;
  out.Value = luid.value;
  return out;
}

std::string describe(InterfaceLuid luid, AddressFamily family) {
  return fmt::format("luid={} family={}", luid.value, to_string(family));
}

class WinIpHelper final : public IpHelperApi {
 public:
  explicit WinIpHelper(HMODULE module) noexcept
      : get_best_route2_(lookup<GetBestRoute2Fn>(module, "GetBestRoute2")),
        guid_to_luid_(lookup<ConvertInterfaceGuidToLuidFn>(module, "ConvertInterfaceGuidToLuid")),
        luid_to_index_(
            lookup<ConvertInterfaceLuidToIndexFn>(module, "ConvertInterfaceLuidToIndex")),
        init_interface_(lookup<InitializeIpInterfaceEntryFn>(module, "InitializeIpInterfaceEntry")),
        get_interface_(lookup<GetIpInterfaceEntryFn>(module, "GetIpInterfaceEntry")),
        set_interface_(lookup<SetIpInterfaceEntryFn>(module, "SetIpInterfaceEntry")),
        init_forward_(lookup<InitializeIpForwardEntryFn>(module, "InitializeIpForwardEntry")),
        create_forward_(lookup<CreateIpForwardEntry2Fn>(module, "CreateIpForwardEntry2")),
        delete_forward_(lookup<DeleteIpForwardEntry2Fn>(module, "DeleteIpForwardEntry2")) {}

  Result<BestRoute> get_best_route2(const IpAddress& destination) override {
    if (!get_best_route2_) return missing("GetBestRoute2");
    const SOCKADDR_INET dest = to_sockaddr(destination);
    MIB_IPFORWARD_ROW2 row;
    SOCKADDR_INET source;
    std::memset(&row, 0, sizeof(row));
    std::memset(&source, 0, sizeof(source));
    // No interface or source constraint: the route Windows itself would pick.
    const DWORD rc = get_best_route2_(nullptr, 0, nullptr, &dest, 0, &row, &source);
    const std::string what = fmt::format("GetBestRoute2({})", destination.to_string());
    if (rc != NO_ERROR) return win32_error(rc, what);
    auto src = from_sockaddr(source, what.c_str());
    auto next_hop = from_sockaddr(row.NextHop, what.c_str());
    auto prefix = from_sockaddr(row.DestinationPrefix.Prefix, what.c_str());
    if (!src) return fail(src.error().code, src.error().context);
    if (!next_hop) return fail(next_hop.error().code, next_hop.error().context);
    if (!prefix) return fail(prefix.error().code, prefix.error().context);
    return BestRoute{
        .source = *src,
        .next_hop = *next_hop,
        .interface_index = row.InterfaceIndex,
        .luid = InterfaceLuid{row.InterfaceLuid.Value},
        .destination_prefix = IpPrefix{*prefix, row.DestinationPrefix.PrefixLength},
        .metric = row.Metric,
    };
  }

  Result<InterfaceLuid> convert_interface_guid_to_luid(const AdapterGuid& guid) override {
    if (!guid_to_luid_) return missing("ConvertInterfaceGuidToLuid");
    GUID g;
    g.Data1 = guid.data1;
    g.Data2 = guid.data2;
    g.Data3 = guid.data3;
    std::memcpy(g.Data4, guid.data4.data(), 8);
    NET_LUID luid;
    luid.Value = 0;
    const DWORD rc = guid_to_luid_(&g, &luid);
    if (rc != NO_ERROR) {
      return win32_error(rc, fmt::format("ConvertInterfaceGuidToLuid({})", guid.to_string()));
    }
    return InterfaceLuid{luid.Value};
  }

  Result<std::uint32_t> convert_interface_luid_to_index(InterfaceLuid luid) override {
    if (!luid_to_index_) return missing("ConvertInterfaceLuidToIndex");
    const NET_LUID in = to_win(luid);
    NET_IFINDEX index = 0;
    const DWORD rc = luid_to_index_(&in, &index);
    if (rc != NO_ERROR) {
      return win32_error(rc, fmt::format("ConvertInterfaceLuidToIndex(luid={})", luid.value));
    }
    return static_cast<std::uint32_t>(index);
  }

  Result<IpInterfaceState> get_ip_interface_entry(InterfaceLuid luid,
                                                  AddressFamily family) override {
    MIB_IPINTERFACE_ROW row;
    if (auto read = read_row(luid, family, row); !read)
      return fail(read.error().code, read.error().context);
    return IpInterfaceState{
        .metric = InterfaceMetric{row.UseAutomaticMetric != FALSE, row.Metric},
        .disable_default_routes = row.DisableDefaultRoutes != FALSE,
        .nl_mtu = row.NlMtu,
    };
  }

  Status set_ip_interface_entry(InterfaceLuid luid, AddressFamily family,
                                const InterfaceMetric& metric) override {
    return rewrite_row(
        luid, family,
        fmt::format("automatic={}, metric={}", metric.use_automatic_metric, metric.metric),
        [&](MIB_IPINTERFACE_ROW& row) {
          row.UseAutomaticMetric = metric.use_automatic_metric ? TRUE : FALSE;
          row.Metric = metric.metric;
        });
  }

  Status set_ip_interface_mtu(InterfaceLuid luid, AddressFamily family,
                              std::uint32_t mtu) override {
    // NlMtu is the IP layer's MTU for this family only; the adapter's link MTU is not touched.
    // https://learn.microsoft.com/en-us/windows/win32/api/netioapi/ns-netioapi-mib_ipinterface_row
    return rewrite_row(luid, family, fmt::format("mtu={}", mtu),
                       [&](MIB_IPINTERFACE_ROW& row) { row.NlMtu = mtu; });
  }

  Status create_ip_forward_entry2(const RouteEntry& route) override {
    if (!create_forward_) return missing("CreateIpForwardEntry2");
    MIB_IPFORWARD_ROW2 row;
    if (auto filled = fill_forward_row(route, row); !filled) return filled;
    const DWORD rc = create_forward_(&row);
    if (rc != NO_ERROR)
      return win32_error(rc, fmt::format("CreateIpForwardEntry2({})", text(route)));
    return ok();
  }

  Status delete_ip_forward_entry2(const RouteEntry& route) override {
    if (!delete_forward_) return missing("DeleteIpForwardEntry2");
    MIB_IPFORWARD_ROW2 row;
    if (auto filled = fill_forward_row(route, row); !filled) return filled;
    const DWORD rc = delete_forward_(&row);
    if (rc != NO_ERROR)
      return win32_error(rc, fmt::format("DeleteIpForwardEntry2({})", text(route)));
    return ok();
  }

 private:
  static std::string text(const RouteEntry& route) {
    return fmt::format("{} via {} luid={}", route.destination.to_string(),
                       route.next_hop.to_string(), route.luid.value);
  }

  // Read-modify-write: SetIpInterfaceEntry writes the whole row, so `modify` changes only the
  // fields its caller owns and every other field goes back exactly as read. `change` names the
  // new values for the error context.
  template <class Modify>
  Status rewrite_row(InterfaceLuid luid, AddressFamily family, const std::string& change,
                     Modify&& modify) {
    if (!set_interface_) return missing("SetIpInterfaceEntry");
    MIB_IPINTERFACE_ROW row;
    if (auto read = read_row(luid, family, row); !read) return read;
    std::forward<Modify>(modify)(row);
    // Quirk: GetIpInterfaceEntry reports a SitePrefixLength (e.g. 0xFF on IPv4) that
    // SetIpInterfaceEntry rejects with ERROR_INVALID_PARAMETER; the write form is 0 for IPv4.
    // https://git.zx2c4.com/wireguard-windows/tree/tunnel/winipcfg/types.go (MibIPInterfaceRow.Set)
    // https://learn.microsoft.com/en-us/windows/win32/api/netioapi/nf-netioapi-setipinterfaceentry
    if (family == AddressFamily::kIpv4) row.SitePrefixLength = 0;
    const DWORD rc = set_interface_(&row);
    if (rc != NO_ERROR) {
      return win32_error(
          rc, fmt::format("SetIpInterfaceEntry({}, {})", describe(luid, family), change));
    }
    return ok();
  }

  Status read_row(InterfaceLuid luid, AddressFamily family, MIB_IPINTERFACE_ROW& row) {
    if (!init_interface_) return missing("InitializeIpInterfaceEntry");
    if (!get_interface_) return missing("GetIpInterfaceEntry");
    // Initialize first: it sets every field to "unspecified", as the docs require before Get.
    init_interface_(&row);
    row.Family = to_win(family);
    row.InterfaceLuid = to_win(luid);
    const DWORD rc = get_interface_(&row);
    if (rc != NO_ERROR) {
      return win32_error(rc, fmt::format("GetIpInterfaceEntry({})", describe(luid, family)));
    }
    return ok();
  }

  Status fill_forward_row(const RouteEntry& route, MIB_IPFORWARD_ROW2& row) {
    if (!init_forward_) return missing("InitializeIpForwardEntry");
    // Defaults: infinite lifetimes, loopback/autoconf off; then the key fields.
    init_forward_(&row);
    row.InterfaceLuid = to_win(route.luid);
    row.InterfaceIndex = route.interface_index;
    row.DestinationPrefix.Prefix = to_sockaddr(route.destination.address);
    row.DestinationPrefix.PrefixLength = route.destination.length;
    row.NextHop = to_sockaddr(route.next_hop);
    row.Metric = route.metric;
    row.Protocol = RouteProtocolNetMgmt;  // MIB_IPPROTO_NETMGMT: a static route set by a program
    row.Origin = NlroManual;
    return ok();
  }

  GetBestRoute2Fn get_best_route2_;
  ConvertInterfaceGuidToLuidFn guid_to_luid_;
  ConvertInterfaceLuidToIndexFn luid_to_index_;
  InitializeIpInterfaceEntryFn init_interface_;
  GetIpInterfaceEntryFn get_interface_;
  SetIpInterfaceEntryFn set_interface_;
  InitializeIpForwardEntryFn init_forward_;
  CreateIpForwardEntry2Fn create_forward_;
  DeleteIpForwardEntry2Fn delete_forward_;
};

}  // namespace

Result<std::unique_ptr<IpHelperApi>> make_ip_helper_api() {
  // System32 only, never the exe's directory or the current one (DLL planting). The module
  // stays loaded for the life of the process: the function pointers point into it.
  const HMODULE module = ::LoadLibraryExW(L"iphlpapi.dll", nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (module == nullptr) {
    return win32_error(::GetLastError(), "LoadLibrary(iphlpapi.dll)");
  }
  return std::unique_ptr<IpHelperApi>(std::make_unique<WinIpHelper>(module));
}

}  // namespace lanparty::client_route
