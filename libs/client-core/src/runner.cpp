// SPDX-License-Identifier: MIT
#include "lanparty/client_core/runner.hpp"

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/proto/mtu.hpp"

namespace lanparty::client_core {
namespace {

using ctrl::app_error::kNoError;
using ctrl::app_error::kProtocolViolation;
constexpr auto kHelloPoll = std::chrono::milliseconds(20);
constexpr auto kStopLinger = std::chrono::milliseconds(500);

// Rejects that no retry can fix without the user changing something.
bool is_permanent(const ctrl::Reject& reject) {
  const auto code = reject.reject_code();
  if (!code) return false;
  switch (*code) {
    case ctrl::RejectCode::kUnsupportedProtocol:
    case ctrl::RejectCode::kMalformedHello:
    case ctrl::RejectCode::kInvalidRole:
    case ctrl::RejectCode::kInvalidRoom:
    case ctrl::RejectCode::kInvalidMac:
    case ctrl::RejectCode::kDatagramsUnsupported:
    // Section 7: only the host can change these (a new invite, another room name or key).
    case ctrl::RejectCode::kAuthRequired:
    case ctrl::RejectCode::kAuthFailed:
    case ctrl::RejectCode::kRoomOwned:
    case ctrl::RejectCode::kInviteExpired:
    case ctrl::RejectCode::kInviteRevoked:
      return true;
    default:
      return false;
  }
}

std::string peer_label(const ctrl::PeerInfo& peer) {
  if (peer.name) return *peer.name;
  return fmt::format("{} {}", ctrl::to_string(peer.role), peer.mac.to_string());
}

// The claim for this connection: the room key signs the room and the connection's exporter.
Result<RoomClaim> make_claim(const quic::RoomKey& key, quic::Connection& conn,
                             const std::string& room) {
  auto ekm = conn.export_keying_material(ctrl::kRoomClaimExporterLabel);
  if (!ekm) return tl::unexpected(ekm.error());
  auto proof = key.sign(ctrl::claim_signing_input(room, *ekm));
  if (!proof) return tl::unexpected(proof.error());
  return RoomClaim{.room_key = ctrl::base64url_encode(key.public_key()),
                   .room_proof = ctrl::base64url_encode(*proof)};
}

std::vector<ctrl::RelayAddress> relay_list(const RunnerConfig& config) {
  std::vector<ctrl::RelayAddress> relays{{.host = config.quic.host, .port = config.quic.port}};
  relays.insert(relays.end(), config.more_relays.begin(), config.more_relays.end());
  return relays;
}

}  // namespace

Runner::Runner(io::EventLoop& loop, RunnerConfig config, LocalPort& port, obs::Logger logger,
               std::function<double()> random_unit)
    : loop_(loop),
      config_(std::move(config)),
      port_(port),
      log_(logger),
      random_unit_(std::move(random_unit)),
      session_(config_.session),
      backoff_(config_.backoff),
      relays_(relay_list(config_)) {
  scratch_.reserve(65536);
}

Runner::~Runner() { cancel_timers(); }

void Runner::cancel_timers() {
  for (auto* timer : {&reconnect_timer_, &hello_timer_, &probe_timer_}) {
    if (*timer != 0) loop_.cancel_timer(*timer);
    *timer = 0;
  }
}

void Runner::set_state(obs::ConnectionState state, std::string_view detail) {
  const bool changed = state != state_;
  state_ = state;
  if (!changed && detail.empty()) return;
  const std::string sentence = detail.empty()
                                   ? std::string(obs::describe(state))
                                   : fmt::format("{} ({})", obs::describe(state), detail);
  port_.on_state(state, sentence);
}

void Runner::announce(obs::ConnectionState state, std::string_view sentence) {
  state_ = state;
  port_.on_state(state, sentence);
}

std::optional<obs::HandshakeFailure> Runner::handshake_failure_to_report() const noexcept {
  if (!handshake_failure_) return std::nullopt;
  if (fatal_ || counters_.joins == 0) return handshake_failure_;
  return std::nullopt;
}

void Runner::start() {
  stopping_ = false;
  fatal_ = false;
  connect();
}

std::optional<quic::ConnectionStats> Runner::connection_stats() const noexcept {
  if (client_ == nullptr || !client_->connection().handshake_completed()) return std::nullopt;
  return client_->connection().stats();
}

void Runner::connect() {
  ++generation_;
  joined_at_.reset();
  client_.reset();  // never inside its own callbacks: connect() runs from start() or a timer
  session_.reset();
  control_stream_ = -1;
  ++counters_.connects;
  config_.quic.host = relays_.target().host;
  config_.quic.port = relays_.target().port;
  log_.info("client.connecting", {{"relay", relays_.target_text()},
                                  {"server_name", config_.quic.server_name},
                                  {"room", config_.session.room}});
  auto client = quic::Client::connect(loop_, config_.quic, *this, log_);
  if (!client) {
    const auto delay = backoff_.next(random_unit_());
    log_.warn("client.connect_failed",
              {{"error", client.error().describe()}, {"retry_ms", delay.count()}});
    relays_.on_failed();
    set_state(obs::ConnectionState::kReconnecting, client.error().describe());
    schedule_reconnect(delay);
    return;
  }
  client_ = std::move(*client);
  set_state(obs::ConnectionState::kConnecting);
}

void Runner::schedule_reconnect(std::chrono::milliseconds delay) {
  if (reconnect_timer_ != 0) loop_.cancel_timer(reconnect_timer_);
  reconnect_timer_ = loop_.add_timer(loop_.now() + delay, [this] {
    reconnect_timer_ = 0;
    if (!stopping_) connect();
  });
}

void Runner::on_handshake_completed(quic::Connection& conn) {
  handshake_failure_.reset();
  auto stream = conn.open_bidi_stream();
  if (!stream) {
    conn.close(kProtocolViolation, "cannot open the control stream");
    return;
  }
  control_stream_ = *stream;
  hello_deadline_ = loop_.now() + config_.pmtud_wait;
  send_hello_when_ready(generation_);
}

void Runner::send_hello_when_ready(std::uint64_t generation) {
  hello_timer_ = 0;
  if (generation != generation_ || client_ == nullptr || stopping_) return;
  quic::Connection& conn = client_->connection();
  const std::size_t budget = conn.datagram_budget();
  // The budget starts at what a 1200-byte packet carries and grows only when a path MTU probe
  // is acknowledged, so a budget that grew is proven. Wait a little for that: a hello with
  // the small budget would shrink a new room's MTU or be refused by an existing room.
  const std::size_t wanted = proto::max_datagram_for_mtu(proto::kDefaultMaxMtu);
  if (budget < wanted && loop_.now() < hello_deadline_) {
    hello_timer_ = loop_.add_timer(loop_.now() + kHelloPoll,
                                   [this, generation] { send_hello_when_ready(generation); });
    return;
  }
  std::optional<RoomClaim> claim;
  if (config_.room_key) {
    auto made = make_claim(*config_.room_key, conn, config_.session.room);
    if (!made) {
      log_.error("client.claim_failed", {{"error", made.error().describe()}});
      conn.close(kProtocolViolation, "cannot prove the room key");
      return;
    }
    claim = std::move(*made);
  }
  const std::string hello = session_.hello_frame(budget, claim ? &*claim : nullptr);
  const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size());
  if (auto st = conn.send_stream(control_stream_, bytes); !st) {
    conn.close(kProtocolViolation, "cannot send hello");
    return;
  }
  log_.info("client.hello_sent", {{"budget", budget},
                                  {"room", config_.session.room},
                                  {"mac", config_.session.mac.to_string()}});
  set_state(obs::ConnectionState::kJoining);
}

