// SPDX-License-Identifier: MIT
// Checksum completion and segmentation against frames the Linux kernel made
// (tests/kernel_frames, captured by capture_offload_frames.py from a veth with its default
// offloads), tagged by hand where the capturing kernel had no 802.1Q, and checked by a
// checksum written here independently: byte by byte, no shared code with src/offload.cpp.
#include "lanparty/proto/offload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace lanparty::proto {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct KernelFrame {
  std::string name;
  OffloadInfo info;
  std::uint16_t hdr_len = 0;
  Bytes frame;
};

// virtio_net_hdr gso_type values (include/uapi/linux/virtio_net.h).
GsoType gso_from_virtio(int type) {
  switch (type & 0x7f) {
    case 1:
      return GsoType::kTcpV4;
    case 4:
      return GsoType::kTcpV6;
    case 5:
      return GsoType::kUdpL4;
    default:
      return GsoType::kNone;
  }
}

std::vector<KernelFrame> load_kernel_frames() {
  std::vector<KernelFrame> out;
  for (const auto& entry : std::filesystem::directory_iterator(LANPARTY_PROTO_KERNEL_FRAMES_DIR)) {
    if (entry.path().extension() != ".frame") continue;
    std::ifstream in(entry.path());
    std::string comment, meta, hex;
    std::getline(in, comment);
    std::getline(in, meta);
    std::getline(in, hex);
    KernelFrame k;
    k.name = entry.path().stem().string();
    int flags = 0, gso = 0, hdr = 0, size = 0, start = 0, offset = 0;
    EXPECT_EQ(std::sscanf(meta.c_str(),
                          "flags=%d gso_type=%d hdr_len=%d gso_size=%d csum_start=%d "
                          "csum_offset=%d",
                          &flags, &gso, &hdr, &size, &start, &offset),
              6)
        << entry.path();
    k.info = {.needs_checksum = (flags & 1) != 0,
              .checksum_start = static_cast<std::uint16_t>(start),
              .checksum_offset = static_cast<std::uint16_t>(offset),
              .gso_type = gso_from_virtio(gso),
              .gso_size = static_cast<std::uint16_t>(size)};
    k.hdr_len = static_cast<std::uint16_t>(hdr);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      k.frame.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

// Inserts an 802.1Q tag (VLAN 5, priority 3) after the MACs, as the gateway does with the tag
// the kernel reports in PACKET_AUXDATA.
KernelFrame tagged(KernelFrame k) {
  const Bytes tag = {0x81, 0x00, 0x60, 0x05};
  k.frame.insert(k.frame.begin() + 12, tag.begin(), tag.end());
  k.info.checksum_start = static_cast<std::uint16_t>(k.info.checksum_start + 4);
  k.name += "_tagged";
  return k;
}

// --- an independent reference: RFC 1071 the slow way ------------------------------------
std::uint16_t reference_sum(const Bytes& data) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    const std::uint32_t hi = data[i];
    const std::uint32_t lo = i + 1 < data.size() ? data[i + 1] : 0;
    sum += (hi << 8) | lo;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(sum);
}
std::uint16_t rd16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
std::uint32_t rd32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

struct Parsed {
  std::size_t l3 = 0, l4 = 0, l4_end = 0, header_end = 0;
  bool ipv4 = false, tcp = false;
};

// Parses a finished frame, checks every length and checksum a receiving kernel would check,
// and says where its payload is.
::testing::AssertionResult verify_frame(const Bytes& f, Parsed* out = nullptr) {
  Parsed p;
  p.l3 = rd16(f, 12) == 0x8100 ? 18 : 14;
  const std::uint16_t type = rd16(f, p.l3 - 2);
  p.ipv4 = type == 0x0800;
  std::uint8_t proto = 0;
  Bytes pseudo;
  if (p.ipv4) {
    const std::size_t ihl = (f[p.l3] & 0xf) * 4u;
    if (rd16(f, p.l3 + 2) != f.size() - p.l3)
      return ::testing::AssertionFailure()
             << "IPv4 total length " << rd16(f, p.l3 + 2) << " for " << f.size() - p.l3 << " bytes";
    Bytes header(f.begin() + static_cast<std::ptrdiff_t>(p.l3),
                 f.begin() + static_cast<std::ptrdiff_t>(p.l3 + ihl));
    if (reference_sum(header) != 0xffff)
      return ::testing::AssertionFailure() << "IPv4 header checksum wrong";
    proto = f[p.l3 + 9];
    p.l4 = p.l3 + ihl;
    pseudo.assign(f.begin() + static_cast<std::ptrdiff_t>(p.l3 + 12),
                  f.begin() + static_cast<std::ptrdiff_t>(p.l3 + 20));
    const auto len = f.size() - p.l4;
    pseudo.insert(pseudo.end(),
                  {0, proto, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)});
  } else {
    if (rd16(f, p.l3 + 4) != f.size() - p.l3 - 40)
      return ::testing::AssertionFailure() << "IPv6 payload length wrong";
    proto = f[p.l3 + 6];
    p.l4 = p.l3 + 40;
    pseudo.assign(f.begin() + static_cast<std::ptrdiff_t>(p.l3 + 8),
                  f.begin() + static_cast<std::ptrdiff_t>(p.l3 + 40));
    const auto len = f.size() - p.l4;
    pseudo.insert(
        pseudo.end(),
        {static_cast<std::uint8_t>(len >> 24), static_cast<std::uint8_t>(len >> 16),
         static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len), 0, 0, 0, proto});
  }
  p.tcp = proto == 6;
  if (!p.tcp && proto != 17) return ::testing::AssertionFailure() << "not TCP/UDP";
  if (!p.tcp) {
    if (rd16(f, p.l4 + 4) != f.size() - p.l4)
      return ::testing::AssertionFailure() << "UDP length wrong";
    if (rd16(f, p.l4 + 6) == 0)
      return ::testing::AssertionFailure() << "UDP checksum 0: no checksum where one was made";
  }
  p.header_end = p.l4 + (p.tcp ? (f[p.l4 + 12] >> 4) * 4u : 8u);
  Bytes all = pseudo;
  all.insert(all.end(), f.begin() + static_cast<std::ptrdiff_t>(p.l4), f.end());
  if (reference_sum(all) != 0xffff)
    return ::testing::AssertionFailure() << (p.tcp ? "TCP" : "UDP") << " checksum wrong";
  if (out) *out = p;
  return ::testing::AssertionSuccess();
}

