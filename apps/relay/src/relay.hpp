// SPDX-License-Identifier: MIT
// The relay's connection handler: admission on the control stream, forwarding of datagrams,
// periodic stats, leave notices and shutdown (PROTOCOL.md sections 2-5), and room ownership
// with invites, kicks and revocations (section 7).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "directory_worker.hpp"
#include "lanparty/base/token_bucket.hpp"
#include "lanparty/ctrl/codec.hpp"
#include "lanparty/directory/room_directory.hpp"
#include "lanparty/io/event_loop.hpp"
#include "lanparty/obs/counters.hpp"
#include "lanparty/obs/log.hpp"
#include "lanparty/quic/connection.hpp"
#include "peer_rate.hpp"
#include "room_auth.hpp"
#include "room_options.hpp"
#include "room_table.hpp"

namespace lanparty::relay {

inline constexpr std::size_t kDefaultMaxRoomsPerSource = 16;

// A relay of a Redis cluster homes each room it serves (docs/architecture.md, "Many relays").
struct HomingSettings {
  std::string advertise;  // this relay's public "HOST:PORT": its id and where peers are sent
  std::chrono::milliseconds lease = directory::kDefaultHomeLease;
  std::chrono::milliseconds refresh = directory::kDefaultHomeRefresh;
  // The registration's time to live and how often it is renewed: a dead relay's rooms are
  // free `liveness` after its death, however long their leases.
  std::chrono::milliseconds liveness = directory::kDefaultRelayLiveness;
  std::chrono::milliseconds liveness_refresh = directory::kDefaultLivenessRefresh;
};

struct RelayConfig {
  RoomLimits limits;
  std::chrono::milliseconds stats_interval{10000};  // 0 = off
  std::chrono::milliseconds hello_timeout{5000};
  // How long after the handshake a hello may wait for the relay's own path MTU discovery to
  // prove the datagram size the peer's hello announced (the client's Runner waits as long for
  // its side): welcomed sooner, the first full-size frames to the peer would be dropped.
  std::chrono::milliseconds path_mtu_wait{1500};
  std::chrono::milliseconds reject_linger{1000};  // longest wait for a reject's ack
  // After the ack, before the close: a peer whose stack acknowledges on arrival still gets to
  // read the reject (PROTOCOL.md section 2: 100 ms).
  std::chrono::milliseconds reject_linger_after_ack{100};
  // What one admitted peer may send (frames it sends past these are dropped, rate_limited).
  RateLimit peer_rate = kDefaultPeerRate;
  RateLimit peer_broadcast_rate = kDefaultPeerBroadcastRate;
  // Rooms one IPv4 address or IPv6 /64 may open: one host cannot fill --max-rooms alone.
  std::size_t max_rooms_per_source = kDefaultMaxRoomsPerSource;
  // New room records one source may write an hour (claims of rooms nobody owns; bursts of as
  // many): records last --room-ttl, so a source cycling through fresh keys could otherwise
  // fill --max-room-records for everyone. A returning owner spends nothing.
  double new_rooms_per_hour_per_source = 32;
  // Revokes one owner may send: each is a durable write (an fsync) on the relay's loop, so a
  // flood of them from one gateway would stall every room. Beyond it they are ignored and
  // counted, and the owner hears no `revoked` for them.
  double revokes_per_second = 10;
  double revoke_burst = 100;
  // Control bytes one connection may send: every frame is parsed JSON, so a peer streaming
  // 16 KiB frames at line rate would cost the relay a core. A party's control traffic (hello,
  // stats, a host's kicks and revokes) is a few hundred bytes now and then.
  double control_bytes_per_second = 32 * 1024;
  double control_burst_bytes = 128 * 1024;
  // Section 7. kOpen reads sections 1-6 only and needs no room records; the binary's default
  // is kClaimed (main.cpp), this struct's kOpen so that a bare config needs nothing more.
  RoomMode rooms = RoomMode::kOpen;
  OwnerKeys room_owners = {};  // kOwners: the keys that may claim rooms
  // How often a connected owner's last-seen time is written (owner_touch_interval()).
  std::chrono::milliseconds owner_touch_interval = std::chrono::hours(1);
  // How often forgotten records and lapsed revocations are purged from the room records.
  std::chrono::milliseconds records_expire_interval = std::chrono::hours(1);
  // The relay's clock for room records and invite expiry; empty: std::chrono::system_clock.
  // A seam for tests.
  std::function<directory::Seconds()> clock = {};
  // Set on a relay of a cluster: its executor must then have a homing (DirectoryWorker).
  std::optional<HomingSettings> homing = std::nullopt;
};

// The cause of a close with application error 4 (kicked), for the counters.
enum class KickCause : std::uint8_t {
  kOwnerKick,     // the owner sent `kick`
  kRevoked,       // the owner revoked the invite the client joined with
  kOwnerChanged,  // the room's record was forgotten and another key claimed the room
};
inline constexpr std::size_t kKickCauseCount = 3;
[[nodiscard]] std::string_view to_string(KickCause cause) noexcept;

// Every reject code has a counter; the enum is append-only, its last value is the count - 1.
inline constexpr std::size_t kRejectCodeCount =
    static_cast<std::size_t>(ctrl::RejectCode::kRedirect) + 1;

// Relay-wide totals for the metrics endpoint; they survive the peers they count.
struct RelayTotals {
  obs::TunnelCounters frames;  // rx = datagrams in (probes excluded), tx = frames out
  DropCounters drops;          // every drop, by reason, including not_admitted
  std::uint64_t probes = 0;
  std::uint64_t tx_too_large = 0;  // a target's current datagram budget was below the frame
  std::uint64_t admitted = 0;
  std::uint64_t rejected = 0;
  std::array<std::uint64_t, kRejectCodeCount> rejected_by_code{};  // by ctrl::RejectCode
  std::uint64_t rooms_claimed = 0;    // gateways that wrote a new room record
  std::uint64_t owners_returned = 0;  // gateways admitted to a room their key already owned
  std::array<std::uint64_t, kKickCauseCount> kicked{};  // clients closed with error 4
  std::uint64_t revocations = 0;                        // revokes recorded
  std::uint64_t owner_messages_ignored = 0;    // kicks and revokes that named nothing of theirs
  std::uint64_t room_record_errors = 0;        // room-record calls that failed (storage)
  std::uint64_t control_unread = 0;            // peers closed for not reading their control stream
  std::uint64_t rooms_per_source_refused = 0;  // new rooms refused: --max-rooms-per-source
  std::uint64_t control_flooded = 0;           // peers closed for control bytes past their budget
  std::uint64_t new_rooms_refused = 0;     // claims refused: the source's new-room budget is spent
  std::uint64_t revokes_rate_limited = 0;  // revokes past the owner's revokes_per_second
  // A relay of a cluster (RelayConfig::homing):
  std::uint64_t redirects = 0;      // hellos sent to the room's home relay (reject redirect)
  std::uint64_t homing_errors = 0;  // homing calls that failed (Redis down or slow)
  // Refreshes refused because another live relay process registered this --advertise.
  std::uint64_t advertise_conflicts = 0;
  std::uint64_t rooms_homed = 0;  // rooms this relay took a lease of
  std::uint64_t rooms_moved = 0;  // rooms whose lease another relay holds now: peers closed
};

class Relay final : public quic::ConnectionHandler {
 public:
  // The room records (not owned; must outlive the relay) are required unless config.rooms is
  // kOpen, where they are never used: `room_records`, called inline on the loop (SQLite, a
  // local file), or `executor`, which runs each call where it likes (DirectoryWorker: on its
  // own thread, for Redis) and hands the completion back to the loop.
  Relay(io::EventLoop& loop, RelayConfig config, obs::Logger logger,
        directory::RoomDirectory* room_records = nullptr, DirectoryExecutor* executor = nullptr);
  ~Relay() override;
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void on_handshake_completed(quic::Connection& conn) override;
  void on_stream_data(quic::Connection& conn, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_datagram(quic::Connection& conn, std::span<const std::uint8_t> datagram) override;
  void on_closed(quic::Connection& conn, const quic::CloseInfo& info) override;

  // Sends `disconnect` (reason shutdown) to every admitted peer and closes every connection
  // with application error 3 once that is acknowledged (or shortly after). A connection whose
  // handshake completes later is closed with 3 at once.
  void shutdown();

  [[nodiscard]] const RoomTable& rooms() const noexcept { return rooms_; }
  [[nodiscard]] const RelayTotals& totals() const noexcept { return totals_; }
  [[nodiscard]] std::size_t connection_count() const noexcept { return links_.size(); }
  // Rooms this relay holds the home lease of (a relay of a cluster).
  [[nodiscard]] std::size_t homed_count() const noexcept { return homed_.size(); }
  // The directory worker's counters (a relay of a cluster).
  [[nodiscard]] std::optional<DirectoryWorkerStats> directory_stats() const {
    return records_ != nullptr ? records_->worker_stats() : std::nullopt;
  }

 private:
  // kAwaitingDirectory: the hello is being checked against (or a claim written to) the room
  // records; control frames behind it stay buffered until the answer comes.
  enum class LinkState : std::uint8_t {
    kAwaitingHello,
    kAwaitingPathMtu,  // a valid hello waits for this side's datagram budget to grow
    kAwaitingDirectory,
    kAdmitted,
    kRejected,
    kClosing
  };
  // One QUIC connection's relay-side state, from the handshake to the close; once admitted it
  // has a room table Peer. ("Session" is client-core's sans-IO client, never this.)
  struct PeerLink {
    quic::Connection* conn = nullptr;
    LinkState state = LinkState::kAwaitingHello;
    ctrl::FrameDecoder decoder;
    std::int64_t control_stream = -1;
    Peer* peer = nullptr;
    io::EventLoop::TimerId hello_timer = 0;  // the hello deadline, then the path MTU poll
    io::EventLoop::Clock::time_point path_mtu_deadline{};
    io::EventLoop::TimerId stats_timer = 0;
    io::EventLoop::TimerId touch_timer = 0;
    bool unread_closing = false;              // close_unread() ran
    TokenBucket control_budget;               // RelayConfig::control_bytes_per_second
    TokenBucket revoke_budget;                // RelayConfig::revokes_per_second
    bool sent_disconnect = false;             // the peer said `disconnect`: its leave is "closed"
    io::EventLoop::TimerId unread_timer = 0;  // close_unread()'s deferred close
    std::optional<OwnerKey> owner_key;        // an admitted gateway of a claimed room: its key
    Peer* pending_peer = nullptr;  // in the room table, its claim being written (not welcomed)
  };

  PeerLink& link_for(quic::Connection& conn);
  void drain_control(PeerLink& link);
  void handle_message(PeerLink& link, ctrl::Message&& message);
  void handle_hello(PeerLink& link, const ctrl::Hello& hello);
  // Waits (kAwaitingPathMtu) while this side cannot yet send the datagrams `hello` announced
  // and path_mtu_deadline has not passed, then check_hello.
  void check_hello_when_path_ready(PeerLink& link, ctrl::ValidHello hello);
  void check_hello(PeerLink& link, const ctrl::ValidHello& hello);
  // Section 7's checks; nullopt when the hello was rejected. In open mode: an empty grant.
  struct AuthGrant {
    std::optional<OwnerKey> owner_key;  // gateway
    std::optional<InviteInfo> invite;   // client
  };
  std::optional<AuthGrant> authorize(PeerLink& link, const ctrl::ValidHello& hello,
                                     directory::Seconds now, directory::RoomDirectory& records);
  // Checks 6-11 and the welcome, after section 7's checks passed; a gateway then claims.
  void continue_hello(PeerLink& link, const ctrl::ValidHello& hello, AuthGrant grant,
                      std::optional<OwnerKey> known_owner, directory::Seconds now);
  // A relay of a cluster: homes the room here, or redirects the peer to its home, then
  // continue_hello. Otherwise continue_hello at once.
  void home_then_continue(PeerLink& link, const ctrl::ValidHello& hello, AuthGrant grant,
                          std::optional<OwnerKey> known_owner, directory::Seconds now);
  // Gives up the lease of `room` once no peer (admitted or pending) is left in it and no home
  // call for it is in flight.
  void release_if_empty(const std::string& room);
  // Every HomingSettings::refresh: registers this relay and extends its leases.
  void schedule_homing_refresh(std::chrono::milliseconds delay);
  void on_rooms_moved(const std::vector<std::string>& moved);
  // Closes a link because this relay stops serving its room (shutdown, or the room moved): an
  // admitted peer hears `disconnect` "shutdown" first, a peer not yet welcomed (a gateway
  // whose claim is being written) leaves the room table at once. Closing links are left be.
  void stop_serving(PeerLink& link, std::string_view why);
  // A peer whose claim was being written leaves the room table now (the relay is closing its
  // link: it will never be welcomed); its room is given up if that emptied it.
  void forget_pending_peer(PeerLink& link);
  // The link of `conn_id` if it still waits for the room records, else null.
  PeerLink* awaiting_directory(std::uint64_t conn_id);
  // After a deferred directory answer: reads control frames that came behind the hello.
  void resume_control(std::uint64_t conn_id);
  // Writes the gateway's claim (`known_owner`: the record's owner read for the checks), then
  // admits it, or rejects it with the admission undone.
  void record_claim(PeerLink& link, const ctrl::ValidHello& hello, Peer& peer, const OwnerKey& key,
                    std::optional<OwnerKey> known_owner, directory::Seconds now);
  bool finish_claim(PeerLink& link, const ctrl::ValidHello& hello, Peer& peer, const OwnerKey& key,
                    const Result<directory::ClaimOutcome>& outcome);
  void finish_revoke(std::uint64_t owner_conn, const std::string& room_name,
                     const ctrl::Revoke& revoke, const Status& recorded);
  void reject(PeerLink& link, ctrl::RejectCode code, std::string message, std::string_view why = {},
              std::optional<std::string> relay = std::nullopt);
  void violation(PeerLink& link, std::string_view why);
  [[nodiscard]] ctrl::Welcome make_welcome(const Peer& peer) const;
  void admit(PeerLink& link, Peer& peer);
  // --max-rooms-per-source: whether this hello would open one room too many for its source.
  [[nodiscard]] bool over_rooms_per_source(const PeerLink& link,
                                           const ctrl::ValidHello& hello) const;
  void forget_room_source(const std::string& room);
  void leave(PeerLink& link, ctrl::LeaveReason reason);
  void handle_kick(PeerLink& owner, const ctrl::Kick& kick);
  void handle_revoke(PeerLink& owner, const ctrl::Revoke& revoke);
  // Closes a client with application error 4 and `phrase`; the rest of the room hears
  // peer_left "kicked" at once.
  void kick_client(PeerLink& target, KickCause cause, std::string_view phrase);
  void touch_owner(PeerLink& link);
  void schedule_owner_touch(PeerLink& link);
  void schedule_records_expiry();
  // After a flood ends, hands the freed heap back to the system (every 5 s, when large).
  [[nodiscard]] directory::Seconds records_now() const;
  void note_records_error(std::string_view what, const Error& error);
  void send_control(PeerLink& link, const ctrl::Message& message);
  // The peer left more control data unacknowledged than the connection keeps: it does not
  // read its control stream. Closed with application error 1, from the loop.
  void close_unread(PeerLink& link);
  void send_stats(PeerLink& link);
  void schedule_stats(PeerLink& link);

  void drop(Peer* peer, proto::DropReason reason) noexcept;
  void send_frame(Peer& target, std::span<const std::uint8_t> datagram) noexcept;

  io::EventLoop& loop_;
  RelayConfig config_;
  obs::Logger log_;
  std::unique_ptr<InlineDirectory> inline_records_;  // room_records given without an executor
  DirectoryExecutor* records_ = nullptr;             // null in open mode
  io::EventLoop::TimerId expire_timer_ = 0;
  RoomTable rooms_;
  RelayTotals totals_;
  std::unordered_map<std::uint64_t, std::unique_ptr<PeerLink>> links_;
  std::vector<std::uint8_t> probe_reply_;  // reused: no allocation per probe
  std::string control_out_;                // reused encode buffer for control frames
  // Who opened each live room, and how many live rooms each source opened.
  std::unordered_map<std::string, io::SourcePrefix> room_sources_;
  std::unordered_map<io::SourcePrefix, std::size_t, io::SourcePrefixHash> rooms_by_source_;
  // Per source: the new room records it may still write (RelayConfig, per hour).
  std::unordered_map<io::SourcePrefix, TokenBucket, io::SourcePrefixHash> new_room_budget_;
  bool shutting_down_ = false;             // shutdown() ran: later handshakes are closed at once
  HomingExecutor* homing_ = nullptr;       // a relay of a cluster: RelayConfig::homing is set
  std::unordered_set<std::string> homed_;  // rooms whose home lease this relay holds
  // Home calls in flight, per room: a room's lease is not released while one is.
  std::unordered_map<std::string, std::size_t> homing_in_flight_;
  io::EventLoop::TimerId homing_timer_ = 0;
  io::EventLoop::Clock::time_point next_lease_refresh_{};  // leases renew less often
};

}  // namespace lanparty::relay
