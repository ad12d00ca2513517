// SPDX-License-Identifier: MIT
#include "lan_policy.hpp"

#include <algorithm>

#include "lanparty/proto/ethernet.hpp"

namespace lanparty::gateway {

LanVerdict classify_lan_frame(std::span<const std::uint8_t> frame,
                              const client_core::RemotePeers& peers,
                              std::size_t room_mtu) noexcept {
  auto header = proto::parse_ethernet(frame);
  if (!header) return LanVerdict::kRunt;
  if (!header->destination.is_multicast() && !peers.contains_mac(header->destination)) {
    return LanVerdict::kNotForRoom;
  }
  const std::size_t limit =
      room_mtu + (header->tagged ? proto::kEthernetHeaderSize + proto::kVlanTagSize
                                 : proto::kEthernetHeaderSize);
  if (frame.size() > limit) return LanVerdict::kTooLarge;
  return LanVerdict::kSend;
}

std::array<std::uint8_t, kCamRefreshFrameBytes> cam_refresh_frame(
    const proto::MacAddress& client, const proto::MacAddress& gateway) noexcept {
  std::array<std::uint8_t, kCamRefreshFrameBytes> f{};
  std::copy(gateway.bytes().begin(), gateway.bytes().end(), f.begin());
  std::copy(client.bytes().begin(), client.bytes().end(), f.begin() + 6);
  f[12] = static_cast<std::uint8_t>(kCamRefreshEtherType >> 8);
  f[13] = static_cast<std::uint8_t>(kCamRefreshEtherType & 0xff);
  return f;
}

}  // namespace lanparty::gateway
