// SPDX-License-Identifier: MIT
// ConnectionImpl: ngtcp2 callbacks, the packet writer (datagrams packed with FLAG_MORE, then
// streams), and what the close state machine (close_state.hpp; closing/draining periods of
// RFC 9000 section 10.2) calls for: CONNECTION_CLOSE packets, timers, on_closed.
#include "connection_impl.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "crypto.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/quic/error.hpp"

namespace lanparty::quic::detail {
namespace {

// RFC 9000 section 17.3.1: 1 byte flags, the DCID, up to 4 bytes of packet number; every
// TLS 1.3 AEAD we allow has a 16-byte tag.
constexpr std::size_t kShortHeaderFixedBytes = 1 + 4 + 16;
constexpr std::size_t kRetiredCidsKept = 8;
constexpr std::size_t kMaxReasonBytes = 512;
constexpr std::size_t kMaxPacketsPerWrite = 64;

std::size_t varint_length(std::uint64_t v) noexcept {
  if (v < 64) return 1;
  if (v < 16384) return 2;
  if (v < 1073741824) return 4;
  return 8;
}

// Largest p with 1 (type) + varint_length(p) + p <= space.
std::size_t max_datagram_payload(std::size_t space) noexcept {
  std::size_t best = 0;
  for (std::size_t len : {1u, 2u, 4u, 8u}) {
    if (space < 1 + len) continue;
    const std::size_t p = space - 1 - len;
    if (varint_length(p) <= len) best = std::max(best, p);
  }
  return best;
}

ConnectionImpl* self_of(void* user_data) noexcept {
  return static_cast<ConnectionImpl*>(user_data);
}

std::string truncate_reason(std::string_view reason) {
  if (reason.size() <= kMaxReasonBytes) return std::string(reason);
  std::size_t cut = kMaxReasonBytes;
  // Do not split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xc0) == 0x80) --cut;
  return std::string(reason.substr(0, cut));
}

}  // namespace

// --- ConnectionImpl: setup ---------------------------------------------------------------

ConnectionImpl::ConnectionImpl(Endpoint& endpoint, std::uint64_t id, const io::SocketAddress& local,
                               const io::SocketAddress& remote)
    : endpoint_(endpoint),
      id_(id),
      local_(local),
      remote_(remote),
      datagrams_(endpoint.config().datagram_queue_slots, NGTCP2_MAX_PMTUD_UDP_PAYLOAD_SIZE,
                 endpoint.datagram_slots()),
      expiry_timer_(endpoint.loop(), [this] { endpoint_.on_connection_timer(*this); }),
      close_deadline_timer_(endpoint.loop(), [this] {
        if (close_.on_deadline()) endpoint_.mark_dirty(*this);
      }) {
  anchor_.ref.get_conn = cb_get_conn;
  anchor_.ref.user_data = this;
  // A client's connection is the application's from the start.
  reported_ = !endpoint.config().is_server;
}

ConnectionImpl::~ConnectionImpl() = default;

ngtcp2_callbacks ConnectionImpl::callbacks() const noexcept {
  ngtcp2_callbacks cb{};
  const bool server = endpoint_.config().is_server;
  cb.client_initial = server ? nullptr : ngtcp2_crypto_client_initial_cb;
  cb.recv_client_initial = server ? ngtcp2_crypto_recv_client_initial_cb : nullptr;
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.handshake_completed = cb_handshake_completed;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.recv_stream_data = cb_recv_stream_data;
  cb.acked_stream_data_offset = cb_acked_stream_data_offset;
  cb.stream_open = cb_stream_open;
  cb.stream_close = cb_stream_close;
  cb.recv_stateless_reset = cb_recv_stateless_reset;
  cb.recv_retry = server ? nullptr : ngtcp2_crypto_recv_retry_cb;
  cb.rand = cb_rand;
  cb.get_new_connection_id = cb_get_new_connection_id;
  cb.remove_connection_id = cb_remove_connection_id;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.extend_max_stream_data = cb_extend_max_stream_data;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.recv_datagram = cb_recv_datagram;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  return cb;
}

void ConnectionImpl::settings_and_params(ngtcp2_settings& settings,
                                         ngtcp2_transport_params& params) const {
  const EndpointConfig& config = endpoint_.config();
  ngtcp2_settings_default(&settings);
  settings.initial_ts = to_tstamp(endpoint_.loop().now());
  settings.handshake_timeout = static_cast<ngtcp2_duration>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(config.handshake_timeout).count());
  const StreamLimits& limits = config.streams;
  settings.max_window = limits.max_connection_window;
  settings.max_stream_window = limits.max_stream_window;

  ngtcp2_transport_params_default(&params);
  params.initial_max_data = limits.connection_window;
  // A server never opens a stream: nothing to receive on one of its own.
  params.initial_max_stream_data_bidi_local = config.is_server ? 0 : limits.stream_window;
  params.initial_max_stream_data_bidi_remote = limits.stream_window;
  params.initial_max_stream_data_uni = 0;
  params.initial_max_streams_bidi = limits.peer_bidi_streams;
  params.initial_max_streams_uni = 0;
  params.max_idle_timeout = static_cast<ngtcp2_duration>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(config.idle_timeout).count());
  params.max_udp_payload_size = io::kMaxUdpPayloadBytes;
  params.max_datagram_frame_size = config.max_datagram_frame_size;
}

