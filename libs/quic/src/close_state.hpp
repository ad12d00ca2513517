// SPDX-License-Identifier: MIT
// The close state machine of one connection (RFC 9000 section 10.2), without ngtcp2 or I/O:
// the connection's phase (handshaking, open, closing with the CONNECTION_CLOSE it repeats,
// draining, dead), the application's close request (none, once acknowledged, lingering after
// the acknowledgement, now), and its close report (none yet, on_closed due, delivered). Each
// is one std::variant, so "closing without a close packet", "a close pending and waiting for
// acknowledgement at once" or "on_closed delivered without a CloseInfo" cannot be
// represented. ConnectionImpl drives it and does the sending and the timers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lanparty/io/event_loop.hpp"
#include "lanparty/quic/connection.hpp"

namespace lanparty::quic::detail {

// A close the application (or a callback) asked for, carried out at the next write.
struct CloseRequest {
  CloseInfo::Kind kind = CloseInfo::Kind::kLocalApplication;
  std::uint64_t code = 0;
  std::string reason;
};

class CloseState {
 public:
  using Clock = io::EventLoop::Clock;

  // --- the phase ---------------------------------------------------------------------------
  struct Handshaking {};
  struct Open {};
  // We sent CONNECTION_CLOSE and answer late packets with it (with backoff).
  struct Closing {
    std::vector<std::uint8_t> close_packet;  // never empty
    std::uint64_t packets_received = 0;
  };
  struct Draining {};  // the peer closed; silent
  struct Dead {};      // waiting to be freed (server) or kept closed (client)
  using Phase = std::variant<Handshaking, Open, Closing, Draining, Dead>;

  // Handshaking or open: packets are read, timers run, the application may still act.
  [[nodiscard]] bool live() const noexcept {
    return std::holds_alternative<Handshaking>(phase_) || std::holds_alternative<Open>(phase_);
  }
  [[nodiscard]] bool handshaking() const noexcept {
    return std::holds_alternative<Handshaking>(phase_);
  }
  [[nodiscard]] bool dead() const noexcept { return std::holds_alternative<Dead>(phase_); }
  // Null unless closing.
  [[nodiscard]] Closing* closing() noexcept { return std::get_if<Closing>(&phase_); }
  [[nodiscard]] const Phase& phase() const noexcept { return phase_; }

  // Handshaking -> open; nothing in any other phase.
  void on_handshake_completed() noexcept;
  // Live -> closing with close_packet (non-empty); false (unchanged) when not live.
  bool enter_closing(std::vector<std::uint8_t> close_packet);
  // Live -> draining; false (unchanged) when not live.
  bool enter_draining() noexcept;
  // Any -> dead, which ends any request; false when already dead.
  bool enter_dead() noexcept;

  // --- the application's request -----------------------------------------------------------
  struct NoRequest {};
  // close_after_ack(): waiting for the peer to acknowledge every stream byte.
  struct AfterAck {
    CloseRequest request;
    Clock::time_point deadline;  // closes then at the latest
    std::chrono::milliseconds linger;
  };
  // Everything acknowledged: the deadline timer (re-armed for the linger) closes.
  struct Lingering {
    CloseRequest request;
  };
  // To be carried out at the next write.
  struct Requested {
    CloseRequest request;
  };
  using Request = std::variant<NoRequest, AfterAck, Lingering, Requested>;

  [[nodiscard]] bool has_request() const noexcept {
    return !std::holds_alternative<NoRequest>(request_);
  }
  [[nodiscard]] bool close_requested() const noexcept {
    return std::holds_alternative<Requested>(request_);
  }
  [[nodiscard]] const Request& request() const noexcept { return request_; }

  // The connection still takes application calls: live, no close requested, on_closed not
  // delivered.
  [[nodiscard]] bool user_visible() const noexcept {
    return live() && !close_requested() && !notified();
  }

  // Starts waiting for acknowledgement; false (unchanged) unless user_visible() and no
  // request is in progress.
  bool request_after_ack(CloseRequest request, Clock::time_point deadline,
                         std::chrono::milliseconds linger);
  // A close now: replaces a close-after-ack in progress. False (unchanged) when not live or
  // a close is already requested (the first one wins).
  bool request_now(CloseRequest request);

  // What to do once every stream byte is acknowledged.
  struct AckOutcome {
    enum class Action : std::uint8_t {
      kNone,      // no close-after-ack waiting (or already lingering)
      kArmTimer,  // now lingering: arm the deadline timer for `at`
      kCloseNow,  // no linger: a close is requested now
    } action = Action::kNone;
    Clock::time_point at{};
  };
  [[nodiscard]] AckOutcome on_all_acked(Clock::time_point now);
  // The deadline timer fired: a close-after-ack (waiting or lingering) becomes a close now if
  // the connection is still live, or is dropped. True when a close was requested.
  bool on_deadline();
  // Requested -> none, handing the request over to be carried out.
  [[nodiscard]] std::optional<CloseRequest> take_requested();

  // --- the close report --------------------------------------------------------------------
  // Keeps info unless one was recorded already (the first one wins).
  void record(CloseInfo info);
  [[nodiscard]] bool recorded() const noexcept { return !std::holds_alternative<NotDue>(report_); }
  // When on_closed is due: marks it delivered and returns the info (valid while this lives);
  // null when nothing is due or it was delivered already.
  [[nodiscard]] const CloseInfo* deliver() noexcept;
  [[nodiscard]] bool notified() const noexcept {
    return std::holds_alternative<Delivered>(report_);
  }

 private:
  struct NotDue {};
  struct Due {
    CloseInfo info;
  };
  struct Delivered {
    CloseInfo info;
  };

  Phase phase_{Handshaking{}};
  Request request_{NoRequest{}};
  std::variant<NotDue, Due, Delivered> report_{NotDue{}};
};

}  // namespace lanparty::quic::detail
