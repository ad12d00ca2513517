// SPDX-License-Identifier: MIT
// write_file_atomically and friends on real files, the same on every OS (the POSIX modes and
// Windows ACLs are tested in linux/ and win/).
#include "lanparty/base/private_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "lanparty/base/errc.hpp"
#include "private_file_test_support.hpp"

namespace lanparty {
namespace {

namespace fs = std::filesystem;
using testing_support::contents;
using testing_support::ScratchDir;

TEST(PrivateFile, CreatesAMissingFileWithExactlyTheBytes) {
  ScratchDir dir;
  const std::string bytes("key\0with a NUL\n", 15);
  ASSERT_TRUE(write_private_file(dir.path() / "key", bytes));
  EXPECT_EQ(contents(dir.path() / "key"), bytes);
  EXPECT_EQ(dir.names(), std::set<std::string>{"key"}) << "no temporary file left";
}

TEST(PrivateFile, ReplacesAnExistingFileWhole) {
  ScratchDir dir;
  ASSERT_TRUE(write_private_file(dir.path() / "state", "old contents, rather long\n"));
  ASSERT_TRUE(write_private_file(dir.path() / "state", "new\n"));
  EXPECT_EQ(contents(dir.path() / "state"), "new\n");
  EXPECT_EQ(dir.names(), std::set<std::string>{"state"});
}

TEST(PrivateFile, KeepNeverReplacesAnExistingFile) {
  ScratchDir dir;
  ASSERT_TRUE(write_file_atomically(dir.path() / "room.key", "first", FileAccess::kPrivate,
                                    IfExists::kKeep));
  auto second = write_file_atomically(dir.path() / "room.key", "second", FileAccess::kPrivate,
                                      IfExists::kKeep);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, std::errc::file_exists) << second.error().describe();
  EXPECT_EQ(contents(dir.path() / "room.key"), "first");
  EXPECT_EQ(dir.names(), std::set<std::string>{"room.key"});
}

TEST(PrivateFile, ALeftoverTemporaryFileOfADeadRunIsReplaced) {
  ScratchDir dir;
  const fs::path path = dir.path() / "identity.json";
  std::ofstream(temp_path_for(path)) << "half a file from a run that crashed";
  ASSERT_TRUE(write_private_file(path, "{}\n"));
  EXPECT_EQ(contents(path), "{}\n");
  EXPECT_EQ(dir.names(), std::set<std::string>{"identity.json"});
}

TEST(PrivateFile, TheTemporaryFileIsASiblingNamedAfterTheProcess) {
  const fs::path temp = temp_path_for(fs::path("dir") / "file");
  EXPECT_EQ(temp.parent_path(), fs::path("dir"));
  EXPECT_EQ(temp.filename().string().rfind("file.tmp-", 0), 0u) << temp;
}

// A failed rename (the target is a directory with something in it) comes after the temporary
// file was written: it must go, and the target stay as it was.
TEST(PrivateFile, AFailedRenameLeavesNoTemporaryFile) {
  ScratchDir dir;
  const fs::path target = dir.path() / "target";
  fs::create_directory(target);
  std::ofstream(target / "inside") << "x";
  auto written = write_private_file(target, "bytes");
  ASSERT_FALSE(written);
  EXPECT_TRUE(fs::is_directory(target));
  EXPECT_EQ(contents(target / "inside"), "x");
  EXPECT_EQ(dir.names(), std::set<std::string>{"target"}) << written.error().describe();
}

// What cannot be removed where the temporary file must go (a directory) fails the write
// before anything else, and leaves both names as they were.
TEST(PrivateFile, ATemporaryNameTakenByADirectoryFailsAndChangesNothing) {
  ScratchDir dir;
  const fs::path path = dir.path() / "journal";
  ASSERT_TRUE(write_private_file(path, "before\n"));
  fs::create_directory(temp_path_for(path));
  EXPECT_FALSE(write_private_file(path, "after\n"));
  EXPECT_EQ(contents(path), "before\n");
  EXPECT_TRUE(fs::is_directory(temp_path_for(path)));
  EXPECT_EQ(dir.names().size(), 2u);
}

TEST(PrivateFile, AParentThatIsAFileIsAnErrorNotACrash) {
  ScratchDir dir;
  std::ofstream(dir.path() / "plain") << "x";
  auto written = write_private_file(dir.path() / "plain" / "key", "bytes");
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().context.find("plain"), std::string::npos) << written.error().describe();
  EXPECT_EQ(dir.names(), std::set<std::string>{"plain"});
}

TEST(PrivateFile, ReadsBackWhatWasWritten) {
  ScratchDir dir;
  ASSERT_TRUE(write_private_file(dir.path() / "f", "hello\n"));
  auto read = read_private_file(dir.path() / "f", 64);
  ASSERT_TRUE(read) << read.error().describe();
  EXPECT_EQ(*read, "hello\n");
}

TEST(PrivateFile, ReadingAMissingFileIsNotFound) {
  ScratchDir dir;
  auto read = read_private_file(dir.path() / "none", 64);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Errc::kNotFound);
}

TEST(PrivateFile, ReadingMoreThanTheLimitIsTooLarge) {
  ScratchDir dir;
  ASSERT_TRUE(write_private_file(dir.path() / "f", std::string(100, 'a')));
  auto read = read_private_file(dir.path() / "f", 99);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Errc::kTooLarge);
  EXPECT_TRUE(read_private_file(dir.path() / "f", 100));
}

TEST(PrivateFile, AppendCreatesThenAppends) {
  ScratchDir dir;
  ASSERT_TRUE(append_private_file(dir.path() / "log", "one\n"));
  ASSERT_TRUE(append_private_file(dir.path() / "log", "two\n"));
  EXPECT_EQ(contents(dir.path() / "log"), "one\ntwo\n");
}

}  // namespace
}  // namespace lanparty