// Every kernel frame, untagged as captured and tagged by hand.
std::vector<KernelFrame> all_frames() {
  std::vector<KernelFrame> out;
  for (auto& k : load_kernel_frames()) {
    out.push_back(tagged(k));
    out.push_back(std::move(k));
  }
  return out;
}

TEST(KernelFrames, CorpusHasEveryShape) {
  const auto frames = load_kernel_frames();
  int partial_v4_udp = 0, partial_v6_tcp = 0, gso_v4 = 0, gso_v6 = 0, gso_udp = 0, odd = 0;
  for (const auto& k : frames) {
    const bool v4 = k.name.starts_with("ipv4");
    if (k.info.gso_type == GsoType::kNone && v4 && k.name.find("udp") != std::string::npos)
      ++partial_v4_udp;
    if (k.info.gso_type == GsoType::kNone && !v4 && k.name.find("tcp") != std::string::npos)
      ++partial_v6_tcp;
    if (k.info.gso_type == GsoType::kTcpV4) ++gso_v4;
    if (k.info.gso_type == GsoType::kTcpV6) ++gso_v6;
    if (k.info.gso_type == GsoType::kUdpL4) ++gso_udp;
    if (k.frame.size() % 2 == 1) ++odd;
  }
  EXPECT_GT(partial_v4_udp, 0);
  EXPECT_GT(partial_v6_tcp, 0);
  EXPECT_GT(gso_v4, 0);
  EXPECT_GT(gso_v6, 0);
  EXPECT_GT(gso_udp, 0);
  EXPECT_GT(odd, 0);
}

