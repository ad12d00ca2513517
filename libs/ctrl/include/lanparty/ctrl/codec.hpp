// SPDX-License-Identifier: MIT
// Control-stream framing and JSON (PROTOCOL.md section 2): Message <-> one JSON object, and
// the 4-byte length prefix, with an incremental decoder for bytes arriving in any split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "lanparty/base/result.hpp"
#include "lanparty/ctrl/messages.hpp"

namespace lanparty::ctrl {

// Frame layout: | length N: 4 bytes, unsigned big-endian | N bytes of UTF-8 JSON, one object |
// with 1 <= N <= kMaxFrameBytes.
inline constexpr std::size_t kLengthPrefixBytes = 4;
inline constexpr std::size_t kMaxFrameBytes = 16384;

// Why a frame is a protocol violation. Every one means: close with application error 1.
enum class FrameError : std::uint8_t {
  kEmpty,      // N == 0
  kTooLong,    // N > kMaxFrameBytes
  kNotJson,    // not one UTF-8 JSON value (a leading byte-order mark counts as not JSON)
  kNotObject,  // JSON, but not an object
  kNoType,     // `type` missing or not a string
  kMalformed,  // a known message other than hello (welcome, reject, peer_joined, peer_left,
               // stats, disconnect, kick, revoke, revoked) whose fields are missing, of the
               // wrong type or out of range
};
// "empty_frame", "frame_too_long", "not_json", "not_object", "no_type", "malformed".
[[nodiscard]] std::string_view to_string(FrameError error) noexcept;
// Errc::kProtocolViolation with context "ctrl frame: <to_string(error)>", for module
// boundaries that speak Result.
[[nodiscard]] Error to_error(FrameError error);

// Which vocabulary a decoder reads.
struct DecodeOptions {
  // PROTOCOL.md section 7. true: hello's room_key/room_proof/invite, peers' name/invite_id and
  // the kick/revoke/revoked messages are decoded (and checked: a field of the wrong JSON type
  // makes the hello MalformedHello, any other message kMalformed). false: sections 1-6 exactly,
  // as an `open` relay must read them: those fields are ignored like any unknown field and
  // those types decode as UnknownMessage (so a malformed "kick" is ignored, not fatal).
  bool room_ownership = true;
};

// Decodes one frame body (the JSON object, no length prefix). Never throws; allocates.
// - The frame size limits apply: "" is kEmpty, more than kMaxFrameBytes is kTooLong.
// - Integers are JSON numbers with no fraction and no exponent that fit int64 ("-0" is 0);
//   1.0, 1e0 and 9223372036854775808 are the wrong type. Fields with narrower ranges
//   (peer_id 1..65535, mtu uint32, counts >= 0) are kMalformed outside them.
// - A duplicated key keeps its last value (as JavaScript, Python and Go decoders do).
// - Unknown fields are ignored; an unknown `type` gives UnknownMessage.
// - "type":"hello" with a missing/wrongly typed field (software: null included) gives
//   MalformedHello, never an error: the relay must answer it with a reject. Hello values
//   (protocol, ranges, spellings) are checked later by validate_hello.
// - Relay->peer messages decode strictly (kMalformed), except the texts for people:
//   reject.message and disconnect.reason may be absent (""), and stats.dropped /
//   stats.tx_dropped may be absent (empty). Roles and MACs in peers must parse; MACs may be
//   either case. peers[].name / invite_id, when present, must be strings.
// - Section 7 (with options.room_ownership): kick needs peer_id 1..65535 and an optional
//   string reason; revoke a string invite_id (any text: the relay ignores a malformed id)
//   and an optional integer exp; revoked a string invite_id and kicked 0..INT64_MAX. Any
//   other shape is kMalformed (the relay closes with application error 1).
[[nodiscard]] tl::expected<Message, FrameError> decode_message(std::string_view json,
                                                               DecodeOptions options) noexcept;
// decode_message(json, DecodeOptions{}): the whole protocol, section 7 included.
[[nodiscard]] tl::expected<Message, FrameError> decode_message(std::string_view json) noexcept;

// Compact JSON with `type` first and fields in PROTOCOL.md's order; MACs in lower case;
// stats.dropped/tx_dropped always present; optional fields only when set (section 7's after
// the section 2 fields). Strings that are not valid UTF-8 have each bad byte replaced by
// U+FFFD (the wire is UTF-8). MalformedHello and UnknownMessage are not encodable: returns "".
[[nodiscard]] std::string encode_json(const Message& message);

// Appends length prefix + encode_json(message) to `out`. Fails, leaving `out` unchanged,
// with Errc::kTooLarge if the JSON exceeds kMaxFrameBytes and Errc::kInvalidArgument for a
// message that is not encodable.
[[nodiscard]] Status append_frame(const Message& message, std::string& out);
// Same for JSON text as is (not checked: tests use it to send bad bodies). Fails with
// kInvalidArgument for "" and kTooLarge above kMaxFrameBytes.
[[nodiscard]] Status append_frame(std::string_view json, std::string& out);

// Incremental frame decoder for one direction of stream 0. Not thread-safe; no I/O.
// Usage: feed() what the stream delivered, then call next() until it returns nullopt or an
// error. Drained that way, it holds at most one partial frame (< 4 + kMaxFrameBytes bytes).
class FrameDecoder {
 public:
  FrameDecoder() = default;  // DecodeOptions{}: the whole protocol
  explicit FrameDecoder(DecodeOptions options) noexcept : options_(options) {}

  // Copies `bytes`. Ignored once an error was returned (the stream is dead).
  void feed(std::span<const std::uint8_t> bytes);

  // The next complete frame's message; nullopt when more bytes are needed. A bad length
  // (0 or > kMaxFrameBytes) is reported as soon as its 4 bytes are here, before any body.
  // Errors are sticky: every later call returns the same error.
  [[nodiscard]] tl::expected<std::optional<Message>, FrameError> next();

  // Bytes fed but not yet consumed by next().
  [[nodiscard]] std::size_t buffered_bytes() const noexcept { return buffer_.size() - head_; }
  // True when bytes are buffered but next() needs more to return anything: a frame has
  // started and not finished (the hello timer must not restart on such data).
  [[nodiscard]] bool has_partial_frame() const noexcept;
  [[nodiscard]] std::optional<FrameError> error() const noexcept { return error_; }

 private:
  std::vector<std::uint8_t> buffer_;
  std::size_t head_ = 0;  // first unconsumed byte of buffer_
  std::optional<FrameError> error_;
  DecodeOptions options_;
};

}  // namespace lanparty::ctrl
