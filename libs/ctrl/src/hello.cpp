// SPDX-License-Identifier: MIT
// Hello checks 1-5 in PROTOCOL.md's order; the first failure names the reject code.
#include "lanparty/ctrl/hello.hpp"

namespace lanparty::ctrl {
namespace {

// ASCII only, independent of the C locale (std::isalnum is neither).
constexpr bool is_ascii_alnum(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

constexpr bool is_utf8_continuation(char c) noexcept {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

constexpr std::size_t kMinRoomBytes = 3;   // one leading character + {2,
constexpr std::size_t kMaxRoomBytes = 32;  //                          31}
constexpr std::size_t kMaxUtf8ContinuationBytes = 3;

}  // namespace

bool is_valid_room(std::string_view room) noexcept {
  if (room.size() < kMinRoomBytes || room.size() > kMaxRoomBytes) return false;
  if (!is_ascii_alnum(room.front())) return false;
  for (const char c : room.substr(1)) {
    if (!is_ascii_alnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text;
  // text[cut] is the first byte left out. If it continues a sequence, that sequence began at
  // most 3 bytes earlier: back up to its lead byte. The bound keeps invalid UTF-8 (long runs
  // of continuation bytes) from shrinking the result further.
  std::size_t cut = max_bytes;
  for (std::size_t i = 0;
       i < kMaxUtf8ContinuationBytes && cut > 0 && is_utf8_continuation(text[cut]); ++i) {
    --cut;
  }
  return text.substr(0, cut);
}

tl::expected<ValidHello, RejectCode> validate_hello(const Hello& hello) {
  const auto reject = [](RejectCode code) { return tl::unexpected<RejectCode>(code); };
  if (hello.max_datagram < kMinHelloMaxDatagram || hello.max_datagram > kMaxHelloMaxDatagram) {
    return reject(RejectCode::kMalformedHello);
  }
  if (hello.protocol != kProtocolVersion) return reject(RejectCode::kUnsupportedProtocol);
  const auto role = parse_role(hello.role);
  if (!role) return reject(RejectCode::kInvalidRole);
  if (!is_valid_room(hello.room)) return reject(RejectCode::kInvalidRoom);
  const auto mac = proto::MacAddress::parse(hello.mac);
  if (!mac || !mac->is_unicast() || mac->is_zero()) return reject(RejectCode::kInvalidMac);

  return ValidHello{
      .role = *role,
      .room = hello.room,
      .mac = *mac,
      .max_datagram = static_cast<std::uint16_t>(hello.max_datagram),
      .software = hello.software ? std::string(utf8_prefix(*hello.software, kMaxSoftwareBytes))
                                 : std::string(),
      .room_key = hello.room_key,
      .room_proof = hello.room_proof,
      .invite = hello.invite,
  };
}

}  // namespace lanparty::ctrl