TEST(CompleteChecksum, KernelPartialFramesBecomeValid) {
  int checked = 0;
  for (auto k : all_frames()) {
    if (!k.info.needs_checksum || k.info.gso_type != GsoType::kNone) continue;
    SCOPED_TRACE(k.name);
    // As captured, the field holds only the pseudo-header sum: a receiver would drop it.
    EXPECT_FALSE(verify_frame(k.frame));
    ASSERT_TRUE(complete_checksum(k.frame, k.info.checksum_start, k.info.checksum_offset));
    EXPECT_TRUE(verify_frame(k.frame));
    ++checked;
  }
  EXPECT_GE(checked, 24);
}

TEST(CompleteChecksum, ACompletedFrameIsAFixedPoint) {
  // Completing twice must not change a valid checksum: the kernel never asks twice, but a
  // gateway bug that did would then still be harmless.
  for (auto k : all_frames()) {
    if (!k.info.needs_checksum || k.info.gso_type != GsoType::kNone) continue;
    ASSERT_TRUE(complete_checksum(k.frame, k.info.checksum_start, k.info.checksum_offset));
    Bytes once = k.frame;
    const std::size_t field = k.info.checksum_start + k.info.checksum_offset;
    // Put the pseudo-header sum back, as the kernel would leave it, and complete again.
    k.frame[field] = 0;
    k.frame[field + 1] = 0;
    Bytes l4(k.frame.begin() + k.info.checksum_start, k.frame.end());
    const std::uint16_t data_only = reference_sum(l4);
    // field := pseudo sum = (complement of final) - data sum, in one's complement arithmetic.
    const std::uint16_t final_sum = static_cast<std::uint16_t>(~rd16(once, field));
    std::uint32_t pseudo = final_sum + static_cast<std::uint16_t>(~data_only);
    pseudo = (pseudo & 0xffff) + (pseudo >> 16);
    k.frame[field] = static_cast<std::uint8_t>(pseudo >> 8);
    k.frame[field + 1] = static_cast<std::uint8_t>(pseudo);
    ASSERT_TRUE(complete_checksum(k.frame, k.info.checksum_start, k.info.checksum_offset));
    EXPECT_TRUE(verify_frame(k.frame)) << k.name;
  }
}

TEST(CompleteChecksum, UdpResultZeroIsSentAsAllOnes) {
  // A UDP datagram whose checksum comes out as 0 must carry 0xffff (RFC 768): 0 means "none".
  // Search payload values until the computed checksum is 0x0000.
  auto base = load_kernel_frames();
  auto it = std::find_if(base.begin(), base.end(), [](const KernelFrame& k) {
    return k.name.starts_with("ipv4_udp") && k.info.gso_type == GsoType::kNone;
  });
  ASSERT_NE(it, base.end());
  const std::size_t field = it->info.checksum_start + it->info.checksum_offset;
  bool found = false;
  for (int v = 0; v < 0x10000 && !found; ++v) {
    Bytes f = it->frame;
    f[f.size() - 2] = static_cast<std::uint8_t>(v >> 8);
    f[f.size() - 1] = static_cast<std::uint8_t>(v);
    ASSERT_TRUE(complete_checksum(f, it->info.checksum_start, it->info.checksum_offset));
    if (rd16(f, field) == 0xffff) {
      found = true;
      EXPECT_TRUE(verify_frame(f));
    }
    EXPECT_NE(rd16(f, field), 0);
  }
  EXPECT_TRUE(found);
}

TEST(CompleteChecksum, RefusesOffsetsOutsideTheFrame) {
  Bytes f(60, 0);
  EXPECT_EQ(complete_checksum(f, 60, 0).error(), OffloadError::kBadChecksumOffsets);
  EXPECT_EQ(complete_checksum(f, 50, 9).error(), OffloadError::kBadChecksumOffsets);
  EXPECT_EQ(complete_checksum(f, 58, 1).error(), OffloadError::kBadChecksumOffsets);
  EXPECT_TRUE(complete_checksum(f, 50, 8));
  EXPECT_EQ(complete_checksum(f, 0xffff, 0xffff).error(), OffloadError::kBadChecksumOffsets);
}