ngtcp2_path ConnectionImpl::path_of(const io::SocketAddress& local,
                                    const io::SocketAddress& remote) const noexcept {
  ngtcp2_path path{};
  path.local.addr = static_cast<ngtcp2_sockaddr*>(const_cast<void*>(local.data()));
  path.local.addrlen = local.length();
  path.remote.addr = static_cast<ngtcp2_sockaddr*>(const_cast<void*>(remote.data()));
  path.remote.addrlen = remote.length();
  return path;
}

Status ConnectionImpl::init_server(const ngtcp2_pkt_hd& hd,
                                   std::shared_ptr<const ServerTlsContext> tls,
                                   const ngtcp2_cid* retry_odcid) {
  ngtcp2_cid scid;
  endpoint_.new_cid(scid);
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  settings_and_params(settings, params);
  if (retry_odcid != nullptr) {
    // RFC 9000 section 7.3: after a Retry the client checks both connection IDs.
    params.original_dcid = *retry_odcid;
    params.retry_scid = hd.dcid;
    params.retry_scid_present = 1;
    settings.token = hd.token;
  } else {
    params.original_dcid = hd.dcid;
  }
  params.stateless_reset_token_present = 1;
  const auto secret = endpoint_.static_secret();
  if (ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, secret.data(),
                                                   secret.size(), &scid) != 0) {
    return fail(Errc::kInternal, "ngtcp2_crypto_generate_stateless_reset_token");
  }
  const ngtcp2_callbacks cb = callbacks();
  const ngtcp2_path path = path_of(local_, remote_);
  ngtcp2_conn* conn = nullptr;
  if (int rv = ngtcp2_conn_server_new(&conn, &hd.scid, &scid, &path, hd.version, &cb, &settings,
                                      &params, nullptr, this);
      rv != 0) {
    return fail(make_quic_error(rv), "ngtcp2_conn_server_new");
  }
  conn_.reset(conn);
  server_tls_ = std::move(tls);
  auto session = server_tls_->new_session(anchor_);
  if (!session) return tl::unexpected(session.error());
  session_ = std::move(*session);
  ngtcp2_conn_set_tls_native_handle(conn, session_.native());
  // Route the client's retransmitted Initials (original DCID) and everything after (our SCID).
  endpoint_.associate(hd.dcid, *this);
  endpoint_.associate(scid, *this);
  return ok();
}

Status ConnectionImpl::init_client(const ClientTlsContext& tls) {
  ngtcp2_cid scid;
  endpoint_.new_cid(scid);
  ngtcp2_cid dcid;
  dcid.datalen = 18;  // >= 8 (RFC 9000 section 7.2), random
  fill_random({dcid.data, dcid.datalen});
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  settings_and_params(settings, params);
  const ngtcp2_callbacks cb = callbacks();
  const ngtcp2_path path = path_of(local_, remote_);
  ngtcp2_conn* conn = nullptr;
  if (int rv = ngtcp2_conn_client_new(&conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb,
                                      &settings, &params, nullptr, this);
      rv != 0) {
    return fail(make_quic_error(rv), "ngtcp2_conn_client_new");
  }
  conn_.reset(conn);
  auto session = tls.new_session(anchor_);
  if (!session) return tl::unexpected(session.error());
  session_ = std::move(*session);
  ngtcp2_conn_set_tls_native_handle(conn, session_.native());
  const auto keepalive = endpoint_.config().keepalive;
  if (keepalive.count() > 0) {
    ngtcp2_conn_set_keep_alive_timeout(
        conn, static_cast<ngtcp2_duration>(
                  std::chrono::duration_cast<std::chrono::nanoseconds>(keepalive).count()));
  }
  endpoint_.associate(scid, *this);
  endpoint_.mark_dirty(*this);  // the first Initial goes out at the next turn
  return ok();
}

void ConnectionImpl::release() noexcept {
  expiry_timer_.disarm();
  close_deadline_timer_.disarm();
  conn_.reset();
  session_.reset();
  streams_.clear();
  datagrams_.clear();
}

// --- ConnectionImpl: application API -----------------------------------------------------

bool ConnectionImpl::user_visible() const noexcept {
  return close_.user_visible() && conn_ != nullptr;
}

Result<std::int64_t> ConnectionImpl::open_bidi_stream() {
  if (!user_visible() || close_.has_request()) {
    return fail(Errc::kClosed, "open_bidi_stream: connection closing");
  }
  std::int64_t stream_id = -1;
  if (int rv = ngtcp2_conn_open_bidi_stream(conn_.get(), &stream_id, nullptr); rv != 0) {
    if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) {
      return fail(Errc::kWouldBlock, "open_bidi_stream: peer's stream limit reached");
    }
    return fail(make_quic_error(rv), "ngtcp2_conn_open_bidi_stream");
  }
  streams_.try_emplace(stream_id);
  return stream_id;
}

