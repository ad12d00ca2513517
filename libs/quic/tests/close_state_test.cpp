// SPDX-License-Identifier: MIT
// CloseState's transitions, one behaviour per test, without ngtcp2 or a loop.
#include "close_state.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <variant>

namespace lanparty::quic::detail {
namespace {

using namespace std::chrono_literals;
using Action = CloseState::AckOutcome::Action;

const CloseState::Clock::time_point kNow{100s};

CloseRequest app_close(std::uint64_t code, std::string reason = "bye") {
  return {CloseInfo::Kind::kLocalApplication, code, std::move(reason)};
}

std::vector<std::uint8_t> packet() { return {0x40, 0x01, 0x02}; }

TEST(CloseState, StartsHandshakingAndTakesApplicationCalls) {
  CloseState s;
  EXPECT_TRUE(s.handshaking());
  EXPECT_TRUE(s.live());
  EXPECT_TRUE(s.user_visible());
  EXPECT_FALSE(s.has_request());
  EXPECT_FALSE(s.recorded());
}

TEST(CloseState, HandshakeCompletedOpensOnlyAHandshakingConnection) {
  CloseState s;
  s.on_handshake_completed();
  EXPECT_TRUE(std::holds_alternative<CloseState::Open>(s.phase()));
  ASSERT_TRUE(s.enter_draining());
  s.on_handshake_completed();
  EXPECT_TRUE(std::holds_alternative<CloseState::Draining>(s.phase()));
}

TEST(CloseState, ClosingKeepsItsPacketAndNeedsOne) {
  CloseState s;
  EXPECT_FALSE(s.enter_closing({}));
  EXPECT_TRUE(s.live());
  ASSERT_TRUE(s.enter_closing(packet()));
  ASSERT_NE(s.closing(), nullptr);
  EXPECT_EQ(s.closing()->close_packet, packet());
  EXPECT_EQ(s.closing()->packets_received, 0u);
  EXPECT_FALSE(s.live());
  EXPECT_FALSE(s.user_visible());
}

TEST(CloseState, ClosingAndDrainingAreReachedOnlyFromALiveConnection) {
  CloseState closing;
  ASSERT_TRUE(closing.enter_closing(packet()));
  EXPECT_FALSE(closing.enter_draining());
  EXPECT_FALSE(closing.enter_closing(packet()));
  EXPECT_NE(closing.closing(), nullptr);

  CloseState draining;
  ASSERT_TRUE(draining.enter_draining());
  EXPECT_FALSE(draining.enter_closing(packet()));
  EXPECT_EQ(draining.closing(), nullptr);

  CloseState dead;
  ASSERT_TRUE(dead.enter_dead());
  EXPECT_FALSE(dead.enter_draining());
  EXPECT_FALSE(dead.enter_dead());
}

TEST(CloseState, DeadEndsARequestInProgress) {
  CloseState s;
  ASSERT_TRUE(s.request_after_ack(app_close(3), kNow + 2s, 0ms));
  ASSERT_TRUE(s.enter_dead());
  EXPECT_FALSE(s.has_request());
  EXPECT_FALSE(s.on_deadline());
}

TEST(CloseState, AcknowledgedWithoutLingerRequestsTheCloseAtOnce) {
  CloseState s;
  ASSERT_TRUE(s.request_after_ack(app_close(3), kNow + 2s, 0ms));
  EXPECT_FALSE(s.close_requested());
  EXPECT_TRUE(s.user_visible());  // still takes calls; Connection refuses new data itself
  const auto outcome = s.on_all_acked(kNow);
  EXPECT_EQ(outcome.action, Action::kCloseNow);
  auto request = s.take_requested();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->code, 3u);
  EXPECT_EQ(request->reason, "bye");
}

TEST(CloseState, AcknowledgedWithLingerArmsTheTimerForTheEarlierOfLingerAndDeadline) {
  CloseState soon;
  ASSERT_TRUE(soon.request_after_ack(app_close(3), kNow + 2s, 500ms));
  auto outcome = soon.on_all_acked(kNow);
  EXPECT_EQ(outcome.action, Action::kArmTimer);
  EXPECT_EQ(outcome.at, kNow + 500ms);
  EXPECT_TRUE(std::holds_alternative<CloseState::Lingering>(soon.request()));
  // A second acknowledgement changes nothing.
  EXPECT_EQ(soon.on_all_acked(kNow + 1ms).action, Action::kNone);

  CloseState late;
  ASSERT_TRUE(late.request_after_ack(app_close(3), kNow + 2s, 5s));
  outcome = late.on_all_acked(kNow);
  EXPECT_EQ(outcome.at, kNow + 2s);
}

TEST(CloseState, TheDeadlineClosesAWaitingOrLingeringRequest) {
  CloseState waiting;
  ASSERT_TRUE(waiting.request_after_ack(app_close(3), kNow + 2s, 0ms));
  EXPECT_TRUE(waiting.on_deadline());
  EXPECT_TRUE(waiting.close_requested());
  EXPECT_FALSE(waiting.user_visible());

  CloseState lingering;
  ASSERT_TRUE(lingering.request_after_ack(app_close(4), kNow + 2s, 1s));
  ASSERT_EQ(lingering.on_all_acked(kNow).action, Action::kArmTimer);
  EXPECT_TRUE(lingering.on_deadline());
  EXPECT_EQ(lingering.take_requested()->code, 4u);
}

TEST(CloseState, TheDeadlineAfterTheConnectionClosedDropsTheRequest) {
  CloseState s;
  ASSERT_TRUE(s.request_after_ack(app_close(3), kNow + 2s, 0ms));
  ASSERT_TRUE(s.enter_draining());  // the peer closed first
  EXPECT_FALSE(s.on_deadline());
  EXPECT_FALSE(s.has_request());
  EXPECT_FALSE(s.take_requested().has_value());
}

TEST(CloseState, ACloseNowReplacesACloseAfterAck) {
  CloseState s;
  ASSERT_TRUE(s.request_after_ack(app_close(3), kNow + 2s, 0ms));
  ASSERT_TRUE(s.request_now(app_close(7, "now")));
  EXPECT_FALSE(s.on_deadline());  // the old deadline is spent
  EXPECT_EQ(s.on_all_acked(kNow).action, Action::kNone);
  EXPECT_EQ(s.take_requested()->code, 7u);
}

TEST(CloseState, TheFirstCloseNowWins) {
  CloseState s;
  ASSERT_TRUE(s.request_now(app_close(1)));
  EXPECT_FALSE(s.request_now(app_close(2)));
  EXPECT_EQ(s.take_requested()->code, 1u);
  EXPECT_FALSE(s.take_requested().has_value());
}

TEST(CloseState, NoCloseAfterAckWhileARequestRunsOrTheConnectionIsGone) {
  CloseState running;
  ASSERT_TRUE(running.request_after_ack(app_close(3), kNow + 2s, 0ms));
  EXPECT_FALSE(running.request_after_ack(app_close(4), kNow + 9s, 0ms));

  CloseState requested;
  ASSERT_TRUE(requested.request_now(app_close(1)));
  EXPECT_FALSE(requested.request_after_ack(app_close(4), kNow + 9s, 0ms));

  CloseState closing;
  ASSERT_TRUE(closing.enter_closing(packet()));
  EXPECT_FALSE(closing.request_after_ack(app_close(4), kNow + 9s, 0ms));
  EXPECT_FALSE(closing.request_now(app_close(4)));
}

TEST(CloseState, TheFirstRecordedInfoIsDeliveredOnce) {
  CloseState s;
  EXPECT_EQ(s.deliver(), nullptr);
  s.record({CloseInfo::Kind::kIdleTimeout, 0, "idle"});
  s.record({CloseInfo::Kind::kLocalTransport, 0, "closed"});
  EXPECT_TRUE(s.recorded());
  EXPECT_FALSE(s.notified());
  const CloseInfo* info = s.deliver();
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->kind, CloseInfo::Kind::kIdleTimeout);
  EXPECT_EQ(info->reason, "idle");
  EXPECT_TRUE(s.notified());
  EXPECT_FALSE(s.user_visible());
  EXPECT_EQ(s.deliver(), nullptr);
  s.record({CloseInfo::Kind::kLocalTransport, 0, "late"});
  EXPECT_TRUE(s.notified());
}

}  // namespace
}  // namespace lanparty::quic::detail
