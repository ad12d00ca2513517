// SPDX-License-Identifier: MIT
#include "linux/room_key_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace lanparty::gateway {
namespace {

namespace fs = std::filesystem;

class RoomKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lanparty-key-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(ensure_private_dir(dir_));
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(RoomKeyFile, FirstUseCreatesA0600KeyThatLaterRunsReadBack) {
  bool created = false;
  auto first = load_or_create_room_key(dir_ / "room.key", &created);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "room.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_room_key(dir_ / "room.key", &created);
  ASSERT_TRUE(again);
  EXPECT_FALSE(created);
  EXPECT_EQ(again->public_key(), first->public_key());
  // Nothing but the key is left in the directory (no temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
  struct stat dst {};
  ASSERT_EQ(::stat(dir_.c_str(), &dst), 0);
  EXPECT_EQ(dst.st_mode & 0777, 0700u);
}

TEST_F(RoomKeyFile, AKeyOthersCanReadIsRefusedWithTheFix) {
  ASSERT_TRUE(load_or_create_room_key(dir_ / "room.key"));
  fs::permissions(dir_ / "room.key", fs::perms::group_read, fs::perm_options::add);
  auto key = load_or_create_room_key(dir_ / "room.key");
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().context.find("chmod 600"), std::string::npos) << key.error().context;
}

TEST_F(RoomKeyFile, ASymlinkIsRefused) {
  ASSERT_TRUE(load_or_create_room_key(dir_ / "real.key"));
  fs::create_symlink(dir_ / "real.key", dir_ / "room.key");
  auto key = load_or_create_room_key(dir_ / "room.key");
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().context.find("symbolic link"), std::string::npos) << key.error().context;
}

TEST_F(RoomKeyFile, ADamagedKeyIsRefusedNotReplaced) {
  { std::ofstream(dir_ / "room.key") << "lanparty-room-key-v1 not-base64!\n"; }
  fs::permissions(dir_ / "room.key", fs::perms::owner_read | fs::perms::owner_write);
  auto key = load_or_create_room_key(dir_ / "room.key");
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().context.find("backup"), std::string::npos) << key.error().context;
  std::ifstream in(dir_ / "room.key");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "lanparty-room-key-v1 not-base64!");
}

TEST_F(RoomKeyFile, AStateDirOthersCanWriteIsRefused) {
  fs::permissions(dir_, fs::perms::others_write, fs::perm_options::add);
  auto st = ensure_private_dir(dir_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().context.find("chmod 700"), std::string::npos) << st.error().context;
}

}  // namespace
}  // namespace lanparty::gateway
