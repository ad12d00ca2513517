// SPDX-License-Identifier: MIT
// User-space GRO for TCP: the merge rules of coalesce.hpp, written so that what is merged can
// be cut back (by the kernel, or Segmenter) into the same segments, byte for byte.
#include "lanparty/proto/coalesce.hpp"

#include <cstring>

#include "lanparty/proto/ip.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::proto {
namespace {

// Flags that end or change a connection's state, or mark data apart: never merged (as in the
// kernel's tcp_gro_receive). CWR marks one segment's reaction to congestion; merging it into
// a run would move it.
constexpr std::uint8_t kNeverMerged = kTcpSyn | kTcpFin | kTcpRst | kTcpUrg | kTcpCwr;
constexpr std::uint16_t kIpv4MoreFragments = 0x2000;
constexpr std::uint16_t kIpv4FragmentOffset = 0x1fff;

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b, std::size_t from,
          std::size_t to) noexcept {
  return std::memcmp(a.data() + from, b.data() + from, to - from) == 0;
}

}  // namespace

Coalescer::Coalescer() : buffer_(kMaxSuperFrameBytes) {}

Coalescer::Fit Coalescer::classify(std::span<const std::uint8_t> frame, Segment& seg) noexcept {
  auto eth = parse_ethernet(frame);
  if (!eth) return Fit::kPassThrough;
  seg.l3 = eth->header_size;
  const auto ip = frame.subspan(seg.l3);
  std::size_t l3_length = 0;
  if (eth->ethertype == kEtherTypeIpv4) {
    if (ip.size() < kIpv4MinHeader || (ip[0] >> 4) != 4) return Fit::kPassThrough;
    const std::size_t ihl = std::size_t{ip[0] & 0x0fu} * 4;
    l3_length = load_be16(ip, 2);
    if (ihl < kIpv4MinHeader || ip.size() < ihl || l3_length < ihl || l3_length > ip.size() ||
        ip[9] != kIpProtoTcp ||
        (load_be16(ip, 6) & (kIpv4MoreFragments | kIpv4FragmentOffset)) != 0) {
      return Fit::kPassThrough;
    }
    if (checksum_fold(checksum_add(ip.first(ihl))) != 0xffff) {
      ++counters_.bad_checksum;
      return Fit::kPassThrough;
    }
    seg.ipv4 = true;
    seg.l4 = seg.l3 + ihl;
  } else if (eth->ethertype == kEtherTypeIpv6) {
    if (ip.size() < kIpv6Header || (ip[0] >> 4) != 6 || ip[6] != kIpProtoTcp) {
      return Fit::kPassThrough;
    }
    l3_length = kIpv6Header + load_be16(ip, 4);
    if (l3_length > ip.size()) return Fit::kPassThrough;
    seg.ipv4 = false;
    seg.l4 = seg.l3 + kIpv6Header;
  } else {
    return Fit::kPassThrough;
  }
  seg.end = seg.l3 + l3_length;
  if (seg.end < seg.l4 + kTcpMinHeader) return Fit::kPassThrough;
  const auto tcp = frame.subspan(seg.l4, seg.end - seg.l4);
  const std::size_t thl = std::size_t{tcp[12]} / 16 * 4;
  if (thl < kTcpMinHeader || thl >= tcp.size() || (tcp[13] & kNeverMerged) != 0) {
    return Fit::kPassThrough;  // also: no payload (pure ACKs are never merged)
  }
  seg.payload = seg.l4 + thl;
  // The kernel trusts a super-frame's checksum once we have written it: only segments whose
  // own checksum holds may go in (a wrong one reaches the kernel alone and is dropped there).
  const std::uint64_t pseudo = pseudo_header_sum(ip, seg.ipv4, kIpProtoTcp, tcp.size());
  if (checksum_fold(checksum_add(tcp, pseudo)) != 0xffff) {
    ++counters_.bad_checksum;
    return Fit::kPassThrough;
  }
  const std::size_t payload = seg.end - seg.payload;
  if (segments_ > 0 && !closed_ && payload <= gso_size_ &&
      size_ - head_.l3 + payload <= kMaxIpPacketBytes && continues(frame, seg)) {
    return Fit::kAppend;
  }
  return Fit::kStartNew;
}

