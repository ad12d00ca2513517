// SPDX-License-Identifier: MIT
#include "lanparty/obs/status.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <utility>

#include <fmt/format.h>

namespace lanparty::obs {

std::string_view to_string(ConnectionState state) noexcept {
  switch (state) {
    case ConnectionState::kConnecting:
      return "connecting";
    case ConnectionState::kJoining:
      return "joining";
    case ConnectionState::kConnected:
      return "connected";
    case ConnectionState::kReconnecting:
      return "reconnecting";
    case ConnectionState::kRejected:
      return "rejected";
    case ConnectionState::kHandshakeFailed:
      return "handshake_failed";
    case ConnectionState::kDisconnected:
      return "disconnected";
  }
  return "unknown";
}

std::string_view describe(ConnectionState state) noexcept {
  switch (state) {
    case ConnectionState::kConnecting:
      return "Connecting to the relay...";
    case ConnectionState::kJoining:
      return "Connected to the relay; joining the room...";
    case ConnectionState::kConnected:
      return "Connected: you are on the LAN party.";
    case ConnectionState::kReconnecting:
      return "Lost the connection to the relay; reconnecting. Games may pause for a moment.";
    case ConnectionState::kRejected:
      return "The relay refused to let you in; see the reason above.";
    case ConnectionState::kHandshakeFailed:
      return "Could not connect securely to the relay.";
    case ConnectionState::kDisconnected:
      return "Disconnected.";
  }
  return "Unknown state.";
}

std::string_view to_string(HandshakeFailure failure) noexcept {
  switch (failure) {
    case HandshakeFailure::kPinMismatch:
      return "pin_mismatch";
    case HandshakeFailure::kUntrustedCertificate:
      return "untrusted_certificate";
    case HandshakeFailure::kWrongServerName:
      return "wrong_server_name";
    case HandshakeFailure::kNoAlpn:
      return "no_alpn";
    case HandshakeFailure::kVersionMismatch:
      return "version_mismatch";
    case HandshakeFailure::kUnreachable:
      return "unreachable";
    case HandshakeFailure::kTimeout:
      return "handshake_timeout";
    case HandshakeFailure::kOther:
      return "handshake_error";
  }
  return "handshake_error";
}

bool is_permanent(HandshakeFailure failure) noexcept {
  switch (failure) {
    case HandshakeFailure::kPinMismatch:
    case HandshakeFailure::kUntrustedCertificate:
    case HandshakeFailure::kWrongServerName:
    case HandshakeFailure::kNoAlpn:
    case HandshakeFailure::kVersionMismatch:
      return true;
    case HandshakeFailure::kUnreachable:
    case HandshakeFailure::kTimeout:
    case HandshakeFailure::kOther:
      return false;
  }
  return false;
}

std::string describe_handshake_failure(HandshakeFailure failure, std::string_view relay,
                                       std::string_view server_name) {
  switch (failure) {
    case HandshakeFailure::kPinMismatch:
      return "The relay's certificate is not the one your invite link (or --relay-ca-cert) pins: "
             "ask the host for a new link (the host: copy the relay's current relay-cert.der). "
             "Until then you may be talking to the wrong server.";
    case HandshakeFailure::kUntrustedCertificate:
      return "The relay's certificate is not signed by a CA in your --ca-file: check that the "
             "file holds the CA that issued it, or pin the relay's own certificate with "
             "--relay-ca-cert.";
    case HandshakeFailure::kWrongServerName:
      return fmt::format(
          "The relay's certificate is not made out to \"{}\": check --server-name (the link's "
          "sni=) against the name in the relay's certificate.",
          server_name);
    case HandshakeFailure::kNoAlpn:
      return fmt::format(
          "The server at {} does not speak softlan-vpn (lanparty/1): check the address and "
          "port, which may belong to another service.",
          relay);
    case HandshakeFailure::kVersionMismatch:
      return fmt::format(
          "The relay at {} speaks no protocol version this client knows: update softlan-vpn "
          "(or ask the host to update the relay).",
          relay);
    case HandshakeFailure::kUnreachable:
      return fmt::format("Nothing answers at {}: check the address and that the relay runs.",
                         relay);
    case HandshakeFailure::kTimeout:
      return fmt::format(
          "No answer from {}: check the address, that the relay runs, and that firewalls on the "
          "way let UDP through.",
          relay);
    case HandshakeFailure::kOther:
      break;
  }
  return fmt::format("The secure connection to the relay at {} failed.", relay);
}

int exit_code(HandshakeFailure failure) noexcept {
  switch (failure) {
    case HandshakeFailure::kPinMismatch:
      return 10;
    case HandshakeFailure::kUntrustedCertificate:
      return 11;
    case HandshakeFailure::kWrongServerName:
      return 12;
    case HandshakeFailure::kNoAlpn:
      return 13;
    case HandshakeFailure::kVersionMismatch:
      return 14;
    case HandshakeFailure::kUnreachable:
      return 15;
    case HandshakeFailure::kTimeout:
      return 16;
    case HandshakeFailure::kOther:
      return 17;
  }
  return 17;
}

std::string describe_reject(std::string_view code) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kSentences{{
      {"unsupported_protocol",
       "Your softlan-vpn is not compatible with this relay's version. Update softlan-vpn."},
      {"malformed_hello",
       "The relay could not read the join request. Update softlan-vpn; if it persists, report "
       "a bug."},
      {"invalid_role", "The relay did not accept this program's role. Update softlan-vpn."},
      {"invalid_room",
       "That room name is not valid: use 3 to 32 letters, digits, '-' or '_', starting with a "
       "letter or digit."},
      {"invalid_mac",
       "The virtual network card address is not valid: it must be a unicast address and not "
       "all zeros. Fix --virtual-mac or delete the identity file to get a new one."},
      {"gateway_exists",
       "This room already has a gateway: only one LAN can host a room. Stop the other gateway "
       "or pick another room."},
      {"duplicate_mac",
       "Someone in this room already uses your virtual network card address (maybe this same "
       "computer, still connected). Close the other copy, or delete the identity file to get a "
       "new address."},
      {"room_full", "This room is full. Ask the host to raise the relay's player limit."},
      {"relay_full",
       "The relay cannot open more rooms right now. Try again later or use another relay."},
      {"mtu_too_small",
       "Your network path to the relay cannot carry full-size LAN frames for this room. Try "
       "another network (a VPN or a mobile hotspot can shrink packets)."},
      {"datagrams_unsupported",
       "The connection to the relay does not support QUIC datagrams, which the LAN traffic "
       "needs. Update softlan-vpn."},
      // Section 7. auth_required and auth_failed reach both players (invite) and hosts
      // (room key), so their sentences speak to both.
      {"auth_required",
       "This relay only lets people in with the host's permission: players need an invite "
       "link, the host's gateway needs its room key. Ask the host for an invite link."},
      {"auth_failed",
       "The relay could not verify your invite or room key: it may be damaged, meant for "
       "another room, or the room may have been forgotten after a long time unused. Ask the "
       "host for a new invite link."},
      {"room_owned",
       "This room name already belongs to another host's room key. Pick another room name, "
       "or run the gateway with the key that claimed it."},
      {"invite_expired", "Your invite has expired. Ask the host for a new one."},
      {"invite_revoked",
       "The host has withdrawn this invite. Ask the host for a new one if you should still be "
       "there."},
  }};
  for (const auto& [known, sentence] : kSentences) {
    if (known == code) return std::string(sentence);
  }
  return fmt::format("The relay refused to let you in ({}). Update softlan-vpn if this persists.",
                     code);
}

