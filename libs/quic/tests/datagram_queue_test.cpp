// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <vector>

#include "datagram_queue.hpp"

namespace lanparty::quic::detail {
namespace {

constexpr std::uint64_t kMs = 1'000'000;

// The head at time 0, where CoDel never drops (nothing has waited).
std::span<const std::uint8_t> front(DatagramQueue& queue) {
  std::uint64_t dropped = 0;
  return queue.next(0, dropped);
}

// Queues datagrams numbered first..last (their first byte), all at now_ns.
void push_numbered(DatagramQueue& queue, int first, int last, std::uint64_t now_ns) {
  for (int i = first; i <= last; ++i) {
    (void)queue.push(std::vector<std::uint8_t>(64, static_cast<std::uint8_t>(i)), now_ns);
  }
}

TEST(DatagramQueue, AllocatesOnlyItsDeepestBacklog) {
  SlotBudget budget(1000);
  DatagramQueue queue(256, 1452, budget);
  const std::vector<std::uint8_t> payload(1200, 0x5a);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(queue.push(payload, 0));
    queue.pop();
  }
  EXPECT_EQ(queue.allocated_slots(), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(queue.push(payload, 0));
  while (!queue.empty()) queue.pop();
  EXPECT_EQ(queue.allocated_slots(), 5u);
}

TEST(DatagramQueue, AnIdleQueueGivesBackAllButTheSlotsItKeeps) {
  SlotBudget budget(1000);
  DatagramQueue queue(256, 1452, budget);
  const std::vector<std::uint8_t> payload(1200, 0x5a);
  for (int i = 0; i < 200; ++i) ASSERT_FALSE(queue.push(payload, 0));  // a backlog
  queue.release_idle_slots(16);
  EXPECT_EQ(queue.allocated_slots(), 200u) << "nothing is freed while datagrams wait";
  while (!queue.empty()) queue.pop();
  queue.release_idle_slots(16);
  EXPECT_EQ(queue.allocated_slots(), 16u);
  // The kept slots are the ones a drained queue fills first: no allocation for a short burst,
  // and what comes out is what went in.
  for (std::uint8_t i = 1; i <= 16; ++i)
    ASSERT_FALSE(queue.push(std::vector<std::uint8_t>(8, i), 0));
  EXPECT_EQ(queue.allocated_slots(), 16u);
  for (std::uint8_t i = 1; i <= 16; ++i) {
    ASSERT_EQ(front(queue).size(), 8u);
    EXPECT_EQ(front(queue)[0], i);
    queue.pop();
  }
}

TEST(DatagramQueue, FullQueueDropsOldestFirst) {
  SlotBudget budget(1000);
  DatagramQueue queue(3, 16, budget);
  for (std::uint8_t i = 1; i <= 4; ++i) {
    const std::vector<std::uint8_t> payload(4, i);
    EXPECT_EQ(queue.push(payload, 0), i == 4) << int{i};
  }
  ASSERT_EQ(queue.size(), 3u);
  EXPECT_EQ(front(queue)[0], 2);  // 1 was dropped
  queue.pop();
  EXPECT_EQ(front(queue)[0], 3);
}

TEST(DatagramQueue, TheRingGrowsWithTheBacklogOnlyAndShrinksWhenIdle) {
  SlotBudget budget(2000);
  DatagramQueue queue(1024, 64, budget);
  EXPECT_EQ(queue.ring_size(), DatagramQueue::kInitialRing) << "a new connection stays small";
  push_numbered(queue, 0, 99, 0);
  EXPECT_EQ(queue.ring_size(), 128u);
  // Growing kept the order, and a wrapped ring (head in the middle) grows in order too.
  for (int i = 0; i < 90; ++i) queue.pop();
  push_numbered(queue, 100, 199, 0);  // 110 waiting, wrapped around the 128
  push_numbered(queue, 200, 219, 0);  // 130: grows to 256 from a wrapped ring
  EXPECT_EQ(queue.ring_size(), 256u);
  for (int expected = 90; expected < 220; ++expected) {
    ASSERT_EQ(front(queue)[0], static_cast<std::uint8_t>(expected));
    queue.pop();
  }
  queue.release_idle_slots(16);
  EXPECT_EQ(queue.ring_size(), 16u);
  EXPECT_EQ(queue.allocated_slots(), 16u);
  EXPECT_EQ(budget.used(), 16u);
  // Never past the capacity: the 1025th drops the oldest.
  push_numbered(queue, 0, 1023, 0);
  EXPECT_EQ(queue.ring_size(), 1024u);
  EXPECT_TRUE(queue.push(std::vector<std::uint8_t>(64, 7), 0));
  EXPECT_EQ(queue.size(), 1024u);
  EXPECT_EQ(front(queue)[0], 1);
}

TEST(DatagramQueue, AllocatedSlotsAreCountedInTheBudgetAndGivenBack) {
  SlotBudget budget(1000);
  {
    DatagramQueue queue(256, 1452, budget);
    push_numbered(queue, 1, 40, 0);
    EXPECT_EQ(budget.used(), 40u);
    while (!queue.empty()) queue.pop();
    queue.release_idle_slots(16);
    EXPECT_EQ(budget.used(), 16u);
  }
  EXPECT_EQ(budget.used(), 0u) << "a closed connection's slots go back";
}

TEST(DatagramQueue, ASpentBudgetMakesTheQueueReuseItsOldestBuffer) {
  SlotBudget budget(5);
  DatagramQueue other(256, 64, budget);
  push_numbered(other, 1, 2, 0);  // another connection holds 2 of the 5
  DatagramQueue queue(256, 64, budget);
  push_numbered(queue, 1, 3, 0);
  ASSERT_EQ(budget.used(), 5u);
  EXPECT_TRUE(queue.push(std::vector<std::uint8_t>(64, 4), 0)) << "the oldest gives way";
  EXPECT_EQ(budget.used(), 5u);
  EXPECT_EQ(queue.allocated_slots(), 3u);
  ASSERT_EQ(queue.size(), 3u);
  for (const std::uint8_t expected : {std::uint8_t{2}, std::uint8_t{3}, std::uint8_t{4}}) {
    EXPECT_EQ(front(queue)[0], expected);
    queue.pop();
  }
  // A queue with no buffer at all and nothing to give up drops what it is handed.
  DatagramQueue empty(256, 64, budget);
  EXPECT_TRUE(empty.push(std::vector<std::uint8_t>(64, 9), 0));
  EXPECT_TRUE(empty.empty());
}

TEST(DatagramQueue, ABurstIsKeptWhateverItsDepthWhileItDrainsWithinTheInterval) {
  SlotBudget budget(2000);
  DatagramQueue queue(1024, 64, budget);
  push_numbered(queue, 0, 999, 0);  // one receive batch for one peer
  // Drained over 90 ms (the head waits up to 90 ms, far over the 5 ms target, but no
  // interval of 100 ms passes with the queue above it): nothing is dropped.
  std::uint64_t dropped = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto head = queue.next(static_cast<std::uint64_t>(i) * 90 * kMs / 1000, dropped);
    ASSERT_FALSE(head.empty());
    EXPECT_EQ(head[0], static_cast<std::uint8_t>(i));
    queue.pop();
  }
  EXPECT_EQ(dropped, 0u);
}

TEST(DatagramQueue, AStandingQueueIsDroppedFromTheHeadAtARisingRate) {
  SlotBudget budget(2000);
  DatagramQueue queue(1024, 64, budget);
  // A link that sends one datagram per ms while two arrive: the delay grows without end.
  std::uint64_t dropped = 0;
  std::vector<std::uint64_t> drop_times;
  int number = 0;
  for (std::uint64_t t = 0; t <= 600 * kMs; t += kMs) {
    push_numbered(queue, number, number + 1, t);
    number += 2;
    const std::uint64_t before = dropped;
    ASSERT_FALSE(queue.next(t, dropped).empty());
    if (dropped != before) drop_times.push_back(t);
    queue.pop();
  }
  // Above the 5 ms target from t = 6 ms: the first drop one interval later, then the next
  // ones closer and closer (100 ms / sqrt(n)).
  ASSERT_GE(drop_times.size(), 4u);
  EXPECT_GE(drop_times[0], 100 * kMs);
  EXPECT_LE(drop_times[0], 110 * kMs);
  EXPECT_LT(drop_times[2] - drop_times[1], drop_times[1] - drop_times[0]);
  EXPECT_LT(drop_times[3] - drop_times[2], drop_times[2] - drop_times[1]);
}

TEST(DatagramQueue, DroppingStopsOnceTheDelayIsBackUnderTheTarget) {
  SlotBudget budget(2000);
  DatagramQueue queue(1024, 64, budget);
  std::uint64_t dropped = 0;
  // 150 ms of a standing 20 ms delay (one datagram in, one out per ms, 20 waiting).
  int number = 0;
  push_numbered(queue, 0, 19, 0);
  number = 20;
  std::uint64_t t = 20 * kMs;
  for (; t <= 150 * kMs; t += kMs) {
    push_numbered(queue, number, number, t);
    ++number;
    (void)queue.next(t, dropped);
    queue.pop();
  }
  ASSERT_GT(dropped, 0u) << "a standing 20 ms queue is not kept";
  // Then the queue drains to one datagram a ms: the delay falls under 5 ms and stays there.
  while (queue.size() > 2) {
    (void)queue.next(t, dropped);
    queue.pop();
  }
  const std::uint64_t after_drain = dropped;
  for (int i = 0; i < 300; ++i, t += kMs) {
    push_numbered(queue, number, number, t);
    ++number;
    ASSERT_FALSE(queue.next(t, dropped).empty());
    queue.pop();
  }
  EXPECT_EQ(dropped, after_drain);
}

TEST(DatagramQueue, NothingIsDroppedWhileSlowStartIsStillOpeningTheWindow) {
  SlotBudget budget(2000);
  DatagramQueue queue(1024, 64, budget);
  push_numbered(queue, 0, 299, 0);  // a burst at a connection's start, 35 ms round trips
  std::uint64_t dropped = 0;
  // Slow start sends 10, 20, 40, 80, 150 per round trip: 175 ms of queue, never judged.
  int sent = 0;
  std::uint64_t t = 0;
  for (int window = 10; sent < 300; window *= 2, t += 35 * kMs) {
    for (int i = 0; i < window && sent < 300; ++i, ++sent) {
      const auto head = queue.next(t, dropped, /*judge_delay=*/false);
      ASSERT_FALSE(head.empty());
      ASSERT_EQ(head[0], static_cast<std::uint8_t>(sent));
      queue.pop();
    }
  }
  EXPECT_EQ(dropped, 0u);
  // Judged again, a queue starts a fresh interval: no drop before 100 ms have passed.
  push_numbered(queue, 0, 99, t);
  (void)queue.next(t + 10 * kMs, dropped);
  (void)queue.next(t + 100 * kMs, dropped);
  EXPECT_EQ(dropped, 0u);
  (void)queue.next(t + 111 * kMs, dropped);
  EXPECT_EQ(dropped, 1u);
}

TEST(DatagramQueue, AHeadThatCannotBeSentIsDroppedByTimeNotByHowOftenItIsAsked) {
  SlotBudget budget(2000);
  DatagramQueue queue(1024, 64, budget);
  push_numbered(queue, 0, 99, 0);
  // Congestion control holds the queue: the writer asks for the head a thousand times at
  // each instant. Within one interval no drop; then drops at CoDel's pace, not per call.
  std::uint64_t dropped = 0;
  for (std::uint64_t t = 0; t < 100 * kMs; t += 10 * kMs) {
    for (int ask = 0; ask < 1000; ++ask) (void)queue.next(t, dropped);
  }
  EXPECT_EQ(dropped, 0u);
  for (std::uint64_t t = 100 * kMs; t <= 300 * kMs; t += 10 * kMs) {
    for (int ask = 0; ask < 1000; ++ask) (void)queue.next(t, dropped);
  }
  // Above the target since 10 ms: drops at 110, 210 (+100/sqrt(1)) and 290 (the first call
  // at or after 210 + 100/sqrt(2) = 280.7): three.
  EXPECT_EQ(dropped, 3u);
  EXPECT_EQ(queue.size(), 97u);
}

}  // namespace
}  // namespace lanparty::quic::detail
