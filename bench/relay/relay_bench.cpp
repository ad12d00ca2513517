// SPDX-License-Identifier: MIT
// lanparty_bench_relay: drives the real lanparty-relay (a child pinned to its own CPU) with
// gateways and clients in one process and one event loop; prints forwarded frames/s, loss,
// one-way latency and relay CPU per forwarded frame. See README.md for the method.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench_frame.hpp"
#include "child_process.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/messages.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/proto/mac_address.hpp"
#include "lanparty/proto/mtu.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "lanparty/quic/client.hpp"
#include "latency_histogram.hpp"

namespace lanparty::bench {
namespace {

namespace lio = lanparty::io;
namespace lq = lanparty::quic;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

#ifndef LANPARTY_RELAY_BINARY
#define LANPARTY_RELAY_BINARY ""
#endif
#ifndef LANPARTY_QUIC_BENCH_BINARY
#define LANPARTY_QUIC_BENCH_BINARY ""
#endif

// hello waits until path MTU discovery lets the budget carry the default room MTU (1380 +
// 22), as client-core does; otherwise the first peer would fix a smaller room MTU.
constexpr std::size_t kWantedBudget = proto::max_datagram_for_mtu(proto::kDefaultMaxMtu);
constexpr auto kPumpInterval = 1ms;
// A flow whose whole window got lost would wait forever: after this long without progress
// its outstanding frames are written off (counted as a stall; they show up as loss).
constexpr auto kStallTimeout = 1000ms;
constexpr auto kDrainTime = 300ms;
constexpr auto kMaxWarmup = 30s;

[[nodiscard]] std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

// The relay's own counters, scraped from its --metrics-listen endpoint.
struct RelayMetrics {
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
  std::map<std::string, std::uint64_t> drops;  // reason -> count
};

[[nodiscard]] RelayMetrics parse_metrics(const std::string& text) {
  RelayMetrics m;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = std::min(text.find('\n', at), text.size());
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    const auto space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, space);
    const std::uint64_t value =
        std::strtoull(std::string(line.substr(space + 1)).c_str(), nullptr, 10);
    constexpr std::string_view kDrop = "lanparty_relay_drops_total{reason=\"";
    if (name == "lanparty_relay_frames_in_total") {
      m.frames_in = value;
    } else if (name == "lanparty_relay_frames_out_total") {
      m.frames_out = value;
    } else if (name.substr(0, kDrop.size()) == kDrop && name.size() > kDrop.size() + 2) {
      m.drops[std::string(name.substr(kDrop.size(), name.size() - kDrop.size() - 2))] = value;
    }
  }
  return m;
}

struct Options {
  std::string relay_binary = LANPARTY_RELAY_BINARY;
  std::string quic_bench_binary = LANPARTY_QUIC_BENCH_BINARY;
  double seconds = 3.0;
  double warmup = 1.0;
  std::uint64_t warmup_frames_per_flow = 300;  // > the relay's 256 datagram queue slots
  int runs = 3;
  std::vector<std::string> scenarios;
  std::size_t window = 0;  // 0: each scenario's default
  std::uint64_t max_frames = 50'000'000;
  int generator_cpu = 0;
  int relay_cpu = 1;
  bool pin = true;
  std::string perf_dir;
  bool verbose = true;
};

enum class Pattern : std::uint8_t {
  kUnicast,    // every client to its gateway, the gateway to every client
  kBroadcast,  // the room's first client floods ff:ff:ff:ff:ff:ff
};

struct ScenarioSpec {
  std::string name;
  std::size_t rooms = 1;
  std::size_t clients_per_room = 8;
  Pattern pattern = Pattern::kUnicast;
  std::size_t frame_bytes = 1200;  // Ethernet frame, header included
  std::size_t window = 32;         // frames in flight per flow (sent, not yet received)
  double rate_fps = 0;             // total offered frames/s, paced; 0 = window only
};

std::vector<ScenarioSpec> all_scenarios() {
  return {
      {.name = "unicast-100", .frame_bytes = 100, .window = 32},
      {.name = "unicast-1200", .frame_bytes = 1200, .window = 32},
      {.name = "broadcast-100", .pattern = Pattern::kBroadcast, .frame_bytes = 100, .window = 64},
      {.name = "broadcast-1200", .pattern = Pattern::kBroadcast, .frame_bytes = 1200, .window = 64},
      {.name = "rooms100-1200",
       .rooms = 100,
       .clients_per_room = 2,
       .frame_bytes = 1200,
       .window = 4},
      // Latency without queueing: a light paced load through the same room.
      {.name = "light-1200", .frame_bytes = 1200, .window = 32, .rate_fps = 8000},
  };
}

class Harness;

// One gateway or client: a QUIC connection to the relay and its control stream.
class BenchPeer final : public lq::ConnectionHandler {
 public:
  enum class State : std::uint8_t { kConnecting, kHelloSent, kJoined, kFailed };

  BenchPeer(Harness& harness, ctrl::Role role, std::string room, proto::MacAddress mac)
      : harness_(harness), role_(role), room_(std::move(room)), mac_(mac) {}

  [[nodiscard]] Status connect(lio::EventLoop& loop, const lq::ClientConfig& config) {
    auto client = lq::Client::connect(loop, config, *this, obs::Logger());
    if (!client) return tl::unexpected(client.error());
    client_ = std::move(*client);
    return ok();
  }

