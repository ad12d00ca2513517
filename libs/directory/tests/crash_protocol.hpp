// SPDX-License-Identifier: MIT
// What crash_child.cpp writes and crash_test.cpp checks: names, keys and ids per number.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "lanparty/directory/room_directory.hpp"

namespace lanparty::directory::testing_support::crash {

inline constexpr Seconds kNow{std::chrono::seconds(1'700'000'000)};
inline constexpr std::size_t kMaxRecords = 10'000'000;
// The child stops by itself after this many calls, should nobody kill it.
inline constexpr std::uint64_t kMaxIterations = 20'000;
inline constexpr const char* kRevokeRoom = "CRASHROOM";

inline std::string room(std::uint64_t n) { return fmt::format("R{}", n); }

inline OwnerKey owner(std::uint64_t n) {
  OwnerKey k{};
  for (std::size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<std::uint8_t>((n >> ((i % 8) * 8)) + i);
  return k;
}

inline std::string invite_id(std::uint64_t n) { return fmt::format("{:016x}", n); }

// Half the revocations carry an exp, half last while the room record does.
inline std::optional<Seconds> exp(std::uint64_t n) {
  if (n % 2 == 0) return std::nullopt;
  return kNow + std::chrono::hours(24 * 365);
}

}  // namespace lanparty::directory::testing_support::crash
