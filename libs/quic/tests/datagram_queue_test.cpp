// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <vector>

#include "datagram_queue.hpp"

namespace lanparty::quic::detail {
namespace {

TEST(DatagramQueue, AllocatesOnlyItsDeepestBacklog) {
  DatagramQueue queue(256, 1452);
  const std::vector<std::uint8_t> payload(1200, 0x5a);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(queue.push(payload));
    queue.pop();
  }
  EXPECT_EQ(queue.allocated_slots(), 1u);
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(queue.push(payload));
  while (!queue.empty()) queue.pop();
  EXPECT_EQ(queue.allocated_slots(), 5u);
}

TEST(DatagramQueue, AnIdleQueueGivesBackAllButTheSlotsItKeeps) {
  DatagramQueue queue(256, 1452);
  const std::vector<std::uint8_t> payload(1200, 0x5a);
  for (int i = 0; i < 200; ++i) ASSERT_FALSE(queue.push(payload));  // a backlog
  queue.release_idle_slots(16);
  EXPECT_EQ(queue.allocated_slots(), 200u) << "nothing is freed while datagrams wait";
  while (!queue.empty()) queue.pop();
  queue.release_idle_slots(16);
  EXPECT_EQ(queue.allocated_slots(), 16u);
  // The kept slots are the ones a drained queue fills first: no allocation for a short burst,
  // and what comes out is what went in.
  for (std::uint8_t i = 1; i <= 16; ++i) ASSERT_FALSE(queue.push(std::vector<std::uint8_t>(8, i)));
  EXPECT_EQ(queue.allocated_slots(), 16u);
  for (std::uint8_t i = 1; i <= 16; ++i) {
    ASSERT_EQ(queue.front().size(), 8u);
    EXPECT_EQ(queue.front()[0], i);
    queue.pop();
  }
}

TEST(DatagramQueue, FullQueueDropsOldestFirst) {
  DatagramQueue queue(3, 16);
  for (std::uint8_t i = 1; i <= 4; ++i) {
    const std::vector<std::uint8_t> payload(4, i);
    EXPECT_EQ(queue.push(payload), i == 4) << int{i};
  }
  ASSERT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.front()[0], 2);  // 1 was dropped
  queue.pop();
  EXPECT_EQ(queue.front()[0], 3);
}

}  // namespace
}  // namespace lanparty::quic::detail
