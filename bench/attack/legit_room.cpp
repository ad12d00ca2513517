// SPDX-License-Identifier: MIT
// The legitimate room's thread: join, ping, echo, fresh-join probes.
#include "legit_room.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <future>
#include <map>

#include <fmt/format.h>

#include "bench_frame.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/messages.hpp"
#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::bench::attack {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t kPingFrameBytes = 64;
constexpr auto kTick = 2ms;
constexpr auto kBudgetWait = 3s;
constexpr int kRealtimePriority = 20;
constexpr std::uint8_t kLegitGroup = 0xa0;
constexpr std::uint8_t kFreshGroup = 0xa1;

[[nodiscard]] std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

[[nodiscard]] double ms_since(Clock::time_point start) noexcept {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

std::string_view to_string(Phase phase) noexcept {
  switch (phase) {
    case Phase::kSetup:
      return "setup";
    case Phase::kIdle:
      return "idle";
    case Phase::kAttack:
      return "attack";
    case Phase::kSettle:
      return "settle";
  }
  return "unknown";
}

PingSummary summarize_pings(std::vector<std::uint32_t> rtt_us, std::uint64_t sent,
                            std::uint64_t lost, std::uint64_t late) {
  PingSummary s;
  s.sent = sent;
  s.answered = rtt_us.size();
  s.lost = lost;
  s.late = late;
  if (rtt_us.empty()) return s;
  std::sort(rtt_us.begin(), rtt_us.end());
  const auto at = [&](double q) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(rtt_us.size())));
    return static_cast<double>(rtt_us[std::clamp<std::size_t>(rank, 1, rtt_us.size()) - 1]) / 1e3;
  };
  s.p50_ms = at(0.50);
  s.p99_ms = at(0.99);
  s.max_ms = static_cast<double>(rtt_us.back()) / 1e3;
  return s;
}

// --- the thread's side -----------------------------------------------------------------------

class LegitRoom::Worker {
 public:
  Worker(LegitRoom& owner, const LegitConfig& config, const quic::RoomKey& key, io::EventLoop& loop)
      : owner_(owner), config_(config), key_(key), loop_(loop) {}

  [[nodiscard]] Status join(std::chrono::milliseconds timeout);
  void run();

 private:
  // The room's gateway: echoes every ping back to the client that sent it.
  class Gateway final : public Peer {
   public:
    explicit Gateway(proto::MacAddress mac) : mac_(mac) {}
    const proto::MacAddress& mac() const noexcept { return mac_; }

   protected:
    void frame(std::uint16_t /*from*/, std::span<const std::uint8_t> frame) override {
      if (!read_bench_stamp(frame)) return;
      echo_.assign(frame.begin(), frame.end());
      std::copy(frame.begin() + 6, frame.begin() + 12, echo_.begin());  // to the pinger
      std::copy(mac_.bytes().begin(), mac_.bytes().end(), echo_.begin() + 6);
      (void)send_frame(echo_);
    }

   private:
    proto::MacAddress mac_;
    std::vector<std::uint8_t> echo_;
  };

  // A player: pings the gateway; the echo comes back with the stamp it sent.
  class Pinger final : public Peer {
   public:
    Pinger(Worker& worker, std::uint32_t index, proto::MacAddress mac)
        : worker_(worker), index_(index), mac_(mac) {}
    const proto::MacAddress& mac() const noexcept { return mac_; }
    std::uint32_t index() const noexcept { return index_; }

   protected:
    void frame(std::uint16_t /*from*/, std::span<const std::uint8_t> frame) override {
      const auto stamp = read_bench_stamp(frame);
      if (stamp && stamp->flow == index_) worker_.on_echo(index_, stamp->seq, stamp->send_ns);
    }

   private:
    Worker& worker_;
    std::uint32_t index_;
    proto::MacAddress mac_;
  };

  // A fresh peer of a probe: sends its hello as soon as the handshake is done.
  class ProbePeer final : public Peer {
   public:
    ProbePeer(std::string who, std::function<Status(ProbePeer&)> hello)
        : who_(std::move(who)), hello_(std::move(hello)) {}
    const std::string& who() const noexcept { return who_; }
    std::optional<double> done_ms;
    std::string hello_error;

   protected:
    void handshake_done() override {
      if (auto st = hello_(*this); !st) hello_error = st.error().describe();
    }

   private:
    std::string who_;
    std::function<Status(ProbePeer&)> hello_;
  };