  [[nodiscard]] bool ready_for_hello(std::size_t wanted_budget) const noexcept {
    const auto& c = client_->connection();
    return c.handshake_completed() && c.datagram_budget() >= wanted_budget;
  }

  [[nodiscard]] Status send_hello() {
    auto& c = client_->connection();
    auto stream = c.open_bidi_stream();
    if (!stream) return tl::unexpected(stream.error());
    stream_ = *stream;
    std::string out;
    const ctrl::Hello hello{.protocol = ctrl::kProtocolVersion,
                            .role = std::string(ctrl::to_string(role_)),
                            .room = room_,
                            .mac = mac_.to_string(),
                            .max_datagram = static_cast<std::int64_t>(
                                std::min<std::size_t>(c.datagram_budget(), 65535)),
                            .software = std::string("lanparty-bench-relay/0.1")};
    if (auto st = ctrl::append_frame(hello, out); !st) return st;
    state_ = State::kHelloSent;
    return c.send_stream(stream_,
                         std::span(reinterpret_cast<const std::uint8_t*>(out.data()), out.size()));
  }

  void on_stream_data(lq::Connection&, std::int64_t, std::span<const std::uint8_t> data,
                      bool) override {
    decoder_.feed(data);
    for (;;) {
      auto next = decoder_.next();
      if (!next) {
        fail_with(fmt::format("control stream: {}", ctrl::to_string(next.error())));
        return;
      }
      if (!next->has_value()) return;
      if (const auto* w = std::get_if<ctrl::Welcome>(&**next)) {
        peer_id_ = w->peer_id;
        mtu_ = w->mtu;
        state_ = State::kJoined;
      } else if (const auto* r = std::get_if<ctrl::Reject>(&**next)) {
        fail_with(fmt::format("reject {}: {}", r->code, r->message));
      }
    }
  }

  void on_datagram(lq::Connection&, std::span<const std::uint8_t> payload) override;

  void on_closed(lq::Connection&, const lq::CloseInfo& info) override {
    closed_ = true;
    if (state_ != State::kFailed) {
      failure_ =
          fmt::format("closed ({}, code {}): {}", lq::to_string(info.kind), info.code, info.reason);
    }
  }

  [[nodiscard]] lq::Connection& connection() noexcept { return client_->connection(); }
  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] const std::string& failure() const noexcept { return failure_; }
  [[nodiscard]] ctrl::Role role() const noexcept { return role_; }
  [[nodiscard]] const proto::MacAddress& mac() const noexcept { return mac_; }
  [[nodiscard]] std::uint16_t peer_id() const noexcept { return peer_id_; }
  [[nodiscard]] std::uint32_t mtu() const noexcept { return mtu_; }

 private:
  void fail_with(std::string why) {
    state_ = State::kFailed;
    failure_ = std::move(why);
  }

  Harness& harness_;
  ctrl::Role role_;
  std::string room_;
  proto::MacAddress mac_;
  std::unique_ptr<lq::Client> client_;
  ctrl::FrameDecoder decoder_;
  std::int64_t stream_ = -1;
  State state_ = State::kConnecting;
  bool closed_ = false;
  std::string failure_;
  std::uint16_t peer_id_ = 0;
  std::uint32_t mtu_ = 0;
};

struct Receiver {
  BenchPeer* peer = nullptr;
  std::uint64_t next_expected = 0;  // highest sequence number received + 1
  std::uint64_t measured = 0;       // received with a sequence number of the measured range
};

// One sender's stream of frames to one destination MAC (unicast: one receiver; broadcast:
// every other peer of the room).
struct Flow {
  BenchPeer* sender = nullptr;
  std::vector<std::uint8_t> datagram;  // built once, re-stamped for every frame
  std::vector<Receiver> receivers;
  std::uint64_t next_seq = 0;
  std::uint64_t measure_begin = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t measure_end = std::numeric_limits<std::uint64_t>::max();
  double tokens = 0;  // paced scenarios only
  std::uint64_t last_min_expected = 0;
  Clock::time_point last_progress{};

  [[nodiscard]] std::uint64_t min_expected() const noexcept {
    std::uint64_t m = std::numeric_limits<std::uint64_t>::max();
    for (const auto& r : receivers) m = std::min(m, r.next_expected);
    return m;
  }
};

struct RunResult {
  bool ok = false;
  std::string error;
  double wall_s = 0;
  double offered_fps = 0;    // frames the generator handed to QUIC per second
  double wire_fps = 0;       // DATAGRAM frames the generator's QUIC put into packets per second
  double forwarded_fps = 0;  // frames received at the destinations per second
  double loss = 0;           // of the frames sent in the measured window, the share not received
  double p50_us = 0;
  double p99_us = 0;
  double relay_cpu_per_wall = 0;
  double generator_cpu_per_wall = 0;
  double relay_cpu_s_per_million = 0;
  double forwarded_per_relay_cpu_s = 0;
  std::uint64_t stalls = 0;
  std::uint64_t generator_queue_drops = 0;
  std::uint64_t misdelivered = 0;
  double relay_wait_per_wall = 0;  // relay runnable but not running (other load on its CPU)
  double generator_wait_per_wall = 0;
  // From the relay's metrics over the measured window (-1: not scraped).
  double relay_in_fps = -1;
  double relay_out_fps = -1;
  std::map<std::string, std::uint64_t> relay_drops;  // non-zero, measured window + drain
  std::uint64_t udp_drops_relay = 0;                 // relay socket receive-buffer overflows
  std::uint64_t udp_drops_generator = 0;             // generator sockets' receive-buffer overflows
  double warmup_s = 0;
  double relay_rss_mb = 0;  // after the run, all peers still connected
  std::size_t flows = 0;
  std::size_t connections = 0;
  double load1 = 0;
};

