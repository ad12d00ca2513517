// SPDX-License-Identifier: MIT
// The attacks, each bounded in count (and stopped by its runner at a deadline), running on an
// event loop of their own so the legitimate room's thread measures undisturbed.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "initials.hpp"
#include "lanparty/base/result.hpp"
#include "lanparty/io/event_loop.hpp"
#include "peer.hpp"

namespace lanparty::bench::attack {

struct AttackEnv {
  RelayTarget relay;
  std::string attacker_host;  // the one address every attacking connection comes from
  bool raw_sockets = false;   // raw IPv4 (spoofed sources, half-open from random ports)
  const InitialPool* initials = nullptr;
  std::string legit_room;    // broadcast_storm_room: the room to flood
  std::string legit_invite;  // ... and an invite into it
  std::chrono::milliseconds duration{10000};
};

// What an attack did, in the order it was added.
struct AttackTally {
  std::vector<std::pair<std::string, double>> counts;
  std::vector<std::string> notes;
  void add(std::string name, double value) { counts.emplace_back(std::move(name), value); }
};

class Attack {
 public:
  virtual ~Attack() = default;
  // Starts it on `loop` (the runner's thread).
  [[nodiscard]] virtual Status start(io::EventLoop& loop) = 0;
  // Its count bound is reached (the runner also stops it at its deadline).
  [[nodiscard]] virtual bool done() const = 0;
  // At full strength (every spam room claimed, every Initial sent): the moment to try fresh
  // joins. Attacks without such a moment never say so; the runner then uses half-time.
  [[nodiscard]] virtual bool at_peak() const { return false; }
  // Stop sending and close every connection (the runner keeps the loop turning briefly).
  virtual void wind_down() = 0;
  virtual void tally(AttackTally& out) const = 0;
};

// The scenario names make_attack knows, in --all order.
[[nodiscard]] const std::vector<std::string>& attack_names();
// `scale` (0..1] shrinks every count bound (mixed uses it for its parts).
[[nodiscard]] Result<std::unique_ptr<Attack>> make_attack(std::string_view name,
                                                          const AttackEnv& env, double scale = 1.0);

// Runs one attack on its own thread and event loop until done, its deadline or stop().
class AttackRunner {
 public:
  AttackRunner(std::unique_ptr<Attack> attack, std::chrono::milliseconds duration);
  ~AttackRunner();
  AttackRunner(const AttackRunner&) = delete;
  AttackRunner& operator=(const AttackRunner&) = delete;

  [[nodiscard]] bool at_peak() const noexcept { return peak_.load(); }
  [[nodiscard]] bool finished() const noexcept { return finished_.load(); }
  void stop() noexcept { stop_.store(true); }
  // Waits for the thread; then the tally (with "error" notes if the attack failed to start).
  AttackTally join();
  [[nodiscard]] double seconds() const noexcept { return seconds_; }

 private:
  std::unique_ptr<Attack> attack_;
  std::atomic<bool> peak_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> stop_{false};
  AttackTally tally_;
  double seconds_ = 0;
  std::thread thread_;
};

}  // namespace lanparty::bench::attack
