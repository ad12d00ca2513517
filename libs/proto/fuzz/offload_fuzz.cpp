// SPDX-License-Identifier: MIT
// libFuzzer target for the gateway's offload finishing (offload.hpp): whatever the LAN and the
// kernel's metadata say, completing a checksum and cutting a super-frame stay inside their
// buffers, and no segment exceeds the frame size asked for.
// Input: flags(1: bit 0 needs_checksum) gso_type(1: 0-3) gso_size(2) csum_start(2)
// csum_offset(2) max_frame(2), then the Ethernet frame.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lanparty/base/check.hpp"
#include "lanparty/proto/offload.hpp"

namespace lp = lanparty::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kControl = 10;
  if (size < kControl) return 0;
  auto u16 = [&](std::size_t at) {
    return static_cast<std::uint16_t>((data[at] << 8) | data[at + 1]);
  };
  lp::OffloadInfo info{.needs_checksum = (data[0] & 1) != 0,
                       .checksum_start = u16(4),
                       .checksum_offset = u16(6),
                       .gso_type = static_cast<lp::GsoType>(data[1] % 4),
                       .gso_size = u16(2)};
  const std::size_t max_frame = u16(8);
  std::vector<std::uint8_t> frame(data + kControl, data + size);

  if (info.needs_checksum) {
    auto copy = frame;
    const auto done = lp::complete_checksum(copy, info.checksum_start, info.checksum_offset);
    if (done)
      LANPARTY_CHECK(std::size_t{info.checksum_start} + info.checksum_offset + 2 <= copy.size());
  }
  if (info.gso_type == lp::GsoType::kNone) return 0;
  auto segmenter = lp::Segmenter::create(frame, info, max_frame);
  if (!segmenter) return 0;
  std::vector<std::uint8_t> out(segmenter->max_frame_size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < segmenter->count() && i < 4096; ++i) {
    const std::size_t n = segmenter->write(i, out);
    LANPARTY_CHECK(n <= out.size());
    LANPARTY_CHECK(n <= max_frame);
    total += n;
  }
  LANPARTY_CHECK(total >= frame.size() || segmenter->count() > 4096);
  return 0;
}
