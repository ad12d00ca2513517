// SPDX-License-Identifier: MIT
// libFuzzer target: decode_message + validate_hello on arbitrary text. Whatever decodes must
// re-encode to JSON that decodes to the same message, a valid hello must satisfy checks 1-5,
// and the `open` relay's decoder (sections 1-6 only) must be the full one minus section 7.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "lanparty/base/check.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/hello.hpp"

namespace ctrl = lanparty::ctrl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto message = ctrl::decode_message(text);

  // An `open` relay's decoder is the full one minus section 7: never stricter, and it never
  // produces section 7 values.
  const auto open = ctrl::decode_message(text, ctrl::DecodeOptions{.room_ownership = false});
  LANPARTY_CHECK(open.has_value() || !message.has_value());
  if (open) {
    LANPARTY_CHECK(!std::holds_alternative<ctrl::Kick>(*open) &&
                   !std::holds_alternative<ctrl::Revoke>(*open) &&
                   !std::holds_alternative<ctrl::Revoked>(*open));
    if (const auto* hello = std::get_if<ctrl::Hello>(&*open)) {
      LANPARTY_CHECK(!hello->room_key && !hello->room_proof && !hello->invite);
    }
  }
  if (!message) return 0;

  if (const auto* hello = std::get_if<ctrl::Hello>(&*message)) {
    const auto valid = ctrl::validate_hello(*hello);
    if (valid) {
      LANPARTY_CHECK(hello->protocol == ctrl::kProtocolVersion);
      LANPARTY_CHECK(ctrl::is_valid_room(valid->room));
      LANPARTY_CHECK(valid->mac.is_unicast() && !valid->mac.is_zero());
      LANPARTY_CHECK(valid->max_datagram >= ctrl::kMinHelloMaxDatagram);
      LANPARTY_CHECK(valid->software.size() <= ctrl::kMaxSoftwareBytes);
    }
  }

  const std::string json = ctrl::encode_json(*message);
  if (json.empty()) {
    LANPARTY_CHECK(std::holds_alternative<ctrl::MalformedHello>(*message) ||
                   std::holds_alternative<ctrl::UnknownMessage>(*message));
    return 0;
  }
  // Re-encoding can grow (absent optional fields are written out), past the frame limit.
  if (json.size() > ctrl::kMaxFrameBytes) return 0;
  const auto again = ctrl::decode_message(json);
  LANPARTY_CHECK(again.has_value());
  LANPARTY_CHECK(*again == *message);
  return 0;
}
