// SPDX-License-Identifier: MIT
#include "relay.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "forwarding.hpp"
#include "lanparty/base/check.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/ctrl/invite_link.hpp"
#include "lanparty/obs/frame_event.hpp"
#include "lanparty/proto/mtu.hpp"
#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::relay {
namespace {

constexpr std::uint64_t kAppNoError = ctrl::app_error::kNoError;
constexpr std::uint64_t kAppProtocolViolation = ctrl::app_error::kProtocolViolation;
constexpr std::uint64_t kAppRejected = ctrl::app_error::kRejected;
constexpr std::uint64_t kAppShutdown = ctrl::app_error::kShutdown;
constexpr std::uint64_t kAppKicked = ctrl::app_error::kKicked;

constexpr std::chrono::milliseconds kShutdownLinger{500};
constexpr std::chrono::milliseconds kPathMtuPoll{20};

// A storage failure is the relay's problem, not the peer's: PROTOCOL.md has no code for it,
// and relay_full ("this relay cannot take you now") is the one that sends the peer elsewhere
// or back later without blaming its key or invite.
constexpr std::string_view kRecordsUnavailable =
    "this relay cannot read or write its room records right now; try again later";

std::string reject_text(ctrl::RejectCode code, const ctrl::ValidHello* hello,
                        const RoomTable& rooms) {
  using ctrl::RejectCode;
  switch (code) {
    case RejectCode::kGatewayExists:
      return fmt::format("room {} already has a gateway", hello->room);
    case RejectCode::kDuplicateMac:
      return fmt::format("{} is already in room {}", hello->mac.to_string(), hello->room);
    case RejectCode::kRoomFull:
      return fmt::format("room {} has {} peers, the most this relay allows", hello->room,
                         rooms.limits().max_peers_per_room);
    case RejectCode::kRelayFull:
      return fmt::format("this relay holds {} rooms, the most it allows", rooms.limits().max_rooms);
    case RejectCode::kMtuTooSmall: {
      const Room* room = rooms.find_room(hello->room);
      if (room != nullptr) {
        return fmt::format("room {} carries {}-byte packets; your datagram budget allows less",
                           hello->room, room->mtu);
      }
      return fmt::format("your datagram budget cannot carry {}-byte packets", proto::kMinRoomMtu);
    }
    case RejectCode::kDatagramsUnsupported:
      return "your QUIC connection did not offer DATAGRAM frames (max_datagram_frame_size)";
    case RejectCode::kUnsupportedProtocol:
      return fmt::format("this relay speaks protocol {}", ctrl::kProtocolVersion);
    case RejectCode::kMalformedHello:
      return "hello is missing a field, has one of the wrong type, or max_datagram is outside "
             "64..65535";
    case RejectCode::kInvalidRole:
      return "role must be \"client\" or \"gateway\"";
    case RejectCode::kInvalidRoom:
      return "room must match [A-Za-z0-9][A-Za-z0-9_-]{2,31}";
    case RejectCode::kInvalidMac:
      return "mac must be a unicast, non-zero MAC address like 02:5a:11:22:33:44";
    case RejectCode::kAuthRequired:
      return fmt::format(
          "room {} belongs to its host: a gateway proves the room key, a player "
          "brings an invite",
          hello->room);
    case RejectCode::kAuthFailed:
      return fmt::format("the room key proof or invite for room {} does not verify", hello->room);
    case RejectCode::kRoomOwned:
      return fmt::format("room {} belongs to another room key", hello->room);
    case RejectCode::kInviteExpired:
      return "this invite has expired";
    case RejectCode::kInviteRevoked:
      return "the host has revoked this invite";
    case RejectCode::kRedirect:
      return "the room is served by another relay of this cluster";
  }
  return "rejected";
}

// A peers[] entry. The invite's name goes to everyone; its id only to the room's gateway,
// which revokes by it.
ctrl::PeerInfo peer_info(const Peer& peer, bool to_gateway) {
  ctrl::PeerInfo info;
  info.peer_id = peer.id;
  info.role = peer.role;
  info.mac = peer.mac;
  if (peer.invite) {
    info.name = peer.invite->name;
    if (to_gateway) info.invite_id = peer.invite->id;
  }
  return info;
}

ctrl::LeaveReason leave_reason_for(const quic::CloseInfo& info, bool sent_disconnect) {
  using Kind = quic::CloseInfo::Kind;
  if (sent_disconnect) return ctrl::LeaveReason::kClosed;
  switch (info.kind) {
    case Kind::kPeerApplication:
      return info.code == kAppNoError || info.code == kAppShutdown ? ctrl::LeaveReason::kClosed
                                                                   : ctrl::LeaveReason::kLost;
    case Kind::kIdleTimeout:
      return ctrl::LeaveReason::kTimeout;
    case Kind::kLocalApplication:
    case Kind::kLocalTransport:
      return ctrl::LeaveReason::kKicked;
    default:
      return ctrl::LeaveReason::kLost;
  }
}

}  // namespace

std::string_view to_string(KickCause cause) noexcept {
  switch (cause) {
    case KickCause::kOwnerKick:
      return "kick";
    case KickCause::kRevoked:
      return "invite_revoked";
    case KickCause::kOwnerChanged:
      return "owner_changed";
  }
  return "unknown";
}

Relay::Relay(io::EventLoop& loop, RelayConfig config, obs::Logger logger,
             directory::RoomDirectory* room_records, DirectoryExecutor* executor)
    : loop_(loop), config_(std::move(config)), log_(logger), rooms_(config_.limits) {
  if (config_.rooms != RoomMode::kOpen) {
    if (executor == nullptr && room_records != nullptr) {
      inline_records_ = std::make_unique<InlineDirectory>(*room_records);
      executor = inline_records_.get();
    }
    records_ = executor;
  }
  LANPARTY_CHECK(config_.rooms == RoomMode::kOpen || records_ != nullptr);
  if (config_.homing) {
    homing_ = records_ != nullptr ? records_->homing() : nullptr;
    LANPARTY_CHECK(homing_ != nullptr);
    schedule_homing_refresh(std::chrono::milliseconds(0));  // registers before any hello
  }
  probe_reply_.reserve(65536);
  if (records_ != nullptr) schedule_records_expiry();
}

Relay::~Relay() {
  for (auto& [id, link] : links_) {
    if (link->hello_timer != 0) loop_.cancel_timer(link->hello_timer);
    if (link->stats_timer != 0) loop_.cancel_timer(link->stats_timer);
    if (link->touch_timer != 0) loop_.cancel_timer(link->touch_timer);
    if (link->unread_timer != 0) loop_.cancel_timer(link->unread_timer);
  }
  if (expire_timer_ != 0) loop_.cancel_timer(expire_timer_);
  if (homing_timer_ != 0) loop_.cancel_timer(homing_timer_);
}

