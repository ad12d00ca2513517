// SPDX-License-Identifier: MIT
// The legitimate room the attacks must not disturb: a gateway that owns it (claim with a room
// key) and two invited clients, on a thread and event loop of their own (real-time priority
// when allowed, so the attacker's threads cannot delay what is measured). Each client pings
// the gateway at 50 Hz with a unicast Ethernet frame that the gateway echoes; on request the
// thread also checks that fresh peers from other addresses can still join.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lanparty/base/result.hpp"
#include "lanparty/quic/room_key.hpp"
#include "peer.hpp"

namespace lanparty::bench::attack {

// When a ping was sent (and a memory sample taken), relative to the attack.
enum class Phase : int { kSetup = 0, kIdle = 1, kAttack = 2, kSettle = 3 };
inline constexpr std::size_t kPhaseCount = 4;
[[nodiscard]] std::string_view to_string(Phase phase) noexcept;

struct PingSummary {
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;  // within the timeout
  std::uint64_t lost = 0;      // no answer within the timeout (late answers included)
  std::uint64_t late = 0;      // answered after the timeout
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  [[nodiscard]] double loss_percent() const noexcept {
    return sent == 0 ? 0 : 100.0 * static_cast<double>(lost) / static_cast<double>(sent);
  }
};

// Percentiles of round-trip times (microseconds): the ceil(q * n)-th smallest.
[[nodiscard]] PingSummary summarize_pings(std::vector<std::uint32_t> rtt_us, std::uint64_t sent,
                                          std::uint64_t lost, std::uint64_t late);

// One fresh join tried during or after an attack.
struct JoinProbe {
  std::string who;      // "new client, legit room", "new gateway, new room", ...
  bool ok = false;      // welcome
  std::string outcome;  // "welcome", "reject relay_full", "closed ...", "timed out: ..."
  double ms = 0;        // from the probe's start to the outcome
};

struct LegitConfig {
  RelayTarget relay;
  std::string gateway_host;
  std::array<std::string, 2> client_hosts;
  std::string fresh_gateway_host;
  std::string fresh_client_host;
  std::string room = "LEGIT";
  std::chrono::milliseconds ping_interval{20};
  std::chrono::milliseconds ping_timeout{1000};
  bool realtime = true;
};

class LegitRoom {
 public:
  // Starts the thread and returns once the gateway and both clients are welcomed (or fails).
  [[nodiscard]] static Result<std::unique_ptr<LegitRoom>> start(LegitConfig config,
                                                                std::chrono::milliseconds timeout);
  ~LegitRoom();
  LegitRoom(const LegitRoom&) = delete;
  LegitRoom& operator=(const LegitRoom&) = delete;

  void set_phase(Phase phase) noexcept { phase_.store(static_cast<int>(phase)); }
  // Fresh joins from other addresses: a new client with a new invite into the legit room, and
  // with `new_room` also a new gateway claiming a new room plus a client joining it. Blocks
  // until every one has an outcome or `timeout` passes.
  [[nodiscard]] std::vector<JoinProbe> probe(bool new_room, std::chrono::milliseconds timeout);
  // Closes the room's peers and ends the thread. Idempotent.
  void stop();

  // After stop(): pings by the phase they were sent in.
  [[nodiscard]] PingSummary pings(Phase phase) const;
  // The three legit peers were all still joined when the thread stopped (or now).
  [[nodiscard]] bool intact() const noexcept { return intact_.load(); }
  // Why a peer of the room left, if one did ("client 1: closed idle_timeout ...").
  [[nodiscard]] std::string trouble() const;
  [[nodiscard]] bool realtime_applied() const noexcept { return realtime_applied_.load(); }
  // A fresh invite into the room, signed by its key (for an attacker that gets one).
  [[nodiscard]] Result<std::string> invite(const std::string& name) const;

 private:
  class Worker;
  LegitRoom() = default;

  std::optional<quic::RoomKey> key_;
  std::string room_;
  std::atomic<int> phase_{static_cast<int>(Phase::kSetup)};
  std::atomic<bool> stop_{false};
  std::atomic<bool> intact_{false};
  std::atomic<bool> realtime_applied_{false};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  struct ProbeRequest {
    bool new_room = false;
    std::chrono::milliseconds timeout{};
  };
  std::optional<ProbeRequest> probe_request_;
  std::optional<std::vector<JoinProbe>> probe_result_;
  std::string trouble_;
  std::array<std::vector<std::uint32_t>, kPhaseCount> rtt_us_;
  std::array<std::uint64_t, kPhaseCount> sent_{};
  std::array<std::uint64_t, kPhaseCount> lost_{};
  std::array<std::uint64_t, kPhaseCount> late_{};
  std::thread thread_;
};

}  // namespace lanparty::bench::attack
