// SPDX-License-Identifier: MIT
// PROTOCOL.md section 6 as pure functions: which LAN frames go to the relay, and the CAM
// refresh frame that keeps the switch pointing remote players' MACs at the gateway.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "lanparty/client_core/remote_peers.hpp"
#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/proto/offload.hpp"
#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::gateway {

enum class LanVerdict : std::uint8_t {
  kSend,        // broadcast, multicast, or a remote peer's MAC
  kNotForRoom,  // unicast to a LAN host: stays on the LAN
  kRunt,        // shorter than an Ethernet header
  kTooLarge,    // above the room MTU: the relay would drop it as jumbo
  kBadOffload,  // the kernel's checksum/GSO metadata does not fit the frame: dropped
};

// One LAN frame on its way to the room: `datagram` holds it from byte 4 on (headroom for the
// overlay header). Frames not for the room are left alone (checksums of LAN-only traffic are
// never touched, nor are complete ones); the rest go through `finisher` (checksum completed,
// GSO super-frames cut to the room MTU, frames above it refused) and each result goes to
// send(span with the same 4 bytes of headroom). Returns the verdict for the frame as received.
template <class Send>
LanVerdict forward_lan_frame(std::span<std::uint8_t> datagram, const proto::OffloadInfo& offload,
                             const client_core::RemotePeers& peers, std::size_t room_mtu,
                             proto::LocalFrameFinisher& finisher, Send&& send);

// PROTOCOL.md section 7, gateway MAC safety: the source MACs seen on the LAN port in the last
// 300 s. A remote client claiming one of them is never CAM-refreshed, its frames with that
// source never reach the LAN, and the gateway kicks it (mac_on_lan): otherwise a player could
// teach the party's switch that the router lives behind the gateway.
class LanMacTable {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kWindow{300};
  // Beyond this many MACs, older ones are swept first and new ones ignored if none is old:
  // bounded memory whatever the LAN sends.
  static constexpr std::size_t kMaxEntries = 16384;

  // A frame from the LAN carried `mac` as its source at `now`. Per frame, so the common case
  // (the same sender as the frame before, within a second) costs a compare, not a hash update.
  void saw(const proto::MacAddress& mac, Clock::time_point now) {
    if (mac.to_u64() == last_mac_ && now - last_update_ < kRefresh) return;
    record(mac, now);
  }
  [[nodiscard]] bool seen_recently(const proto::MacAddress& mac, Clock::time_point now) const;
  [[nodiscard]] std::size_t size() const noexcept { return last_seen_.size(); }

 private:
  // Timestamps are refreshed at most this often per consecutive sender: 300 s windows do not
  // need them finer.
  static constexpr std::chrono::seconds kRefresh{1};
  void record(const proto::MacAddress& mac, Clock::time_point now);
  void sweep(Clock::time_point now);
  std::unordered_map<std::uint64_t, Clock::time_point> last_seen_;
  std::uint64_t last_mac_ = ~std::uint64_t{0};  // no MAC is all ones in 64 bits
  Clock::time_point last_update_{};
};

inline constexpr std::size_t kCamRefreshFrameBytes = 60;
inline constexpr std::uint16_t kCamRefreshEtherType = 0x88b5;  // IEEE local experimental

// 60 bytes: destination = the gateway's own MAC (so no one else receives it), source = the
// remote client's MAC, EtherType 0x88b5, zero payload.
[[nodiscard]] std::array<std::uint8_t, kCamRefreshFrameBytes> cam_refresh_frame(
    const proto::MacAddress& client, const proto::MacAddress& gateway) noexcept;

template <class Send>
LanVerdict forward_lan_frame(std::span<std::uint8_t> datagram, const proto::OffloadInfo& offload,
                             const client_core::RemotePeers& peers, std::size_t room_mtu,
                             proto::LocalFrameFinisher& finisher, Send&& send) {
  auto header = proto::parse_ethernet(datagram.subspan(proto::kOverlayHeaderSize));
  if (!header) return LanVerdict::kRunt;
  if (!header->destination.is_multicast() && !peers.contains_mac(header->destination)) {
    return LanVerdict::kNotForRoom;
  }
  switch (finisher.finish(datagram, offload, room_mtu, std::forward<Send>(send))) {
    case proto::FinishVerdict::kSent:
      return LanVerdict::kSend;
    case proto::FinishVerdict::kRunt:
      return LanVerdict::kRunt;
    case proto::FinishVerdict::kTooLarge:
      return LanVerdict::kTooLarge;
    case proto::FinishVerdict::kBadOffload:
      break;
  }
  return LanVerdict::kBadOffload;
}

}  // namespace lanparty::gateway
