// SPDX-License-Identifier: MIT
// The gateway's wire: an AF_PACKET socket on the LAN interface, promiscuous, that never sees
// its own transmissions, and reads each frame with the kernel's offload metadata
// (PACKET_VNET_HDR) and its 802.1Q tag (PACKET_AUXDATA), many frames per system call each
// way; the writer that merges and batches frames from the room; and an owner object for the
// interface's receive offloads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "lanparty/base/result.hpp"
#include "lanparty/base/scoped_undo.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/proto/coalesce.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/proto/offload.hpp"

namespace lanparty::gateway {

class PacketSocket {
 public:
  // Frames moved per system call: one recvmmsg reads up to this many, one sendmmsg sends up
  // to this many queued frames.
  static constexpr std::size_t kBatch = 32;
  // Queued frames are copied into slots of this size; a larger frame is sent on its own.
  static constexpr std::size_t kSendSlotBytes = 2048;
  // The largest frame the kernel can hand over: a 64 KiB GSO super-frame with a tag put back.
  static constexpr std::size_t kMaxFrameBytes = 65536 + 18 + 4;

  // Opens the LAN side on `interface`; each received frame lands `headroom` bytes into its
  // buffer (room for the overlay header, so nothing is copied on the way to the relay). The
  // receive buffers (kBatch frames of kMaxFrameBytes) and send slots are allocated here, once.
  [[nodiscard]] static Result<std::unique_ptr<PacketSocket>> open(const std::string& interface,
                                                                  std::size_t headroom);
  ~PacketSocket();
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;

  // A frame receive() read, in the socket's own buffer, and what the kernel said of it.
  struct Frame {
    std::span<std::uint8_t> datagram;  // headroom bytes, then the frame (tag put back)
    proto::OffloadInfo offload;
  };
  // Frames skipped or lost, by reason.
  struct Drops {
    std::uint64_t truncated = 0;            // larger than the buffer
    std::uint64_t unsupported_offload = 0;  // a GSO type we cannot segment (UFO)
    std::uint64_t send_failed = 0;          // the kernel refused a frame we sent (buffer full)
  };

  // One recvmmsg: returns how many messages it read (0: nothing was waiting); frames() then
  // holds those received on the LAN (not our own transmissions, not truncated ones), valid
  // until the next receive().
  [[nodiscard]] Result<std::size_t> receive();
  [[nodiscard]] std::span<const Frame> frames() const noexcept {
    return std::span(frames_).first(frame_count_);
  }

  // Sends `frame` after everything queued. `offload` empty: a finished frame; else a TCP
  // super-frame (proto::Coalescer) that the kernel, or the NIC, cuts into segments.
  [[nodiscard]] Status write_frame(std::span<const std::uint8_t> frame,
                                   const proto::OffloadInfo& offload = {});
  // Copies a finished frame into the send queue (sending the queue first when it is full);
  // flush() sends the queue in one sendmmsg.
  void queue_frame(std::span<const std::uint8_t> frame);
  [[nodiscard]] Status flush();

  [[nodiscard]] const Drops& drops() const noexcept { return drops_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const proto::MacAddress& interface_mac() const noexcept { return mac_; }
  [[nodiscard]] std::size_t interface_mtu() const noexcept { return mtu_; }
  [[nodiscard]] const std::string& interface() const noexcept { return name_; }

 private:
  struct Batches;  // recvmmsg/sendmmsg vectors and buffers (packet_socket.cpp)
  PacketSocket(int fd, std::string name, proto::MacAddress mac, std::size_t mtu,
               std::size_t headroom);

  int fd_;
  std::string name_;
  proto::MacAddress mac_;
  std::size_t mtu_;
  std::size_t headroom_;
  std::unique_ptr<Batches> batches_;
  std::array<Frame, kBatch> frames_{};
  std::size_t frame_count_ = 0;
  std::size_t queued_ = 0;  // frames in the send queue
  Drops drops_;
};

// Frames from the room onto the LAN. With `coalesce`, consecutive TCP segments of one flow
// are merged (proto::Coalescer) into super-frames that the kernel (or the NIC) cuts again on
// the way out, each sent alone without a further copy; every other frame is copied into the
// send queue, and the queue leaves in one sendmmsg at end_of_batch() (or when full). Without
// `coalesce` frames are only batched. Order is kept either way.
class LanWriter {
 public:
  LanWriter(PacketSocket& socket, bool coalesce);
  void write(std::span<const std::uint8_t> frame);
  // The end of a receive batch: sends what is held.
  void end_of_batch();
  [[nodiscard]] const proto::CoalesceCounters* coalesce_counters() const noexcept {
    return coalescer_ ? &coalescer_->counters() : nullptr;
  }
  // The latest failed send, for the debug log; empty when none since the last call.
  [[nodiscard]] std::optional<Error> take_error() noexcept {
    return std::exchange(error_, std::nullopt);
  }

 private:
  void emit(std::span<const std::uint8_t> frame, const proto::OffloadInfo& info);
  PacketSocket& socket_;
  std::optional<proto::Coalescer> coalescer_;
  std::optional<Error> error_;
};

// Turns generic receive offload off on the LAN interface for the gateway's life and restores
// it after: with GRO on, the packet socket sees merged TCP segments far above the MTU, which
// no room could carry. Only what it changed is restored.
class ReceiveOffloadGuard {
 public:
  [[nodiscard]] static Result<ReceiveOffloadGuard> apply(const std::string& interface,
                                                         obs::Logger log);
  ReceiveOffloadGuard(ReceiveOffloadGuard&& other) noexcept = default;  // disarms `other`
  ReceiveOffloadGuard& operator=(ReceiveOffloadGuard&&) = delete;
  // Turns GRO back on (ScopedUndo); a failure is logged (gateway.gro_restore_failed).
  ~ReceiveOffloadGuard() = default;
  // Turns GRO back on if this guard turned it off. Idempotent; on error stays armed.
  [[nodiscard]] Status restore() { return enable_gro_.run(); }

 private:
  struct EnableGro {
    std::string interface;
    obs::Logger log;
    Status undo();
    void on_undo_failed(const Error& error) const noexcept;
  };
  explicit ReceiveOffloadGuard(ScopedUndo<EnableGro> enable_gro) noexcept
      : enable_gro_(std::move(enable_gro)) {}
  ScopedUndo<EnableGro> enable_gro_;  // disarmed: GRO was off already, nothing to undo
};

}  // namespace lanparty::gateway