void Runner::on_stream_data(quic::Connection& conn, std::int64_t stream_id,
                            std::span<const std::uint8_t> data, bool /*fin*/) {
  if (stream_id != control_stream_) return;
  auto messages = session_.on_control_bytes(data);
  if (!messages) {
    log_.warn("client.protocol_violation", {{"error", messages.error().describe()}});
    conn.close(kProtocolViolation, messages.error().context);
    return;
  }
  for (const ctrl::Message& message : *messages) {
    if (std::holds_alternative<ctrl::Welcome>(message)) {
      on_joined();
    } else if (const auto* reject = std::get_if<ctrl::Reject>(&message);
               reject != nullptr && reject->reject_code() == ctrl::RejectCode::kRedirect) {
      on_redirect(*reject);
    } else if (reject != nullptr) {
      std::string sentence = obs::describe_reject(reject->code);
      if (reject->reject_code() == ctrl::RejectCode::kInviteExpired && config_.session.invite) {
        if (auto token = ctrl::parse_invite_token(*config_.session.invite)) {
          const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
          sentence = obs::describe_invite_expiry(token->payload.exp, now);
        }
      }
      log_.error("client.rejected",
                 {{"code", reject->code}, {"message", reject->message}, {"advice", sentence}});
      set_state(obs::ConnectionState::kRejected, sentence);
      if (is_permanent(*reject)) {
        fatal_ = true;
        port_.on_fatal(sentence);
      }
    } else if (const auto* joined = std::get_if<ctrl::PeerJoined>(&message)) {
      const std::string label = peer_label(joined->peer);
      peer_names_[joined->peer.peer_id] = label;
      log_.info("client.peer_joined", {{"peer_id", joined->peer.peer_id},
                                       {"role", ctrl::to_string(joined->peer.role)},
                                       {"mac", joined->peer.mac.to_string()},
                                       {"name", joined->peer.name.value_or("")},
                                       {"invite_id", joined->peer.invite_id.value_or("")}});
      set_state(obs::ConnectionState::kConnected, fmt::format("{} joined", label));
    } else if (const auto* left = std::get_if<ctrl::PeerLeft>(&message)) {
      log_.info("client.peer_left", {{"peer_id", left->peer_id}, {"reason", left->reason}});
      const auto it = peer_names_.find(left->peer_id);
      if (it != peer_names_.end()) {
        set_state(obs::ConnectionState::kConnected,
                  fmt::format("{} left ({})", it->second, left->reason));
        peer_names_.erase(it);
      }
    } else if (const auto* stats = std::get_if<ctrl::Stats>(&message)) {
      std::string dropped;
      for (const auto& [name, n] : stats->dropped) dropped += fmt::format("{}={} ", name, n);
      // The relay's view of us, beside our own: where frames are lost shows at a glance.
      const quic::ConnectionStats local = conn.stats();
      log_.info("client.relay_stats", {{"rx_frames", stats->rx_frames},
                                       {"rx_bytes", stats->rx_bytes},
                                       {"tx_frames", stats->tx_frames},
                                       {"tx_bytes", stats->tx_bytes},
                                       {"dropped", dropped},
                                       {"local_to_relay", counters_.frames_to_relay},
                                       {"local_from_relay", counters_.frames_from_relay},
                                       {"local_queue_full", local.datagrams_dropped_queue_full},
                                       {"local_too_large", counters_.dropped_too_large},
                                       {"local_not_joined", counters_.dropped_not_joined},
                                       {"rtt_us", local.smoothed_rtt.count()}});
      port_.on_relay_stats(*stats);
      if (session_.phase() == Phase::kJoined) {
        // A status line for the player with each stats message: who is there, how far away.
        const auto rtt = session_.smoothed_rtt().value_or(local.smoothed_rtt);
        const std::size_t others = session_.peers().peers().size();
        set_state(obs::ConnectionState::kConnected,
                  fmt::format("{} other{} in the room, {:.1f} ms to the relay", others,
                              others == 1 ? "" : "s", static_cast<double>(rtt.count()) / 1000.0));
      }
    } else if (const auto* bye = std::get_if<ctrl::Disconnect>(&message)) {
      log_.info("client.relay_disconnect", {{"reason", bye->reason}});
    }
    port_.on_message(message);
  }
}