Relay::PeerLink& Relay::link_for(quic::Connection& conn) {
  if (auto* existing = static_cast<PeerLink*>(conn.user_data())) return *existing;
  auto link = std::make_unique<PeerLink>();
  link->conn = &conn;
  // An open relay reads sections 1-6 only: section 7's fields are unknown fields there, and
  // kick/revoke unknown types.
  link->decoder =
      ctrl::FrameDecoder(ctrl::DecodeOptions{.room_ownership = config_.rooms != RoomMode::kOpen});
  link->control_budget = TokenBucket(config_.control_bytes_per_second, config_.control_burst_bytes);
  link->revoke_budget = TokenBucket(config_.revokes_per_second, config_.revoke_burst);
  PeerLink* raw = link.get();
  links_.emplace(conn.id(), std::move(link));
  conn.set_user_data(raw);
  return *raw;
}

void Relay::on_handshake_completed(quic::Connection& conn) {
  PeerLink& link = link_for(conn);
  log_.info("relay.connection_open", {{"conn", conn.id()}, {"remote", conn.remote_address()}});
  if (shutting_down_) {
    // A handshake that finishes after shutdown() would otherwise wait for a hello the relay
    // must not admit.
    link.state = LinkState::kClosing;
    conn.close(kAppShutdown, "shutdown");
    return;
  }
  // The hello clock starts at handshake completion; partial data does not restart it.
  link.path_mtu_deadline = loop_.now() + config_.path_mtu_wait;
  const std::uint64_t conn_id = conn.id();
  link.hello_timer = loop_.add_timer(loop_.now() + config_.hello_timeout, [this, conn_id] {
    const auto it = links_.find(conn_id);
    if (it == links_.end()) return;
    PeerLink& s = *it->second;
    s.hello_timer = 0;
    if (s.state == LinkState::kAwaitingHello) violation(s, "no hello within 5 s");
  });
  // Bytes that came before the handshake completed waited for it (section 7: a hello is read
  // only after the handshake, so its claim can be bound to the finished connection).
  drain_control(link);
}

void Relay::on_stream_data(quic::Connection& conn, std::int64_t stream_id,
                           std::span<const std::uint8_t> data, bool /*fin*/) {
  PeerLink& link = link_for(conn);
  if (link.state == LinkState::kRejected || link.state == LinkState::kClosing) return;
  // The control stream is the first client-initiated bidirectional stream; other streams carry
  // nothing in protocol 1 and are ignored for forward compatibility.
  if (stream_id != 0) {
    log_.debug("relay.ignored_stream", {{"conn", conn.id()}, {"stream", stream_id}});
    return;
  }
  link.control_stream = stream_id;
  if (!link.control_budget.take(loop_.now(), static_cast<double>(data.size()))) {
    ++totals_.control_flooded;
    violation(link, "control bytes faster than a party sends them");
    return;
  }
  link.decoder.feed(data);
  if (!conn.handshake_completed()) return;
  drain_control(link);
}

void Relay::drain_control(PeerLink& link) {
  if (link.state != LinkState::kAwaitingHello && link.state != LinkState::kAdmitted) {
    return;
  }
  for (;;) {
    auto next = link.decoder.next();
    if (!next) {
      violation(link, fmt::format("control frame: {}", ctrl::to_string(next.error())));
      return;
    }
    if (!next->has_value()) return;
    handle_message(link, std::move(**next));
    // Rejected or closing: nothing more is read. Waiting (for the path or the records): the
    // frames behind the hello stay buffered until the wait ends.
    if (link.state != LinkState::kAwaitingHello && link.state != LinkState::kAdmitted) {
      return;
    }
  }
}

void Relay::handle_message(PeerLink& link, ctrl::Message&& message) {
  if (link.state == LinkState::kAwaitingHello) {
    // Before admission the first frame must be hello; anything else closes with error 1 and no
    // reject.
    if (const auto* hello = std::get_if<ctrl::Hello>(&message)) {
      handle_hello(link, *hello);
    } else if (std::holds_alternative<ctrl::MalformedHello>(message)) {
      reject(link, ctrl::RejectCode::kMalformedHello,
             reject_text(ctrl::RejectCode::kMalformedHello, nullptr, rooms_));
    } else {
      violation(link, "first control frame is not hello");
    }
    return;
  }
  // Admitted: a second hello or a relay-only message is a violation; disconnect is noted;
  // unknown types are ignored for forward compatibility.
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ctrl::Disconnect>) {
          link.sent_disconnect = true;
          log_.info("relay.peer_disconnect", {{"peer_id", link.peer->id}, {"reason", m.reason}});
        } else if constexpr (std::is_same_v<T, ctrl::Kick> || std::is_same_v<T, ctrl::Revoke>) {
          // Only decoded in claimed/owners mode, where every admitted gateway owns its room.
          if (!link.owner_key) {
            violation(link,
                      "kick and revoke are owner messages; only the room's gateway "
                      "may send them");
          } else if constexpr (std::is_same_v<T, ctrl::Kick>) {
            handle_kick(link, m);
          } else {
            handle_revoke(link, m);
          }
        } else if constexpr (std::is_same_v<T, ctrl::UnknownMessage>) {
          log_.debug("relay.ignored_message", {{"peer_id", link.peer->id}, {"type", m.type}});
        } else if constexpr (std::is_same_v<T, ctrl::Hello> ||
                             std::is_same_v<T, ctrl::MalformedHello>) {
          violation(link, "second hello");
        } else {
          violation(link, "peer sent a message only the relay may send");
        }
      },
      message);
}

void Relay::handle_hello(PeerLink& link, const ctrl::Hello& hello) {
  if (link.hello_timer != 0) {
    loop_.cancel_timer(link.hello_timer);
    link.hello_timer = 0;
  }
  auto valid = ctrl::validate_hello(hello);
  if (!valid) {
    reject(link, valid.error(), reject_text(valid.error(), nullptr, rooms_));
    return;
  }
  check_hello_when_path_ready(link, std::move(*valid));
}

void Relay::check_hello_when_path_ready(PeerLink& link, ctrl::ValidHello hello) {
  // ngtcp2 sends nothing above the path size its own PMTUD proved, which starts at 1200 bytes:
  // the peer's hello speaks for its direction only. Usually this side's probe was answered
  // before the hello came; on a loaded host it may not have been.
  const Room* room = rooms_.find_room(hello.room);
  const std::size_t room_mtu = room != nullptr ? room->mtu : config_.limits.max_mtu;
  const std::size_t wanted =
      std::min(proto::peer_budget(hello.max_datagram, link.conn->peer_max_datagram_frame_size()),
               proto::max_datagram_for_mtu(room_mtu));
  if (link.conn->datagram_budget() < wanted && loop_.now() < link.path_mtu_deadline) {
    link.state = LinkState::kAwaitingPathMtu;
    const std::uint64_t conn_id = link.conn->id();
    link.hello_timer =
        loop_.add_timer(loop_.now() + kPathMtuPoll, [this, conn_id, hello = std::move(hello)] {
          const auto it = links_.find(conn_id);
          if (it == links_.end() || it->second->state != LinkState::kAwaitingPathMtu) return;
          PeerLink& s = *it->second;
          s.hello_timer = 0;
          s.state = LinkState::kAwaitingHello;
          check_hello_when_path_ready(s, hello);
          if (s.state == LinkState::kAdmitted) drain_control(s);  // frames behind the hello
        });
    return;
  }
  check_hello(link, hello);
}

