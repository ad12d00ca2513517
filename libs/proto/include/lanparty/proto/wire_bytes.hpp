// SPDX-License-Identifier: MIT
// Big-endian loads and stores at an offset into a byte span: the only way proto reads or
// writes multi-byte wire fields (no packed structs over buffers, STYLE.md section 4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lanparty/base/check.hpp"

namespace lanparty::proto {

// The caller proves `at + 2 <= b.size()` before calling (checked in debug builds only): these
// sit on the per-frame path, and every parser bounds-checks once per field group instead.
[[nodiscard]] constexpr std::uint16_t load_be16(std::span<const std::uint8_t> b,
                                                std::size_t at) noexcept {
  LANPARTY_DCHECK(at <= b.size() && b.size() - at >= 2);
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

constexpr void store_be16(std::span<std::uint8_t> b, std::size_t at, std::uint16_t v) noexcept {
  LANPARTY_DCHECK(at <= b.size() && b.size() - at >= 2);
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

// As load_be16, for `at + 4 <= b.size()`.
[[nodiscard]] constexpr std::uint32_t load_be32(std::span<const std::uint8_t> b,
                                                std::size_t at) noexcept {
  LANPARTY_DCHECK(at <= b.size() && b.size() - at >= 4);
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

constexpr void store_be32(std::span<std::uint8_t> b, std::size_t at, std::uint32_t v) noexcept {
  LANPARTY_DCHECK(at <= b.size() && b.size() - at >= 4);
  b[at] = static_cast<std::uint8_t>(v >> 24);
  b[at + 1] = static_cast<std::uint8_t>(v >> 16);
  b[at + 2] = static_cast<std::uint8_t>(v >> 8);
  b[at + 3] = static_cast<std::uint8_t>(v);
}

}  // namespace lanparty::proto