// One run of one scenario against one relay process.
class Harness {
 public:
  Harness(const ScenarioSpec& spec, const Options& options, std::size_t window)
      : spec_(spec), options_(options), window_(window) {}

  RunResult run(const std::filesystem::path& der, bool record_perf);
  void on_frame(BenchPeer& receiver, std::span<const std::uint8_t> frame) noexcept;

 private:
  [[nodiscard]] Status join_all(lio::EventLoop& loop, std::uint16_t port,
                                const std::filesystem::path& der);
  void build_flows();
  void top_up(Flow& flow) noexcept;
  void pump() noexcept;
  [[nodiscard]] std::string first_failure() const;

  const ScenarioSpec& spec_;
  const Options& options_;
  std::size_t window_;
  std::vector<std::unique_ptr<BenchPeer>> peers_;
  std::vector<std::size_t> room_first_peer_;  // index of each room's gateway in peers_
  std::vector<Flow> flows_;
  LatencyHistogram latency_;
  bool sending_ = false;
  double rate_per_flow_ = 0;
  Clock::time_point last_pump_{};
  std::unique_ptr<lio::EventLoop::Timer> pump_timer_;
  std::uint64_t generated_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t stalls_ = 0;
  std::uint64_t send_failures_ = 0;
  std::uint64_t misdelivered_ = 0;
  std::uint64_t foreign_ = 0;
};

void BenchPeer::on_datagram(lq::Connection&, std::span<const std::uint8_t> payload) {
  auto overlay = proto::parse_from_relay(payload);
  if (!overlay || overlay->kind() != proto::DatagramKind::kEthernet) return;
  harness_.on_frame(*this, overlay->body);
}

void Harness::on_frame(BenchPeer& receiver, std::span<const std::uint8_t> frame) noexcept {
  const auto stamp = read_bench_stamp(frame);
  if (!stamp || stamp->flow >= flows_.size()) {
    ++foreign_;
    return;
  }
  Flow& flow = flows_[stamp->flow];
  Receiver* slot = nullptr;
  for (auto& r : flow.receivers) {
    if (r.peer == &receiver) slot = &r;
  }
  if (slot == nullptr) {
    ++misdelivered_;  // the relay sent this flow's frame to a peer it was not addressed to
    return;
  }
  ++received_;
  slot->next_expected = std::max(slot->next_expected, stamp->seq + 1);
  if (stamp->seq >= flow.measure_begin && stamp->seq < flow.measure_end) {
    ++slot->measured;
    const std::uint64_t now = now_ns();
    latency_.record(now > stamp->send_ns ? now - stamp->send_ns : 0);
  }
  top_up(flow);
}

void Harness::top_up(Flow& flow) noexcept {
  if (!sending_) return;
  const std::uint64_t base = flow.min_expected();
  while (flow.next_seq - base < window_) {
    if (rate_per_flow_ > 0) {
      if (flow.tokens < 1.0) return;
      flow.tokens -= 1.0;
    }
    if (generated_ >= options_.max_frames) {
      sending_ = false;
      return;
    }
    stamp_bench_datagram(flow.datagram, flow.next_seq, now_ns());
    if (!flow.sender->connection().send_datagram(flow.datagram)) {
      ++send_failures_;
      return;
    }
    ++flow.next_seq;
    ++generated_;
  }
}

void Harness::pump() noexcept {
  const auto now = Clock::now();
  const double dt = std::chrono::duration<double>(now - last_pump_).count();
  last_pump_ = now;
  for (auto& flow : flows_) {
    if (rate_per_flow_ > 0) {
      const double burst = std::max(2.0, rate_per_flow_ * 0.005);
      flow.tokens = std::min(burst, flow.tokens + rate_per_flow_ * dt);
    }
    const std::uint64_t base = flow.min_expected();
    if (base != flow.last_min_expected || flow.next_seq == base) {
      flow.last_min_expected = base;
      flow.last_progress = now;
    } else if (now - flow.last_progress > kStallTimeout) {
      ++stalls_;
      for (auto& r : flow.receivers) r.next_expected = std::max(r.next_expected, flow.next_seq);
      flow.last_min_expected = flow.next_seq;
      flow.last_progress = now;
    }
    top_up(flow);
  }
  pump_timer_->arm(now + kPumpInterval);
}

std::string Harness::first_failure() const {
  for (const auto& p : peers_) {
    if (p->state() == BenchPeer::State::kFailed || p->closed()) {
      return fmt::format("{} {}: {}", ctrl::to_string(p->role()), p->mac().to_string(),
                         p->failure());
    }
  }
  return {};
}

