// SPDX-License-Identifier: MIT
// The attack scenarios. Connection attacks keep a pool of attacking peers (bounded in total,
// in handshakes at once and in connections at once); flood attacks pump a peer's datagram
// queue or control stream every millisecond; handshake floods replay captured Initials.
#include "attacks.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::bench::attack {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kPumpInterval = 1ms;
// One-shot attacks (every Initial sent, every room claimed) stay at full strength this long,
// so fresh joins can be tried against them.
constexpr auto kHoldAtPeak = 4s;
constexpr std::size_t kMaxOutcomeKinds = 16;

// MAC groups (third byte of 02:41:54:..) per attack, so frames can be told apart in captures.
constexpr std::uint8_t kSpamGroup = 0xb0;
constexpr std::uint8_t kRoomGroup = 0xb1;
constexpr std::uint8_t kStormGroup = 0xb2;
constexpr std::uint8_t kBadGroup = 0xb3;
constexpr std::uint8_t kNeverReadGroup = 0xb4;
constexpr std::uint8_t kStormRoomGroup = 0xb5;
constexpr std::uint8_t kChurnGroup = 0xb6;
constexpr std::uint8_t kRevokeGroup = 0xb7;

[[nodiscard]] std::size_t scaled(std::size_t count, double scale) {
  return std::max<std::size_t>(
      1, static_cast<std::size_t>(std::llround(static_cast<double>(count) * scale)));
}

[[nodiscard]] std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Attackers keep nothing alive they do not need: no keepalives, short handshake patience.
[[nodiscard]] PeerSettings attacker_settings() {
  PeerSettings s;
  s.keepalive = 0ms;
  s.handshake_timeout = 5s;
  s.datagram_queue_slots = 64;
  return s;
}

// An attacking connection; each attack gives it behaviour through the hooks and keeps its own
// scratch state in the public fields.
class AttackPeer final : public Peer {
 public:
  std::function<void(AttackPeer&)> on_ready;   // handshake done
  std::function<void(AttackPeer&)> on_joined;  // welcome
  std::function<void(AttackPeer&, const ctrl::Message&)> on_message;
  std::function<void(AttackPeer&, std::uint16_t, std::span<const std::uint8_t>)> on_frame;
  std::function<void(AttackPeer&)> on_finished;  // closed

  std::uint32_t index = 0;
  bool settled = false;  // out of the pool's in-flight count
  bool finished_seen = false;
  std::uint64_t sent = 0;  // bytes, frames or messages, per attack
  double tokens = 0;
  bool junk = false;
  std::optional<quic::RoomKey> key;
  proto::MacAddress mac;  // the MAC its hello names
  std::string room;
  std::string script;  // bytes still to send slowly
  std::size_t script_at = 0;

 protected:
  void handshake_done() override {
    if (on_ready) on_ready(*this);
  }
  void joined() override {
    if (on_joined) on_joined(*this);
  }
  void message(const ctrl::Message& m) override {
    if (on_message) on_message(*this, m);
  }
  void frame(std::uint16_t from, std::span<const std::uint8_t> f) override {
    if (on_frame) on_frame(*this, from, f);
  }
  void finished() override {
    if (on_finished) on_finished(*this);
  }
};

// "peer_application 1 no hello within 5 s", "reject auth_required", "handshake_timeout 0".
[[nodiscard]] std::string short_outcome(const Peer& peer) {
  if (!peer.reject_code().empty()) return "reject " + peer.reject_code();
  if (const auto& close = peer.close_info()) {
    std::string text = fmt::format("{} {}", quic::to_string(close->kind), close->code);
    if (!close->reason.empty()) text += " " + close->reason.substr(0, 40);
    return text;
  }
  return peer.outcome();
}

// --- the pool ---------------------------------------------------------------------------------

class PeerPool {
 public:
  struct Limits {
    std::size_t total = 1;      // peers started over the attack
    std::size_t in_flight = 1;  // started and not yet settled (usually: handshaking)
    std::size_t alive = 1;      // connections at once
  };
  using Factory = std::function<std::unique_ptr<AttackPeer>(std::uint32_t index)>;

  PeerPool(const AttackEnv& env, PeerSettings settings, Limits limits, Factory factory)
      : env_(env), settings_(settings), limits_(limits), factory_(std::move(factory)) {}

  [[nodiscard]] Status start(io::EventLoop& loop) {
    loop_ = &loop;
    work_ = std::make_unique<io::EventLoop::Timer>(loop, [this] { work(); });
    work();
    return ok();
  }
  void stop_starting() noexcept { stopped_ = true; }
  void close_all(std::uint64_t code, std::string_view reason) {
    stopped_ = true;
    for (auto& peer : live_) peer->close(code, reason);
  }
  // The peer reached the state it holds (handshake done, room claimed): room for another.
  void settle(AttackPeer& peer) {
    if (peer.settled) return;
    peer.settled = true;
    --in_flight_;
    schedule();
  }
  void note_handshake() noexcept { ++handshakes_; }

