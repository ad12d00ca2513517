// SPDX-License-Identifier: MIT
// Generic receive offload in user space: consecutive in-order TCP segments of one flow, as they
// arrive from the room, become one super-frame that the local kernel takes in one write (a TAP
// or a packet socket with a virtio_net_hdr) and segments again only if it has to. The same
// rules as the kernel's own GRO: what is merged could be cut back into the very same segments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/offload.hpp"

namespace lanparty::proto {

// What the Coalescer did; the apps log these.
struct CoalesceCounters {
  std::uint64_t frames = 0;        // frames offered
  std::uint64_t passed = 0;        // frames written as they were (nothing to merge them with)
  std::uint64_t super_frames = 0;  // super-frames written (each from 2 or more segments)
  std::uint64_t merged = 0;        // segments that went into them
  std::uint64_t bad_checksum = 0;  // TCP segments (or IPv4 headers) with a wrong checksum:
                                   // never merged, passed on for the kernel to drop and count
};

// Merges TCP segments (IPv4 without fragmentation or IPv6 without extension headers, at most
// one 802.1Q tag) when each continues the one before: same Ethernet header, addresses, ports,
// TOS/traffic class and flow label, TTL/hop limit, DF, IPv4 options, TCP options, ack number,
// window and flags (PSH allowed on the last), the next sequence number and IPv4 ID, and a
// payload no larger than the first one's. No SYN, FIN, RST, URG or CWR, no empty payload and
// no wrong checksum is ever merged. A super-frame ends at 64 KiB of IP packet, after a shorter
// segment or one with PSH, and at flush().
//
// The caller offers frames in arrival order and calls flush() at the end of each receive batch,
// so a frame never waits for a later one. Output goes to emit(std::span<const std::uint8_t>
// frame, const OffloadInfo& info), in order:
// - a frame that cannot be merged goes out at once as it is (after whatever was pending), with
//   an empty OffloadInfo;
// - a single pending segment goes out as it arrived (Ethernet padding cut), empty OffloadInfo;
// - a super-frame goes out with info = {needs_checksum, checksum_start at the TCP header,
//   checksum_offset 16, gso_type kTcpV4/kTcpV6, gso_size = the first segment's payload,
//   header_size through the TCP header}, its IPv4 total length, ID and header checksum (or IPv6
//   payload length) those of the whole, its checksum field holding the folded pseudo-header
//   sum over the whole TCP length: the CHECKSUM_PARTIAL form a virtio_net_hdr asks the kernel
//   to finish, exactly what the sending kernel's own TSO would have handed over.
// Spans given to emit are valid only during the call. One buffer of kMaxSuperFrameBytes is
// allocated at construction; nothing is allocated per frame.
class Coalescer {
 public:
  static constexpr std::size_t kMaxIpPacketBytes = 65535;
  static constexpr std::size_t kMaxSuperFrameBytes =
      kMaxIpPacketBytes + kEthernetHeaderSize + kVlanTagSize;

  Coalescer();

  template <class Emit>
  void add(std::span<const std::uint8_t> frame, Emit&& emit);
  template <class Emit>
  void flush(Emit&& emit);

  [[nodiscard]] bool pending() const noexcept { return segments_ > 0; }
  // Whether a span emit() got is in the Coalescer's own buffer (a super-frame or a lone
  // segment it held) rather than the frame add() was given.
  [[nodiscard]] bool holds(std::span<const std::uint8_t> frame) const noexcept {
    return frame.data() == buffer_.data();
  }
  [[nodiscard]] const CoalesceCounters& counters() const noexcept { return counters_; }

 private:
  // Where a coalescable segment's headers are, from inspect().
  struct Segment {
    std::size_t l3 = 0;       // IP header offset
    std::size_t l4 = 0;       // TCP header offset
    std::size_t payload = 0;  // TCP payload offset
    std::size_t end = 0;      // end of the IP packet (Ethernet padding excluded)
    bool ipv4 = false;
  };
  enum class Fit : std::uint8_t { kPassThrough, kAppend, kStartNew };

  // Whether `frame` is a TCP segment that may be merged at all (fills `seg`), and with what.
  [[nodiscard]] Fit classify(std::span<const std::uint8_t> frame, Segment& seg) noexcept;
  [[nodiscard]] bool continues(std::span<const std::uint8_t> frame,
                               const Segment& seg) const noexcept;
  void start(std::span<const std::uint8_t> frame, const Segment& seg) noexcept;
  void append(std::span<const std::uint8_t> frame, const Segment& seg) noexcept;
  // Writes the super-frame's headers; returns the frame and its offload description.
  [[nodiscard]] std::span<const std::uint8_t> finish(OffloadInfo& info) noexcept;

  std::vector<std::uint8_t> buffer_;  // the pending super-frame, kMaxSuperFrameBytes
  std::size_t size_ = 0;              // bytes of buffer_ in use
  std::size_t segments_ = 0;          // segments in it; 0 = nothing pending
  Segment head_;                      // the first segment's layout (= the super-frame's)
  std::size_t gso_size_ = 0;          // the first segment's payload
  std::uint32_t next_seq_ = 0;
  std::uint16_t next_id_ = 0;  // IPv4 ID the next segment must carry
  bool closed_ = false;        // a shorter segment or PSH arrived: nothing more may join
  CoalesceCounters counters_;
};

template <class Emit>
void Coalescer::add(std::span<const std::uint8_t> frame, Emit&& emit) {
  ++counters_.frames;
  Segment seg;
  switch (classify(frame, seg)) {
    case Fit::kAppend:
      append(frame, seg);
      break;
    case Fit::kStartNew:
      flush(emit);
      start(frame, seg);
      break;
    case Fit::kPassThrough:
      flush(emit);
      ++counters_.passed;
      emit(frame, OffloadInfo{});
      return;
  }
  // Nothing can follow a closing segment: hand it over now rather than at the batch's end.
  if (closed_) flush(emit);
}

template <class Emit>
void Coalescer::flush(Emit&& emit) {
  if (segments_ == 0) return;
  OffloadInfo info;
  const auto out = finish(info);
  segments_ = 0;
  emit(out, static_cast<const OffloadInfo&>(info));
}

}  // namespace lanparty::proto