Status Harness::join_all(lio::EventLoop& loop, std::uint16_t port,
                         const std::filesystem::path& der) {
  lq::ClientConfig config;
  config.host = "127.0.0.1";
  config.port = port;
  config.server_name = "lanparty-relay";  // the relay's default --dev-cert-name
  config.trust.pinned_der = der;
  // Room for every flow's window on the busiest sender (a gateway feeds one per client).
  // The busiest sender (a gateway) has one window per client queued at most; the queue's
  // slots are allocated on first use, so more than needed costs warm-up time and memory.
  config.datagram_queue_slots = window_ * spec_.clients_per_room + 64;

  for (std::size_t room = 0; room < spec_.rooms; ++room) {
    const std::string name = fmt::format("BENCH{:03}", room);
    const auto hi = static_cast<std::uint8_t>(room >> 8);
    const auto lo = static_cast<std::uint8_t>(room);
    room_first_peer_.push_back(peers_.size());
    for (std::size_t i = 0; i <= spec_.clients_per_room; ++i) {
      // Locally administered unicast: 02:4c:50:<room>:<index>; index 0 is the gateway.
      const proto::MacAddress mac({0x02, 0x4c, 0x50, hi, lo, static_cast<std::uint8_t>(i)});
      peers_.push_back(std::make_unique<BenchPeer>(
          *this, i == 0 ? ctrl::Role::kGateway : ctrl::Role::kClient, name, mac));
      if (auto st = peers_.back()->connect(loop, config); !st) return st;
    }
  }
  const auto any_failed = [&] { return !first_failure().empty(); };
  // Handshakes and path MTU discovery; a budget that never grows still lets the run go on
  // if the frames fit (the room MTU then comes out smaller).
  (void)loop.run_until(
      [&] {
        return any_failed() || std::all_of(peers_.begin(), peers_.end(), [](const auto& p) {
                 return p->ready_for_hello(kWantedBudget);
               });
      },
      20s);
  if (any_failed()) return fail(Errc::kClosed, "connecting: " + first_failure());
  const std::size_t needed = spec_.frame_bytes + proto::kFrameOverheadBytes;
  for (const auto& p : peers_) {
    if (!p->ready_for_hello(needed)) {
      return fail(Errc::kTimedOut,
                  fmt::format("{}: handshake or path MTU discovery did not finish (budget {})",
                              p->mac().to_string(), p->connection().datagram_budget()));
    }
  }
  // Gateways first, so each room exists before its clients arrive.
  for (const bool gateways : {true, false}) {
    for (const auto& p : peers_) {
      if ((p->role() == ctrl::Role::kGateway) != gateways) continue;
      if (auto st = p->send_hello(); !st) return st;
    }
    (void)loop.run_until(
        [&] {
          return any_failed() || std::all_of(peers_.begin(), peers_.end(), [&](const auto& p) {
                   return (p->role() == ctrl::Role::kGateway) != gateways ||
                          p->state() == BenchPeer::State::kJoined;
                 });
        },
        20s);
    if (any_failed()) return fail(Errc::kClosed, "joining: " + first_failure());
  }
  for (const auto& p : peers_) {
    if (p->state() != BenchPeer::State::kJoined) {
      return fail(Errc::kTimedOut, p->mac().to_string() + ": no welcome");
    }
    if (p->mtu() + proto::kEthernetHeaderSize < spec_.frame_bytes) {
      return fail(Errc::kInvalidArgument, fmt::format("room MTU {} cannot carry {}-byte frames",
                                                      p->mtu(), spec_.frame_bytes));
    }
  }
  return ok();
}