  [[nodiscard]] bool exhausted() const noexcept { return started_ >= limits_.total || stopped_; }
  [[nodiscard]] bool all_ended() const noexcept { return exhausted() && live_.empty(); }
  [[nodiscard]] std::size_t started() const noexcept { return started_; }
  [[nodiscard]] std::size_t live() const noexcept { return live_.size(); }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] const Limits& limits() const noexcept { return limits_; }
  template <class F>
  void for_each(F&& f) {
    for (auto& peer : live_) {
      if (!peer->ended()) f(*peer);
    }
  }

  void tally(AttackTally& out, const std::string& prefix) const {
    out.add(prefix + "connections_started", static_cast<double>(started_));
    out.add(prefix + "handshakes_completed", static_cast<double>(handshakes_));
    out.add(prefix + "peak_connections", static_cast<double>(peak_live_));
    if (connect_errors_ != 0) {
      out.add(prefix + "local_connect_errors", static_cast<double>(connect_errors_));
      out.notes.push_back(prefix + "last local connect error: " + last_error_);
    }
    std::map<std::string, std::uint64_t> outcomes = outcomes_;
    for (const auto& peer : live_) {
      if (!peer->ended()) ++outcomes["still open at the end"];
    }
    for (const auto& [what, n] : outcomes) {
      out.add(prefix + "outcome: " + what, static_cast<double>(n));
    }
  }

 private:
  void schedule() {
    if (work_ && !work_->armed()) work_->arm(loop_->now());
  }

  void finished(AttackPeer& peer) {
    if (peer.finished_seen) return;
    peer.finished_seen = true;
    if (!peer.settled) {
      peer.settled = true;
      --in_flight_;
    }
    std::string what = short_outcome(peer);
    if (outcomes_.size() >= kMaxOutcomeKinds && !outcomes_.contains(what)) what = "other";
    ++outcomes_[what];
    schedule();
  }

  // Frees ended peers (never inside their own callbacks: this runs from a timer) and starts
  // new ones up to the limits.
  void work() {
    std::erase_if(live_, [](const auto& peer) { return peer->finished_seen; });
    while (!stopped_ && started_ < limits_.total && in_flight_ < limits_.in_flight &&
           live_.size() < limits_.alive) {
      auto peer = factory_(static_cast<std::uint32_t>(started_));
      peer->index = static_cast<std::uint32_t>(started_);
      auto user_finished = std::move(peer->on_finished);
      peer->on_finished = [this, user_finished](AttackPeer& p) {
        if (user_finished) user_finished(p);
        finished(p);
      };
      ++started_;
      if (auto st = peer->connect(*loop_, env_.relay, env_.attacker_host, settings_); !st) {
        ++connect_errors_;
        last_error_ = st.error().describe();
        // Out of file descriptors or ports: the rest would fail the same way.
        if (connect_errors_ > 100) stopped_ = true;
        continue;
      }
      ++in_flight_;
      live_.push_back(std::move(peer));
    }
    peak_live_ = std::max(peak_live_, live_.size());
  }

  const AttackEnv& env_;
  PeerSettings settings_;
  Limits limits_;
  Factory factory_;
  io::EventLoop* loop_ = nullptr;
  std::unique_ptr<io::EventLoop::Timer> work_;
  std::vector<std::unique_ptr<AttackPeer>> live_;
  std::size_t started_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t handshakes_ = 0;
  std::size_t peak_live_ = 0;
  std::size_t connect_errors_ = 0;
  std::string last_error_;
  bool stopped_ = false;
  std::map<std::string, std::uint64_t> outcomes_;
};

// A pool attack: peers made by make_peer(), judged done when the pool is spent.
class PoolAttack : public Attack {
 public:
  PoolAttack(const AttackEnv& env, PeerSettings settings, PeerPool::Limits limits)
      : env_(env), pool_(env, settings, limits, [this](std::uint32_t index) {
          auto peer = std::make_unique<AttackPeer>();
          peer->on_ready = [this](AttackPeer& p) {
            pool_.note_handshake();
            ready(p);
          };
          shape(*peer, index);
          return peer;
        }) {}

  Status start(io::EventLoop& loop) override {
    loop_ = &loop;
    started_at_ = Clock::now();
    if (auto st = pool_.start(loop); !st) return st;
    if (pumps()) {
      pump_ = std::make_unique<io::EventLoop::Timer>(loop, [this] {
        pump();
        pump_->arm(loop_->now() + pump_interval());
      });
      pump_->arm(loop.now() + pump_interval());
    }
    return ok();
  }
  bool done() const override { return pool_.all_ended(); }
  bool at_peak() const override { return pool_.started() * 2 >= pool_.limits().total; }
  void wind_down() override {
    pump_.reset();
    pool_.close_all(ctrl::app_error::kNoError, "attack over");
  }
  void tally(AttackTally& out) const override { pool_.tally(out, ""); }

 protected:
  // Called for each new peer before it connects.
  virtual void shape(AttackPeer& /*peer*/, std::uint32_t /*index*/) {}
  // The peer's handshake completed.
  virtual void ready(AttackPeer& peer) { pool_.settle(peer); }
  [[nodiscard]] virtual bool pumps() const { return false; }
  [[nodiscard]] virtual std::chrono::milliseconds pump_interval() const { return kPumpInterval; }
  virtual void pump() {}

  const AttackEnv& env_;
  PeerPool pool_;
  io::EventLoop* loop_ = nullptr;
  Clock::time_point started_at_{};
  std::unique_ptr<io::EventLoop::Timer> pump_;
};

// --- connection_flood, no_hello, slow_hello ---------------------------------------------------

// Handshakes as fast as the relay completes them; each connection closes once the relay has
// finished its side too. A client's handshake completes one flight before the server's, and a
// client that closed at once would leave the relay a half-open handshake instead: so each sends
// one byte on the control stream and closes when the relay acknowledges it (it can only do that
// with the handshake complete).
class ConnectionFlood final : public PoolAttack {
 public:
  ConnectionFlood(const AttackEnv& env, double scale)
      : PoolAttack(env, attacker_settings(),
                   {.total = scaled(10000, scale), .in_flight = 128, .alive = 128}) {}
  void tally(AttackTally& out) const override {
    PoolAttack::tally(out);
    out.add("handshakes_confirmed_by_relay", static_cast<double>(confirmed_));
  }

 protected:
  void ready(AttackPeer& peer) override {
    pool_.settle(peer);
    const std::uint8_t first_length_byte = 0;
    if (peer.send_stream_bytes(std::span(&first_length_byte, 1))) {
      peer.sent = 1;
    } else {
      peer.close(ctrl::app_error::kNoError, "flood");
    }
  }
  bool pumps() const override { return true; }
  void pump() override {
    pool_.for_each([this](AttackPeer& p) {
      if (p.sent == 1 && p.unacked_stream_bytes() == 0) {
        p.sent = 2;
        ++confirmed_;
        p.close(ctrl::app_error::kNoError, "flood");
      }
    });
  }

 private:
  std::uint64_t confirmed_ = 0;
};

// Connections that finish the handshake and never say hello (the relay closes them after 5 s).
class NoHello final : public PoolAttack {
 public:
  NoHello(const AttackEnv& env, double scale)
      : PoolAttack(
            env, attacker_settings(),
            {.total = scaled(10000, scale), .in_flight = 128, .alive = scaled(2000, scale)}) {}
  bool at_peak() const override {
    return pool_.live() * 10 >= pool_.limits().alive * 9 || PoolAttack::at_peak();
  }
};

