// SPDX-License-Identifier: MIT
// Endpoint: receive batches, route by connection ID, accept new clients (server), and run the
// flush cycle: write every dirty connection, deliver on_closed, free dead connections.
#include "endpoint.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <cstring>

#include "connection_impl.hpp"
#include "crypto.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty::quic::detail {
namespace {

// recvmmsg rounds per readiness event before yielding to timers and other fds.
constexpr int kReceiveRounds = 8;
// How long a Retry token stays good: a round trip, with room for a slow client.
constexpr std::chrono::nanoseconds kRetryTokenLifetime = std::chrono::seconds(10);
// Write/notify passes per cycle; handlers that keep re-dirtying each other continue at the
// next loop turn instead of spinning here.
constexpr int kMaxPasses = 16;

std::uint64_t random_u64() noexcept {
  std::array<std::uint8_t, 8> bytes{};
  fill_random(bytes);
  std::uint64_t v = 0;
  std::memcpy(&v, bytes.data(), sizeof(v));
  return v;
}

}  // namespace

CidKey CidKey::of(const std::uint8_t* data, std::size_t length) noexcept {
  CidKey key;
  key.length = static_cast<std::uint8_t>(std::min<std::size_t>(length, NGTCP2_MAX_CIDLEN));
  std::memcpy(key.bytes.data(), data, key.length);
  return key;
}

