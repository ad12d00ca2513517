// SPDX-License-Identifier: MIT
// The bounded queue of DATAGRAM payloads waiting for the next write of one connection, with
// CoDel (RFC 8289) on the time they wait, and the endpoint-wide budget of its slots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace lanparty::quic::detail {

// The slots (one MTU-sized buffer each) all queues of one endpoint may hold at once: the
// relay's bound on queued frames however many connections back up together.
class SlotBudget {
 public:
  explicit SlotBudget(std::size_t limit) noexcept : limit_(limit) {}
  [[nodiscard]] bool take() noexcept {
    if (used_ >= limit_) return false;
    ++used_;
    return true;
  }
  void give_back(std::size_t slots) noexcept { used_ -= slots; }
  [[nodiscard]] std::size_t used() const noexcept { return used_; }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
};

// CoDel's two times. A queue may hold a burst of any length for up to `interval`; once every
// datagram at its head has waited longer than `target` for a whole `interval`, the head is
// dropped, then again at interval/sqrt(n) after the n-th drop, until the standing delay is
// gone. Inner TCP gets its loss signal after one interval instead of a full ring, and a game
// frame behind a bulk transfer waits about `target`, not the ring's depth at the link's rate.
struct QueueDelay {
  std::uint64_t target_ns = 5'000'000;
  std::uint64_t interval_ns = 100'000'000;
};

// Bounded ring of datagram payloads. Slot storage is allocated (from the budget) the first
// time a slot is used and reused afterwards, so steady state never allocates, and an idle
// connection costs nothing (10k connections x 1024 slots x 1452 bytes would be 15 GB if
// preallocated). The ring itself starts at 16 entries and doubles as a backlog needs it, up
// to `slots`: a connection flood does not pay 24 KiB of bookkeeping per handshake.
class DatagramQueue {
 public:
  DatagramQueue(std::size_t slots, std::size_t slot_bytes, SlotBudget& budget,
                QueueDelay delay = {});
  ~DatagramQueue();
  DatagramQueue(const DatagramQueue&) = delete;
  DatagramQueue& operator=(const DatagramQueue&) = delete;

  // Copies payload (size <= slot_bytes) stamped with now_ns. Returns true if a datagram was
  // dropped for it: the oldest when the ring is full or the budget has no slot left (its
  // buffer then takes this one), or this payload itself when there is nothing to give up.
  bool push(std::span<const std::uint8_t> payload, std::uint64_t now_ns);
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // The datagram to send next at now_ns, after the drops CoDel asks for (each added to
  // `dropped`). Asking again for a head that could not be sent is fine: drops are paced by
  // time, not by calls. judge_delay false (congestion control still in slow start, its
  // window doubling every round trip) drops nothing and starts CoDel's measurement afresh:
  // a burst at a connection's start on a long path drains in a few round trips, and that
  // is no standing queue. Empty only when the queue is.
  [[nodiscard]] std::span<const std::uint8_t> next(std::uint64_t now_ns, std::uint64_t& dropped,
                                                   bool judge_delay = true) noexcept;
  void pop() noexcept;
  void clear() noexcept;
  // While the queue is empty, frees the buffers of all slots but the first `keep` (the ones a
  // drained queue fills first): after a backlog (a broadcast storm, a stalled peer) the
  // connection shrinks back to what its steady traffic uses. A no-op while datagrams wait.
  void release_idle_slots(std::size_t keep) noexcept;
  // Slots whose buffer exists: the memory a connection holds for its queue.
  [[nodiscard]] std::size_t allocated_slots() const noexcept;
  // Entries of the ring as it is now (16 up to the capacity).
  [[nodiscard]] std::size_t ring_size() const noexcept { return slots_.size(); }

  static constexpr std::size_t kInitialRing = 16;

 private:
  struct Slot {
    std::unique_ptr<std::uint8_t[]> data;
    std::size_t length = 0;
    std::uint64_t enqueued_ns = 0;
  };
  void drop_head() noexcept;
  void grow();
  void on_empty() noexcept;
  [[nodiscard]] bool head_overstayed(std::uint64_t now_ns) noexcept;
  [[nodiscard]] std::uint64_t next_drop_after(std::uint64_t t) const noexcept;

  std::vector<Slot> slots_;
  std::size_t capacity_;
  std::size_t slot_bytes_;
  SlotBudget& budget_;
  QueueDelay delay_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  // CoDel state (RFC 8289 section 5.5 names: first_above_time, dropping, drop_next, count,
  // lastcount).
  std::uint64_t first_above_ns_ = 0;
  std::uint64_t drop_next_ns_ = 0;
  std::uint32_t drops_in_episode_ = 0;
  std::uint32_t drops_last_episode_ = 0;
  bool dropping_ = false;
};

}  // namespace lanparty::quic::detail
