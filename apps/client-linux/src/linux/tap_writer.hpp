// SPDX-License-Identifier: MIT
// Frames from the room on their way into the TAP. With offloads (IFF_VNET_HDR), consecutive
// TCP segments of one flow are merged (proto::Coalescer) and written as one super-frame that
// the kernel takes whole, as it would from a NIC with GRO; end_of_batch() (the runner calls it
// after each receive batch) writes what is held, so no frame waits for a later batch. Any
// other frame is written at once, from the relay's buffer. Without offloads every frame is
// written as it came.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "lanparty/base/result.hpp"
#include "lanparty/proto/coalesce.hpp"
#include "tap_device.hpp"

namespace lanparty::client_linux {

class TapWriter {
 public:
  explicit TapWriter(TapDevice& tap) : tap_(tap) {
    if (tap.vnet_header()) coalescer_.emplace();
  }

  void write(std::span<const std::uint8_t> frame) {
    if (!coalescer_) {
      emit(frame, {});
      return;
    }
    coalescer_->add(frame, [this](std::span<const std::uint8_t> out,
                                  const proto::OffloadInfo& info) { emit(out, info); });
  }
  void end_of_batch() {
    if (!coalescer_) return;
    coalescer_->flush([this](std::span<const std::uint8_t> out, const proto::OffloadInfo& info) {
      emit(out, info);
    });
  }

  // nullptr without offloads.
  [[nodiscard]] const proto::CoalesceCounters* coalesce_counters() const noexcept {
    return coalescer_ ? &coalescer_->counters() : nullptr;
  }
  [[nodiscard]] std::uint64_t write_errors() const noexcept { return write_errors_; }
  // The latest failed write, for the debug log; empty when none since the last call.
  [[nodiscard]] std::optional<Error> take_error() noexcept {
    return std::exchange(error_, std::nullopt);
  }

 private:
  void emit(std::span<const std::uint8_t> frame, const proto::OffloadInfo& info) {
    if (auto st = tap_.write_frame(frame, info); !st) {
      ++write_errors_;
      error_ = st.error();
    }
  }

  TapDevice& tap_;
  std::optional<proto::Coalescer> coalescer_;
  std::uint64_t write_errors_ = 0;
  std::optional<Error> error_;
};

}  // namespace lanparty::client_linux