void Relay::check_hello(PeerLink& link, const ctrl::ValidHello& hello) {
  if (over_rooms_per_source(link, hello)) {
    ++totals_.rooms_per_source_refused;
    reject(link, ctrl::RejectCode::kRelayFull,
           fmt::format("your address already holds {} rooms on this relay, the most one "
                       "address may",
                       config_.max_rooms_per_source),
           "--max-rooms-per-source");
    return;
  }
  if (config_.rooms == RoomMode::kOpen) {
    continue_hello(link, hello, AuthGrant{}, std::nullopt, records_now());
    return;
  }
  // Section 7's checks sit between check 5 (done above) and check 6 (rooms_.admit). They need
  // the room's record, read by the directory executor: at once for SQLite, on the worker
  // thread for Redis, where the link waits (kAwaitingDirectory) and frames behind the
  // hello stay buffered.
  const directory::Seconds now = records_now();
  link.state = LinkState::kAwaitingDirectory;
  const std::uint64_t conn_id = link.conn->id();
  records_->submit([this, conn_id, hello = hello, now](directory::RoomDirectory& dir) mutable {
    auto record = dir.lookup(hello.room, now);  // on the worker thread: nothing of the relay
    return std::function<void()>(
        [this, conn_id, hello = std::move(hello), now, record = std::move(record)]() mutable {
          PeerLink* s = awaiting_directory(conn_id);
          if (s == nullptr) return;
          s->state = LinkState::kAwaitingHello;
          PrefetchedRecord prefetched(hello.room, std::move(record));
          auto grant = authorize(*s, hello, now, prefetched);
          if (!grant) return;
          const std::optional<OwnerKey> known_owner = prefetched.owner();
          home_then_continue(*s, hello, std::move(*grant), known_owner, now);
        });
  });
}

void Relay::home_then_continue(PeerLink& link, const ctrl::ValidHello& hello, AuthGrant grant,
                               std::optional<OwnerKey> known_owner, directory::Seconds now) {
  const std::uint64_t conn_id = link.conn->id();
  if (homing_ == nullptr || homed_.contains(hello.room)) {
    continue_hello(link, hello, std::move(grant), known_owner, now);
    release_if_empty(hello.room);
    resume_control(conn_id);
    return;
  }
  // A room nobody serves is homed here, whatever the role: the first relay a peer reaches
  // after the home relay died re-homes it. A room another live relay serves stays there, for
  // its gateway too (docs/architecture.md: taking a live lease over would split the party).
  link.state = LinkState::kAwaitingDirectory;
  ++homing_in_flight_[hello.room];
  homing_->submit_homing([this, conn_id, hello, grant = std::move(grant), known_owner, now,
                          lease = config_.homing->lease](directory::RoomHoming* homing) {
    Result<directory::Home> home =
        homing != nullptr
            ? homing->home(hello.room, lease)
            : fail(Errc::kTimedOut, "room directory: no answer in time (is it down?)");
    return std::function<void()>([this, conn_id, hello, grant, known_owner, now,
                                  home = std::move(home)]() mutable {
      if (const auto in_flight = homing_in_flight_.find(hello.room);
          in_flight != homing_in_flight_.end() && --in_flight->second == 0) {
        homing_in_flight_.erase(in_flight);
      }
      if (home && home->mine && homed_.insert(hello.room).second) ++totals_.rooms_homed;
      PeerLink* s = awaiting_directory(conn_id);
      if (s == nullptr) {
        release_if_empty(hello.room);  // closed meanwhile
        return;
      }
      s->state = LinkState::kAwaitingHello;
      if (!home) {
        ++totals_.homing_errors;
        log_.error(
            "relay.homing_failed",
            {{"operation", "home"}, {"room", hello.room}, {"error", home.error().describe()}});
        reject(*s, ctrl::RejectCode::kRelayFull, std::string(kRecordsUnavailable),
               home.error().describe());
        release_if_empty(hello.room);  // kept while this call was in flight
        return;
      }
      if (!home->mine) {
        if (!ctrl::parse_relay_address(home->address) ||
            home->address.size() > ctrl::kMaxRedirectRelayBytes) {
          ++totals_.homing_errors;
          log_.error("relay.homing_failed", {{"operation", "home"},
                                             {"room", hello.room},
                                             {"error", "the home relay registered a bad address"},
                                             {"address", home->address}});
          reject(*s, ctrl::RejectCode::kRelayFull, std::string(kRecordsUnavailable),
                 "home relay address");
          release_if_empty(hello.room);
          return;
        }
        ++totals_.redirects;
        reject(*s, ctrl::RejectCode::kRedirect,
               fmt::format("room {} is served by relay {} of this cluster; connect there",
                           hello.room, home->address),
               fmt::format("homed on {}", home->relay_id), home->address);
        release_if_empty(hello.room);
        return;
      }
      continue_hello(*s, hello, std::move(grant), known_owner, now);
      release_if_empty(hello.room);
      resume_control(conn_id);
    });
  });
}

void Relay::release_if_empty(const std::string& room) {
  if (homing_ == nullptr || shutting_down_ || rooms_.find_room(room) != nullptr) return;
  // A home call for the room still in flight ran, or will run, before a release sent now
  // would, and may have re-taken the lease for a peer about to be let in: the lease is kept
  // (and refreshed) until that call's completion, which comes back here.
  if (homing_in_flight_.contains(room)) return;
  if (homed_.erase(room) == 0) return;
  homing_->submit_homing([room](directory::RoomHoming* homing) {
    // Not released (Redis down): the lease runs out by itself within HomingSettings::lease.
    if (homing != nullptr) (void)homing->release(room);
    return std::function<void()>([] {});
  });
}

