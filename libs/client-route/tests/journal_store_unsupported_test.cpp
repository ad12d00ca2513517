// SPDX-License-Identifier: MIT
// Off Windows the Administrators-only journal store says so instead of pretending.
#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/journal_store.hpp"

namespace lanparty::client_route {
namespace {

TEST(JournalStoreUnsupported, EveryCallIsUnsupportedPlatformWithContext) {
  auto dir = default_journal_dir();
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code, Errc::kUnsupportedPlatform);
  EXPECT_NE(dir.error().context.find("Windows"), std::string::npos);
  EXPECT_EQ(create_admin_only_dir("/tmp").error().code, Errc::kUnsupportedPlatform);
  EXPECT_EQ(check_admin_only("/tmp", "x").error().code, Errc::kUnsupportedPlatform);
  EXPECT_EQ(read_security_sddl("/tmp").error().code, Errc::kUnsupportedPlatform);
  EXPECT_EQ(open_admin_journal("/tmp").error().code, Errc::kUnsupportedPlatform);
}

}  // namespace
}  // namespace lanparty::client_route
