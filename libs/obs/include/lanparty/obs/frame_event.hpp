// SPDX-License-Identifier: MIT
// The relay's per-frame decision event (PROTOCOL.md section 5: room, peer id, source,
// destination, EtherType, length, action, drop reason, targets). Emitted at debug level only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lanparty/obs/log.hpp"

namespace lanparty::obs {

enum class FrameAction : std::uint8_t { kForward, kFlood, kDrop };

[[nodiscard]] std::string_view to_string(FrameAction action) noexcept;

inline constexpr std::string_view kFrameDecisionEvent = "relay.frame";

struct FrameDecision {
  std::string_view room;
  std::uint16_t peer_id = 0;
  std::array<std::uint8_t, 6> source{};
  std::array<std::uint8_t, 6> destination{};
  std::uint16_t ethertype = 0;
  std::size_t length_bytes = 0;
  FrameAction action = FrameAction::kDrop;
  std::string_view drop_reason;  // empty unless action == kDrop
  std::size_t targets = 0;
};

// Formats and writes the event only when debug is enabled, so the per-frame cost with debug
// off is one branch.
inline void log_frame_decision(const Logger& logger, const FrameDecision& decision) noexcept;

namespace detail {
void write_frame_decision(const Logger& logger, const FrameDecision& decision) noexcept;
}  // namespace detail

inline void log_frame_decision(const Logger& logger, const FrameDecision& decision) noexcept {
  if (logger.enabled(Level::kDebug)) [[unlikely]] {
    detail::write_frame_decision(logger, decision);
  }
}

}  // namespace lanparty::obs
