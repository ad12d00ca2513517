// SPDX-License-Identifier: MIT
// RapidCheck properties for the overlay header: encode -> parse round-trips in each direction,
// and the parsers stay inside the span and are deterministic. Apart so overlay_header_test.cpp
// builds without RapidCheck.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::proto {
namespace {

RC_GTEST_PROP(OverlayHeader, EncodeThenParseFromPeerRoundTrips,
              (std::uint16_t peer_id, bool probe, std::vector<std::uint8_t> body)) {
  const auto kind = probe ? DatagramKind::kProbe : DatagramKind::kEthernet;
  std::vector<std::uint8_t> datagram(kOverlayHeaderSize + body.size());
  encode_overlay_header(std::span<std::uint8_t, kOverlayHeaderSize>(datagram.data(), 4), kind,
                        peer_id);
  std::copy(body.begin(), body.end(), datagram.begin() + kOverlayHeaderSize);

  const auto view = parse_from_peer(datagram, peer_id);
  RC_ASSERT(view.has_value());
  RC_ASSERT(view->kind() == kind);
  RC_ASSERT(view->header.peer_id == peer_id);
  RC_ASSERT(std::equal(view->body.begin(), view->body.end(), body.begin(), body.end()));
}

RC_GTEST_PROP(OverlayHeader, EncodeThenParseFromRelayRoundTrips,
              (std::uint16_t peer_id, bool reply)) {
  const auto kind = reply ? DatagramKind::kProbeReply : DatagramKind::kEthernet;
  std::array<std::uint8_t, kOverlayHeaderSize> datagram{};
  encode_overlay_header(datagram, kind, peer_id);
  const auto view = parse_from_relay(datagram);
  RC_ASSERT(view.has_value());
  RC_ASSERT(view->kind() == kind);
  RC_ASSERT(view->header.peer_id == peer_id);
}

// Copies into an exact-size heap block so ASan flags any read past the end.
RC_GTEST_PROP(OverlayHeader, ParsersStayInsideTheSpanAndAreDeterministic,
              (std::vector<std::uint8_t> input, std::uint16_t sender)) {
  auto exact = std::make_unique<std::uint8_t[]>(input.size());
  std::copy(input.begin(), input.end(), exact.get());
  const std::span<const std::uint8_t> datagram(exact.get(), input.size());

  const auto first = parse_from_peer(datagram, sender);
  const auto second = parse_from_peer(datagram, sender);
  RC_ASSERT(first.has_value() == second.has_value());
  if (first) {
    RC_ASSERT(first->body.data() == datagram.data() + kOverlayHeaderSize);
    RC_ASSERT(first->body.size() == datagram.size() - kOverlayHeaderSize);
    RC_ASSERT(first->header.peer_id == sender);
  } else {
    RC_ASSERT(first.error() == second.error());
  }
  const auto relay = parse_from_relay(datagram);
  if (relay) RC_ASSERT(relay->body.size() + kOverlayHeaderSize == datagram.size());
}

}  // namespace
}  // namespace lanparty::proto