void Relay::schedule_homing_refresh(std::chrono::milliseconds delay) {
  homing_timer_ = loop_.add_timer(loop_.now() + delay, [this] {
    homing_timer_ = 0;
    const HomingSettings& settings = *config_.homing;
    // The registration is this relay's liveness: renewed every beat. The leases only every
    // `refresh` (one script per 256 rooms); a lease counts only while its relay is live.
    std::vector<std::string> rooms;
    if (loop_.now() >= next_lease_refresh_) {
      next_lease_refresh_ = loop_.now() + settings.refresh;
      rooms.assign(homed_.begin(), homed_.end());
    }
    homing_->submit_homing([this, rooms = std::move(rooms), address = settings.advertise,
                            lease = settings.lease, liveness = settings.liveness,
                            load = rooms_.room_count()](directory::RoomHoming* homing) {
      Status registered = fail(Errc::kTimedOut, "room directory: no answer in time (is it down?)");
      Result<std::vector<std::string>> moved = tl::unexpected(registered.error());
      if (homing != nullptr) {
        registered = homing->register_relay(address, load, liveness);
        moved = homing->refresh(rooms, lease);
      }
      return std::function<void()>([this, registered = std::move(registered),
                                    moved = std::move(moved)] {
        if (!registered && registered.error().code == std::errc::address_in_use) {
          // Two relays with one --advertise (the second was started while this one could
          // not reach Redis): they would share rooms and redirects. An operator must act.
          ++totals_.advertise_conflicts;
          log_.error("relay.advertise_in_use",
                     {{"advertise", config_.homing->advertise},
                      {"error", registered.error().describe()},
                      {"advice", "stop one of them or give it its own --advertise"}});
        } else if (!registered || !moved) {
          ++totals_.homing_errors;
          log_.error("relay.homing_failed",
                     {{"operation", "refresh"},
                      {"error", (!registered ? registered.error() : moved.error()).describe()},
                      {"advice", "live rooms keep forwarding; the relay retries every refresh"}});
          return;
        }
        if (moved) on_rooms_moved(*moved);
      });
    });
    schedule_homing_refresh(std::min(settings.liveness_refresh, settings.refresh));
  });
}

void Relay::on_rooms_moved(const std::vector<std::string>& moved) {
  for (const std::string& room_name : moved) {
    // Another relay took the lease (ours ran out while Redis or this relay was unreachable):
    // the room lives there now. Its peers here reconnect and are sent to it.
    if (homed_.erase(room_name) == 0) continue;
    ++totals_.rooms_moved;
    std::vector<PeerLink*> peers;
    if (const Room* room = rooms_.find_room(room_name)) {
      for (const Peer* peer : room->peers) {
        if (peer->connection == nullptr) continue;
        if (auto* s = static_cast<PeerLink*>(peer->connection->user_data())) peers.push_back(s);
      }
    }
    log_.warn("relay.room_moved", {{"room", room_name}, {"peers_closed", peers.size()}});
    // A gateway whose claim is still being written goes too: welcomed later, it would hold a
    // room that lives on another relay.
    for (PeerLink* s : peers) stop_serving(*s, "room moved to another relay");
  }
}

void Relay::stop_serving(PeerLink& link, std::string_view why) {
  if (link.state == LinkState::kAdmitted) {
    send_control(link, ctrl::Disconnect{"shutdown"});
    link.state = LinkState::kClosing;
    link.conn->close_after_ack(kAppShutdown, std::string(why), kShutdownLinger);
  } else if (link.state == LinkState::kAwaitingHello || link.state == LinkState::kAwaitingPathMtu ||
             link.state == LinkState::kAwaitingDirectory) {
    // Not welcomed: no disconnect (section 2 knows none before welcome), only the close. A
    // directory call still in flight finds the link closing and does nothing.
    forget_pending_peer(link);
    link.state = LinkState::kClosing;
    link.conn->close(kAppShutdown, why);
  }
}

Relay::PeerLink* Relay::awaiting_directory(std::uint64_t conn_id) {
  const auto it = links_.find(conn_id);
  if (it == links_.end()) return nullptr;  // closed meanwhile
  PeerLink& s = *it->second;
  return s.state == LinkState::kAwaitingDirectory ? &s : nullptr;
}

void Relay::resume_control(std::uint64_t conn_id) {
  // Inline, the drain that delivered the hello goes on by itself.
  if (!records_->deferred()) return;
  const auto it = links_.find(conn_id);
  if (it != links_.end()) drain_control(*it->second);
}

void Relay::continue_hello(PeerLink& link, const ctrl::ValidHello& valid_hello, AuthGrant grant,
                           std::optional<OwnerKey> known_owner, directory::Seconds now) {
  const ctrl::ValidHello* valid = &valid_hello;
  auto admitted = rooms_.admit(
      AdmissionInput{.hello = *valid,
                     .peer_max_datagram_frame_size = link.conn->peer_max_datagram_frame_size(),
                     .invite = std::move(grant.invite)});
  if (!admitted) {
    reject(link, admitted.error(), reject_text(admitted.error(), &*valid, rooms_));
    return;
  }
  Peer& peer = **admitted;
  peer.connection = link.conn;
  // The welcome lists every other peer; a room whose list no longer fits one 16 KiB control
  // frame (many peers with long, escaped invite names) is full for this peer: never send an
  // invalid frame (section 2).
  control_out_.clear();
  if (!ctrl::append_frame(make_welcome(peer), control_out_)) {
    rooms_.remove(&peer);
    reject(link, ctrl::RejectCode::kRoomFull,
           fmt::format("room {} has more peers than one welcome can list", valid->room),
           "welcome would exceed 16 KiB");
    return;
  }
  // Only a gateway that passed every check claims: the record is written (durably) now,
  // before its welcome goes out.
  if (grant.owner_key) {
    record_claim(link, *valid, peer, *grant.owner_key, known_owner, now);
    return;
  }
  admit(link, peer);
}

std::optional<Relay::AuthGrant> Relay::authorize(PeerLink& link, const ctrl::ValidHello& hello,
                                                 directory::Seconds now,
                                                 directory::RoomDirectory& records) {
  tl::expected<AuthGrant, AuthReject> checked = tl::unexpected(AuthReject{});
  if (hello.role == ctrl::Role::kGateway) {
    auto ekm = link.conn->export_keying_material(ctrl::kRoomClaimExporterLabel);
    if (!ekm) {
      log_.error("relay.exporter_failed",
                 {{"conn", link.conn->id()}, {"error", ekm.error().describe()}});
      reject(link, ctrl::RejectCode::kRelayFull,
             "this relay cannot check room claims right now; try again later",
             "TLS exporter failed");
      return std::nullopt;
    }
    const OwnerKeys* listed = config_.rooms == RoomMode::kOwners ? &config_.room_owners : nullptr;
    checked = check_gateway_claim(hello, *ekm, listed, records, now).transform([](OwnerKey key) {
      return AuthGrant{.owner_key = key, .invite = std::nullopt};
    });
  } else {
    checked = check_client_invite(hello, records, now).transform([](InviteGrant grant) {
      return AuthGrant{.owner_key = std::nullopt,
                       .invite = InviteInfo{.id = std::move(grant.invite_id),
                                            .name = std::move(grant.name),
                                            .signed_by = grant.room_key}};
    });
  }
  if (checked) return std::move(*checked);
  const AuthReject& refused = checked.error();
  if (refused.records_error) {
    ++totals_.room_record_errors;
    log_.error("relay.room_records_failed",
               {{"operation", "lookup"}, {"room", hello.room}, {"error", refused.why}});
    reject(link, refused.code, std::string(kRecordsUnavailable), refused.why);
  } else {
    reject(link, refused.code, reject_text(refused.code, &hello, rooms_), refused.why);
  }
  return std::nullopt;
}

