// SPDX-License-Identifier: MIT
// RoomDirectory in one SQLite file under the relay's --state-dir; every change is committed
// and fsync'ed before the call returns.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "lanparty/base/result.hpp"
#include "lanparty/directory/room_directory.hpp"

namespace lanparty::directory {

// The file the relay keeps in --state-dir.
inline constexpr std::string_view kRoomsFileName = "rooms.sqlite3";

// The file layout this build writes (PRAGMA user_version). Bump it, with a migration, on any
// schema change; a file with a larger version is refused, never rewritten.
inline constexpr int kSchemaVersion = 1;

struct SqliteConfig {
  std::filesystem::path path;  // the database file; created if missing, its directory not
  Limits limits;
  // How long a call waits for another process holding the write lock before it fails.
  std::chrono::milliseconds busy_timeout = std::chrono::seconds(5);
};

class SqliteRoomDirectory final : public RoomDirectory {
 public:
  // Opens or creates the file, creates or checks the schema and runs PRAGMA quick_check.
  // Errors: kInvalidArgument (bad limits; a symlink anywhere in the path; the file has a
  // newer schema version or is some other SQLite database), kCorruptFile (not a database,
  // or damaged), else the SQLite error with the path and what was being done.
  [[nodiscard]] static Result<std::unique_ptr<SqliteRoomDirectory>> open(SqliteConfig config);

  ~SqliteRoomDirectory() override;
  SqliteRoomDirectory(const SqliteRoomDirectory&) = delete;
  SqliteRoomDirectory& operator=(const SqliteRoomDirectory&) = delete;

  [[nodiscard]] Result<std::optional<RoomRecord>> lookup(std::string_view room,
                                                         Seconds now) override;
  [[nodiscard]] Result<ClaimOutcome> claim(std::string_view room, const OwnerKey& owner,
                                           Seconds now) override;
  [[nodiscard]] Status touch(std::string_view room, const OwnerKey& owner, Seconds now) override;
  [[nodiscard]] Status revoke(std::string_view room, std::string_view invite_id,
                              std::optional<Seconds> exp, Seconds now) override;
  [[nodiscard]] Result<bool> is_revoked(std::string_view room, std::string_view invite_id,
                                        Seconds now) override;
  [[nodiscard]] Result<Purged> expire(Seconds now) override;

 private:
  struct Impl;  // the connection and its prepared statements (src/sqlite_room_directory.cpp)
  explicit SqliteRoomDirectory(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lanparty::directory