  struct Pending {
    std::uint64_t send_ns = 0;
    int phase = 0;
    bool expired = false;
  };

  struct Probe {
    Clock::time_point start;
    Clock::time_point deadline;
    bool new_room = false;
    std::string fresh_room;
    std::optional<quic::RoomKey> fresh_key;
    bool room_client_started = false;
    std::vector<std::unique_ptr<ProbePeer>> peers;
  };

  void on_echo(std::uint32_t index, std::uint64_t seq, std::uint64_t send_ns);
  void tick();
  void send_ping(std::size_t index);
  void expire_pings(bool final);
  void start_probe(bool new_room, std::chrono::milliseconds timeout);
  void step_probe();
  [[nodiscard]] Status add_probe_peer(std::string who, const std::string& host,
                                      std::function<Status(ProbePeer&)> hello);
  void update_intact();

  LegitRoom& owner_;
  const LegitConfig& config_;
  const quic::RoomKey& key_;
  io::EventLoop& loop_;
  std::unique_ptr<Gateway> gateway_;
  std::array<std::unique_ptr<Pinger>, 2> clients_;
  std::array<std::vector<std::uint8_t>, 2> ping_datagram_;
  std::array<std::uint64_t, 2> next_seq_{};
  std::array<std::map<std::uint64_t, Pending>, 2> pending_;
  Clock::time_point next_ping_{};
  std::size_t next_pinger_ = 0;
  std::optional<Probe> probe_;
  std::vector<std::unique_ptr<ProbePeer>> graveyard_;
  std::uint32_t probes_started_ = 0;
  bool stopping_ = false;
  Clock::time_point stop_deadline_{};
  std::unique_ptr<io::EventLoop::Timer> timer_;
};

Status LegitRoom::Worker::join(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  gateway_ = std::make_unique<Gateway>(attack_mac(kLegitGroup, 0));
  PeerSettings settings;  // a real client's defaults
  if (auto st = gateway_->connect(loop_, config_.relay, config_.gateway_host, settings); !st) {
    return st;
  }
  for (std::uint32_t i = 0; i < 2; ++i) {
    clients_[i] = std::make_unique<Pinger>(*this, i, attack_mac(kLegitGroup, i + 1));
    if (auto st = clients_[i]->connect(loop_, config_.relay, config_.client_hosts[i], settings);
        !st) {
      return st;
    }
  }
  const auto all = [&](const std::function<bool(Peer&)>& pred) {
    return pred(*gateway_) && pred(*clients_[0]) && pred(*clients_[1]);
  };
  const auto any_ended = [&] { return !all([](Peer& p) { return !p.ended(); }); };
  // Handshakes, then path MTU discovery up to the default room MTU, as client-core waits.
  (void)loop_.run_until(
      [&] { return any_ended() || all([](Peer& p) { return p.handshake_completed(); }); },
      deadline - Clock::now());
  (void)loop_.run_until(
      [&] {
        return any_ended() || all([](Peer& p) { return p.datagram_budget() >= kWantedBudget; });
      },
      std::min<Clock::duration>(kBudgetWait, deadline - Clock::now()));
  if (any_ended() || !all([](Peer& p) { return p.handshake_completed(); })) {
    return fail(Errc::kTimedOut,
                fmt::format("legit room: handshake failed: gateway {}, client "
                            "1 {}, client 2 {}",
                            gateway_->outcome(), clients_[0]->outcome(), clients_[1]->outcome()));
  }
  const auto declared = [](Peer& p) {
    return std::clamp<std::size_t>(p.datagram_budget(), 0, 65535);
  };
  auto hello = gateway_->claim_hello(key_, config_.room, gateway_->mac(), declared(*gateway_));
  if (!hello) return tl::unexpected(hello.error());
  if (auto st = gateway_->send_hello(*hello); !st) return st;
  (void)loop_.run_until([&] { return gateway_->state() != Peer::State::kHelloSent; },
                        deadline - Clock::now());
  if (gateway_->state() != Peer::State::kJoined) {
    return fail(Errc::kRejected, "legit gateway: " + gateway_->outcome());
  }
  for (std::uint32_t i = 0; i < 2; ++i) {
    auto invite = make_invite(key_, config_.room, fmt::format("player{}", i + 1));
    if (!invite) return tl::unexpected(invite.error());
    if (auto st = clients_[i]->send_hello(
            Peer::invited_hello(config_.room, clients_[i]->mac(), *invite, declared(*clients_[i])));
        !st) {
      return st;
    }
  }
  (void)loop_.run_until(
      [&] { return all([](Peer& p) { return p.state() != Peer::State::kHelloSent; }); },
      deadline - Clock::now());
  for (std::uint32_t i = 0; i < 2; ++i) {
    if (clients_[i]->state() != Peer::State::kJoined) {
      return fail(Errc::kRejected,
                  fmt::format("legit client {}: {}", i + 1, clients_[i]->outcome()));
    }
    ping_datagram_[i].resize(proto::kOverlayHeaderSize + kPingFrameBytes);
    (void)build_bench_datagram(ping_datagram_[i], clients_[i]->peer_id(), gateway_->mac(),
                               clients_[i]->mac(), i);
  }
  owner_.intact_.store(true);
  return ok();
}

