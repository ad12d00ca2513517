// SPDX-License-Identifier: MIT
// Overlay header encode and the two direction-specific receive checks.
#include "lanparty/proto/overlay_header.hpp"

#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::proto {
namespace {

// The checks both directions share, in PROTOCOL.md order; kind is checked by the caller
// because the allowed set depends on the direction.
[[nodiscard]] tl::expected<OverlayView, DropReason> parse_common(
    std::span<const std::uint8_t> datagram) noexcept {
  if (datagram.size() < kOverlayHeaderSize) return tl::unexpected(DropReason::kBadHeader);
  const OverlayHeader header{
      .version = datagram[0], .kind = datagram[1], .peer_id = load_be16(datagram, 2)};
  if (header.version != kOverlayVersion) return tl::unexpected(DropReason::kBadVersion);
  return OverlayView{.header = header, .body = datagram.subspan(kOverlayHeaderSize)};
}

}  // namespace

void encode_overlay_header(std::span<std::uint8_t, kOverlayHeaderSize> out, DatagramKind kind,
                           std::uint16_t peer_id) noexcept {
  out[0] = kOverlayVersion;
  out[1] = static_cast<std::uint8_t>(kind);
  store_be16(out, 2, peer_id);
}

tl::expected<OverlayView, DropReason> parse_from_peer(std::span<const std::uint8_t> datagram,
                                                      std::uint16_t sender_peer_id) noexcept {
  auto view = parse_common(datagram);
  if (!view) return view;
  const auto kind = view->kind();
  // Kind 3 flows only from the relay: a peer sending it is confused or spoofing a reply.
  if (kind != DatagramKind::kEthernet && kind != DatagramKind::kProbe) {
    return tl::unexpected(DropReason::kBadKind);
  }
  if (view->header.peer_id != sender_peer_id) return tl::unexpected(DropReason::kBadPeerId);
  return view;
}

tl::expected<OverlayView, DropReason> parse_from_relay(
    std::span<const std::uint8_t> datagram) noexcept {
  auto view = parse_common(datagram);
  if (!view) return view;
  const auto kind = view->kind();
  if (kind != DatagramKind::kEthernet && kind != DatagramKind::kProbeReply) {
    return tl::unexpected(DropReason::kBadKind);
  }
  return view;
}

}  // namespace lanparty::proto