void Relay::record_claim(PeerLink& link, const ctrl::ValidHello& hello, Peer& peer,
                         const OwnerKey& key, std::optional<OwnerKey> known_owner,
                         directory::Seconds now) {
  const io::SourcePrefix source = link.conn->remote_source();
  const auto steady_now = loop_.now();
  auto budget = new_room_budget_.find(source);
  if (budget == new_room_budget_.end()) {
    const double per_hour = config_.new_rooms_per_hour_per_source;
    budget = new_room_budget_.emplace(source, TokenBucket(per_hour / 3600.0, per_hour)).first;
  }
  if (!budget->second.holds(steady_now)) {
    // Spent: only a returning owner may still claim (its record was read for the checks).
    const bool returning = known_owner && *known_owner == key;
    if (!returning) {
      rooms_.remove(&peer);
      ++totals_.new_rooms_refused;
      reject(link, ctrl::RejectCode::kRelayFull,
             "your address opened too many new rooms on this relay in the last hour; try again "
             "later",
             "new room records per source per hour");
      return;
    }
  }
  // The peer sits in the room table, not yet welcomed, while the claim is written; a close
  // meanwhile removes it (on_closed).
  link.state = LinkState::kAwaitingDirectory;
  link.pending_peer = &peer;
  peer.welcome_pending = true;
  const std::uint64_t conn_id = link.conn->id();
  records_->submit([this, conn_id, hello, key, now](directory::RoomDirectory& dir) {
    auto outcome = dir.claim(hello.room, key, now);  // on the worker thread
    return std::function<void()>([this, conn_id, hello, key, outcome = std::move(outcome)] {
      PeerLink* s = awaiting_directory(conn_id);
      if (s == nullptr) return;
      Peer& pending = *std::exchange(s->pending_peer, nullptr);
      s->state = LinkState::kAwaitingHello;
      if (!finish_claim(*s, hello, pending, key, outcome)) {
        release_if_empty(hello.room);
        return;
      }
      admit(*s, pending);
      resume_control(conn_id);
    });
  });
}

bool Relay::finish_claim(PeerLink& link, const ctrl::ValidHello& hello, Peer& peer,
                         const OwnerKey& key, const Result<directory::ClaimOutcome>& outcome) {
  const io::SourcePrefix source = link.conn->remote_source();
  auto budget = new_room_budget_.find(source);
  if (outcome && *outcome == directory::ClaimOutcome::kClaimed &&
      budget != new_room_budget_.end()) {
    (void)budget->second.take(loop_.now());
  }
  if (!outcome || *outcome == directory::ClaimOutcome::kOwnedByOther ||
      *outcome == directory::ClaimOutcome::kFull) {
    rooms_.remove(&peer);  // a refused gateway leaves no trace in the room table
    if (!outcome) {
      note_records_error("claim", outcome.error());
      reject(link, ctrl::RejectCode::kRelayFull, std::string(kRecordsUnavailable),
             outcome.error().describe());
    } else if (*outcome == directory::ClaimOutcome::kOwnedByOther) {
      // Another writer of the same records (a second relay process) got there first.
      reject(link, ctrl::RejectCode::kRoomOwned,
             reject_text(ctrl::RejectCode::kRoomOwned, &hello, rooms_),
             "claim: the room was claimed by another key meanwhile");
    } else {
      reject(link, ctrl::RejectCode::kRelayFull,
             "this relay keeps as many room records as it allows; try another relay",
             "claim: --max-room-records reached");
    }
    return false;
  }
  const bool fresh = *outcome == directory::ClaimOutcome::kClaimed;
  ++(fresh ? totals_.rooms_claimed : totals_.owners_returned);
  const std::string fingerprint = key_fingerprint(key);
  log_.info("relay.room_claimed", {{"room", hello.room},
                                   {"key", fingerprint},
                                   {"outcome", directory::to_string(*outcome)},
                                   {"peer_id", peer.id},
                                   {"remote", link.conn->remote_address()}});
  link.owner_key = key;
  // Clients admitted while the room had no gateway, under invites of a key whose record has
  // since been forgotten, must not reach the new owner's LAN.
  std::vector<PeerLink*> stale;
  for (Peer* other : peer.room->peers) {
    if (other->invite && other->invite->signed_by != key && other->connection != nullptr) {
      if (auto* other_link = static_cast<PeerLink*>(other->connection->user_data())) {
        stale.push_back(other_link);
      }
    }
  }
  for (PeerLink* other_link : stale) {
    kick_client(*other_link, KickCause::kOwnerChanged, "room_owner_changed");
  }
  return true;
}

ctrl::Welcome Relay::make_welcome(const Peer& peer) const {
  const Room& room = *peer.room;
  ctrl::Welcome welcome{
      .protocol = ctrl::kProtocolVersion,
      .peer_id = peer.id,
      .room = room.name,
      .mtu = static_cast<std::uint32_t>(room.mtu),
      .max_datagram = static_cast<std::uint32_t>(proto::max_datagram_for_mtu(room.mtu)),
      .peers = {}};
  const bool to_gateway = peer.role == ctrl::Role::kGateway;
  for (const Peer* other : room.peers) {
    if (other != &peer && !other->welcome_pending) {
      welcome.peers.push_back(peer_info(*other, to_gateway));
    }
  }
  return welcome;
}

bool Relay::over_rooms_per_source(const PeerLink& link, const ctrl::ValidHello& hello) const {
  if (rooms_.find_room(hello.room) != nullptr) return false;  // joins an open room
  const auto it = rooms_by_source_.find(link.conn->remote_source());
  return it != rooms_by_source_.end() && it->second >= config_.max_rooms_per_source;
}

void Relay::forget_room_source(const std::string& room) {
  const auto it = room_sources_.find(room);
  if (it == room_sources_.end()) return;
  if (auto count = rooms_by_source_.find(it->second); count != rooms_by_source_.end()) {
    if (--count->second == 0) rooms_by_source_.erase(count);
  }
  room_sources_.erase(it);
}

void Relay::admit(PeerLink& link, Peer& peer) {
  peer.welcome_pending = false;
  const auto& peers = peer.room->peers;
  if (std::none_of(peers.begin(), peers.end(),
                   [&](const Peer* other) { return other != &peer && !other->welcome_pending; })) {
    // This peer opened the room (a gateway whose claim is pending does not count: clients
    // with its invites may be welcomed first).
    const io::SourcePrefix source = link.conn->remote_source();
    room_sources_[peer.room->name] = source;
    ++rooms_by_source_[source];
  }
  link.state = LinkState::kAdmitted;
  link.peer = &peer;
  peer.connection = link.conn;
  peer.rate = PeerRateLimiter(config_.peer_rate, config_.peer_broadcast_rate);
  ++totals_.admitted;
  Room& room = *peer.room;
  send_control(link, make_welcome(peer));
  log_.info("relay.peer_admitted", {{"room", room.name},
                                    {"peer_id", peer.id},
                                    {"role", ctrl::to_string(peer.role)},
                                    {"mac", peer.mac.to_string()},
                                    {"budget", peer.budget_bytes},
                                    {"mtu", room.mtu},
                                    {"peers", room.peers.size()},
                                    {"software", peer.software},
                                    {"remote", link.conn->remote_address()}});

  const ctrl::PeerJoined joined{peer_info(peer, /*to_gateway=*/false)};
  const ctrl::PeerJoined joined_for_gateway{peer_info(peer, /*to_gateway=*/true)};
  for (const Peer* other : room.peers) {
    if (other == &peer || other->welcome_pending) continue;
    if (auto* other_link = static_cast<PeerLink*>(other->connection->user_data())) {
      send_control(*other_link, other->role == ctrl::Role::kGateway ? joined_for_gateway : joined);
    }
  }
  schedule_stats(link);
  if (link.owner_key) schedule_owner_touch(link);
}