bool Coalescer::continues(std::span<const std::uint8_t> frame, const Segment& seg) const noexcept {
  if (seg.l3 != head_.l3 || seg.l4 != head_.l4 || seg.payload != head_.payload ||
      seg.ipv4 != head_.ipv4) {
    return false;
  }
  const auto head = std::span<const std::uint8_t>(buffer_);
  // Ethernet header and tag.
  if (!same(frame, head, 0, seg.l3)) return false;
  const std::size_t l3 = seg.l3;
  if (seg.ipv4) {
    // Version/IHL and TOS; flags (DF); TTL and protocol; addresses and options. The total
    // length, ID and header checksum differ by design.
    if (!same(frame, head, l3, l3 + 2) || !same(frame, head, l3 + 6, l3 + 10) ||
        !same(frame, head, l3 + 12, seg.l4) || load_be16(frame, l3 + 4) != next_id_) {
      return false;
    }
  } else {
    // Version, traffic class, flow label; next header and hop limit; addresses.
    if (!same(frame, head, l3, l3 + 4) || !same(frame, head, l3 + 6, seg.l4)) return false;
  }
  const std::size_t l4 = seg.l4;
  // Ports; the next sequence number; ack number and data offset; flags but PSH; window and
  // urgent pointer; options.
  return same(frame, head, l4, l4 + 4) && load_be32(frame, l4 + 4) == next_seq_ &&
         same(frame, head, l4 + 8, l4 + 13) && (frame[l4 + 13] & ~kTcpPsh) == head[l4 + 13] &&
         same(frame, head, l4 + 14, l4 + 16) && same(frame, head, l4 + 18, seg.payload);
}

void Coalescer::start(std::span<const std::uint8_t> frame, const Segment& seg) noexcept {
  std::memcpy(buffer_.data(), frame.data(), seg.end);
  size_ = seg.end;
  segments_ = 1;
  head_ = seg;
  gso_size_ = seg.end - seg.payload;
  next_seq_ = static_cast<std::uint32_t>(load_be32(frame, seg.l4 + 4) + gso_size_);
  next_id_ = seg.ipv4 ? static_cast<std::uint16_t>(load_be16(frame, seg.l3 + 4) + 1) : 0;
  closed_ = (frame[seg.l4 + 13] & kTcpPsh) != 0;
}

void Coalescer::append(std::span<const std::uint8_t> frame, const Segment& seg) noexcept {
  const std::size_t payload = seg.end - seg.payload;
  std::memcpy(buffer_.data() + size_, frame.data() + seg.payload, payload);
  size_ += payload;
  ++segments_;
  next_seq_ = static_cast<std::uint32_t>(next_seq_ + payload);
  ++next_id_;
  // The merged segment keeps the flags of the first; the last one's PSH goes on the whole.
  const std::uint8_t psh = frame[seg.l4 + 13] & kTcpPsh;
  buffer_[head_.l4 + 13] = static_cast<std::uint8_t>(buffer_[head_.l4 + 13] | psh);
  closed_ = psh != 0 || payload < gso_size_;
}

std::span<const std::uint8_t> Coalescer::finish(OffloadInfo& info) noexcept {
  auto frame = std::span(buffer_).first(size_);
  if (segments_ == 1) {
    ++counters_.passed;
    return frame;
  }
  ++counters_.super_frames;
  counters_.merged += segments_;
  auto ip = frame.subspan(head_.l3);
  if (head_.ipv4) {
    const std::size_t ihl = head_.l4 - head_.l3;
    store_be16(ip, 2, static_cast<std::uint16_t>(ip.size()));
    store_be16(ip, 10, 0);
    store_be16(ip, 10, static_cast<std::uint16_t>(~checksum_fold(checksum_add(ip.first(ihl)))));
  } else {
    store_be16(ip, 4, static_cast<std::uint16_t>(ip.size() - kIpv6Header));
  }
  // CHECKSUM_PARTIAL: the field holds the folded (not complemented) pseudo-header sum over the
  // whole TCP length; whoever segments adjusts it per segment, a local receiver trusts it.
  const std::size_t tcp_length = size_ - head_.l4;
  store_be16(frame, head_.l4 + kTcpChecksumField,
             checksum_fold(pseudo_header_sum(ip, head_.ipv4, kIpProtoTcp, tcp_length)));
  info = OffloadInfo{.needs_checksum = true,
                     .checksum_start = static_cast<std::uint16_t>(head_.l4),
                     .checksum_offset = static_cast<std::uint16_t>(kTcpChecksumField),
                     .gso_type = head_.ipv4 ? GsoType::kTcpV4 : GsoType::kTcpV6,
                     .gso_size = static_cast<std::uint16_t>(gso_size_),
                     .header_size = static_cast<std::uint16_t>(head_.payload)};
  return frame;
}

}  // namespace lanparty::proto
