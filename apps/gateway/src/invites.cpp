// SPDX-License-Identifier: MIT
#include "invites.hpp"

#include <charconv>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "lanparty/base/duration.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/base/private_file.hpp"
#include "lanparty/ctrl/invite_link.hpp"

namespace lanparty::gateway {

Result<std::chrono::seconds> parse_invite_lifetime(std::string_view text) {
  // Ten years: beyond that an invite is a key, not an invitation.
  const auto lifetime = lanparty::parse_duration(text, std::chrono::hours(24 * 3650));
  if (lifetime) return *lifetime;
  return fail(Errc::kInvalidArgument,
              fmt::format("'{}' is not a duration: use seconds or a number with s, m, h or d "
                          "(e.g. 90, 30m, 24h, 7d), up to 10 years",
                          text));
}

Result<Invite> make_invite(const InviteRequest& request, const quic::RoomKey& key) {
  const auto colon = request.relay.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return fail(
        Errc::kInvalidArgument,
        fmt::format("--relay {}: expected HOST:PORT as players reach the relay", request.relay));
  }
  std::string host = request.relay.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const auto* first = request.relay.data() + colon + 1;
  const auto* last = request.relay.data() + request.relay.size();
  if (auto [end, ec] = std::from_chars(first, last, port);
      ec != std::errc{} || end != last || port == 0 || port > 65535) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--relay {}: the port must be 1..65535", request.relay));
  }
  std::string server_name = request.server_name;
  if (server_name.empty()) {
    // An IP literal is no TLS name; the relay's development certificate is "lanparty-relay".
    const bool ip_literal = host.find(':') != std::string::npos ||
                            host.find_first_not_of("0123456789.") == std::string::npos;
    server_name = ip_literal ? "lanparty-relay" : host;
  }
  Invite invite;
  invite.payload = ctrl::InvitePayload{.room = request.room,
                                       .id = request.id,
                                       .exp = request.now_unix + request.valid_for.count(),
                                       .name = request.name};
  auto token = ctrl::encode_invite_token(
      invite.payload, [&key](std::span<const std::uint8_t> message) -> Result<ctrl::Signature> {
        auto signature = key.sign(message);
        if (!signature) return tl::unexpected(signature.error());
        return *signature;
      });
  if (!token) return tl::unexpected(token.error());
  invite.token = std::move(*token);
  std::vector<ctrl::RelayAddress> more_relays;
  for (const std::string& relay : request.more_relays) {
    auto address = ctrl::parse_relay_address(relay);
    if (!address) return fail(Errc::kInvalidArgument, "--relay: " + address.error().context);
    more_relays.push_back(std::move(*address));
  }
  if (more_relays.size() > ctrl::kMaxLinkRelays) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--relay: a link names at most {} relays", ctrl::kMaxLinkRelays + 1));
  }
  ctrl::InviteLink link{.host = host,
                        .port = static_cast<std::uint16_t>(port),
                        .room = request.room,
                        .server_name = server_name,
                        .pin_sha256 = request.relay_cert_sha256,
                        .invite = invite.token,
                        .more_relays = std::move(more_relays)};
  invite.link = ctrl::format_invite_link(link);
  // What a player's client will parse must parse: catches a room or name the link refuses.
  if (auto back = ctrl::parse_invite_link(invite.link); !back) return tl::unexpected(back.error());
  return invite;
}

std::string random_invite_id() {
  std::random_device rd;
  const std::uint64_t value = (std::uint64_t{rd()} << 32) | rd();
  return fmt::format("{:016x}", value);
}

Status record_issued_invite(const std::filesystem::path& file, const ctrl::InvitePayload& payload) {
  // O_APPEND, 0600 from creation, no link followed, fsync'ed: a crash loses no issued invite
  // and two `invite` commands at once lose no line.
  return append_private_file(
      file, fmt::format("{} {} {}\n", payload.id, payload.exp, payload.name.value_or("-")));
}

std::optional<std::int64_t> issued_invite_expiry(const std::filesystem::path& file,
                                                 std::string_view id) {
  std::ifstream in(file);
  std::string line;
  std::optional<std::int64_t> exp;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string got;
    std::int64_t value = 0;
    if (fields >> got >> value && got == id) exp = value;
  }
  return exp;
}

}  // namespace lanparty::gateway
