// SPDX-License-Identifier: MIT
// The virtio_net_hdr Linux puts in front of each frame it hands over, and expects in front of
// each frame written, by a TAP opened with IFF_VNET_HDR (the client) and by a packet socket with
// PACKET_VNET_HDR (the gateway); and its translation to and from proto::OffloadInfo. Pure: the
// TAP device and the packet socket read and write it, the tests feed it by hand.
#pragma once

#include <cstdint>
#include <optional>

#include "lanparty/proto/offload.hpp"

namespace lanparty::apps {

// struct virtio_net_hdr (linux/virtio_net.h, a fixed ABI). The kernel header cannot be
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

inline constexpr std::uint8_t kVnetNeedsCsum = 1;
inline constexpr std::uint8_t kVnetGsoNone = 0, kVnetGsoTcpV4 = 1, kVnetGsoTcpV6 = 4,
                              kVnetGsoUdpL4 = 5;
inline constexpr std::uint8_t kVnetGsoEcn = 0x80;

// The byte order of the header's 16-bit fields. The client switches its TAP to little-endian
// fields (TUNSETVNETLE), the same on every host; a packet socket uses the virtio "legacy"
// layout, host order.
enum class VnetByteOrder : std::uint8_t { kLittleEndian, kHost };

// A 16-bit field between `order` and host order (the swap is its own inverse, so one function
// reads and writes), without <endian.h> in a neutral-looking header.
[[nodiscard]] inline std::uint16_t vnet16(std::uint16_t raw, VnetByteOrder order) noexcept {
  if (order == VnetByteOrder::kHost) return raw;
  const auto* b = reinterpret_cast<const std::uint8_t*>(&raw);
  return static_cast<std::uint16_t>(b[0] | (b[1] << 8));
}

// The offload work a frame read from the TAP still needs; nullopt for a GSO type we never
// asked for (TUNSETOFFLOAD only enables TCP and UDP_L4), which the caller drops and counts.
// The ECN bit only says the sender uses ECN: the Segmenter already keeps CWR on the first
// segment alone, as the kernel's own GSO does.
[[nodiscard]] inline std::optional<proto::OffloadInfo> offload_from_vnet(
    const VnetHeader& vnet, VnetByteOrder order) noexcept {
  proto::OffloadInfo info;
  if ((vnet.flags & kVnetNeedsCsum) != 0) {
    info.needs_checksum = true;
    info.checksum_start = vnet16(vnet.csum_start, order);
    info.checksum_offset = vnet16(vnet.csum_offset, order);
  }
  switch (vnet.gso_type & ~kVnetGsoEcn) {
    case kVnetGsoNone:
      return info;
    case kVnetGsoTcpV4:
      info.gso_type = proto::GsoType::kTcpV4;
      break;
    case kVnetGsoTcpV6:
      info.gso_type = proto::GsoType::kTcpV6;
      break;
    case kVnetGsoUdpL4:
      info.gso_type = proto::GsoType::kUdpL4;
      break;
    default:
      return std::nullopt;
  }
  info.gso_size = vnet16(vnet.gso_size, order);
  return info;
}

// The header that hands the kernel a frame to finish: a CHECKSUM_PARTIAL frame or a TCP
// super-frame (proto::Coalescer's output); all zero for a finished frame.
[[nodiscard]] inline VnetHeader vnet_from_offload(const proto::OffloadInfo& info,
                                                  VnetByteOrder order) noexcept {
  VnetHeader vnet{};
  if (info.needs_checksum) {
    vnet.flags = kVnetNeedsCsum;
    vnet.csum_start = vnet16(info.checksum_start, order);
    vnet.csum_offset = vnet16(info.checksum_offset, order);
  }
  switch (info.gso_type) {
    case proto::GsoType::kNone:
      return vnet;
    case proto::GsoType::kTcpV4:
      vnet.gso_type = kVnetGsoTcpV4;
      break;
    case proto::GsoType::kTcpV6:
      vnet.gso_type = kVnetGsoTcpV6;
      break;
    case proto::GsoType::kUdpL4:
      vnet.gso_type = kVnetGsoUdpL4;
      break;
  }
  vnet.hdr_len = vnet16(info.header_size, order);
  vnet.gso_size = vnet16(info.gso_size, order);
  return vnet;
}

}  // namespace lanparty::apps