Status ConnectionImpl::send_stream(std::int64_t stream_id, std::span<const std::uint8_t> data) {
  if (!user_visible() || close_.has_request()) {
    return fail(Errc::kClosed, "send_stream: connection closing");
  }
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) {
    return fail(Errc::kNotFound, fmt::format("send_stream: no stream {}", stream_id));
  }
  if (it->second.fin_queued_) {
    return fail(Errc::kClosed, fmt::format("send_stream: stream {} already finished", stream_id));
  }
  const std::size_t cap = endpoint_.config().streams.max_unacked_stream_bytes;
  const std::uint64_t unacked = it->second.total() - it->second.acked();
  if (cap != 0 && unacked + data.size() > cap) {
    return fail(Errc::kWouldBlock,
                fmt::format("send_stream: the peer has not acknowledged {} bytes of stream {} "
                            "(at most {} are kept)",
                            unacked, stream_id, cap));
  }
  it->second.append(data);
  stats_.stream_bytes_queued += data.size();
  endpoint_.mark_dirty(*this);
  return ok();
}

Status ConnectionImpl::shutdown_stream_write(std::int64_t stream_id) {
  if (!user_visible()) return fail(Errc::kClosed, "shutdown_stream_write: connection closing");
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) {
    return fail(Errc::kNotFound, fmt::format("shutdown_stream_write: no stream {}", stream_id));
  }
  it->second.fin_queued_ = true;
  endpoint_.mark_dirty(*this);
  return ok();
}

std::uint64_t ConnectionImpl::peer_max_datagram_frame_size() const noexcept {
  if (!conn_ || !handshake_completed_) return 0;
  const ngtcp2_transport_params* params = ngtcp2_conn_get_remote_transport_params(conn_.get());
  return params != nullptr ? params->max_datagram_frame_size : 0;
}

std::size_t ConnectionImpl::datagram_budget() const noexcept {
  const std::uint64_t peer = peer_max_datagram_frame_size();
  if (peer <= 3) return 0;
  const std::size_t path = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_.get());
  const std::size_t overhead = kShortHeaderFixedBytes + ngtcp2_conn_get_dcid(conn_.get())->datalen;
  if (path <= overhead) return 0;
  const std::size_t by_packet = max_datagram_payload(path - overhead);
  const std::uint64_t by_peer = peer - 3;  // PROTOCOL.md section 2: parameter minus 3
  return static_cast<std::size_t>(std::min<std::uint64_t>(by_peer, by_packet));
}

Status ConnectionImpl::send_datagram(std::span<const std::uint8_t> payload) {
  if (!user_visible() || close_.has_request()) {
    return fail(Errc::kClosed, "send_datagram: connection closing");
  }
  if (!handshake_completed_) {
    return fail(Errc::kWouldBlock, "send_datagram: handshake not complete");
  }
  const std::size_t budget = datagram_budget();
  if (payload.size() > budget) {
    return fail(Errc::kTooLarge, fmt::format("datagram of {} bytes exceeds the budget of {}",
                                             payload.size(), budget));
  }
  if (datagrams_.push(payload, to_tstamp(endpoint_.loop().now()))) {
    ++stats_.datagrams_dropped_queue_full;
  }
  endpoint_.mark_dirty(*this);
  return ok();
}

Result<std::array<std::uint8_t, 32>> ConnectionImpl::export_keying_material(
    std::string_view label) const {
  // GnuTLS keeps labels under its 64-byte digest buffer (lib/secrets.c), RFC 8446 under 250.
  if (label.empty() || label.size() > 63) {
    return fail(Errc::kInvalidArgument,
                fmt::format("export_keying_material: label of {} bytes (1..63)", label.size()));
  }
  // Mid-handshake GnuTLS would answer from an exporter secret not derived yet.
  if (!handshake_completed_) {
    return fail(Errc::kWouldBlock, "export_keying_material: handshake not complete");
  }
  if (session_.native() == nullptr) {
    return fail(Errc::kClosed, "export_keying_material: connection released");
  }
  std::array<std::uint8_t, 32> out{};
  if (auto exported = detail::export_keying_material(session_, label, out); !exported) {
    return tl::unexpected(exported.error());
  }
  return out;
}

void ConnectionImpl::close(std::uint64_t app_error_code, std::string_view reason) {
  if (!user_visible()) return;
  close_deadline_timer_.disarm();  // a close now replaces a close_after_ack in progress
  request_close(CloseInfo::Kind::kLocalApplication, app_error_code, std::string(reason));
}

void ConnectionImpl::close_after_ack(std::uint64_t app_error_code, std::string reason,
                                     std::chrono::milliseconds deadline,
                                     std::chrono::milliseconds linger_after_ack) {
  if (!user_visible()) return;
  const auto deadline_at = endpoint_.loop().now() + deadline;
  if (!close_.request_after_ack(
          {CloseInfo::Kind::kLocalApplication, app_error_code, truncate_reason(reason)},
          deadline_at, linger_after_ack)) {
    return;
  }
  close_deadline_timer_.arm(deadline_at);
  check_close_after_ack();
}

void ConnectionImpl::request_close(CloseInfo::Kind kind, std::uint64_t code,
                                   std::string reason) noexcept {
  if (close_.request_now({kind, code, truncate_reason(reason)})) endpoint_.mark_dirty(*this);
}

void ConnectionImpl::check_close_after_ack() noexcept {
  if (!std::holds_alternative<CloseState::AfterAck>(close_.request())) return;
  for (const auto& [id, stream] : streams_) {
    if (!stream.all_acked()) return;
  }
  const auto outcome = close_.on_all_acked(endpoint_.loop().now());
  switch (outcome.action) {
    case CloseState::AckOutcome::Action::kArmTimer:
      close_deadline_timer_.arm(outcome.at);
      return;
    case CloseState::AckOutcome::Action::kCloseNow:
      close_deadline_timer_.disarm();
      endpoint_.mark_dirty(*this);
      return;
    case CloseState::AckOutcome::Action::kNone:
      close_deadline_timer_.disarm();
      return;
  }
}

