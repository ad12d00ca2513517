// SPDX-License-Identifier: MIT
// The bounded queue of DATAGRAM payloads waiting for the next write of one connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace lanparty::quic::detail {

// Fixed-capacity ring of datagram payloads. Slot storage is allocated the first time a slot
// is used and reused afterwards, so steady state never allocates, and an idle connection
// costs nothing (10k connections x 256 slots x 1452 bytes would be 3.7 GB if preallocated).
class DatagramQueue {
 public:
  DatagramQueue(std::size_t slots, std::size_t slot_bytes);
  // Copies payload (size <= slot_bytes). Returns true if the oldest entry was dropped.
  bool push(std::span<const std::uint8_t> payload);
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::span<const std::uint8_t> front() const noexcept;
  void pop() noexcept;
  void clear() noexcept;
  // While the queue is empty, frees the buffers of all slots but the first `keep` (the ones a
  // drained queue fills first): after a backlog (a broadcast storm, a stalled peer) the
  // connection shrinks back to what its steady traffic uses. A no-op while datagrams wait.
  void release_idle_slots(std::size_t keep) noexcept;
  // Slots whose buffer exists: the memory a connection holds for its queue.
  [[nodiscard]] std::size_t allocated_slots() const noexcept;

 private:
  struct Slot {
    std::unique_ptr<std::uint8_t[]> data;
    std::size_t length = 0;
  };
  std::vector<Slot> slots_;
  std::size_t slot_bytes_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace lanparty::quic::detail
