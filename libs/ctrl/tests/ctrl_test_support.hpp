// SPDX-License-Identifier: MIT
// Shared test helpers: readable gtest output for messages, and raw frame bytes.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/messages.hpp"

namespace lanparty::ctrl {

// gtest finds these by ADL, so a failed EXPECT_EQ shows JSON instead of raw bytes.
template <class T>
requires(!std::is_same_v<T, MalformedHello> && !std::is_same_v<T, UnknownMessage> &&
         std::is_constructible_v<Message, T>) void PrintTo(const T& message, std::ostream* os) {
  *os << encode_json(Message(message));
}
inline void PrintTo(const MalformedHello& message, std::ostream* os) {
  *os << "MalformedHello{" << message.why << "}";
}
inline void PrintTo(const UnknownMessage& message, std::ostream* os) {
  *os << "UnknownMessage{" << message.type << "}";
}
inline void PrintTo(FrameError error, std::ostream* os) { *os << to_string(error); }
inline void PrintTo(RejectCode code, std::ostream* os) { *os << to_string(code); }

namespace test {

// 4-byte big-endian length (any value, even an invalid one) followed by `body`.
inline std::vector<std::uint8_t> raw_frame(std::uint32_t length, std::string_view body) {
  std::vector<std::uint8_t> bytes = {
      static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
      static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
  bytes.insert(bytes.end(), body.begin(), body.end());
  return bytes;
}

// A MAC address from text that is known to be valid.
inline proto::MacAddress mac(std::string_view text) {
  return proto::MacAddress::parse(text).value();
}

// A correctly framed body.
inline std::vector<std::uint8_t> frame(std::string_view body) {
  return raw_frame(static_cast<std::uint32_t>(body.size()), body);
}

inline std::span<const std::uint8_t> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// What the relay answers a hello frame body with: the ValidHello, or the reject code;
// std::nullopt when the body is not a hello at all (the relay closes without a reject).
inline std::optional<tl::expected<ValidHello, RejectCode>> hello_verdict(std::string_view json) {
  auto message = decode_message(json);
  if (!message) return std::nullopt;
  if (std::holds_alternative<MalformedHello>(*message)) {
    return tl::expected<ValidHello, RejectCode>(tl::unexpect, RejectCode::kMalformedHello);
  }
  if (const auto* hello = std::get_if<Hello>(&*message)) return validate_hello(*hello);
  return std::nullopt;
}

// Decodes `json` and expects a message of type T (a default T and a recorded failure
// otherwise).
template <class T>
T decode_as(std::string_view json, DecodeOptions options = {}) {
  auto message = decode_message(json, options);
  EXPECT_TRUE(message.has_value()) << json;
  if (!message) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*message)) << json << " -> " << message_type(*message);
  const T* value = std::get_if<T>(&*message);
  return value != nullptr ? *value : T{};
}

// Decodes `json` and expects it to fail; returns why.
inline FrameError decode_error(std::string_view json) {
  auto message = decode_message(json);
  EXPECT_FALSE(message.has_value()) << json;
  return message ? FrameError{} : message.error();
}

}  // namespace test
}  // namespace lanparty::ctrl