ConnectionStats ConnectionImpl::stats() const noexcept {
  ConnectionStats out = stats_;
  out.datagram_queue_depth = datagrams_.size();
  if (conn_) {
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(conn_.get(), &cs);
    out.smoothed_rtt = std::chrono::microseconds(cs.smoothed_rtt / 1000);
    out.cwnd_bytes = cs.cwnd;
    out.max_udp_payload_bytes = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_.get());
  }
  return out;
}

// --- ConnectionImpl: packets in ----------------------------------------------------------

void ConnectionImpl::on_packet(const io::RxPacket& packet, ngtcp2_tstamp now) noexcept {
  if (CloseState::Closing* closing = close_.closing()) {
    // RFC 9000 section 10.2.1: answer with the CONNECTION_CLOSE again, with backoff (on
    // the 1st, 2nd, 4th, 8th, ... packet) so a flood cannot amplify through us.
    const std::uint64_t n = ++closing->packets_received;
    if ((n & (n - 1)) == 0) send_close_packet();
    return;
  }
  if (!close_.live()) return;  // draining or dead
  stats_.udp_bytes_received += packet.data.size();
  const ngtcp2_path path = path_of(*packet.local, *packet.remote);
  ngtcp2_pkt_info pi{};
  const int rv =
      ngtcp2_conn_read_pkt(conn_.get(), &path, &pi, packet.data.data(), packet.data.size(), now);
  if (rv != 0) {
    on_liberr(rv, now);
    return;
  }
  endpoint_.mark_dirty(*this);  // ACKs and responses go out at the end of the batch
}

void ConnectionImpl::on_timer(ngtcp2_tstamp now) noexcept {
  if (!close_.live()) {
    go_dead();  // closing or draining: 3 PTO passed (nothing when dead already)
    return;
  }
  if (int rv = ngtcp2_conn_handle_expiry(conn_.get(), now); rv != 0) {
    on_liberr(rv, now);
    return;
  }
  endpoint_.mark_dirty(*this);
}

