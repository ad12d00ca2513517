// SPDX-License-Identifier: MIT
// Off Windows every client-tap factory says "unsupported platform", with context.
#include <gtest/gtest.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_tap/tap_device.hpp"
#include "lanparty/client_tap/tap_windows.hpp"

namespace lanparty::client_tap {
namespace {

TEST(TapUnsupported, EveryFactoryReturnsUnsupportedPlatformWithContext) {
  auto registry = make_registry_api();
  auto device = make_tap_device_api();
  auto adopted = adopt_overlapped_handle(nullptr);
  ASSERT_FALSE(registry);
  ASSERT_FALSE(device);
  ASSERT_FALSE(adopted);
  for (const Error* e : {&registry.error(), &device.error(), &adopted.error()}) {
    EXPECT_EQ(e->code, Errc::kUnsupportedPlatform);
    EXPECT_NE(e->context.find("Windows"), std::string::npos) << e->context;
  }
}

}  // namespace
}  // namespace lanparty::client_tap
