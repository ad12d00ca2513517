// SPDX-License-Identifier: MIT
// libFuzzer target for the overlay header checks: the input is one datagram as a peer or the
// relay would receive it. Aborts (LANPARTY_CHECK) when an invariant of section 3 breaks.
#include <cstddef>
#include <cstdint>
#include <span>

#include "lanparty/base/check.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lp = lanparty::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> datagram(data, size);
  // Use the datagram's own peer id as the sender's, so seeds reach acceptance; then a
  // different id, which must fail with bad_peer_id unless an earlier check already failed.
  const std::uint16_t claimed = size >= 4 ? lp::load_be16(datagram, 2) : 0;
  const auto own = lp::parse_from_peer(datagram, claimed);
  const auto other = lp::parse_from_peer(datagram, static_cast<std::uint16_t>(claimed + 1));
  const auto relay = lp::parse_from_relay(datagram);

  LANPARTY_CHECK(own || own.error() != lp::DropReason::kBadPeerId);
  LANPARTY_CHECK(!other);
  if (own) {
    LANPARTY_CHECK(other.error() == lp::DropReason::kBadPeerId);
    LANPARTY_CHECK(own->body.data() == data + lp::kOverlayHeaderSize);
    LANPARTY_CHECK(own->body.size() == size - lp::kOverlayHeaderSize);
    // Re-encoding what was parsed gives the same four bytes.
    std::uint8_t header[lp::kOverlayHeaderSize];
    lp::encode_overlay_header(header, own->kind(), own->header.peer_id);
    for (std::size_t i = 0; i < lp::kOverlayHeaderSize; ++i) LANPARTY_CHECK(header[i] == data[i]);
  } else {
    LANPARTY_CHECK(other.error() == own.error());
  }
  // Both directions agree on everything but the kind set and the peer id.
  if (own && relay) LANPARTY_CHECK(own->kind() == lp::DatagramKind::kEthernet);
  if (!relay && relay.error() != lp::DropReason::kBadKind) {
    LANPARTY_CHECK(!own && own.error() == relay.error());
  }
  return 0;
}
