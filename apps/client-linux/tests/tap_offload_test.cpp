// SPDX-License-Identifier: MIT
// The client's way out of the TAP with offloads on: virtio_net_hdr translation and the
// finishing of kernel-made frames (libs/proto/tests/kernel_frames, captured from a veth with
// its default offloads), checked with a checksum verifier written here, apart from
// libs/proto's code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "linux/vnet_header.hpp"
#include "tap_offload.hpp"

namespace lanparty::client_linux {
namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::size_t kHead = proto::kOverlayHeaderSize;

// A host-order value as the little-endian field a TUNSETVNETLE TAP writes.
std::uint16_t le(std::uint16_t v) {
  std::uint16_t raw = 0;
  auto* b = reinterpret_cast<std::uint8_t*>(&raw);
  b[0] = static_cast<std::uint8_t>(v);
  b[1] = static_cast<std::uint8_t>(v >> 8);
  return raw;
}

TEST(VnetHeader, NoFlagsMeansAFinishedFrame) {
  const auto info = offload_from_vnet(VnetHeader{});
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->needs_checksum);
  EXPECT_EQ(info->gso_type, proto::GsoType::kNone);
}

TEST(VnetHeader, PartialChecksumOffsetsAreReadLittleEndian) {
  const VnetHeader vnet{.flags = kVnetNeedsCsum,
                        .gso_type = kVnetGsoNone,
                        .hdr_len = 0,
                        .gso_size = 0,
                        .csum_start = le(0x0122),
                        .csum_offset = le(16)};
  const auto info = offload_from_vnet(vnet);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->needs_checksum);
  EXPECT_EQ(info->checksum_start, 0x0122);
  EXPECT_EQ(info->checksum_offset, 16);
}

TEST(VnetHeader, GsoTypesMapAndTheEcnBitIsAccepted) {
  struct Case {
    std::uint8_t type;
    proto::GsoType want;
  };
  for (const Case c :
       {Case{kVnetGsoTcpV4, proto::GsoType::kTcpV4}, Case{kVnetGsoTcpV6, proto::GsoType::kTcpV6},
        Case{kVnetGsoUdpL4, proto::GsoType::kUdpL4},
        Case{kVnetGsoTcpV4 | kVnetGsoEcn, proto::GsoType::kTcpV4}}) {
    const VnetHeader vnet{.flags = kVnetNeedsCsum,
                          .gso_type = c.type,
                          .hdr_len = le(66),
                          .gso_size = le(1448),
                          .csum_start = le(34),
                          .csum_offset = le(16)};
    const auto info = offload_from_vnet(vnet);
    ASSERT_TRUE(info) << int(c.type);
    EXPECT_EQ(info->gso_type, c.want) << int(c.type);
    EXPECT_EQ(info->gso_size, 1448) << int(c.type);
  }
}

TEST(VnetHeader, GsoTypesNeverEnabledAreRefused) {
  // 3 is UFO (IPv4 UDP fragmentation), never asked for with TUNSETOFFLOAD.
  EXPECT_FALSE(offload_from_vnet(VnetHeader{
      .flags = 0, .gso_type = 3, .hdr_len = 0, .gso_size = 0, .csum_start = 0, .csum_offset = 0}));
}

// --- kernel frames -----------------------------------------------------------------------
struct KernelFrame {
  std::string name;
  proto::OffloadInfo info;
  Bytes frame;
};

std::vector<KernelFrame> load_kernel_frames() {
  std::vector<KernelFrame> out;
  for (const auto& entry : std::filesystem::directory_iterator(LANPARTY_KERNEL_FRAMES_DIR)) {
    if (entry.path().extension() != ".frame") continue;
    std::ifstream in(entry.path());
    std::string comment, meta, hex;
    std::getline(in, comment);
    std::getline(in, meta);
    std::getline(in, hex);
    int flags = 0, gso = 0, hdr = 0, size = 0, start = 0, offset = 0;
    EXPECT_EQ(std::sscanf(meta.c_str(),
                          "flags=%d gso_type=%d hdr_len=%d gso_size=%d csum_start=%d "
                          "csum_offset=%d",
                          &flags, &gso, &hdr, &size, &start, &offset),
              6)
        << entry.path();
    // Through the same translation as a TAP read, so the test covers it too.
    const VnetHeader vnet{.flags = static_cast<std::uint8_t>(flags),
                          .gso_type = static_cast<std::uint8_t>(gso),
                          .hdr_len = le(static_cast<std::uint16_t>(hdr)),
                          .gso_size = le(static_cast<std::uint16_t>(size)),
                          .csum_start = le(static_cast<std::uint16_t>(start)),
                          .csum_offset = le(static_cast<std::uint16_t>(offset))};
    auto info = offload_from_vnet(vnet);
    EXPECT_TRUE(info) << entry.path();
    KernelFrame k{.name = entry.path().stem().string(),
                  .info = info.value_or(proto::OffloadInfo{}),
                  .frame = {}};
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      k.frame.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i < n; i += 2) {
    sum += static_cast<std::uint32_t>(p[i] << 8) | (i + 1 < n ? p[i + 1] : 0u);
  }
  return sum;
}
std::uint16_t fold(std::uint32_t sum) {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}
std::size_t rd16(const Bytes& b, std::size_t at) {
  return static_cast<std::size_t>((b[at] << 8) | b[at + 1]);
}

