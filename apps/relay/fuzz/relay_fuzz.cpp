// SPDX-License-Identifier: MIT
// libFuzzer target: the relay's per-connection state machine (admission, the path MTU wait,
// room records answered inline or later, owner messages, forwarding, closes and shutdown),
// driven through fake QUIC connections in virtual time. The input is a two-byte config and a
// list of operations (Op below); invariants on the room table and on what each fake peer
// receives are checked after every operation. A failed invariant aborts with its reason.
// Some inputs (config byte 1 & 0xc0 == 0x80, rooms claimed or owned) make it a relay of a
// cluster: a third config byte follows, homing calls run on an in-memory store
// (MemoryRoomHoming) that another relay of the cluster, played by the input, shares.
#include <unistd.h>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "directory_worker.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/ctrl/invite_link.hpp"
#include "lanparty/directory/memory_room_homing.hpp"
#include "lanparty/directory/sqlite_room_directory.hpp"
#include "lanparty/io/address.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/io/sim_network.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "lanparty/quic/connection.hpp"
#include "lanparty/quic/room_key.hpp"
#include "relay.hpp"

namespace {

using namespace std::chrono_literals;
using lanparty::Errc;
using lanparty::fail;
using lanparty::ok;
using lanparty::Result;
using lanparty::Status;
namespace ctrl = lanparty::ctrl;
namespace directory = lanparty::directory;
namespace io = lanparty::io;
namespace obs = lanparty::obs;
namespace proto = lanparty::proto;
namespace quic = lanparty::quic;
namespace relay = lanparty::relay;
using Clock = io::EventLoop::Clock;

constexpr std::size_t kSlots = 8;
constexpr std::array<std::string_view, 3> kRooms = {"ROOM1", "lan-party", "abc"};
constexpr std::array<std::string_view, 6> kMacs = {
    "02:5a:11:22:33:01", "02:5a:11:22:33:02", "02:5a:11:22:33:03",
    "00:11:22:33:44:55", "02:5a:11:22:33:05", "01:00:5e:00:00:01"};  // the last is multicast
constexpr std::array<std::int64_t, 8> kMaxDatagrams = {1402, 1200, 64, 65535, 598, 1000, 1452, 0};
constexpr std::array<std::size_t, 8> kBudgets = {1402, 1200, 0, 1452, 598, 1168, 65535, 100};
constexpr std::array<std::uint64_t, 4> kPeerMaxDatagramFrames = {65535, 1405, 0, 1203};
constexpr std::array<std::string_view, 4> kInviteIds = {"0123456789abcdef", "fedcba9876543210",
                                                        "00000000000000aa", "not-an-invite-id"};
constexpr std::array<std::pair<std::string_view, std::uint16_t>, 4> kRemotes = {
    {{"203.0.113.5", 5000}, {"203.0.113.5", 6000}, {"198.51.100.7", 4433}, {"2001:db8::1", 443}}};
// Room-record time: a fixed epoch plus the loop's virtual time plus wall-clock jumps.
constexpr directory::Seconds kRecordsEpoch{std::chrono::seconds(1'700'000'000)};
constexpr std::array<std::int64_t, 4> kInviteLifetimes = {3600, -1, 10LL * 365 * 86400, 60};
constexpr std::array<Clock::duration, 8> kTimeSteps = {1ms, 20ms, 100ms, 1s, 5s, 10s, 60s, 10min};
constexpr std::size_t kMaxClockJumps = 4;
// Bounds each input's timer work: stats, owner touches and record expiry are periodic.
constexpr auto kMaxVirtualTime = std::chrono::minutes(30);
// A relay of a cluster: this relay's id (its --advertise) and the other relay's.
constexpr std::string_view kThisRelay = "relay-a.test:4433";
constexpr std::string_view kOtherRelay = "relay-b.test:4433";
// Where the other relay says it is: two good addresses, two a peer cannot be sent to.
constexpr std::array<std::string_view, 4> kOtherAddresses = {
    "relay-b.test:4433", "[2001:db8::2]:4433", "relay b:4433", "relay-b.test"};
constexpr std::array<std::chrono::milliseconds, 3> kOtherLeases = {500ms, 10s, 60s};
constexpr std::array<std::chrono::milliseconds, 3> kRegistrationTtls = {1s, 4s, 60s};
// The store's clock (Redis's) runs ahead of the relay's by these: leases run out while the
// relay's timers do not fire (a stalled relay, a slow worker).
constexpr std::array<std::chrono::milliseconds, 4> kStoreSkews = {500ms, 2s, 5s, 11s};

[[noreturn]] void invariant_failed(const std::string& what) {
  fmt::print(stderr, "relay_fuzz: invariant failed: {}\n", what);
  std::abort();
}

// Reads the input front to back; past its end every read is 0 (the empty input is valid).
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
  [[nodiscard]] bool empty() const noexcept { return pos_ >= data_.size(); }
  std::uint8_t byte() noexcept { return pos_ < data_.size() ? data_[pos_++] : std::uint8_t{0}; }
  template <class T, std::size_t N>
  const T& pick(const std::array<T, N>& table) noexcept {
    return table[byte() % N];
  }
  std::span<const std::uint8_t> bytes(std::size_t wanted) noexcept {
    const std::size_t n = std::min(wanted, data_.size() - std::min(pos_, data_.size()));
    const auto out = data_.subspan(std::min(pos_, data_.size()), n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

quic::CloseInfo close_info(quic::CloseInfo::Kind kind, std::uint64_t code, std::string reason) {
  return quic::CloseInfo{kind, code, std::move(reason), std::nullopt};
}

// --- fixtures made once per process ------------------------------------------------------

quic::RoomKey key_from(std::uint8_t fill) {
  quic::Ed25519Seed seed{};
  seed.fill(fill);
  auto key = quic::RoomKey::from_seed(seed);
  if (!key) invariant_failed("RoomKey::from_seed: " + key.error().describe());
  return *key;
}

std::array<std::uint8_t, 32> ekm_of_slot(std::size_t slot) {
  std::array<std::uint8_t, 32> ekm{};
  for (std::size_t i = 0; i < ekm.size(); ++i) ekm[i] = static_cast<std::uint8_t>(slot * 31 + i);
  return ekm;
}

class Credentials {
 public:
  Credentials() : keys_{key_from(0x11), key_from(0x22)} {}
  [[nodiscard]] const quic::RoomKey& key(std::size_t index) const { return keys_[index % 2]; }

  // The claim fields of a gateway hello for `room`, signed by key `key_index` over the ekm a
  // fake connection in `slot` exports (or over another slot's: a proof for the wrong
  // connection).
  const std::pair<std::string, std::string>& claim(std::size_t key_index, std::size_t room,
                                                   std::size_t slot) {
    auto [it, fresh] = claims_.try_emplace(std::tuple(key_index, room, slot));
    if (fresh) {
      const quic::RoomKey& k = key(key_index);
      const auto ekm = ekm_of_slot(slot);
      auto proof = k.sign(ctrl::claim_signing_input(kRooms[room], ekm));
      if (!proof) invariant_failed("sign: " + proof.error().describe());
      it->second = {ctrl::base64url_encode(k.public_key()), ctrl::base64url_encode(*proof)};
    }
    return it->second;
  }

  const std::string& invite(std::size_t key_index, std::size_t room, std::size_t id,
                            std::size_t lifetime, bool named) {
    auto [it, fresh] = invites_.try_emplace(std::tuple(key_index, room, id, lifetime, named));
    if (fresh) {
      const quic::RoomKey& k = key(key_index);
      ctrl::InvitePayload payload{
          .room = std::string(kRooms[room]),
          .id = std::string(kInviteIds[id % 3]),  // the fourth id is for revokes only
          .exp = kRecordsEpoch.time_since_epoch().count() + kInviteLifetimes[lifetime],
          .name = named ? std::optional<std::string>("alice") : std::nullopt};
      auto token = ctrl::encode_invite_token(
          payload, [&k](std::span<const std::uint8_t> message) -> Result<ctrl::Signature> {
            return k.sign(message);
          });
      if (!token) invariant_failed("encode_invite_token: " + token.error().describe());
      it->second = std::move(*token);
    }
    return it->second;
  }

 private:
  std::array<quic::RoomKey, 2> keys_;
  std::map<std::tuple<std::size_t, std::size_t, std::size_t>, std::pair<std::string, std::string>>
      claims_;
  std::map<std::tuple<std::size_t, std::size_t, std::size_t, std::size_t, bool>, std::string>
      invites_;
};

Credentials& credentials() {
  static Credentials instance;
  return instance;
}

struct Remote {
  std::string text;
  io::SourcePrefix source;
};

const std::array<Remote, 4>& remotes() {
  static const std::array<Remote, 4> table = [] {
    std::array<Remote, 4> out;
    for (std::size_t i = 0; i < kRemotes.size(); ++i) {
      auto address = io::resolve_host_port(kRemotes[i].first, kRemotes[i].second);
      if (!address) invariant_failed("resolve_host_port: " + address.error().describe());
      out[i] = Remote{address->to_string(), io::source_prefix(*address)};
    }
    return out;
  }();
  return table;
}

// One SQLite room-record file per process (on tmpfs when there is one, so its fsyncs are
// cheap), emptied before each input: opening a file per input would cost more than the input.
class RecordsFile {
 public:
  RecordsFile() {
    const std::filesystem::path dir =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    path_ = dir / fmt::format("lanparty_relay_fuzz_{}.sqlite3", ::getpid());
    remove();
    // Two records at most, so a third room's claim meets kFull.
    auto opened = directory::SqliteRoomDirectory::open(directory::SqliteConfig{
        .path = path_,
        .limits = {.room_ttl = directory::kDefaultRoomTtl, .max_room_records = 2},
        .busy_timeout = 0ms});
    if (!opened) invariant_failed("SqliteRoomDirectory::open: " + opened.error().describe());
    db_ = std::move(*opened);
  }
  ~RecordsFile() { remove(); }
  RecordsFile(const RecordsFile&) = delete;
  RecordsFile& operator=(const RecordsFile&) = delete;

  // The records with nothing in them: every record and revocation is past its time a century
  // on (an input moves the records clock by months at most).
  directory::RoomDirectory& emptied() {
    const directory::Seconds far_future = kRecordsEpoch + std::chrono::years(100);
    if (auto purged = db_->expire(far_future); !purged) {
      invariant_failed("expire: " + purged.error().describe());
    }
    for (const std::string_view room : kRooms) {
      auto record = db_->lookup(room, kRecordsEpoch);
      if (!record || record->has_value()) invariant_failed("the records were not emptied");
    }
    return *db_;
  }

 private:
  void remove() {
    db_.reset();
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_.string() + suffix, ignored);
    }
  }

  std::filesystem::path path_;
  std::unique_ptr<directory::SqliteRoomDirectory> db_;
};

RecordsFile& records_file() {
  static RecordsFile instance;
  return instance;
}

// LANPARTY_RELAY_FUZZ_LOG=1 prints each relay event name (to see which paths an input takes).
class EventNameSink final : public obs::Sink {
 public:
  void write(const obs::Event& event) noexcept override {
    fmt::print(stderr, "  relay event: {}\n", event.name);
  }
};

bool tracing() {
  static const bool enabled = std::getenv("LANPARTY_RELAY_FUZZ_LOG") != nullptr;
  return enabled;
}

obs::Logger relay_logger() {
  static EventNameSink sink;
  return tracing() ? obs::Logger(&sink, obs::Level::kDebug) : obs::Logger();
}

// --- the deferred directory --------------------------------------------------------------

// What one homing call did in the store: what the relay learns when its completion runs.
struct HomingNews {
  std::vector<std::string> homed;  // home() answered: this relay holds the lease
  std::vector<std::string> lost;   // refresh() answered: another live relay holds these
  bool register_failed = false;    // register_relay() failed, and not with address_in_use
};

// The homing the relay's calls run against: this relay's MemoryRoomHoming, noting what each
// call did, and checking what the relay may ask of the store when.
class HomingRecorder final : public directory::RoomHoming {
 public:
  explicit HomingRecorder(directory::MemoryRoomHoming& inner) : inner_(inner) {}
  void watch(const relay::Relay& relay) noexcept { relay_ = &relay; }
  HomingNews take() { return std::exchange(news_, {}); }

  Status register_relay(std::string_view address, std::uint64_t load, std::chrono::milliseconds ttl,
                        std::chrono::milliseconds* conflict_ttl) override {
    check_not_unregistered("register_relay");
    Status registered = inner_.register_relay(address, load, ttl, conflict_ttl);
    trace("register_relay", address, registered ? "ok" : registered.error().describe());
    if (!registered && registered.error().code != std::errc::address_in_use) {
      news_.register_failed = true;
    }
    return registered;
  }
  Status unregister_relay(std::span<const std::string> rooms) override {
    unregistered_ = true;
    trace("unregister_relay", fmt::format("{} rooms", rooms.size()), "");
    return inner_.unregister_relay(rooms);
  }
  Result<directory::Home> home(std::string_view room, std::chrono::milliseconds lease) override {
    check_not_unregistered("home");
    auto home = inner_.home(room, lease);
    trace("home", room, home ? (home->mine ? "mine" : "at " + home->address) : "error");
    if (home && home->mine) news_.homed.emplace_back(room);
    return home;
  }
  Result<std::vector<std::string>> refresh(std::span<const std::string> rooms,
                                           std::chrono::milliseconds lease) override {
    check_not_unregistered("refresh");
    auto lost = inner_.refresh(rooms, lease);
    trace("refresh", fmt::format("{}", fmt::join(rooms, ",")),
          lost ? fmt::format("lost {}", fmt::join(*lost, ",")) : "error");
    if (lost) news_.lost.insert(news_.lost.end(), lost->begin(), lost->end());
    return lost;
  }
  Status release(std::string_view room) override {
    check_not_unregistered("release");
    // The relay gives up a room's lease only once no peer is left in it (release_if_empty).
    // A release submitted when the room emptied runs later; if peers were let in meanwhile,
    // the room lives here without a lease, and another relay may home it too (a split party).
    if (relay_ != nullptr) {
      if (const relay::Room* live = relay_->rooms().find_room(room)) {
        invariant_failed(
            fmt::format("the relay released its lease of room {} while {} peers are in it here",
                        room, live->peers.size()));
      }
    }
    trace("release", room, "");
    return inner_.release(room);
  }

 private:
  static void trace(std::string_view call, std::string_view what, std::string_view answer) {
    if (tracing()) fmt::print(stderr, "   homing call {} {}: {}\n", call, what, answer);
  }
  // Shutdown's unregister is the relay's last word to the store: once it ran, a later
  // register, home, refresh or release (all submitted after shutdown(), calls run in order)
  // would re-take what the shutdown gave up.
  void check_not_unregistered(std::string_view what) const {
    if (unregistered_) {
      invariant_failed(fmt::format("the relay called {} after its shutdown's unregister", what));
    }
  }

  directory::MemoryRoomHoming& inner_;
  const relay::Relay* relay_ = nullptr;
  HomingNews news_;
  bool unregistered_ = false;
};

// What a DirectoryWorker does, one step at a time as the input says: each call runs against
// the records or the homing (or fails, as a call that waited past its deadline), then its
// completion runs from the loop, both in submission order, directory and homing calls in one
// queue. A call submitted while kMaxQueued wait, or while the input refuses calls, is
// answered at once inside submit, with an error, as an overloaded worker answers it.
class DeferredDirectory final : public relay::DirectoryExecutor, public relay::HomingExecutor {
 public:
  static constexpr std::size_t kMaxQueued = 64;
  // `homing` (a relay of a cluster): where homing calls run; `learn` hears what each one did,
  // just before its completion runs.
  DeferredDirectory(directory::RoomDirectory& records, HomingRecorder* homing,
                    std::function<void(const HomingNews&)> learn)
      : records_(records),
        homing_(homing),
        learn_(std::move(learn)),
        unavailable_("fuzz: the call waited past its deadline") {}

  void submit(relay::DirectoryCall call) override {
    if (refuse_now()) {
      call(unavailable_)();
      return;
    }
    jobs_.push_back(Job{.call = std::move(call),
                        .homing_call = {},
                        .completion = {},
                        .news = {},
                        .homing = false,
                        .ran = false});
  }
  void submit_homing(relay::HomingCall call) override {
    if (refuse_now()) {
      call(nullptr)();
      return;
    }
    jobs_.push_back(Job{.call = {},
                        .homing_call = std::move(call),
                        .completion = {},
                        .news = {},
                        .homing = true,
                        .ran = false});
  }
  [[nodiscard]] bool deferred() const noexcept override { return true; }
  [[nodiscard]] relay::HomingExecutor* homing() noexcept override {
    return homing_ != nullptr ? this : nullptr;
  }
  [[nodiscard]] std::size_t pending() const noexcept { return jobs_.size(); }

  // The worker thread's side: runs every call not run yet.
  void run_calls() {
    for (Job& job : jobs_) {
      if (!job.ran) run(job, /*failed=*/false);
    }
  }
  // The next call is answered as a call that waited past its deadline is.
  void fail_next() {
    for (Job& job : jobs_) {
      if (!job.ran) {
        run(job, /*failed=*/true);
        return;
      }
    }
  }
  // The loop's side: up to `count` completions, their calls first if not run yet.
  void complete(std::size_t count) {
    while (count-- > 0 && !jobs_.empty()) {
      Job job = std::move(jobs_.front());
      jobs_.pop_front();  // before the completion, which may submit more
      if (!job.ran) run(job, /*failed=*/false);
      if (job.homing && learn_) learn_(job.news);
      if (job.completion) job.completion();
    }
  }
  // The next `count` submits are refused (an overloaded worker).
  void refuse(std::size_t count) noexcept { refused_ += count; }

 private:
  struct Job {
    relay::DirectoryCall call;  // one of the two is set
    relay::HomingCall homing_call;
    std::function<void()> completion;
    HomingNews news;
    bool homing = false;
    bool ran = false;
  };
  [[nodiscard]] bool refuse_now() noexcept {
    if (refused_ > 0) {
      --refused_;
      return true;
    }
    return jobs_.size() >= kMaxQueued;
  }
  void run(Job& job, bool failed) {
    job.ran = true;
    if (job.homing) {
      if (failed) {
        job.completion = std::exchange(job.homing_call, nullptr)(nullptr);
      } else {
        (void)homing_->take();
        job.completion = std::exchange(job.homing_call, nullptr)(homing_);
        job.news = homing_->take();
      }
      return;
    }
    job.completion = std::exchange(job.call, nullptr)(failed ? unavailable_ : records_);
  }

  directory::RoomDirectory& records_;
  HomingRecorder* homing_;
  std::function<void(const HomingNews&)> learn_;
  relay::UnavailableDirectory unavailable_;
  std::deque<Job> jobs_;
  std::size_t refused_ = 0;
};

// --- the fake connection -----------------------------------------------------------------

class Harness;

// What the fuzzer knows about one connection: set by the input, and what the relay did to it.
struct ConnState {
  std::size_t slot = 0;
  std::uint64_t id = 0;
  const Remote* remote = nullptr;
  bool handshake_completed = false;
  bool reported = false;  // the relay has heard of it (handshake or stream data)
  std::uint64_t peer_max_datagram_frame_size = 65535;
  std::size_t datagram_budget = 1402;
  bool exporter_fails = false;
  bool acks_promptly = true;    // a close_after_ack ends after the linger, not the deadline
  bool stream_blocked = false;  // send_stream refuses: the peer does not read stream 0
  // A control frame was refused (kWouldBlock): the relay closes the connection on its next
  // turn, and what the peer got of its control stream no longer tells its state.
  bool send_refused = false;
  std::uint64_t queue_full_drops = 0;
  std::string hello_mac;  // the MAC of the last template hello, for frames from it
  // What the relay did.
  bool stream0_open = false;  // the peer sent on stream 0 (the relay may answer on it)
  bool stream0_finished = false;
  bool closed_by_relay = false;  // close(): the peer is gone from the room at once
  bool closing = false;          // close() or close_after_ack(): sends fail with kClosed
  io::EventLoop::TimerId close_timer = 0;
  ctrl::FrameDecoder received{ctrl::DecodeOptions{.room_ownership = true}};
  std::optional<std::uint16_t> welcomed_peer_id;
  bool rejected = false;
  std::size_t datagrams_received = 0;
};

class FakeConnection final : public quic::Connection {
 public:
  FakeConnection(Harness& harness, ConnState state) : harness_(harness), state_(std::move(state)) {}
  ~FakeConnection() override;

  [[nodiscard]] ConnState& state() noexcept { return state_; }
  [[nodiscard]] const ConnState& state() const noexcept { return state_; }
  [[nodiscard]] std::optional<std::uint16_t> welcomed() const noexcept {
    return state_.welcomed_peer_id;
  }

  [[nodiscard]] std::uint64_t id() const noexcept override { return state_.id; }
  [[nodiscard]] bool handshake_completed() const noexcept override {
    return state_.handshake_completed;
  }
  [[nodiscard]] std::string remote_address() const override { return state_.remote->text; }
  [[nodiscard]] io::SourcePrefix remote_source() const noexcept override {
    return state_.remote->source;
  }
  [[nodiscard]] Result<std::int64_t> open_bidi_stream() override {
    return fail(Errc::kWouldBlock, "fake: the relay opens no streams");
  }
  [[nodiscard]] Status send_stream(std::int64_t stream_id,
                                   std::span<const std::uint8_t> data) override;
  [[nodiscard]] Status shutdown_stream_write(std::int64_t stream_id) override;
  [[nodiscard]] std::uint64_t peer_max_datagram_frame_size() const noexcept override {
    return state_.handshake_completed ? state_.peer_max_datagram_frame_size : 0;
  }
  [[nodiscard]] std::size_t datagram_budget() const noexcept override {
    if (!state_.handshake_completed || state_.peer_max_datagram_frame_size <= 3) return 0;
    return static_cast<std::size_t>(
        std::min<std::uint64_t>(state_.datagram_budget, state_.peer_max_datagram_frame_size - 3));
  }
  [[nodiscard]] Status send_datagram(std::span<const std::uint8_t> payload) override;
  void close(std::uint64_t app_error_code, std::string_view reason) override;
  void close_after_ack(std::uint64_t app_error_code, std::string reason,
                       std::chrono::milliseconds deadline,
                       std::chrono::milliseconds linger_after_ack) override;
  [[nodiscard]] quic::ConnectionStats stats() const noexcept override {
    quic::ConnectionStats stats;
    stats.datagrams_dropped_queue_full = state_.queue_full_drops;
    return stats;
  }
  [[nodiscard]] Result<std::array<std::uint8_t, 32>> export_keying_material(
      std::string_view label) const override {
    if (label.empty() || label.size() > 63) return fail(Errc::kInvalidArgument, "label");
    if (!state_.handshake_completed) return fail(Errc::kWouldBlock, "fake: no handshake yet");
    if (state_.exporter_fails) return fail(Errc::kTlsError, "fake: exporter failed");
    return ekm_of_slot(state_.slot);
  }

 private:
  void check_received(const ctrl::Message& message);

  Harness& harness_;
  ConnState state_;
};

// --- the harness -------------------------------------------------------------------------

enum class Op : std::uint8_t {
  kOpen,             // slot, remote, max_datagram_frame_size, budget, flags
  kHandshake,        // slot
  kStreamRaw,        // slot, stream selector, length, bytes
  kStreamTemplate,   // slot, template, its arguments, split point
  kDatagramRaw,      // slot, length, bytes
  kDatagramFrame,    // slot, kind, peer id source, destination, length
  kPeerClose,        // slot, close kind
  kSetBudget,        // slot, budget
  kAdvanceTime,      // step
  kCompleteRecords,  // count
  kRunRecordCalls,
  kFailRecordCall,
  kShutdown,
  kDeliverCloses,
  kBlockStream,  // slot: toggles send_stream refusing with kWouldBlock
  kJumpClock,    // the wall clock jumps 31 days (room records go stale)
  // Read only by a relay of a cluster (the others take op bytes modulo kCluster, so inputs
  // made before it keep their meaning):
  kCluster,  // ClusterOp, its argument: the other relay acts, the store's clock moves, ...
  kCount
};

constexpr std::array<const char*, static_cast<std::size_t>(Op::kCount)> kOpNames = {
    "open",         "handshake",        "stream_raw",       "stream_template",
    "datagram_raw", "datagram_frame",   "peer_close",       "set_budget",
    "advance_time", "complete_records", "run_record_calls", "fail_record_call",
    "shutdown",     "deliver_closes",   "block_stream",     "jump_clock",
    "cluster"};

enum class ClusterOp : std::uint8_t {
  kOtherHome,         // room (bits 0-1), lease (above): the other relay homes a room
  kOtherRegister,     // address (bits 0-1), ttl (above)
  kOtherUnregister,   // gives up its registration and its leases of every room
  kOtherRelease,      // room
  kImpostorRegister,  // ttl: a second process with this relay's --advertise registers
  kStoreClock,        // step: the store's clock runs ahead of the relay's
  kRefuseCalls,       // count: the worker is overloaded for the next calls
  kCount
};

constexpr std::array<const char*, static_cast<std::size_t>(ClusterOp::kCount)> kClusterOpNames = {
    "other_home",        "other_register", "other_unregister", "other_release",
    "impostor_register", "store_clock",    "refuse_calls"};

enum class Template : std::uint8_t {
  kClientHello,
  kGatewayHello,    // no claim fields
  kClaimHello,      // key, room, mac, max_datagram; a valid proof
  kClaimOtherSlot,  // a proof over another connection's exporter value
  kInvitedHello,    // key, room, mac, invite id, lifetime, name
  kDisconnect,
  kKick,    // peer id of a slot, or a raw id
  kRevoke,  // invite id, exp
  kUnknownType,
  kMalformedHello,
  kInvalidHello,      // protocol 2, bad room or bad MAC
  kRelayOnlyMessage,  // stats, which only the relay sends
  kCount
};

constexpr std::array<const char*, static_cast<std::size_t>(Template::kCount)> kTemplateNames = {
    "client_hello",  "gateway_hello",   "claim_hello",   "claim_other_slot",
    "invited_hello", "disconnect",      "kick",          "revoke",
    "unknown_type",  "malformed_hello", "invalid_hello", "relay_only_message"};

class Harness {
 public:
  // `config2` is read for a relay of a cluster only.
  Harness(std::uint8_t config0, std::uint8_t config1, std::uint8_t config2)
      : net_(1), loop_(std::move(*io::EventLoop::create_simulated(net_))), start_(loop_->now()) {
    relay::RelayConfig config;
    mode_ = std::array{relay::RoomMode::kOpen, relay::RoomMode::kClaimed, relay::RoomMode::kOwners,
                       relay::RoomMode::kClaimed}[config0 & 3];
    const bool deferred = (config0 & 4) != 0;
    config.stats_interval = std::array{10000ms, 0ms, 2000ms, 60000ms}[(config0 >> 3) & 3];
    config.limits.max_peers_per_room = std::array<std::size_t, 4>{64, 2, 3, 64}[(config0 >> 5) & 3];
    config.limits.max_rooms = (config0 & 0x80) != 0 ? 1 : 4096;
    config.limits.max_mtu = std::array<std::size_t, 4>{1380, 1200, 576, 1380}[config1 & 3];
    config.max_rooms_per_source = (config1 & 4) != 0 ? 1 : relay::kDefaultMaxRoomsPerSource;
    config.new_rooms_per_hour_per_source = (config1 & 8) != 0 ? 1 : 32;
    config.path_mtu_wait = (config1 & 0x10) != 0 ? 0ms : 1500ms;
    if ((config1 & 0x20) != 0) {
      config.control_burst_bytes = 600;
      config.control_bytes_per_second = 100;
    }
    if ((config1 & 0x40) != 0) {
      config.revoke_burst = 1;
      config.revokes_per_second = 0.01;
    }
    config.owner_touch_interval = 5min;
    config.records_expire_interval = 10min;
    config.rooms = mode_;
    if (mode_ == relay::RoomMode::kOwners) {
      config.room_owners = {credentials().key(0).public_key()};
    }
    config.clock = [this] { return records_now(); };
    if (is_cluster(config0, config1)) {
      cluster_ = true;
      config.homing = homing_settings(config2);
      store_ = std::make_shared<directory::MemoryHomingStore>([this] { return store_now(); });
      this_relay_ = std::make_unique<directory::MemoryRoomHoming>(store_, std::string(kThisRelay));
      other_relay_ =
          std::make_unique<directory::MemoryRoomHoming>(store_, std::string(kOtherRelay));
      impostor_ = std::make_unique<directory::MemoryRoomHoming>(store_, std::string(kThisRelay));
      recorder_ = std::make_unique<HomingRecorder>(*this_relay_);
      // Mostly the other relay is up from the start, at a good address.
      if ((config2 & 0x04) == 0 && other_relay_->register_relay(kOtherAddresses[0], 0, 60s)) {
        other_addresses_.emplace(kOtherAddresses[0]);
      }
    }
    directory::RoomDirectory* records = nullptr;
    if (mode_ != relay::RoomMode::kOpen) {
      records = &records_file().emptied();
      if (deferred || cluster_) {
        deferred_ = std::make_unique<DeferredDirectory>(
            *records, recorder_.get(), [this](const HomingNews& news) { learn(news); });
      }
    }
    relay_ = std::make_unique<relay::Relay>(*loop_, std::move(config), relay_logger(), records,
                                            deferred_.get());
    if (recorder_ != nullptr) recorder_->watch(*relay_);
  }

  // A relay of a cluster: config byte 1 says so, and its rooms are claimed or owned (an open
  // relay has no directory worker, hence no homing). Its config byte 2 follows.
  [[nodiscard]] static bool is_cluster(std::uint8_t config0, std::uint8_t config1) noexcept {
    return (config1 & 0xc0) == 0x80 && (config0 & 3) != 0;
  }

  ~Harness() {
    // Connections before the relay, the relay before the loop and the records it calls.
    for (auto& conn : slots_) conn.reset();
    relay_.reset();
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  [[nodiscard]] io::EventLoop& loop() noexcept { return *loop_; }
  [[nodiscard]] bool shut_down() const noexcept { return shut_down_; }
  [[nodiscard]] const relay::RoomTable& rooms() const noexcept { return relay_->rooms(); }

  // Invariant (a relay of a cluster): a peer is welcomed into a room only while the relay may
  // serve it: the last homing news it had of the room said this relay holds the lease (a
  // home() answered mine, and no refresh since reported another live relay holding it). The
  // store itself may have moved on meanwhile (a lease ran out, another relay took it): the
  // relay learns that at its next refresh, and then closes the room's peers (see
  // check_invariants).
  void check_welcome(std::uint64_t conn, const std::string& room) const {
    if (cluster_ && !believed_.contains(room)) {
      invariant_failed(fmt::format(
          "connection {} was welcomed into room {}, which this relay was never told it holds, "
          "or was last told another relay holds",
          conn, room));
    }
  }

  // Invariant: a reject names a relay only with code redirect, and only a relay of a cluster
  // redirects, to an address the room's home relay registered that a peer can connect to.
  void check_reject(std::uint64_t conn, const ctrl::Reject& reject) const {
    const bool redirect = reject.code == ctrl::to_string(ctrl::RejectCode::kRedirect);
    if (redirect != reject.relay.has_value()) {
      invariant_failed(fmt::format("connection {} got reject {} {} a relay", conn, reject.code,
                                   reject.relay ? "with" : "without"));
    }
    if (!redirect) return;
    if (!cluster_) invariant_failed(fmt::format("connection {} redirected by a lone relay", conn));
    if (!other_addresses_.contains(*reject.relay) || !ctrl::parse_relay_address(*reject.relay)) {
      invariant_failed(
          fmt::format("connection {} redirected to \"{}\", which no other relay "
                      "registered or which is no relay address",
                      conn, *reject.relay));
    }
  }

  void run(Reader& in) {
    while (!in.empty()) {
      step(in);
      check_invariants();
    }
    finish();
  }

  // The relay called close(): on_closed follows after the current callback.
  void queue_local_close(std::uint64_t id, std::uint64_t code) {
    local_closes_.emplace_back(id, code);
  }

  // on_closed, then the connection is gone, as a server's is when on_closed returns.
  void deliver_close(std::uint64_t id, const quic::CloseInfo& info) {
    for (auto& slot : slots_) {
      if (slot == nullptr || slot->id() != id) continue;
      std::unique_ptr<FakeConnection> conn = std::move(slot);
      if (conn->state().reported) relay_->on_closed(*conn, info);
      return;
    }
  }

 private:
  // The store's clock: the relay's virtual time plus whatever the input made it run ahead.
  [[nodiscard]] std::chrono::milliseconds store_now() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(loop_->now() - start_) +
           store_skew_;
  }

  // Config byte 2 of a relay of a cluster: bits 0-1 the homing times, bit 2 set: the other
  // relay is not registered at the start.
  static relay::HomingSettings homing_settings(std::uint8_t config2) {
    relay::HomingSettings settings{.advertise = std::string(kThisRelay)};
    switch (config2 & 3) {
      case 1:  // short: every step of the input matters
        settings.lease = 2s;
        settings.refresh = 500ms;
        settings.liveness = 1s;
        settings.liveness_refresh = 250ms;
        break;
      case 2:  // a lease shorter than its refresh: leases lapse between refreshes
        settings.lease = 500ms;
        settings.refresh = 3s;
        break;
      default:  // the defaults (docs/architecture.md)
        break;
    }
    return settings;
  }

  // The relay heard what a homing call did (its completion runs next).
  void learn(const HomingNews& news) {
    for (const std::string& room : news.homed) believed_.insert(room);
    // The relay acts on a refresh's lost rooms unless its registration failed (other than
    // another process holding its id).
    if (!news.register_failed) {
      for (const std::string& room : news.lost) believed_.erase(room);
    }
  }

  [[nodiscard]] directory::Seconds records_now() const {
    return kRecordsEpoch + std::chrono::duration_cast<std::chrono::seconds>(loop_->now() - start_) +
           clock_jump_;
  }

  FakeConnection* conn_at(std::uint8_t selector) {
    FakeConnection* conn = slots_[selector % kSlots].get();
    if (tracing()) {
      fmt::print(stderr, "   slot {}: {}\n", selector % kSlots,
                 conn != nullptr ? fmt::format("connection {}", conn->id()) : "empty");
    }
    return conn;
  }

  void step(Reader& in) {
    const auto ops = static_cast<std::uint8_t>(cluster_ ? Op::kCount : Op::kCluster);
    const auto op = static_cast<Op>(in.byte() % ops);
    if (tracing()) fmt::print(stderr, "op {}\n", kOpNames[static_cast<std::size_t>(op)]);
    switch (op) {
      case Op::kOpen:
        open(in);
        break;
      case Op::kHandshake:
        if (FakeConnection* conn = conn_at(in.byte());
            conn != nullptr && !conn->state().handshake_completed) {
          conn->state().handshake_completed = true;
          conn->state().reported = true;
          relay_->on_handshake_completed(*conn);
        }
        break;
      case Op::kStreamRaw: {
        FakeConnection* conn = conn_at(in.byte());
        const std::uint8_t stream_selector = in.byte();
        const auto bytes = in.bytes(in.byte());
        // Stream 0 mostly; others are ignored by protocol 1 but still reach the relay.
        const std::int64_t stream = stream_selector < 224 ? 0 : (stream_selector & 31) * 4;
        if (conn != nullptr) deliver_stream(*conn, stream, bytes, (stream_selector & 1) != 0);
        break;
      }
      case Op::kStreamTemplate:
        stream_template(in);
        break;
      case Op::kDatagramRaw: {
        FakeConnection* conn = conn_at(in.byte());
        const auto bytes = in.bytes(in.byte());
        if (conn != nullptr) deliver_datagram(*conn, bytes);
        break;
      }
      case Op::kDatagramFrame:
        datagram_frame(in);
        break;
      case Op::kPeerClose:
        peer_close(in);
        break;
      case Op::kSetBudget:
        if (FakeConnection* conn = conn_at(in.byte())) {
          conn->state().datagram_budget = in.pick(kBudgets);
        }
        break;
      case Op::kAdvanceTime:
        advance(in.pick(kTimeSteps));
        break;
      case Op::kCompleteRecords:
        if (deferred_) deferred_->complete(1 + in.byte() % 4);
        break;
      case Op::kRunRecordCalls:
        if (deferred_) deferred_->run_calls();
        break;
      case Op::kFailRecordCall:
        if (deferred_) deferred_->fail_next();
        break;
      case Op::kShutdown:
        shut_down_ = true;
        relay_->shutdown();
        believed_.clear();  // it gave up every room it held
        break;
      case Op::kDeliverCloses:
        deliver_local_closes();
        break;
      case Op::kBlockStream:
        if (FakeConnection* conn = conn_at(in.byte())) {
          conn->state().stream_blocked = !conn->state().stream_blocked;
        }
        break;
      case Op::kJumpClock:
        if (clock_jumps_ < kMaxClockJumps) {
          ++clock_jumps_;
          clock_jump_ += std::chrono::hours(24 * 31);
        }
        break;
      case Op::kCluster:
        cluster_op(in);
        break;
      case Op::kCount:
        break;
    }
  }

  void cluster_op(Reader& in) {
    const auto op =
        static_cast<ClusterOp>(in.byte() % static_cast<std::uint8_t>(ClusterOp::kCount));
    const std::size_t arg = in.byte();
    if (tracing()) {
      fmt::print(stderr, "   {} {}\n", kClusterOpNames[static_cast<std::size_t>(op)], arg);
    }
    switch (op) {
      case ClusterOp::kOtherHome:
        (void)other_relay_->home(kRooms[(arg & 3) % kRooms.size()],
                                 kOtherLeases[(arg >> 2) % kOtherLeases.size()]);
        break;
      case ClusterOp::kOtherRegister: {
        const std::string_view address = kOtherAddresses[arg % kOtherAddresses.size()];
        if (other_relay_->register_relay(
                address, 0, kRegistrationTtls[(arg >> 2) % kRegistrationTtls.size()])) {
          other_addresses_.emplace(address);
        }
        break;
      }
      case ClusterOp::kOtherUnregister: {
        const std::vector<std::string> rooms(kRooms.begin(), kRooms.end());
        (void)other_relay_->unregister_relay(rooms);
        break;
      }
      case ClusterOp::kOtherRelease:
        (void)other_relay_->release(kRooms[arg % kRooms.size()]);
        break;
      case ClusterOp::kImpostorRegister:
        (void)impostor_->register_relay(kThisRelay, 0,
                                        kRegistrationTtls[arg % kRegistrationTtls.size()]);
        break;
      case ClusterOp::kStoreClock:
        store_skew_ += kStoreSkews[arg % kStoreSkews.size()];
        break;
      case ClusterOp::kRefuseCalls:
        deferred_->refuse(1 + arg % 3);
        break;
      case ClusterOp::kCount:
        break;
    }
  }

  void open(Reader& in) {
    const std::size_t slot = in.byte() % kSlots;
    const std::uint8_t remote = in.byte();
    const std::uint64_t frame_size = in.pick(kPeerMaxDatagramFrames);
    const std::size_t budget = in.pick(kBudgets);
    const std::uint8_t flags = in.byte();
    if (tracing()) fmt::print(stderr, "   slot {} as connection {}\n", slot, next_id_);
    if (slots_[slot] != nullptr) return;
    ConnState state;
    state.slot = slot;
    state.id = next_id_++;
    state.remote = &remotes()[remote % remotes().size()];
    state.peer_max_datagram_frame_size = frame_size;
    state.datagram_budget = budget;
    state.exporter_fails = (flags & 0x0f) == 0x0f;
    state.acks_promptly = (flags & 0x10) == 0;
    state.queue_full_drops = (flags & 0x20) != 0 ? 7 : 0;
    slots_[slot] = std::make_unique<FakeConnection>(*this, std::move(state));
    // Most connections complete their handshake at once.
    if ((flags & 0x40) == 0) {
      FakeConnection& conn = *slots_[slot];
      conn.state().handshake_completed = true;
      conn.state().reported = true;
      relay_->on_handshake_completed(conn);
    }
  }

  void deliver_stream(FakeConnection& conn, std::int64_t stream,
                      std::span<const std::uint8_t> bytes, bool fin) {
    conn.state().reported = true;
    if (stream == 0) conn.state().stream0_open = true;
    relay_->on_stream_data(conn, stream, bytes, fin);
  }

  void deliver_datagram(FakeConnection& conn, std::span<const std::uint8_t> bytes) {
    // QUIC delivers no DATAGRAM frame before the handshake (they are 1-RTT only).
    if (conn.state().handshake_completed) relay_->on_datagram(conn, bytes);
  }

  static ctrl::Hello hello(std::string_view role, std::size_t room, std::string_view mac,
                           std::int64_t max_datagram) {
    ctrl::Hello hello;
    hello.role = role;
    hello.room = kRooms[room];
    hello.mac = mac;
    hello.max_datagram = max_datagram;
    return hello;
  }

  std::string hello_mac(Reader& in) {
    const std::uint8_t selector = in.byte();
    if (selector < 240) return std::string(kMacs[selector % kMacs.size()]);
    return fmt::format("02:00:00:00:00:{:02x}", selector);
  }

  void stream_template(Reader& in) {
    FakeConnection* conn = conn_at(in.byte());
    const auto kind =
        static_cast<Template>(in.byte() % static_cast<std::uint8_t>(Template::kCount));
    if (tracing()) {
      fmt::print(stderr, "   template {}\n", kTemplateNames[static_cast<std::size_t>(kind)]);
    }
    std::string frame;
    Status built = ok();
    switch (kind) {
      case Template::kClientHello:
      case Template::kGatewayHello: {
        const std::size_t room = in.byte() % kRooms.size();
        const std::string mac = hello_mac(in);
        const std::int64_t max_datagram = in.pick(kMaxDatagrams);
        if (conn != nullptr) conn->state().hello_mac = mac;
        built = ctrl::append_frame(
            hello(kind == Template::kClientHello ? "client" : "gateway", room, mac, max_datagram),
            frame);
        break;
      }
      case Template::kClaimHello:
      case Template::kClaimOtherSlot: {
        const std::size_t key = in.byte() % 2;
        const std::size_t room = in.byte() % kRooms.size();
        const std::string mac = hello_mac(in);
        const std::int64_t max_datagram = in.pick(kMaxDatagrams);
        if (conn == nullptr) break;
        conn->state().hello_mac = mac;
        const std::size_t signed_slot =
            kind == Template::kClaimHello ? conn->state().slot : (conn->state().slot + 1) % kSlots;
        const auto& [room_key, room_proof] = credentials().claim(key, room, signed_slot);
        ctrl::Hello claim = hello("gateway", room, mac, max_datagram);
        claim.room_key = room_key;
        claim.room_proof = room_proof;
        built = ctrl::append_frame(claim, frame);
        break;
      }
      case Template::kInvitedHello: {
        const std::size_t key = in.byte() % 2;
        const std::size_t room = in.byte() % kRooms.size();
        const std::string mac = hello_mac(in);
        const std::int64_t max_datagram = in.pick(kMaxDatagrams);
        const std::uint8_t invite = in.byte();
        if (conn != nullptr) conn->state().hello_mac = mac;
        ctrl::Hello client = hello("client", room, mac, max_datagram);
        // The token's room is usually the hello's; sometimes another room's (auth_failed).
        const std::size_t token_room = (invite & 0x80) != 0 ? (room + 1) % kRooms.size() : room;
        client.invite = credentials().invite(key, token_room, invite % 3, (invite >> 2) % 4,
                                             (invite & 0x40) != 0);
        built = ctrl::append_frame(client, frame);
        break;
      }
      case Template::kDisconnect:
        built = ctrl::append_frame(ctrl::Disconnect{"bye"}, frame);
        break;
      case Template::kKick: {
        const std::uint8_t target = in.byte();
        const std::uint8_t reason = in.byte();
        std::uint16_t peer_id = target;
        if (const FakeConnection* victim = conn_at(target);
            target < 128 && victim != nullptr && victim->welcomed()) {
          peer_id = *victim->welcomed();
        }
        ctrl::Kick kick{.peer_id = peer_id == 0 ? std::uint16_t{1} : peer_id,
                        .reason = std::nullopt};
        if (reason % 3 == 1) kick.reason = "cheating";
        if (reason % 3 == 2) kick.reason = std::string(100, 'x');
        built = ctrl::append_frame(kick, frame);
        break;
      }
      case Template::kRevoke: {
        const std::uint8_t id = in.byte();
        const std::uint8_t exp = in.byte();
        ctrl::Revoke revoke{.invite_id = std::string(kInviteIds[id % kInviteIds.size()]),
                            .exp = std::nullopt};
        if (exp % 3 == 1) {
          revoke.exp = kRecordsEpoch.time_since_epoch().count() + 3600;
        } else if (exp % 3 == 2) {
          revoke.exp = kRecordsEpoch.time_since_epoch().count() - 10;
        }
        built = ctrl::append_frame(revoke, frame);
        break;
      }
      case Template::kUnknownType:
        built = ctrl::append_frame(std::string_view(R"({"type":"emote","what":"wave"})"), frame);
        break;
      case Template::kMalformedHello:
        built = ctrl::append_frame(
            std::string_view(R"({"type":"hello","protocol":1,"role":"client","room":"ROOM1"})"),
            frame);
        break;
      case Template::kInvalidHello: {
        const std::uint8_t which = in.byte();
        ctrl::Hello bad = hello("client", 0, kMacs[0], 1402);
        if (which % 3 == 0) bad.protocol = 2;
        if (which % 3 == 1) bad.room = "x";
        if (which % 3 == 2) bad.mac = "00:00:00:00:00:00";
        built = ctrl::append_frame(bad, frame);
        break;
      }
      case Template::kRelayOnlyMessage:
        built = ctrl::append_frame(ctrl::Stats{}, frame);
        break;
      case Template::kCount:
        break;
    }
    const std::uint8_t split = in.byte();
    if (conn == nullptr || !built || frame.empty()) return;
    const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size());
    // Split in two deliveries sometimes; a frame followed by more input bytes otherwise lands
    // whole, as one QUIC packet would carry it.
    const std::size_t cut = split < 128 ? bytes.size() : split % bytes.size();
    deliver_stream(*conn, 0, bytes.first(cut), false);
    if (slots_[conn->state().slot].get() == conn && cut < bytes.size()) {
      deliver_stream(*conn, 0, bytes.subspan(cut), false);
    }
  }

  void datagram_frame(Reader& in) {
    FakeConnection* conn = conn_at(in.byte());
    const std::uint8_t kind = in.byte();
    const std::uint8_t id_source = in.byte();
    const std::uint8_t destination = in.byte();
    const std::uint8_t length = in.byte();
    if (conn == nullptr) return;
    std::uint16_t peer_id = id_source;
    if (id_source < 200 && conn->welcomed()) peer_id = *conn->welcomed();
    std::vector<std::uint8_t> datagram(proto::kOverlayHeaderSize);
    const auto datagram_kind = kind % 4 == 3   ? static_cast<proto::DatagramKind>(kind)
                               : kind % 4 == 2 ? proto::DatagramKind::kProbe
                                               : proto::DatagramKind::kEthernet;
    proto::encode_overlay_header(
        std::span<std::uint8_t, proto::kOverlayHeaderSize>(datagram.data(), datagram.size()),
        datagram_kind, peer_id);
    std::array<std::uint8_t, 6> dst{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (destination % 4 == 1) {
      const FakeConnection* to = conn_at(destination >> 2);
      if (auto mac = proto::MacAddress::parse(
              to != nullptr && !to->state().hello_mac.empty() ? to->state().hello_mac : kMacs[0])) {
        dst = mac->bytes();
      }
    } else if (destination % 4 == 2) {
      dst = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    } else if (destination % 4 == 3) {
      dst = {0x02, 0x00, 0x00, 0x00, 0x00, destination};
    }
    std::array<std::uint8_t, 6> src{0x02, 0x99, 0x00, 0x00, 0x00, 0x01};
    if (kind < 128 && !conn->state().hello_mac.empty()) {
      if (auto mac = proto::MacAddress::parse(conn->state().hello_mac)) src = mac->bytes();
    }
    datagram.insert(datagram.end(), dst.begin(), dst.end());
    datagram.insert(datagram.end(), src.begin(), src.end());
    datagram.push_back(0x08);  // IPv4
    datagram.push_back(0x00);
    const std::size_t payload = std::array<std::size_t, 4>{46, 0, 1000, 1366}[length % 4];
    datagram.resize(datagram.size() + payload, length);
    deliver_datagram(*conn, datagram);
  }

  void peer_close(Reader& in) {
    FakeConnection* conn = conn_at(in.byte());
    const std::uint8_t how = in.byte();
    if (conn == nullptr) return;
    using Kind = quic::CloseInfo::Kind;
    quic::CloseInfo info = close_info(Kind::kPeerApplication, 0, "bye");
    switch (how % 6) {
      case 1:
        info.code = ctrl::app_error::kShutdown;
        break;
      case 2:
        info.code = ctrl::app_error::kProtocolViolation;
        break;
      case 3:
        info = close_info(Kind::kIdleTimeout, 0, "idle");
        break;
      case 4:
        info = close_info(Kind::kLocalTransport, 1, "stack error");
        break;
      case 5:
        info = close_info(Kind::kStatelessReset, 0, "reset");
        break;
      default:
        break;
    }
    deliver_close(conn->id(), info);
  }

  void deliver_local_closes() {
    auto closes = std::exchange(local_closes_, {});
    for (const auto& [id, code] : closes) {
      deliver_close(id, close_info(quic::CloseInfo::Kind::kLocalApplication, code, "closed"));
    }
  }

  void advance(Clock::duration step) {
    // The endpoint delivers on_closed in its flush, before the loop waits again.
    deliver_local_closes();
    if (loop_->now() - start_ + step > kMaxVirtualTime) return;
    (void)loop_->run_until([] { return false; }, step);
    deliver_local_closes();
  }

  void finish() {
    deliver_local_closes();
    for (auto& slot : slots_) {
      if (slot != nullptr) {
        deliver_close(slot->id(),
                      close_info(quic::CloseInfo::Kind::kIdleTimeout, 0, "end of input"));
      }
    }
    deliver_local_closes();
    if (relay_->connection_count() != 0 || relay_->rooms().peer_count() != 0 ||
        relay_->rooms().room_count() != 0) {
      invariant_failed(fmt::format(
          "every connection closed, yet the relay keeps {} links, {} "
          "peers and {} rooms",
          relay_->connection_count(), relay_->rooms().peer_count(), relay_->rooms().room_count()));
    }
    if (!cluster_) return;
    // The worker answers what is still queued (the relay lives on), then: a relay of a cluster
    // gives up the lease of every room that emptied (release_if_empty); one it kept would be
    // refreshed, and so held here, for as long as the relay lives. After shutdown() it holds
    // none; answers still in flight then may add some, harmlessly (its registration is gone,
    // and with it their leases' worth).
    for (std::size_t round = 0; deferred_->pending() != 0 && round < 4; ++round) {
      deferred_->complete(deferred_->pending());
    }
    if (!shut_down_ && deferred_->pending() == 0 && relay_->homed_count() != 0) {
      invariant_failed(fmt::format("every connection closed, yet the relay holds {} room leases",
                                   relay_->homed_count()));
    }
  }

  void check_invariants() const {
    std::size_t reported = 0;
    for (const auto& slot : slots_) {
      if (slot == nullptr) continue;
      const ConnState& state = slot->state();
      if (state.reported) ++reported;
      // A welcomed peer stays in the room table until the relay closes it at once (kick,
      // violation) or its connection is gone; a close after an ack keeps it until on_closed.
      if (state.welcomed_peer_id && !state.closed_by_relay) {
        const relay::Peer* peer = relay_->rooms().find_peer(*state.welcomed_peer_id);
        if (peer == nullptr || peer->connection != slot.get()) {
          invariant_failed(fmt::format(
              "connection {} was welcomed as peer {} and not closed, but the room table has {}",
              state.id, *state.welcomed_peer_id,
              peer == nullptr ? "no such peer" : "that id on another connection"));
        }
      }
    }
    if (relay_->connection_count() != reported) {
      invariant_failed(fmt::format("the relay keeps {} connections, {} are open and known to it",
                                   relay_->connection_count(), reported));
    }
    relay_->rooms().for_each_peer([&](const relay::Peer& peer) {
      const FakeConnection* owner = nullptr;
      for (const auto& slot : slots_) {
        if (slot.get() == peer.connection) owner = slot.get();
      }
      if (owner == nullptr) {
        invariant_failed(
            fmt::format("peer {} of room {} has no open connection", peer.id, peer.room->name));
      }
      // The table's own flag agrees with what the connection heard.
      if (owner->state().welcomed_peer_id && peer.welcome_pending) {
        invariant_failed(
            fmt::format("peer {} of room {} was welcomed but is still marked "
                        "welcome_pending",
                        peer.id, peer.room->name));
      }
      // Only a gateway whose claim is still being written sits in the table unwelcomed.
      if (!owner->state().welcomed_peer_id && !owner->state().send_refused) {
        if (!peer.welcome_pending) {
          invariant_failed(
              fmt::format("peer {} of room {} was never welcomed but is not marked "
                          "welcome_pending",
                          peer.id, peer.room->name));
        }
        const bool pending_claim = mode_ != relay::RoomMode::kOpen &&
                                   peer.role == ctrl::Role::kGateway && deferred_ != nullptr &&
                                   deferred_->pending() != 0;
        if (!pending_claim) {
          invariant_failed(
              fmt::format("peer {} of room {} is in the room table but connection "
                          "{} never got its welcome",
                          peer.id, peer.room->name, owner->state().id));
        }
      }
      // A relay of a cluster serves a room only while it may (check_welcome): once it heard
      // that another live relay holds the lease, every peer of the room here is being closed
      // at once, a gateway whose claim is being written included (it leaves the table).
      if (cluster_ && !owner->state().closing && !believed_.contains(peer.room->name)) {
        invariant_failed(fmt::format(
            "peer {} of room {} (connection {}) is still served here, but the relay was told "
            "another relay holds the room, or never that it holds it",
            peer.id, peer.room->name, owner->state().id));
      }
    });
  }

  io::SimNetwork net_;
  std::unique_ptr<io::EventLoop> loop_;
  Clock::time_point start_;
  std::chrono::seconds clock_jump_{0};
  std::size_t clock_jumps_ = 0;
  relay::RoomMode mode_ = relay::RoomMode::kOpen;
  // A relay of a cluster: the store the relays share, this relay's homing (called through the
  // recorder), the other relay, a second process with this relay's id, and the model.
  bool cluster_ = false;
  std::chrono::milliseconds store_skew_{0};
  std::shared_ptr<directory::MemoryHomingStore> store_;
  std::unique_ptr<directory::MemoryRoomHoming> this_relay_;
  std::unique_ptr<directory::MemoryRoomHoming> other_relay_;
  std::unique_ptr<directory::MemoryRoomHoming> impostor_;
  std::unique_ptr<HomingRecorder> recorder_;
  std::set<std::string, std::less<>> other_addresses_;  // every address the other registered
  std::set<std::string, std::less<>> believed_;         // rooms the relay last heard it holds
  std::unique_ptr<DeferredDirectory> deferred_;
  std::array<std::unique_ptr<FakeConnection>, kSlots> slots_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> local_closes_;  // id, code
  std::uint64_t next_id_ = 1;
  bool shut_down_ = false;
  std::unique_ptr<relay::Relay> relay_;  // last: destroyed first
};

// --- FakeConnection, which needs the harness ----------------------------------------------

FakeConnection::~FakeConnection() {
  if (state_.close_timer != 0) harness_.loop().cancel_timer(state_.close_timer);
}

Status FakeConnection::send_stream(std::int64_t stream_id, std::span<const std::uint8_t> data) {
  if (state_.closing) return fail(Errc::kClosed, "fake: closing");
  if (stream_id != 0 || !state_.stream0_open) return fail(Errc::kNotFound, "fake: no stream");
  if (state_.stream0_finished) return fail(Errc::kClosed, "fake: stream finished");
  if (state_.stream_blocked) {
    state_.send_refused = true;
    return fail(Errc::kWouldBlock, "fake: peer does not read");
  }
  state_.received.feed(data);
  for (;;) {
    auto next = state_.received.next();
    if (!next) {
      invariant_failed(fmt::format("the relay sent connection {} a bad control frame: {}",
                                   state_.id, ctrl::to_string(next.error())));
    }
    if (!next->has_value()) break;
    check_received(**next);
  }
  return ok();
}

void FakeConnection::check_received(const ctrl::Message& message) {
  // PROTOCOL.md section 2: the relay answers hello with welcome or reject, once.
  if (const auto* welcome = std::get_if<ctrl::Welcome>(&message)) {
    if ((state_.welcomed_peer_id || state_.rejected) && !state_.send_refused) {
      invariant_failed(fmt::format("connection {} got a second answer to its hello", state_.id));
    }
    if (harness_.shut_down()) {
      invariant_failed(fmt::format("connection {} was welcomed after shutdown()", state_.id));
    }
    harness_.check_welcome(state_.id, welcome->room);
    state_.welcomed_peer_id = welcome->peer_id;
    return;
  }
  if (const auto* reject = std::get_if<ctrl::Reject>(&message)) {
    if ((state_.welcomed_peer_id || state_.rejected) && !state_.send_refused) {
      invariant_failed(fmt::format("connection {} got a reject after its answer", state_.id));
    }
    harness_.check_reject(state_.id, *reject);
    state_.rejected = true;
    return;
  }
  if (!state_.welcomed_peer_id && !state_.send_refused) {
    invariant_failed(fmt::format("connection {} got {} before its welcome", state_.id,
                                 ctrl::encode_json(message)));
  }
  // Others hear of a peer once it is welcomed, never while its claim is being written.
  if (const auto* joined = std::get_if<ctrl::PeerJoined>(&message)) {
    const relay::Peer* peer = harness_.rooms().find_peer(joined->peer.peer_id);
    if (peer == nullptr || peer->welcome_pending) {
      invariant_failed(fmt::format("connection {} heard peer_joined of peer {}, which is {}",
                                   state_.id, joined->peer.peer_id,
                                   peer == nullptr ? "not in the table" : "not welcomed yet"));
    }
  }
}

Status FakeConnection::shutdown_stream_write(std::int64_t stream_id) {
  if (state_.closing) return fail(Errc::kClosed, "fake: closing");
  if (stream_id != 0 || !state_.stream0_open) return fail(Errc::kNotFound, "fake: no stream");
  state_.stream0_finished = true;
  return ok();
}

Status FakeConnection::send_datagram(std::span<const std::uint8_t> payload) {
  if (state_.closing) return fail(Errc::kClosed, "fake: closing");
  if (!state_.handshake_completed) return fail(Errc::kWouldBlock, "fake: no handshake");
  if (payload.size() > datagram_budget()) return fail(Errc::kTooLarge, "fake: over budget");
  if (!state_.welcomed_peer_id && !state_.send_refused) {
    invariant_failed(
        fmt::format("the relay sent connection {} a datagram before its welcome", state_.id));
  }
  if (!proto::parse_from_relay(payload)) {
    invariant_failed(
        fmt::format("the relay sent connection {} a datagram a peer must drop", state_.id));
  }
  ++state_.datagrams_received;
  return ok();
}

void FakeConnection::close(std::uint64_t app_error_code, std::string_view /*reason*/) {
  if (state_.closed_by_relay) return;
  state_.closed_by_relay = true;
  state_.closing = true;
  if (state_.close_timer != 0) harness_.loop().cancel_timer(std::exchange(state_.close_timer, 0));
  harness_.queue_local_close(state_.id, app_error_code);
}

void FakeConnection::close_after_ack(std::uint64_t app_error_code, std::string /*reason*/,
                                     std::chrono::milliseconds deadline,
                                     std::chrono::milliseconds linger_after_ack) {
  if (state_.closing) return;
  state_.closing = true;
  io::EventLoop& loop = harness_.loop();
  const auto wait = state_.acks_promptly ? std::min(deadline, linger_after_ack) : deadline;
  state_.close_timer =
      loop.add_timer(loop.now() + wait, [harness = &harness_, id = state_.id, app_error_code] {
        harness->deliver_close(id, close_info(quic::CloseInfo::Kind::kLocalApplication,
                                              app_error_code, "closed after ack"));
      });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in(std::span(data, size));
  const std::uint8_t config0 = in.byte();
  const std::uint8_t config1 = in.byte();
  const std::uint8_t config2 = Harness::is_cluster(config0, config1) ? in.byte() : 0;
  Harness harness(config0, config1, config2);
  harness.run(in);
  return 0;
}