void Harness::build_flows() {
  const auto add_flow = [&](BenchPeer& sender, const proto::MacAddress& destination,
                            std::vector<BenchPeer*> receivers) {
    Flow flow;
    flow.sender = &sender;
    flow.datagram.resize(proto::kOverlayHeaderSize + spec_.frame_bytes);
    (void)build_bench_datagram(flow.datagram, sender.peer_id(), destination, sender.mac(),
                               static_cast<std::uint32_t>(flows_.size()));
    for (BenchPeer* r : receivers) flow.receivers.push_back(Receiver{.peer = r});
    flows_.push_back(std::move(flow));
  };
  const proto::MacAddress broadcast({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  for (std::size_t room = 0; room < spec_.rooms; ++room) {
    const std::size_t first = room_first_peer_[room];
    BenchPeer& gateway = *peers_[first];
    if (spec_.pattern == Pattern::kUnicast) {
      for (std::size_t i = 1; i <= spec_.clients_per_room; ++i) {
        BenchPeer& client = *peers_[first + i];
        add_flow(client, gateway.mac(), {&gateway});
        add_flow(gateway, client.mac(), {&client});
      }
    } else {
      BenchPeer& sender = *peers_[first + 1];
      std::vector<BenchPeer*> others;
      for (std::size_t i = 0; i <= spec_.clients_per_room; ++i) {
        if (i != 1) others.push_back(peers_[first + i].get());
      }
      add_flow(sender, broadcast, others);
    }
  }
  if (spec_.rate_fps > 0) rate_per_flow_ = spec_.rate_fps / static_cast<double>(flows_.size());
}

struct Totals {
  std::uint64_t wire_sent = 0;
  std::uint64_t queue_drops = 0;
};

RunResult Harness::run(const std::filesystem::path& der, bool record_perf) {
  RunResult result;
  auto metrics_port = pick_free_tcp_port();
  auto relay = RelayProcess::start(RelayProcessConfig{
      .binary = options_.relay_binary,
      .der_out = der,
      .cpu = options_.pin ? std::optional<int>(options_.relay_cpu) : std::nullopt,
      .metrics_port = metrics_port ? *metrics_port : std::uint16_t{0}});
  if (!relay) {
    result.error = relay.error().describe();
    return result;
  }
  auto loop_or = lio::EventLoop::create();
  if (!loop_or) {
    result.error = loop_or.error().describe();
    return result;
  }
  auto& loop = **loop_or;
  bool relay_output_open = true;
  if (auto st = loop.add_fd(relay->stderr_fd(), EPOLLIN,
                            [&](std::uint32_t) {
                              if (!relay->forward_output() && relay_output_open) {
                                relay_output_open = false;
                                loop.remove_fd(relay->stderr_fd());
                              }
                            });
      !st) {
    result.error = st.error().describe();
    return result;
  }
  // On every exit path: close our connections (so the relay sees them leave), free them
  // while the loop still exists, then stop the relay gracefully.
  struct Teardown {
    Harness& h;
    lio::EventLoop& loop;
    RelayProcess& relay;
    ~Teardown() {
      h.pump_timer_.reset();
      for (auto& p : h.peers_) {
        if (!p->closed()) p->connection().close(0, "bench done");
      }
      (void)loop.run_until([] { return false; }, 50ms);
      h.peers_.clear();
      h.flows_.clear();
      loop.remove_fd(relay.stderr_fd());
      (void)relay.forward_output();
      if (auto status = relay.stop(3s); status && !WIFEXITED(*status)) {
        std::fprintf(stderr, "relay ended with %s\n", describe_wait_status(*status).c_str());
      }
    }
  } teardown{*this, loop, *relay};

  if (auto st = join_all(loop, relay->port(), der); !st) {
    result.error = st.error().describe();
    return result;
  }
  build_flows();
  result.flows = flows_.size();
  result.connections = peers_.size();

  pump_timer_ = std::make_unique<lio::EventLoop::Timer>(loop, [this] { pump(); });
  last_pump_ = Clock::now();
  for (auto& f : flows_) f.last_progress = last_pump_;
  sending_ = true;
  pump();
  // Warm-up: at least the time asked for, and until every flow has delivered
  // warmup_frames_per_flow frames, so each connection's datagram queue (whose ring slots the
  // quic library allocates on first use) has gone round once and the relay is in its steady
  // state. Capped, so a scenario that cannot get there still runs.
  const auto warmup_start = Clock::now();
  const auto min_warmup =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.warmup));
  (void)loop.run_until(
      [&] {
        if (Clock::now() - warmup_start < min_warmup) return false;
        return std::all_of(flows_.begin(), flows_.end(), [&](const Flow& f) {
          return f.min_expected() >= options_.warmup_frames_per_flow;
        });
      },
      std::max<Clock::duration>(min_warmup, kMaxWarmup));
  result.warmup_s = std::chrono::duration<double>(Clock::now() - warmup_start).count();

  const auto totals = [&] {
    Totals t;
    for (const auto& p : peers_) {
      const auto s = p->connection().stats();
      t.wire_sent += s.datagrams_sent;
      t.queue_drops += s.datagrams_dropped_queue_full;
    }
    return t;
  };
  std::optional<ChildProcess> perf;
  if (record_perf) {
    auto started = ChildProcess::spawn(SpawnOptions{
        // DWARF unwinding: the release build and libc have no frame pointers.
        .argv = {"/usr/bin/perf", "record", "--call-graph", "dwarf,16384", "-F", "999", "-q", "-p",
                 std::to_string(relay->pid()), "-o",
                 (std::filesystem::path(options_.perf_dir) / (spec_.name + ".perf.data")).string()},
        .cpu = options_.pin ? std::optional<int>(options_.generator_cpu) : std::nullopt,
        .silence_stdout = true});
    if (started) {
      perf.emplace(std::move(*started));
      (void)loop.run_until([] { return false; }, 200ms);  // let perf attach
    } else {
      std::fprintf(stderr, "perf: %s\n", started.error().describe().c_str());
    }
  }

  // Measured window.
  latency_.reset();
  for (auto& f : flows_) f.measure_begin = f.next_seq;
  const Totals totals0 = totals();
  const std::uint64_t generated0 = generated_;
  const std::uint64_t received0 = received_;
  const std::uint64_t stalls0 = stalls_;
  const auto scrape = [&]() -> std::optional<RelayMetrics> {
    if (!metrics_port) return std::nullopt;
    auto text = http_get(*metrics_port, "/metrics", 1000ms);
    if (!text) return std::nullopt;
    return parse_metrics(*text);
  };
  const auto metrics0 = scrape();
  const UdpDrops udp0 = udp_drops_for_port(relay->port());
  const double generator_cpu0 = self_cpu_seconds();
  auto relay_cpu0 = relay->cpu_seconds();
  auto relay_wait0 = process_run_queue_wait_seconds(relay->pid());
  auto generator_wait0 = process_run_queue_wait_seconds(::getpid());
  const auto wall0 = Clock::now();
  const std::uint64_t max_generated = generated_ + options_.max_frames;
  (void)loop.run_until(
      [&] { return generated_ >= max_generated; },
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.seconds)));
  const auto wall1 = Clock::now();
  auto relay_cpu1 = relay->cpu_seconds();
  auto relay_wait1 = process_run_queue_wait_seconds(relay->pid());
  auto generator_wait1 = process_run_queue_wait_seconds(::getpid());
  const auto metrics1 = scrape();
  const double generator_cpu1 = self_cpu_seconds();
  const std::uint64_t received1 = received_;
  const std::uint64_t generated1 = generated_;
  const Totals totals1 = totals();
  sending_ = false;
  for (auto& f : flows_) f.measure_end = f.next_seq;
  if (perf) (void)perf->terminate(SIGINT, 5s);

  // Frames of the measured window still in flight arrive (or are lost) now.
  (void)loop.run_until([] { return false; }, kDrainTime);
  const auto metrics2 = scrape();
  if (auto rss = process_rss_bytes(relay->pid()))
    result.relay_rss_mb = static_cast<double>(*rss) / 1e6;
  const UdpDrops udp2 = udp_drops_for_port(relay->port());

  if (!relay_cpu0 || !relay_cpu1) {
    result.error = "relay CPU time: " + (relay_cpu0 ? relay_cpu1 : relay_cpu0).error().describe();
    return result;
  }
  if (auto failure = first_failure(); !failure.empty()) {
    result.error = "during the run: " + failure;
    return result;
  }
  if (auto status = relay->exited()) {
    result.error = "the relay exited during the run: " + describe_wait_status(*status);
    return result;
  }
  std::uint64_t expected = 0;
  std::uint64_t measured = 0;
  for (const auto& f : flows_) {
    expected += (f.measure_end - f.measure_begin) * f.receivers.size();
    for (const auto& r : f.receivers) measured += r.measured;
  }
  const double wall = std::chrono::duration<double>(wall1 - wall0).count();
  const double relay_cpu = *relay_cpu1 - *relay_cpu0;
  const double forwarded = static_cast<double>(received1 - received0);
  result.ok = true;
  result.wall_s = wall;
  result.offered_fps = static_cast<double>(generated1 - generated0) / wall;
  result.wire_fps = static_cast<double>(totals1.wire_sent - totals0.wire_sent) / wall;
  result.forwarded_fps = forwarded / wall;
  result.loss =
      expected == 0 ? 0 : 1.0 - static_cast<double>(measured) / static_cast<double>(expected);
  result.p50_us = static_cast<double>(latency_.percentile(0.50)) / 1e3;
  result.p99_us = static_cast<double>(latency_.percentile(0.99)) / 1e3;
  result.relay_cpu_per_wall = relay_cpu / wall;
  result.generator_cpu_per_wall = (generator_cpu1 - generator_cpu0) / wall;
  result.relay_cpu_s_per_million = forwarded > 0 ? relay_cpu / (forwarded / 1e6) : 0;
  result.forwarded_per_relay_cpu_s = relay_cpu > 0 ? forwarded / relay_cpu : 0;
  result.stalls = stalls_ - stalls0;
  result.generator_queue_drops = totals1.queue_drops - totals0.queue_drops;
  result.misdelivered = misdelivered_;
  if (relay_wait0 && relay_wait1) result.relay_wait_per_wall = (*relay_wait1 - *relay_wait0) / wall;
  if (generator_wait0 && generator_wait1) {
    result.generator_wait_per_wall = (*generator_wait1 - *generator_wait0) / wall;
  }
  if (metrics0 && metrics1 && metrics2) {
    result.relay_in_fps = static_cast<double>(metrics1->frames_in - metrics0->frames_in) / wall;
    result.relay_out_fps = static_cast<double>(metrics1->frames_out - metrics0->frames_out) / wall;
    for (const auto& [reason, n] : metrics2->drops) {
      const auto before = metrics0->drops.find(reason);
      const std::uint64_t delta = n - (before == metrics0->drops.end() ? 0 : before->second);
      if (delta != 0) result.relay_drops[reason] = delta;
    }
  }
  result.udp_drops_relay = udp2.local - udp0.local;
  result.udp_drops_generator = udp2.remote - udp0.remote;
  result.load1 = load_average_1min();
  if (send_failures_ != 0) {
    std::fprintf(stderr, "%s: %llu send_datagram failures\n", spec_.name.c_str(),
                 static_cast<unsigned long long>(send_failures_));
  }
  if (foreign_ != 0) {
    std::fprintf(stderr, "%s: %llu frames that are not ours\n", spec_.name.c_str(),
                 static_cast<unsigned long long>(foreign_));
  }
  // Teardown closes the connections; then the relay gets SIGTERM.
  return result;
}