void ConnectionImpl::on_liberr(int liberr, ngtcp2_tstamp now) noexcept {
  const bool handshaking = !handshake_completed_;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  switch (liberr) {
    case NGTCP2_ERR_DRAINING:
      start_draining(now);
      return;
    case NGTCP2_ERR_IDLE_CLOSE:
      // Silent close (RFC 9000 section 10.1): nothing is sent.
      finish({CloseInfo::Kind::kIdleTimeout, 0,
              fmt::format("no packet from the peer for {} ms",
                          endpoint_.config().idle_timeout.count())});
      go_dead();
      return;
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
      finish({CloseInfo::Kind::kHandshakeTimeout, 0,
              fmt::format("the QUIC handshake with {} did not complete within {} ms",
                          remote_.to_string(), endpoint_.config().handshake_timeout.count())});
      go_dead();
      return;
    case NGTCP2_ERR_RECV_VERSION_NEGOTIATION:
      // A Version Negotiation packet listing no version we speak (RFC 9000 section 6.2):
      // the attempt ends here, silently (ngtcp2 writes no close for it).
      finish({CloseInfo::Kind::kHandshakeFailed, 0,
              fmt::format("{} speaks no QUIC version this client does (it answered with "
                          "Version Negotiation)",
                          remote_.to_string()),
              obs::HandshakeFailure::kVersionMismatch});
      go_dead();
      return;
    case NGTCP2_ERR_DROP_CONN:
    case NGTCP2_ERR_RETRY:
      finish({handshaking ? CloseInfo::Kind::kHandshakeFailed : CloseInfo::Kind::kLocalTransport, 0,
              fmt::format("QUIC stack dropped the connection: {}", ngtcp2_strerror(liberr))});
      go_dead();
      return;
    case NGTCP2_ERR_CRYPTO: {
      const std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn_.get());
      std::string reason = !anchor_.failure_reason.empty()
                               ? anchor_.failure_reason
                               : fmt::format("TLS handshake failed: {}", describe_tls_alert(alert));
      reason = truncate_reason(reason);
      finish({handshaking ? CloseInfo::Kind::kHandshakeFailed : CloseInfo::Kind::kLocalTransport,
              NGTCP2_CRYPTO_ERROR | alert, reason});
      ngtcp2_connection_close_error_set_transport_error_tls_alert(
          &ccerr, alert, reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
      start_closing(ccerr, now);
      return;
    }
    default: {
      const std::string reason = fmt::format("QUIC error: {}", ngtcp2_strerror(liberr));
      finish({handshaking ? CloseInfo::Kind::kHandshakeFailed : CloseInfo::Kind::kLocalTransport,
              ngtcp2_err_infer_quic_transport_error_code(liberr), reason});
      ngtcp2_connection_close_error_set_transport_error_liberr(
          &ccerr, liberr, reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
      start_closing(ccerr, now);
      return;
    }
  }
}

void ConnectionImpl::on_unreachable(int err) noexcept {
  if (!close_.handshaking()) return;
  finish({CloseInfo::Kind::kHandshakeFailed, 0,
          fmt::format("{} answered with ICMP: {}", remote_.to_string(), std::strerror(err)),
          obs::HandshakeFailure::kUnreachable});
  go_dead();
}

CloseInfo ConnectionImpl::peer_close_info() const {
  if (stateless_reset_) {
    return {CloseInfo::Kind::kStatelessReset, 0, "the peer sent a stateless reset"};
  }
  ngtcp2_connection_close_error ce;
  ngtcp2_connection_close_error_default(&ce);
  ngtcp2_conn_get_connection_close_error(conn_.get(), &ce);
  std::string reason;
  if (ce.reason != nullptr) reason.assign(reinterpret_cast<const char*>(ce.reason), ce.reasonlen);
  switch (ce.type) {
    case NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION:
      return {CloseInfo::Kind::kPeerApplication, ce.error_code, std::move(reason)};
    case NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT_VERSION_NEGOTIATION:
      return {CloseInfo::Kind::kHandshakeFailed, 0, "the peer supports no common QUIC version",
              obs::HandshakeFailure::kVersionMismatch};
    case NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT_IDLE_CLOSE:
      return {CloseInfo::Kind::kIdleTimeout, 0, "idle timeout"};
    case NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT:
      break;
  }
  if (handshake_completed_) {
    return {CloseInfo::Kind::kPeerTransport, ce.error_code, std::move(reason)};
  }
  std::string why;
  if ((ce.error_code & ~std::uint64_t{0xff}) == NGTCP2_CRYPTO_ERROR) {
    why = fmt::format("the peer refused the TLS handshake: {}",
                      describe_tls_alert(static_cast<std::uint8_t>(ce.error_code & 0xff)));
  } else if (ce.error_code == NGTCP2_CONNECTION_REFUSED) {
    why = "the server refused the connection";
  } else {
    why =
        fmt::format("the peer closed the connection during the handshake (transport error 0x{:x})",
                    ce.error_code);
  }
  if (!reason.empty()) why += fmt::format("; peer says: {}", reason);
  return {CloseInfo::Kind::kHandshakeFailed, ce.error_code, std::move(why)};
}

// --- ConnectionImpl: close state machine -------------------------------------------------

void ConnectionImpl::finish(CloseInfo info) noexcept {
  close_.record(std::move(info));
  endpoint_.mark_notify(*this);
}

void ConnectionImpl::start_closing(const ngtcp2_connection_close_error& ccerr,
                                   ngtcp2_tstamp now) noexcept {
  if (!close_.live()) return;
  datagrams_.clear();
  std::vector<std::uint8_t> close_packet(NGTCP2_MAX_PMTUD_UDP_PAYLOAD_SIZE);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      conn_.get(), &ps.path, &pi, close_packet.data(), close_packet.size(), &ccerr, now);
  if (n <= 0) {
    // Nothing can be sent (no keys yet, or ngtcp2 refused): end silently.
    go_dead();
    return;
  }
  close_packet.resize(static_cast<std::size_t>(n));
  if (ps.path.local.addrlen > 0) local_.assign(ps.path.local.addr, ps.path.local.addrlen);
  if (ps.path.remote.addrlen > 0) remote_.assign(ps.path.remote.addr, ps.path.remote.addrlen);
  (void)close_.enter_closing(std::move(close_packet));
  send_close_packet();
  // RFC 9000 section 10.2: keep the state for three PTOs.
  expiry_timer_.arm(from_tstamp(now + 3 * ngtcp2_conn_get_pto(conn_.get())));
}

void ConnectionImpl::start_draining(ngtcp2_tstamp now) noexcept {
  if (!close_.live()) return;
  datagrams_.clear();
  finish(peer_close_info());
  (void)close_.enter_draining();
  expiry_timer_.arm(from_tstamp(now + 3 * ngtcp2_conn_get_pto(conn_.get())));
}

void ConnectionImpl::send_close_packet() noexcept {
  const CloseState::Closing* closing = close_.closing();
  if (closing == nullptr) return;
  const std::vector<std::uint8_t>& packet = closing->close_packet;
  io::UdpSocket& socket = endpoint_.socket();
  auto buffer = socket.tx_buffer(packet.size());
  if (buffer.empty()) {
    (void)socket.flush();
    buffer = socket.tx_buffer(packet.size());
    if (buffer.empty()) return;  // the peer retransmits and we answer then
  }
  std::memcpy(buffer.data(), packet.data(), packet.size());
  socket.tx_commit(packet.size(), local_, remote_);
  stats_.udp_bytes_sent += packet.size();
}

void ConnectionImpl::go_dead() noexcept {
  if (!close_.enter_dead()) return;
  expiry_timer_.disarm();
  close_deadline_timer_.disarm();
  if (!close_.recorded()) finish({CloseInfo::Kind::kLocalTransport, 0, "closed"});
  endpoint_.mark_dead(*this);
}

void ConnectionImpl::notify_closed() noexcept {
  const CloseInfo* delivered = close_.deliver();
  if (delivered == nullptr) return;
  const CloseInfo& info = *delivered;
  const obs::Logger& log = endpoint_.logger();
  if (!reported_) {
    // A server connection that never finished its handshake: the application never saw
    // it, so only the log hears about it (scanners would otherwise flood the handler).
    log.debug("quic.handshake_failed", {{"conn", id_},
                                        {"remote", remote_.to_string()},
                                        {"kind", to_string(info.kind)},
                                        {"code", info.code},
                                        {"reason", info.reason}});
    return;
  }
  log.info("quic.connection_closed", {{"conn", id_},
                                      {"remote", remote_.to_string()},
                                      {"kind", to_string(info.kind)},
                                      {"code", info.code},
                                      {"reason", info.reason}});
  try {
    endpoint_.handler().on_closed(*this, info);
  } catch (...) {
    log.error("quic.handler_threw", {{"conn", id_}, {"callback", "on_closed"}});
  }
}

