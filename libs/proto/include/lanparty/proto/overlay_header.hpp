// SPDX-License-Identifier: MIT
// The 4-byte overlay header that starts every QUIC DATAGRAM payload (PROTOCOL.md section 3),
// and the two receive-side checks: the relay's (from a peer) and a peer's (from the relay).
//
// Byte layout, every field big-endian:
//
//   offset  size  field
//   0       1     version: kOverlayVersion (1)
//   1       1     kind: 1 ethernet frame, 2 probe, 3 probe reply (DatagramKind)
//   2       2     peer id: peer -> relay, the sender's own id from `welcome`;
//                 relay -> peer, the id of the peer the frame came from (0 for a probe reply)
//   4       ..    body: one Ethernet frame (kind 1) or opaque probe bytes (kinds 2, 3)
//
// Flow: a peer sends kinds 1 and 2; the relay forwards kind 1 to other peers with the
// original sender's id and answers kind 2 to the sender alone as kind 3 with id 0.
//
// Version rule: any wire-incompatible change to this header or to the meaning of a kind
// bumps kOverlayVersion (and `protocol` in hello/welcome); receivers drop other versions
// (bad_version) rather than guess. New kinds need no bump only if old receivers may drop
// them (bad_kind) without harm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tl/expected.hpp>

#include "lanparty/proto/drop_reason.hpp"

namespace lanparty::proto {

inline constexpr std::uint8_t kOverlayVersion = 1;
inline constexpr std::size_t kOverlayHeaderSize = 4;

enum class DatagramKind : std::uint8_t {
  kEthernet = 1,    // body: one Ethernet frame without preamble or FCS
  kProbe = 2,       // peer -> relay; body: anything, echoed back
  kProbeReply = 3,  // relay -> peer only; body: the probe's body, peer id 0
};

// The header as read off the wire. After a successful parse_from_*, `version` is
// kOverlayVersion and `kind` holds a DatagramKind value allowed in that direction.
struct OverlayHeader {
  std::uint8_t version;
  std::uint8_t kind;
  std::uint16_t peer_id;
};

// A parsed datagram. `body` aliases the caller's buffer: valid only as long as it is.
struct OverlayView {
  OverlayHeader header;
  std::span<const std::uint8_t> body;

  [[nodiscard]] constexpr DatagramKind kind() const noexcept {
    return static_cast<DatagramKind>(header.kind);
  }
};

// Writes version 1, `kind` and `peer_id` into the first four bytes of a datagram; the caller
// writes the body after them.
void encode_overlay_header(std::span<std::uint8_t, kOverlayHeaderSize> out, DatagramKind kind,
                           std::uint16_t peer_id) noexcept;

// The relay's check of a datagram from an admitted peer whose id is `sender_peer_id`, in
// PROTOCOL.md order: fewer than 4 bytes kBadHeader, version not 1 kBadVersion, kind not 1 or
// 2 kBadKind, peer id not `sender_peer_id` kBadPeerId. Admission (not_admitted) is the
// caller's state, not checked here.
[[nodiscard]] tl::expected<OverlayView, DropReason> parse_from_peer(
    std::span<const std::uint8_t> datagram, std::uint16_t sender_peer_id) noexcept;

// A client's or gateway's check of a datagram from the relay: fewer than 4 bytes kBadHeader,
// version not 1 kBadVersion, kind not 1 or 3 kBadKind. The peer id is the relay's claim
// about the origin and is not checked.
[[nodiscard]] tl::expected<OverlayView, DropReason> parse_from_relay(
    std::span<const std::uint8_t> datagram) noexcept;

// True when the kind byte (offset 1) is 2: PROTOCOL.md counts such a datagram as a probe in
// `stats` even when a later check drops it, so the relay asks before parsing.
[[nodiscard]] constexpr bool has_probe_kind(std::span<const std::uint8_t> datagram) noexcept {
  return datagram.size() >= 2 && datagram[1] == static_cast<std::uint8_t>(DatagramKind::kProbe);
}

}  // namespace lanparty::proto