// A valid-looking hello, one byte a second.
class SlowHello final : public PoolAttack {
 public:
  SlowHello(const AttackEnv& env, double scale)
      : PoolAttack(env, attacker_settings(),
                   {.total = scaled(2000, scale), .in_flight = 64, .alive = scaled(500, scale)}) {
    const ctrl::Hello hello = Peer::invited_hello("LEGIT", attack_mac(kRoomGroup, 1),
                                                  "lpi1.not-a-real-invite", kWantedBudget);
    (void)ctrl::append_frame(hello, hello_bytes_);
  }
  bool at_peak() const override {
    return pool_.live() * 10 >= pool_.limits().alive * 9 || PoolAttack::at_peak();
  }
  void tally(AttackTally& out) const override {
    PoolAttack::tally(out);
    out.add("hello_bytes_sent", static_cast<double>(bytes_sent_));
    out.add("most_hello_bytes_on_one_connection", static_cast<double>(most_bytes_));
    out.add("hello_bytes_needed", static_cast<double>(hello_bytes_.size()));
  }

 protected:
  void shape(AttackPeer& peer, std::uint32_t /*index*/) override { peer.script = hello_bytes_; }
  bool pumps() const override { return true; }
  std::chrono::milliseconds pump_interval() const override { return 1000ms; }
  void pump() override {
    pool_.for_each([this](AttackPeer& p) {
      if (!p.handshake_completed() || p.script_at >= p.script.size()) return;
      const auto byte = static_cast<std::uint8_t>(p.script[p.script_at]);
      if (p.send_stream_bytes(std::span(&byte, 1))) {
        ++p.script_at;
        ++bytes_sent_;
        most_bytes_ = std::max<std::uint64_t>(most_bytes_, p.script_at);
      }
    });
  }

 private:
  std::string hello_bytes_;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t most_bytes_ = 0;
};

// --- big_control_frames -----------------------------------------------------------------------

// 16 KiB control frames (the largest the protocol allows) at line rate before admission: on
// even connections a valid hello padded with an unknown field (it gets a reject, and the relay
// lingers up to 1 s for its ack while more frames arrive); on odd ones not JSON at all.
class BigControlFrames final : public PoolAttack {
 public:
  static constexpr std::uint64_t kMaxUnacked = 256 * 1024;
  static constexpr std::uint64_t kFramesPerConnection = 256;  // 4 MiB

  BigControlFrames(const AttackEnv& env, double scale)
      : PoolAttack(env, attacker_settings(),
                   {.total = scaled(2000, scale), .in_flight = 32, .alive = scaled(64, scale)}) {
    const std::string head = fmt::format(
        R"({{"type":"hello","protocol":1,"role":"client","room":"LEGIT","mac":"{}","max_datagram":{},"pad":")",
        attack_mac(kRoomGroup, 2).to_string(), kWantedBudget);
    const std::string tail = "\"}";
    std::string padded_hello =
        head + std::string(ctrl::kMaxFrameBytes - head.size() - tail.size(), 'x') + tail;
    (void)ctrl::append_frame(std::string_view(padded_hello), hello_frame_);
    (void)ctrl::append_frame(std::string_view(std::string(ctrl::kMaxFrameBytes, '\x7f')),
                             junk_frame_);
  }
  void tally(AttackTally& out) const override {
    PoolAttack::tally(out);
    out.add("frames_sent", static_cast<double>(frames_));
    out.add("stream_bytes_sent", static_cast<double>(bytes_));
    out.add("stream_bytes_acked_by_relay", static_cast<double>(acked_));
  }

 protected:
  void shape(AttackPeer& peer, std::uint32_t index) override {
    peer.junk = index % 2 == 1;
    peer.on_finished = [this](AttackPeer& p) {
      acked_ += p.connection().stats().stream_bytes_acked;
    };
  }
  bool pumps() const override { return true; }
  void pump() override {
    pool_.for_each([this](AttackPeer& p) {
      if (!p.handshake_completed()) return;
      const std::string& frame = p.junk ? junk_frame_ : hello_frame_;
      const auto bytes =
          std::span(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size());
      while (p.sent < kFramesPerConnection && p.unacked_stream_bytes() < kMaxUnacked) {
        if (!p.send_stream_bytes(bytes)) return;
        ++p.sent;
        ++frames_;
        bytes_ += bytes.size();
      }
    });
  }

 private:
  std::string hello_frame_;
  std::string junk_frame_;
  std::uint64_t frames_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t acked_ = 0;
};

// --- room_spam --------------------------------------------------------------------------------

// One-peer rooms from one address: a gateway with a fresh key claims a fresh room, and stays.
class RoomSpam final : public PoolAttack {
 public:
  RoomSpam(const AttackEnv& env, double scale)
      : PoolAttack(env, attacker_settings(),
                   {.total = scaled(4096, scale), .in_flight = 64, .alive = scaled(4096, scale)}) {}

  bool at_peak() const override {
    if (peak_at_) return true;
    return false;
  }
  bool done() const override {
    return pool_.all_ended() || (peak_at_ && Clock::now() - *peak_at_ >= kHoldAtPeak);
  }
  void tally(AttackTally& out) const override {
    PoolAttack::tally(out);
    out.add("rooms_claimed", static_cast<double>(claimed_));
    for (const auto& [code, n] : rejects_) out.add("reject " + code, static_cast<double>(n));
    if (peak_at_) {
      out.add("seconds_to_claim_all",
              std::chrono::duration<double>(*peak_at_ - started_at_).count());
    }
  }

