// SPDX-License-Identifier: MIT
// What only the SQLite directory promises: the file outlives the object, its layout and
// pragmas, and clear errors for files it must not use.
#include "lanparty/directory/sqlite_room_directory.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "directory_factories.hpp"
#include "lanparty/base/errc.hpp"
#include "raw_sqlite.hpp"
#include "temp_dir.hpp"

namespace lanparty::directory {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing_support::key;
using testing_support::kId1;
using testing_support::kId2;
using testing_support::kT0;
using testing_support::RawDb;

class SqliteRoomDirectoryTest : public ::testing::Test {
 protected:
  [[nodiscard]] std::filesystem::path file() const {
    return tmp_.path() / std::string(kRoomsFileName);
  }
  Result<std::unique_ptr<SqliteRoomDirectory>> open(Limits limits = {}) {
    return SqliteRoomDirectory::open(SqliteConfig{.path = file(), .limits = limits});
  }
  std::unique_ptr<SqliteRoomDirectory> open_ok(Limits limits = {}) {
    auto opened = open(limits);
    EXPECT_TRUE(opened) << opened.error().describe();
    return opened ? std::move(*opened) : nullptr;
  }
  // Writes `bytes` at `offset` of the database file.
  void overwrite(std::streamoff offset, const std::string& bytes) const {
    std::fstream f(file(), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    f.seekp(offset);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f);
  }

  testing_support::TempDir tmp_;
};

TEST_F(SqliteRoomDirectoryTest, ReopeningKeepsRecordsAndRevocations) {
  {
    auto dir = open_ok();
    ASSERT_TRUE(dir);
    ASSERT_EQ(dir->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
    ASSERT_EQ(dir->claim("ROOM2", key(2), kT0 + 5s), ClaimOutcome::kClaimed);
    ASSERT_TRUE(dir->revoke("ROOM1", kId1, std::nullopt, kT0));
    ASSERT_TRUE(dir->revoke("ROOM1", kId2, kT0 + 100s, kT0));
    ASSERT_TRUE(dir->touch("ROOM2", key(2), kT0 + 7s));
  }
  auto dir = open_ok();
  ASSERT_TRUE(dir);
  auto room1 = dir->lookup("ROOM1", kT0 + 10s);
  ASSERT_TRUE(room1 && *room1);
  EXPECT_EQ(**room1, (RoomRecord{.room = "ROOM1",
                                 .owner_key = key(1),
                                 .last_seen = kT0,
                                 .revocations = {{kId2, kT0 + 100s}, {kId1, std::nullopt}}}));
  auto room2 = dir->lookup("ROOM2", kT0 + 10s);
  ASSERT_TRUE(room2 && *room2);
  EXPECT_EQ((*room2)->last_seen, kT0 + 7s);
  EXPECT_EQ(dir->claim("ROOM1", key(2), kT0 + 10s), ClaimOutcome::kOwnedByOther);
}

TEST_F(SqliteRoomDirectoryTest, ReopeningKeepsTheCountForMaxRoomRecords) {
  {
    auto dir = open_ok({.max_room_records = 2});
    ASSERT_EQ(dir->claim("ROOMA", key(1), kT0), ClaimOutcome::kClaimed);
    ASSERT_EQ(dir->claim("ROOMB", key(1), kT0), ClaimOutcome::kClaimed);
  }
  auto dir = open_ok({.max_room_records = 2});
  EXPECT_EQ(dir->claim("ROOMC", key(1), kT0), ClaimOutcome::kFull);
}

TEST_F(SqliteRoomDirectoryTest, FileIsWalWithTheSchemaVersion) {
  auto dir = open_ok();
  ASSERT_TRUE(dir);
  RawDb raw(file());
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.integer("PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteRoomDirectoryTest, ClaimIsVisibleToAnotherConnectionWhenItReturns) {
  auto first = open_ok();
  auto second = open_ok();
  ASSERT_TRUE(first && second);
  ASSERT_EQ(first->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  EXPECT_EQ(second->claim("ROOM1", key(2), kT0), ClaimOutcome::kOwnedByOther);
  ASSERT_TRUE(second->revoke("ROOM1", kId1, std::nullopt, kT0));
  EXPECT_EQ(first->is_revoked("ROOM1", kId1, kT0), true);
}

TEST_F(SqliteRoomDirectoryTest, StaleRecordIsDeletedFromTheFileByLookup) {
  auto dir = open_ok({.room_ttl = 60s});
  ASSERT_EQ(dir->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
  ASSERT_TRUE(dir->revoke("ROOM1", kId1, std::nullopt, kT0));
  auto found = dir->lookup("ROOM1", kT0 + 60s);
  ASSERT_TRUE(found) << found.error().describe();
  EXPECT_EQ(*found, std::nullopt);
  RawDb raw(file());
  EXPECT_EQ(raw.integer("SELECT count(*) FROM rooms"), 0);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM revocations"), 0);
}

TEST_F(SqliteRoomDirectoryTest, NewerSchemaVersionIsRefusedAndLeftAlone) {
  { ASSERT_TRUE(open_ok()); }
  RawDb(file()).exec("PRAGMA user_version = 7");
  auto opened = open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(opened.error().describe(), HasSubstr("schema version 7, newer than this relay"));
  EXPECT_THAT(opened.error().describe(), HasSubstr(file().string()));
  EXPECT_EQ(RawDb(file()).integer("PRAGMA user_version"), 7);
}

TEST_F(SqliteRoomDirectoryTest, ForeignSqliteDatabaseIsRefused) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE photos (id INTEGER)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto opened = open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(opened.error().describe(), HasSubstr("not a lanparty room directory"));
}

TEST_F(SqliteRoomDirectoryTest, FileThatIsNotADatabaseIsCorrupt) {
  std::ofstream(file(), std::ios::binary) << std::string(4096, 'x');
  auto opened = open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kCorruptFile);
  EXPECT_THAT(opened.error().describe(), HasSubstr(file().string()));
  EXPECT_THAT(opened.error().describe(), HasSubstr("move the file away"));
}

TEST_F(SqliteRoomDirectoryTest, DamagedPagesAreCorrupt) {
  {
    auto dir = open_ok();
    ASSERT_TRUE(dir);
    for (int i = 0; i < 400; ++i) {
      ASSERT_EQ(dir->claim("ROOM" + std::to_string(i), key(static_cast<std::uint64_t>(i)), kT0),
                ClaimOutcome::kClaimed);
    }
  }
  // Closing the last connection checkpointed the WAL into the file, so the rooms are on the
  // pages damaged here (all but the first, which holds the header and the schema).
  ASSERT_FALSE(std::filesystem::exists(file().string() + "-wal"));
  const auto size = static_cast<std::streamoff>(std::filesystem::file_size(file()));
  ASSERT_GT(size, 3 * 4096);
  for (std::streamoff at = 4096; at + 64 <= size; at += 4096) {
    overwrite(at, std::string(64, '\x5a'));
  }
  auto opened = open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kCorruptFile) << opened.error().describe();
  EXPECT_THAT(opened.error().describe(), HasSubstr(file().string()));
}

TEST_F(SqliteRoomDirectoryTest, SymlinkedFileIsRefused) {
  const auto real = tmp_.path() / "real.sqlite3";
  {
    auto dir = SqliteRoomDirectory::open(SqliteConfig{.path = real, .limits = {}});
    ASSERT_TRUE(dir) << dir.error().describe();
  }
  std::filesystem::create_symlink(real, file());
  auto opened = open();
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kInvalidArgument) << opened.error().describe();
  EXPECT_THAT(opened.error().describe(), HasSubstr("symbolic link"));
}

TEST_F(SqliteRoomDirectoryTest, SymlinkedDirectoryInThePathIsRefused) {
  { ASSERT_TRUE(open_ok()); }
  const auto link = tmp_.path() / "link";
  std::filesystem::create_directory_symlink(tmp_.path(), link);
  auto opened = SqliteRoomDirectory::open(
      SqliteConfig{.path = link / std::string(kRoomsFileName), .limits = {}});
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kInvalidArgument) << opened.error().describe();
  EXPECT_THAT(opened.error().describe(), HasSubstr("contains a symbolic link"));
}

