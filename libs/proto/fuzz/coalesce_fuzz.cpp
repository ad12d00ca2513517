// SPDX-License-Identifier: MIT
// libFuzzer target for user-space GRO (coalesce.hpp): whatever arrives from the room, the
// Coalescer stays inside its buffer, and what it emits, with each super-frame cut back by the
// Segmenter at its gso_size, is the frames it was given, in order (Ethernet padding cut;
// checksum fields compared by validity, since 0 and 0xffff both say "zero").
// Input: mode(1), then
// - mode bit 0 set: a GSO super-frame in offload_fuzz's layout (10 control bytes + frame), cut
//   by the Segmenter into segments that are all offered; with mode bit 1, byte (mode >> 2) of
//   segment 1 is flipped first, so damaged segments must stay apart;
// - mode bit 0 clear: frames as [length(2)][bytes], offered as they are.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lanparty/base/check.hpp"
#include "lanparty/proto/coalesce.hpp"
#include "lanparty/proto/offload.hpp"

namespace lp = lanparty::proto;

namespace {

std::vector<std::vector<std::uint8_t>> frames_from(const std::uint8_t* data, std::size_t size) {
  std::vector<std::vector<std::uint8_t>> out;
  const std::uint8_t mode = data[0];
  ++data;
  --size;
  if ((mode & 1) == 0) {
    while (size >= 2 && out.size() < 256) {
      const std::size_t length = std::size_t{data[0]} << 8 | data[1];
      const std::size_t n = std::min(length, size - 2);
      out.emplace_back(data + 2, data + 2 + n);
      data += 2 + n;
      size -= 2 + n;
    }
    return out;
  }
  if (size < 10) return out;
  auto u16 = [&](std::size_t at) {
    return static_cast<std::uint16_t>((data[at] << 8) | data[at + 1]);
  };
  const lp::OffloadInfo info{.needs_checksum = (data[0] & 1) != 0,
                             .checksum_start = u16(4),
                             .checksum_offset = u16(6),
                             .gso_type = static_cast<lp::GsoType>(data[1] % 4),
                             .gso_size = u16(2)};
  const std::span<const std::uint8_t> frame(data + 10, size - 10);
  auto segmenter = lp::Segmenter::create(frame, info, std::max<std::size_t>(u16(8), 64));
  if (!segmenter || segmenter->count() > 256) return out;
  for (std::size_t i = 0; i < segmenter->count(); ++i) {
    std::vector<std::uint8_t> seg(segmenter->frame_size(i));
    segmenter->write(i, seg);
    out.push_back(std::move(seg));
  }
  if ((mode & 2) != 0 && out.size() > 1 && !out[1].empty()) {
    out[1][(mode >> 2) % out[1].size()] ^= 0x5a;
  }
  return out;
}

// Whether `out` is `in` up to Ethernet padding, checksum fields aside (their validity is the
// Segmenter's tested business). `l3`/`l4`: where the IP and TCP headers are in both.
bool same_segment(std::span<const std::uint8_t> out, std::span<const std::uint8_t> in,
                  std::size_t l3, std::size_t l4, bool ipv4) {
  if (out.size() > in.size()) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (ipv4 && (i == l3 + 10 || i == l3 + 11)) continue;
    if (i == l4 + 16 || i == l4 + 17) continue;
    if (out[i] != in[i]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto frames = frames_from(data, size);
  lp::Coalescer coalescer;
  std::size_t next = 0;  // the input frame the next output must reproduce
  auto emit = [&](std::span<const std::uint8_t> f, const lp::OffloadInfo& info) {
    LANPARTY_CHECK(f.size() <= lp::Coalescer::kMaxSuperFrameBytes);
    if (info.gso_type == lp::GsoType::kNone) {
      LANPARTY_CHECK(next < frames.size());
      const auto& in = frames[next++];
      LANPARTY_CHECK(f.size() <= in.size() && std::equal(f.begin(), f.end(), in.begin()));
      return;
    }
    LANPARTY_CHECK(info.needs_checksum && info.header_size > info.checksum_start);
    std::vector<std::uint8_t> copy(f.begin(), f.end());
    LANPARTY_CHECK(lp::complete_checksum(copy, info.checksum_start, info.checksum_offset));
    auto segmenter = lp::Segmenter::create(f, info, info.header_size + info.gso_size);
    LANPARTY_CHECK(segmenter.has_value() && segmenter->count() >= 2);
    const bool ipv4 = info.gso_type == lp::GsoType::kTcpV4;
    const std::size_t l3 = f[12] == 0x81 && f[13] == 0x00 ? 18 : 14;
    std::vector<std::uint8_t> seg(segmenter->max_frame_size());
    for (std::size_t i = 0; i < segmenter->count(); ++i) {
      LANPARTY_CHECK(next < frames.size());
      const std::size_t n = segmenter->write(i, seg);
      LANPARTY_CHECK(
          same_segment(std::span(seg).first(n), frames[next++], l3, info.checksum_start, ipv4));
    }
  };
  for (const auto& f : frames) coalescer.add(f, emit);
  coalescer.flush(emit);
  LANPARTY_CHECK(!coalescer.pending());
  LANPARTY_CHECK(next == frames.size());
  const auto& c = coalescer.counters();
  LANPARTY_CHECK(c.frames == frames.size());
  LANPARTY_CHECK(c.passed + c.merged == frames.size());
  return 0;
}
