// SPDX-License-Identifier: MIT
// The veth pair through rtnetlink (libnl-route-3).
#include "bridge_port.hpp"

#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::gateway {
namespace {

struct SocketDeleter {
  void operator()(nl_sock* s) const noexcept { nl_socket_free(s); }
};
struct LinkDeleter {
  void operator()(rtnl_link* l) const noexcept { rtnl_link_put(l); }
};
using NlSocket = std::unique_ptr<nl_sock, SocketDeleter>;
using NlLink = std::unique_ptr<rtnl_link, LinkDeleter>;

Status nl_fail(int err, std::string what) {
  return fail(std::make_error_code(std::errc::io_error),
              fmt::format("{}: {}", what, nl_geterror(err)));
}

Result<NlSocket> route_socket() {
  NlSocket sock(nl_socket_alloc());
  if (!sock)
    return fail(std::make_error_code(std::errc::io_error), "netlink socket: out of memory");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return tl::unexpected(nl_fail(err, "netlink connect (NETLINK_ROUTE)").error());
  }
  return sock;
}

Result<NlLink> get_link(nl_sock* sock, const std::string& name) {
  rtnl_link* link = nullptr;
  if (int err = rtnl_link_get_kernel(sock, 0, name.c_str(), &link); err < 0) {
    return tl::unexpected(nl_fail(err, fmt::format("read interface {}", name)).error());
  }
  return NlLink(link);
}

// A veth end needs no IPv6 of its own: no link-local address, router solicitation or MLD
// from it ever reaches the party LAN. Missing file: IPv6 is off in this kernel anyway.
void disable_ipv6(const std::string& name) {
  std::ofstream(fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", name)) << "1\n";
}

Status set_up(nl_sock* sock, const std::string& name, unsigned mtu, int master) {
  auto link = get_link(sock, name);
  if (!link) return tl::unexpected(link.error());
  NlLink change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  rtnl_link_set_mtu(change.get(), mtu);
  if (master > 0) rtnl_link_set_master(change.get(), master);
  if (int err = rtnl_link_change(sock, link->get(), change.get(), 0); err < 0) {
    return nl_fail(err, fmt::format("bring up {}", name));
  }
  return ok();
}

}  // namespace

bool is_bridge(const std::string& interface) {
  std::error_code ec;
  return std::filesystem::is_directory(fmt::format("/sys/class/net/{}/bridge", interface), ec);
}

Result<BridgePort> BridgePort::attach(const std::string& bridge, obs::Logger log) {
  auto sock = route_socket();
  if (!sock) return tl::unexpected(sock.error());
  auto br = get_link(sock->get(), bridge);
  if (!br) return tl::unexpected(br.error());
  const int bridge_index = rtnl_link_get_ifindex(br->get());
  const unsigned mtu = rtnl_link_get_mtu(br->get());
  std::array<std::uint8_t, 6> mac{};
  if (nl_addr* addr = rtnl_link_get_addr(br->get());
      addr != nullptr && nl_addr_get_len(addr) == 6) {
    std::memcpy(mac.data(), nl_addr_get_binary_addr(addr), 6);
  }
  std::string end, port;
  for (int n = 0; n < 100 && end.empty(); ++n) {
    std::string candidate = fmt::format("lpgw{}", n);
    if (if_nametoindex(candidate.c_str()) == 0 && if_nametoindex((candidate + "b").c_str()) == 0) {
      end = candidate;
      port = candidate + "b";
    }
  }
  if (end.empty())
    return fail(std::make_error_code(std::errc::io_error),
                "no free name lpgw0..lpgw99 for the bridge port");
  if (int err = rtnl_link_veth_add(sock->get(), end.c_str(), port.c_str(), getpid()); err < 0) {
    return tl::unexpected(
        nl_fail(err, fmt::format("create veth pair {}/{} (needs CAP_NET_ADMIN)", end, port))
            .error());
  }
  BridgePort owner(bridge, end, proto::MacAddress(mac), log);
  disable_ipv6(end);
  disable_ipv6(port);
  if (auto st = set_up(sock->get(), port, mtu, bridge_index); !st) {
    return tl::unexpected(st.error());
  }
  if (auto st = set_up(sock->get(), end, mtu, 0); !st) return tl::unexpected(st.error());
  log.info("gateway.bridge_port_added",
           {{"bridge", bridge}, {"port", port}, {"gateway_end", end}, {"mtu", mtu}});
  return owner;
}

BridgePort::BridgePort(BridgePort&& other) noexcept
    : bridge_(std::move(other.bridge_)),
      gateway_end_(std::move(other.gateway_end_)),
      bridge_mac_(other.bridge_mac_),
      log_(other.log_) {
  other.gateway_end_.clear();
}

BridgePort::~BridgePort() {
  if (auto st = remove(); !st) {
    log_.warn("gateway.bridge_port_remove_failed",
              {{"port", gateway_end_}, {"error", st.error().describe()}});
  }
}

Status BridgePort::remove() {
  if (gateway_end_.empty()) return ok();
  auto sock = route_socket();
  if (!sock) return tl::unexpected(sock.error());
  auto link = get_link(sock->get(), gateway_end_);
  if (!link) return tl::unexpected(link.error());
  // Deleting one end of a veth pair deletes both.
  if (int err = rtnl_link_delete(sock->get(), link->get()); err < 0) {
    return nl_fail(err, fmt::format("delete {}", gateway_end_));
  }
  log_.info("gateway.bridge_port_removed", {{"bridge", bridge_}, {"gateway_end", gateway_end_}});
  gateway_end_.clear();
  return ok();
}

}  // namespace lanparty::gateway