 protected:
  void shape(AttackPeer& peer, std::uint32_t index) override {
    if (auto key = quic::RoomKey::generate()) peer.key.emplace(*key);
    peer.room = fmt::format("SPAM{:05}", index);
    peer.on_joined = [this](AttackPeer& p) {
      ++claimed_;
      pool_.settle(p);
    };
    peer.on_message = [this](AttackPeer& p, const ctrl::Message& m) {
      if (const auto* r = std::get_if<ctrl::Reject>(&m)) {
        ++rejects_[r->code];
        pool_.settle(p);
      }
    };
  }
  void ready(AttackPeer& peer) override {
    if (!peer.key) {
      peer.close(ctrl::app_error::kNoError, "no key");
      return;
    }
    auto hello =
        peer.claim_hello(*peer.key, peer.room, attack_mac(kSpamGroup, peer.index), kWantedBudget);
    if (!hello || !peer.send_hello(*hello)) peer.close(ctrl::app_error::kNoError, "no hello");
  }
  bool pumps() const override { return true; }
  std::chrono::milliseconds pump_interval() const override { return 50ms; }
  void pump() override {
    // Full strength: every room started has been answered (claimed or refused).
    if (!peak_at_ && pool_.exhausted() && pool_.in_flight() == 0) peak_at_ = Clock::now();
  }

 private:
  std::uint64_t claimed_ = 0;
  std::map<std::string, std::uint64_t> rejects_;
  std::optional<Clock::time_point> peak_at_;
};

// --- attacks from inside rooms ----------------------------------------------------------------

// A room of the attacker's own (a gateway with a fresh key and invited clients), or, with
// `foreign_invite`, clients invited into someone else's room. ready() once all are welcomed.
class AttackerRoom {
 public:
  AttackerRoom(const AttackEnv& env, std::string room, std::uint8_t mac_group, std::size_t clients,
               PeerSettings settings, std::optional<std::string> foreign_invite = std::nullopt)
      : env_(env),
        room_(std::move(room)),
        mac_group_(mac_group),
        client_count_(clients),
        settings_(settings),
        foreign_invite_(std::move(foreign_invite)) {}

  [[nodiscard]] Status start(io::EventLoop& loop) {
    loop_ = &loop;
    if (foreign_invite_) return start_clients();
    auto key = quic::RoomKey::generate();
    if (!key) return tl::unexpected(key.error());
    key_.emplace(*key);
    gateway_ = std::make_unique<AttackPeer>();
    gateway_->on_ready = [this](AttackPeer& p) {
      auto hello = p.claim_hello(*key_, room_, attack_mac(mac_group_, 0), kWantedBudget);
      if (!hello || !p.send_hello(*hello)) error_ = "gateway hello not sent";
    };
    gateway_->on_joined = [this](AttackPeer&) {
      if (auto st = start_clients(); !st) error_ = st.error().describe();
    };
    return gateway_->connect(loop, env_.relay, env_.attacker_host, settings_);
  }

  [[nodiscard]] bool ready() const {
    if (!foreign_invite_ && (!gateway_ || gateway_->state() != Peer::State::kJoined)) return false;
    return clients_.size() == client_count_ &&
           std::all_of(clients_.begin(), clients_.end(),
                       [](const auto& c) { return c->state() == Peer::State::kJoined; });
  }
  // Why it cannot get ready (a reject, a close, a local error), or empty.
  [[nodiscard]] std::string failure() const {
    if (!error_.empty()) return error_;
    if (gateway_ && (gateway_->ended() || !gateway_->reject_code().empty())) {
      return "attacker gateway: " + gateway_->outcome();
    }
    for (const auto& c : clients_) {
      if (c->ended() || !c->reject_code().empty()) return "attacker client: " + c->outcome();
    }
    return {};
  }
  [[nodiscard]] AttackPeer& client(std::size_t i) { return *clients_[i]; }
  [[nodiscard]] AttackPeer* gateway() noexcept { return gateway_.get(); }
  // Members: the gateway and every client.
  [[nodiscard]] std::size_t members() const noexcept {
    return (gateway_ ? 1 : 0) + clients_.size();
  }
  template <class F>
  void for_each_member(F&& f) {
    if (gateway_) f(*gateway_);
    for (auto& c : clients_) f(*c);
  }
  // An invite into the attacker's own room.
  [[nodiscard]] Result<std::string> invite(const std::string& name) const {
    return make_invite(*key_, room_, name);
  }
  [[nodiscard]] std::size_t clients() const noexcept { return clients_.size(); }
  void close_all() {
    if (gateway_) gateway_->close(ctrl::app_error::kNoError, "attack over");
    for (auto& c : clients_) c->close(ctrl::app_error::kNoError, "attack over");
  }

 private:
  Status start_clients() {
    for (std::size_t i = 0; i < client_count_; ++i) {
      std::string invite;
      if (foreign_invite_) {
        invite = *foreign_invite_;
      } else {
        auto made = make_invite(*key_, room_, fmt::format("attacker{}", i));
        if (!made) return tl::unexpected(made.error());
        invite = *made;
      }
      auto client = std::make_unique<AttackPeer>();
      const proto::MacAddress mac = attack_mac(mac_group_, static_cast<std::uint32_t>(i + 1));
      client->mac = mac;
      client->on_ready = [this, mac, invite](AttackPeer& p) {
        if (!p.send_hello(Peer::invited_hello(room_, mac, invite, kWantedBudget))) {
          error_ = "client hello not sent";
        }
      };
      if (auto st = client->connect(*loop_, env_.relay, env_.attacker_host, settings_); !st) {
        return st;
      }
      clients_.push_back(std::move(client));
    }
    return ok();
  }

  const AttackEnv& env_;
  std::string room_;
  std::uint8_t mac_group_;
  std::size_t client_count_;
  PeerSettings settings_;
  std::optional<std::string> foreign_invite_;
  io::EventLoop* loop_ = nullptr;
  std::optional<quic::RoomKey> key_;
  std::unique_ptr<AttackPeer> gateway_;
  std::vector<std::unique_ptr<AttackPeer>> clients_;
  std::string error_;
};

// A datagram flood from the first client of an attacker room, once every member is in: each
// millisecond the client's datagram queue is topped up with make(i).
class DatagramFlood : public Attack {
 public:
  static constexpr std::size_t kQueueSlots = 1024;

  DatagramFlood(const AttackEnv& env, std::string room, std::uint8_t group, std::size_t clients,
                std::uint64_t total, std::optional<std::string> foreign_invite = std::nullopt)
      : room_(env, std::move(room), group, clients, flood_settings(), std::move(foreign_invite)),
        total_(total) {}

