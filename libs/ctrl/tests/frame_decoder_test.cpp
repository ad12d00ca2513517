// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ctrl_test_support.hpp"
#include "lanparty/ctrl/codec.hpp"

namespace lanparty::ctrl {
namespace {

using test::frame;
using test::raw_frame;

const Disconnect kBye{.reason = "shutdown"};
const PeerLeft kLeft{.peer_id = 7, .reason = "timeout"};

std::string framed(const Message& message) {
  std::string out;
  EXPECT_TRUE(append_frame(message, out));
  return out;
}

// Drains every complete frame; stops at nullopt or the first error.
struct Drained {
  std::vector<Message> messages;
  std::optional<FrameError> error;
};

Drained drain(FrameDecoder& decoder) {
  Drained result;
  while (true) {
    auto next = decoder.next();
    if (!next) {
      result.error = next.error();
      return result;
    }
    if (!*next) return result;
    result.messages.push_back(std::move(**next));
  }
}

TEST(FrameDecoder, ReassemblesFramesFedOneByteAtATime) {
  const std::string stream = framed(kBye) + framed(kLeft);
  FrameDecoder decoder;
  std::vector<Message> got;
  for (const char c : stream) {
    decoder.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&c), 1));
    auto drained = drain(decoder);
    ASSERT_FALSE(drained.error);
    for (auto& m : drained.messages) got.push_back(std::move(m));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(std::get<Disconnect>(got[0]), kBye);
  EXPECT_EQ(std::get<PeerLeft>(got[1]), kLeft);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameDecoder, ReturnsEveryFrameOfOneFeedInOrder) {
  std::string stream;
  for (int i = 0; i < 50; ++i) {
    stream += framed(PeerLeft{.peer_id = static_cast<std::uint16_t>(i + 1), .reason = "closed"});
  }
  FrameDecoder decoder;
  decoder.feed(test::as_bytes(stream));
  const auto drained = drain(decoder);
  ASSERT_FALSE(drained.error);
  ASSERT_EQ(drained.messages.size(), 50u);
  for (std::size_t i = 0; i < drained.messages.size(); ++i) {
    EXPECT_EQ(std::get<PeerLeft>(drained.messages[i]).peer_id, i + 1);
  }
}

TEST(FrameDecoder, KeepsTrailingPartialFrameAfterCompleteOnes) {
  const std::string second = framed(kLeft);
  const std::string stream = framed(kBye) + second.substr(0, 10);
  FrameDecoder decoder;
  decoder.feed(test::as_bytes(stream));
  auto drained = drain(decoder);
  ASSERT_EQ(drained.messages.size(), 1u);
  EXPECT_EQ(decoder.buffered_bytes(), 10u);
  EXPECT_TRUE(decoder.has_partial_frame());

  decoder.feed(test::as_bytes(second.substr(10)));
  drained = drain(decoder);
  ASSERT_EQ(drained.messages.size(), 1u);
  EXPECT_EQ(std::get<PeerLeft>(drained.messages[0]), kLeft);
  EXPECT_FALSE(decoder.has_partial_frame());
}

TEST(FrameDecoder, PartialFrameStateTracksHeaderAndBody) {
  FrameDecoder decoder;
  EXPECT_FALSE(decoder.has_partial_frame());
  const std::string bytes = framed(kBye);
  decoder.feed(test::as_bytes(bytes.substr(0, 2)));  // half a length prefix
  EXPECT_TRUE(decoder.has_partial_frame());
  decoder.feed(test::as_bytes(bytes.substr(2, 4)));  // prefix done, 2 body bytes
  EXPECT_TRUE(decoder.has_partial_frame());
  const auto pending = decoder.next();
  ASSERT_TRUE(pending.has_value());
  EXPECT_FALSE(pending->has_value());
  decoder.feed(test::as_bytes(bytes.substr(6)));
  EXPECT_FALSE(decoder.has_partial_frame());  // complete: next() has something
  EXPECT_EQ(decoder.buffered_bytes(), bytes.size());
  ASSERT_TRUE(drain(decoder).messages.size() == 1u);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameDecoder, RejectsZeroLengthHeader) {
  FrameDecoder decoder;
  decoder.feed(raw_frame(0, ""));
  EXPECT_EQ(decoder.next(), tl::unexpected(FrameError::kEmpty));
}

