// SPDX-License-Identifier: MIT
// The RoomDirectory implementations behind one factory shape, for the typed contract tests,
// plus helpers shared by the directory tests. unavailable(): why the implementation cannot
// run here (the test is skipped), or null.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "lanparty/directory/memory_room_directory.hpp"
#include "lanparty/directory/redis_room_directory.hpp"
#include "lanparty/directory/room_directory.hpp"
#include "lanparty/directory/sqlite_room_directory.hpp"
#include "redis_server.hpp"

namespace lanparty::directory::testing_support {

// 2023-11-14T22:13:20Z: any fixed instant works; none of these tests reads a clock.
// Two well-formed room ids (16 lowercase hex digits).
inline constexpr const char* kId1 = "9f2c4e1a7b3d5a60";
inline constexpr const char* kId2 = "0123456789abcdef";

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
  static const char* unavailable() { return nullptr; }
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
  static const char* unavailable() { return nullptr; }
  static std::unique_ptr<RoomDirectory> make(const std::filesystem::path&, Limits limits) {
    return std::make_unique<MemoryRoomDirectory>(limits);
  }
};

// A real redis-server (one per test process), each test under its own key prefix.
struct RedisImpl {
  static constexpr const char* kName = "Redis";
  static const char* unavailable() {
    return redis_server_binary().empty() ? kNoRedisMessage : nullptr;
  }
  static std::unique_ptr<RoomDirectory> make(const std::filesystem::path&, Limits limits) {
    RedisServer* server = shared_redis_server();
    if (server == nullptr) {
      ADD_FAILURE() << "redis-server did not start";
      return nullptr;
    }
    // A fresh prefix per make(): a test that calls make() again starts from no records, as
    // with a new SQLite file.
    auto opened = RedisRoomDirectory::open(RedisDirectoryConfig{
        .endpoint = server->endpoint(), .prefix = unique_prefix(), .limits = limits});
    if (!opened) {
      ADD_FAILURE() << opened.error().describe();
      return nullptr;
    }
    return std::move(*opened);
  }
};

}  // namespace lanparty::directory::testing_support
