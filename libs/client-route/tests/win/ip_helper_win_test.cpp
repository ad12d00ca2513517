// SPDX-License-Identifier: MIT
// The real IP Helper seam, run under wine in CI (label `windows`): it loads, it reports the
// functions wine 8 lacks as kUnsupportedPlatform values instead of failing to start, and its
// errors name the call. Nothing here changes the machine's routing state.
#include <gtest/gtest.h>

#include <string>

#include <windows.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_route/ip_helper_api.hpp"
#include "win/running_under_wine.hpp"

namespace lanparty::client_route {
namespace {

using detail::running_under_wine;

class IpHelperWin : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = make_ip_helper_api();
    ASSERT_TRUE(made) << made.error().describe();
    api_ = std::move(*made);
  }
  std::unique_ptr<IpHelperApi> api_;
};

TEST_F(IpHelperWin, AnUnknownAdapterGuidIsAnErrorNamingTheGuid) {
  auto guid = AdapterGuid::parse("{0BADC0DE-0000-4000-8000-00000000BEEF}");
  ASSERT_TRUE(guid);
  auto luid = api_->convert_interface_guid_to_luid(*guid);
  ASSERT_FALSE(luid) << "no adapter has this GUID";
  EXPECT_NE(luid.error().context.find("ConvertInterfaceGuidToLuid({0BADC0DE-"), std::string::npos)
      << luid.error().context;
}

TEST_F(IpHelperWin, BestRouteToLoopbackIsAValueEvenWhereTheCallIsStubbed) {
  auto loopback = IpAddress::parse("127.0.0.1");
  ASSERT_TRUE(loopback);
  auto route = api_->get_best_route2(*loopback);
  if (running_under_wine()) {
    // wine 8's GetBestRoute2 is a stub that fails; what matters is an error value, not a crash.
    ASSERT_FALSE(route);
    EXPECT_NE(route.error().context.find("GetBestRoute2(127.0.0.1)"), std::string::npos);
    return;
  }
  ASSERT_TRUE(route) << route.error().describe();
  EXPECT_EQ(route->source, *loopback);
}

TEST_F(IpHelperWin, FunctionsWineLacksComeBackAsUnsupportedPlatform) {
  if (!running_under_wine()) GTEST_SKIP() << "real Windows exports them all";
  const InterfaceLuid any_luid{1};
  auto get = api_->get_ip_interface_entry(any_luid, AddressFamily::kIpv4);
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code, Errc::kUnsupportedPlatform);
  EXPECT_NE(get.error().context.find("IpInterfaceEntry"), std::string::npos);

  auto set = api_->set_ip_interface_entry(any_luid, AddressFamily::kIpv4, {false, 5});
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, Errc::kUnsupportedPlatform);

  auto route = RouteEntry{IpPrefix{*IpAddress::parse("192.0.2.1"), 32},
                          *IpAddress::parse("192.0.2.254"), any_luid, 1, 0};
  auto created = api_->create_ip_forward_entry2(route);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, Errc::kUnsupportedPlatform);
  EXPECT_NE(created.error().context.find("CreateIpForwardEntry2"), std::string::npos);
  auto deleted = api_->delete_ip_forward_entry2(route);
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code, Errc::kUnsupportedPlatform);
}

TEST_F(IpHelperWin, MtuWriterUnderWineIsUnsupportedPlatformNamingTheFunction) {
  if (!running_under_wine()) GTEST_SKIP() << "on real Windows it would change the interface";
  auto set = api_->set_ip_interface_mtu(InterfaceLuid{1}, AddressFamily::kIpv6, 1380);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, Errc::kUnsupportedPlatform);
  // wine 8 lacks Set- and GetIpInterfaceEntry; whichever is checked first is named.
  EXPECT_NE(set.error().context.find("IpInterfaceEntry"), std::string::npos) << set.error().context;
}

}  // namespace
}  // namespace lanparty::client_route
