// SPDX-License-Identifier: MIT
// The client's TAP with offloads on: virtio_net_hdr translation, checked by hand and on the
// headers of kernel-made frames (libs/proto/tests/kernel_frames, captured from a veth with
// its default offloads). libs/proto's tests cover what the client then does to the frames.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "linux/vnet_header.hpp"

namespace lanparty::client_linux {
namespace {

// A host-order value as the little-endian field a TUNSETVNETLE TAP writes.
using apps::kVnetGsoEcn;
using apps::kVnetGsoNone;
using apps::kVnetGsoTcpV4;
using apps::kVnetGsoTcpV6;
using apps::kVnetGsoUdpL4;
using apps::kVnetNeedsCsum;
using apps::VnetHeader;

// The client's TAP: little-endian header fields (TUNSETVNETLE).
std::optional<proto::OffloadInfo> from_tap(const VnetHeader& vnet) {
  return apps::offload_from_vnet(vnet, apps::VnetByteOrder::kLittleEndian);
}

std::uint16_t le(std::uint16_t v) {
  std::uint16_t raw = 0;
  auto* b = reinterpret_cast<std::uint8_t*>(&raw);
  b[0] = static_cast<std::uint8_t>(v);
  b[1] = static_cast<std::uint8_t>(v >> 8);
  return raw;
}

TEST(VnetHeader, NoFlagsMeansAFinishedFrame) {
  const auto info = from_tap(VnetHeader{});
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
  const auto info = from_tap(vnet);
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
    const auto info = from_tap(vnet);
    ASSERT_TRUE(info) << int(c.type);
    EXPECT_EQ(info->gso_type, c.want) << int(c.type);
    EXPECT_EQ(info->gso_size, 1448) << int(c.type);
  }
}

TEST(VnetHeader, GsoTypesNeverEnabledAreRefused) {
  // 3 is UFO (IPv4 UDP fragmentation), never asked for with TUNSETOFFLOAD.
  EXPECT_FALSE(from_tap(VnetHeader{
      .flags = 0, .gso_type = 3, .hdr_len = 0, .gso_size = 0, .csum_start = 0, .csum_offset = 0}));
}

// --- kernel frames -----------------------------------------------------------------------
// Every header the kernel wrote in the capture (libs/proto/tests/kernel_frames) translates to
// the work its name says; libs/proto's tests then finish those frames.
TEST(VnetHeader, EveryCapturedKernelHeaderTranslates) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LANPARTY_KERNEL_FRAMES_DIR)) {
    if (entry.path().extension() != ".frame") continue;
    std::ifstream in(entry.path());
    std::string comment, meta;
    std::getline(in, comment);
    std::getline(in, meta);
    int flags = 0, gso = 0, hdr = 0, size = 0, start = 0, offset = 0;
    ASSERT_EQ(std::sscanf(meta.c_str(),
                          "flags=%d gso_type=%d hdr_len=%d gso_size=%d csum_start=%d "
                          "csum_offset=%d",
                          &flags, &gso, &hdr, &size, &start, &offset),
              6)
        << entry.path();
    const VnetHeader vnet{.flags = static_cast<std::uint8_t>(flags),
                          .gso_type = static_cast<std::uint8_t>(gso),
                          .hdr_len = le(static_cast<std::uint16_t>(hdr)),
                          .gso_size = le(static_cast<std::uint16_t>(size)),
                          .csum_start = le(static_cast<std::uint16_t>(start)),
                          .csum_offset = le(static_cast<std::uint16_t>(offset))};
    const auto info = from_tap(vnet);
    ASSERT_TRUE(info) << entry.path();
    const std::string name = entry.path().stem().string();
    EXPECT_TRUE(info->needs_checksum) << name;
    EXPECT_EQ(info->checksum_start, start) << name;
    EXPECT_EQ(info->checksum_offset, offset) << name;
    proto::GsoType expected = proto::GsoType::kNone;
    if (name.find("_gso_") != std::string::npos) {
      expected = name.find("udp") != std::string::npos ? proto::GsoType::kUdpL4
                 : name.starts_with("ipv4")            ? proto::GsoType::kTcpV4
                                                       : proto::GsoType::kTcpV6;
      EXPECT_EQ(info->gso_size, size) << name;
    }
    EXPECT_EQ(info->gso_type, expected) << name;
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

}  // namespace
}  // namespace lanparty::client_linux
