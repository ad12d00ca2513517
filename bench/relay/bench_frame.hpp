// SPDX-License-Identifier: MIT
// The load generator's test frames: a kind-1 datagram carrying an Ethernet frame whose
// payload names its flow, sequence number and send time (generator's steady clock).
#pragma once

// Datagram layout (all fields big-endian):
//
//   offset  size  field
//   0       4     overlay header: version 1, kind 1, sender's peer id (PROTOCOL.md section 3)
//   4       6     Ethernet destination MAC
//   10      6     Ethernet source MAC (the sender's hello MAC, or the relay drops it as spoofed)
//   16      2     EtherType 0x88b5 (IEEE 802 local experimental: no relay rule inspects it)
//   18      4     magic "LPRB"
//   22      4     flow index
//   26      8     sequence number within the flow, from 0
//   34      8     send time, nanoseconds of std::chrono::steady_clock
//   42      ..    zero padding up to the frame size
//
// Sender and receivers live in one process, so the send time needs no clock sync.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::bench {

inline constexpr std::uint16_t kBenchEtherType = 0x88b5;
inline constexpr std::uint32_t kBenchMagic = 0x4c505242;  // "LPRB"
// Offsets inside the Ethernet frame (the datagram body).
inline constexpr std::size_t kMagicOffset = proto::kEthernetHeaderSize;
inline constexpr std::size_t kFlowOffset = kMagicOffset + 4;
inline constexpr std::size_t kSeqOffset = kFlowOffset + 4;
inline constexpr std::size_t kTimeOffset = kSeqOffset + 8;
// The smallest frame that carries a stamp.
inline constexpr std::size_t kMinBenchFrameBytes = kTimeOffset + 8;
static_assert(kMinBenchFrameBytes == 38);  // 42 bytes of datagram, as laid out above

struct BenchStamp {
  std::uint32_t flow = 0;
  std::uint64_t seq = 0;
  std::uint64_t send_ns = 0;
};

namespace detail {
constexpr void store_be64(std::span<std::uint8_t> b, std::size_t at, std::uint64_t v) noexcept {
  proto::store_be32(b, at, static_cast<std::uint32_t>(v >> 32));
  proto::store_be32(b, at + 4, static_cast<std::uint32_t>(v));
}
[[nodiscard]] constexpr std::uint64_t load_be64(std::span<const std::uint8_t> b,
                                                std::size_t at) noexcept {
  return (std::uint64_t{proto::load_be32(b, at)} << 32) | proto::load_be32(b, at + 4);
}
}  // namespace detail

// Fills a whole datagram (overlay header + frame of datagram.size() - 4 bytes, at least
// kMinBenchFrameBytes) for one flow, with sequence number and time 0. Returns false, writing
// nothing, if the datagram is too short.
[[nodiscard]] inline bool build_bench_datagram(std::span<std::uint8_t> datagram,
                                               std::uint16_t sender_peer_id,
                                               const proto::MacAddress& destination,
                                               const proto::MacAddress& source,
                                               std::uint32_t flow) noexcept {
  if (datagram.size() < proto::kOverlayHeaderSize + kMinBenchFrameBytes) return false;
  for (auto& b : datagram) b = 0;
  proto::encode_overlay_header(datagram.first<proto::kOverlayHeaderSize>(),
                               proto::DatagramKind::kEthernet, sender_peer_id);
  const auto frame = datagram.subspan(proto::kOverlayHeaderSize);
  for (std::size_t i = 0; i < proto::MacAddress::kSize; ++i) {
    frame[i] = destination.bytes()[i];
    frame[proto::MacAddress::kSize + i] = source.bytes()[i];
  }
  proto::store_be16(frame, 12, kBenchEtherType);
  proto::store_be32(frame, kMagicOffset, kBenchMagic);
  proto::store_be32(frame, kFlowOffset, flow);
  return true;
}

// Writes the sequence number and send time into a datagram built by build_bench_datagram.
inline void stamp_bench_datagram(std::span<std::uint8_t> datagram, std::uint64_t seq,
                                 std::uint64_t send_ns) noexcept {
  const auto frame = datagram.subspan(proto::kOverlayHeaderSize);
  detail::store_be64(frame, kSeqOffset, seq);
  detail::store_be64(frame, kTimeOffset, send_ns);
}

// Reads the stamp of a received Ethernet frame (the body of a datagram from the relay);
// nullopt for a frame that is not one of ours (too short, other EtherType, wrong magic).
[[nodiscard]] inline std::optional<BenchStamp> read_bench_stamp(
    std::span<const std::uint8_t> frame) noexcept {
  if (frame.size() < kMinBenchFrameBytes) return std::nullopt;
  if (proto::load_be16(frame, 12) != kBenchEtherType) return std::nullopt;
  if (proto::load_be32(frame, kMagicOffset) != kBenchMagic) return std::nullopt;
  return BenchStamp{.flow = proto::load_be32(frame, kFlowOffset),
                    .seq = detail::load_be64(frame, kSeqOffset),
                    .send_ns = detail::load_be64(frame, kTimeOffset)};
}

}  // namespace lanparty::bench
