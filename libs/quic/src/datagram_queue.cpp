// SPDX-License-Identifier: MIT
// DatagramQueue: a ring whose slot buffers are allocated on first use and then reused.
#include "datagram_queue.hpp"

#include <algorithm>
#include <cstring>

namespace lanparty::quic::detail {

DatagramQueue::DatagramQueue(std::size_t slots, std::size_t slot_bytes)
    : slots_(std::max<std::size_t>(slots, 1)), slot_bytes_(slot_bytes) {}

bool DatagramQueue::push(std::span<const std::uint8_t> payload) {
  bool dropped = false;
  if (size_ == slots_.size()) {
    head_ = (head_ + 1) % slots_.size();
    --size_;
    dropped = true;
  }
  Slot& slot = slots_[(head_ + size_) % slots_.size()];
  // Uninitialised: every byte used is written just below.
  if (!slot.data) slot.data = std::make_unique_for_overwrite<std::uint8_t[]>(slot_bytes_);
  std::memcpy(slot.data.get(), payload.data(), payload.size());
  slot.length = payload.size();
  ++size_;
  return dropped;
}

std::span<const std::uint8_t> DatagramQueue::front() const noexcept {
  const Slot& slot = slots_[head_];
  return {slot.data.get(), slot.length};
}

void DatagramQueue::pop() noexcept {
  if (size_ == 0) return;
  head_ = (head_ + 1) % slots_.size();
  --size_;
  // Back to slot 0 whenever the queue drains, so a connection only ever allocates as many
  // slots as its deepest backlog (not all of them as the ring rotates): 10k quiet
  // connections stay small.
  if (size_ == 0) head_ = 0;
}

void DatagramQueue::release_idle_slots(std::size_t keep) noexcept {
  if (size_ != 0) return;
  for (std::size_t i = keep; i < slots_.size(); ++i) slots_[i].data.reset();
}

std::size_t DatagramQueue::allocated_slots() const noexcept {
  std::size_t n = 0;
  for (const Slot& slot : slots_) n += slot.data ? 1 : 0;
  return n;
}

void DatagramQueue::clear() noexcept {
  head_ = 0;
  size_ = 0;
}

}  // namespace lanparty::quic::detail
