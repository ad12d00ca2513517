// SPDX-License-Identifier: MIT
// Peer: the control stream, hello with section 7 credentials, overlay datagrams.
#include "peer.hpp"

#include <algorithm>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/invite.hpp"
#include "lanparty/proto/overlay_header.hpp"

namespace lanparty::bench::attack {
namespace {

// libs/quic grew StreamLimits (with never_reopen_windows) in ClientConfig after this suite's
// first commit; with an older library the peer reads as every client does and says so.
template <class Config>
bool apply_never_read(Config& config, std::uint64_t window) {
  if constexpr (requires { config.streams.never_reopen_windows; }) {
    config.streams.never_reopen_windows = true;
    config.streams.stream_window = window;
    config.streams.max_stream_window = window;
    config.streams.connection_window = window;
    config.streams.max_connection_window = window;
    return true;
  } else {
    (void)config;
    (void)window;
    return false;
  }
}

std::mt19937_64& random_engine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

}  // namespace

Status Peer::connect(io::EventLoop& loop, const RelayTarget& relay, const std::string& dial_host,
                     const PeerSettings& settings) {
  quic::ClientConfig config;
  config.host = dial_host;
  config.port = relay.port;
  config.server_name = relay.server_name;
  config.trust.pinned_sha256 = relay.pin;
  config.keepalive = settings.keepalive;
  config.idle_timeout = settings.idle_timeout;
  config.handshake_timeout = settings.handshake_timeout;
  config.datagram_queue_slots = settings.datagram_queue_slots;
  if (settings.never_read_window) {
    never_read_applied_ = apply_never_read(config, *settings.never_read_window);
  }
  auto client = quic::Client::connect(loop, std::move(config), *this, obs::Logger());
  if (!client) return tl::unexpected(client.error());
  client_ = std::move(*client);
  return ok();
}

Result<ctrl::Hello> Peer::claim_hello(const quic::RoomKey& key, const std::string& room,
                                      const proto::MacAddress& mac,
                                      std::size_t max_datagram) const {
  auto ekm = client_->connection().export_keying_material(ctrl::kRoomClaimExporterLabel);
  if (!ekm) return tl::unexpected(ekm.error());
  auto proof = key.sign(ctrl::claim_signing_input(room, *ekm));
  if (!proof) return tl::unexpected(proof.error());
  return ctrl::Hello{.protocol = ctrl::kProtocolVersion,
                     .role = "gateway",
                     .room = room,
                     .mac = mac.to_string(),
                     .max_datagram = static_cast<std::int64_t>(max_datagram),
                     .software = std::string("lanparty-attack/0.1"),
                     .room_key = ctrl::base64url_encode(key.public_key()),
                     .room_proof = ctrl::base64url_encode(*proof)};
}

ctrl::Hello Peer::invited_hello(const std::string& room, const proto::MacAddress& mac,
                                const std::string& invite, std::size_t max_datagram) {
  return ctrl::Hello{.protocol = ctrl::kProtocolVersion,
                     .role = "client",
                     .room = room,
                     .mac = mac.to_string(),
                     .max_datagram = static_cast<std::int64_t>(max_datagram),
                     .software = std::string("lanparty-attack/0.1"),
                     .invite = invite};
}

Status Peer::ensure_stream() {
  if (stream_ >= 0) return ok();
  auto stream = client_->connection().open_bidi_stream();
  if (!stream) return tl::unexpected(stream.error());
  stream_ = *stream;
  return ok();
}

Status Peer::send_hello(const ctrl::Hello& hello) {
  if (auto st = send_control(hello); !st) return st;
  state_ = State::kHelloSent;
  return ok();
}

Status Peer::send_control(const ctrl::Message& message) {
  out_.clear();
  if (auto st = ctrl::append_frame(message, out_); !st) return st;
  return send_stream_bytes(
      std::span(reinterpret_cast<const std::uint8_t*>(out_.data()), out_.size()));
}

Status Peer::send_stream_bytes(std::span<const std::uint8_t> bytes) {
  if (auto st = ensure_stream(); !st) return st;
  return client_->connection().send_stream(stream_, bytes);
}

std::uint64_t Peer::unacked_stream_bytes() const noexcept {
  const auto stats = client_->connection().stats();
  return stats.stream_bytes_queued - stats.stream_bytes_acked;
}

Status Peer::send_frame(std::span<const std::uint8_t> frame) {
  std::vector<std::uint8_t>& datagram = datagram_;
  datagram.resize(proto::kOverlayHeaderSize + frame.size());
  proto::encode_overlay_header(std::span<std::uint8_t, proto::kOverlayHeaderSize>(
                                   datagram.data(), proto::kOverlayHeaderSize),
                               proto::DatagramKind::kEthernet, welcome_.peer_id);
  std::copy(frame.begin(), frame.end(), datagram.begin() + proto::kOverlayHeaderSize);
  return client_->connection().send_datagram(datagram);
}

void Peer::close(std::uint64_t code, std::string_view reason) noexcept {
  if (client_ && state_ != State::kClosed) client_->connection().close(code, reason);
}

std::size_t Peer::datagram_budget() const noexcept {
  return client_ ? client_->connection().datagram_budget() : 0;
}

std::string Peer::outcome() const {
  if (!reject_code_.empty()) return "reject " + reject_code_;
  if (state_ == State::kJoined || (close_ && welcome_.peer_id != 0)) return "welcome";
  if (close_) {
    return fmt::format("closed {} {} {}", quic::to_string(close_->kind), close_->code,
                       close_->reason);
  }
  switch (state_) {
    case State::kConnecting:
      return "no handshake yet";
    case State::kConnected:
      return "handshake done, no hello";
    case State::kHelloSent:
      return "hello sent, no answer yet";
    default:
      return "unknown";
  }
}

void Peer::on_handshake_completed(quic::Connection& /*connection*/) {
  handshake_done_ = true;
  if (state_ == State::kConnecting) state_ = State::kConnected;
  handshake_done();
}

void Peer::on_stream_data(quic::Connection& /*connection*/, std::int64_t /*stream_id*/,
                          std::span<const std::uint8_t> data, bool /*fin*/) {
  if (decode_failed_) return;
  decoder_.feed(data);
  for (;;) {
    auto next = decoder_.next();
    if (!next) {
      decode_failed_ = true;
      return;
    }
    if (!next->has_value()) return;
    const ctrl::Message& m = **next;
    if (const auto* w = std::get_if<ctrl::Welcome>(&m)) {
      welcome_ = *w;
      state_ = State::kJoined;
      joined();
    } else if (const auto* r = std::get_if<ctrl::Reject>(&m)) {
      reject_code_ = r->code;
      state_ = State::kRejected;
    }
    message(m);
  }
}

void Peer::on_datagram(quic::Connection& /*connection*/, std::span<const std::uint8_t> payload) {
  auto overlay = proto::parse_from_relay(payload);
  if (!overlay || overlay->kind() != proto::DatagramKind::kEthernet) return;
  frame(overlay->header.peer_id, overlay->body);
}

void Peer::on_closed(quic::Connection& /*connection*/, const quic::CloseInfo& info) {
  close_ = info;
  state_ = State::kClosed;
  finished();
}

// --- credentials ---------------------------------------------------------------------------

std::string random_invite_id() { return fmt::format("{:016x}", random_engine()()); }

Result<std::string> make_invite(const quic::RoomKey& key, const std::string& room,
                                const std::string& name) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return ctrl::encode_invite_token(
      ctrl::InvitePayload{.room = room, .id = random_invite_id(), .exp = now + 3600, .name = name},
      [&key](std::span<const std::uint8_t> message) -> Result<ctrl::Signature> {
        return key.sign(message);
      });
}

proto::MacAddress attack_mac(std::uint8_t group, std::uint32_t index) noexcept {
  return proto::MacAddress({0x02, 0x41, 0x54, group, static_cast<std::uint8_t>(index >> 8),
                            static_cast<std::uint8_t>(index)});
}

}  // namespace lanparty::bench::attack
