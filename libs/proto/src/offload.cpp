// SPDX-License-Identifier: MIT
// Checksum completion and software segmentation of GSO super-frames.
#include "lanparty/proto/offload.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/ip.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::proto {

std::uint64_t pseudo_header_sum(std::span<const std::uint8_t> l3, bool ipv4, std::uint8_t proto,
                                std::size_t l4_length) noexcept {
  std::array<std::uint8_t, 8> tail{};
  std::uint64_t sum = 0;
  if (ipv4) {
    sum = checksum_add(l3.subspan(12, 8));
    tail[5] = proto;
    tail[6] = static_cast<std::uint8_t>(l4_length >> 8);
    tail[7] = static_cast<std::uint8_t>(l4_length);
  } else {
    sum = checksum_add(l3.subspan(8, 32));
    store_be32(tail, 0, static_cast<std::uint32_t>(l4_length));
    tail[7] = proto;
  }
  return checksum_add(tail, sum);
}

std::string_view to_string(OffloadError error) noexcept {
  switch (error) {
    case OffloadError::kBadChecksumOffsets:
      return "bad_checksum_offsets";
    case OffloadError::kBadHeaders:
      return "bad_gso_headers";
    case OffloadError::kSegmentTooLarge:
      return "segment_too_large";
  }
  return "unknown";
}

std::string_view to_string(FinishVerdict verdict) noexcept {
  switch (verdict) {
    case FinishVerdict::kSent:
      return "sent";
    case FinishVerdict::kRunt:
      return "runt";
    case FinishVerdict::kTooLarge:
      return "too_large";
    case FinishVerdict::kBadOffload:
      return "bad_offload";
  }
  return "unknown";
}

LocalFrameFinisher::LocalFrameFinisher(std::size_t headroom)
    : headroom_(headroom), scratch_(headroom + kMaxFinishedFrameBytes) {}

std::uint64_t checksum_add(std::span<const std::uint8_t> bytes, std::uint64_t sum) noexcept {
  // Native-order words: the one's-complement sum commutes with byte swapping (RFC 1071
  // section 2(B)), so only the folded result is swapped, once.
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    sum += (w & 0xffffffffu) + (w >> 32);
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    const std::array<std::uint8_t, 2> last{p[0], 0};
    std::uint16_t w;
    std::memcpy(&w, last.data(), 2);
    sum += w;
  }
  return sum;
}

std::uint16_t checksum_fold(std::uint64_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  auto folded = static_cast<std::uint16_t>(sum);
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<std::uint16_t>((folded << 8) | (folded >> 8));
  }
  return folded;
}

tl::expected<void, OffloadError> complete_checksum(std::span<std::uint8_t> frame,
                                                   std::uint16_t checksum_start,
                                                   std::uint16_t checksum_offset) noexcept {
  const std::size_t field = std::size_t{checksum_start} + checksum_offset;
  if (checksum_start >= frame.size() || field + 2 > frame.size()) {
    return tl::unexpected(OffloadError::kBadChecksumOffsets);
  }
  auto result =
      static_cast<std::uint16_t>(~checksum_fold(checksum_add(frame.subspan(checksum_start))));
  if (result == 0) result = 0xffff;
  store_be16(frame, field, result);
  return {};
}

