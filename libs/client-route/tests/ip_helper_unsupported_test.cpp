// SPDX-License-Identifier: MIT
// Off Windows the IP Helper factory says so, with context, instead of pretending.
#include <gtest/gtest.h>

#include <string>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/ip_helper_api.hpp"

namespace lanparty::client_route {
namespace {

TEST(IpHelperUnsupported, FactoryReturnsUnsupportedPlatformWithContext) {
  auto api = make_ip_helper_api();
  ASSERT_FALSE(api);
  EXPECT_EQ(api.error().code, Errc::kUnsupportedPlatform);
  EXPECT_NE(api.error().context.find("Windows"), std::string::npos);
}

}  // namespace
}  // namespace lanparty::client_route
