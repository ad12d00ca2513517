// SPDX-License-Identifier: MIT
// TapBridge end to end under wine: frames written by a stand-in TAP driver (a message-mode
// named pipe) cross the bridge, a real QUIC connection (wolfSSL, Winsock) and the native Linux
// relay to a gateway in the same room, and the gateway's frames come back out of the pipe.
// tests/win/client_win_check.sh starts the relay and passes LANPARTY_TEST_RELAY_PORT and
// LANPARTY_TEST_RELAY_PIN; without them the tests skip.
#include <windows.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "lanparty/client_core/runner.hpp"
#include "lanparty/client_tap/tap_device.hpp"
#include "lanparty/io/event_loop.hpp"
#include "win/tap_bridge.hpp"

namespace lanparty::client_win {
namespace {

using namespace std::chrono_literals;
using Frame = std::vector<std::uint8_t>;

constexpr proto::MacAddress kClientMac{std::array<std::uint8_t, 6>{0x02, 0, 0, 0, 0, 0x0a}};
constexpr proto::MacAddress kGatewayMac{std::array<std::uint8_t, 6>{0x02, 0, 0, 0, 0, 0x0b}};
constexpr proto::MacAddress kBroadcast{
    std::array<std::uint8_t, 6>{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// dst, src, ethertype, then a payload of `payload_bytes` counting bytes from seed.
Frame ethernet(const proto::MacAddress& dst, const proto::MacAddress& src, std::uint16_t type,
               std::size_t payload_bytes, std::uint8_t seed) {
  Frame f;
  f.insert(f.end(), dst.bytes().begin(), dst.bytes().end());
  f.insert(f.end(), src.bytes().begin(), src.bytes().end());
  f.push_back(static_cast<std::uint8_t>(type >> 8));
  f.push_back(static_cast<std::uint8_t>(type & 0xff));
  for (std::size_t i = 0; i < payload_bytes; ++i) f.push_back(static_cast<std::uint8_t>(seed + i));
  return f;
}

// A gateway that only records what the room sends it.
class RecordingPort final : public client_core::LocalPort {
 public:
  void deliver_frame(std::span<const std::uint8_t> frame) override {
    frames.emplace_back(frame.begin(), frame.end());
  }
  void on_joined(const ctrl::Welcome& /*welcome*/) override { joined = true; }
  std::vector<Frame> frames;
  bool joined = false;
};

class TapBridgeWin : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* port = std::getenv("LANPARTY_TEST_RELAY_PORT");
    const char* pin = std::getenv("LANPARTY_TEST_RELAY_PIN");
    if (port == nullptr || pin == nullptr) {
      GTEST_SKIP() << "needs a relay: run through tests/win/client_win_check.sh";
    }
    relay_port_ = static_cast<std::uint16_t>(std::atoi(port));
    relay_pin_ = pin;

    auto loop = io::EventLoop::create();
    ASSERT_TRUE(loop) << loop.error().describe();
    loop_ = std::move(*loop);
    auto api = client_tap::make_tap_device_api();
    ASSERT_TRUE(api) << api.error().describe();
    api_ = std::move(*api);

    std::random_device random;
    const std::wstring name = L"\\\\.\\pipe\\lanparty-bridge-test-" + std::to_wstring(random());
    HANDLE server = ::CreateNamedPipeW(
        name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
        PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, 1 << 20, 1 << 20, 0, nullptr);
    ASSERT_NE(server, INVALID_HANDLE_VALUE) << ::GetLastError();
    HANDLE client = ::CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                  OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
    ASSERT_NE(client, INVALID_HANDLE_VALUE) << ::GetLastError();
    DWORD mode = PIPE_READMODE_MESSAGE;
    ASSERT_TRUE(::SetNamedPipeHandleState(client, &mode, nullptr, nullptr)) << ::GetLastError();
    auto driver = client_tap::adopt_overlapped_handle(server);
    auto host = client_tap::adopt_overlapped_handle(client);
    ASSERT_TRUE(driver && host);
    driver_side_ = std::move(*driver);
    host_side_ = std::move(*host);

    bridge_.emplace(*loop_, *api_, host_side_, obs::Logger{},
                    [this](const ctrl::Welcome&) { client_joined_ = true; });
    client_.emplace(*loop_, config(ctrl::Role::kClient, kClientMac), *bridge_, obs::Logger{},
                    [] { return 0.5; });
    bridge_->attach(*client_);
    gateway_.emplace(*loop_, config(ctrl::Role::kGateway, kGatewayMac), gateway_port_,
                     obs::Logger{}, [] { return 0.5; });
    ASSERT_TRUE(bridge_->start());
    gateway_->start();
    client_->start();
    ASSERT_TRUE(loop_->run_until([&] { return client_joined_ && gateway_port_.joined; }, 20s))
        << "client state " << obs::to_string(client_->state()) << ", gateway state "
        << obs::to_string(gateway_->state());
  }

  void TearDown() override {
    if (client_) client_->stop();
    if (gateway_) gateway_->stop();
    if (loop_) (void)loop_->run_until([] { return false; }, 200ms);
    client_.reset();
    gateway_.reset();
    bridge_.reset();
  }

  client_core::RunnerConfig config(ctrl::Role role, const proto::MacAddress& mac) const {
    client_core::RunnerConfig c;
    c.quic.host = "127.0.0.1";
    c.quic.port = relay_port_;
    c.quic.server_name = "relay.test";
    c.quic.trust.pinned_der = relay_pin_;
    c.session = {.role = role,
                 .room = "bridge-room",
                 .mac = mac,
                 .software = "lanparty tap_bridge_win_test"};
    c.pmtud_wait = 0ms;
    return c;
  }

  std::string describe_counters() const {
    const auto& c = client_->counters();
    return "read " + std::to_string(bridge_->counters().frames_read.load()) + ", to relay " +
           std::to_string(c.frames_to_relay) + ", not joined " +
           std::to_string(c.dropped_not_joined) + ", too large " +
           std::to_string(c.dropped_too_large) + ", gateway got " +
           std::to_string(gateway_->counters().frames_from_relay) + ", client datagrams sent " +
           std::to_string(client_->counters().frames_to_relay);
  }

  // The stand-in driver hands the adapter a frame, as Windows sending it out the TAP would.
  void driver_writes(const Frame& frame) {
    auto n = api_->write_file(driver_side_, frame, 1s);
    ASSERT_TRUE(n) << n.error().describe();
  }

  std::uint16_t relay_port_ = 0;
  std::string relay_pin_;
  std::unique_ptr<io::EventLoop> loop_;
  std::unique_ptr<client_tap::TapDeviceApi> api_;
  client_tap::TapHandle driver_side_;
  client_tap::TapHandle host_side_;
  std::optional<TapBridge> bridge_;
  std::optional<client_core::Runner> client_;
  std::optional<client_core::Runner> gateway_;
  RecordingPort gateway_port_;
  bool client_joined_ = false;
};

TEST_F(TapBridgeWin, AFrameFromTheTapReachesTheGatewayUnchanged) {
  const Frame arp = ethernet(kBroadcast, kClientMac, 0x0806, 46, 1);
  driver_writes(arp);
  ASSERT_TRUE(loop_->run_until([&] { return !gateway_port_.frames.empty(); }, 5s))
      << describe_counters();
  EXPECT_EQ(gateway_port_.frames.front(), arp);
  EXPECT_EQ(bridge_->counters().frames_read.load(), 1u);
}

TEST_F(TapBridgeWin, AFrameFromTheGatewayComesOutOfTheTapUnchanged) {
  Frame reply = ethernet(kClientMac, kGatewayMac, 0x0800, 1000, 7);
  // send_frame takes the frame behind 4 bytes of headroom for the overlay header.
  Frame datagram(4, 0);
  datagram.insert(datagram.end(), reply.begin(), reply.end());
  gateway_->send_frame(datagram);
  ASSERT_TRUE(loop_->run_until([&] { return bridge_->counters().frames_written > 0; }, 5s));
  std::array<std::uint8_t, 2048> buffer{};
  auto n = api_->read_file(driver_side_, buffer, 1s);
  ASSERT_TRUE(n) << n.error().describe();
  EXPECT_EQ(Frame(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n)), reply);
}

TEST_F(TapBridgeWin, ABurstCrossesInOrderWithoutLoss) {
  constexpr int kFrames = 300;
  for (int i = 0; i < kFrames; ++i) {
    driver_writes(ethernet(kGatewayMac, kClientMac, 0x0800, 200 + static_cast<std::size_t>(i),
                           static_cast<std::uint8_t>(i)));
  }
  ASSERT_TRUE(loop_->run_until(
      [&] { return gateway_port_.frames.size() == static_cast<std::size_t>(kFrames); }, 10s))
      << gateway_port_.frames.size() << " of " << kFrames << " arrived; " << describe_counters();
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(gateway_port_.frames[static_cast<std::size_t>(i)].size(),
              14 + 200 + static_cast<std::size_t>(i));
  }
  EXPECT_EQ(bridge_->counters().dropped_ring_full.load(), 0u);
}

}  // namespace
}  // namespace lanparty::client_win