TEST(FrameDecoder, RejectsOversizedLengthBeforeBodyArrives) {
  FrameDecoder decoder;
  decoder.feed(raw_frame(kMaxFrameBytes + 1, ""));  // header only, no body yet
  EXPECT_FALSE(decoder.has_partial_frame());
  EXPECT_EQ(decoder.next(), tl::unexpected(FrameError::kTooLong));
}

TEST(FrameDecoder, RejectsHugeLengthHeader) {
  FrameDecoder decoder;
  decoder.feed(raw_frame(0xFFFFFFFFu, "{}"));
  EXPECT_EQ(decoder.next(), tl::unexpected(FrameError::kTooLong));
}

TEST(FrameDecoder, AcceptsFrameOfExactlyMaxBytes) {
  std::string body = R"({"type":"disconnect","reason":")";
  body.append(kMaxFrameBytes - body.size() - 2, 'r').append("\"}");
  FrameDecoder decoder;
  decoder.feed(frame(body));
  const auto drained = drain(decoder);
  ASSERT_FALSE(drained.error);
  ASSERT_EQ(drained.messages.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Disconnect>(drained.messages[0]));
}

struct BadBody {
  std::string_view body;
  FrameError error;
};

class FrameDecoderBadBody : public ::testing::TestWithParam<BadBody> {};

TEST_P(FrameDecoderBadBody, ReportsFrameError) {
  FrameDecoder decoder;
  decoder.feed(frame(GetParam().body));
  EXPECT_EQ(decoder.next(), tl::unexpected(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, FrameDecoderBadBody,
    ::testing::Values(BadBody{"not json", FrameError::kNotJson},
                      BadBody{"[]", FrameError::kNotObject}, BadBody{"5", FrameError::kNotObject},
                      BadBody{R"({"x":1})", FrameError::kNoType},
                      BadBody{R"({"type":5})", FrameError::kNoType},
                      BadBody{R"({"type":"peer_left"})", FrameError::kMalformed}));

TEST(FrameDecoder, ErrorIsStickyAndLaterBytesAreDropped) {
  FrameDecoder decoder;
  decoder.feed(frame("[]"));
  EXPECT_EQ(decoder.next(), tl::unexpected(FrameError::kNotObject));
  decoder.feed(test::as_bytes(framed(kBye)));
  EXPECT_EQ(decoder.next(), tl::unexpected(FrameError::kNotObject));
  EXPECT_EQ(decoder.error(), FrameError::kNotObject);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
  EXPECT_FALSE(decoder.has_partial_frame());
}

TEST(FrameDecoder, FramesBeforeABadOneAreStillDelivered) {
  std::string stream = framed(kBye);
  const auto bad = raw_frame(0, "");
  stream.append(bad.begin(), bad.end());
  FrameDecoder decoder;
  decoder.feed(test::as_bytes(stream));
  const auto drained = drain(decoder);
  ASSERT_EQ(drained.messages.size(), 1u);
  EXPECT_EQ(drained.error, FrameError::kEmpty);
}

TEST(FrameDecoder, UnknownTypeIsDeliveredNotAnError) {
  FrameDecoder decoder;
  decoder.feed(frame(R"({"type":"future_thing","x":[1]})"));
  const auto drained = drain(decoder);
  ASSERT_FALSE(drained.error);
  ASSERT_EQ(drained.messages.size(), 1u);
  EXPECT_EQ(std::get<UnknownMessage>(drained.messages[0]).type, "future_thing");
}

TEST(FrameDecoder, HoldsAtMostOnePartialFrameAfterDraining) {
  // Many frames and a partial one at the end, in one feed: once drained, only the partial
  // frame's bytes remain.
  std::string stream;
  for (int i = 0; i < 100; ++i) stream += framed(kBye);
  std::string body = R"({"type":"disconnect","reason":")";
  body.append(kMaxFrameBytes - body.size() - 2, 'r').append("\"}");
  const auto big = frame(body);
  stream.append(big.begin(), big.end() - 1);
  FrameDecoder decoder;
  decoder.feed(test::as_bytes(stream));
  EXPECT_EQ(drain(decoder).messages.size(), 100u);
  EXPECT_EQ(decoder.buffered_bytes(), kLengthPrefixBytes + kMaxFrameBytes - 1);
  EXPECT_TRUE(decoder.has_partial_frame());
}

}  // namespace
}  // namespace lanparty::ctrl