void LegitRoom::Worker::run() {
  timer_ = std::make_unique<io::EventLoop::Timer>(loop_, [this] { tick(); });
  next_ping_ = Clock::now();
  timer_->arm(Clock::now());
  (void)loop_.run();
  timer_.reset();
  probe_.reset();
  graveyard_.clear();
  clients_ = {};
  gateway_.reset();
}

void LegitRoom::Worker::tick() {
  const auto now = Clock::now();
  if (owner_.stop_.load() && !stopping_) {
    stopping_ = true;
    expire_pings(/*final=*/true);
    update_intact();
    gateway_->close(ctrl::app_error::kNoError, "done");
    for (auto& c : clients_) c->close(ctrl::app_error::kNoError, "done");
    stop_deadline_ = now + 200ms;
  }
  if (stopping_) {
    if (now >= stop_deadline_) {
      loop_.stop();
      return;
    }
    timer_->arm(now + kTick);
    return;
  }
  // The two clients take turns, so the gateway sees one ping every interval / 2.
  while (now >= next_ping_) {
    send_ping(next_pinger_);
    next_pinger_ = 1 - next_pinger_;
    next_ping_ += config_.ping_interval / 2;
  }
  expire_pings(false);
  update_intact();
  graveyard_.clear();
  {
    std::unique_lock lock(owner_.mutex_);
    if (owner_.probe_request_ && !probe_) {
      const ProbeRequest request = *owner_.probe_request_;
      owner_.probe_request_.reset();
      lock.unlock();
      start_probe(request.new_room, request.timeout);
    }
  }
  if (probe_) step_probe();
  timer_->arm(std::min(next_ping_, now + kTick));
}

void LegitRoom::Worker::send_ping(std::size_t index) {
  Pinger& client = *clients_[index];
  if (client.state() != Peer::State::kJoined) return;
  const std::uint64_t seq = next_seq_[index]++;
  const std::uint64_t sent = now_ns();
  stamp_bench_datagram(ping_datagram_[index], seq, sent);
  const int phase = owner_.phase_.load();
  ++owner_.sent_[static_cast<std::size_t>(phase)];
  pending_[index].emplace(seq, Pending{.send_ns = sent, .phase = phase});
  // A refused datagram is a ping that never left: it stays pending and times out as lost.
  (void)client.connection().send_datagram(ping_datagram_[index]);
}

void LegitRoom::Worker::on_echo(std::uint32_t index, std::uint64_t seq, std::uint64_t send_ns) {
  auto& pending = pending_[index];
  const auto it = pending.find(seq);
  if (it == pending.end() || it->second.send_ns != send_ns) return;  // not ours, or a duplicate
  const auto phase = static_cast<std::size_t>(it->second.phase);
  if (it->second.expired) {
    ++owner_.late_[phase];
  } else {
    const std::uint64_t rtt = now_ns() - send_ns;
    owner_.rtt_us_[phase].push_back(
        static_cast<std::uint32_t>(std::min<std::uint64_t>(rtt / 1000, UINT32_MAX)));
  }
  pending.erase(it);
}

void LegitRoom::Worker::expire_pings(bool final) {
  const std::uint64_t now = now_ns();
  const auto timeout = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(config_.ping_timeout).count());
  for (auto& pending : pending_) {
    for (auto it = pending.begin(); it != pending.end();) {
      Pending& p = it->second;
      const std::uint64_t age = now - p.send_ns;
      const auto phase = static_cast<std::size_t>(p.phase);
      if (!p.expired && age >= timeout) {
        p.expired = true;
        ++owner_.lost_[phase];
      }
      if (final && !p.expired) {
        // Sent too recently to judge: it never counted.
        --owner_.sent_[phase];
        it = pending.erase(it);
      } else if (p.expired && age >= 10 * timeout) {
        it = pending.erase(it);  // no late answer is coming any more
      } else {
        ++it;
      }
    }
  }
}