std::size_t CidHash::operator()(const CidKey& key) const noexcept {
  std::uint64_t h = seed ^ (key.length * 0x9e3779b97f4a7c15ull);
  for (std::size_t i = 0; i < key.length; ++i) {
    h ^= key.bytes[i];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return static_cast<std::size_t>(h);
}

Endpoint::Endpoint(io::EventLoop& loop, EndpointConfig config, ConnectionHandler& handler,
                   obs::Logger logger, std::unique_ptr<io::UdpSocket> socket)
    : loop_(loop),
      config_(config),
      handler_(handler),
      logger_(logger),
      socket_(std::move(socket)),
      datagram_slots_(config_.datagram_slot_budget),
      by_cid_(64, CidHash{random_u64()}),
      work_timer_(loop, [this] { process_pending(true); }) {
  fill_key_random(static_secret_);
  fill_key_random(retry_secret_);
  if (config_.is_server) admission_.emplace(config_.admission, config_.max_connections);
  dirty_.reserve(256);
  writing_.reserve(256);
  notify_.reserve(64);
  dead_.reserve(64);
}

Endpoint::~Endpoint() {
  if (started_) loop_.remove_fd(socket_->fd());
  if (started_ && lane_) loop_.remove_fd(lane_->fd());
  dirty_.clear();
  notify_.clear();
  dead_.clear();
  by_cid_.clear();
  connections_.clear();
}

Status Endpoint::start() {
  auto s = loop_.add_fd(socket_->fd(), io::EventLoop::kReadable,
                        [this](std::uint32_t events) { on_socket_event(events); });
  if (!s) return s;
  if (lane_) {
    s = loop_.add_fd(lane_->fd(), io::EventLoop::kReadable,
                     [this](std::uint32_t) { on_lane_event(); });
    if (!s) {
      loop_.remove_fd(socket_->fd());
      return s;
    }
  }
  started_ = true;
  return ok();
}

Result<ConnectionImpl*> Endpoint::connect(const io::SocketAddress& remote,
                                          const ClientTlsContext& tls) {
  const std::uint64_t id = next_connection_id_++;
  auto connection = std::make_unique<ConnectionImpl>(*this, id, socket_->local_address(), remote);
  if (auto s = connection->init_client(tls); !s) {
    for (const CidKey& key : connection->routed_cids()) by_cid_.erase(key);
    std::erase(dirty_, connection.get());
    return tl::unexpected(s.error());
  }
  ConnectionImpl* raw = connection.get();
  connections_.emplace(id, std::move(connection));
  return raw;
}

void Endpoint::close_all(std::uint64_t app_error_code, std::string_view reason) {
  for (auto& [id, connection] : connections_) connection->close(app_error_code, reason);
}

// --- routing -----------------------------------------------------------------------------

void Endpoint::new_cid(ngtcp2_cid& cid) const noexcept {
  do {
    cid.datalen = kCidLength;
    fill_random({cid.data, cid.datalen});
  } while (by_cid_.contains(CidKey::of(cid)));
}

void Endpoint::associate(const ngtcp2_cid& cid, ConnectionImpl& connection) {
  const CidKey key = CidKey::of(cid);
  if (by_cid_.emplace(key, &connection).second) connection.add_routed(key);
}

void Endpoint::dissociate(const ngtcp2_cid& cid) noexcept { by_cid_.erase(CidKey::of(cid)); }

// --- receive -----------------------------------------------------------------------------

void Endpoint::on_socket_event(std::uint32_t events) noexcept {
  if ((events & io::EventLoop::kWritable) != 0) {
    socket_blocked_ = false;
    flush_socket();
    if (!socket_blocked_) (void)loop_.modify_fd(socket_->fd(), io::EventLoop::kReadable);
  }
  if ((events & (io::EventLoop::kReadable | io::EventLoop::kError)) != 0) {
    for (int round = 0; round < kReceiveRounds; ++round) {
      const std::size_t n = socket_->receive();
      if (n == 0) break;
      receive_batch(*socket_, n);
      if (socket_->drained()) break;
    }
    // A client's connected socket reports ICMP errors from the relay's address on receive.
    const io::SocketCounters& counters = socket_->counters();
    if (!config_.is_server && counters.rx_unreachable != unreachable_seen_) {
      unreachable_seen_ = counters.rx_unreachable;
      for (auto& [id, connection] : connections_) {
        connection->on_unreachable(counters.last_unreachable_errno);
      }
    }
  }
  process_pending(true);
}

void Endpoint::on_lane_event() noexcept {
  // One batch per wake-up: the loop serves the main socket (and timers) before the next one,
  // so a flood of Initials delays the party's frames by at most one batch of handshakes.
  const std::size_t n = lane_->receive();
  if (n > 0) receive_batch(*lane_, n);
  process_pending(true);
}

void Endpoint::receive_batch(io::UdpSocket& socket, std::size_t count) noexcept {
  in_cycle_ = true;
  for (std::size_t i = 0; i < count; ++i) {
    io::RxPacket packet = socket.packet(i);
    // A client's socket is connected: its path is the one getsockname() named, and using it
    // verbatim keeps ngtcp2 from seeing a "new" local address.
    if (!config_.is_server) packet.local = &socket.local_address();
    on_packet(packet);
  }
  // Flush discipline: one write pass per received batch.
  process_pending(false);
}

void Endpoint::on_packet(const io::RxPacket& packet) noexcept {
  ngtcp2_version_cid vc;
  const int rv =
      ngtcp2_pkt_decode_version_cid(&vc, packet.data.data(), packet.data.size(), kCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (config_.is_server) send_version_negotiation(packet, vc);
    return;
  }
  if (rv != 0) return;
  auto it = by_cid_.find(CidKey::of(vc.dcid, vc.dcidlen));
  if (it == by_cid_.end()) {
    // A client has one connection: a packet it cannot route may be a stateless reset, whose
    // connection ID bytes are random; only the connection can recognise its token.
    if (!config_.is_server && connections_.size() == 1 && vc.version == 0) {
      connections_.begin()->second->on_packet(packet, to_tstamp(loop_.now()));
      return;
    }
    if (config_.is_server && vc.version != 0) accept(packet);
    // A short-header packet for a connection we do not know: the peer's state outlived ours
    // (we restarted). Tell it at once instead of letting it wait out its idle timeout.
    if (config_.is_server && vc.version == 0) send_stateless_reset(packet, vc);
    return;
  }
  it->second->on_packet(packet, to_tstamp(loop_.now()));
}

void Endpoint::accept(const io::RxPacket& packet) noexcept {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, packet.data.data(), packet.data.size()) != 0) return;
  if (!server_tls_ || !admission_) return;
  // Only an Initial starts a connection; a 0-RTT packet that overtook it is dropped.
  if (hd.type != NGTCP2_PKT_INITIAL) return;
  ngtcp2_cid odcid{};
  const TokenCheck token = check_retry_token(packet, hd, odcid);
  if (token == TokenCheck::kInvalid) {
    refuse(packet, hd, Refusal::kInvalidToken);
    return;
  }
  const bool validated = token == TokenCheck::kValid;
  const io::SourcePrefix source = io::source_prefix(*packet.remote);
  const auto decision = admission_->on_initial(source, validated, connections_.size(), loop_.now());
  if (decision.verdict == AdmissionPolicy::Verdict::kRetry) {
    send_retry(packet, hd);
    return;
  }
  if (decision.verdict == AdmissionPolicy::Verdict::kRefuse) {
    refuse(packet, hd, decision.refusal);
    return;
  }
  const std::uint64_t id = next_connection_id_++;
  std::unique_ptr<ConnectionImpl> connection;
  try {
    connection = std::make_unique<ConnectionImpl>(*this, id, *packet.local, *packet.remote);
    if (auto s = connection->init_server(hd, server_tls_, validated ? &odcid : nullptr); !s) {
      logger_.warn("quic.accept_failed",
                   {{"remote", packet.remote->to_string()}, {"error", s.error().describe()}});
      for (const CidKey& key : connection->routed_cids()) by_cid_.erase(key);
      return;
    }
  } catch (...) {
    if (connection) {
      for (const CidKey& key : connection->routed_cids()) by_cid_.erase(key);
    }
    return;  // out of memory: the client retries
  }
  ConnectionImpl* raw = connection.get();
  connections_.emplace(id, std::move(connection));
  raw->set_source(source, validated);
  admission_->on_accepted(source, validated);
  ++admission_counters_.accepted;
  if (validated) ++admission_counters_.retry_tokens_valid;
  if (logger_.enabled(obs::Level::kDebug)) {
    logger_.debug(
        "quic.connection_accepted",
        {{"conn", id}, {"remote", packet.remote->to_string()}, {"address_validated", validated}});
  }
  raw->on_packet(packet, to_tstamp(loop_.now()));
}

