// SPDX-License-Identifier: MIT
// EventLoop: timer order and cancellation, re-armable timers, fds, stop() from elsewhere.
#include "lanparty/quic/event_loop.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "lanparty/base/errc.hpp"

namespace lanparty::quic {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  EXPECT_TRUE(loop.has_value());
  return std::move(*loop);
}

TEST(EventLoop, TimersFireInDeadlineOrder) {
  auto loop = make_loop();
  std::vector<int> fired;
  const auto now = loop->now();
  (void)loop->add_timer(now + 30ms, [&] { fired.push_back(3); });
  (void)loop->add_timer(now + 10ms, [&] { fired.push_back(1); });
  (void)loop->add_timer(now + 20ms, [&] { fired.push_back(2); });
  ASSERT_TRUE(loop->run_until([&] { return fired.size() == 3; }, 1s).has_value());
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(loop->now() - now, 30ms);
}

TEST(EventLoop, CancelledTimerNeverFires) {
  auto loop = make_loop();
  bool cancelled_fired = false;
  bool other_fired = false;
  const auto id = loop->add_timer(loop->now() + 5ms, [&] { cancelled_fired = true; });
  (void)loop->add_timer(loop->now() + 20ms, [&] { other_fired = true; });
  loop->cancel_timer(id);
  loop->cancel_timer(id);      // twice: harmless
  loop->cancel_timer(123456);  // unknown: harmless
  ASSERT_TRUE(loop->run_until([&] { return other_fired; }, 1s).has_value());
  EXPECT_FALSE(cancelled_fired);
}

TEST(EventLoop, TimerCallbackMayAddAndCancelTimers) {
  auto loop = make_loop();
  int chain = 0;
  std::function<void()> step = [&] {
    if (++chain < 5) (void)loop->add_timer(loop->now(), step);
  };
  (void)loop->add_timer(loop->now(), step);
  ASSERT_TRUE(loop->run_until([&] { return chain == 5; }, 1s).has_value());
}

TEST(EventLoop, RearmedTimerFiresOnceAtItsLastDeadline) {
  auto loop = make_loop();
  int fired = 0;
  EventLoop::Timer timer(*loop, [&] { ++fired; });
  const auto start = loop->now();
  timer.arm(start + 5ms);
  timer.arm(start + 40ms);
  EXPECT_TRUE(timer.armed());
  ASSERT_TRUE(loop->run_until([&] { return fired > 0; }, 1s).has_value());
  EXPECT_GE(loop->now() - start, 40ms);
  EXPECT_FALSE(timer.armed());
  (void)loop->run_until([] { return false; }, 20ms);
  EXPECT_EQ(fired, 1);
}

TEST(EventLoop, ManyTimersKeepHeapOrder) {
  auto loop = make_loop();
  std::vector<std::unique_ptr<EventLoop::Timer>> timers;
  std::vector<int> order;
  const auto start = loop->now();
  for (int i = 0; i < 200; ++i) {
    const int key = (i * 73) % 200;
    timers.push_back(
        std::make_unique<EventLoop::Timer>(*loop, [&order, key] { order.push_back(key); }));
    timers.back()->arm(start + std::chrono::microseconds(100 * key));
  }
  for (int i = 0; i < 200; i += 3) timers[static_cast<std::size_t>(i)]->disarm();
  ASSERT_TRUE(loop->run_until([&] { return order.size() == 133; }, 2s).has_value());
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

TEST(EventLoop, RunUntilTimesOut) {
  auto loop = make_loop();
  const auto start = loop->now();
  auto s = loop->run_until([] { return false; }, 30ms);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::kTimedOut);
  EXPECT_GE(loop->now() - start, 30ms);
}

TEST(EventLoop, FdCallbackSeesReadiness) {
  auto loop = make_loop();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::uint32_t seen = 0;
  ASSERT_TRUE(loop->add_fd(fds[0], EPOLLIN,
                           [&](std::uint32_t events) {
                             seen = events;
                             char c;
                             EXPECT_EQ(::read(fds[0], &c, 1), 1);
                           })
                  .has_value());
  auto dup = loop->add_fd(fds[0], EPOLLIN, [](std::uint32_t) {});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, Errc::kInvalidArgument);
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  ASSERT_TRUE(loop->run_until([&] { return seen != 0; }, 1s).has_value());
  EXPECT_NE(seen & EPOLLIN, 0u);
  loop->remove_fd(fds[0]);
  loop->remove_fd(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(EventLoop, StopFromAnotherThreadEndsRun) {
  auto loop = make_loop();
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    loop->stop();
  });
  const auto start = loop->now();
  EXPECT_TRUE(loop->run().has_value());
  EXPECT_GE(loop->now() - start, 15ms);
  stopper.join();
}

TEST(EventLoop, StopBeforeRunIsKept) {
  auto loop = make_loop();
  loop->stop();
  EXPECT_TRUE(loop->run().has_value());  // returns at once instead of hanging
}

}  // namespace
}  // namespace lanparty::quic