// What a receiving kernel checks: the IP lengths, the IPv4 header checksum and the L4
// checksum over the pseudo-header. The L4 header directly follows a 40-byte IPv6 header in
// every captured frame.
::testing::AssertionResult finished(const Bytes& f) {
  const std::size_t l3 = rd16(f, 12) == 0x8100 ? 18 : 14;
  const std::size_t ethertype = rd16(f, l3 - 2);
  std::size_t l4 = 0;
  std::uint8_t proto = 0;
  std::uint32_t pseudo = 0;
  if (ethertype == 0x0800) {
    l4 = l3 + (f[l3] & 0x0f) * 4u;
    if (rd16(f, l3 + 2) != f.size() - l3) return ::testing::AssertionFailure() << "IPv4 length";
    if (fold(sum16(&f[l3], l4 - l3)) != 0xffff) {
      return ::testing::AssertionFailure() << "IPv4 header checksum";
    }
    proto = f[l3 + 9];
    pseudo = sum16(&f[l3 + 12], 8);
  } else if (ethertype == 0x86dd) {
    l4 = l3 + 40;
    if (rd16(f, l3 + 4) != f.size() - l4) return ::testing::AssertionFailure() << "IPv6 length";
    proto = f[l3 + 6];
    pseudo = sum16(&f[l3 + 8], 32);
  } else {
    return ::testing::AssertionFailure() << "not IP";
  }
  const std::size_t l4_len = f.size() - l4;
  if (proto == 17 && rd16(f, l4 + 4) != l4_len) return ::testing::AssertionFailure() << "UDP len";
  pseudo += proto + static_cast<std::uint32_t>(l4_len);
  if (fold(sum16(&f[l4], l4_len, pseudo)) != 0xffff) {
    return ::testing::AssertionFailure() << "L4 checksum";
  }
  return ::testing::AssertionSuccess();
}

struct Finished {
  TapVerdict verdict;
  std::vector<Bytes> sent;  // frames handed to the runner, headroom cut
  TapOffloadCounters counters;
};

Finished finish(const Bytes& frame, const proto::OffloadInfo& info, std::size_t room_mtu) {
  Bytes datagram(kHead, 0xee);
  datagram.insert(datagram.end(), frame.begin(), frame.end());
  std::vector<std::uint8_t> scratch;
  Finished out;
  out.verdict = finish_tap_frame(datagram, info, room_mtu, scratch, out.counters,
                                 [&](std::span<std::uint8_t> d) {
                                   EXPECT_GE(d.size(), kHead);
                                   out.sent.emplace_back(d.begin() + kHead, d.end());
                                 });
  return out;
}

TEST(FinishTapFrame, CorpusHasSuperFramesAndPartialChecksums) {
  std::size_t gso = 0, partial = 0;
  for (const auto& k : load_kernel_frames()) {
    if (k.info.gso_type != proto::GsoType::kNone) {
      ++gso;
    } else if (k.info.needs_checksum) {
      ++partial;
    }
  }
  EXPECT_GE(gso, 4u);
  EXPECT_GE(partial, 8u);
}

TEST(FinishTapFrame, SuperFramesBecomeValidFramesWithinTheRoomMtu) {
  for (const std::size_t mtu : {std::size_t{1500}, std::size_t{1280}, std::size_t{600}}) {
    for (const auto& k : load_kernel_frames()) {
      if (k.info.gso_type == proto::GsoType::kNone) continue;
      const bool udp = k.info.gso_type == proto::GsoType::kUdpL4;
      const auto r = finish(k.frame, k.info, mtu);
      if (udp && mtu < k.info.gso_size + 48u) {
        // A UDP datagram's size is the sender's: larger than the room, it cannot be cut.
        EXPECT_EQ(r.verdict, TapVerdict::kTooLarge) << k.name;
        EXPECT_TRUE(r.sent.empty()) << k.name;
        EXPECT_EQ(r.counters.too_large, 1u) << k.name;
        continue;
      }
      ASSERT_EQ(r.verdict, TapVerdict::kSend) << k.name << " mtu " << mtu;
      EXPECT_GE(r.sent.size(), 2u) << k.name;
      EXPECT_EQ(r.counters.super_frames, 1u);
      EXPECT_EQ(r.counters.segments, r.sent.size());
      for (const auto& seg : r.sent) {
        EXPECT_LE(seg.size(), mtu + 14) << k.name << " mtu " << mtu;
        EXPECT_TRUE(finished(seg)) << k.name << " mtu " << mtu;
        EXPECT_TRUE(std::equal(seg.begin(), seg.begin() + 12, k.frame.begin()))
            << "MACs kept: " << k.name;
      }
    }
  }
}