void Endpoint::refuse(const io::RxPacket& packet, const ngtcp2_pkt_hd& hd, Refusal why) noexcept {
  const std::uint64_t refused = ++admission_counters_.refused[static_cast<std::size_t>(why)];
  if (refused % 1000 == 1) {
    logger_.warn("quic.connection_refused", {{"reason", to_string(why)},
                                             {"connections", connections_.size()},
                                             {"handshakes", admission_->handshakes_in_flight()},
                                             {"refused_total", refused}});
  }
  // The answer is smaller than the Initial it answers, so refusals cannot amplify a spoofed
  // flood; RFC 9000 section 8.1 allows a CONNECTION_CLOSE in an Initial here.
  auto buffer = socket_->tx_buffer(NGTCP2_MAX_UDP_PAYLOAD_SIZE);
  if (buffer.empty()) return;
  const std::string_view reason = to_string(why);
  const std::uint64_t code =
      why == Refusal::kInvalidToken ? NGTCP2_INVALID_TOKEN : NGTCP2_CONNECTION_REFUSED;
  const ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(
      buffer.data(), NGTCP2_MAX_UDP_PAYLOAD_SIZE, hd.version, &hd.scid, &hd.dcid, code,
      reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
  if (n > 0) socket_->tx_commit(static_cast<std::size_t>(n), *packet.local, *packet.remote);
}

Endpoint::TokenCheck Endpoint::check_retry_token(const io::RxPacket& packet,
                                                 const ngtcp2_pkt_hd& hd,
                                                 ngtcp2_cid& odcid) const noexcept {
  // Tokens of another kind (NEW_TOKEN; we never issue them) are ignored, as RFC 9000 section
  // 8.1.3 allows.
  if (hd.token.len == 0 || hd.token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    return TokenCheck::kNone;
  }
  const int rv = ngtcp2_crypto_verify_retry_token(
      &odcid, hd.token.base, hd.token.len, retry_secret_.data(), retry_secret_.size(), hd.version,
      static_cast<const ngtcp2_sockaddr*>(packet.remote->data()), packet.remote->length(), &hd.dcid,
      static_cast<ngtcp2_duration>(kRetryTokenLifetime.count()), to_tstamp(loop_.now()));
  return rv == 0 ? TokenCheck::kValid : TokenCheck::kInvalid;
}

void Endpoint::send_retry(const io::RxPacket& packet, const ngtcp2_pkt_hd& hd) noexcept {
  ngtcp2_cid retry_scid;
  new_cid(retry_scid);
  std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN> token{};
  const ngtcp2_ssize token_length = ngtcp2_crypto_generate_retry_token(
      token.data(), retry_secret_.data(), retry_secret_.size(), hd.version,
      static_cast<const ngtcp2_sockaddr*>(packet.remote->data()), packet.remote->length(),
      &retry_scid, &hd.dcid, to_tstamp(loop_.now()));
  if (token_length < 0) return;
  auto buffer = socket_->tx_buffer(NGTCP2_MAX_UDP_PAYLOAD_SIZE);
  if (buffer.empty()) return;
  const ngtcp2_ssize n = ngtcp2_crypto_write_retry(
      buffer.data(), NGTCP2_MAX_UDP_PAYLOAD_SIZE, hd.version, &hd.scid, &retry_scid, &hd.dcid,
      token.data(), static_cast<std::size_t>(token_length));
  if (n <= 0) return;
  socket_->tx_commit(static_cast<std::size_t>(n), *packet.local, *packet.remote);
  ++admission_counters_.retries_sent;
}

void Endpoint::on_handshake_completed(ConnectionImpl& connection) noexcept {
  if (admission_) {
    admission_->on_handshake_completed(connection.source(), connection.validated_at_accept());
  }
}

AdmissionCounters Endpoint::admission_counters() const noexcept {
  AdmissionCounters counters = admission_counters_;
  if (admission_) {
    counters.handshakes_in_flight = admission_->handshakes_in_flight();
    counters.sources_tracked = admission_->sources_tracked();
  }
  return counters;
}

void Endpoint::send_stateless_reset(const io::RxPacket& packet,
                                    const ngtcp2_version_cid& vc) noexcept {
  // RFC 9000 section 10.3: a reset must be shorter than the packet that triggered it (so two
  // endpoints cannot loop) and at least 21 bytes; ngtcp2 wants 16 random bytes or more.
  constexpr std::size_t kTokenBytes = NGTCP2_STATELESS_RESET_TOKENLEN;
  constexpr std::size_t kMinRandom = NGTCP2_MIN_STATELESS_RESET_RANDLEN;
  constexpr std::size_t kMaxRandom = 40;
  if (packet.data.size() < 1 + kMinRandom + kTokenBytes + 1) return;
  const auto now = loop_.now();
  if (now - reset_window_ >= std::chrono::seconds(1)) {
    reset_window_ = now;
    resets_in_window_ = 0;
  }
  if (++resets_in_window_ > 1000) return;
  ngtcp2_cid dcid;
  ngtcp2_cid_init(&dcid, vc.dcid, vc.dcidlen);
  std::array<std::uint8_t, kTokenBytes> token{};
  if (ngtcp2_crypto_generate_stateless_reset_token(token.data(), static_secret_.data(),
                                                   static_secret_.size(), &dcid) != 0) {
    return;
  }
  const std::size_t random_bytes = std::min(kMaxRandom, packet.data.size() - 1 - kTokenBytes - 1);
  std::array<std::uint8_t, kMaxRandom> random{};
  fill_random({random.data(), random_bytes});
  auto buffer = socket_->tx_buffer(1 + kMaxRandom + kTokenBytes);
  if (buffer.empty()) return;
  const ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(
      buffer.data(), buffer.size(), token.data(), random.data(), random_bytes);
  if (n > 0) socket_->tx_commit(static_cast<std::size_t>(n), *packet.local, *packet.remote);
}

void Endpoint::send_version_negotiation(const io::RxPacket& packet,
                                        const ngtcp2_version_cid& vc) noexcept {
  // RFC 9000 section 6.1: only for datagrams a client could have sent as a first flight,
  // so small spoofed packets cannot make us reflect.
  if (packet.data.size() < NGTCP2_MAX_UDP_PAYLOAD_SIZE) return;
  auto buffer = socket_->tx_buffer(256);
  if (buffer.empty()) return;
  std::uint8_t unused = 0;
  fill_random({&unused, 1});
  const std::uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  const ngtcp2_ssize n =
      ngtcp2_pkt_write_version_negotiation(buffer.data(), 256, unused, vc.scid, vc.scidlen, vc.dcid,
                                           vc.dcidlen, versions, std::size(versions));
  if (n > 0) socket_->tx_commit(static_cast<std::size_t>(n), *packet.local, *packet.remote);
}

// --- the flush cycle ---------------------------------------------------------------------

void Endpoint::mark_dirty(ConnectionImpl& connection) noexcept {
  if (connection.dirty()) return;
  connection.set_dirty(true);
  dirty_.push_back(&connection);
  if (!in_cycle_) schedule_work();
}

void Endpoint::mark_notify(ConnectionImpl& connection) noexcept {
  if (connection.notify_queued()) return;
  connection.set_notify_queued(true);
  notify_.push_back(&connection);
  if (!in_cycle_) schedule_work();
}

void Endpoint::mark_dead(ConnectionImpl& connection) noexcept {
  if (connection.dead_queued()) return;
  connection.set_dead_queued();
  dead_.push_back(&connection);
  if (!in_cycle_) schedule_work();
}

void Endpoint::schedule_work() noexcept {
  if (!work_timer_.armed()) work_timer_.arm(loop_.now());
}

void Endpoint::on_connection_timer(ConnectionImpl& connection) noexcept {
  in_cycle_ = true;
  connection.on_timer(to_tstamp(loop_.now()));
  // Freeing happens from the work timer: this call runs inside the connection's own timer.
  process_pending(false);
}

void Endpoint::process_pending(bool allow_reap) noexcept {
  in_cycle_ = true;
  for (int pass = 0; pass < kMaxPasses && (!dirty_.empty() || !notify_.empty()); ++pass) {
    write_dirty();
    if (!notify_.empty()) {
      std::vector<ConnectionImpl*> notifying;
      notifying.swap(notify_);
      for (ConnectionImpl* connection : notifying) {
        connection->set_notify_queued(false);
        connection->notify_closed();
      }
      if (notify_.empty()) {
        notifying.clear();
        notify_.swap(notifying);  // keep the capacity
      }
    }
    if (socket_blocked_) break;
  }
  flush_socket();
  in_cycle_ = false;
  if (allow_reap) reap();
  if ((!dirty_.empty() && !socket_blocked_) || !notify_.empty() || !dead_.empty()) {
    schedule_work();
  }
}

void Endpoint::write_dirty() noexcept {
  if (socket_blocked_ || dirty_.empty()) return;
  writing_.swap(dirty_);
  const ngtcp2_tstamp now = to_tstamp(loop_.now());
  for (std::size_t i = 0; i < writing_.size(); ++i) {
    ConnectionImpl* connection = writing_[i];
    connection->set_dirty(false);
    if (connection->write(now)) continue;
    // The socket buffer is full: everything not yet written waits for writability.
    socket_blocked_ = true;
    for (std::size_t j = i; j < writing_.size(); ++j) {
      if (!writing_[j]->dirty()) {
        writing_[j]->set_dirty(true);
        dirty_.push_back(writing_[j]);
      }
    }
    (void)loop_.modify_fd(socket_->fd(), io::EventLoop::kReadable | io::EventLoop::kWritable);
    break;
  }
  writing_.clear();
}

void Endpoint::flush_socket() noexcept {
  if (!socket_->tx_pending()) return;
  if (!socket_->flush()) {
    socket_blocked_ = true;
    (void)loop_.modify_fd(socket_->fd(), io::EventLoop::kReadable | io::EventLoop::kWritable);
  }
}

void Endpoint::reap() noexcept {
  if (dead_.empty()) return;
  std::vector<ConnectionImpl*> dying;
  dying.swap(dead_);
  for (ConnectionImpl* connection : dying) {
    connection->notify_closed();  // no-op when already delivered
    std::erase(dirty_, connection);
    std::erase(notify_, connection);
    for (const CidKey& key : connection->routed_cids()) {
      auto it = by_cid_.find(key);
      if (it != by_cid_.end() && it->second == connection) by_cid_.erase(it);
    }
    if (config_.is_server) {
      admission_->on_closed(connection->source(), connection->handshake_completed(),
                            connection->validated_at_accept() || connection->handshake_completed());
      connections_.erase(connection->id());
    } else {
      connection->release();  // the Client keeps exposing it, closed
    }
  }
}

void Endpoint::release_idle_memory() noexcept {
  for (auto& [id, connection] : connections_) connection->release_idle_memory();
  socket_->release_idle_buffers();
  if (lane_) lane_->release_idle_buffers();
}

std::size_t Endpoint::resident_buffer_bytes() const noexcept {
  return socket_->resident_buffer_bytes() + (lane_ ? lane_->resident_buffer_bytes() : 0);
}

}  // namespace lanparty::quic::detail