namespace {

constexpr std::size_t kMaxKickReasonBytes = 64;  // the relay's own cut (PROTOCOL.md section 7)

// The reason is the owner's text: keep it to one short line a terminal cannot be steered by.
std::string printable_reason(std::string_view reason) {
  if (reason.size() > kMaxKickReasonBytes) {
    std::size_t cut = kMaxKickReasonBytes;
    // Back up over at most three continuation bytes so a character is not split.
    for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80;
         ++i) {
      --cut;
    }
    reason = reason.substr(0, cut);
  }
  std::string out(reason);
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) c = '?';
  }
  return out;
}

constexpr std::int64_t kSecondsPerHour = 3600;
constexpr std::int64_t kLatestShownTime = 253402300799;  // 9999-12-31 23:59:59 UTC

std::string zone_label(std::chrono::minutes offset) {
  if (offset.count() == 0) return "UTC";
  const auto total = offset.count() < 0 ? -offset.count() : offset.count();
  return fmt::format("UTC{}{:02}:{:02}", offset.count() < 0 ? '-' : '+', total / 60, total % 60);
}

struct LocalTime {
  std::chrono::sys_days day;
  std::string clock;  // "HH:MM"
};

LocalTime local_time(std::int64_t unix_seconds, std::chrono::minutes offset) {
  using namespace std::chrono;
  const sys_seconds at{seconds{unix_seconds} + offset};
  const sys_days day = floor<days>(at);
  const hh_mm_ss<seconds> time{at - day};
  return {day, fmt::format("{:02}:{:02}", time.hours().count(), time.minutes().count())};
}

