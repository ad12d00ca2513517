// SPDX-License-Identifier: MIT
// PROTOCOL.md section 6 as pure functions: which LAN frames go to the relay, and the CAM
// refresh frame that keeps the switch pointing remote players' MACs at the gateway.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "lanparty/client_core/remote_peers.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::gateway {

enum class LanVerdict : std::uint8_t {
  kSend,        // broadcast, multicast, or a remote peer's MAC
  kNotForRoom,  // unicast to a LAN host: stays on the LAN
  kRunt,        // shorter than an Ethernet header
  kTooLarge,    // above the room MTU: the relay would drop it as jumbo
};

[[nodiscard]] LanVerdict classify_lan_frame(std::span<const std::uint8_t> frame,
                                            const client_core::RemotePeers& peers,
                                            std::size_t room_mtu) noexcept;

inline constexpr std::size_t kCamRefreshFrameBytes = 60;
inline constexpr std::uint16_t kCamRefreshEtherType = 0x88b5;  // IEEE local experimental

// 60 bytes: destination = the gateway's own MAC (so no one else receives it), source = the
// remote client's MAC, EtherType 0x88b5, zero payload.
[[nodiscard]] std::array<std::uint8_t, kCamRefreshFrameBytes> cam_refresh_frame(
    const proto::MacAddress& client, const proto::MacAddress& gateway) noexcept;

}  // namespace lanparty::gateway
