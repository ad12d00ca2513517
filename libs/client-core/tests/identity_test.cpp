// SPDX-License-Identifier: MIT
#include "lanparty/client_core/identity.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_core {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        ("lanparty-identity-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = dir_ / kIdentityFileName;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(path_) << text; }

  std::filesystem::path dir_;
  std::filesystem::path path_;
};

const auto kFresh = *proto::MacAddress::parse("02:5a:11:22:33:44");

TEST_F(IdentityTest, CreatesThenKeepsTheSameMac) {
  auto first = load_or_create_identity(path_, kFresh);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(*first, kFresh);
  auto second = load_or_create_identity(path_, *proto::MacAddress::parse("02:00:00:00:00:99"));
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, kFresh);
  // Nothing but the identity is left in the folder (no temporary file).
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) files.push_back(entry.path());
  EXPECT_EQ(files, std::vector<std::filesystem::path>{path_});
}

TEST_F(IdentityTest, ASymlinkInPlaceOfTheIdentityIsNotWrittenThrough) {
  const auto target = dir_ / "elsewhere";
  std::error_code ec;
  std::filesystem::create_symlink(target, path_, ec);
  if (ec || !std::filesystem::is_symlink(path_)) GTEST_SKIP() << "no symbolic links here";
  EXPECT_FALSE(load_or_create_identity(path_, kFresh));
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_F(IdentityTest, MissingFileIsNotFound) {
  auto r = read_identity(path_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound);
}

TEST_F(IdentityTest, CorruptFileIsAnErrorAndIsKept) {
  for (const char* text : {"{not json", "[1,2]", "{\"mac\": 5}", "{\"mac\": \"zz:zz\"}",
                           "{\"mac\": \"01:00:5e:00:00:01\"}"}) {
    write(text);
    auto r = load_or_create_identity(path_, kFresh);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, Errc::kCorruptFile) << text;
    EXPECT_NE(r.error().context.find(path_.string()), std::string::npos);
    std::ifstream in(path_);
    std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(kept, text) << "a corrupt identity must never be replaced silently";
  }
}

TEST_F(IdentityTest, ReadsUpperCaseMac) {
  write(R"({"mac": "02:5A:11:22:33:44"})");
  auto r = read_identity(path_);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, kFresh);
}

}  // namespace
}  // namespace lanparty::client_core
