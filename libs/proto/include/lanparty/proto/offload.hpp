// SPDX-License-Identifier: MIT
// Frames that a local kernel hands over unfinished: an L4 checksum still to be filled in
// (CHECKSUM_PARTIAL) or a TCP/UDP super-frame still to be cut into segments (GSO). A real NIC
// would finish them; a frame that leaves through the tunnel never reaches one, so the gateway
// and the Linux client finish them here before the frame goes to the relay.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "lanparty/proto/ethernet.hpp"

namespace lanparty::proto {

enum class GsoType : std::uint8_t {
  kNone,
  kTcpV4,  // TCP over IPv4 (TSO4)
  kTcpV6,  // TCP over IPv6 (TSO6)
  kUdpL4,  // UDP segmentation offload (UDP_SEGMENT), IPv4 or IPv6
};

// The kernel's description of one frame (Linux: struct virtio_net_hdr from PACKET_VNET_HDR or
// IFF_VNET_HDR; the per-OS code converts it). Offsets count from the frame's first byte.
struct OffloadInfo {
  bool needs_checksum = false;        // the L4 checksum field holds only the pseudo-header sum
  std::uint16_t checksum_start = 0;   // where the L4 header starts
  std::uint16_t checksum_offset = 0;  // from checksum_start to the 16-bit checksum field
  GsoType gso_type = GsoType::kNone;
  std::uint16_t gso_size = 0;  // L4 payload bytes per segment (the sender's MSS for TCP)
  // Bytes from the frame's start through the L4 header (virtio hdr_len); set by the
  // Coalescer on what it builds, 0 = not known (the Segmenter finds it itself).
  std::uint16_t header_size = 0;
};

enum class OffloadError : std::uint8_t {
  kBadChecksumOffsets,  // checksum_start/offset point outside the frame
  kBadHeaders,          // the Ethernet/IP/L4 headers of a super-frame do not hold together
  kSegmentTooLarge,     // a UDP segment (whose size is the sender's) exceeds the allowed frame
};
[[nodiscard]] std::string_view to_string(OffloadError error) noexcept;

// RFC 1071 one's-complement sum of `bytes` as big-endian 16-bit words (an odd last byte is
// padded with zero) added to `sum`. Not folded: chain calls over even-sized pieces, fold once.
[[nodiscard]] std::uint64_t checksum_add(std::span<const std::uint8_t> bytes,
                                         std::uint64_t sum = 0) noexcept;
// Folds a checksum_add() result to 16 bits (not complemented).
[[nodiscard]] std::uint16_t checksum_fold(std::uint64_t sum) noexcept;

// Sum (checksum_add style, not folded) of the TCP/UDP pseudo-header (RFC 9293 section 3.1,
// RFC 8200 section 8.1) for `l4_length` bytes of protocol `proto`; `l3` starts at the IPv4
// header (at least 20 bytes) or the IPv6 header (at least 40).
[[nodiscard]] std::uint64_t pseudo_header_sum(std::span<const std::uint8_t> l3, bool ipv4,
                                              std::uint8_t proto, std::size_t l4_length) noexcept;

// Fills in the L4 checksum of a CHECKSUM_PARTIAL frame: the field at start + offset already
// holds the pseudo-header sum, as the kernel leaves it for the NIC, so the result is the
// complement of the sum over [start, end of frame). A result of 0 is written as 0xffff, as
// the kernel does, so UDP never reads "no checksum" where the sender computed one.
[[nodiscard]] tl::expected<void, OffloadError> complete_checksum(
    std::span<std::uint8_t> frame, std::uint16_t checksum_start,
    std::uint16_t checksum_offset) noexcept;

// Cuts a GSO super-frame into ordinary frames, each with its own IPv4 total length, ID and
// header checksum (or IPv6 payload length), TCP sequence number and flags (FIN and PSH only
// on the last segment, CWR only on the first) or UDP length, and a complete L4 checksum.
// One 802.1Q tag is carried into every segment. IPv6 extension headers between the IPv6
// header and checksum_start are copied as they are.
//
// No allocation: create() checks the headers once; write(i) builds segment i into the
// caller's buffer (one copy of the payload). The Segmenter aliases `frame`.
class Segmenter {
 public:
  // `max_frame_bytes` is the largest frame the caller can send (room MTU + Ethernet header,
  // + 4 when tagged). TCP segments are made smaller than gso_size when needed (TCP does not
  // mind); a UDP datagram's size is the sender's, so a larger one is kSegmentTooLarge.
  [[nodiscard]] static tl::expected<Segmenter, OffloadError> create(
      std::span<const std::uint8_t> frame, const OffloadInfo& info,
      std::size_t max_frame_bytes) noexcept;

  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  // Size of segment i's frame; i < count().
  [[nodiscard]] std::size_t frame_size(std::size_t i) const noexcept;
  // Largest frame_size() of any segment: size the output buffer with it.
  [[nodiscard]] std::size_t max_frame_size() const noexcept { return header_size_ + step_; }
  // Writes segment i into out (at least frame_size(i) bytes); returns frame_size(i).
  std::size_t write(std::size_t i, std::span<std::uint8_t> out) const noexcept;

