// SPDX-License-Identifier: MIT
// The reader thread, the ring hand-off and the TAP writes of TapBridge.
#include "tap_bridge.hpp"

#include <windows.h>

#include <chrono>
#include <cstdio>

#include "lanparty/base/errc.hpp"

namespace lanparty::client_win {
namespace {

// How long one blocking read waits before the reader looks at stopping_ again.
constexpr std::chrono::milliseconds kReadSlice{200};
// A TAP write normally completes at once; this only bounds a wedged driver.
constexpr std::chrono::milliseconds kWriteTimeout{50};

}  // namespace

TapBridge::TapBridge(io::EventLoop& loop, client_tap::TapDeviceApi& api, client_tap::TapHandle& tap,
                     obs::Logger log, OnJoined on_joined)
    : DevicePort("lanparty-client-win", log),
      loop_(loop),
      api_(api),
      tap_(tap),
      on_joined_(std::move(on_joined)),
      slots_(kSlots * kSlotBytes),
      lengths_(kSlots, 0) {}

TapBridge::~TapBridge() {
  stopping_.store(true);
  if (reader_.joinable()) reader_.join();
  if (wake_ != nullptr) {
    loop_.remove_handle(wake_);
    ::CloseHandle(static_cast<HANDLE>(wake_));
  }
}

Status TapBridge::start() {
  wake_ = ::CreateEventW(nullptr, FALSE, FALSE, nullptr);
  if (wake_ == nullptr) {
    return fail(std::error_code(static_cast<int>(::GetLastError()), std::system_category()),
                "CreateEvent(TAP frames)");
  }
  if (auto st = loop_.add_handle(wake_, [this] { on_readable(); }); !st) return st;
  reader_ = std::thread([this] { read_loop(); });
  return ok();
}

void TapBridge::read_loop() noexcept {
  std::vector<std::uint8_t> overflow(kSlotBytes);
  while (!stopping_.load(std::memory_order_relaxed)) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    const bool full = head - tail_.load(std::memory_order_acquire) == kSlots;
    // When the ring is full the frame is still read (the driver would queue it otherwise and
    // deliver it stale later) and dropped.
    std::uint8_t* slot = full ? overflow.data() : slots_.data() + (head % kSlots) * kSlotBytes;
    auto n = api_.read_file(tap_, std::span(slot + 4, kSlotBytes - 4), kReadSlice);
    if (!n) {
      if (n.error().code == make_error_code(Errc::kTimedOut)) continue;
      counters_.read_errors.fetch_add(1, std::memory_order_relaxed);
      if (n.error().code == make_error_code(Errc::kClosed)) return;
      ::Sleep(10);  // an adapter being disabled: do not spin on the error
      continue;
    }
    if (*n == 0) continue;
    if (full) {
      counters_.dropped_ring_full.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    lengths_[head % kSlots] = *n;
    head_.store(head + 1, std::memory_order_release);
    counters_.frames_read.fetch_add(1, std::memory_order_relaxed);
    ::SetEvent(static_cast<HANDLE>(wake_));
  }
}

void TapBridge::on_readable() {
  // Bounded so relay datagrams and timers get their turn; the event is re-set if frames
  // remain.
  for (int i = 0; i < 256; ++i) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return;
    std::uint8_t* slot = slots_.data() + (tail % kSlots) * kSlotBytes;
    const std::size_t length = lengths_[tail % kSlots];
    if (runner_ != nullptr) runner_->send_frame(std::span(slot, 4 + length));
    tail_.store(tail + 1, std::memory_order_release);
  }
  ::SetEvent(static_cast<HANDLE>(wake_));
}

void TapBridge::deliver_frame(std::span<const std::uint8_t> frame) {
  if (auto n = api_.write_file(tap_, frame, kWriteTimeout); !n) {
    ++counters_.write_errors;
    if (log_.enabled(obs::Level::kDebug)) {
      log_.debug("client.tap_write_failed", {{"error", n.error().describe()}});
    }
    return;
  }
  ++counters_.frames_written;
}

void TapBridge::on_joined(const ctrl::Welcome& welcome) {
  if (on_joined_) on_joined_(welcome);
}

void TapBridge::on_state(obs::ConnectionState state, std::string_view sentence) {
  apps::print_state_line(state, sentence);
}

void TapBridge::on_fatal(std::string_view sentence) {
  DevicePort::on_fatal(sentence);
  loop_.stop();
}

}  // namespace lanparty::client_win
