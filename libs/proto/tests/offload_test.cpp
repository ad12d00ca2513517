// SPDX-License-Identifier: MIT
// Checksum completion, segmentation and the finisher both apps use, against frames the Linux
// kernel made (kernel_frames.hpp), checked by a verifier that shares no code with
// src/offload.cpp.
#include "lanparty/proto/offload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernel_frames.hpp"

namespace lanparty::proto {
namespace {

using namespace test_support;

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

// --- LocalFrameFinisher: the one path both apps send local frames through ----------------

constexpr std::size_t kHead = 4;  // the overlay header's room

struct Finished {
  FinishVerdict verdict;
  std::vector<Bytes> sent;  // frames handed on, headroom cut
  OffloadCounters counters;
};

Finished finish(const Bytes& frame, const OffloadInfo& info, std::size_t room_mtu) {
  Bytes datagram(kHead, 0xee);
  datagram.insert(datagram.end(), frame.begin(), frame.end());
  LocalFrameFinisher finisher(kHead);
  Finished out;
  out.verdict = finisher.finish(datagram, info, room_mtu, [&](std::span<std::uint8_t> d) {
    EXPECT_GE(d.size(), kHead);
    EXPECT_TRUE(std::all_of(d.begin(), d.begin() + kHead, [](auto b) { return b == 0xee; }) ||
                d.data() != datagram.data())
        << "the headroom of a frame finished in place is the caller's";
    out.sent.emplace_back(d.begin() + kHead, d.end());
  });
  out.counters = finisher.counters();
  return out;
}

TEST(LocalFrameFinisher, SuperFramesBecomeValidFramesWithinTheRoomMtu) {
  int checked = 0;
  for (const std::size_t mtu : {std::size_t{1500}, std::size_t{1280}, std::size_t{600}}) {
    for (const auto& k : all_frames()) {
      if (k.info.gso_type == GsoType::kNone) continue;
      const bool udp = k.info.gso_type == GsoType::kUdpL4;
      const std::size_t eth = k.name.ends_with("_tagged") ? 18 : 14;
      const auto r = finish(k.frame, k.info, mtu);
      if (udp && mtu + eth < k.hdr_len + (eth - 14) + k.info.gso_size) {
        // A UDP datagram's size is the sender's: larger than the room, it cannot be cut.
        EXPECT_EQ(r.verdict, FinishVerdict::kTooLarge) << k.name;
        EXPECT_TRUE(r.sent.empty()) << k.name;
        EXPECT_EQ(r.counters.too_large, 1u) << k.name;
        continue;
      }
      ASSERT_EQ(r.verdict, FinishVerdict::kSent) << k.name << " mtu " << mtu;
      EXPECT_GE(r.sent.size(), 2u) << k.name;
      EXPECT_EQ(r.counters.super_frames, 1u);
      EXPECT_EQ(r.counters.segments, r.sent.size());
      for (const auto& seg : r.sent) {
        EXPECT_LE(seg.size(), mtu + eth) << k.name << " mtu " << mtu;
        EXPECT_TRUE(verify_frame(seg)) << k.name << " mtu " << mtu;
        EXPECT_TRUE(std::equal(seg.begin(), seg.begin() + static_cast<std::ptrdiff_t>(eth),
                               k.frame.begin()))
            << "MACs and tag kept: " << k.name;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 24);
}

TEST(LocalFrameFinisher, PartialChecksumsAreCompletedInPlace) {
  int checked = 0;
  for (const auto& k : all_frames()) {
    if (k.info.gso_type != GsoType::kNone || !k.info.needs_checksum) continue;
    EXPECT_FALSE(verify_frame(k.frame)) << "captured unfinished: " << k.name;
    const auto r = finish(k.frame, k.info, 1500);
    ASSERT_EQ(r.verdict, FinishVerdict::kSent) << k.name;
    ASSERT_EQ(r.sent.size(), 1u);
    EXPECT_EQ(r.sent[0].size(), k.frame.size());
    EXPECT_TRUE(verify_frame(r.sent[0])) << k.name;
    EXPECT_EQ(r.counters.checksum_completed, 1u);
    ++checked;
  }
  EXPECT_GE(checked, 16);
}

TEST(LocalFrameFinisher, FinishedFramesGoUnchangedAndLargerOnesAreRefused) {
  for (const std::size_t size : {std::size_t{14}, std::size_t{60}, std::size_t{1514}}) {
    Bytes f(size);
    for (std::size_t i = 0; i < size; ++i) f[i] = static_cast<std::uint8_t>(i * 7);
    f[12] = 0x08;
    f[13] = 0x00;
    const auto r = finish(f, OffloadInfo{}, 1500);
    EXPECT_EQ(r.verdict, FinishVerdict::kSent);
    ASSERT_EQ(r.sent.size(), 1u);
    EXPECT_EQ(r.sent[0], f);
  }
  const auto big = finish(Bytes(1515, 0), OffloadInfo{}, 1500);
  EXPECT_EQ(big.verdict, FinishVerdict::kTooLarge);
  EXPECT_TRUE(big.sent.empty());
  EXPECT_EQ(big.counters.too_large, 1u);
}

TEST(LocalFrameFinisher, MetadataThatDoesNotFitIsDroppedAndCounted) {
  const auto frames = load_kernel_frames();
  const auto partial = std::find_if(frames.begin(), frames.end(), [](const KernelFrame& k) {
    return k.info.needs_checksum && k.info.gso_type == GsoType::kNone;
  });
  const auto gso = std::find_if(frames.begin(), frames.end(), [](const KernelFrame& k) {
    return k.info.gso_type == GsoType::kTcpV4;
  });
  ASSERT_NE(partial, frames.end());
  ASSERT_NE(gso, frames.end());

  auto info = partial->info;
  info.checksum_start = static_cast<std::uint16_t>(partial->frame.size());
  auto r = finish(partial->frame, info, 1500);
  EXPECT_EQ(r.verdict, FinishVerdict::kBadOffload);
  EXPECT_TRUE(r.sent.empty());
  EXPECT_EQ(r.counters.bad_offload, 1u);

  info = gso->info;
  info.gso_type = GsoType::kTcpV6;  // an IPv4 frame described as IPv6
  r = finish(gso->frame, info, 1500);
  EXPECT_EQ(r.verdict, FinishVerdict::kBadOffload);
  EXPECT_TRUE(r.sent.empty());
  EXPECT_EQ(r.counters.bad_offload, 1u);

  r = finish(Bytes(10, 0), partial->info, 1500);
  EXPECT_EQ(r.verdict, FinishVerdict::kRunt);
  EXPECT_TRUE(r.sent.empty());
}

TEST(LocalFrameFinisher, VerdictNames) {
  EXPECT_EQ(to_string(FinishVerdict::kSent), "sent");
  EXPECT_EQ(to_string(FinishVerdict::kRunt), "runt");
  EXPECT_EQ(to_string(FinishVerdict::kTooLarge), "too_large");
  EXPECT_EQ(to_string(FinishVerdict::kBadOffload), "bad_offload");
}

}  // namespace
}  // namespace lanparty::proto
