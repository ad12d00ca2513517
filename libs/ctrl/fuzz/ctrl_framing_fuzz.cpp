// SPDX-License-Identifier: MIT
// libFuzzer target: FrameDecoder over arbitrary bytes. Byte 0 picks how the rest is split;
// the split result must equal the all-at-once result, and buffering must stay bounded.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "lanparty/base/check.hpp"
#include "lanparty/ctrl/codec.hpp"

namespace {

using lanparty::ctrl::FrameDecoder;
using lanparty::ctrl::FrameError;
using lanparty::ctrl::kLengthPrefixBytes;
using lanparty::ctrl::kMaxFrameBytes;
using lanparty::ctrl::Message;

struct Outcome {
  std::vector<Message> messages;
  std::optional<FrameError> error;
};

void drain(FrameDecoder& decoder, Outcome& outcome) {
  while (!outcome.error) {
    auto next = decoder.next();
    if (!next) {
      outcome.error = next.error();
      // Sticky: asking again gives the same answer.
      auto again = decoder.next();
      LANPARTY_CHECK(!again && again.error() == outcome.error);
    } else if (!*next) {
      return;
    } else {
      outcome.messages.push_back(std::move(**next));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t split_seed = data[0];
  const std::span<const std::uint8_t> stream(data + 1, size - 1);

  FrameDecoder whole_decoder;
  whole_decoder.feed(stream);
  Outcome whole;
  drain(whole_decoder, whole);

  // Piece sizes from a small xorshift so one seed byte gives an irregular pattern; seed 0
  // feeds one byte at a time.
  FrameDecoder split_decoder;
  Outcome split;
  std::uint32_t state = split_seed | 0x100u;
  std::size_t at = 0;
  while (at < stream.size()) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    const std::size_t piece = split_seed == 0 ? 1 : 1 + state % (2u * split_seed + 1u);
    const std::size_t n = piece < stream.size() - at ? piece : stream.size() - at;
    split_decoder.feed(stream.subspan(at, n));
    at += n;
    drain(split_decoder, split);
    LANPARTY_CHECK(split_decoder.buffered_bytes() < kLengthPrefixBytes + kMaxFrameBytes);
  }

  LANPARTY_CHECK(split.error == whole.error);
  LANPARTY_CHECK(split.messages == whole.messages);
  LANPARTY_CHECK(split_decoder.buffered_bytes() == whole_decoder.buffered_bytes());
  LANPARTY_CHECK(split_decoder.has_partial_frame() == whole_decoder.has_partial_frame());
  return 0;
}