  Status start(io::EventLoop& loop) override {
    loop_ = &loop;
    start_ = Clock::now();
    pump_ = std::make_unique<io::EventLoop::Timer>(loop, [this] {
      pump();
      pump_->arm(loop_->now() + kPumpInterval);
    });
    pump_->arm(loop.now() + kPumpInterval);
    return room_.start(loop);
  }
  bool done() const override { return sent_ >= total_ || !failure_.empty(); }
  void wind_down() override {
    pump_.reset();
    room_.close_all();
  }
  void tally(AttackTally& out) const override {
    out.add("datagrams_sent", static_cast<double>(sent_));
    out.add("datagrams_refused_locally", static_cast<double>(refused_));
    if (flood_started_) {
      const double seconds = std::chrono::duration<double>(last_sent_ - *flood_started_).count();
      out.add("datagrams_per_second", seconds > 0 ? static_cast<double>(sent_) / seconds : 0);
      out.add("seconds_to_join", std::chrono::duration<double>(*flood_started_ - start_).count());
    }
    if (!failure_.empty()) out.notes.push_back("attacker room: " + failure_);
  }

 protected:
  // Writes datagram number i into `out` (resized by the callee) as sent by `sender`.
  virtual void make(std::uint64_t i, AttackPeer& sender, std::vector<std::uint8_t>& out) = 0;
  // Every member of the room is in; the flood starts.
  virtual void room_ready() {}
  AttackerRoom room_;

 private:
  static PeerSettings flood_settings() {
    PeerSettings s = attacker_settings();
    s.datagram_queue_slots = kQueueSlots;
    s.keepalive = 5s;
    return s;
  }
  void pump() {
    if (!flood_started_) {
      if (!room_.ready()) {
        if (auto why = room_.failure(); !why.empty()) failure_ = why;
        return;
      }
      flood_started_ = Clock::now();
      room_ready();
    }
    AttackPeer& sender = room_.client(0);
    if (sender.ended()) {
      failure_ = "the flooding client was closed: " + sender.outcome();
      return;
    }
    const std::size_t depth = sender.connection().stats().datagram_queue_depth;
    for (std::size_t n = depth; n < kQueueSlots && sent_ < total_; ++n) {
      make(sent_, sender, datagram_);
      if (!sender.connection().send_datagram(datagram_)) {
        ++refused_;
        return;
      }
      ++sent_;
    }
    last_sent_ = Clock::now();
  }

  io::EventLoop* loop_ = nullptr;
  std::uint64_t total_;
  std::uint64_t sent_ = 0;
  std::uint64_t refused_ = 0;
  Clock::time_point start_{};
  Clock::time_point last_sent_{};
  std::optional<Clock::time_point> flood_started_;
  std::string failure_;
  std::vector<std::uint8_t> datagram_;
  std::unique_ptr<io::EventLoop::Timer> pump_;
};

// Datagrams every check of PROTOCOL.md section 3 must drop, in turn: shorter than the header,
// version 2, kind 7, another peer's id, and a well-formed header over a runt frame.
class BadDatagrams final : public DatagramFlood {
 public:
  BadDatagrams(const AttackEnv& env, double scale)
      : DatagramFlood(env, "BADDGRAM", kBadGroup, 1, scaled(5'000'000, scale)) {}

 protected:
  void make(std::uint64_t i, AttackPeer& sender, std::vector<std::uint8_t>& out) override {
    const std::size_t size = 4 + static_cast<std::size_t>((i * 7919) % 1100);
    out.assign(size, 0x5a);
    const std::uint16_t id = sender.peer_id();
    switch (i % 5) {
      case 0:
        out.resize(1 + i % 3);  // 1..3 bytes: bad_header
        break;
      case 1:
        out[0] = 2;  // bad_version
        out[1] = 1;
        proto::store_be16(out, 2, id);
        break;
      case 2:
        out[0] = 1;
        out[1] = 7;  // bad_kind
        proto::store_be16(out, 2, id);
        break;
      case 3:
        out[0] = 1;
        out[1] = 1;
        proto::store_be16(out, 2, static_cast<std::uint16_t>(id ^ 0x5a5a));  // bad_peer_id
        break;
      default:
        out.resize(4 + 5);  // a 5-byte Ethernet frame: runt
        out[0] = 1;
        out[1] = 1;
        proto::store_be16(out, 2, id);
        break;
    }
  }
};

// Broadcast frames at line rate from an admitted client: in a room of the attacker's own (three
// more members receive each one), or, with an invite, inside the legitimate room.
class BroadcastStorm final : public DatagramFlood {
 public:
  static constexpr std::size_t kFrameBytes = 512;

  BroadcastStorm(const AttackEnv& env, double scale, bool in_legit_room)
      : DatagramFlood(env, in_legit_room ? env.legit_room : std::string("STORM"),
                      in_legit_room ? kStormRoomGroup : kStormGroup, in_legit_room ? 1 : 3,
                      scaled(20'000'000, scale),
                      in_legit_room ? std::optional<std::string>(env.legit_invite) : std::nullopt) {
  }

  void tally(AttackTally& out) const override {
    DatagramFlood::tally(out);
    out.add("storm_frames_received_by_attacker_members", static_cast<double>(received_));
  }

 protected:
  void room_ready() override {
    for (std::size_t c = 1; c < room_.clients(); ++c) {
      room_.client(c).on_frame = [this](AttackPeer&, std::uint16_t, std::span<const std::uint8_t>) {
        ++received_;
      };
    }
  }
  void make(std::uint64_t i, AttackPeer& sender, std::vector<std::uint8_t>& out) override {
    out.assign(proto::kOverlayHeaderSize + kFrameBytes, 0);
    proto::encode_overlay_header(
        std::span<std::uint8_t, proto::kOverlayHeaderSize>(out.data(), proto::kOverlayHeaderSize),
        proto::DatagramKind::kEthernet, sender.peer_id());
    const auto frame = std::span(out).subspan(proto::kOverlayHeaderSize);
    std::fill_n(frame.begin(), 6, 0xff);
    // The client's own MAC: the relay drops any other source from a client as spoofed.
    std::copy(sender.mac.bytes().begin(), sender.mac.bytes().end(), frame.begin() + 6);
    proto::store_be16(frame, 12, 0x88b6);  // IEEE 802 local experimental 2: no relay rule reads it
    proto::store_be32(frame, 14, static_cast<std::uint32_t>(i));
  }

