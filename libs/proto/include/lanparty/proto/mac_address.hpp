// SPDX-License-Identifier: MIT
// A 48-bit IEEE 802 MAC address: a value type that is valid by construction (parse, don't
// validate), with the bit tests the relay's forwarding rules need.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"

namespace lanparty::proto {

class MacAddress {
 public:
  static constexpr std::size_t kSize = 6;
  // "02:5a:11:22:33:44": six octets, two hex digits each, five ':' separators.
  static constexpr std::size_t kTextSize = 17;

  // All zero (00:00:00:00:00:00); never a valid peer MAC (hello requires non-zero).
  constexpr MacAddress() noexcept = default;
  constexpr explicit MacAddress(std::array<std::uint8_t, kSize> bytes) noexcept : bytes_(bytes) {}

  // Copies six bytes in wire order (e.g. straight out of an Ethernet header).
  [[nodiscard]] static constexpr MacAddress from_bytes(
      std::span<const std::uint8_t, kSize> bytes) noexcept {
    MacAddress mac;
    for (std::size_t i = 0; i < kSize; ++i) mac.bytes_[i] = bytes[i];
    return mac;
  }

  // Exactly six two-hex-digit octets separated by ':', either case, nothing else: no
  // whitespace, no '-', no single-digit octets. Fails with Errc::kParseError and a context
  // naming the input and the first problem found. Does not check unicast/non-zero: that is
  // hello policy (PROTOCOL.md section 2), not syntax.
  [[nodiscard]] static Result<MacAddress> parse(std::string_view text);

  // A locally administered unicast address from six random bytes: sets the U/L bit (0x02)
  // and clears the I/G bit (0x01) of the first octet, so the result is never all-zero.
  [[nodiscard]] static constexpr MacAddress random_local_unicast(
      std::span<const std::uint8_t, kSize> random_bytes) noexcept {
    MacAddress mac = from_bytes(random_bytes);
    mac.bytes_[0] = static_cast<std::uint8_t>((mac.bytes_[0] | kLocalBit) & ~kGroupBit);
    return mac;
  }

  // Same, drawing the six bytes from `gen` (e.g. std::random_device or a seeded engine).
  template <std::uniform_random_bit_generator G>
  [[nodiscard]] static MacAddress random_local_unicast(G& gen) {
    // uniform_int_distribution is undefined for 8-bit types, hence unsigned + cast.
    std::uniform_int_distribution<unsigned> octet(0, 255);
    std::array<std::uint8_t, kSize> raw{};
    for (auto& b : raw) b = static_cast<std::uint8_t>(octet(gen));
    return random_local_unicast(std::span<const std::uint8_t, kSize>(raw));
  }

  [[nodiscard]] constexpr const std::array<std::uint8_t, kSize>& bytes() const noexcept {
    return bytes_;
  }

  // Lower-case colon form, the form the relay repeats on the wire.
  [[nodiscard]] std::string to_string() const;
  // Same text without allocating (no terminating NUL), for per-frame logging.
  [[nodiscard]] constexpr std::array<char, kTextSize> to_chars() const noexcept {
    constexpr std::string_view kHex = "0123456789abcdef";
    std::array<char, kTextSize> out{};
    for (std::size_t i = 0; i < kSize; ++i) {
      out[i * 3] = kHex[bytes_[i] >> 4];
      out[i * 3 + 1] = kHex[bytes_[i] & 0x0f];
      if (i + 1 < kSize) out[i * 3 + 2] = ':';
    }
    return out;
  }

  // I/G bit of the first octet set: multicast, broadcast included (section 5 rule 5).
  [[nodiscard]] constexpr bool is_multicast() const noexcept {
    return (bytes_[0] & kGroupBit) != 0;
  }
  [[nodiscard]] constexpr bool is_unicast() const noexcept { return !is_multicast(); }
  // ff:ff:ff:ff:ff:ff.
  [[nodiscard]] constexpr bool is_broadcast() const noexcept {
    for (auto b : bytes_)
      if (b != 0xff) return false;
    return true;
  }
  // U/L bit of the first octet set.
  [[nodiscard]] constexpr bool is_locally_administered() const noexcept {
    return (bytes_[0] & kLocalBit) != 0;
  }
  [[nodiscard]] constexpr bool is_zero() const noexcept {
    for (auto b : bytes_)
      if (b != 0) return false;
    return true;
  }

  // The 48 bits in wire order, big-endian into the low bits (02:00:00:00:00:01 ->
  // 0x020000000001): a cheap map key that sorts like the bytes.
  [[nodiscard]] constexpr std::uint64_t to_u64() const noexcept {
    std::uint64_t v = 0;
    for (auto b : bytes_) v = (v << 8) | b;
    return v;
  }

  // Byte-wise (wire order) comparison, consistent with to_u64().
  constexpr auto operator<=>(const MacAddress&) const noexcept = default;
  constexpr bool operator==(const MacAddress&) const noexcept = default;

 private:
  static constexpr std::uint8_t kGroupBit = 0x01;  // I/G: individual (0) or group (1)
  static constexpr std::uint8_t kLocalBit = 0x02;  // U/L: universal (0) or local (1)

  std::array<std::uint8_t, kSize> bytes_{};
};

static_assert(sizeof(MacAddress) == MacAddress::kSize);

}  // namespace lanparty::proto

template <>
struct std::hash<lanparty::proto::MacAddress> {
  [[nodiscard]] std::size_t operator()(const lanparty::proto::MacAddress& mac) const noexcept {
    return std::hash<std::uint64_t>{}(mac.to_u64());
  }
};
