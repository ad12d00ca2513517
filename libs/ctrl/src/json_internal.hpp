// SPDX-License-Identifier: MIT
// JSON helpers shared by the codec and the invite payload; nlohmann stays inside src/.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

namespace lanparty::ctrl::detail {

// PROTOCOL.md's integer: a JSON number without fraction or exponent that fits int64.
// nlohmann stores non-negative literals as unsigned (and as double beyond uint64) and 1.0 /
// 1e0 as double, so those are the wrong type. Unsigned must be tested first: get_ptr to
// number_integer_t also answers for unsigned values and would reinterpret them.
[[nodiscard]] inline std::optional<std::int64_t> as_int64(const nlohmann::json& value) noexcept {
  constexpr auto kInt64Max = std::numeric_limits<std::int64_t>::max();
  if (const auto* u = value.get_ptr<const nlohmann::json::number_unsigned_t*>()) {
    if (*u > static_cast<std::uint64_t>(kInt64Max)) return std::nullopt;
    return static_cast<std::int64_t>(*u);
  }
  if (const auto* i = value.get_ptr<const nlohmann::json::number_integer_t*>()) return *i;
  return std::nullopt;
}

}  // namespace lanparty::ctrl::detail