TEST(Checksum, MatchesTheReferenceOnEveryLengthAndAlignment) {
  Bytes data(300);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 151 + 7);
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t len = 0; len + start <= data.size(); len += 7) {
      Bytes piece(data.begin() + static_cast<std::ptrdiff_t>(start),
                  data.begin() + static_cast<std::ptrdiff_t>(start + len));
      auto span = std::span<const std::uint8_t>(data).subspan(start, len);
      EXPECT_EQ(checksum_fold(checksum_add(span)), reference_sum(piece))
          << "start " << start << " len " << len;
    }
  }
}

// Segments of `k` as separate frames.
std::vector<Bytes> segments_of(const KernelFrame& k, std::size_t max_frame) {
  auto seg = Segmenter::create(k.frame, k.info, max_frame);
  EXPECT_TRUE(seg) << k.name << ": " << to_string(seg.error());
  if (!seg) return {};
  std::vector<Bytes> out;
  Bytes buf(seg->max_frame_size() + 8, 0xee);
  for (std::size_t i = 0; i < seg->count(); ++i) {
    const std::size_t n = seg->write(i, buf);
    EXPECT_EQ(n, seg->frame_size(i));
    EXPECT_LE(n, seg->max_frame_size());
    out.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

void check_segments(const KernelFrame& k, const std::vector<Bytes>& segs, std::size_t max_frame) {
  Parsed whole;
  whole.l3 = rd16(k.frame, 12) == 0x8100 ? 18 : 14;
  Bytes payload;
  std::uint32_t expected_seq = 0;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    SCOPED_TRACE(k.name + " segment " + std::to_string(i));
    Parsed p;
    ASSERT_TRUE(verify_frame(segs[i], &p));
    EXPECT_LE(segs[i].size(), max_frame);
    // Ethernet header and tag carried over as they were.
    EXPECT_TRUE(std::equal(segs[i].begin(), segs[i].begin() + static_cast<std::ptrdiff_t>(p.l3),
                           k.frame.begin()));
    if (p.ipv4) {
      EXPECT_EQ(rd16(segs[i], p.l3 + 4), static_cast<std::uint16_t>(rd16(k.frame, p.l3 + 4) + i))
          << "IPv4 ID increments per segment";
    }
    if (p.tcp) {
      const std::uint32_t seq = rd32(segs[i], p.l4 + 4);
      if (i == 0) expected_seq = rd32(k.frame, p.l4 + 4);
      EXPECT_EQ(seq, expected_seq);
      expected_seq += static_cast<std::uint32_t>(segs[i].size() - p.header_end);
      const std::uint8_t flags = segs[i][p.l4 + 13];
      const std::uint8_t orig = k.frame[p.l4 + 13];
      const bool last = i + 1 == segs.size();
      EXPECT_EQ(flags & 0x09, last ? (orig & 0x09) : 0) << "FIN/PSH only on the last";
      EXPECT_EQ(flags & 0x80, i == 0 ? (orig & 0x80) : 0) << "CWR only on the first";
      EXPECT_EQ(flags & 0x76, orig & 0x76) << "other flags kept";
    } else {
      const bool last = i + 1 == segs.size();
      if (!last) {
        EXPECT_EQ(segs[i].size() - p.header_end, k.info.gso_size) << "UDP keeps gso_size";
      }
    }
    payload.insert(payload.end(), segs[i].begin() + static_cast<std::ptrdiff_t>(p.header_end),
                   segs[i].end());
  }
  const std::size_t header_end = segs.empty() ? 0 : k.frame.size() - payload.size();
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(),
                         k.frame.begin() + static_cast<std::ptrdiff_t>(header_end)))
      << "segment payloads concatenate to the super-frame's payload";
}

TEST(Segmenter, KernelSuperFramesBecomeValidSegmentsOfGsoSize) {
  int checked = 0;
  for (const auto& k : all_frames()) {
    if (k.info.gso_type == GsoType::kNone) continue;
    const std::size_t max_frame = 1518;
    const auto segs = segments_of(k, max_frame);
    const std::size_t header = k.hdr_len + (k.name.ends_with("_tagged") ? 4u : 0u);
    const std::size_t payload = k.frame.size() - header;
    EXPECT_EQ(segs.size(), (payload + k.info.gso_size - 1) / k.info.gso_size) << k.name;
    check_segments(k, segs, max_frame);
    ++checked;
  }
  EXPECT_GE(checked, 12);
}

