// SPDX-License-Identifier: MIT
// The virtio_net_hdr a TAP opened with IFF_VNET_HDR puts in front of each frame it hands over
// (and expects in front of each frame written), and its translation to proto::OffloadInfo.
// Pure: the TAP device reads and writes it, the tests feed it by hand.
#pragma once

#include <cstdint>
#include <optional>

#include "lanparty/proto/offload.hpp"

namespace lanparty::client_linux {

// struct virtio_net_hdr (linux/virtio_net.h, a fixed ABI). The kernel header cannot be
// included from C++: one of its structs has a field named `class`. The TAP is switched to
// little-endian fields (TUNSETVNETLE), so the layout is the same on every host.
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

// Little-endian 16-bit field to host order, without <endian.h> in a neutral-looking header.
[[nodiscard]] inline std::uint16_t vnet_le16(std::uint16_t raw) noexcept {
  const auto* b = reinterpret_cast<const std::uint8_t*>(&raw);
  return static_cast<std::uint16_t>(b[0] | (b[1] << 8));
}

// The offload work a frame read from the TAP still needs; nullopt for a GSO type we never
// asked for (TUNSETOFFLOAD only enables TCP and UDP_L4), which the caller drops and counts.
// The ECN bit only says the sender uses ECN: the Segmenter already keeps CWR on the first
// segment alone, as the kernel's own GSO does.
[[nodiscard]] inline std::optional<proto::OffloadInfo> offload_from_vnet(
    const VnetHeader& vnet) noexcept {
  proto::OffloadInfo info;
  if ((vnet.flags & kVnetNeedsCsum) != 0) {
    info.needs_checksum = true;
    info.checksum_start = vnet_le16(vnet.csum_start);
    info.checksum_offset = vnet_le16(vnet.csum_offset);
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
  info.gso_size = vnet_le16(vnet.gso_size);
  return info;
}

// The header that hands the kernel a frame to finish: a CHECKSUM_PARTIAL frame or a TCP
// super-frame (proto::Coalescer's output); all zero for a finished frame. The byte swap is
// its own inverse, so vnet_le16 also makes the little-endian field.
[[nodiscard]] inline VnetHeader vnet_from_offload(const proto::OffloadInfo& info) noexcept {
  VnetHeader vnet{};
  if (info.needs_checksum) {
    vnet.flags = kVnetNeedsCsum;
    vnet.csum_start = vnet_le16(info.checksum_start);
    vnet.csum_offset = vnet_le16(info.checksum_offset);
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
  vnet.hdr_len = vnet_le16(info.header_size);
  vnet.gso_size = vnet_le16(info.gso_size);
  return vnet;
}

}  // namespace lanparty::client_linux
