// SPDX-License-Identifier: MIT
// DatagramQueue: a ring whose slot buffers come from the endpoint's budget on first use and are
// reused afterwards; CoDel decides at the head.
#include "datagram_queue.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lanparty::quic::detail {

DatagramQueue::DatagramQueue(std::size_t slots, std::size_t slot_bytes, SlotBudget& budget,
                             QueueDelay delay)
    : slots_(std::min(std::max<std::size_t>(slots, 1), kInitialRing)),
      capacity_(std::max<std::size_t>(slots, 1)),
      slot_bytes_(slot_bytes),
      budget_(budget),
      delay_(delay) {}

DatagramQueue::~DatagramQueue() { budget_.give_back(allocated_slots()); }

bool DatagramQueue::push(std::span<const std::uint8_t> payload, std::uint64_t now_ns) {
  bool dropped = false;
  if (size_ == slots_.size()) {
    if (slots_.size() < capacity_) {
      grow();
    } else {
      drop_head();
      dropped = true;
    }
  }
  Slot& tail = slots_[(head_ + size_) % slots_.size()];
  if (!tail.data) {
    if (budget_.take()) {
      // Uninitialised: every byte used is written just below.
      tail.data = std::make_unique_for_overwrite<std::uint8_t[]>(slot_bytes_);
    } else if (size_ != 0) {
      // The endpoint is at its budget: the oldest datagram gives its buffer to the newest
      // (dropping the head leaves the tail's position where it is).
      tail.data = std::move(slots_[head_].data);
      drop_head();
      dropped = true;
    } else {
      return true;
    }
  }
  std::memcpy(tail.data.get(), payload.data(), payload.size());
  tail.length = payload.size();
  tail.enqueued_ns = now_ns;
  ++size_;
  return dropped;
}

std::span<const std::uint8_t> DatagramQueue::next(std::uint64_t now_ns, std::uint64_t& dropped,
                                                  bool judge_delay) noexcept {
  if (!judge_delay) {
    first_above_ns_ = 0;
    dropping_ = false;
  }
  while (judge_delay && size_ != 0) {
    const bool overstayed = head_overstayed(now_ns);
    if (dropping_) {
      if (!overstayed) {
        dropping_ = false;
      } else if (now_ns >= drop_next_ns_) {
        drop_head();
        ++dropped;
        ++drops_in_episode_;
        drop_next_ns_ = next_drop_after(drop_next_ns_);
        continue;
      }
    } else if (overstayed) {
      drop_head();
      ++dropped;
      dropping_ = true;
      // Coming back soon after the last episode resumes near its drop rate (RFC 8289 5.5).
      const std::uint32_t since_last = drops_in_episode_ - drops_last_episode_;
      const bool recent =
          drop_next_ns_ > now_ns || now_ns - drop_next_ns_ < 16 * delay_.interval_ns;
      drops_in_episode_ = since_last > 1 && recent ? since_last : 1;
      drops_last_episode_ = drops_in_episode_;
      drop_next_ns_ = next_drop_after(now_ns);
      continue;
    }
    break;
  }
  if (size_ == 0) {
    on_empty();
    return {};
  }
  const Slot& slot = slots_[head_];
  return {slot.data.get(), slot.length};
}

bool DatagramQueue::head_overstayed(std::uint64_t now_ns) noexcept {
  const std::uint64_t enqueued = slots_[head_].enqueued_ns;
  const std::uint64_t waited = now_ns > enqueued ? now_ns - enqueued : 0;
  // One datagram alone is no standing queue (the RFC's "bytes <= maxpacket").
  if (waited < delay_.target_ns || size_ <= 1) {
    first_above_ns_ = 0;
    return false;
  }
  if (first_above_ns_ == 0) {
    first_above_ns_ = now_ns + delay_.interval_ns;
    return false;
  }
  return now_ns >= first_above_ns_;
}

std::uint64_t DatagramQueue::next_drop_after(std::uint64_t t) const noexcept {
  return t + static_cast<std::uint64_t>(static_cast<double>(delay_.interval_ns) /
                                        std::sqrt(static_cast<double>(drops_in_episode_)));
}

void DatagramQueue::grow() {
  // Every entry moves, in ring order from the head, so the idle ones keep their buffers.
  std::vector<Slot> bigger(std::min(capacity_, 2 * slots_.size()));
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    bigger[i] = std::move(slots_[(head_ + i) % slots_.size()]);
  }
  slots_ = std::move(bigger);
  head_ = 0;
}

void DatagramQueue::drop_head() noexcept {
  head_ = (head_ + 1) % slots_.size();
  --size_;
}

void DatagramQueue::on_empty() noexcept {
  // Back to slot 0 whenever the queue drains, so a connection only ever allocates as many
  // slots as its deepest backlog (not all of them as the ring rotates): 10k quiet
  // connections stay small.
  head_ = 0;
  first_above_ns_ = 0;
  dropping_ = false;
}

void DatagramQueue::pop() noexcept {
  if (size_ == 0) return;
  drop_head();
  if (size_ == 0) on_empty();
}

void DatagramQueue::release_idle_slots(std::size_t keep) noexcept {
  if (size_ != 0) return;  // an empty queue's head is slot 0 (on_empty)
  std::size_t freed = 0;
  for (std::size_t i = keep; i < slots_.size(); ++i) {
    if (slots_[i].data) {
      slots_[i].data.reset();
      ++freed;
    }
  }
  budget_.give_back(freed);
  const std::size_t ring = std::max(keep, kInitialRing);
  if (slots_.size() > ring) {
    slots_.resize(ring);
    slots_.shrink_to_fit();
  }
}

std::size_t DatagramQueue::allocated_slots() const noexcept {
  std::size_t n = 0;
  for (const Slot& slot : slots_) n += slot.data ? 1 : 0;
  return n;
}

void DatagramQueue::clear() noexcept {
  size_ = 0;
  on_empty();
}

}  // namespace lanparty::quic::detail
