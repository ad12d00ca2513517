// SPDX-License-Identifier: MIT
#include "packet_socket.hpp"

#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::gateway {
namespace {

Status ifreq_ioctl(const std::string& name, unsigned long request, ifreq& ifr, const char* what) {
  std::memset(ifr.ifr_name, 0, sizeof(ifr.ifr_name));
  std::memcpy(ifr.ifr_name, name.c_str(), std::min(name.size(), sizeof(ifr.ifr_name) - 1));
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return fail_errno(errno, "socket for interface ioctl");
  const int rc = ::ioctl(sock, request, &ifr);
  const int err = errno;
  ::close(sock);
  if (rc != 0) return fail_errno(err, fmt::format("{} on {}", what, name));
  return ok();
}

Result<bool> ethtool_gro(const std::string& name, std::optional<bool> set) {
  ethtool_value value{};
  value.cmd = set ? ETHTOOL_SGRO : ETHTOOL_GGRO;
  value.data = set && *set ? 1 : 0;
  ifreq ifr{};
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  if (auto st = ifreq_ioctl(name, SIOCETHTOOL, ifr, set ? "ETHTOOL_SGRO" : "ETHTOOL_GGRO"); !st) {
    return tl::unexpected(st.error());
  }
  return value.data != 0;
}

}  // namespace

Result<std::unique_ptr<PacketSocket>> PacketSocket::open(const std::string& interface) {
  if (interface.empty() || interface.size() >= IFNAMSIZ) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--interface '{}' is not an interface name", interface));
  }
  ifreq ifr{};
  if (auto st = ifreq_ioctl(interface, SIOCGIFINDEX, ifr, "find interface (SIOCGIFINDEX)"); !st) {
    return tl::unexpected(st.error());
  }
  const int ifindex = ifr.ifr_ifindex;
  if (auto st = ifreq_ioctl(interface, SIOCGIFHWADDR, ifr, "read MAC (SIOCGIFHWADDR)"); !st) {
    return tl::unexpected(st.error());
  }
  std::array<std::uint8_t, 6> mac_bytes{};
  std::memcpy(mac_bytes.data(), ifr.ifr_hwaddr.sa_data, 6);
  if (auto st = ifreq_ioctl(interface, SIOCGIFMTU, ifr, "read MTU (SIOCGIFMTU)"); !st) {
    return tl::unexpected(st.error());
  }
  const auto mtu = static_cast<std::size_t>(ifr.ifr_mtu);

  const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return fail_errno(errno, "AF_PACKET socket (needs root or CAP_NET_RAW)");
  auto close_on_error = [fd](int err, std::string what) {
    ::close(fd);
    return fail_errno(err, std::move(what));
  };
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return close_on_error(errno, fmt::format("bind AF_PACKET to {}", interface));
  }
  // Promiscuous: frames for remote players' MACs are addressed to them, not to us.
  packet_mreq mreq{};
  mreq.mr_ifindex = ifindex;
  mreq.mr_type = PACKET_MR_PROMISC;
  if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0) {
    return close_on_error(errno, fmt::format("promiscuous mode on {}", interface));
  }
  // Our own transmissions would come back as outgoing packets; the kernel can skip them
  // (Linux >= 4.20). read_frame also checks the packet type for older kernels.
  const int one = 1;
  (void)::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
  return std::unique_ptr<PacketSocket>(
      new PacketSocket(fd, interface, ifindex, proto::MacAddress(mac_bytes), mtu));
}

PacketSocket::~PacketSocket() {
  // Closing the socket drops its promiscuous membership.
  ::close(fd_);
}

Result<std::size_t> PacketSocket::read_frame(std::span<std::uint8_t> buffer) {
  for (;;) {
    sockaddr_ll from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::size_t{0};
      return fail_errno(errno, fmt::format("read from {}", name_));
    }
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    if (static_cast<std::size_t>(n) > buffer.size()) continue;  // truncated: cannot forward
    return static_cast<std::size_t>(n);
  }
}

Status PacketSocket::write_frame(std::span<const std::uint8_t> frame) {
  if (::send(fd_, frame.data(), frame.size(), 0) < 0) {
    return fail_errno(errno, fmt::format("write to {}", name_));
  }
  return ok();
}

Result<ReceiveOffloadGuard> ReceiveOffloadGuard::apply(const std::string& interface,
                                                       obs::Logger log) {
  auto gro = ethtool_gro(interface, std::nullopt);
  if (!gro) return tl::unexpected(gro.error());
  if (!*gro) return ReceiveOffloadGuard(interface, false, log);
  if (auto set = ethtool_gro(interface, false); !set) return tl::unexpected(set.error());
  log.info("gateway.gro_disabled", {{"interface", interface}});
  return ReceiveOffloadGuard(interface, true, log);
}

ReceiveOffloadGuard::ReceiveOffloadGuard(ReceiveOffloadGuard&& other) noexcept
    : interface_(std::move(other.interface_)), gro_was_on_(other.gro_was_on_), log_(other.log_) {
  other.gro_was_on_ = false;
}

ReceiveOffloadGuard::~ReceiveOffloadGuard() {
  if (auto st = restore(); !st) {
    log_.warn("gateway.gro_restore_failed",
              {{"interface", interface_}, {"error", st.error().describe()}});
  }
}

Status ReceiveOffloadGuard::restore() {
  if (!gro_was_on_) return ok();
  auto set = ethtool_gro(interface_, true);
  if (!set) return tl::unexpected(set.error());
  gro_was_on_ = false;
  log_.info("gateway.gro_restored", {{"interface", interface_}});
  return ok();
}

}  // namespace lanparty::gateway
