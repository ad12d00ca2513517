// SPDX-License-Identifier: MIT
// libFuzzer target for check_frame and parse_ethernet. Input: one control byte, then one
// Ethernet frame. Control bit 0: sender is the gateway; bits 1-2: room MTU (576, 1380, 1500,
// 65535); bit 3: the sender's MAC is the frame's own source (reaches the rules after
// spoofed_source). Aborts (LANPARTY_CHECK) when an invariant of section 5 breaks.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "lanparty/base/check.hpp"
#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/frame_filter.hpp"

namespace lp = lanparty::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr std::array<std::size_t, 4> kMtus = {576, 1380, 1500, 65535};
  const std::uint8_t control = data[0];
  const auto role = (control & 1) != 0 ? lp::SenderRole::kGateway : lp::SenderRole::kClient;
  const std::size_t mtu = kMtus[(control >> 1) & 3];
  const std::span<const std::uint8_t> frame(data + 1, size - 1);
  lp::MacAddress sender{{0x02, 0x5a, 0x11, 0x22, 0x33, 0x44}};
  if ((control & 8) != 0 && frame.size() >= 12)
    sender = lp::MacAddress::from_bytes(frame.subspan<6, 6>());

  const auto eth = lp::parse_ethernet(frame);
  const auto result = lp::check_frame(frame, mtu, role, sender);
  const auto again = lp::check_frame(frame, mtu, role, sender);

  LANPARTY_CHECK(result.has_value() == again.has_value());
  if (!eth) {
    // Rule 1 comes first: whatever parse_ethernet rejects, check_frame rejects the same way.
    LANPARTY_CHECK(!result && result.error() == eth.error());
    return 0;
  }
  if (result) {
    LANPARTY_CHECK(result->header_size == eth->header_size);
    LANPARTY_CHECK(result->payload.data() + result->payload.size() == frame.data() + frame.size());
    LANPARTY_CHECK(frame.size() - result->header_size <= mtu);
    LANPARTY_CHECK(role == lp::SenderRole::kGateway || result->source == sender);
    LANPARTY_CHECK(eth->outer_ethertype != lp::kEtherTypeSlowProtocols &&
                   eth->ethertype != lp::kEtherTypeSlowProtocols);
  } else {
    LANPARTY_CHECK(again.error() == result.error());
    if (role == lp::SenderRole::kGateway) {
      LANPARTY_CHECK(result.error() == lp::DropReason::kJumbo ||
                     result.error() == lp::DropReason::kSwitchControl);
    }
  }
  return 0;
}
