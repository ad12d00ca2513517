// SPDX-License-Identifier: MIT
#include "lanparty/client_core/session.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/overlay_header.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::client_core {
namespace {

constexpr std::size_t kProbeStampBytes = 8;

std::span<std::uint8_t, proto::kOverlayHeaderSize> header_of(std::vector<std::uint8_t>& buf) {
  return std::span<std::uint8_t, proto::kOverlayHeaderSize>(buf.data(), proto::kOverlayHeaderSize);
}

}  // namespace

Session::Session(SessionConfig config) : config_(std::move(config)) {}

void Session::reset() {
  phase_ = Phase::kJoining;
  decoder_ = ctrl::FrameDecoder{};
  welcome_.reset();
  reject_.reset();
  stats_.reset();
  peers_.clear();
  smoothed_rtt_.reset();
}

std::string Session::hello_frame(std::size_t datagram_budget, const RoomClaim* claim) const {
  const auto max_datagram =
      static_cast<std::int64_t>(std::clamp<std::size_t>(datagram_budget, 64, 65535));
  ctrl::Hello hello;
  hello.protocol = ctrl::kProtocolVersion;
  hello.role = std::string(ctrl::to_string(config_.role));
  hello.room = config_.room;
  hello.mac = config_.mac.to_string();
  hello.max_datagram = max_datagram;
  hello.software = config_.software;
  hello.invite = config_.invite;
  if (claim != nullptr) {
    hello.room_key = claim->room_key;
    hello.room_proof = claim->room_proof;
  }
  std::string out;
  // A hello is at most a couple of KiB (a token is <= 1024 bytes): within the 16 KiB limit.
  (void)ctrl::append_frame(hello, out);
  return out;
}

Result<std::vector<ctrl::Message>> Session::on_control_bytes(std::span<const std::uint8_t> bytes) {
  decoder_.feed(bytes);
  std::vector<ctrl::Message> messages;
  for (;;) {
    auto next = decoder_.next();
    if (!next) {
      return fail(Errc::kProtocolViolation,
                  fmt::format("control stream: {}", ctrl::to_string(next.error())));
    }
    if (!next->has_value()) return messages;
    if (auto st = apply(**next); !st) return tl::unexpected(st.error());
    messages.push_back(std::move(**next));
  }
}

Status Session::apply(const ctrl::Message& message) {
  return std::visit(
      [&](const auto& m) -> Status {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ctrl::Welcome>) {
          if (phase_ != Phase::kJoining) {
            return fail(Errc::kProtocolViolation, "welcome after the session was settled");
          }
          if (m.peer_id == 0) return fail(Errc::kProtocolViolation, "welcome with peer_id 0");
          phase_ = Phase::kJoined;
          welcome_ = m;
          peers_.reset(m.peers);
        } else if constexpr (std::is_same_v<T, ctrl::Reject>) {
          if (phase_ != Phase::kJoining) {
            return fail(Errc::kProtocolViolation, "reject after the session was settled");
          }
          phase_ = Phase::kRejected;
          reject_ = m;
        } else if constexpr (std::is_same_v<T, ctrl::PeerJoined>) {
          if (phase_ == Phase::kJoined) peers_.add(m.peer);
        } else if constexpr (std::is_same_v<T, ctrl::PeerLeft>) {
          if (phase_ == Phase::kJoined) peers_.remove(m.peer_id);
        } else if constexpr (std::is_same_v<T, ctrl::Stats>) {
          stats_ = m;
        } else if constexpr (std::is_same_v<T, ctrl::Disconnect>) {
          phase_ = Phase::kEnded;
        } else if constexpr (std::is_same_v<T, ctrl::Hello> ||
                             std::is_same_v<T, ctrl::MalformedHello>) {
          return fail(Errc::kProtocolViolation, "the relay sent hello");
        }
        // UnknownMessage: ignored (forward compatibility, PROTOCOL.md section 2).
        return ok();
      },
      message);
}

std::span<const std::uint8_t> Session::wrap_frame(std::span<const std::uint8_t> frame,
                                                  std::vector<std::uint8_t>& scratch) const {
  const std::uint16_t peer_id = welcome_ ? welcome_->peer_id : 0;
  scratch.resize(proto::kOverlayHeaderSize + frame.size());
  proto::encode_overlay_header(header_of(scratch), proto::DatagramKind::kEthernet, peer_id);
  std::copy(frame.begin(), frame.end(), scratch.begin() + proto::kOverlayHeaderSize);
  return scratch;
}

std::span<const std::uint8_t> Session::wrap_in_place(std::span<std::uint8_t> datagram) const {
  const std::uint16_t peer_id = welcome_ ? welcome_->peer_id : 0;
  proto::encode_overlay_header(datagram.first<proto::kOverlayHeaderSize>(),
                               proto::DatagramKind::kEthernet, peer_id);
  return datagram;
}

std::span<const std::uint8_t> Session::make_probe(Timestamp now, std::size_t datagram_bytes,
                                                  std::vector<std::uint8_t>& scratch) const {
  const std::uint16_t peer_id = welcome_ ? welcome_->peer_id : 0;
  const std::size_t size = std::max(datagram_bytes, proto::kOverlayHeaderSize + kProbeStampBytes);
  scratch.assign(size, 0);
  proto::encode_overlay_header(header_of(scratch), proto::DatagramKind::kProbe, peer_id);
  const auto nanos = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  proto::store_be32(scratch, proto::kOverlayHeaderSize, static_cast<std::uint32_t>(nanos >> 32));
  proto::store_be32(scratch, proto::kOverlayHeaderSize + 4, static_cast<std::uint32_t>(nanos));
  return scratch;
}

Inbound Session::on_datagram(std::span<const std::uint8_t> datagram, Timestamp now) {
  Inbound in;
  if (phase_ != Phase::kJoined) {
    in.reason = proto::DropReason::kNotAdmitted;
    return in;
  }
  auto view = proto::parse_from_relay(datagram);
  if (!view) {
    in.reason = view.error();
    return in;
  }
  if (view->kind() == proto::DatagramKind::kProbeReply) {
    if (view->body.size() < kProbeStampBytes) {
      in.reason = proto::DropReason::kBadHeader;
      return in;
    }
    const std::uint64_t nanos =
        (std::uint64_t{proto::load_be32(view->body, 0)} << 32) | proto::load_be32(view->body, 4);
    const auto sent = Timestamp(std::chrono::duration_cast<Timestamp::duration>(
        std::chrono::nanoseconds(static_cast<std::int64_t>(nanos))));
    if (sent > now) {
      in.reason = proto::DropReason::kBadHeader;
      return in;
    }
    const auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(now - sent);
    // RFC 6298 smoothing, as TCP and QUIC do.
    smoothed_rtt_ = smoothed_rtt_ ? (*smoothed_rtt_ * 7 + rtt) / 8 : rtt;
    in.kind = Inbound::Kind::kProbeReply;
    in.rtt = rtt;
    in.probe_bytes = datagram.size();
    return in;
  }
  auto ethernet = proto::parse_ethernet(view->body);
  if (!ethernet) {
    in.reason = ethernet.error();
    return in;
  }
  peers_.learn(view->header.peer_id, ethernet->source);
  in.kind = Inbound::Kind::kFrame;
  in.frame = view->body;
  in.from_peer = view->header.peer_id;
  return in;
}

}  // namespace lanparty::client_core
