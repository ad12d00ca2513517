// SPDX-License-Identifier: MIT
// Overlapped frame I/O of the real TapDeviceApi over a message-mode named pipe pair (wine in
// CI): a pipe keeps message boundaries like the TAP driver keeps frame boundaries.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <windows.h>
#include <winioctl.h>  // CTL_CODE: WIN32_LEAN_AND_MEAN leaves it out

#include "lanparty/base/errc.hpp"
#include "lanparty/client_tap/tap_device.hpp"
#include "lanparty/client_tap/tap_windows.hpp"

namespace lanparty::client_tap {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kMaxFrame = 1514;  // Ethernet header + 1500, what TAP-Windows6 passes

std::vector<std::uint8_t> frame_of(std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> frame(size);
  std::iota(frame.begin(), frame.end(), seed);
  return frame;
}

class FrameIoWin : public ::testing::Test {
 protected:
  void SetUp() override {
    auto api = make_tap_device_api();
    ASSERT_TRUE(api) << api.error().describe();
    api_ = std::move(*api);
    std::random_device random;
    const std::wstring name =
        L"\\\\.\\pipe\\lanparty-tap-test-" + std::to_wstring(random()) + std::to_wstring(random());
    HANDLE server = ::CreateNamedPipeW(
        name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
        PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, 64 * 1024, 64 * 1024, 0, nullptr);
    ASSERT_NE(server, INVALID_HANDLE_VALUE) << ::GetLastError();
    HANDLE client = ::CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                  OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
    ASSERT_NE(client, INVALID_HANDLE_VALUE) << ::GetLastError();
    DWORD mode = PIPE_READMODE_MESSAGE;
    ASSERT_TRUE(::SetNamedPipeHandleState(client, &mode, nullptr, nullptr)) << ::GetLastError();
    auto a = adopt_overlapped_handle(server);
    auto b = adopt_overlapped_handle(client);
    ASSERT_TRUE(a) << a.error().describe();
    ASSERT_TRUE(b) << b.error().describe();
    driver_side_ = std::move(*a);
    host_side_ = std::move(*b);
  }

  void expect_transfer(TapHandle& from, TapHandle& to, const std::vector<std::uint8_t>& frame) {
    auto written = api_->write_file(from, frame, 1s);
    ASSERT_TRUE(written) << written.error().describe();
    EXPECT_EQ(*written, frame.size());
    std::array<std::uint8_t, kMaxFrame> buffer{};
    auto got = api_->read_file(to, buffer, 1s);
    ASSERT_TRUE(got) << got.error().describe();
    ASSERT_EQ(*got, frame.size());
    EXPECT_TRUE(std::equal(frame.begin(), frame.end(), buffer.begin()));
  }

  std::unique_ptr<TapDeviceApi> api_;
  TapHandle driver_side_;  // stands in for the TAP driver
  TapHandle host_side_;    // what the client holds
};

TEST_F(FrameIoWin, MinimumAndMaximumFramesCrossBothWaysIntact) {
  for (const std::size_t size : {std::size_t{60}, kMaxFrame}) {
    expect_transfer(host_side_, driver_side_, frame_of(size, 1));
    expect_transfer(driver_side_, host_side_, frame_of(size, 7));
  }
}

TEST_F(FrameIoWin, FramesKeepTheirBoundaries) {
  const auto small = frame_of(60, 3);
  const auto large = frame_of(kMaxFrame, 9);
  ASSERT_TRUE(api_->write_file(driver_side_, small, 1s));
  ASSERT_TRUE(api_->write_file(driver_side_, large, 1s));
  std::array<std::uint8_t, kMaxFrame> buffer{};
  auto first = api_->read_file(host_side_, buffer, 1s);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, small.size());
  auto second = api_->read_file(host_side_, buffer, 1s);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, large.size());
}

TEST_F(FrameIoWin, ReadWithNothingPendingTimesOutAndTheNextFrameStillArrives) {
  std::array<std::uint8_t, kMaxFrame> buffer{};
  const auto start = std::chrono::steady_clock::now();
  auto got = api_->read_file(host_side_, buffer, 50ms);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::kTimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);
  expect_transfer(driver_side_, host_side_, frame_of(60, 5));  // the cancelled read lost nothing
}

TEST_F(FrameIoWin, FrameLargerThanTheBufferIsTooLarge) {
  ASSERT_TRUE(api_->write_file(driver_side_, frame_of(kMaxFrame, 2), 1s));
  std::array<std::uint8_t, 100> small{};
  auto got = api_->read_file(host_side_, small, 1s);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::kTooLarge);
}

TEST_F(FrameIoWin, ClosedPeerIsClosed) {
  driver_side_.reset();
  std::array<std::uint8_t, kMaxFrame> buffer{};
  auto got = api_->read_file(host_side_, buffer, 1s);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::kClosed) << got.error().describe();
}

TEST_F(FrameIoWin, TapIoctlOnSomethingThatIsNotATapIsAnErrorValue) {
  auto mtu = get_mtu(*api_, host_side_);
  ASSERT_FALSE(mtu);
  EXPECT_NE(mtu.error().context.find("TAP_WIN_IOCTL_GET_MTU"), std::string::npos);
}

TEST_F(FrameIoWin, OpeningAnAbsentTapIsAnErrorValue) {
  auto opened = open_tap(*api_, "{0BADC0DE-0000-4000-8000-00000000BEEF}");
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().context.find("CreateFile(\\\\.\\Global\\{0BADC0DE"), std::string::npos)
      << opened.error().context;
}

TEST(TapIoctlWin, CodesEqualWinioctlCtlCode) {
  EXPECT_EQ(kIoctlGetMac, static_cast<std::uint32_t>(
                              CTL_CODE(FILE_DEVICE_UNKNOWN, 1, METHOD_BUFFERED, FILE_ANY_ACCESS)));
  EXPECT_EQ(kIoctlGetMtu, static_cast<std::uint32_t>(
                              CTL_CODE(FILE_DEVICE_UNKNOWN, 3, METHOD_BUFFERED, FILE_ANY_ACCESS)));
  EXPECT_EQ(kIoctlSetMediaStatus, static_cast<std::uint32_t>(CTL_CODE(
                                      FILE_DEVICE_UNKNOWN, 6, METHOD_BUFFERED, FILE_ANY_ACCESS)));
}

}  // namespace
}  // namespace lanparty::client_tap
