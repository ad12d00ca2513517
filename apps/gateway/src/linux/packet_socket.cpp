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

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::gateway {
namespace {

// struct virtio_net_hdr (linux/virtio_net.h, a fixed ABI). The header itself cannot be
// included from C++: one of its structs has a field named `class`.
struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr std::uint8_t kVnetNeedsCsum = 1;  // kVnetNeedsCsum
constexpr std::uint8_t kVnetGsoNone = 0, kVnetGsoTcpV4 = 1, kVnetGsoTcpV6 = 4, kVnetGsoUdpL4 = 5;
constexpr std::uint8_t kVnetGsoEcn = 0x80;

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
  // Frames from this host, a VM or a container reach us unfinished: checksum left for a NIC
  // (CHECKSUM_PARTIAL) or TCP/UDP super-frames (GSO). The virtio_net_hdr in front of each
  // frame says which, and where the checksum goes (Linux >= 2.6.27).
  if (::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0) {
    return close_on_error(errno, "PACKET_VNET_HDR (offload metadata) on the packet socket");
  }
  // The kernel strips an 802.1Q tag into metadata on receive; auxdata gives it back.
  if (::setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0) {
    return close_on_error(errno, "PACKET_AUXDATA (VLAN tags) on the packet socket");
  }
  return std::unique_ptr<PacketSocket>(
      new PacketSocket(fd, interface, ifindex, proto::MacAddress(mac_bytes), mtu));
}

PacketSocket::~PacketSocket() {
  // Closing the socket drops its promiscuous membership.
  ::close(fd_);
}

Result<std::optional<PacketSocket::Frame>> PacketSocket::read_frame(std::span<std::uint8_t> buffer,
                                                                    std::size_t headroom) {
  // The frame lands 4 bytes further in, so a tag can be put back by moving only the MACs.
  constexpr std::size_t kTag = 4;
  if (buffer.size() < headroom + kTag + kMaxFrameBytes) {
    return fail(Errc::kInvalidArgument, "packet socket read buffer too small");
  }
  for (;;) {
    VnetHeader vnet{};
    iovec iov[2] = {{&vnet, sizeof(vnet)},
                    {buffer.data() + headroom + kTag, buffer.size() - headroom - kTag}};
    alignas(cmsghdr) std::array<std::uint8_t, CMSG_SPACE(sizeof(tpacket_auxdata))> control{};
    sockaddr_ll from{};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    const ssize_t n = ::recvmsg(fd_, &msg, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::nullopt;
      return fail_errno(errno, fmt::format("read from {}", name_));
    }
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    if ((msg.msg_flags & MSG_TRUNC) != 0 || static_cast<std::size_t>(n) < sizeof(vnet)) {
      ++drops_.truncated;
      continue;
    }
    Frame frame;
    frame.offset = headroom + kTag;
    frame.size = static_cast<std::size_t>(n) - sizeof(vnet);
    // Packet sockets give the header in host byte order (virtio "legacy" layout).
    if ((vnet.flags & kVnetNeedsCsum) != 0) {
      frame.offload.needs_checksum = true;
      frame.offload.checksum_start = vnet.csum_start;
      frame.offload.checksum_offset = vnet.csum_offset;
    }
    switch (vnet.gso_type & ~kVnetGsoEcn) {
      case kVnetGsoNone:
        break;
      case kVnetGsoTcpV4:
        frame.offload.gso_type = proto::GsoType::kTcpV4;
        break;
      case kVnetGsoTcpV6:
        frame.offload.gso_type = proto::GsoType::kTcpV6;
        break;
      case kVnetGsoUdpL4:
        frame.offload.gso_type = proto::GsoType::kUdpL4;
        break;
      default:
        ++drops_.unsupported_offload;
        continue;
    }
    frame.offload.gso_size = vnet.gso_size;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      tpacket_auxdata aux{};
      std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
      if ((aux.tp_status & TP_STATUS_VLAN_VALID) == 0 || frame.size < 12) break;
      const std::uint16_t tpid =
          (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux.tp_vlan_tpid : ETH_P_8021Q;
      std::uint8_t* start = buffer.data() + frame.offset;
      std::memmove(start - kTag, start, 12);
      start[12 - kTag] = static_cast<std::uint8_t>(tpid >> 8);
      start[13 - kTag] = static_cast<std::uint8_t>(tpid);
      start[14 - kTag] = static_cast<std::uint8_t>(aux.tp_vlan_tci >> 8);
      start[15 - kTag] = static_cast<std::uint8_t>(aux.tp_vlan_tci);
      frame.offset -= kTag;
      frame.size += kTag;
      if (frame.offload.needs_checksum) {
        frame.offload.checksum_start =
            static_cast<std::uint16_t>(frame.offload.checksum_start + kTag);
      }
    }
    return frame;
  }
}

Status PacketSocket::write_frame(std::span<const std::uint8_t> frame) {
  // With PACKET_VNET_HDR every send starts with a header too; all zero: a finished frame.
  static constexpr VnetHeader kFinished{};
  iovec iov[2] = {{const_cast<VnetHeader*>(&kFinished), sizeof(kFinished)},
                  {const_cast<std::uint8_t*>(frame.data()), frame.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  if (::sendmsg(fd_, &msg, 0) < 0) {
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
