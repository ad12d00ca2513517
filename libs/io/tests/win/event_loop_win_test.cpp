// SPDX-License-Identifier: MIT
// The Windows EventLoop (WSAEventSelect + WaitForMultipleObjects) under wine: timers, event
// handles (auto-reset ones included: the wait itself consumes their signal), sockets, and
// stop() from another thread.
#include <windows.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "lanparty/base/errc.hpp"
#include "lanparty/io/event_loop.hpp"

namespace lanparty::io {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<EventLoop> make_loop() {
  auto loop = EventLoop::create();
  EXPECT_TRUE(loop) << loop.error().describe();
  return loop ? std::move(*loop) : nullptr;
}

struct Event {
  Event(bool manual_reset) : handle(::CreateEventW(nullptr, manual_reset, FALSE, nullptr)) {}
  ~Event() { ::CloseHandle(handle); }
  HANDLE handle;
};

TEST(EventLoopWin, TimersFireInDeadlineOrder) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  std::vector<int> fired;
  const auto now = loop->now();
  (void)loop->add_timer(now + 30ms, [&] { fired.push_back(3); });
  (void)loop->add_timer(now + 10ms, [&] { fired.push_back(1); });
  (void)loop->add_timer(now + 20ms, [&] { fired.push_back(2); });
  ASSERT_TRUE(loop->run_until([&] { return fired.size() == 3; }, 2s));
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoopWin, RunUntilTimesOutWhenNothingHappens) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  auto status = loop->run_until([] { return false; }, 50ms);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, make_error_code(Errc::kTimedOut));
}

TEST(EventLoopWin, AnAutoResetEventThatWokeTheWaitStillRunsItsCallback) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Event event(false);
  int calls = 0;
  ASSERT_TRUE(loop->add_handle(event.handle, [&] { ++calls; }));
  std::thread signaller([&] {
    std::this_thread::sleep_for(20ms);
    ::SetEvent(event.handle);
  });
  const auto woke = loop->run_until([&] { return calls > 0; }, 2s);
  signaller.join();
  ASSERT_TRUE(woke) << "the callback never ran";
  // Once signalled, once called: the callback does not repeat without a new signal.
  (void)loop->run_until([] { return false; }, 50ms);
  EXPECT_EQ(calls, 1);
  loop->remove_handle(event.handle);
}

TEST(EventLoopWin, EveryHandleSignalledTogetherIsServedInOneTurn) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Event first(false), second(true);
  int first_calls = 0, second_calls = 0;
  ASSERT_TRUE(loop->add_handle(first.handle, [&] { ++first_calls; }));
  ASSERT_TRUE(loop->add_handle(second.handle, [&] {
    ++second_calls;
    ::ResetEvent(second.handle);
  }));
  ::SetEvent(first.handle);
  ::SetEvent(second.handle);
  ASSERT_TRUE(loop->run_until([&] { return first_calls + second_calls == 2; }, 2s));
  EXPECT_EQ(first_calls, 1);
  EXPECT_EQ(second_calls, 1);
}

TEST(EventLoopWin, ACallbackMayRemoveItsOwnHandle) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Event event(true);
  int calls = 0;
  ASSERT_TRUE(loop->add_handle(event.handle, [&] {
    ++calls;
    loop->remove_handle(event.handle);
  }));
  ::SetEvent(event.handle);  // manual reset and never reset: only removal stops the calls
  (void)loop->run_until([] { return false; }, 100ms);
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopWin, AHandleIsWatchedOnce) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  Event event(false);
  ASSERT_TRUE(loop->add_handle(event.handle, [] {}));
  auto again = loop->add_handle(event.handle, [] {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, make_error_code(Errc::kInvalidArgument));
}

TEST(EventLoopWin, AUdpSocketBecomesReadableWhenADatagramArrives) {
  auto loop = make_loop();  // starts Winsock
  ASSERT_TRUE(loop);
  SOCKET receiver = ::socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  SOCKET sender = ::socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  ASSERT_NE(receiver, INVALID_SOCKET);
  ASSERT_NE(sender, INVALID_SOCKET);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(receiver, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  int length = sizeof(address);
  ASSERT_EQ(::getsockname(receiver, reinterpret_cast<sockaddr*>(&address), &length), 0);

  std::uint32_t seen = 0;
  char buffer[64];
  int received = -1;
  ASSERT_TRUE(loop->add_fd(receiver, EventLoop::kReadable, [&](std::uint32_t events) {
    seen |= events;
    received = ::recv(receiver, buffer, sizeof(buffer), 0);
  }));
  ASSERT_EQ(::sendto(sender, "ping", 4, 0, reinterpret_cast<sockaddr*>(&address), length), 4);
  ASSERT_TRUE(loop->run_until([&] { return received >= 0; }, 2s));
  EXPECT_NE(seen & EventLoop::kReadable, 0u);
  EXPECT_EQ(received, 4);
  // Interest without kWritable: the FD_WRITE Windows posts after bind is not reported.
  EXPECT_EQ(seen & EventLoop::kWritable, 0u);

  loop->remove_fd(receiver);
  ::closesocket(sender);
  ::closesocket(receiver);
}

TEST(EventLoopWin, StopFromAnotherThreadEndsRun) {
  auto loop = make_loop();
  ASSERT_TRUE(loop);
  std::thread stopper([&] {
    std::this_thread::sleep_for(30ms);
    loop->stop();
  });
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop->run());
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace lanparty::io
