// SPDX-License-Identifier: MIT
// PROTOCOL.md section 5: where one Ethernet frame from an admitted peer goes. Pure policy over
// the room; the relay does the sending. No allocation: a flood is described, not listed.
#pragma once

#include <cstdint>
#include <span>

#include "lanparty/obs/frame_event.hpp"
#include "lanparty/proto/drop_reason.hpp"
#include "lanparty/proto/ethernet.hpp"
#include "room_table.hpp"

namespace lanparty::relay {

struct Route {
  obs::FrameAction action = obs::FrameAction::kDrop;
  proto::DropReason reason = proto::DropReason::kCount;  // set when action == kDrop
  Peer* target = nullptr;                                // set when action == kForward
  bool header_parsed = false;  // `parsed` holds the Ethernet header, for the decision log
};

// Applies rules 1-7 in order and fills `parsed` when the frame has a readable header.
// For kFlood the targets are every peer of the room but the sender.
[[nodiscard]] Route route_frame(const Room& room, const Peer& sender,
                                std::span<const std::uint8_t> frame,
                                proto::EthernetView& parsed) noexcept;

}  // namespace lanparty::relay
