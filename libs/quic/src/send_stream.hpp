// SPDX-License-Identifier: MIT
// One QUIC stream's outgoing bytes (the control stream's buffering), kept until the peer
// acknowledges them, since ngtcp2 does not copy what it is given.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace lanparty::quic::detail {

// Outgoing bytes of one stream, kept until acknowledged (ngtcp2 does not copy).
class SendStream {
 public:
  void append(std::span<const std::uint8_t> data);
  // Up to max vectors covering unsent bytes; returns the count.
  std::size_t unsent(ngtcp2_vec* out, std::size_t max) const noexcept;
  [[nodiscard]] std::uint64_t unsent_bytes() const noexcept { return total_ - written_; }
  void mark_written(std::uint64_t n) noexcept { written_ += n; }
  void on_acked(std::uint64_t offset, std::uint64_t length) noexcept;
  [[nodiscard]] bool has_pending() const noexcept {
    return !discarded_ && (written_ < total_ || (fin_queued_ && !fin_written_));
  }
  [[nodiscard]] bool all_acked() const noexcept { return discarded_ || acked_ >= total_; }
  void discard() noexcept;

  bool fin_queued_ = false;
  bool fin_written_ = false;
  bool blocked_ = false;  // flow control said no during this write pass
  bool closed_ = false;   // ngtcp2 closed the stream; erased at the next write pass
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }
  [[nodiscard]] std::uint64_t acked() const noexcept { return acked_; }

 private:
  std::deque<std::vector<std::uint8_t>> chunks_;
  std::uint64_t front_offset_ = 0;  // stream offset of chunks_.front()[0]
  std::uint64_t total_ = 0;         // bytes ever appended
  std::uint64_t written_ = 0;       // bytes handed to ngtcp2
  std::uint64_t acked_ = 0;         // contiguous acknowledged prefix
  bool discarded_ = false;
};

}  // namespace lanparty::quic::detail