TEST(FinishTapFrame, PartialChecksumsAreCompletedInPlace) {
  for (const auto& k : load_kernel_frames()) {
    if (k.info.gso_type != proto::GsoType::kNone || !k.info.needs_checksum) continue;
    EXPECT_FALSE(finished(k.frame)) << "captured unfinished: " << k.name;
    const auto r = finish(k.frame, k.info, 1500);
    ASSERT_EQ(r.verdict, TapVerdict::kSend) << k.name;
    ASSERT_EQ(r.sent.size(), 1u);
    EXPECT_EQ(r.sent[0].size(), k.frame.size());
    EXPECT_TRUE(finished(r.sent[0])) << k.name;
    EXPECT_EQ(r.counters.checksum_completed, 1u);
  }
}

TEST(FinishTapFrame, FramesWithoutOffloadWorkGoUnchanged) {
  // Without offloads every read looks like this, whatever it holds: even a frame larger
  // than the room goes on, for the runner to drop and count against its budget.
  for (const std::size_t size : {std::size_t{3}, std::size_t{60}, std::size_t{9000}}) {
    Bytes f(size);
    for (std::size_t i = 0; i < size; ++i) f[i] = static_cast<std::uint8_t>(i * 7);
    const auto r = finish(f, proto::OffloadInfo{}, 1500);
    EXPECT_EQ(r.verdict, TapVerdict::kSend);
    ASSERT_EQ(r.sent.size(), 1u);
    EXPECT_EQ(r.sent[0], f);
  }
}

TEST(FinishTapFrame, MetadataThatDoesNotFitIsDroppedAndCounted) {
  const auto frames = load_kernel_frames();
  const auto partial = std::find_if(frames.begin(), frames.end(), [](const KernelFrame& k) {
    return k.info.needs_checksum && k.info.gso_type == proto::GsoType::kNone;
  });
  const auto gso = std::find_if(frames.begin(), frames.end(), [](const KernelFrame& k) {
    return k.info.gso_type == proto::GsoType::kTcpV4;
  });
  ASSERT_NE(partial, frames.end());
  ASSERT_NE(gso, frames.end());

  auto info = partial->info;
  info.checksum_start = static_cast<std::uint16_t>(partial->frame.size());
  auto r = finish(partial->frame, info, 1500);
  EXPECT_EQ(r.verdict, TapVerdict::kBadOffload);
  EXPECT_TRUE(r.sent.empty());
  EXPECT_EQ(r.counters.bad_offload, 1u);

  info = gso->info;
  info.gso_type = proto::GsoType::kTcpV6;  // an IPv4 frame described as IPv6
  r = finish(gso->frame, info, 1500);
  EXPECT_EQ(r.verdict, TapVerdict::kBadOffload);
  EXPECT_TRUE(r.sent.empty());

  r = finish(Bytes(10, 0), partial->info, 1500);
  EXPECT_EQ(r.verdict, TapVerdict::kRunt);
  EXPECT_TRUE(r.sent.empty());
}

TEST(FinishTapFrame, TaggedSuperFrameKeepsItsTagInEverySegment) {
  for (auto k : load_kernel_frames()) {
    if (k.info.gso_type != proto::GsoType::kTcpV6) continue;
    const Bytes tag = {0x81, 0x00, 0x60, 0x05};
    k.frame.insert(k.frame.begin() + 12, tag.begin(), tag.end());
    k.info.checksum_start = static_cast<std::uint16_t>(k.info.checksum_start + 4);
    const auto r = finish(k.frame, k.info, 1500);
    ASSERT_EQ(r.verdict, TapVerdict::kSend) << k.name;
    ASSERT_FALSE(r.sent.empty());
    for (const auto& seg : r.sent) {
      EXPECT_TRUE(std::equal(tag.begin(), tag.end(), seg.begin() + 12)) << k.name;
      EXPECT_LE(seg.size(), 1500u + 18);
      EXPECT_TRUE(finished(seg)) << k.name;
    }
  }
}

}  // namespace
}  // namespace lanparty::client_linux