// --- ConnectionImpl: packets out ---------------------------------------------------------

bool ConnectionImpl::write(ngtcp2_tstamp now) noexcept {
  if (!close_.live()) return true;
  if (std::optional<CloseRequest> pending = close_.take_requested()) {
    ngtcp2_connection_close_error ccerr;
    ngtcp2_connection_close_error_set_application_error(
        &ccerr, pending->code, reinterpret_cast<const std::uint8_t*>(pending->reason.data()),
        pending->reason.size());
    finish({pending->kind, pending->code, pending->reason});
    start_closing(ccerr, now);
    return true;
  }
  // Streams closed since the last pass (not erased inside ngtcp2 callbacks, where a writer
  // could still hold a pointer).
  std::erase_if(streams_, [](const auto& entry) { return entry.second.closed_; });
  for (auto& [id, stream] : streams_) stream.blocked_ = false;

  io::UdpSocket& socket = endpoint_.socket();
  ngtcp2_conn* conn = conn_.get();
  // The whole setting (1452), not the path's current size: PMTUD probes are larger than
  // the current size and ngtcp2 only emits them when the buffer can hold them.
  const std::size_t destlen = ngtcp2_conn_get_max_tx_udp_payload_size(conn);
  const std::size_t max_packets =
      std::clamp<std::size_t>(ngtcp2_conn_get_send_quantum(conn) / destlen, 1, kMaxPacketsPerWrite);
  // Slow start ends on a loss or HyStart's delay signal, which ngtcp2 sees on an ACK or a
  // timer, never while writing: one look per write, not per packet.
  ngtcp2_conn_stat cc;
  ngtcp2_conn_get_conn_stat(conn, &cc);
  const bool judge_queue_delay = cc.cwnd >= cc.ssthresh;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  io::SocketAddress tx_local;
  io::SocketAddress tx_remote;
  bool socket_full = false;
  for (std::size_t packets = 0; packets < max_packets;) {
    auto buffer = socket.tx_buffer(destlen);
    if (buffer.empty()) {
      if (!socket.flush() || (buffer = socket.tx_buffer(destlen)).empty()) {
        socket_full = true;
        break;
      }
    }
    const ngtcp2_ssize n = write_packet(buffer.data(), destlen, ps, now, judge_queue_delay);
    if (n < 0) {
      on_liberr(static_cast<int>(n), now);
      return true;
    }
    if (n == 0) break;
    tx_local.assign(ps.path.local.addr, ps.path.local.addrlen);
    tx_remote.assign(ps.path.remote.addr, ps.path.remote.addrlen);
    if (!tx_remote.valid()) tx_remote = remote_;
    if (!tx_local.valid()) tx_local = local_;
    socket.tx_commit(static_cast<std::size_t>(n), tx_local, tx_remote);
    stats_.udp_bytes_sent += static_cast<std::uint64_t>(n);
    ++packets;
  }
  if (tx_remote.valid() && !(tx_remote == remote_)) remote_ = tx_remote;  // migration
  ngtcp2_conn_update_pkt_tx_time(conn, now);
  update_timer();
  return !socket_full;
}

SendStream* ConnectionImpl::next_stream() noexcept {
  if (streams_.empty()) return nullptr;
  // Round robin from the stream after the last one written, so one bulk stream cannot
  // starve the control stream.
  auto start = streams_.upper_bound(last_written_stream_);
  for (int pass = 0; pass < 2; ++pass) {
    auto begin = pass == 0 ? start : streams_.begin();
    auto end = pass == 0 ? streams_.end() : start;
    for (auto it = begin; it != end; ++it) {
      if (it->second.has_pending() && !it->second.blocked_) {
        last_written_stream_ = it->first;
        return &it->second;
      }
    }
  }
  return nullptr;
}