// --- reporting ---------------------------------------------------------------------------------

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Which side limited the rate: a process near one full core is the bottleneck.
std::string bottleneck(const RunResult& r, bool paced) {
  if (paced) return "paced";
  // Runnable = running or waiting for the CPU: on a shared machine a process that wants a
  // full core may get much less of one; it is still the one the other waits for.
  const bool relay_busy = r.relay_cpu_per_wall + r.relay_wait_per_wall >= 0.90;
  const bool generator_busy = r.generator_cpu_per_wall + r.generator_wait_per_wall >= 0.90;
  if (relay_busy && generator_busy) return "both";
  if (relay_busy) return "relay";
  if (generator_busy) return "generator";
  return "neither";
}

void print_header() {
  std::printf("%-16s %-6s %11s %11s %7s %8s %8s %6s %6s %6s %9s %11s %-9s %5s\n", "scenario", "run",
              "offered/s", "fwd/s", "loss%", "p50us", "p99us", "relay", "r-wait", "gen", "cpu-s/M",
              "fwd/relay-s", "bound", "load1");
}

void print_row(const std::string& scenario, const std::string& run, const RunResult& r,
               const std::string& bound) {
  std::printf(
      "%-16s %-6s %11.0f %11.0f %7.3f %8.0f %8.0f %6.2f %6.2f %6.2f %9.3f %11.0f %-9s %5.2f\n",
      scenario.c_str(), run.c_str(), r.offered_fps, r.forwarded_fps, r.loss * 100, r.p50_us,
      r.p99_us, r.relay_cpu_per_wall, r.relay_wait_per_wall, r.generator_cpu_per_wall,
      r.relay_cpu_s_per_million, r.forwarded_per_relay_cpu_s, bound.c_str(), r.load1);
  std::fflush(stdout);
}