Status Runner::send_control(const ctrl::Message& message) {
  if (!joined() || client_ == nullptr) {
    return fail(Errc::kClosed, "not in the room: the relay connection is down");
  }
  std::string frame;
  if (auto st = ctrl::append_frame(message, frame); !st) return st;
  return client_->connection().send_stream(
      control_stream_,
      std::span(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size()));
}

void Runner::on_joined() {
  const ctrl::Welcome& welcome = *session_.welcome();
  backoff_.reset();
  relays_.on_joined();
  ++counters_.joins;
  joined_at_ = loop_.now();
  log_.info("client.joined", {{"room", welcome.room},
                              {"peer_id", welcome.peer_id},
                              {"mtu", welcome.mtu},
                              {"peers", welcome.peers.size()}});
  peer_names_.clear();
  for (const auto& peer : welcome.peers) peer_names_[peer.peer_id] = peer_label(peer);
  set_state(obs::ConnectionState::kConnected);
  port_.on_joined(welcome);
  send_probe();
}

void Runner::on_redirect(const ctrl::Reject& reject) {
  const std::string from = relays_.target_text();
  if (auto followed = relays_.on_redirect(reject.relay.value_or("")); !followed) {
    log_.error(
        "client.redirect_refused",
        {{"relay", from}, {"to", reject.relay.value_or("")}, {"advice", followed.error().context}});
    set_state(obs::ConnectionState::kRejected, followed.error().context);
    return;
  }
  log_.info("client.redirected",
            {{"relay", from}, {"to", relays_.target_text()}, {"message", reject.message}});
  set_state(obs::ConnectionState::kReconnecting,
            fmt::format("the room is on relay {}; connecting there", relays_.target_text()));
}

void Runner::send_probe() {
  probe_timer_ = 0;
  if (!joined() || client_ == nullptr) return;
  quic::Connection& conn = client_->connection();
  // Full-size: the reply proves the relay path carries the room's largest frame.
  const std::size_t size =
      std::min<std::size_t>(conn.datagram_budget(), session_.welcome()->max_datagram);
  (void)conn.send_datagram(session_.make_probe(loop_.now(), size, scratch_));
  probe_timer_ = loop_.add_timer(loop_.now() + config_.probe_interval, [this] { send_probe(); });
}

