// SPDX-License-Identifier: MIT
// SendStream: appended chunks, the unsent part as ngtcp2 vectors, freeing acknowledged chunks.
#include "send_stream.hpp"

#include <algorithm>

namespace lanparty::quic::detail {

void SendStream::append(std::span<const std::uint8_t> data) {
  if (data.empty() || discarded_) return;
  chunks_.emplace_back(data.begin(), data.end());
  total_ += data.size();
}

std::size_t SendStream::unsent(ngtcp2_vec* out, std::size_t max) const noexcept {
  std::size_t count = 0;
  std::uint64_t offset = front_offset_;
  for (const auto& chunk : chunks_) {
    if (count == max) break;
    const std::uint64_t end = offset + chunk.size();
    if (end > written_) {
      const std::size_t skip = written_ > offset ? static_cast<std::size_t>(written_ - offset) : 0;
      out[count].base = const_cast<std::uint8_t*>(chunk.data() + skip);
      out[count].len = chunk.size() - skip;
      ++count;
    }
    offset = end;
  }
  return count;
}

void SendStream::on_acked(std::uint64_t offset, std::uint64_t length) noexcept {
  acked_ = std::max(acked_, offset + length);
  // Free whole chunks below the acknowledged prefix; ngtcp2 no longer needs them.
  while (!chunks_.empty() && front_offset_ + chunks_.front().size() <= acked_) {
    front_offset_ += chunks_.front().size();
    chunks_.pop_front();
  }
}

void SendStream::discard() noexcept {
  discarded_ = true;
  chunks_.clear();
}

}  // namespace lanparty::quic::detail
