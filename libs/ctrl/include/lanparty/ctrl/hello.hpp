// SPDX-License-Identifier: MIT
// The stateless part of the relay's hello checks (PROTOCOL.md section 2, checks 1-5), so the
// relay, tests and fuzzers agree on which reject code a hello earns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "lanparty/ctrl/messages.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::ctrl {

inline constexpr std::int64_t kMinHelloMaxDatagram = 64;
inline constexpr std::int64_t kMaxHelloMaxDatagram = 65535;
inline constexpr std::size_t kMaxSoftwareBytes = 64;  // the relay keeps at most this much

// A hello that passed checks 1-5. Checks 6-11 need relay state and stay with the relay.
struct ValidHello {
  Role role = Role::kClient;
  std::string room;
  proto::MacAddress mac;           // unicast, not all-zero
  std::uint16_t max_datagram = 0;  // 64..65535
  std::string software;            // utf8_prefix(software, kMaxSoftwareBytes); "" when absent
  // Section 7 credentials, copied unchecked from the hello: verifying them needs the relay's
  // room records and mode, so it stays with the relay (between checks 5 and 6).
  std::optional<std::string> room_key = std::nullopt;
  std::optional<std::string> room_proof = std::nullopt;
  std::optional<std::string> invite = std::nullopt;

  friend bool operator==(const ValidHello&, const ValidHello&) = default;
};

// Runs, in order, and returns the first failure:
// 1. kMalformedHello: max_datagram outside 64..65535 (missing fields and wrong JSON types
//    never get here: decode_message returns MalformedHello for those; answer it with this
//    same code);
// 2. kUnsupportedProtocol: protocol != 1;  3. kInvalidRole: not "client"/"gateway";
// 4. kInvalidRoom: !is_valid_room(room);   5. kInvalidMac: unparsable, multicast or zero.
[[nodiscard]] tl::expected<ValidHello, RejectCode> validate_hello(const Hello& hello);

// The whole string matches [A-Za-z0-9][A-Za-z0-9_-]{2,31}: ASCII only, case-sensitive,
// nothing before or after (a trailing "\n" is invalid).
[[nodiscard]] bool is_valid_room(std::string_view room) noexcept;

// The longest prefix of `text` of at most `max_bytes` bytes that does not split a UTF-8
// multi-byte sequence. Views `text`.
[[nodiscard]] std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) noexcept;

}  // namespace lanparty::ctrl
