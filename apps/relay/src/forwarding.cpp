// SPDX-License-Identifier: MIT
#include "forwarding.hpp"

#include "lanparty/proto/frame_filter.hpp"

namespace lanparty::relay {

Route route_frame(const Room& room, const Peer& sender, std::span<const std::uint8_t> frame,
                  proto::EthernetView& parsed) noexcept {
  Route route;
  const auto role = sender.role == ctrl::Role::kGateway ? proto::SenderRole::kGateway
                                                        : proto::SenderRole::kClient;
  // Rules 1-3: size, switch control, and the client-only filters.
  auto checked = proto::check_frame(frame, room.mtu, role, sender.mac);
  if (!checked) {
    route.reason = checked.error();
    // A frame past the 14-byte header still names its MACs in the decision log.
    if (auto header = proto::parse_ethernet(frame)) {
      parsed = *header;
      route.header_parsed = true;
    }
    return route;
  }
  parsed = *checked;
  route.header_parsed = true;

  // Rule 4: from the gateway, a client's own MAC as source means the LAN echoed it back.
  if (sender.role == ctrl::Role::kGateway) {
    const Peer* owner = room.find_mac(parsed.source.to_u64());
    if (owner != nullptr && owner != &sender) {
      route.reason = proto::DropReason::kLoopSource;
      return route;
    }
  }
  // Rule 5: broadcast and multicast flood.
  if (parsed.destination.is_multicast()) {
    route.action = obs::FrameAction::kFlood;
    return route;
  }
  // Rule 6: a peer of the room.
  Peer* target = room.find_mac(parsed.destination.to_u64());
  if (target != nullptr && !target->welcome_pending) {
    if (target == &sender) {
      route.reason = proto::DropReason::kReflection;
      return route;
    }
    route.action = obs::FrameAction::kForward;
    route.target = target;
    return route;
  }
  // Rule 7: unknown unicast belongs to the LAN behind the gateway.
  if (sender.role == ctrl::Role::kClient) {
    if (room.gateway == nullptr || room.gateway->welcome_pending) {
      route.reason = proto::DropReason::kNoGateway;
      return route;
    }
    route.action = obs::FrameAction::kForward;
    route.target = room.gateway;
    return route;
  }
  route.reason = proto::DropReason::kUnknownDestination;
  return route;
}

}  // namespace lanparty::relay
