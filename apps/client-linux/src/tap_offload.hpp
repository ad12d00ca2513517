// SPDX-License-Identifier: MIT
// Frames the player's own kernel hands to the TAP unfinished (IFF_VNET_HDR with TSO and
// checksum offload on): the TCP/UDP super-frames are cut to the room MTU and the partial
// checksums completed here, with libs/proto's Segmenter as the gateway does, before each
// frame goes to the relay. Pure: the port feeds it what the TAP read.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/offload.hpp"
#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::client_linux {

// What the client did to TAP frames on their way to the room; logged with each relay stats
// message (client.tap_stats).
struct TapOffloadCounters {
  std::uint64_t checksum_completed = 0;  // CHECKSUM_PARTIAL frames finished here
  std::uint64_t super_frames = 0;        // GSO super-frames cut into segments
  std::uint64_t segments = 0;            // frames made from them
  std::uint64_t too_large = 0;           // a UDP segment above the room MTU
  std::uint64_t bad_offload = 0;         // offload metadata that does not fit the frame
};

enum class TapVerdict : std::uint8_t {
  kSend,        // sent as it was, or finished and sent
  kRunt,        // shorter than an Ethernet header
  kTooLarge,    // a UDP super-frame whose datagrams exceed the room MTU
  kBadOffload,  // the kernel's checksum/GSO metadata does not fit the frame
};

// One TAP frame on its way to the room: `datagram` holds it from byte 4 on (headroom for the
// overlay header). A super-frame is cut into `scratch` (grown once to the largest segment)
// and each segment goes to send(span with the same 4 bytes of headroom); a partial checksum
// is completed in place; any other frame goes as it is (the runner drops one above the
// budget and counts it).
template <class Send>
TapVerdict finish_tap_frame(std::span<std::uint8_t> datagram, const proto::OffloadInfo& offload,
                            std::size_t room_mtu, std::vector<std::uint8_t>& scratch,
                            TapOffloadCounters& counters, Send&& send) {
  constexpr std::size_t kHeadroom = proto::kOverlayHeaderSize;
  auto frame = datagram.subspan(kHeadroom);
  if (offload.gso_type == proto::GsoType::kNone && !offload.needs_checksum) {
    send(datagram);
    return TapVerdict::kSend;
  }
  auto header = proto::parse_ethernet(frame);
  if (!header) return TapVerdict::kRunt;
  if (offload.gso_type != proto::GsoType::kNone) {
    auto segmenter = proto::Segmenter::create(frame, offload, room_mtu + header->header_size);
    if (!segmenter) {
      if (segmenter.error() == proto::OffloadError::kSegmentTooLarge) {
        ++counters.too_large;
        return TapVerdict::kTooLarge;
      }
      ++counters.bad_offload;
      return TapVerdict::kBadOffload;
    }
    if (scratch.size() < kHeadroom + segmenter->max_frame_size()) {
      scratch.resize(kHeadroom + segmenter->max_frame_size());
    }
    ++counters.super_frames;
    for (std::size_t i = 0; i < segmenter->count(); ++i) {
      const std::size_t n = segmenter->write(i, std::span(scratch).subspan(kHeadroom));
      ++counters.segments;
      send(std::span(scratch).first(kHeadroom + n));
    }
    return TapVerdict::kSend;
  }
  if (!proto::complete_checksum(frame, offload.checksum_start, offload.checksum_offset)) {
    ++counters.bad_offload;
    return TapVerdict::kBadOffload;
  }
  ++counters.checksum_completed;
  send(datagram);
  return TapVerdict::kSend;
}

}  // namespace lanparty::client_linux
