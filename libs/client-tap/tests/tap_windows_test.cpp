// SPDX-License-Identifier: MIT
// TAP-Windows6 constants, device path and the registry walk (against FakeRegistry).
#include "lanparty/client_tap/tap_windows.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_tap.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/obs/sinks.hpp"

namespace lanparty::client_tap {
namespace {

TEST(TapIoctl, CodesMatchTheDriverHeader) {
  // Golden values of tap-windows6's TAP_WIN_IOCTL_* (CTL_CODE(FILE_DEVICE_UNKNOWN, n,
  // METHOD_BUFFERED, FILE_ANY_ACCESS)), as OpenVPN and ZeroTier use them.
  EXPECT_EQ(kIoctlGetMac, 0x00220004u);
  EXPECT_EQ(kIoctlGetMtu, 0x0022000Cu);
  EXPECT_EQ(kIoctlSetMediaStatus, 0x00220018u);
  EXPECT_EQ(tap_win_control_code(2, 0), 0x00220008u);  // GET_VERSION, for the formula itself
}

TEST(TapDevicePath, IsTheGlobalNamespacePathOfTheGuid) {
  auto path = tap_device_path("{3F1F2C4A-5B6D-4E7F-8091-A2B3C4D5E6F7}");
  ASSERT_TRUE(path) << path.error().describe();
  EXPECT_EQ(*path, "\\\\.\\Global\\{3F1F2C4A-5B6D-4E7F-8091-A2B3C4D5E6F7}.tap");
}

TEST(TapDevicePath, RefusesAnythingButABracedGuid) {
  for (const char* guid :
       {"", "3F1F2C4A-5B6D-4E7F-8091-A2B3C4D5E6F7", "{3F1F2C4A-5B6D-4E7F-8091-A2B3C4D5E6F}",
        "{..\\..\\C:\\Windows\\x.tap}", "{3F1F2C4A-5B6D-4E7F-8091-A2B3C4D5E6FZ}",
        "{3F1F2C4A_5B6D-4E7F-8091-A2B3C4D5E6F7}"}) {
    auto path = tap_device_path(guid);
    ASSERT_FALSE(path) << "accepted '" << guid << "'";
    EXPECT_EQ(path.error().code, Errc::kInvalidArgument);
  }
}

class DiscoveryTest : public ::testing::Test {
 protected:
  static constexpr const char* kClass = "Test\\Class";
  void adapter(const std::string& subkey, const std::string& component, const std::string& guid) {
    const std::string path = std::string(kClass) + "\\" + subkey;
    registry_.set_string(path, "ComponentId", component);
    if (!guid.empty()) registry_.set_string(path, "NetCfgInstanceId", guid);
  }
  testing::FakeRegistry registry_;
  obs::MemorySink sink_;
};

TEST_F(DiscoveryTest, FindsBothComponentIdsAndSkipsOtherAdapters) {
  adapter("0000", "PCI\\VEN_8086&DEV_15B8", "{11111111-1111-1111-1111-111111111111}");
  adapter("0001", "tap0901", "{22222222-2222-2222-2222-222222222222}");
  adapter("0002", "wintun", "{33333333-3333-3333-3333-333333333333}");
  adapter("0003", "ROOT\\TAP0901", "{44444444-4444-4444-4444-444444444444}");
  registry_.add_key(std::string(kClass) + "\\Properties");
  registry_.deny(std::string(kClass) + "\\Properties");

  auto found = discover_tap_adapters(registry_, RegistryRoot::kCurrentUser, kClass);
  ASSERT_TRUE(found) << found.error().describe();
  const std::vector<TapAdapter> expected{
      {"{22222222-2222-2222-2222-222222222222}", "tap0901", "0001"},
      {"{44444444-4444-4444-4444-444444444444}", "ROOT\\TAP0901", "0003"},
  };
  EXPECT_EQ(*found, expected);
}

TEST_F(DiscoveryTest, SkipsATapWithAMissingOrMalformedGuidAndSaysWhy) {
  adapter("0000", "tap0901", "");
  adapter("0001", "tap0901", "not-a-guid");
  adapter("0002", "tap0901", "{55555555-5555-5555-5555-555555555555}");
  auto found =
      discover_tap_adapters(registry_, RegistryRoot::kCurrentUser, kClass, obs::Logger(&sink_));
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].subkey, "0002");
  const auto skipped = sink_.named("tap.adapter_skipped");
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[1].text("reason").find("not-a-guid"), std::string::npos);
}

TEST_F(DiscoveryTest, NoTapMeansAnEmptyListNotAnError) {
  adapter("0000", "PCI\\VEN_10EC", "{11111111-1111-1111-1111-111111111111}");
  auto found = discover_tap_adapters(registry_, RegistryRoot::kCurrentUser, kClass);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->empty());
}

TEST_F(DiscoveryTest, MissingClassKeyIsNotFoundAndNamed) {
  auto found = discover_tap_adapters(registry_, RegistryRoot::kCurrentUser, "No\\Such\\Key");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, Errc::kNotFound);
  EXPECT_NE(found.error().context.find("No\\Such\\Key"), std::string::npos);
}

}  // namespace
}  // namespace lanparty::client_tap