void LegitRoom::Worker::update_intact() {
  const bool intact = gateway_->state() == Peer::State::kJoined &&
                      clients_[0]->state() == Peer::State::kJoined &&
                      clients_[1]->state() == Peer::State::kJoined;
  if (!intact && owner_.intact_.load()) {
    std::lock_guard lock(owner_.mutex_);
    owner_.trouble_ = fmt::format("gateway: {}; client 1: {}; client 2: {}", gateway_->outcome(),
                                  clients_[0]->outcome(), clients_[1]->outcome());
  }
  if (!stopping_ || !intact) owner_.intact_.store(intact);
}

Status LegitRoom::Worker::add_probe_peer(std::string who, const std::string& host,
                                         std::function<Status(ProbePeer&)> hello) {
  auto peer = std::make_unique<ProbePeer>(std::move(who), std::move(hello));
  PeerSettings settings;
  settings.handshake_timeout = 5s;
  settings.keepalive = 0ms;
  if (auto st = peer->connect(loop_, config_.relay, host, settings); !st) return st;
  probe_->peers.push_back(std::move(peer));
  return ok();
}

void LegitRoom::Worker::start_probe(bool new_room, std::chrono::milliseconds timeout) {
  probe_.emplace();
  probe_->start = Clock::now();
  probe_->deadline = probe_->start + timeout;
  probe_->new_room = new_room;
  const std::uint32_t n = probes_started_++;
  auto invite = make_invite(key_, config_.room, fmt::format("fresh{}", n));
  const proto::MacAddress client_mac = attack_mac(kFreshGroup, 2 * n + 1);
  const std::string room = config_.room;
  std::vector<JoinProbe> failures;
  if (!invite) {
    failures.push_back(
        {"new client, legit room", false, "invite: " + invite.error().describe(), 0});
  } else if (auto st = add_probe_peer("new client, legit room", config_.fresh_client_host,
                                      [room, client_mac, token = *invite](ProbePeer& p) {
                                        return p.send_hello(Peer::invited_hello(
                                            room, client_mac, token, kWantedBudget));
                                      });
             !st) {
    failures.push_back({"new client, legit room", false, st.error().describe(), 0});
  }
  if (new_room) {
    auto key = quic::RoomKey::generate();
    probe_->fresh_room = fmt::format("FRESH{}", n);
    if (!key) {
      failures.push_back({"new gateway, new room", false, key.error().describe(), 0});
    } else {
      probe_->fresh_key.emplace(*key);
      const proto::MacAddress gateway_mac = attack_mac(kFreshGroup, 2 * n);
      const quic::RoomKey* fresh_key = &*probe_->fresh_key;
      const std::string fresh_room = probe_->fresh_room;
      if (auto st = add_probe_peer("new gateway, new room", config_.fresh_gateway_host,
                                   [fresh_key, fresh_room, gateway_mac](ProbePeer& p) -> Status {
                                     auto hello = p.claim_hello(*fresh_key, fresh_room, gateway_mac,
                                                                kWantedBudget);
                                     if (!hello) return tl::unexpected(hello.error());
                                     return p.send_hello(*hello);
                                   });
          !st) {
        failures.push_back({"new gateway, new room", false, st.error().describe(), 0});
      }
    }
  }
  if (!failures.empty()) {
    // Local failures end the probe at once; the rest is still reported.
    for (auto& peer : probe_->peers) peer->close(ctrl::app_error::kNoError, "probe done");
    for (auto& peer : probe_->peers) graveyard_.push_back(std::move(peer));
    probe_.reset();
    std::lock_guard lock(owner_.mutex_);
    owner_.probe_result_ = std::move(failures);
    owner_.cv_.notify_all();
  }
}