TEST(Segmenter, TcpIsCutSmallerWhenTheRoomMtuIsBelowTheSendersMss) {
  for (const auto& k : all_frames()) {
    if (k.info.gso_type != GsoType::kTcpV4 && k.info.gso_type != GsoType::kTcpV6) continue;
    for (std::size_t room_mtu : {576u, 1000u, 1380u}) {
      const std::size_t max_frame = room_mtu + (k.name.ends_with("_tagged") ? 18u : 14u);
      const auto segs = segments_of(k, max_frame);
      ASSERT_FALSE(segs.empty());
      check_segments(k, segs, max_frame);
      for (std::size_t i = 0; i + 1 < segs.size(); ++i) EXPECT_EQ(segs[i].size(), max_frame);
    }
  }
}

TEST(Segmenter, UdpLargerThanTheRoomIsRefusedNotCut) {
  for (const auto& k : all_frames()) {
    if (k.info.gso_type != GsoType::kUdpL4) continue;
    auto seg = Segmenter::create(k.frame, k.info, k.hdr_len + k.info.gso_size - 1u);
    ASSERT_FALSE(seg);
    EXPECT_EQ(seg.error(), OffloadError::kSegmentTooLarge);
  }
}

TEST(Segmenter, LastSegmentCarriesTheRemainder) {
  for (const auto& k : load_kernel_frames()) {
    if (k.info.gso_type == GsoType::kNone) continue;
    auto seg = Segmenter::create(k.frame, k.info, 65535);
    ASSERT_TRUE(seg);
    const std::size_t payload = k.frame.size() - k.hdr_len;
    const std::size_t rem = payload % k.info.gso_size;
    EXPECT_EQ(seg->frame_size(seg->count() - 1), k.hdr_len + (rem == 0 ? k.info.gso_size : rem))
        << k.name;
  }
}

TEST(Segmenter, RefusesHeadersThatDoNotHoldTogether) {
  auto frames = load_kernel_frames();
  auto it = std::find_if(frames.begin(), frames.end(),
                         [](const KernelFrame& k) { return k.info.gso_type == GsoType::kTcpV4; });
  ASSERT_NE(it, frames.end());
  const KernelFrame& k = *it;
  auto expect_bad = [&](Bytes f, OffloadInfo info, const char* why) {
    auto seg = Segmenter::create(f, info, 1514);
    EXPECT_FALSE(seg) << why;
    if (!seg) {
      EXPECT_EQ(seg.error(), OffloadError::kBadHeaders) << why;
    }
  };
  OffloadInfo info = k.info;
  info.gso_type = GsoType::kTcpV6;
  expect_bad(k.frame, info, "TCPv6 GSO on an IPv4 frame");
  info = k.info;
  info.gso_size = 0;
  expect_bad(k.frame, info, "gso_size 0");
  info = k.info;
  info.checksum_start = static_cast<std::uint16_t>(info.checksum_start + 4);
  expect_bad(k.frame, info, "checksum_start past the IPv4 header");
  info = k.info;
  info.checksum_offset = 6;
  expect_bad(k.frame, info, "checksum offset of UDP on TCP");
  Bytes f = k.frame;
  f[14] = 0x44;  // IHL 4
  expect_bad(f, k.info, "IHL below 5");
  f = k.frame;
  f[23] = 17;  // protocol UDP
  expect_bad(f, k.info, "protocol is not TCP");
  f = k.frame;
  f[k.info.checksum_start + 12] = 0x40;  // data offset 4
  expect_bad(f, k.info, "TCP header below 20 bytes");
  f.assign(k.frame.begin(), k.frame.begin() + k.info.checksum_start + 10);
  expect_bad(f, k.info, "truncated TCP header");
  f.assign(k.frame.begin(), k.frame.begin() + 20);
  expect_bad(f, k.info, "truncated IPv4 header");
  f = k.frame;
  f[12] = 0x08;
  f[13] = 0x06;  // ARP
  expect_bad(f, k.info, "not IP");
}

}  // namespace
}  // namespace lanparty::proto
