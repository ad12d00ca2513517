// SPDX-License-Identifier: MIT
// Test support for the apps' frame-path tests: TCP segments of one flow with valid checksums,
// as a sender's TSO cuts them (the Segmenter cuts a hand-made IPv4 super-frame).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lanparty/proto/offload.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::proto::test_support {

// `count` segments of `mss` payload bytes from 10.213.77.2:5201 to 10.213.77.1:40000, between
// the given MACs, starting at sequence number `seq`; empty if the Segmenter refused.
inline std::vector<std::vector<std::uint8_t>> tcp_segments(const MacAddress& destination,
                                                           const MacAddress& source,
                                                           std::uint32_t seq, std::size_t count,
                                                           std::size_t mss = 1448) {
  std::vector<std::uint8_t> f(destination.bytes().begin(), destination.bytes().end());
  f.insert(f.end(), source.bytes().begin(), source.bytes().end());
  f.insert(f.end(), {0x08, 0x00, 0x45, 0,  0,   0,  0x12, 0x34, 0x40, 0,  64,
                     6,    0,    0,    10, 213, 77, 2,    10,   213,  77, 1});
  std::vector<std::uint8_t> tcp(20, 0);
  store_be16(tcp, 0, 5201);
  store_be16(tcp, 2, 40000);
  store_be32(tcp, 4, seq);
  store_be32(tcp, 8, 1);
  tcp[12] = 0x50;
  tcp[13] = 0x10;  // ACK
  store_be16(tcp, 14, 500);
  f.insert(f.end(), tcp.begin(), tcp.end());
  f.resize(f.size() + mss * count, 0x61);
  store_be16(f, 16, static_cast<std::uint16_t>(f.size() - 14));
  const OffloadInfo info{.gso_type = GsoType::kTcpV4, .gso_size = static_cast<std::uint16_t>(mss)};
  auto segmenter = Segmenter::create(f, info, 14 + 40 + mss);
  std::vector<std::vector<std::uint8_t>> out;
  for (std::size_t i = 0; segmenter && i < segmenter->count(); ++i) {
    std::vector<std::uint8_t> seg(segmenter->frame_size(i));
    segmenter->write(i, seg);
    out.push_back(std::move(seg));
  }
  return out;
}

}  // namespace lanparty::proto::test_support