void LegitRoom::Worker::step_probe() {
  Probe& probe = *probe_;
  const bool timed_out = Clock::now() >= probe.deadline;
  bool all_done = true;
  for (auto& peer : probe.peers) {
    const bool resolved = peer->state() == Peer::State::kJoined ||
                          peer->state() == Peer::State::kRejected || peer->ended() ||
                          !peer->hello_error.empty();
    if (resolved && !peer->done_ms) peer->done_ms = ms_since(probe.start);
    if (!peer->done_ms) all_done = false;
  }
  // The new room's own player joins once its gateway is in.
  const auto fresh_gateway =
      std::find_if(probe.peers.begin(), probe.peers.end(),
                   [](const auto& p) { return p->who() == "new gateway, new room"; });
  if (probe.new_room && !probe.room_client_started && probe.fresh_key &&
      fresh_gateway != probe.peers.end() && (*fresh_gateway)->state() == Peer::State::kJoined) {
    probe.room_client_started = true;
    all_done = false;
    auto invite = make_invite(*probe.fresh_key, probe.fresh_room, "fresh-player");
    const proto::MacAddress mac = attack_mac(kFreshGroup, 2 * probes_started_ + 1000);
    if (invite) {
      const std::string room = probe.fresh_room;
      (void)add_probe_peer(
          "new client, new room", config_.fresh_client_host,
          [room, mac, token = *invite](ProbePeer& p) {
            return p.send_hello(Peer::invited_hello(room, mac, token, kWantedBudget));
          });
    }
  }
  if (!all_done && !timed_out) return;
  std::vector<JoinProbe> results;
  for (auto& peer : probe.peers) {
    JoinProbe r;
    r.who = peer->who();
    r.ok = peer->state() == Peer::State::kJoined;
    r.outcome =
        !peer->hello_error.empty() ? "hello not sent: " + peer->hello_error : peer->outcome();
    if (!peer->done_ms) r.outcome = "timed out: " + r.outcome;
    r.ms = peer->done_ms.value_or(ms_since(probe.start));
    results.push_back(std::move(r));
    peer->close(ctrl::app_error::kNoError, "probe done");
    graveyard_.push_back(std::move(peer));
  }
  probe_.reset();
  std::lock_guard lock(owner_.mutex_);
  owner_.probe_result_ = std::move(results);
  owner_.cv_.notify_all();
}

// --- the owner's side ------------------------------------------------------------------------

Result<std::unique_ptr<LegitRoom>> LegitRoom::start(LegitConfig config,
                                                    std::chrono::milliseconds timeout) {
  std::unique_ptr<LegitRoom> room(new LegitRoom());
  auto key = quic::RoomKey::generate();
  if (!key) return tl::unexpected(key.error());
  room->key_.emplace(*key);
  room->room_ = config.room;
  std::promise<Status> joined;
  auto joined_future = joined.get_future();
  LegitRoom* raw = room.get();
  room->thread_ = std::thread([raw, config = std::move(config), key = std::move(*key), timeout,
                               joined = std::move(joined)]() mutable {
    if (config.realtime) {
      const sched_param param{.sched_priority = kRealtimePriority};
      raw->realtime_applied_.store(::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &param) ==
                                   0);
    }
    auto loop = io::EventLoop::create();
    if (!loop) {
      joined.set_value(tl::unexpected(loop.error()));
      return;
    }
    Worker worker(*raw, config, key, **loop);
    Status status = worker.join(timeout);
    const bool good = status.has_value();
    joined.set_value(std::move(status));
    if (good) worker.run();
  });
  if (joined_future.wait_for(timeout + 5s) != std::future_status::ready) {
    room->stop();
    return fail(Errc::kTimedOut, "legit room: no answer from its thread");
  }
  Status status = joined_future.get();
  if (!status) {
    room->stop();
    return tl::unexpected(status.error());
  }
  return room;
}

LegitRoom::~LegitRoom() { stop(); }

void LegitRoom::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::vector<JoinProbe> LegitRoom::probe(bool new_room, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  probe_result_.reset();
  probe_request_ = ProbeRequest{.new_room = new_room, .timeout = timeout};
  const bool done = cv_.wait_for(lock, timeout + 2s, [&] { return probe_result_.has_value(); });
  if (!done) return {JoinProbe{"probe", false, "the legit room's thread did not answer", 0}};
  return std::move(*probe_result_);
}

PingSummary LegitRoom::pings(Phase phase) const {
  std::lock_guard lock(mutex_);
  const auto i = static_cast<std::size_t>(phase);
  return summarize_pings(rtt_us_[i], sent_[i], lost_[i], late_[i]);
}

Result<std::string> LegitRoom::invite(const std::string& name) const {
  return make_invite(*key_, room_, name);
}

std::string LegitRoom::trouble() const {
  std::lock_guard lock(mutex_);
  return trouble_;
}

}  // namespace lanparty::bench::attack
