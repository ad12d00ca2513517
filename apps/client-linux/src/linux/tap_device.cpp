// SPDX-License-Identifier: MIT
#include "tap_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_linux {

Result<std::unique_ptr<TapDevice>> TapDevice::open(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return fail(Errc::kInvalidArgument,
                fmt::format("TAP name '{}' must be 1 to {} characters", name, IFNAMSIZ - 1));
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return fail_errno(errno, "open /dev/net/tun (needs root or CAP_NET_ADMIN, and the tun module)");
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    ::close(fd);
    return fail_errno(err, fmt::format("TUNSETIFF {}", name));
  }
  return std::unique_ptr<TapDevice>(new TapDevice(fd, ifr.ifr_name));
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

Result<std::size_t> TapDevice::read_frame(std::span<std::uint8_t> buffer) {
  const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::size_t{0};
    return fail_errno(errno, fmt::format("read {}", name_));
  }
  return static_cast<std::size_t>(n);
}

Status TapDevice::write_frame(std::span<const std::uint8_t> frame) {
  const ssize_t n = ::write(fd_, frame.data(), frame.size());
  if (n < 0) return fail_errno(errno, fmt::format("write {}", name_));
  return ok();
}

}  // namespace lanparty::client_linux
