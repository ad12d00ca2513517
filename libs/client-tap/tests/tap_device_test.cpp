// SPDX-License-Identifier: MIT
// IOCTL buffers, device opening and the media-status guard, against FakeTapDevice.
#include "lanparty/client_tap/tap_device.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_tap.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/client_tap/tap_windows.hpp"
#include "lanparty/obs/sinks.hpp"

namespace lanparty::client_tap {
namespace {

constexpr std::string_view kGuid = "{3F1F2C4A-5B6D-4E7F-8091-A2B3C4D5E6F7}";
const std::string kPath = "\\\\.\\Global\\{3F1F2C4A-5B6D-4E7F-8091-A2B3C4D5E6F7}.tap";

class TapDeviceTest : public ::testing::Test {
 protected:
  TapDeviceTest() {
    fake_.present.push_back(kPath);
    auto opened = open_tap(fake_, kGuid);
    EXPECT_TRUE(opened) << opened.error().describe();
    if (opened) handle_ = std::move(*opened);
  }
  testing::FakeTapDevice fake_;
  TapHandle handle_;
  obs::MemorySink sink_;
};

TEST_F(TapDeviceTest, OpenUsesTheGlobalDevicePath) {
  EXPECT_TRUE(handle_.valid());
  EXPECT_EQ(fake_.opened, std::vector<std::string>{kPath});
}

TEST_F(TapDeviceTest, OpeningAnAbsentAdapterIsNotFoundAndNamesTheGuid) {
  auto opened = open_tap(fake_, "{00000000-0000-0000-0000-000000000000}");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kNotFound);
  EXPECT_NE(opened.error().context.find("{00000000-0000-0000-0000-000000000000}"),
            std::string::npos);
}

TEST_F(TapDeviceTest, GetMacReadsSixBytes) {
  fake_.answers[kIoctlGetMac] = {0x00, 0xff, 0x3a, 0x11, 0x22, 0x33};
  auto mac = get_mac(fake_, handle_);
  ASSERT_TRUE(mac) << mac.error().describe();
  EXPECT_EQ(mac->to_string(), "00:ff:3a:11:22:33");
  ASSERT_EQ(fake_.ioctls.size(), 1u);
  EXPECT_EQ(fake_.ioctls[0].code, kIoctlGetMac);
}

TEST_F(TapDeviceTest, ShortMacAnswerIsAProtocolViolation) {
  fake_.answers[kIoctlGetMac] = {0x00, 0xff, 0x3a};
  auto mac = get_mac(fake_, handle_);
  ASSERT_FALSE(mac);
  EXPECT_EQ(mac.error().code, Errc::kProtocolViolation);
}

TEST_F(TapDeviceTest, GetMtuReadsALittleEndianUlong) {
  fake_.answers[kIoctlGetMtu] = {0xdc, 0x05, 0x00, 0x00};  // 1500
  auto mtu = get_mtu(fake_, handle_);
  ASSERT_TRUE(mtu);
  EXPECT_EQ(*mtu, 1500u);
  fake_.answers[kIoctlGetMtu] = {0xdc, 0x05};
  EXPECT_FALSE(get_mtu(fake_, handle_));
}

TEST_F(TapDeviceTest, MediaStatusIsALittleEndianUlongOneOrZero) {
  ASSERT_TRUE(set_media_status(fake_, handle_, true));
  ASSERT_TRUE(set_media_status(fake_, handle_, false));
  ASSERT_EQ(fake_.ioctls.size(), 2u);
  EXPECT_EQ(fake_.ioctls[0].code, kIoctlSetMediaStatus);
  EXPECT_EQ(fake_.ioctls[0].in, (std::vector<std::uint8_t>{1, 0, 0, 0}));
  EXPECT_EQ(fake_.ioctls[1].in, (std::vector<std::uint8_t>{0, 0, 0, 0}));
}

TEST_F(TapDeviceTest, IoctlErrorsCarryTheIoctlName) {
  fake_.ioctl_error = std::make_error_code(std::errc::permission_denied);
  auto set = set_media_status(fake_, handle_, true);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, std::errc::permission_denied);
  EXPECT_NE(set.error().context.find("SET_MEDIA_STATUS"), std::string::npos);
}

TEST_F(TapDeviceTest, MediaGuardConnectsThenDisconnectsOnDestruction) {
  {
    auto guard = MediaConnectedGuard::apply(fake_, handle_, obs::Logger(&sink_));
    ASSERT_TRUE(guard);
    EXPECT_TRUE(guard->armed());
    ASSERT_EQ(fake_.ioctls.size(), 1u);
    EXPECT_EQ(fake_.ioctls[0].in[0], 1);
  }
  ASSERT_EQ(fake_.ioctls.size(), 2u);
  EXPECT_EQ(fake_.ioctls[1].in[0], 0);
  EXPECT_EQ(sink_.count("tap.media_disconnected"), 1u);
}

TEST_F(TapDeviceTest, MediaGuardIsNotReturnedWhenConnectingFails) {
  fake_.ioctl_error = std::make_error_code(std::errc::io_error);
  auto guard = MediaConnectedGuard::apply(fake_, handle_);
  ASSERT_FALSE(guard);
  EXPECT_EQ(fake_.ioctls.size(), 1u) << "no disconnect for a connect that never happened";
}

TEST_F(TapDeviceTest, MediaGuardRestoreFailureStaysArmedAndIsLogged) {
  {
    auto guard = MediaConnectedGuard::apply(fake_, handle_, obs::Logger(&sink_));
    ASSERT_TRUE(guard);
    fake_.ioctl_error = std::make_error_code(std::errc::io_error);
    EXPECT_FALSE(guard->restore());
    EXPECT_TRUE(guard->armed());
  }
  EXPECT_EQ(sink_.count("tap.media_restore_failed"), 1u);
}

TEST_F(TapDeviceTest, MovedGuardDisconnectsOnce) {
  {
    auto guard = MediaConnectedGuard::apply(fake_, handle_);
    ASSERT_TRUE(guard);
    MediaConnectedGuard moved(std::move(*guard));
    EXPECT_FALSE(guard->armed());  // NOLINT(bugprone-use-after-move)
  }
  EXPECT_EQ(fake_.ioctls.size(), 2u);
}

TEST(TapHandle, MoveTransfersOwnershipAndClosesOnce) {
  static int closed = 0;
  closed = 0;
  const auto closer = [](NativeHandle) noexcept { ++closed; };
  {
    TapHandle a(reinterpret_cast<NativeHandle>(std::uintptr_t{10}),
                reinterpret_cast<NativeHandle>(std::uintptr_t{11}), nullptr, closer);
    TapHandle b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(b.valid());
    TapHandle c;
    c = std::move(b);
    EXPECT_EQ(closed, 0);
  }
  EXPECT_EQ(closed, 2) << "the handle and its read event; the null write event is skipped";
}

}  // namespace
}  // namespace lanparty::client_tap
