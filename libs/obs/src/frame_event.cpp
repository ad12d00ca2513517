// SPDX-License-Identifier: MIT
#include "lanparty/obs/frame_event.hpp"

namespace lanparty::obs {
namespace {

// "02:5a:11:22:33:44" into a caller's stack buffer: no allocation even at debug level.
std::string_view format_mac(const std::array<std::uint8_t, 6>& mac, std::array<char, 17>& out) {
  constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 6; ++i) {
    out[i * 3] = kHex[mac[i] >> 4];
    out[i * 3 + 1] = kHex[mac[i] & 0x0f];
    if (i < 5) out[i * 3 + 2] = ':';
  }
  return {out.data(), out.size()};
}

}  // namespace

std::string_view to_string(FrameAction action) noexcept {
  switch (action) {
    case FrameAction::kForward:
      return "forward";
    case FrameAction::kFlood:
      return "flood";
    case FrameAction::kDrop:
      return "drop";
  }
  return "unknown";
}

namespace detail {
void write_frame_decision(const Logger& logger, const FrameDecision& d) noexcept {
  std::array<char, 17> src{};
  std::array<char, 17> dst{};
  std::array<char, 7> ethertype{'0', 'x'};
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    ethertype[static_cast<std::size_t>(2 + i)] = kHex[(d.ethertype >> (12 - 4 * i)) & 0x0f];
  }
  logger.debug(kFrameDecisionEvent, {{"room", d.room},
                                     {"peer_id", d.peer_id},
                                     {"src", format_mac(d.source, src)},
                                     {"dst", format_mac(d.destination, dst)},
                                     {"ethertype", std::string_view(ethertype.data(), 6)},
                                     {"length", d.length_bytes},
                                     {"action", to_string(d.action)},
                                     {"reason", d.drop_reason},
                                     {"targets", d.targets}});
}
}  // namespace detail

}  // namespace lanparty::obs