// Where frames went: the relay's view and the drop counters, for explaining loss.
void print_details(const RunResult& r) {
  std::string drops;
  for (const auto& [reason, n] : r.relay_drops) drops += fmt::format(" {}={}", reason, n);
  std::printf(
      "    %zu connections, %zu flows; warm-up %.1f s; relay RSS %.0f MB; generator run-queue "
      "wait %.2f; generator wire %.0f/s; relay in %.0f/s out %.0f/s; relay "
      "drops:%s; udp rcvbuf drops relay %llu generator %llu; generator queue drops %llu; stalls "
      "%llu; misdelivered %llu\n",
      r.connections, r.flows, r.warmup_s, r.relay_rss_mb, r.generator_wait_per_wall, r.wire_fps,
      r.relay_in_fps, r.relay_out_fps, drops.empty() ? " none" : drops.c_str(),
      static_cast<unsigned long long>(r.udp_drops_relay),
      static_cast<unsigned long long>(r.udp_drops_generator),
      static_cast<unsigned long long>(r.generator_queue_drops),
      static_cast<unsigned long long>(r.stalls), static_cast<unsigned long long>(r.misdelivered));
}

RunResult median_of(const std::vector<RunResult>& runs) {
  RunResult m;
  m.ok = true;
  const auto column = [&](double RunResult::*field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*field);
    return median(std::move(v));
  };
  m.offered_fps = column(&RunResult::offered_fps);
  m.wire_fps = column(&RunResult::wire_fps);
  m.forwarded_fps = column(&RunResult::forwarded_fps);
  m.loss = column(&RunResult::loss);
  m.p50_us = column(&RunResult::p50_us);
  m.p99_us = column(&RunResult::p99_us);
  m.relay_cpu_per_wall = column(&RunResult::relay_cpu_per_wall);
  m.generator_cpu_per_wall = column(&RunResult::generator_cpu_per_wall);
  m.relay_cpu_s_per_million = column(&RunResult::relay_cpu_s_per_million);
  m.forwarded_per_relay_cpu_s = column(&RunResult::forwarded_per_relay_cpu_s);
  m.load1 = column(&RunResult::load1);
  m.relay_wait_per_wall = column(&RunResult::relay_wait_per_wall);
  m.generator_wait_per_wall = column(&RunResult::generator_wait_per_wall);
  return m;
}

struct QuicFigures {
  double delivered_per_s = 0;
  double cpu_per_wall = 0;
  double delivered_per_cpu_s = 0;
};

// Runs lanparty_bench_quic (pinned like the relay) and reads its "one-way 1200" row.
std::optional<QuicFigures> run_quic_bench(const Options& options) {
  auto child = ChildProcess::spawn(
      SpawnOptions{.argv = {options.quic_bench_binary, fmt::format("{}", options.seconds)},
                   .cpu = options.pin ? std::optional<int>(options.relay_cpu) : std::nullopt,
                   .capture_stdout = true});
  if (!child) {
    std::fprintf(stderr, "%s: %s\n", options.quic_bench_binary.c_str(),
                 child.error().describe().c_str());
    return std::nullopt;
  }
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(child->stdout_fd(), buffer, sizeof(buffer))) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  (void)child->wait_for(10s);
  std::optional<QuicFigures> figures;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    char mode[16] = {};
    std::size_t bytes = 0;
    double delivered = 0, sent = 0, cpu = 0, per_cpu = 0;
    if (std::sscanf(line.c_str(), "%15s %zu %lf %lf %lf %lf", mode, &bytes, &delivered, &sent, &cpu,
                    &per_cpu) == 6 &&
        std::string_view(mode) == "one-way" && bytes == 1200) {
      figures = QuicFigures{delivered, cpu, per_cpu};
    }
  }
  if (!figures) std::fprintf(stderr, "no one-way 1200 row in:\n%s\n", text.c_str());
  return figures;
}

