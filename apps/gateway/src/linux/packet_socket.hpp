// SPDX-License-Identifier: MIT
// The gateway's wire: an AF_PACKET socket on the LAN interface, promiscuous, that never sees
// its own transmissions, and reads each frame with the kernel's offload metadata
// (PACKET_VNET_HDR) and its 802.1Q tag (PACKET_AUXDATA); plus an owner object for the
// interface's receive offloads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "lanparty/base/result.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/proto/offload.hpp"

namespace lanparty::gateway {

class PacketSocket {
 public:
  [[nodiscard]] static Result<std::unique_ptr<PacketSocket>> open(const std::string& interface);
  ~PacketSocket();
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;

  // Where read_frame put a frame in the caller's buffer, and what the kernel said of it.
  struct Frame {
    std::size_t offset = 0;  // >= the headroom asked for
    std::size_t size = 0;
    proto::OffloadInfo offload;
  };
  // Frames read_frame skipped, by reason.
  struct Drops {
    std::uint64_t truncated = 0;            // larger than the buffer
    std::uint64_t unsupported_offload = 0;  // a GSO type we cannot segment (UFO)
  };
  // Minimum buffer: the largest frame the kernel can hand over (a 64 KiB GSO super-frame with
  // a tag put back) plus the headroom.
  static constexpr std::size_t kMaxFrameBytes = 65536 + 18 + 4;

  // One frame received on the LAN (not one we sent), at least `headroom` bytes into `buffer`,
  // with a VLAN tag that the kernel kept aside put back in place; nullopt when none is waiting.
  [[nodiscard]] Result<std::optional<Frame>> read_frame(std::span<std::uint8_t> buffer,
                                                        std::size_t headroom);
  [[nodiscard]] Status write_frame(std::span<const std::uint8_t> frame);
  [[nodiscard]] const Drops& drops() const noexcept { return drops_; }

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const proto::MacAddress& interface_mac() const noexcept { return mac_; }
  [[nodiscard]] std::size_t interface_mtu() const noexcept { return mtu_; }
  [[nodiscard]] const std::string& interface() const noexcept { return name_; }

 private:
  PacketSocket(int fd, std::string name, int ifindex, proto::MacAddress mac, std::size_t mtu)
      : fd_(fd), name_(std::move(name)), ifindex_(ifindex), mac_(mac), mtu_(mtu) {}

  int fd_;
  std::string name_;
  int ifindex_;
  proto::MacAddress mac_;
  std::size_t mtu_;
  Drops drops_;
};

// Turns generic receive offload off on the LAN interface for the gateway's life and restores
// it after: with GRO on, the packet socket sees merged TCP segments far above the MTU, which
// no room could carry. Only what it changed is restored.
class ReceiveOffloadGuard {
 public:
  [[nodiscard]] static Result<ReceiveOffloadGuard> apply(const std::string& interface,
                                                         obs::Logger log);
  ReceiveOffloadGuard(ReceiveOffloadGuard&& other) noexcept;
  ReceiveOffloadGuard& operator=(ReceiveOffloadGuard&&) = delete;
  ReceiveOffloadGuard(const ReceiveOffloadGuard&) = delete;
  ~ReceiveOffloadGuard();
  Status restore();

 private:
  ReceiveOffloadGuard(std::string interface, bool gro_was_on, obs::Logger log)
      : interface_(std::move(interface)), gro_was_on_(gro_was_on), log_(log) {}
  std::string interface_;
  bool gro_was_on_ = false;  // false == nothing to undo
  obs::Logger log_;
};

}  // namespace lanparty::gateway