void Relay::handle_kick(PeerLink& owner, const ctrl::Kick& kick) {
  Peer* target = rooms_.find_peer(kick.peer_id);
  PeerLink* target_link = nullptr;
  // Only a client of the owner's own room: never the gateway itself, never another room.
  if (target != nullptr && target->room == owner.peer->room &&
      target->role == ctrl::Role::kClient && target->connection != nullptr) {
    target_link = static_cast<PeerLink*>(target->connection->user_data());
  }
  if (target_link == nullptr || target_link->state != LinkState::kAdmitted) {
    ++totals_.owner_messages_ignored;
    log_.debug(
        "relay.kick_ignored",
        {{"room", owner.peer->room->name}, {"by", owner.peer->id}, {"peer_id", kick.peer_id}});
    return;
  }
  // An empty reason says no more than a missing one.
  const std::string_view phrase = kick.reason && !kick.reason->empty()
                                      ? ctrl::utf8_prefix(*kick.reason, ctrl::kMaxKickReasonBytes)
                                      : std::string_view("kicked");
  kick_client(*target_link, KickCause::kOwnerKick, phrase);
}

void Relay::handle_revoke(PeerLink& owner, const ctrl::Revoke& revoke) {
  const Room& room = *owner.peer->room;
  if (!ctrl::is_valid_invite_id(revoke.invite_id)) {
    ++totals_.owner_messages_ignored;
    log_.debug("relay.revoke_ignored", {{"room", room.name}, {"by", owner.peer->id}});
    return;
  }
  if (!owner.revoke_budget.take(loop_.now())) {
    ++totals_.revokes_rate_limited;
    log_.warn("relay.revoke_rate_limited", {{"room", room.name}, {"by", owner.peer->id}});
    return;
  }
  std::optional<directory::Seconds> exp;
  if (revoke.exp) exp = directory::Seconds(std::chrono::seconds(*revoke.exp));
  const std::uint64_t owner_conn = owner.conn->id();
  records_->submit([this, owner_conn, room_name = room.name, revoke, exp,
                    now = records_now()](directory::RoomDirectory& dir) {
    Status recorded = dir.revoke(room_name, revoke.invite_id, exp, now);  // worker thread
    return std::function<void()>(
        [this, owner_conn, room_name, revoke, recorded = std::move(recorded)] {
          finish_revoke(owner_conn, room_name, revoke, recorded);
        });
  });
}

void Relay::finish_revoke(std::uint64_t owner_conn, const std::string& room_name,
                          const ctrl::Revoke& revoke, const Status& recorded) {
  if (!recorded) note_records_error("revoke", recorded.error());
  std::vector<PeerLink*> targets;
  if (const Room* room = rooms_.find_room(room_name)) {
    for (Peer* peer : room->peers) {
      if (peer->invite && peer->invite->id == revoke.invite_id && peer->connection != nullptr) {
        if (auto* target = static_cast<PeerLink*>(peer->connection->user_data())) {
          if (target->state == LinkState::kAdmitted) targets.push_back(target);
        }
      }
    }
  }
  for (PeerLink* target : targets) kick_client(*target, KickCause::kRevoked, "invite_revoked");
  if (recorded) ++totals_.revocations;
  log_.info("relay.invite_revoked", {{"room", room_name},
                                     {"invite_id", revoke.invite_id},
                                     {"exp", revoke.exp.value_or(0)},
                                     {"kicked", targets.size()},
                                     {"recorded", recorded.has_value()}});
  // `revoked` promises a durable revocation; without one the owner hears nothing and the
  // operator finds the error in the log.
  const auto it = links_.find(owner_conn);
  if (recorded && it != links_.end() && it->second->state == LinkState::kAdmitted) {
    send_control(*it->second,
                 ctrl::Revoked{.invite_id = revoke.invite_id, .kicked = targets.size()});
  }
}

void Relay::kick_client(PeerLink& target, KickCause cause, std::string_view phrase) {
  const Peer& peer = *target.peer;
  ++totals_.kicked[static_cast<std::size_t>(cause)];
  log_.info("relay.kicked",
            {{"room", peer.room->name},
             {"peer_id", peer.id},
             {"cause", to_string(cause)},
             {"reason", phrase},
             {"invite_id", peer.invite ? std::string_view(peer.invite->id) : std::string_view()},
             {"remote", target.conn->remote_address()}});
  const std::string reason(phrase);  // may view the peer, which leave() frees
  leave(target, ctrl::LeaveReason::kKicked);
  target.state = LinkState::kClosing;
  target.conn->close(kAppKicked, reason);
}

void Relay::schedule_owner_touch(PeerLink& link) {
  const std::uint64_t conn_id = link.conn->id();
  link.touch_timer = loop_.add_timer(loop_.now() + config_.owner_touch_interval, [this, conn_id] {
    const auto it = links_.find(conn_id);
    if (it == links_.end()) return;
    PeerLink& s = *it->second;
    s.touch_timer = 0;
    if (s.state != LinkState::kAdmitted || !s.owner_key) return;
    touch_owner(s);
    schedule_owner_touch(s);
  });
}

void Relay::touch_owner(PeerLink& link) {
  records_->submit([this, room = link.peer->room->name, key = *link.owner_key,
                    now = records_now()](directory::RoomDirectory& dir) {
    Status touched = dir.touch(room, key, now);  // worker thread
    return std::function<void()>([this, room, key, touched = std::move(touched)] {
      if (touched) return;
      if (touched.error().code == Errc::kNotFound) {
        // The record was forgotten or re-claimed behind our back (a clock jump, another
        // process): the gateway stays, the next claim decides.
        log_.warn("relay.owner_record_missing", {{"room", room}, {"key", key_fingerprint(key)}});
        return;
      }
      note_records_error("touch", touched.error());
    });
  });
}

void Relay::schedule_records_expiry() {
  expire_timer_ = loop_.add_timer(loop_.now() + config_.records_expire_interval, [this] {
    expire_timer_ = 0;
    // A source whose budget is whole again is indistinguishable from a new one.
    std::erase_if(new_room_budget_,
                  [now = loop_.now()](const auto& entry) { return entry.second.full_at(now); });
    records_->submit([this, now = records_now()](directory::RoomDirectory& dir) {
      auto purged = dir.expire(now);  // worker thread
      return std::function<void()>([this, purged = std::move(purged)] {
        if (!purged) {
          note_records_error("expire", purged.error());
        } else if (purged->rooms != 0 || purged->revocations != 0) {
          log_.info("relay.room_records_expired",
                    {{"rooms", purged->rooms}, {"revocations", purged->revocations}});
        }
      });
    });
    schedule_records_expiry();
  });
}