ngtcp2_ssize ConnectionImpl::write_packet(std::uint8_t* dest, std::size_t destlen,
                                          ngtcp2_path_storage& ps, ngtcp2_tstamp now,
                                          bool judge_queue_delay) noexcept {
  ngtcp2_conn* conn = conn_.get();
  bool packet_started = false;     // ngtcp2 holds a partial packet (WRITE_MORE)
  bool datagrams_blocked = false;  // congestion/pacing said no for this packet
  bool streams_blocked = false;
  for (;;) {
    if (!datagrams_blocked && handshake_completed_ && !datagrams_.empty()) {
      const auto payload =
          datagrams_.next(now, stats_.datagrams_dropped_queue_full, judge_queue_delay);
      if (datagrams_.empty()) continue;  // the queue's delay bound dropped the rest
      ngtcp2_vec vec{const_cast<std::uint8_t*>(payload.data()), payload.size()};
      int accepted = 0;
      const ngtcp2_ssize n =
          ngtcp2_conn_writev_datagram(conn, &ps.path, nullptr, dest, destlen, &accepted,
                                      NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &vec, 1, now);
      if (n == NGTCP2_ERR_WRITE_MORE) {
        datagrams_.pop();
        ++stats_.datagrams_sent;
        front_datagram_misses_ = 0;
        packet_started = true;
        continue;
      }
      if (n < 0) {
        if (n == NGTCP2_ERR_INVALID_ARGUMENT) {  // above the peer's parameter
          datagrams_.pop();
          ++stats_.datagrams_dropped_unsendable;
          continue;
        }
        if (n == NGTCP2_ERR_INVALID_STATE) {  // the peer takes no datagrams at all
          stats_.datagrams_dropped_unsendable += datagrams_.size();
          datagrams_.clear();
          continue;
        }
        return n;
      }
      if (accepted != 0) {
        datagrams_.pop();
        ++stats_.datagrams_sent;
        front_datagram_misses_ = 0;
      } else if (n > 0 && !packet_started &&
                 (payload.size() > datagram_budget() || ++front_datagram_misses_ >= 8)) {
        // It did not fit a fresh packet (ACKs, a PMTUD probe or a PING may take one or two)
        // and never will: the budget shrank under it, or the budget is wrong. Drop it
        // rather than stall the queue behind it.
        datagrams_.pop();
        ++stats_.datagrams_dropped_unsendable;
        front_datagram_misses_ = 0;
      }
      if (n > 0) return n;
      datagrams_blocked = true;  // n == 0: congestion window, pacing, or amplification limit
      continue;
    }
    if (!streams_blocked) {
      if (SendStream* stream = next_stream()) {
        const std::int64_t stream_id = last_written_stream_;
        std::array<ngtcp2_vec, 16> vecs;
        const std::size_t count = stream->unsent(vecs.data(), vecs.size());
        std::uint64_t offered = 0;
        for (std::size_t i = 0; i < count; ++i) offered += vecs[i].len;
        std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
        const bool offers_all = offered == stream->unsent_bytes();
        if (offers_all && stream->fin_queued_) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        ngtcp2_ssize accepted = -1;
        const ngtcp2_ssize n =
            ngtcp2_conn_writev_stream(conn, &ps.path, nullptr, dest, destlen, &accepted, flags,
                                      stream_id, vecs.data(), count, now);
        if (accepted >= 0) {
          stream->mark_written(static_cast<std::uint64_t>(accepted));
          if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) != 0 &&
              static_cast<std::uint64_t>(accepted) == offered) {
            stream->fin_written_ = true;
          }
        }
        if (n == NGTCP2_ERR_WRITE_MORE) {
          packet_started = true;
          continue;
        }
        if (n < 0) {
          if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
            stream->blocked_ = true;
            continue;
          }
          if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
            stream->discard();
            continue;
          }
          return n;
        }
        if (n > 0) return n;
        streams_blocked = true;
        continue;
      }
    }
    // Nothing (more) of ours: let ngtcp2 finish the packet or send ACK/PING/handshake data.
    return ngtcp2_conn_write_pkt(conn, &ps.path, nullptr, dest, destlen, now);
  }
}

void ConnectionImpl::update_timer() noexcept {
  if (!close_.live()) return;
  const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_.get());
  if (expiry == UINT64_MAX) {
    expiry_timer_.disarm();
    return;
  }
  const auto deadline = from_tstamp(expiry);
  if (!expiry_timer_.armed() || expiry_timer_.deadline() != deadline) expiry_timer_.arm(deadline);
}

// --- ngtcp2 callbacks --------------------------------------------------------------------

ngtcp2_conn* ConnectionImpl::cb_get_conn(ngtcp2_crypto_conn_ref* ref) noexcept {
  return self_of(ref->user_data)->conn_.get();
}