int run_all(const Options& options) {
  if (options.pin) {
    if (!cpu_allowed(options.generator_cpu) || !cpu_allowed(options.relay_cpu)) {
      std::fprintf(stderr, "CPUs %d and %d are not both available; use --no-pin\n",
                   options.generator_cpu, options.relay_cpu);
      return 2;
    }
    if (auto st = pin_to_cpu(0, options.generator_cpu); !st) {
      std::fprintf(stderr, "%s\n", st.error().describe().c_str());
      return 2;
    }
  }
  if (options.relay_binary.empty() || !std::filesystem::exists(options.relay_binary)) {
    std::fprintf(stderr, "relay binary not found: '%s' (give --relay)\n",
                 options.relay_binary.c_str());
    return 2;
  }
  char dir_template[] = "/tmp/lanparty-relay-bench-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) return 1;
  const std::filesystem::path der = std::filesystem::path(dir) / "relay.der";

  std::printf("relay %s on CPU %s, generator on CPU %s; %d run(s) x %.1f s after %.1f s warm-up\n",
              options.relay_binary.c_str(),
              options.pin ? std::to_string(options.relay_cpu).c_str() : "any",
              options.pin ? std::to_string(options.generator_cpu).c_str() : "any", options.runs,
              options.seconds, options.warmup);
  std::printf("load average before: %.2f\n", load_average_1min());
  print_header();

  std::map<std::string, RunResult> medians;
  int failures = 0;
  for (const auto& spec : all_scenarios()) {
    if (!options.scenarios.empty() && std::find(options.scenarios.begin(), options.scenarios.end(),
                                                spec.name) == options.scenarios.end()) {
      continue;
    }
    const std::size_t window = options.window != 0 ? options.window : spec.window;
    std::vector<RunResult> runs;
    for (int run = 0; run < options.runs; ++run) {
      Harness harness(spec, options, window);
      const bool perf = !options.perf_dir.empty() && run == 0;
      RunResult r = harness.run(der, perf);
      if (!r.ok) {
        std::fprintf(stderr, "%s run %d failed: %s\n", spec.name.c_str(), run + 1, r.error.c_str());
        ++failures;
        continue;
      }
      print_row(spec.name, fmt::format("{}{}", run + 1, perf ? "p" : ""), r,
                bottleneck(r, spec.rate_fps > 0));
      if (options.verbose) print_details(r);
      if (!perf) runs.push_back(r);
    }
    if (!runs.empty()) {
      const RunResult m = median_of(runs);
      print_row(spec.name, "median", m, bottleneck(m, spec.rate_fps > 0));
      medians[spec.name] = m;
    }
  }
  std::printf("load average after: %.2f\n", load_average_1min());
  std::printf(
      "columns: offered = frames handed to QUIC by the senders; fwd = frames received at the "
      "destinations (broadcast: deliveries); relay/gen = CPU seconds per wall second; cpu-s/M = "
      "relay CPU seconds per million forwarded frames; fwd/relay-s = forwarded frames per relay "
      "CPU second; r-wait = seconds per second the relay was runnable but its CPU ran something "
      "else; p50/p99 = one-way latency (send_datagram to on_datagram)\n");

  if (auto it = medians.find("unicast-1200"); it != medians.end()) {
    const double per_cpu = it->second.forwarded_per_relay_cpu_s;
    std::printf(
        "\nunicast 1200 B: %.0f forwarded frames per relay CPU-second (target 150000: %s)\n",
        per_cpu, per_cpu >= 150000 ? "met" : "NOT met");
    if (!options.quic_bench_binary.empty() && std::filesystem::exists(options.quic_bench_binary)) {
      std::vector<double> rate;
      std::vector<double> rate_per_cpu;
      for (int run = 0; run < options.runs; ++run) {
        if (auto q = run_quic_bench(options)) {
          rate.push_back(q->delivered_per_s);
          rate_per_cpu.push_back(q->delivered_per_cpu_s);
        }
      }
      if (!rate.empty()) {
        const double q_rate = median(rate);
        const double q_per_cpu = median(rate_per_cpu);
        std::printf(
            "lanparty_bench_quic one-way 1200 B (median of %zu, same CPU as the relay): %.0f "
            "delivered/s, %.0f per CPU-second\n",
            rate.size(), q_rate, q_per_cpu);
        std::printf("relay forwarded per relay CPU-second / QUIC one-way per CPU-second = %.2f\n",
                    per_cpu / q_per_cpu);
      }
    }
  }
  std::filesystem::remove_all(dir);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lanparty::bench

int main(int argc, char** argv) {
  try {
    lanparty::bench::Options options;
    CLI::App app{
        "lanparty_bench_relay: load generator for the real lanparty-relay (forwarded frames/s, "
        "latency, relay CPU per frame)"};
    app.add_option("--relay", options.relay_binary, "lanparty-relay binary")->capture_default_str();
    app.add_option("--quic-bench", options.quic_bench_binary,
                   "lanparty_bench_quic binary for the comparison; empty to skip")
        ->capture_default_str();
    app.add_option("--seconds", options.seconds, "measured seconds per run")->capture_default_str();
    app.add_option("--warmup", options.warmup, "minimum warm-up seconds per run")
        ->capture_default_str();
    app.add_option("--warmup-frames", options.warmup_frames_per_flow,
                   "warm up until every flow delivered this many frames (at most 30 s); 0 = time "
                   "only, which measures the relay before its queues are allocated")
        ->capture_default_str();
    app.add_option("--runs", options.runs, "runs per scenario (median reported)")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    app.add_option("--scenario", options.scenarios,
                   "only these: unicast-100 unicast-1200 broadcast-100 broadcast-1200 "
                   "rooms100-1200 light-1200");
    app.add_option("--window", options.window, "frames in flight per flow (0 = per scenario)")
        ->capture_default_str();
    app.add_option("--max-frames", options.max_frames, "cap on frames sent per measured window")
        ->capture_default_str();
    app.add_option("--generator-cpu", options.generator_cpu)->capture_default_str();
    app.add_option("--relay-cpu", options.relay_cpu)->capture_default_str();
    app.add_flag("!--no-pin", options.pin, "do not pin the generator and the relay to CPUs");
    app.add_flag("!--quiet", options.verbose, "no per-run line of relay counters and drops");
    app.add_option("--perf-dir", options.perf_dir,
                   "record `perf record -g` of the relay during the first run of each scenario "
                   "into DIR/<scenario>.perf.data (that run is left out of the median)");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    return lanparty::bench::run_all(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lanparty_bench_relay: fatal: %s\n", e.what());
    return 1;
  }
}
