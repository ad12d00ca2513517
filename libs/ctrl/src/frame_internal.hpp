// SPDX-License-Identifier: MIT
// The frame length prefix: 4 bytes, unsigned big-endian (PROTOCOL.md section 2).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace lanparty::ctrl {

[[nodiscard]] constexpr std::uint32_t load_be32(std::span<const std::uint8_t, 4> bytes) noexcept {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

constexpr void store_be32(std::span<std::uint8_t, 4> bytes, std::uint32_t value) noexcept {
  bytes[0] = static_cast<std::uint8_t>(value >> 24);
  bytes[1] = static_cast<std::uint8_t>(value >> 16);
  bytes[2] = static_cast<std::uint8_t>(value >> 8);
  bytes[3] = static_cast<std::uint8_t>(value);
}

static_assert(load_be32(std::array<std::uint8_t, 4>{0x00, 0x00, 0x40, 0x00}) == 16384);

}  // namespace lanparty::ctrl
