// SPDX-License-Identifier: MIT
#include "tap_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lanparty/base/check.hpp"
#include "lanparty/base/errc.hpp"
#include "linux/vnet_header.hpp"

namespace lanparty::client_linux {
namespace {

using apps::VnetHeader;
// The TAP is switched to little-endian header fields (TUNSETVNETLE): the same on every host.
constexpr apps::VnetByteOrder kTapByteOrder = apps::VnetByteOrder::kLittleEndian;

// UDP segmentation offload (Linux >= 6.2); Debian 12's headers predate it.
constexpr unsigned kTunFUso4 = 0x20;
constexpr unsigned kTunFUso6 = 0x40;

// The virtio_net_hdr layout and the offloads, on a TAP opened with IFF_VNET_HDR. USO is asked
// for first and dropped when the kernel refuses it (EINVAL before 6.2).
Result<TapOffloads> enable_offloads(int fd, const std::string& name) {
  int hdr_size = sizeof(VnetHeader);
  if (::ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) != 0) {
    return fail_errno(errno, fmt::format("TUNSETVNETHDRSZ on {}", name));
  }
  int little_endian = 1;
  if (::ioctl(fd, TUNSETVNETLE, &little_endian) != 0) {
    return fail_errno(errno, fmt::format("TUNSETVNETLE on {}", name));
  }
  const unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  if (::ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(tso | kTunFUso4 | kTunFUso6)) == 0) {
    return TapOffloads{.checksum = true, .tso = true, .uso = true};
  }
  if (::ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(tso)) == 0) {
    return TapOffloads{.checksum = true, .tso = true, .uso = false};
  }
  return fail_errno(errno, fmt::format("TUNSETOFFLOAD (checksum, TSO) on {}; --no-tap-offload "
                                       "runs without",
                                       name));
}

}  // namespace

Result<std::unique_ptr<TapDevice>> TapDevice::open(const std::string& name, bool offloads) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return fail(Errc::kInvalidArgument,
                fmt::format("TAP name '{}' must be 1 to {} characters", name, IFNAMSIZ - 1));
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return fail_errno(errno, "open /dev/net/tun (needs root or CAP_NET_ADMIN, and the tun module)");
  }
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0));
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    ::close(fd);
    return fail_errno(err, fmt::format("TUNSETIFF {}", name));
  }
  TapOffloads enabled;
  if (offloads) {
    auto got = enable_offloads(fd, name);
    if (!got) {
      ::close(fd);
      return tl::unexpected(got.error());
    }
    enabled = *got;
  }
  return std::unique_ptr<TapDevice>(new TapDevice(fd, ifr.ifr_name, offloads, enabled));
}

TapDevice::~TapDevice() {
  // Closing the last descriptor of a non-persistent TAP device deletes the interface.
  ::close(fd_);
}

Status TapDevice::interface_ioctl(unsigned long request, void* ifr, const char* what) {
  // Interface settings go through any socket; the TAP fd itself does not take them.
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return fail_errno(errno, "socket for interface ioctl");
  const int rc = ::ioctl(sock, request, ifr);
  const int err = errno;
  ::close(sock);
  if (rc != 0) return fail_errno(err, fmt::format("{} on {}", what, name_));
  return ok();
}

Status TapDevice::set_mac(const proto::MacAddress& mac) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.c_str(), name_.size());
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  std::memcpy(ifr.ifr_hwaddr.sa_data, mac.bytes().data(), 6);
  return interface_ioctl(SIOCSIFHWADDR, &ifr, "set MAC (SIOCSIFHWADDR)");
}

Status TapDevice::set_mtu(std::size_t mtu_bytes) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.c_str(), name_.size());
  ifr.ifr_mtu = static_cast<int>(mtu_bytes);
  return interface_ioctl(SIOCSIFMTU, &ifr, "set MTU (SIOCSIFMTU)");
}

Status TapDevice::set_up(bool up) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.c_str(), name_.size());
  if (auto st = interface_ioctl(SIOCGIFFLAGS, &ifr, "read flags (SIOCGIFFLAGS)"); !st) return st;
  if (up) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags & ~IFF_UP);
  }
  return interface_ioctl(SIOCSIFFLAGS, &ifr, "set flags (SIOCSIFFLAGS)");
}

Result<TapRead> TapDevice::read_frame(std::span<std::uint8_t> buffer) {
  VnetHeader vnet{};
  iovec iov[2] = {{&vnet, sizeof(vnet)}, {buffer.data(), buffer.size()}};
  const ssize_t n = vnet_header_ ? ::readv(fd_, iov, 2) : ::read(fd_, buffer.data(), buffer.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return TapRead{};
    return fail_errno(errno, fmt::format("read {}", name_));
  }
  TapRead got;
  got.size = static_cast<std::size_t>(n);
  if (!vnet_header_) return got;
  // The kernel returns the whole frame's length even when it copied less (tun_put_user).
  if (got.size <= sizeof(vnet) || got.size - sizeof(vnet) > buffer.size()) {
    got.unusable = true;
    return got;
  }
  got.size -= sizeof(vnet);
  auto offload = apps::offload_from_vnet(vnet, kTapByteOrder);
  if (!offload) {
    got.unusable = true;
    return got;
  }
  got.offload = *offload;
  return got;
}

Status TapDevice::write_frame(std::span<const std::uint8_t> frame,
                              const proto::OffloadInfo& offload) {
  LANPARTY_DCHECK(vnet_header_ ||
                  (!offload.needs_checksum && offload.gso_type == proto::GsoType::kNone));
  // A zero header is an ordinary, finished frame: the kernel checks its checksums as it would
  // on any NIC without receive offload. A super-frame's header makes the kernel take it as
  // one GSO packet whose checksum it trusts (the Coalescer merged only segments whose own
  // checksums held).
  VnetHeader vnet = apps::vnet_from_offload(offload, kTapByteOrder);
  iovec iov[2] = {{&vnet, sizeof(vnet)}, {const_cast<std::uint8_t*>(frame.data()), frame.size()}};
  const ssize_t n = vnet_header_ ? ::writev(fd_, iov, 2) : ::write(fd_, frame.data(), frame.size());
  if (n < 0) return fail_errno(errno, fmt::format("write {}", name_));
  return ok();
}

}  // namespace lanparty::client_linux