TEST_F(SqliteRoomDirectoryTest, MissingDirectoryIsAnErrorWithThePath) {
  auto opened =
      SqliteRoomDirectory::open(SqliteConfig{.path = tmp_.path() / "no" / "rooms", .limits = {}});
  ASSERT_FALSE(opened);
  EXPECT_THAT(opened.error().describe(), HasSubstr((tmp_.path() / "no" / "rooms").string()));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "no"));
}

TEST_F(SqliteRoomDirectoryTest, InvalidLimitsAreRefused) {
  for (const Limits limits :
       {Limits{.room_ttl = 0s}, Limits{.room_ttl = -5s}, Limits{.max_room_records = 0}}) {
    auto opened = open(limits);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, Errc::kInvalidArgument);
  }
  EXPECT_FALSE(std::filesystem::exists(file()));
}

TEST_F(SqliteRoomDirectoryTest, LockedDatabaseFailsAfterBusyTimeoutWithoutWriting) {
  auto dir =
      SqliteRoomDirectory::open(SqliteConfig{.path = file(), .limits = {}, .busy_timeout = 50ms});
  ASSERT_TRUE(dir) << dir.error().describe();
  RawDb other(file());
  other.exec("BEGIN IMMEDIATE");
  auto claimed = (*dir)->claim("ROOM1", key(1), kT0);
  ASSERT_FALSE(claimed);
  EXPECT_THAT(claimed.error().describe(), HasSubstr("claiming a room in"));
  other.exec("ROLLBACK");
  auto found = (*dir)->lookup("ROOM1", kT0);
  ASSERT_TRUE(found) << found.error().describe();
  EXPECT_EQ(*found, std::nullopt);
  EXPECT_EQ((*dir)->claim("ROOM1", key(1), kT0), ClaimOutcome::kClaimed);
}

}  // namespace
}  // namespace lanparty::directory
