// SPDX-License-Identifier: MIT
// A Linux TAP device (/dev/net/tun, IFF_TAP | IFF_NO_PI): the player's virtual network card.
// Closing it removes a device it created; interface changes it made go with the device.
// With offloads (IFF_VNET_HDR + TUNSETOFFLOAD) the kernel hands over TCP super-frames of up to
// 64 KiB and frames with their L4 checksum left open; each read says which (TapRead::offload).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "lanparty/base/result.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/proto/offload.hpp"

namespace lanparty::client_linux {

// One read from the TAP. size 0: nothing was waiting; otherwise the frame's bytes.
struct TapRead {
  std::size_t size = 0;
  proto::OffloadInfo offload;  // all defaults without offloads
  // The kernel described the frame in a way we never asked for (a GSO type not enabled) or
  // the frame did not fit the buffer: drop it and count it.
  bool unusable = false;
};

// Which offloads the kernel accepted (TUNSETOFFLOAD).
struct TapOffloads {
  bool checksum = false;
  bool tso = false;  // TCP over IPv4 and IPv6
  bool uso = false;  // UDP segmentation (Linux >= 6.2)
};

class TapDevice {
 public:
  // The largest frame a read can return: a 64 KiB super-frame, its Ethernet header and a tag.
  static constexpr std::size_t kMaxReadBytes = 65536 + 64;

  // Creates (or attaches to) the TAP interface `name`, non-blocking; with `offloads`, asks the
  // kernel for checksum offload, TSO4/6 and (when it has them) USO4/6.
  [[nodiscard]] static Result<std::unique_ptr<TapDevice>> open(const std::string& name,
                                                               bool offloads);
  ~TapDevice();
  TapDevice(const TapDevice&) = delete;
  TapDevice& operator=(const TapDevice&) = delete;

  [[nodiscard]] Status set_mac(const proto::MacAddress& mac);
  [[nodiscard]] Status set_mtu(std::size_t mtu_bytes);
  [[nodiscard]] Status set_up(bool up);

  // One frame (a super-frame with offloads: give kMaxReadBytes), or size 0 when none is
  // waiting (EAGAIN); an error otherwise.
  [[nodiscard]] Result<TapRead> read_frame(std::span<std::uint8_t> buffer);
  // One frame. With offloads it goes behind a virtio_net_hdr made from `offload`: empty for
  // a finished frame, or a TCP super-frame (proto::Coalescer) for the kernel to take whole.
  // Without offloads `offload` must be empty.
  [[nodiscard]] Status write_frame(std::span<const std::uint8_t> frame,
                                   const proto::OffloadInfo& offload = {});

  [[nodiscard]] bool vnet_header() const noexcept { return vnet_header_; }
  [[nodiscard]] const TapOffloads& offloads() const noexcept { return offloads_; }

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  TapDevice(int fd, std::string name, bool vnet_header, TapOffloads offloads)
      : fd_(fd), name_(std::move(name)), vnet_header_(vnet_header), offloads_(offloads) {}
  Status interface_ioctl(unsigned long request, void* ifr, const char* what);

  int fd_;
  std::string name_;
  bool vnet_header_;
  TapOffloads offloads_;
};

}  // namespace lanparty::client_linux