 private:
  std::uint64_t received_ = 0;
};

// --- never_reads, revoke_flood ----------------------------------------------------------------

// A room of the attacker's own whose members stop reading their control stream once welcomed
// (receive windows of 16 KiB that never reopen), and attacker clients that join and leave it in
// a loop: every join and every leave makes the relay send peer_joined / peer_left to each deaf
// member, and what does not fit their windows it must keep. 55 deaf members, 8 churners and the
// gateway fill the relay's default 64 peers a room.
class NeverReads final : public Attack {
 public:
  static constexpr std::uint64_t kWindow = 16 * 1024;
  static constexpr std::size_t kChurners = 8;

  NeverReads(const AttackEnv& env, double scale)
      : deaf_(env, "DEAF", kNeverReadGroup, std::min<std::size_t>(55, scaled(55, scale)),
              deaf_settings()),
        churn_(env, attacker_settings(),
               {.total = scaled(5000, scale), .in_flight = kChurners, .alive = kChurners},
               [this](std::uint32_t index) { return make_churner(index); }) {}

  Status start(io::EventLoop& loop) override {
    loop_ = &loop;
    timer_ = std::make_unique<io::EventLoop::Timer>(loop, [this] { step(); });
    timer_->arm(loop.now() + 10ms);
    if (auto st = deaf_.start(loop); !st) return st;
    never_read_applied_ = deaf_.gateway() != nullptr && deaf_.gateway()->never_read_applied();
    return ok();
  }
  bool done() const override { return !failure_.empty() || (churning_ && churn_.all_ended()); }
  bool at_peak() const override {
    return churning_ && churn_.started() * 2 >= churn_.limits().total;
  }
  void wind_down() override {
    timer_.reset();
    churn_.close_all(ctrl::app_error::kNoError, "attack over");
    deaf_.close_all();
  }
  void tally(AttackTally& out) const override {
    out.add("deaf_members", static_cast<double>(deaf_.members()));
    out.add("churns", static_cast<double>(churned_));
    out.add("notices_owed_to_deaf_members", static_cast<double>(2 * churned_ * deaf_.members()));
    out.add("notices_deaf_members_could_read", static_cast<double>(read_));
    churn_.tally(out, "churn.");
    if (!failure_.empty()) out.notes.push_back("deaf room: " + failure_);
    out.notes.push_back(never_read_applied_
                            ? "deaf members: 16 KiB receive windows, never reopened"
                            : "libs/quic here cannot stop reading (no never_reopen_windows): "
                              "the deaf members read as usual");
  }

 private:
  static PeerSettings deaf_settings() {
    PeerSettings s = attacker_settings();
    s.never_read_window = kWindow;
    s.keepalive = 5s;
    return s;
  }
  void step() {
    timer_->arm(loop_->now() + 10ms);
    if (churning_) return;
    if (auto why = deaf_.failure(); !why.empty()) {
      failure_ = why;
      return;
    }
    if (!deaf_.ready()) return;
    auto invite = deaf_.invite("churner");
    if (!invite) {
      failure_ = invite.error().describe();
      return;
    }
    invite_ = *invite;
    deaf_.for_each_member([this](AttackPeer& p) {
      p.on_message = [this](AttackPeer&, const ctrl::Message& m) {
        if (std::holds_alternative<ctrl::PeerJoined>(m) ||
            std::holds_alternative<ctrl::PeerLeft>(m)) {
          ++read_;
        }
      };
    });
    churning_ = true;
    if (auto st = churn_.start(*loop_); !st) failure_ = st.error().describe();
  }
  std::unique_ptr<AttackPeer> make_churner(std::uint32_t index) {
    auto peer = std::make_unique<AttackPeer>();
    const proto::MacAddress mac = attack_mac(kChurnGroup, 100 + index % 60000);
    peer->on_ready = [this, mac](AttackPeer& p) {
      churn_.note_handshake();
      if (!p.send_hello(Peer::invited_hello("DEAF", mac, invite_, kWantedBudget))) {
        p.close(ctrl::app_error::kNoError, "no hello");
      }
    };
    peer->on_joined = [this](AttackPeer& p) {
      ++churned_;
      churn_.settle(p);
      p.close(ctrl::app_error::kNoError, "churn");
    };
    return peer;
  }

  AttackerRoom deaf_;
  PeerPool churn_;
  io::EventLoop* loop_ = nullptr;
  std::unique_ptr<io::EventLoop::Timer> timer_;
  std::string invite_;
  bool churning_ = false;
  bool never_read_applied_ = false;
  std::uint64_t churned_ = 0;
  std::uint64_t read_ = 0;
  std::string failure_;
};

// A room owner sending `revoke` for made-up invite ids as fast as the relay acknowledges them
// (the relay records each durably and answers `revoked`).
class RevokeFlood final : public Attack {
 public:
  static constexpr std::uint64_t kMaxUnacked = 64 * 1024;

  RevokeFlood(const AttackEnv& env, double scale)
      : room_(env, "REVOKES", kRevokeGroup, 0, owner_settings()), cap_(scaled(3000, scale)) {}

  Status start(io::EventLoop& loop) override {
    loop_ = &loop;
    start_ = Clock::now();
    pump_ = std::make_unique<io::EventLoop::Timer>(loop, [this] {
      pump();
      pump_->arm(loop_->now() + kPumpInterval);
    });
    pump_->arm(loop.now() + kPumpInterval);
    if (auto st = room_.start(loop); !st) return st;
    room_.gateway()->on_message = [this](AttackPeer&, const ctrl::Message& m) {
      if (std::holds_alternative<ctrl::Revoked>(m) && ++answers_ >= cap_)
        last_answer_ = Clock::now();
    };
    return ok();
  }
  bool done() const override { return !failure_.empty() || answers_ >= cap_; }
  bool at_peak() const override { return sent_ * 2 >= cap_; }
  void wind_down() override {
    pump_.reset();
    room_.close_all();
  }
  void tally(AttackTally& out) const override {
    out.add("revokes_sent", static_cast<double>(sent_));
    out.add("revoked_answers", static_cast<double>(answers_));
    if (first_sent_ && last_answer_) {
      const double s = std::chrono::duration<double>(*last_answer_ - *first_sent_).count();
      out.add("seconds_for_all_answers", s);
      out.add("answers_per_second", s > 0 ? static_cast<double>(answers_) / s : 0);
    }
    if (!failure_.empty()) out.notes.push_back("owner: " + failure_);
  }

