// SPDX-License-Identifier: MIT
// The two RoomDirectory implementations behind one factory shape, for the typed contract
// tests, plus helpers shared by the directory tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "lanparty/directory/memory_room_directory.hpp"
#include "lanparty/directory/room_directory.hpp"
#include "lanparty/directory/sqlite_room_directory.hpp"

namespace lanparty::directory::testing_support {

// 2023-11-14T22:13:20Z: any fixed instant works; none of these tests reads a clock.
inline constexpr Seconds kT0{std::chrono::seconds(1'700'000'000)};

// A distinct valid key per seed.
inline OwnerKey key(std::uint64_t seed) {
  OwnerKey k{};
  for (std::size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<std::uint8_t>((seed >> ((i % 8) * 8)) ^ (i * 37));
  }
  return k;
}

struct SqliteImpl {
  static constexpr const char* kName = "Sqlite";
  static std::unique_ptr<RoomDirectory> make(const std::filesystem::path& dir, Limits limits) {
    auto opened = SqliteRoomDirectory::open(
        SqliteConfig{.path = dir / std::string(kRoomsFileName), .limits = limits});
    if (!opened) {
      ADD_FAILURE() << opened.error().describe();
      return nullptr;
    }
    return std::move(*opened);
  }
};

struct MemoryImpl {
  static constexpr const char* kName = "Memory";
  static std::unique_ptr<RoomDirectory> make(const std::filesystem::path&, Limits limits) {
    return std::make_unique<MemoryRoomDirectory>(limits);
  }
};

}  // namespace lanparty::directory::testing_support