tl::expected<Segmenter, OffloadError> Segmenter::create(std::span<const std::uint8_t> frame,
                                                        const OffloadInfo& info,
                                                        std::size_t max_frame_bytes) noexcept {
  auto eth = parse_ethernet(frame);
  if (!eth || info.gso_type == GsoType::kNone || info.gso_size == 0) {
    return tl::unexpected(OffloadError::kBadHeaders);
  }
  Segmenter s;
  s.frame_ = frame;
  s.l3_offset_ = eth->header_size;
  s.tcp_ = info.gso_type != GsoType::kUdpL4;
  const std::uint8_t l4_proto = s.tcp_ ? kIpProtoTcp : kIpProtoUdp;
  switch (eth->ethertype) {
    case kEtherTypeIpv4:
      s.ipv4_ = true;
      break;
    case kEtherTypeIpv6:
      s.ipv4_ = false;
      break;
    default:
      return tl::unexpected(OffloadError::kBadHeaders);
  }
  if ((info.gso_type == GsoType::kTcpV4 && !s.ipv4_) ||
      (info.gso_type == GsoType::kTcpV6 && s.ipv4_)) {
    return tl::unexpected(OffloadError::kBadHeaders);
  }
  const std::size_t l3 = s.l3_offset_;
  if (s.ipv4_) {
    if (frame.size() < l3 + kIpv4MinHeader || (frame[l3] >> 4) != 4) {
      return tl::unexpected(OffloadError::kBadHeaders);
    }
    const std::size_t ihl = std::size_t{frame[l3] & 0x0fu} * 4;
    if (ihl < kIpv4MinHeader || frame[l3 + 9] != l4_proto) {
      return tl::unexpected(OffloadError::kBadHeaders);
    }
    s.l4_offset_ = l3 + ihl;
  } else {
    if (frame.size() < l3 + kIpv6Header || (frame[l3] >> 4) != 6) {
      return tl::unexpected(OffloadError::kBadHeaders);
    }
    // Extension headers: the kernel says where the L4 header is; without it only the plain
    // header can be trusted.
    s.l4_offset_ = l3 + kIpv6Header;
    if (frame[l3 + 6] != l4_proto && !info.needs_checksum) {
      return tl::unexpected(OffloadError::kBadHeaders);
    }
  }
  if (info.needs_checksum) {
    if (s.ipv4_ ? info.checksum_start != s.l4_offset_ : info.checksum_start < s.l4_offset_) {
      return tl::unexpected(OffloadError::kBadHeaders);
    }
    s.l4_offset_ = info.checksum_start;
  }
  const std::size_t l4 = s.l4_offset_;
  if (s.tcp_) {
    if (frame.size() < l4 + kTcpMinHeader) return tl::unexpected(OffloadError::kBadHeaders);
    const std::size_t thl = std::size_t{frame[l4 + 12]} / 16 * 4;
    if (thl < kTcpMinHeader) return tl::unexpected(OffloadError::kBadHeaders);
    s.header_size_ = l4 + thl;
    s.checksum_field_ = kTcpChecksumField;
  } else {
    s.header_size_ = l4 + kUdpHeader;
    s.checksum_field_ = kUdpChecksumField;
  }
  if (frame.size() < s.header_size_) return tl::unexpected(OffloadError::kBadHeaders);
  if (info.needs_checksum && info.checksum_offset != s.checksum_field_) {
    return tl::unexpected(OffloadError::kBadHeaders);
  }
  if (max_frame_bytes <= s.header_size_) return tl::unexpected(OffloadError::kSegmentTooLarge);
  s.payload_size_ = frame.size() - s.header_size_;
  if (s.tcp_) {
    s.step_ = std::min<std::size_t>(info.gso_size, max_frame_bytes - s.header_size_);
  } else {
    if (s.header_size_ + info.gso_size > max_frame_bytes) {
      return tl::unexpected(OffloadError::kSegmentTooLarge);
    }
    s.step_ = info.gso_size;
  }
  s.count_ = s.payload_size_ == 0 ? 1 : (s.payload_size_ + s.step_ - 1) / s.step_;
  return s;
}

std::size_t Segmenter::frame_size(std::size_t i) const noexcept {
  const std::size_t offset = i * step_;
  return header_size_ + std::min(step_, payload_size_ - std::min(offset, payload_size_));
}

std::size_t Segmenter::write(std::size_t i, std::span<std::uint8_t> out) const noexcept {
  const std::size_t size = frame_size(i);
  const std::size_t payload_offset = i * step_;
  const std::size_t payload = size - header_size_;
  std::memcpy(out.data(), frame_.data(), header_size_);
  std::memcpy(out.data() + header_size_, frame_.data() + header_size_ + payload_offset, payload);
  auto seg = out.first(size);
  auto ip = seg.subspan(l3_offset_);
  if (ipv4_) {
    const std::size_t ihl = std::size_t{ip[0] & 0x0fu} * 4;
    store_be16(ip, 2, static_cast<std::uint16_t>(size - l3_offset_));
    store_be16(ip, 4, static_cast<std::uint16_t>(load_be16(ip, 4) + i));
    store_be16(ip, 10, 0);
    store_be16(ip, 10, static_cast<std::uint16_t>(~checksum_fold(checksum_add(ip.first(ihl)))));
  } else {
    store_be16(ip, 4, static_cast<std::uint16_t>(size - l3_offset_ - kIpv6Header));
  }
  auto l4 = seg.subspan(l4_offset_);
  if (tcp_) {
    store_be32(l4, 4, static_cast<std::uint32_t>(load_be32(l4, 4) + payload_offset));
    std::uint8_t flags = l4[13];
    if (i + 1 < count_) flags = static_cast<std::uint8_t>(flags & ~(kTcpFin | kTcpPsh));
    if (i > 0) flags = static_cast<std::uint8_t>(flags & ~kTcpCwr);
    l4[13] = flags;
  } else {
    store_be16(l4, 4, static_cast<std::uint16_t>(l4.size()));
  }
  store_be16(l4, checksum_field_, 0);
  const std::uint64_t sum =
      checksum_add(l4, pseudo_header_sum(ip, ipv4_, tcp_ ? kIpProtoTcp : kIpProtoUdp, l4.size()));
  auto checksum = static_cast<std::uint16_t>(~checksum_fold(sum));
  if (checksum == 0 && !tcp_) checksum = 0xffff;  // UDP: 0 would mean "no checksum"
  store_be16(l4, checksum_field_, checksum);
  return size;
}

}  // namespace lanparty::proto