directory::Seconds Relay::records_now() const {
  if (config_.clock) return config_.clock();
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

void Relay::note_records_error(std::string_view what, const Error& error) {
  ++totals_.room_record_errors;
  log_.error("relay.room_records_failed", {{"operation", what}, {"error", error.describe()}});
}

void Relay::schedule_stats(PeerLink& link) {
  if (config_.stats_interval.count() == 0) return;
  const std::uint64_t conn_id = link.conn->id();
  link.stats_timer = loop_.add_timer(loop_.now() + config_.stats_interval, [this, conn_id] {
    const auto it = links_.find(conn_id);
    if (it == links_.end()) return;
    PeerLink& s = *it->second;
    s.stats_timer = 0;
    if (s.state != LinkState::kAdmitted) return;
    send_stats(s);
    schedule_stats(s);
  });
}

void Relay::send_stats(PeerLink& link) {
  const Peer& peer = *link.peer;
  ctrl::Stats stats{.rx_frames = peer.counters.rx_frames,
                    .rx_bytes = peer.counters.rx_bytes,
                    .tx_frames = peer.counters.tx_frames,
                    .tx_bytes = peer.counters.tx_bytes,
                    .dropped = {},
                    .tx_dropped = {}};
  peer.rx_drops.for_each_nonzero([&](proto::DropReason r, std::uint64_t n) {
    stats.dropped.emplace_back(std::string(proto::to_string(r)), n);
  });
  const std::uint64_t queue_full = link.conn->stats().datagrams_dropped_queue_full;
  if (queue_full != 0) {
    stats.tx_dropped.emplace_back(std::string(proto::to_string(proto::DropReason::kQueueFull)),
                                  queue_full);
  }
  send_control(link, stats);
}

void Relay::send_control(PeerLink& link, const ctrl::Message& message) {
  control_out_.clear();
  if (auto st = ctrl::append_frame(message, control_out_); !st) {
    log_.error("relay.encode_failed",
               {{"conn", link.conn->id()}, {"error", st.error().describe()}});
    return;
  }
  const auto bytes =
      std::span(reinterpret_cast<const std::uint8_t*>(control_out_.data()), control_out_.size());
  const std::int64_t stream = link.control_stream >= 0 ? link.control_stream : 0;
  if (auto st = link.conn->send_stream(stream, bytes); !st) {
    if (st.error().code == Errc::kWouldBlock) {
      close_unread(link);
      return;
    }
    // A peer that is closing cannot take more; anything else is worth a warning.
    const auto level = st.error().code == Errc::kClosed ? obs::Level::kDebug : obs::Level::kWarn;
    log_.log(level, "relay.control_send_failed",
             {{"conn", link.conn->id()}, {"error", st.error().describe()}});
  }
}

void Relay::close_unread(PeerLink& link) {
  // Callers may be iterating a room's peers: the violation (which removes the peer) runs
  // from the loop, once.
  if (link.unread_closing) return;
  link.unread_closing = true;
  ++totals_.control_unread;
  const std::uint64_t conn_id = link.conn->id();
  link.unread_timer = loop_.add_timer(loop_.now(), [this, conn_id] {
    const auto it = links_.find(conn_id);
    if (it == links_.end()) return;
    PeerLink& s = *it->second;
    s.unread_timer = 0;
    if (s.state == LinkState::kAwaitingHello || s.state == LinkState::kAdmitted) {
      violation(s, "the peer does not read its control stream");
    }
  });
}

void Relay::reject(PeerLink& link, ctrl::RejectCode code, std::string message, std::string_view why,
                   std::optional<std::string> relay) {
  ++totals_.rejected;
  ++totals_.rejected_by_code[static_cast<std::size_t>(code)];
  forget_pending_peer(link);
  const std::string_view code_text = ctrl::to_string(code);
  log_.info("relay.rejected", {{"conn", link.conn->id()},
                               {"code", code_text},
                               {"message", message},
                               {"why", why},
                               {"remote", link.conn->remote_address()},
                               {"relay", relay.value_or(std::string())}});
  send_control(link, ctrl::Reject{.code = std::string(code_text),
                                  .message = std::move(message),
                                  .relay = std::move(relay)});
  const std::int64_t stream = link.control_stream >= 0 ? link.control_stream : 0;
  (void)link.conn->shutdown_stream_write(stream);  // best effort; the close follows anyway
  link.state = LinkState::kRejected;
  // Closing at once would lose the reject: wait for its ack, at most reject_linger.
  link.conn->close_after_ack(kAppRejected, std::string(code_text), config_.reject_linger,
                             config_.reject_linger_after_ack);
}

void Relay::violation(PeerLink& link, std::string_view why) {
  log_.info("relay.protocol_violation",
            {{"conn", link.conn->id()},
             {"peer_id", link.peer != nullptr ? link.peer->id : std::uint16_t{0}},
             {"why", why}});
  if (link.state == LinkState::kAdmitted) leave(link, ctrl::LeaveReason::kKicked);
  forget_pending_peer(link);
  link.state = LinkState::kClosing;
  link.conn->close(kAppProtocolViolation, why);
}

void Relay::forget_pending_peer(PeerLink& link) {
  if (link.pending_peer == nullptr) return;
  const std::string room_name = link.pending_peer->room->name;
  rooms_.remove(std::exchange(link.pending_peer, nullptr));
  release_if_empty(room_name);
}

void Relay::leave(PeerLink& link, ctrl::LeaveReason reason) {
  Peer* peer = link.peer;
  if (peer == nullptr) return;
  if (link.stats_timer != 0) {
    loop_.cancel_timer(link.stats_timer);
    link.stats_timer = 0;
  }
  if (link.owner_key) {
    if (link.touch_timer != 0) {
      loop_.cancel_timer(link.touch_timer);
      link.touch_timer = 0;
    }
    touch_owner(link);  // the owner's last seen is when it left
  }
  totals_.drops.add(proto::DropReason::kQueueFull, link.conn->stats().datagrams_dropped_queue_full);
  Room* room = peer->room;
  const std::uint16_t peer_id = peer->id;
  const std::string room_name = room->name;
  const std::string mac = peer->mac.to_string();
  link.peer = nullptr;
  rooms_.remove(peer);  // frees the MAC and peer id at once
  log_.info("relay.peer_left", {{"room", room_name},
                                {"peer_id", peer_id},
                                {"mac", mac},
                                {"reason", ctrl::to_string(reason)}});
  const Room* still = rooms_.find_room(room_name);
  if (still == nullptr) {
    forget_room_source(room_name);
    release_if_empty(room_name);
    return;
  }
  const ctrl::PeerLeft left{peer_id, std::string(ctrl::to_string(reason))};
  for (const Peer* other : still->peers) {
    if (other->welcome_pending) continue;  // never heard of the leaver
    if (auto* other_link = static_cast<PeerLink*>(other->connection->user_data())) {
      send_control(*other_link, left);
    }
  }
}

void Relay::on_closed(quic::Connection& conn, const quic::CloseInfo& info) {
  auto* link = static_cast<PeerLink*>(conn.user_data());
  if (link == nullptr) return;
  // Admitted peers, and peers the relay was closing at shutdown, leave now.
  if (link->peer != nullptr) leave(*link, leave_reason_for(info, link->sent_disconnect));
  // Closed while its claim was being written: it was never welcomed, nobody heard of it.
  forget_pending_peer(*link);
  if (link->hello_timer != 0) loop_.cancel_timer(link->hello_timer);
  if (link->stats_timer != 0) loop_.cancel_timer(link->stats_timer);
  if (link->touch_timer != 0) loop_.cancel_timer(link->touch_timer);
  if (link->unread_timer != 0) loop_.cancel_timer(link->unread_timer);
  log_.info("relay.connection_closed", {{"conn", conn.id()},
                                        {"kind", static_cast<std::uint64_t>(info.kind)},
                                        {"code", info.code},
                                        {"reason", info.reason}});
  conn.set_user_data(nullptr);
  links_.erase(conn.id());
}

void Relay::shutdown() {
  log_.info("relay.shutdown", {{"connections", links_.size()}, {"peers", rooms_.peer_count()}});
  shutting_down_ = true;
  if (homing_ != nullptr) {
    // Gives the rooms up at once, so their peers are re-homed on another relay without
    // waiting for the leases to run out; runs even as the worker stops.
    if (homing_timer_ != 0) loop_.cancel_timer(std::exchange(homing_timer_, 0));
    homing_->submit_homing([rooms = std::vector<std::string>(homed_.begin(), homed_.end())](
                               directory::RoomHoming* homing) {
      if (homing != nullptr) (void)homing->unregister_relay(rooms);
      return std::function<void()>([] {});
    });
    homed_.clear();
  }
  for (auto& [id, link] : links_) stop_serving(*link, "shutdown");
}

void Relay::drop(Peer* peer, proto::DropReason reason) noexcept {
  totals_.drops.on_drop(reason);
  if (peer != nullptr) peer->rx_drops.on_drop(reason);
}

void Relay::send_frame(Peer& target, std::span<const std::uint8_t> datagram) noexcept {
  if (auto st = target.connection->send_datagram(datagram); !st) {
    // Only a datagram budget that shrank below the room MTU gets here (the queue itself
    // drops its oldest entry instead of failing).
    ++totals_.tx_too_large;
    log_.debug("relay.tx_failed", {{"peer_id", target.id}, {"size", datagram.size()}});
    return;
  }
  const std::uint64_t body = datagram.size() - proto::kOverlayHeaderSize;
  ++target.counters.tx_frames;
  target.counters.tx_bytes += body;
  ++totals_.frames.tx_frames;
  totals_.frames.tx_bytes += body;
}

void Relay::on_datagram(quic::Connection& conn, std::span<const std::uint8_t> datagram) {
  auto* link = static_cast<PeerLink*>(conn.user_data());
  Peer* sender = link != nullptr && link->state == LinkState::kAdmitted ? link->peer : nullptr;
  if (sender == nullptr) {
    drop(nullptr, proto::DropReason::kNotAdmitted);
    return;
  }
  // rx counts every datagram but probes, dropped ones included; a kind byte of 2 is a probe
  // even when the header turns out bad.
  const bool probe =
      datagram.size() >= 2 && datagram[1] == static_cast<std::uint8_t>(proto::DatagramKind::kProbe);
  if (probe) {
    ++totals_.probes;
  } else {
    const std::uint64_t body = datagram.size() >= proto::kOverlayHeaderSize
                                   ? datagram.size() - proto::kOverlayHeaderSize
                                   : 0;
    ++sender->counters.rx_frames;
    sender->counters.rx_bytes += body;
    ++totals_.frames.rx_frames;
    totals_.frames.rx_bytes += body;
  }

  auto overlay = proto::parse_from_peer(datagram, sender->id);
  if (!overlay) {
    drop(sender, overlay.error());
    return;
  }
  if (probe) {
    // Answer the sender alone: same body, kind 3, peer id 0.
    probe_reply_.resize(datagram.size());
    proto::encode_overlay_header(std::span<std::uint8_t, proto::kOverlayHeaderSize>(
                                     probe_reply_.data(), proto::kOverlayHeaderSize),
                                 proto::DatagramKind::kProbeReply, 0);
    std::copy(overlay->body.begin(), overlay->body.end(),
              probe_reply_.begin() + proto::kOverlayHeaderSize);
    // Not sendable only when the peer's budget shrank below its own probe: counted with the
    // other frames that no longer fit.
    if (!conn.send_datagram(probe_reply_)) ++totals_.tx_too_large;
    return;
  }

  if (sender->rate.limited()) {
    // A group destination (broadcast or multicast) is copied to the whole room.
    const bool flooded = !overlay->body.empty() && (overlay->body[0] & 0x01) != 0;
    if (!sender->rate.admit(loop_.now(), datagram.size(), flooded)) [[unlikely]] {
      drop(sender, proto::DropReason::kRateLimited);
      return;
    }
  }

  Room& room = *sender->room;
  proto::EthernetView parsed{};
  const Route route = route_frame(room, *sender, overlay->body, parsed);
  std::size_t targets = 0;
  switch (route.action) {
    case obs::FrameAction::kDrop:
      drop(sender, route.reason);
      break;
    case obs::FrameAction::kForward:
      // The peer id in the header is already the sender's: the datagram goes on unchanged.
      send_frame(*route.target, datagram);
      targets = 1;
      break;
    case obs::FrameAction::kFlood:
      for (Peer* target : room.peers) {
        if (target == sender || target->welcome_pending) continue;
        send_frame(*target, datagram);
        ++targets;
      }
      break;
  }
  if (log_.enabled(obs::Level::kDebug)) [[unlikely]] {
    obs::FrameDecision decision{
        .room = room.name,
        .peer_id = sender->id,
        .source = route.header_parsed ? parsed.source.bytes() : std::array<std::uint8_t, 6>{},
        .destination =
            route.header_parsed ? parsed.destination.bytes() : std::array<std::uint8_t, 6>{},
        .ethertype = route.header_parsed ? parsed.ethertype : std::uint16_t{0},
        .length_bytes = overlay->body.size(),
        .action = route.action,
        .drop_reason = route.action == obs::FrameAction::kDrop ? proto::to_string(route.reason)
                                                               : std::string_view{},
        .targets = targets};
    obs::log_frame_decision(log_, decision);
  }
}

}  // namespace lanparty::relay