std::string calendar_date(std::chrono::sys_days day) {
  const std::chrono::year_month_day date{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

}  // namespace

std::string describe_kick(std::string_view reason) {
  if (reason == "mac_on_lan") {
    return "The party host removed you: your network card's address belongs to a machine on the "
           "party LAN. Give it another address (Linux: delete the identity file or pass "
           "--virtual-mac; Windows: set the TAP adapter's MAC in its advanced properties), then "
           "join again.";
  }
  if (reason.empty()) return "The party host removed you from the room.";
  return fmt::format("The party host removed you from the room (reason: \"{}\").",
                     printable_reason(reason));
}

std::string describe_invite_expiry(std::int64_t exp_unix_seconds, std::int64_t now_unix_seconds,
                                   std::chrono::minutes utc_offset) {
  const auto in_range = [](std::int64_t t) { return t >= 0 && t <= kLatestShownTime; };
  if (!in_range(exp_unix_seconds) || !in_range(now_unix_seconds) ||
      std::chrono::abs(utc_offset) >= std::chrono::hours{24}) {
    return "This invite has expired; ask the host for a new one.";
  }
  const std::string zone = zone_label(utc_offset);
  const LocalTime exp = local_time(exp_unix_seconds, utc_offset);
  const LocalTime now = local_time(now_unix_seconds, utc_offset);
  const auto days_ago = (now.day - exp.day).count();

  if (exp_unix_seconds > now_unix_seconds) {
    // The relay's clock said expired; ours disagrees, so one of the two clocks is wrong.
    const std::string until =
        days_ago == 0    ? fmt::format("today at {} {}", exp.clock, zone)
        : days_ago == -1 ? fmt::format("tomorrow at {} {}", exp.clock, zone)
                         : fmt::format("{} at {} {}", calendar_date(exp.day), exp.clock, zone);
    return fmt::format(
        "The relay says this invite has expired, but by this computer's clock it is valid until "
        "{}. Check this computer's date and time, or ask the host for a new invite.",
        until);
  }
  const std::int64_t ago = now_unix_seconds - exp_unix_seconds;
  std::string when;
  if (ago < kSecondsPerHour) {
    const std::int64_t minutes = ago / 60;
    when = minutes == 0   ? std::string("less than a minute ago")
           : minutes == 1 ? std::string("1 minute ago")
                          : fmt::format("{} minutes ago", minutes);
  } else if (days_ago == 0) {
    when = fmt::format("today at {} {}", exp.clock, zone);
  } else if (days_ago == 1) {
    when = fmt::format("yesterday at {} {}", exp.clock, zone);
  } else {
    when = fmt::format("on {} at {} {}", calendar_date(exp.day), exp.clock, zone);
  }
  return fmt::format("This invite expired {}; ask the host for a new one.", when);
}

}  // namespace lanparty::obs
