// SPDX-License-Identifier: MIT
// CloseState's transitions; ConnectionImpl does what they call for (sending, timers).
#include "close_state.hpp"

#include <algorithm>
#include <utility>

namespace lanparty::quic::detail {

void CloseState::on_handshake_completed() noexcept {
  if (handshaking()) phase_ = Open{};
}

bool CloseState::enter_closing(std::vector<std::uint8_t> close_packet) {
  if (!live() || close_packet.empty()) return false;
  phase_ = Closing{std::move(close_packet), 0};
  return true;
}

bool CloseState::enter_draining() noexcept {
  if (!live()) return false;
  phase_ = Draining{};
  return true;
}

bool CloseState::enter_dead() noexcept {
  if (dead()) return false;
  phase_ = Dead{};
  request_ = NoRequest{};  // nothing is carried out any more
  return true;
}

bool CloseState::request_after_ack(CloseRequest request, Clock::time_point deadline,
                                   std::chrono::milliseconds linger) {
  if (!user_visible() || has_request()) return false;
  request_ = AfterAck{std::move(request), deadline, linger};
  return true;
}

bool CloseState::request_now(CloseRequest request) {
  if (!live() || close_requested()) return false;
  request_ = Requested{std::move(request)};
  return true;
}

CloseState::AckOutcome CloseState::on_all_acked(Clock::time_point now) {
  auto* waiting = std::get_if<AfterAck>(&request_);
  if (waiting == nullptr) return {};
  if (waiting->linger.count() > 0) {
    // Acknowledged: close after the linger, but never later than the deadline.
    const auto at = std::min(waiting->deadline, now + waiting->linger);
    request_ = Lingering{std::move(waiting->request)};
    return {AckOutcome::Action::kArmTimer, at};
  }
  CloseRequest request = std::move(waiting->request);
  request_ = NoRequest{};
  if (!request_now(std::move(request))) return {};
  return {AckOutcome::Action::kCloseNow, {}};
}

bool CloseState::on_deadline() {
  CloseRequest request;
  if (auto* waiting = std::get_if<AfterAck>(&request_)) {
    request = std::move(waiting->request);
  } else if (auto* lingering = std::get_if<Lingering>(&request_)) {
    request = std::move(lingering->request);
  } else {
    return false;
  }
  request_ = NoRequest{};
  return request_now(std::move(request));
}

std::optional<CloseRequest> CloseState::take_requested() {
  auto* requested = std::get_if<Requested>(&request_);
  if (requested == nullptr) return std::nullopt;
  CloseRequest request = std::move(requested->request);
  request_ = NoRequest{};
  return request;
}

void CloseState::record(CloseInfo info) {
  if (std::holds_alternative<NotDue>(report_)) report_ = Due{std::move(info)};
}

const CloseInfo* CloseState::deliver() noexcept {
  auto* due = std::get_if<Due>(&report_);
  if (due == nullptr) return nullptr;
  report_ = Delivered{std::move(due->info)};
  return &std::get<Delivered>(report_).info;
}

}  // namespace lanparty::quic::detail