 private:
  static PeerSettings owner_settings() {
    PeerSettings s = attacker_settings();
    s.keepalive = 5s;
    return s;
  }
  void pump() {
    if (!room_.ready()) {
      if (auto why = room_.failure(); !why.empty()) failure_ = why;
      return;
    }
    AttackPeer& owner = *room_.gateway();
    if (!first_sent_) first_sent_ = Clock::now();
    while (sent_ < cap_ && owner.unacked_stream_bytes() < kMaxUnacked) {
      if (!owner.send_control(
              ctrl::Revoke{.invite_id = random_invite_id(), .exp = unix_now() + 3600})) {
        return;
      }
      ++sent_;
    }
  }

  AttackerRoom room_;
  std::uint64_t cap_;
  io::EventLoop* loop_ = nullptr;
  Clock::time_point start_{};
  std::optional<Clock::time_point> first_sent_;
  std::optional<Clock::time_point> last_answer_;
  std::uint64_t sent_ = 0;
  std::uint64_t answers_ = 0;
  std::string failure_;
  std::unique_ptr<io::EventLoop::Timer> pump_;
};

// --- handshake floods from raw Initials -------------------------------------------------------

// Captured client Initials, each sent once: from the attacker's address (half_open) or from
// random 10.213.x.y sources (spoofed_initials). Nothing follows them: every handshake stays
// half open. Paced over the first half of the attack (over all of it when scaled down, as in
// mixed) so that they reach the relay instead of overflowing its socket buffer, then held
// until the deadline while the relay retransmits its answers.
class InitialFlood final : public Attack {
 public:
  InitialFlood(const AttackEnv& env, double scale, bool spoof, bool spread)
      : env_(env),
        spoof_(spoof),
        send_window_(spread ? env.duration : env.duration / 2),
        total_(std::min(scaled(10000, scale), env.initials != nullptr ? env.initials->size() : 0)) {
  }

  Status start(io::EventLoop& loop) override {
    if (env_.initials == nullptr || total_ == 0) {
      return fail(Errc::kInvalidArgument, "no captured Initials");
    }
    if (spoof_ && !env_.raw_sockets) {
      return fail(Errc::kUnsupportedPlatform,
                  "spoofed sources need raw sockets in the private namespace (run as root)");
    }
    auto sender = InitialSender::open(env_.raw_sockets, env_.attacker_host, env_.attacker_host,
                                      env_.relay.port);
    if (!sender) return tl::unexpected(sender.error());
    sender_.emplace(std::move(*sender));
    if (env_.raw_sockets) {
      auto observer = ReplyObserver::start(env_.relay.port);
      if (observer) observer_ = std::move(*observer);
    }
    loop_ = &loop;
    start_ = Clock::now();
    pump_ = std::make_unique<io::EventLoop::Timer>(loop, [this] {
      pump();
      pump_->arm(loop_->now() + kPumpInterval);
    });
    pump_->arm(loop.now());
    return ok();
  }
  bool at_peak() const override { return all_sent_at_.has_value(); }
  // Ends at the runner's deadline: the relay's answers keep coming until then.
  bool done() const override { return false; }
  void wind_down() override {
    pump_.reset();
    if (observer_) observer_->stop();
  }
  void tally(AttackTally& out) const override {
    out.add("initials_sent", static_cast<double>(sent_));
    out.add("initial_bytes_sent", static_cast<double>(bytes_));
    out.add("send_retries", static_cast<double>(retries_));
    if (all_sent_at_) {
      out.add("seconds_to_send_all", std::chrono::duration<double>(*all_sent_at_ - start_).count());
    }
    out.add("sources", spoof_ ? 0xfeff : 1);
    out.notes.push_back(sender_ && sender_->raw() ? "sent from a raw socket (IP_HDRINCL)"
                                                  : "sent from UDP sockets");
    if (observer_) {
      out.add("relay_datagrams_back", static_cast<double>(observer_->datagrams()));
      out.add("relay_bytes_back", static_cast<double>(observer_->bytes()));
      for (std::size_t t = 0; t < kQuicPacketTypeCount; ++t) {
        const auto type = static_cast<QuicPacketType>(t);
        if (const auto n = observer_->count(type); n != 0) {
          out.add(fmt::format("relay_back_{}", to_string(type)), static_cast<double>(n));
        }
      }
      if (bytes_ != 0) {
        out.add("reflection_bytes_per_attack_byte",
                static_cast<double>(observer_->bytes()) / static_cast<double>(bytes_));
      }
      out.notes.push_back("answers counted until the attack's end");
    }
  }

 private:
  void pump() {
    if (all_sent_at_) return;
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const double due =
        static_cast<double>(total_) * seconds / std::chrono::duration<double>(send_window_).count();
    const std::size_t budget =
        due > static_cast<double>(sent_) ? static_cast<std::size_t>(due) - sent_ : 0;
    for (std::size_t i = 0; i < budget && sent_ < total_; ++i) {
      const auto initial = env_.initials->at(sent_);
      if (!sender_->send(initial, spoof_)) {
        ++retries_;
        return;  // the socket buffer is full: next millisecond
      }
      bytes_ += initial.size();
      ++sent_;
    }
    if (sent_ >= total_) all_sent_at_ = Clock::now();
  }

  const AttackEnv& env_;
  bool spoof_;
  std::chrono::milliseconds send_window_;
  std::size_t total_;
  std::optional<InitialSender> sender_;
  std::unique_ptr<ReplyObserver> observer_;
  io::EventLoop* loop_ = nullptr;
  Clock::time_point start_{};
  std::optional<Clock::time_point> all_sent_at_;
  std::size_t sent_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t retries_ = 0;
  std::unique_ptr<io::EventLoop::Timer> pump_;
};

// --- mixed ------------------------------------------------------------------------------------

// Several attacks at once on one loop, each scaled down so that together they stay far from the
// relay's connection limit (10000): the relay stays reachable and the run stays bounded.
class Mixed final : public Attack {
 public:
  explicit Mixed(std::vector<std::pair<std::string, std::unique_ptr<Attack>>> parts)
      : parts_(std::move(parts)) {}

