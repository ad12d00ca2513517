// SPDX-License-Identifier: MIT
// EventLoop: timer order and cancellation, re-armable timers, fds, stop() from elsewhere; each
// through both Linux waits (epoll_pwait2, and epoll_wait where the kernel lacks it), and the
// fallback from one to the other.
#include "lanparty/io/event_loop.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <thread>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "linux/epoll_wait.hpp"

namespace lanparty::io {
namespace {

using namespace std::chrono_literals;
using detail::EpollWait;

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  EXPECT_TRUE(loop.has_value());
  return std::move(*loop);
}

// Every loop a test makes waits with the call the parameter names.
class EventLoopTest : public ::testing::TestWithParam<EpollWait> {
 protected:
  void SetUp() override { detail::set_epoll_wait_for_tests(GetParam()); }
  void TearDown() override { detail::set_epoll_wait_for_tests(std::nullopt); }
};

INSTANTIATE_TEST_SUITE_P(Waits, EventLoopTest,
                         ::testing::Values(EpollWait::kPwait2, EpollWait::kWait),
                         [](const ::testing::TestParamInfo<EpollWait>& param) {
                           return param.param == EpollWait::kPwait2 ? "EpollPwait2" : "EpollWait";
                         });

TEST_P(EventLoopTest, TimersFireInDeadlineOrder) {
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

TEST_P(EventLoopTest, CancelledTimerNeverFires) {
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

TEST_P(EventLoopTest, TimerCallbackMayAddAndCancelTimers) {
  auto loop = make_loop();
  int chain = 0;
  std::function<void()> step = [&] {
    if (++chain < 5) (void)loop->add_timer(loop->now(), step);
  };
  (void)loop->add_timer(loop->now(), step);
  ASSERT_TRUE(loop->run_until([&] { return chain == 5; }, 1s).has_value());
}

TEST_P(EventLoopTest, RearmedTimerFiresOnceAtItsLastDeadline) {
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

TEST_P(EventLoopTest, ManyTimersKeepHeapOrder) {
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

TEST_P(EventLoopTest, RunUntilTimesOut) {
  auto loop = make_loop();
  const auto start = loop->now();
  auto s = loop->run_until([] { return false; }, 30ms);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::kTimedOut);
  EXPECT_GE(loop->now() - start, 30ms);
}

TEST_P(EventLoopTest, FdCallbackSeesReadiness) {
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

TEST_P(EventLoopTest, StopFromAnotherThreadEndsRun) {
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

TEST_P(EventLoopTest, StopBeforeRunIsKept) {
  auto loop = make_loop();
  loop->stop();
  EXPECT_TRUE(loop->run().has_value());  // returns at once instead of hanging
}

// The Windows client's --check: a callback stops the loop once joined, then the leave runs the
// loop again to write its goodbye. That second run must dispatch timers and I/O as usual.
TEST_P(EventLoopTest, AStopThatEndedOneRunUntilDoesNotEndTheNext) {
  auto loop = make_loop();
  bool joined = false;
  (void)loop->add_timer(loop->now() + 5ms, [&] {
    joined = true;
    loop->stop();
  });
  ASSERT_TRUE(loop->run_until([&] { return joined; }, 1s).has_value());
  bool goodbye_written = false;
  (void)loop->add_timer(loop->now() + 5ms, [&] { goodbye_written = true; });
  EXPECT_TRUE(loop->run_until([&] { return goodbye_written; }, 1s).has_value());
  EXPECT_TRUE(goodbye_written);
}

TEST_P(EventLoopTest, StopEndsRunUntilAndIsUsedUp) {
  auto loop = make_loop();
  (void)loop->add_timer(loop->now() + 5ms, [&] { loop->stop(); });
  const auto start = loop->now();
  auto stopped = loop->run_until([] { return false; }, 5s);
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(stopped.error().code, Errc::kClosed);
  EXPECT_LT(loop->now() - start, 1s);
  bool fired = false;
  (void)loop->add_timer(loop->now() + 5ms, [&] { fired = true; });
  EXPECT_TRUE(loop->run_until([&] { return fired; }, 1s).has_value());
}

TEST_P(EventLoopTest, SubMillisecondDeadlineWaitsInsteadOfSpinning) {
  auto loop = make_loop();
  bool fired = false;
  const auto start = loop->now();
  (void)loop->add_timer(start + 300us, [&] { fired = true; });
  int wakeups = 0;
  ASSERT_TRUE(loop->run_until(
                      [&] {
                        ++wakeups;
                        return fired;
                      },
                      1s)
                  .has_value());
  EXPECT_GE(loop->now() - start, 300us);
  // A wait rounded down to 0 ms would return at once, again and again, until the deadline:
  // hundreds of wake-ups instead of one or two.
  EXPECT_LE(wakeups, 5);
}

TEST(EpollWaitTimeout, RoundsUpToWholeMilliseconds) {
  EXPECT_EQ(detail::epoll_wait_timeout_ms(EventLoop::Clock::duration::max()), -1);
  EXPECT_EQ(detail::epoll_wait_timeout_ms(0ns), 0);
  EXPECT_EQ(detail::epoll_wait_timeout_ms(-5ms), 0);
  EXPECT_EQ(detail::epoll_wait_timeout_ms(1ns), 1);
  EXPECT_EQ(detail::epoll_wait_timeout_ms(300us), 1);
  EXPECT_EQ(detail::epoll_wait_timeout_ms(1ms), 1);
  EXPECT_EQ(detail::epoll_wait_timeout_ms(1ms + 1ns), 2);
  EXPECT_EQ(detail::epoll_wait_timeout_ms(2500us), 3);
  EXPECT_EQ(detail::epoll_wait_timeout_ms(std::chrono::hours(24 * 365 * 100)), INT_MAX);
}

// A kernel (or seccomp filter) without epoll_pwait2, played by a stand-in that fails.
int g_refusals = 0;
int g_refusal_errno = ENOSYS;
int refusing_pwait2(int, epoll_event*, int, const timespec*, const sigset_t*) {
  ++g_refusals;
  errno = g_refusal_errno;
  return -1;
}

class EpollPwait2Missing : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    g_refusals = 0;
    g_refusal_errno = GetParam();
    detail::set_epoll_pwait2_for_tests(&refusing_pwait2);
  }
  void TearDown() override { detail::set_epoll_pwait2_for_tests(nullptr); }
};

INSTANTIATE_TEST_SUITE_P(Errors, EpollPwait2Missing, ::testing::Values(ENOSYS, EPERM),
                         [](const ::testing::TestParamInfo<int>& param) {
                           return param.param == ENOSYS ? "ENOSYS" : "EPERM";
                         });

TEST_P(EpollPwait2Missing, LoopFallsBackToEpollWaitAndRemembers) {
  ASSERT_EQ(detail::default_epoll_wait(), EpollWait::kPwait2);
  auto loop = make_loop();
  std::vector<int> fired;
  const auto start = loop->now();
  (void)loop->add_timer(start + 20ms, [&] { fired.push_back(2); });
  (void)loop->add_timer(start + 10ms, [&] { fired.push_back(1); });
  ASSERT_TRUE(loop->run_until([&] { return fired.size() == 2; }, 1s).has_value());
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_GE(loop->now() - start, 20ms);
  // Tried once, then never again: not by this loop, nor by loops made afterwards.
  EXPECT_EQ(g_refusals, 1);
  EXPECT_EQ(detail::default_epoll_wait(), EpollWait::kWait);
  auto second = make_loop();
  bool second_fired = false;
  (void)second->add_timer(second->now() + 5ms, [&] { second_fired = true; });
  ASSERT_TRUE(second->run_until([&] { return second_fired; }, 1s).has_value());
  EXPECT_EQ(g_refusals, 1);
}

}  // namespace
}  // namespace lanparty::io
