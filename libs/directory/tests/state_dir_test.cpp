// SPDX-License-Identifier: MIT
#include "lanparty/directory/state_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"
#include "temp_dir.hpp"

namespace lanparty::directory {
namespace {

using ::testing::HasSubstr;

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

// Sets the process umask for one test (umask is process-wide; tests run on one thread).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

class EnsureStateDir : public ::testing::Test {
 protected:
  testing_support::TempDir tmp_;
};

TEST_F(EnsureStateDir, CreatesMissingDirWithMode0700) {
  const ScopedUmask mask(0);
  const auto dir = tmp_.path() / "state";
  ASSERT_TRUE(ensure_state_dir(dir));
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_EQ(mode_of(dir), 0700u);
}

TEST_F(EnsureStateDir, Creates0700EvenUnderAUmaskThatTakesOwnerBits) {
  const ScopedUmask mask(0277);
  const auto dir = tmp_.path() / "state";
  ASSERT_TRUE(ensure_state_dir(dir));
  EXPECT_EQ(mode_of(dir), 0700u);
}

TEST_F(EnsureStateDir, CreatesMissingParents) {
  const auto dir = tmp_.path() / "var" / "lib" / "lanparty";
  ASSERT_TRUE(ensure_state_dir(dir));
  EXPECT_EQ(mode_of(dir), 0700u);
}

TEST_F(EnsureStateDir, AcceptsAnExistingPrivateDirAndLeavesItAsIs) {
  const auto dir = tmp_.path() / "state";
  ASSERT_EQ(::mkdir(dir.c_str(), 0750), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0750), 0);
  ASSERT_TRUE(ensure_state_dir(dir));
  ASSERT_TRUE(ensure_state_dir(dir.string() + "/"));
  EXPECT_EQ(mode_of(dir), 0750u);  // readable by others is allowed; writable is not
}

TEST_F(EnsureStateDir, RefusesASymlinkWithAReadableMessage) {
  const auto real = tmp_.path() / "real";
  ASSERT_TRUE(ensure_state_dir(real));
  const auto link = tmp_.path() / "state";
  std::filesystem::create_directory_symlink(real, link);
  for (const std::filesystem::path& p : {link, std::filesystem::path(link.string() + "/")}) {
    const Status s = ensure_state_dir(p);
    ASSERT_FALSE(s) << p;
    EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
    EXPECT_THAT(s.error().describe(), HasSubstr("is a symbolic link (to " + real.string()));
    EXPECT_THAT(s.error().describe(), HasSubstr("pass the real directory"));
  }
}

TEST_F(EnsureStateDir, RefusesAWorldWritableDirAndSaysHowToFixIt) {
  const auto dir = tmp_.path() / "state";
  ASSERT_TRUE(ensure_state_dir(dir));
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  const Status s = ensure_state_dir(dir);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(s.error().describe(), HasSubstr("writable by group and others (mode 0777)"));
  EXPECT_THAT(s.error().describe(), HasSubstr("chmod 700 " + dir.string()));
  EXPECT_EQ(mode_of(dir), 0777u);  // reported, not silently "fixed"
}

TEST_F(EnsureStateDir, RefusesAGroupWritableDir) {
  const auto dir = tmp_.path() / "state";
  ASSERT_TRUE(ensure_state_dir(dir));
  ASSERT_EQ(::chmod(dir.c_str(), 0770), 0);
  const Status s = ensure_state_dir(dir);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().describe(), HasSubstr("writable by its group"));
}

TEST_F(EnsureStateDir, RefusesAFile) {
  const auto file = tmp_.path() / "state";
  std::ofstream(file) << "x";
  const Status s = ensure_state_dir(file);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
  EXPECT_THAT(s.error().describe(), HasSubstr("is not a directory"));
}

TEST_F(EnsureStateDir, RefusesADirOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  const auto dir = tmp_.path() / "state";
  ASSERT_TRUE(ensure_state_dir(dir));
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  const Status s = ensure_state_dir(dir);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().describe(), HasSubstr("belongs to uid 65534"));
  EXPECT_THAT(s.error().describe(), HasSubstr("chown 0 " + dir.string()));
}

TEST_F(EnsureStateDir, RefusesAnEmptyPath) {
  EXPECT_EQ(ensure_state_dir("").error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace lanparty::directory