void Runner::on_datagram(quic::Connection& /*conn*/, std::span<const std::uint8_t> payload) {
  const Inbound in = session_.on_datagram(payload, loop_.now());
  switch (in.kind) {
    case Inbound::Kind::kFrame:
      ++counters_.frames_from_relay;
      port_.deliver_frame(in.frame);
      if (!batch_end_.armed()) batch_end_.arm(loop_.now());
      break;
    case Inbound::Kind::kProbeReply:
      log_.debug("client.probe_reply", {{"bytes", in.probe_bytes}, {"rtt_us", in.rtt.count()}});
      break;
    case Inbound::Kind::kDropped:
      ++counters_.dropped_bad_datagram;
      break;
  }
}

void Runner::send_frame(std::span<std::uint8_t> datagram) {
  if (!joined() || client_ == nullptr) {
    ++counters_.dropped_not_joined;
    return;
  }
  if (auto st = client_->connection().send_datagram(session_.wrap_in_place(datagram)); !st) {
    ++counters_.dropped_too_large;
    return;
  }
  ++counters_.frames_to_relay;
}

void Runner::on_closed(quic::Connection& /*conn*/, const quic::CloseInfo& info) {
  for (auto* timer : {&hello_timer_, &probe_timer_}) {
    if (*timer != 0) loop_.cancel_timer(*timer);
    *timer = 0;
  }
  const bool was_rejected = session_.phase() == Phase::kRejected;
  joined_at_.reset();
  log_.info("client.connection_closed",
            {{"kind", quic::to_string(info.kind)}, {"code", info.code}, {"reason", info.reason}});
  if (stopping_) {
    set_state(obs::ConnectionState::kDisconnected);
    return;
  }
  if (fatal_) return;  // on_fatal told the app; retrying cannot help
  if (info.kind == quic::CloseInfo::Kind::kPeerApplication &&
      info.code == ctrl::app_error::kKicked) {
    // The host removed us (section 7). Rejoining at once would only be kicked again.
    const std::string sentence = obs::describe_kick(info.reason);
    log_.error("client.kicked", {{"reason", info.reason}, {"advice", sentence}});
    set_state(obs::ConnectionState::kRejected, sentence);
    fatal_ = true;
    port_.on_fatal(sentence);
    return;
  }
  if (relays_.take_redirect()) {
    schedule_reconnect(std::chrono::milliseconds(0));  // to the relay the room lives on
    return;
  }
  relays_.on_failed();
  auto delay = backoff_.next(random_unit_());
  if (was_rejected) delay = std::max(delay, config_.reject_retry);
  if (info.handshake_failure) {
    on_handshake_failed(info, *info.handshake_failure, delay);
    return;
  }
  if (!was_rejected) set_state(obs::ConnectionState::kReconnecting, info.reason);
  log_.warn("client.reconnecting", {{"retry_ms", delay.count()}});
  schedule_reconnect(delay);
}

void Runner::on_handshake_failed(const quic::CloseInfo& info, obs::HandshakeFailure failure,
                                 std::chrono::milliseconds retry) {
  handshake_failure_ = failure;
  const std::string& host = config_.quic.host;
  const std::string relay = host.find(':') != std::string::npos
                                ? fmt::format("[{}]:{}", host, config_.quic.port)
                                : fmt::format("{}:{}", host, config_.quic.port);
  // The sentence says what to do; the library's reason (fingerprints, the TLS verdict) follows
  // for whoever has to dig.
  const std::string sentence = fmt::format(
      "{} ({})", obs::describe_handshake_failure(failure, relay, config_.quic.server_name),
      info.reason);
  if (obs::is_permanent(failure)) {
    // Retrying cannot change the relay's certificate, protocol or version.
    log_.error("client.handshake_failed", {{"failure", obs::to_string(failure)},
                                           {"relay", relay},
                                           {"reason", info.reason},
                                           {"advice", sentence}});
    announce(obs::ConnectionState::kHandshakeFailed, sentence);
    fatal_ = true;
    port_.on_fatal(sentence);
    return;
  }
  log_.warn("client.handshake_failed", {{"failure", obs::to_string(failure)},
                                        {"relay", relay},
                                        {"reason", info.reason},
                                        {"retry_ms", retry.count()}});
  announce(obs::ConnectionState::kHandshakeFailed, sentence);
  schedule_reconnect(retry);
}

void Runner::stop() {
  stopping_ = true;
  cancel_timers();
  if (client_ == nullptr) {
    set_state(obs::ConnectionState::kDisconnected);
    return;
  }
  quic::Connection& conn = client_->connection();
  if (joined()) {
    std::string bye;
    (void)ctrl::append_frame(ctrl::Disconnect{"shutdown"}, bye);
    (void)conn.send_stream(
        control_stream_, std::span(reinterpret_cast<const std::uint8_t*>(bye.data()), bye.size()));
  }
  conn.close_after_ack(kNoError, "shutdown", kStopLinger);
}

}  // namespace lanparty::client_core