 private:
  Segmenter() = default;

  std::span<const std::uint8_t> frame_;
  std::size_t l3_offset_ = 0;     // after the Ethernet header and any tag
  std::size_t l4_offset_ = 0;     // checksum_start
  std::size_t header_size_ = 0;   // through the end of the TCP/UDP header
  std::size_t payload_size_ = 0;  // L4 payload of the whole super-frame
  std::size_t step_ = 0;          // L4 payload bytes per segment
  std::size_t count_ = 0;
  std::size_t checksum_field_ = 0;  // offset of the L4 checksum within the L4 header
  bool ipv4_ = false;
  bool tcp_ = false;
};

// What LocalFrameFinisher did to the frames that went through it; the apps log these.
struct OffloadCounters {
  std::uint64_t checksum_completed = 0;  // CHECKSUM_PARTIAL frames finished here
  std::uint64_t super_frames = 0;        // GSO super-frames cut into segments
  std::uint64_t segments = 0;            // frames made from them
  std::uint64_t too_large = 0;           // above the room MTU (or a UDP segment that is)
  std::uint64_t bad_offload = 0;         // offload metadata that does not fit the frame
};

enum class FinishVerdict : std::uint8_t {
  kSent,        // sent as it was, or finished and sent (a super-frame as its segments)
  kRunt,        // shorter than an Ethernet header
  kTooLarge,    // above the room MTU, or a UDP super-frame whose datagrams are
  kBadOffload,  // the kernel's checksum/GSO metadata does not fit the frame
};
// "sent", "runt", "too_large", "bad_offload": the reason names the apps log.
[[nodiscard]] std::string_view to_string(FinishVerdict verdict) noexcept;

// The largest frame finish() ever builds in its scratch buffer: a segment of a room whose MTU
// is the most an IPv4/IPv6 length field can say, behind an Ethernet header and one tag.
inline constexpr std::size_t kMaxFinishedFrameBytes = 65535 + kEthernetHeaderSize + kVlanTagSize;

// Finishes the frames a local kernel hands over unfinished (the Linux client's TAP, the
// gateway's packet socket) before they go to the room: a partial checksum is completed in
// place, a GSO super-frame is cut to the room MTU (Segmenter) into a scratch buffer made once
// at construction, a finished frame goes as it is. Nothing is allocated per frame.
class LocalFrameFinisher {
 public:
  // `headroom`: bytes the caller keeps in front of each frame (the overlay header).
  explicit LocalFrameFinisher(std::size_t headroom);

  // `datagram` holds the frame from byte headroom on; each resulting frame goes to
  // send(std::span<std::uint8_t>) with the same headroom in front (the caller's own buffer
  // when finished in place, else the scratch buffer, valid only during the call). Frames
  // above room_mtu + their Ethernet header are refused (kTooLarge), except TCP super-frames,
  // which are cut smaller instead. Returns the verdict for the frame as received.
  template <class Send>
  FinishVerdict finish(std::span<std::uint8_t> datagram, const OffloadInfo& offload,
                       std::size_t room_mtu, Send&& send);

  [[nodiscard]] const OffloadCounters& counters() const noexcept { return counters_; }

 private:
  std::size_t headroom_;
  std::vector<std::uint8_t> scratch_;  // headroom_ + kMaxFinishedFrameBytes
  OffloadCounters counters_;
};

template <class Send>
FinishVerdict LocalFrameFinisher::finish(std::span<std::uint8_t> datagram,
                                         const OffloadInfo& offload, std::size_t room_mtu,
                                         Send&& send) {
  auto frame = datagram.subspan(headroom_);
  auto header = parse_ethernet(frame);
  if (!header) return FinishVerdict::kRunt;
  const std::size_t limit = room_mtu + header->header_size;
  if (offload.gso_type != GsoType::kNone) {
    auto segmenter = Segmenter::create(frame, offload, std::min(limit, kMaxFinishedFrameBytes));
    if (!segmenter) {
      if (segmenter.error() == OffloadError::kSegmentTooLarge) {
        ++counters_.too_large;
        return FinishVerdict::kTooLarge;
      }
      ++counters_.bad_offload;
      return FinishVerdict::kBadOffload;
    }
    ++counters_.super_frames;
    auto out = std::span(scratch_);
    for (std::size_t i = 0; i < segmenter->count(); ++i) {
      const std::size_t n = segmenter->write(i, out.subspan(headroom_));
      ++counters_.segments;
      send(out.first(headroom_ + n));
    }
    return FinishVerdict::kSent;
  }
  if (frame.size() > limit) {
    ++counters_.too_large;
    return FinishVerdict::kTooLarge;
  }
  if (offload.needs_checksum) {
    if (!complete_checksum(frame, offload.checksum_start, offload.checksum_offset)) {
      ++counters_.bad_offload;
      return FinishVerdict::kBadOffload;
    }
    ++counters_.checksum_completed;
  }
  send(datagram);
  return FinishVerdict::kSent;
}

}  // namespace lanparty::proto
