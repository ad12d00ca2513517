// SPDX-License-Identifier: MIT
// TAP <-> relay for the Windows client. The driver only offers blocking (overlapped) reads, so
// a reader thread fills a ring of frame slots and wakes the event loop through an event
// object; the loop thread hands each frame to the runner in place (the slot keeps 4 bytes of
// headroom for the overlay header) and writes relay frames to the TAP itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "app_support.hpp"
#include "lanparty/client_tap/tap_device.hpp"
#include "lanparty/io/event_loop.hpp"

namespace lanparty::client_win {

struct TapBridgeCounters {
  std::atomic<std::uint64_t> frames_read{0};
  std::atomic<std::uint64_t> dropped_ring_full{0};  // the loop fell behind the TAP
  std::atomic<std::uint64_t> read_errors{0};
  std::uint64_t frames_written = 0;
  std::uint64_t write_errors = 0;
};

class TapBridge final : public apps::DevicePort {
 public:
  // Called on the loop thread after every welcome (the room MTU may differ per relay).
  using OnJoined = std::function<void(const ctrl::Welcome&)>;

  TapBridge(io::EventLoop& loop, client_tap::TapDeviceApi& api, client_tap::TapHandle& tap,
            obs::Logger log, OnJoined on_joined);
  ~TapBridge() override;  // stops and joins the reader
  TapBridge(const TapBridge&) = delete;
  TapBridge& operator=(const TapBridge&) = delete;

  // Registers the wake-up event with the loop and starts the reader thread.
  [[nodiscard]] Status start();

  void deliver_frame(std::span<const std::uint8_t> frame) override;
  void on_joined(const ctrl::Welcome& welcome) override;
  void on_state(obs::ConnectionState state, std::string_view sentence) override;
  void on_fatal(std::string_view sentence) override;
  void on_readable() override;  // the reader published frames

  [[nodiscard]] const TapBridgeCounters& counters() const noexcept { return counters_; }

 private:
  static constexpr std::size_t kSlots = 512;
  static constexpr std::size_t kSlotBytes = 4 + 2048;  // overlay header + largest TAP frame

  void read_loop() noexcept;

  io::EventLoop& loop_;
  client_tap::TapDeviceApi& api_;
  client_tap::TapHandle& tap_;
  OnJoined on_joined_;
  void* wake_ = nullptr;  // auto-reset event: frames are waiting in the ring
  std::vector<std::uint8_t> slots_;
  std::vector<std::size_t> lengths_;
  // Single producer (reader), single consumer (loop): indices only grow.
  std::atomic<std::size_t> head_{0};  // next slot the reader fills
  std::atomic<std::size_t> tail_{0};  // next slot the loop consumes
  std::atomic<bool> stopping_{false};
  std::thread reader_;
  TapBridgeCounters counters_;
};

}  // namespace lanparty::client_win
