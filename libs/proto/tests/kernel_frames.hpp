// SPDX-License-Identifier: MIT
// Test support: frames the Linux kernel made (tests/kernel_frames, captured by
// capture_offload_frames.py from a veth with its default offloads), tagged by hand where the
// capturing kernel had no 802.1Q, and a frame verifier written here independently: byte by
// byte, no shared code with src/offload.cpp or src/coalesce.cpp.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lanparty/proto/offload.hpp"

namespace lanparty::proto::test_support {

using Bytes = std::vector<std::uint8_t>;

struct KernelFrame {
  std::string name;
  OffloadInfo info;
  std::uint16_t hdr_len = 0;
  Bytes frame;
};

// virtio_net_hdr gso_type values (include/uapi/linux/virtio_net.h).
inline GsoType gso_from_virtio(int type) {
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

inline std::vector<KernelFrame> load_kernel_frames() {
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
inline KernelFrame tagged(KernelFrame k) {
  const Bytes tag = {0x81, 0x00, 0x60, 0x05};
  k.frame.insert(k.frame.begin() + 12, tag.begin(), tag.end());
  k.info.checksum_start = static_cast<std::uint16_t>(k.info.checksum_start + 4);
  k.name += "_tagged";
  return k;
}

// --- an independent reference: RFC 1071 the slow way ------------------------------------
inline std::uint16_t reference_sum(const Bytes& data) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    const std::uint32_t hi = data[i];
    const std::uint32_t lo = i + 1 < data.size() ? data[i + 1] : 0;
    sum += (hi << 8) | lo;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(sum);
}
inline std::uint16_t rd16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
inline std::uint32_t rd32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

struct Parsed {
  std::size_t l3 = 0, l4 = 0, l4_end = 0, header_end = 0;
  bool ipv4 = false, tcp = false;
};

// Parses a finished frame, checks every length and checksum a receiving kernel would check,
// and says where its payload is.
inline ::testing::AssertionResult verify_frame(const Bytes& f, Parsed* out = nullptr) {
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
inline std::vector<KernelFrame> all_frames() {
  std::vector<KernelFrame> out;
  for (auto& k : load_kernel_frames()) {
    out.push_back(tagged(k));
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace lanparty::proto::test_support