int ConnectionImpl::cb_handshake_completed(ngtcp2_conn* /*conn*/, void* user_data) noexcept {
  ConnectionImpl* self = self_of(user_data);
  self->handshake_completed_ = true;
  self->endpoint_.on_handshake_completed(*self);
  self->close_.on_handshake_completed();
  self->reported_ = true;
  self->endpoint_.logger().info(
      "quic.handshake_completed",
      {{"conn", self->id_},
       {"remote", self->remote_.to_string()},
       {"role", self->endpoint_.config().is_server ? "server" : "client"},
       {"peer_max_datagram_frame_size", self->peer_max_datagram_frame_size()}});
  try {
    self->endpoint_.handler().on_handshake_completed(*self);
  } catch (...) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int ConnectionImpl::cb_recv_stream_data(ngtcp2_conn* conn, std::uint32_t flags,
                                        std::int64_t stream_id, std::uint64_t /*offset*/,
                                        const std::uint8_t* data, std::size_t datalen,
                                        void* user_data, void* /*stream_user_data*/) noexcept {
  ConnectionImpl* self = self_of(user_data);
  try {
    self->streams_.try_emplace(stream_id);
    self->endpoint_.handler().on_stream_data(*self, stream_id, {data, datalen},
                                             (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  } catch (...) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  // The handler consumed the bytes: give the peer its credit back.
  if (!self->endpoint_.config().streams.never_reopen_windows) {
    ngtcp2_conn_extend_max_stream_offset(conn, stream_id, datalen);
    ngtcp2_conn_extend_max_offset(conn, datalen);
  }
  return 0;
}

int ConnectionImpl::cb_acked_stream_data_offset(ngtcp2_conn* /*conn*/, std::int64_t stream_id,
                                                std::uint64_t offset, std::uint64_t datalen,
                                                void* user_data,
                                                void* /*stream_user_data*/) noexcept {
  ConnectionImpl* self = self_of(user_data);
  auto it = self->streams_.find(stream_id);
  if (it != self->streams_.end()) {
    const std::uint64_t before = it->second.acked();
    it->second.on_acked(offset, datalen);
    self->stats_.stream_bytes_acked += it->second.acked() - before;
  }
  self->check_close_after_ack();
  return 0;
}

int ConnectionImpl::cb_stream_open(ngtcp2_conn* /*conn*/, std::int64_t stream_id,
                                   void* user_data) noexcept {
  try {
    self_of(user_data)->streams_.try_emplace(stream_id);
  } catch (...) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int ConnectionImpl::cb_stream_close(ngtcp2_conn* conn, std::uint32_t /*flags*/,
                                    std::int64_t stream_id, std::uint64_t /*app_error_code*/,
                                    void* user_data, void* /*stream_user_data*/) noexcept {
  ConnectionImpl* self = self_of(user_data);
  auto it = self->streams_.find(stream_id);
  if (it != self->streams_.end()) {
    it->second.discard();
    it->second.closed_ = true;
  }
  if (!ngtcp2_conn_is_local_stream(conn, stream_id) &&
      self->endpoint_.config().streams.replenish_peer_streams) {
    ngtcp2_conn_extend_max_streams_bidi(conn, 1);  // let the peer open another
  }
  self->check_close_after_ack();
  return 0;
}

int ConnectionImpl::cb_recv_stateless_reset(ngtcp2_conn* /*conn*/,
                                            const ngtcp2_pkt_stateless_reset* /*sr*/,
                                            void* user_data) noexcept {
  self_of(user_data)->stateless_reset_ = true;
  return 0;
}

int ConnectionImpl::cb_extend_max_stream_data(ngtcp2_conn* /*conn*/, std::int64_t stream_id,
                                              std::uint64_t /*max_data*/, void* user_data,
                                              void* /*stream_user_data*/) noexcept {
  ConnectionImpl* self = self_of(user_data);
  if (auto it = self->streams_.find(stream_id); it != self->streams_.end()) {
    it->second.blocked_ = false;
  }
  self->endpoint_.mark_dirty(*self);
  return 0;
}

void ConnectionImpl::cb_rand(std::uint8_t* dest, std::size_t destlen,
                             const ngtcp2_rand_ctx* /*rand_ctx*/) noexcept {
  fill_random({dest, destlen});
}

int ConnectionImpl::cb_get_new_connection_id(ngtcp2_conn* /*conn*/, ngtcp2_cid* cid,
                                             std::uint8_t* token, std::size_t cidlen,
                                             void* user_data) noexcept {
  ConnectionImpl* self = self_of(user_data);
  if (cidlen != kCidLength) return NGTCP2_ERR_CALLBACK_FAILURE;
  self->endpoint_.new_cid(*cid);
  const auto secret = self->endpoint_.static_secret();
  if (ngtcp2_crypto_generate_stateless_reset_token(token, secret.data(), secret.size(), cid) != 0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  try {
    self->endpoint_.associate(*cid, *self);
  } catch (...) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int ConnectionImpl::cb_remove_connection_id(ngtcp2_conn* /*conn*/, const ngtcp2_cid* cid,
                                            void* user_data) noexcept {
  ConnectionImpl* self = self_of(user_data);
  // Packets with a retired CID may still be in flight: keep routing the last few, and
  // bound the list so a peer retiring in a loop cannot grow our tables.
  try {
    self->retired_.push_back(CidKey::of(*cid));
  } catch (...) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  while (self->retired_.size() > kRetiredCidsKept) {
    const CidKey old = self->retired_.front();
    self->retired_.pop_front();
    ngtcp2_cid c;
    ngtcp2_cid_init(&c, old.bytes.data(), old.length);
    self->endpoint_.dissociate(c);
    std::erase(self->routed_, old);
  }
  return 0;
}

int ConnectionImpl::cb_recv_datagram(ngtcp2_conn* /*conn*/, std::uint32_t /*flags*/,
                                     const std::uint8_t* data, std::size_t datalen,
                                     void* user_data) noexcept {
  ConnectionImpl* self = self_of(user_data);
  ++self->stats_.datagrams_received;
  try {
    self->endpoint_.handler().on_datagram(*self, {data, datalen});
  } catch (...) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

}  // namespace lanparty::quic::detail

namespace lanparty::quic {

std::string_view to_string(CloseInfo::Kind kind) noexcept {
  switch (kind) {
    case CloseInfo::Kind::kLocalApplication:
      return "local_application";
    case CloseInfo::Kind::kPeerApplication:
      return "peer_application";
    case CloseInfo::Kind::kPeerTransport:
      return "peer_transport";
    case CloseInfo::Kind::kLocalTransport:
      return "local_transport";
    case CloseInfo::Kind::kIdleTimeout:
      return "idle_timeout";
    case CloseInfo::Kind::kHandshakeTimeout:
      return "handshake_timeout";
    case CloseInfo::Kind::kStatelessReset:
      return "stateless_reset";
    case CloseInfo::Kind::kHandshakeFailed:
      return "handshake_failed";
  }
  return "unknown";
}

}  // namespace lanparty::quic