  Status start(io::EventLoop& loop) override {
    for (auto& [name, part] : parts_) {
      if (auto st = part->start(loop); !st) {
        failed_.push_back(name + ": " + st.error().describe());
        part.reset();
      }
    }
    return ok();
  }
  bool done() const override {
    return std::all_of(parts_.begin(), parts_.end(),
                       [](const auto& p) { return !p.second || p.second->done(); });
  }
  void wind_down() override {
    for (auto& [name, part] : parts_) {
      if (part) part->wind_down();
    }
  }
  void tally(AttackTally& out) const override {
    for (const auto& [name, part] : parts_) {
      if (!part) continue;
      AttackTally t;
      part->tally(t);
      for (auto& [k, v] : t.counts) out.add(name + "." + k, v);
      for (auto& n : t.notes) out.notes.push_back(name + ": " + n);
    }
    for (const auto& f : failed_) out.notes.push_back("not started: " + f);
  }

 private:
  std::vector<std::pair<std::string, std::unique_ptr<Attack>>> parts_;
  std::vector<std::string> failed_;
};

}  // namespace

const std::vector<std::string>& attack_names() {
  static const std::vector<std::string> names = {"connection_flood",
                                                 "half_open",
                                                 "no_hello",
                                                 "slow_hello",
                                                 "big_control_frames",
                                                 "never_reads",
                                                 "revoke_flood",
                                                 "bad_datagrams",
                                                 "broadcast_storm",
                                                 "broadcast_storm_room",
                                                 "room_spam",
                                                 "spoofed_initials",
                                                 "mixed"};
  return names;
}

Result<std::unique_ptr<Attack>> make_attack(std::string_view name, const AttackEnv& env,
                                            double scale) {
  std::unique_ptr<Attack> attack;
  if (name == "connection_flood") {
    attack = std::make_unique<ConnectionFlood>(env, scale);
  } else if (name == "half_open") {
    attack = std::make_unique<InitialFlood>(env, scale, /*spoof=*/false, /*spread=*/scale < 1);
  } else if (name == "no_hello") {
    attack = std::make_unique<NoHello>(env, scale);
  } else if (name == "slow_hello") {
    attack = std::make_unique<SlowHello>(env, scale);
  } else if (name == "big_control_frames") {
    attack = std::make_unique<BigControlFrames>(env, scale);
  } else if (name == "never_reads") {
    attack = std::make_unique<NeverReads>(env, scale);
  } else if (name == "revoke_flood") {
    attack = std::make_unique<RevokeFlood>(env, scale);
  } else if (name == "bad_datagrams") {
    attack = std::make_unique<BadDatagrams>(env, scale);
  } else if (name == "broadcast_storm") {
    attack = std::make_unique<BroadcastStorm>(env, scale, /*in_legit_room=*/false);
  } else if (name == "broadcast_storm_room") {
    if (env.legit_invite.empty()) {
      return fail(Errc::kInvalidArgument, "broadcast_storm_room needs an invite to the room");
    }
    attack = std::make_unique<BroadcastStorm>(env, scale, /*in_legit_room=*/true);
  } else if (name == "room_spam") {
    attack = std::make_unique<RoomSpam>(env, scale);
  } else if (name == "spoofed_initials") {
    attack = std::make_unique<InitialFlood>(env, scale, /*spoof=*/true, /*spread=*/scale < 1);
  } else if (name == "mixed") {
    // Shares chosen so the parts together hold a few thousand relay connections at most.
    const std::vector<std::pair<std::string, double>> mix = {
        {"connection_flood", 0.2}, {"half_open", 0.2},           {"no_hello", 0.1},
        {"slow_hello", 0.1},       {"big_control_frames", 0.25}, {"never_reads", 0.2},
        {"revoke_flood", 0.05},    {"bad_datagrams", 0.2},       {"broadcast_storm", 0.2},
        {"room_spam", 0.05}};
    std::vector<std::pair<std::string, std::unique_ptr<Attack>>> parts;
    for (const auto& [part, share] : mix) {
      auto made = make_attack(part, env, scale * share);
      if (!made) return tl::unexpected(made.error());
      parts.emplace_back(part, std::move(*made));
    }
    attack = std::make_unique<Mixed>(std::move(parts));
  } else {
    return fail(Errc::kInvalidArgument, fmt::format("unknown scenario '{}'", name));
  }
  return attack;
}

// --- runner -----------------------------------------------------------------------------------

AttackRunner::AttackRunner(std::unique_ptr<Attack> attack, std::chrono::milliseconds duration)
    : attack_(std::move(attack)) {
  thread_ = std::thread([this, duration] {
    const auto start = Clock::now();
    auto loop = io::EventLoop::create();
    if (!loop) {
      tally_.notes.push_back("error: event loop: " + loop.error().describe());
      finished_.store(true);
      return;
    }
    {
      // Wakes the loop regularly so that peak, done and stop are noticed promptly.
      io::EventLoop::Timer ticker(**loop, [&] { ticker.arm((*loop)->now() + 10ms); });
      ticker.arm((*loop)->now());
      if (auto st = attack_->start(**loop); !st) {
        tally_.notes.push_back("error: " + st.error().describe());
      } else {
        (void)(*loop)->run_until(
            [&] {
              if (!peak_.load() && attack_->at_peak()) peak_.store(true);
              return stop_.load() || attack_->done();
            },
            // The deadline counts from the thread's start: starting may take a while (hundreds
            // of TLS client contexts, slower still under ASan).
            std::max<Clock::duration>(Clock::duration::zero(), start + duration - Clock::now()));
        attack_->wind_down();
        (void)(*loop)->run_until([] { return false; }, 300ms);
      }
      attack_->tally(tally_);
      attack_.reset();  // its connections go before the loop they live on
    }
    seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
    finished_.store(true);
  });
}

AttackRunner::~AttackRunner() {
  stop();
  if (thread_.joinable()) thread_.join();
}

AttackTally AttackRunner::join() {
  if (thread_.joinable()) thread_.join();
  return tally_;
}

}  // namespace lanparty::bench::attack
