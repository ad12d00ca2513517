// SPDX-License-Identifier: MIT
// The POSIX side of private_file.hpp: modes fixed at creation whatever the umask, symbolic
// links refused, a write that fails half-way leaves nothing behind.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"
#include "private_file_test_support.hpp"

namespace lanparty {
namespace {

namespace fs = std::filesystem;
using testing_support::contents;
using testing_support::ScratchDir;

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Sets the umask for one test and puts the old one back.
class UmaskFor {
 public:
  explicit UmaskFor(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskFor() { ::umask(old_); }
  UmaskFor(const UmaskFor&) = delete;
  UmaskFor& operator=(const UmaskFor&) = delete;

 private:
  mode_t old_;
};

// umask 0 would leave a file made with open()'s usual 0666 readable by everyone: 0600 here
// proves the mode is given at creation, not narrowed afterwards.
TEST(PrivateFileLinux, ModeIs0600EvenUnderUmask0) {
  ScratchDir dir;
  UmaskFor umask0(0);
  ASSERT_TRUE(write_private_file(dir.path() / "key", "secret"));
  EXPECT_EQ(mode_of(dir.path() / "key"), 0600u);
  ASSERT_TRUE(write_file_atomically(dir.path() / "admin", "x", FileAccess::kAdministrators));
  EXPECT_EQ(mode_of(dir.path() / "admin"), 0600u);
  ASSERT_TRUE(append_private_file(dir.path() / "log", "line\n"));
  EXPECT_EQ(mode_of(dir.path() / "log"), 0600u);
}

TEST(PrivateFileLinux, AReplacedFileIsPrivateEvenIfTheOldOneWasNot) {
  ScratchDir dir;
  UmaskFor umask0(0);
  std::ofstream(dir.path() / "key") << "old";
  fs::permissions(dir.path() / "key", fs::perms::all);
  ASSERT_TRUE(write_private_file(dir.path() / "key", "new"));
  EXPECT_EQ(mode_of(dir.path() / "key"), 0600u);
  EXPECT_EQ(contents(dir.path() / "key"), "new");
}

TEST(PrivateFileLinux, PublicFilesAre0644LessTheUmask) {
  ScratchDir dir;
  {
    UmaskFor umask0(0);
    ASSERT_TRUE(write_file_atomically(dir.path() / "cert.der", "der", FileAccess::kPublic));
  }
  EXPECT_EQ(mode_of(dir.path() / "cert.der"), 0644u);
  UmaskFor umask027(027);
  ASSERT_TRUE(write_file_atomically(dir.path() / "cert.der", "der2", FileAccess::kPublic));
  EXPECT_EQ(mode_of(dir.path() / "cert.der"), 0640u);
}

TEST(PrivateFileLinux, ASymlinkTargetIsRefusedAndWhatItPointsAtUntouched) {
  ScratchDir dir;
  const fs::path victim = dir.path() / "victim";
  std::ofstream(victim) << "precious";
  fs::permissions(victim, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink(victim, dir.path() / "key");
  auto written = write_private_file(dir.path() / "key", "attacker's choice");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::kInvalidArgument);
  EXPECT_NE(written.error().context.find("symbolic link"), std::string::npos)
      << written.error().context;
  EXPECT_EQ(contents(victim), "precious");
  EXPECT_TRUE(fs::is_symlink(dir.path() / "key"));
  EXPECT_EQ(dir.names(), (std::set<std::string>{"key", "victim"}));
}

TEST(PrivateFileLinux, ADanglingSymlinkIsRefusedAndNothingIsCreatedWhereItPoints) {
  ScratchDir dir;
  fs::create_symlink(dir.path() / "elsewhere", dir.path() / "key");
  EXPECT_FALSE(
      write_file_atomically(dir.path() / "key", "x", FileAccess::kPrivate, IfExists::kKeep));
  EXPECT_FALSE(append_private_file(dir.path() / "key", "x"));
  EXPECT_FALSE(fs::exists(dir.path() / "elsewhere"));
  EXPECT_EQ(dir.names(), std::set<std::string>{"key"});
}

// A temporary name planted as a symbolic link (by someone who can write the directory) is
// removed, not followed.
TEST(PrivateFileLinux, ASymlinkAtTheTemporaryNameIsNotFollowed) {
  ScratchDir dir;
  const fs::path path = dir.path() / "key";
  fs::create_symlink(dir.path() / "elsewhere", temp_path_for(path));
  ASSERT_TRUE(write_private_file(path, "secret"));
  EXPECT_FALSE(fs::exists(dir.path() / "elsewhere"));
  EXPECT_EQ(contents(path), "secret");
  EXPECT_EQ(dir.names(), std::set<std::string>{"key"});
}

// RLIMIT_FSIZE binds root too, so this fails a write half-way in CI (which runs as root,
// where a read-only directory would not stop anything).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a signal that kills us
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit limit = old_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
};

TEST(PrivateFileLinux, AWriteThatFailsHalfWayLeavesNoTemporaryFileAndTheOldContents) {
  ScratchDir dir;
  const fs::path path = dir.path() / "journal";
  ASSERT_TRUE(write_private_file(path, "old\n"));
  Status written = ok();
  {
    FileSizeLimit limit(1024);
    written = write_private_file(path, std::string(64 * 1024, 'x'));
  }
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, std::errc::file_too_large) << written.error().describe();
  EXPECT_EQ(contents(path), "old\n");
  EXPECT_EQ(dir.names(), std::set<std::string>{"journal"});
}

TEST(PrivateFileLinux, ReadRefusesAFileOthersCanReadWithTheFix) {
  ScratchDir dir;
  ASSERT_TRUE(write_private_file(dir.path() / "key", "secret"));
  fs::permissions(dir.path() / "key", fs::perms::group_read, fs::perm_options::add);
  auto read = read_private_file(dir.path() / "key", 64);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Errc::kInvalidArgument);
  EXPECT_NE(read.error().context.find("chmod 600 " + (dir.path() / "key").string()),
            std::string::npos)
      << read.error().context;
  EXPECT_FALSE(append_private_file(dir.path() / "key", "more"));
  EXPECT_EQ(contents(dir.path() / "key"), "secret") << "nothing appended to a readable file";
}

TEST(PrivateFileLinux, ReadRefusesASymlink) {
  ScratchDir dir;
  ASSERT_TRUE(write_private_file(dir.path() / "real", "secret"));
  fs::create_symlink(dir.path() / "real", dir.path() / "key");
  auto read = read_private_file(dir.path() / "key", 64);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().context.find("symbolic link"), std::string::npos) << read.error().context;
}

TEST(PrivateFileLinux, ReadRefusesAFileOfAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  ScratchDir dir;
  ASSERT_TRUE(write_private_file(dir.path() / "key", "secret"));
  ASSERT_EQ(::chown((dir.path() / "key").c_str(), 65534, 65534), 0);
  auto read = read_private_file(dir.path() / "key", 64);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().context.find("another user (uid 65534"), std::string::npos)
      << read.error().context;
}

TEST(PrivateFileLinux, ReadRefusesADirectory) {
  ScratchDir dir;
  auto read = read_private_file(dir.path(), 64);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace lanparty
