// SPDX-License-Identifier: MIT
// Incremental length-prefixed frame reassembly for stream 0.
#include <utility>

#include "frame_internal.hpp"
#include "lanparty/ctrl/codec.hpp"

namespace lanparty::ctrl {
namespace {

constexpr std::size_t kMaxBufferedFrame = kLengthPrefixBytes + kMaxFrameBytes;

}  // namespace

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (error_ || bytes.empty()) return;
  // Compact here rather than in next(), once per feed: many small frames in one feed then
  // cost one move of the tail, not one per frame.
  if (head_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

tl::expected<std::optional<Message>, FrameError> FrameDecoder::next() {
  const auto fail_with = [this](FrameError error) {
    error_ = error;
    std::vector<std::uint8_t>().swap(buffer_);  // the stream is dead: release the memory
    head_ = 0;
    return tl::unexpected<FrameError>(error);
  };
  if (error_) return tl::unexpected<FrameError>(*error_);

  const std::size_t available = buffered_bytes();
  if (available < kLengthPrefixBytes) return std::nullopt;
  const std::uint32_t length =
      load_be32(std::span<const std::uint8_t, kLengthPrefixBytes>(buffer_.data() + head_, 4));
  if (length == 0) return fail_with(FrameError::kEmpty);
  if (length > kMaxFrameBytes) return fail_with(FrameError::kTooLong);
  if (available - kLengthPrefixBytes < length) return std::nullopt;

  const std::string_view body(
      reinterpret_cast<const char*>(buffer_.data() + head_ + kLengthPrefixBytes), length);
  auto message = decode_message(body, options_);
  if (!message) return fail_with(message.error());
  head_ += kLengthPrefixBytes + length;
  if (head_ == buffer_.size()) {
    // Fully drained: reset without moving, and give back what one large feed grew.
    head_ = 0;
    buffer_.clear();
    if (buffer_.capacity() > 2 * kMaxBufferedFrame) std::vector<std::uint8_t>().swap(buffer_);
  }
  return std::optional<Message>(std::move(*message));
}

bool FrameDecoder::has_partial_frame() const noexcept {
  if (error_) return false;
  const std::size_t available = buffered_bytes();
  if (available == 0) return false;
  if (available < kLengthPrefixBytes) return true;
  const std::uint32_t length =
      load_be32(std::span<const std::uint8_t, kLengthPrefixBytes>(buffer_.data() + head_, 4));
  // A bad length is not a partial frame: next() reports it.
  if (length == 0 || length > kMaxFrameBytes) return false;
  return available - kLengthPrefixBytes < length;
}

}  // namespace lanparty::ctrl
