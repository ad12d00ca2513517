// SPDX-License-Identifier: MIT
// lanparty:// invite links: a small RFC 3986 subset, with errors written for players.
#include "lanparty/ctrl/invite_link.hpp"

#include <optional>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/ctrl/base64url.hpp"
#include "lanparty/ctrl/hello.hpp"
#include "lanparty/ctrl/invite.hpp"

namespace lanparty::ctrl {
namespace {

constexpr std::string_view kPinPrefix = "sha256:";
constexpr std::size_t kMaxDnsNameBytes = 253;
constexpr std::size_t kMaxDnsLabelBytes = 63;
constexpr std::size_t kMaxPortDigits = 5;

tl::unexpected<Error> broken(std::string sentence) {
  return fail(Errc::kParseError, std::move(sentence));
}

constexpr bool is_ascii_whitespace(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_unreserved(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
constexpr int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_ascii_whitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_whitespace(text.back())) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return std::nullopt;
    out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
    i += 2;
  }
  return out;
}

// dec-octet of RFC 3986: 0-255, no leading zero (so "010" cannot mean 8 or 10 by surprise).
bool is_dec_octet(std::string_view text) noexcept {
  if (text.empty() || text.size() > 3) return false;
  for (const char c : text) {
    if (!is_digit(c)) return false;
  }
  if (text.size() > 1 && text.front() == '0') return false;
  int value = 0;
  for (const char c : text) value = value * 10 + (c - '0');
  return value <= 255;
}

bool is_ipv4(std::string_view text) noexcept {
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.');
    const std::string_view octet = part < 3 ? text.substr(0, dot) : text;
    if (part < 3 && dot == std::string_view::npos) return false;
    if (!is_dec_octet(octet)) return false;
    if (part < 3) text.remove_prefix(dot + 1);
  }
  return true;
}

// Colon-separated 16-bit groups of one side of "::"; an IPv4 tail counts as two groups.
std::optional<int> count_ipv6_groups(std::string_view text, bool ipv4_tail_allowed) noexcept {
  if (text.empty()) return 0;
  int groups = 0;
  while (true) {
    const std::size_t colon = text.find(':');
    const std::string_view piece = text.substr(0, colon);
    const bool last = colon == std::string_view::npos;
    if (last && ipv4_tail_allowed && piece.find('.') != std::string_view::npos) {
      if (!is_ipv4(piece)) return std::nullopt;
      return groups + 2;
    }
    if (piece.empty() || piece.size() > 4) return std::nullopt;
    for (const char c : piece) {
      if (!is_hex(c)) return std::nullopt;
    }
    ++groups;
    if (last) return groups;
    text.remove_prefix(colon + 1);
  }
}

// RFC 4291 section 2.2 text forms (RFC 3986 IPv6address); no zone index.
bool is_ipv6(std::string_view text) noexcept {
  constexpr int kGroups = 8;
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) return count_ipv6_groups(text, true) == kGroups;
  const auto left = count_ipv6_groups(text.substr(0, gap), false);
  const auto right = count_ipv6_groups(text.substr(gap + 2), true);
  return left && right && *left + *right < kGroups;
}

// Letters, digits and '-' in dot-separated labels of 1-63 bytes, no label starting or ending
// with '-'. All-numeric names must be a dotted IPv4 address (resolvers would read them so).
bool is_host_name(std::string_view text) noexcept {
  if (text.empty() || text.size() > kMaxDnsNameBytes) return false;
  bool all_numeric = true;
  std::string_view rest = text;
  while (true) {
    const std::size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > kMaxDnsLabelBytes) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
      if (!is_digit(c)) all_numeric = false;
    }
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return !all_numeric || is_ipv4(text);
}

struct Authority {
  std::string host;
  std::uint16_t port = 0;
};

Result<Authority> parse_authority(std::string_view authority) {
  if (authority.find('@') != std::string_view::npos) {
    return broken("the link contains a user name ('@'); lanparty links have none");
  }
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return broken("the link's IPv6 address has no closing ']'");
    }
    host = authority.substr(1, close - 1);
    if (!is_ipv6(host)) return broken("the address in [...] is not a valid IPv6 address");
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return broken("the link has something between ']' and the port");
    }
    has_port = !after.empty();
    if (has_port) port_text = after.substr(1);
  } else {
    const std::size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (host.find(':') != std::string_view::npos) {
      return broken("an IPv6 address in a link must be in brackets, like [::1]:4433");
    }
    if (host.empty()) return broken("the link has no relay address before the port");
    if (!is_host_name(host)) {
      return broken("the relay address in the link is not a valid host name or IPv4 address");
    }
  }
  if (!has_port)
    return broken("the link has no port (expected HOST:PORT, like relay.example:4433)");
  if (port_text.empty() || port_text.size() > kMaxPortDigits) {
    return broken("the link's port is not a number from 1 to 65535");
  }
  unsigned port = 0;
  for (const char c : port_text) {
    if (!is_digit(c)) return broken("the link's port is not a number from 1 to 65535");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port == 0 || port > 65535) return broken("the link's port is not a number from 1 to 65535");
  return Authority{.host = std::string(host), .port = static_cast<std::uint16_t>(port)};
}

struct Query {
  std::optional<std::string_view> sni;
  std::optional<std::string_view> pin;
  std::optional<std::string_view> invite;
  std::optional<std::string_view> relays;
};

Result<Query> split_query(std::string_view query) {
  Query out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    const std::size_t eq = piece.find('=');
    const std::string_view name = piece.substr(0, eq);
    std::optional<std::string_view>* slot = nullptr;
    if (name == "sni") slot = &out.sni;
    if (name == "pin") slot = &out.pin;
    if (name == "invite") slot = &out.invite;
    if (name == "relays") slot = &out.relays;
    if (slot == nullptr) continue;  // forward compatibility: a newer host may add parameters
    if (*slot) {
      return broken(fmt::format("the link has {}= twice; ask the host for the link again", name));
    }
    *slot = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
  }
  return out;
}

Result<std::string> decoded_value(std::optional<std::string_view> raw, std::string_view name) {
  if (!raw)
    return broken(fmt::format("the link has no {}=; ask the host for the whole link", name));
  auto value = percent_decode(*raw);
  if (!value) return broken(fmt::format("the link's {}= has a broken %-escape", name));
  if (value->empty()) return broken(fmt::format("the link's {}= is empty", name));
  return std::move(*value);
}

void append_escaped(std::string& out, std::string_view text) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  for (const char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
}

Result<std::vector<RelayAddress>> parse_relays_value(std::string_view raw) {
  auto value = percent_decode(raw);
  if (!value) return broken("the link's relays= has a broken %-escape");
  auto relays = parse_relay_list(*value);
  if (!relays) {
    return broken(fmt::format("the link's relays= is damaged: {}; ask the host for the link again",
                              relays.error().context));
  }
  return relays;
}

}  // namespace

Result<std::vector<RelayAddress>> parse_relay_list(std::string_view text) {
  std::vector<RelayAddress> relays;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    if (item.empty()) return broken("the list of relays has an empty entry");
    if (relays.size() == kMaxLinkRelays) {
      return broken(fmt::format("the list names more than {} relays", kMaxLinkRelays));
    }
    auto relay = parse_relay_address(item);
    if (!relay) return tl::unexpected<Error>(relay.error());
    relays.push_back(std::move(*relay));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return relays;
}

Result<RelayAddress> parse_relay_address(std::string_view text) {
  if (text.empty() || text.find_first_of("/?#") != std::string_view::npos) {
    return broken(
        fmt::format("\"{}\" is not a relay address (expected HOST:PORT, like "
                    "relay.example:4433 or [2001:db8::1]:4433)",
                    text));
  }
  auto authority = parse_authority(text);
  if (!authority) {
    return broken(
        fmt::format("\"{}\" is not a relay address: {}", text, authority.error().context));
  }
  return RelayAddress{.host = std::move(authority->host), .port = authority->port};
}

std::string format_relay_address(const RelayAddress& address) {
  if (address.host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", address.host, address.port);
  }
  return fmt::format("{}:{}", address.host, address.port);
}

Result<InviteLink> parse_invite_link(std::string_view text) {
  text = trim(text);
  if (text.empty()) return broken("the link is empty; paste the whole link the host sent");
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) {
      return broken("the link contains a space or line break; copy it again in one piece");
    }
    if (byte >= 0x80) {
      return broken("the link contains characters a lanparty link never has; copy it again");
    }
  }
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos ||
      !iequals(text.substr(0, scheme_end), kInviteLinkScheme)) {
    return broken("this is not a lanparty link (it must start with lanparty://)");
  }
  text.remove_prefix(scheme_end + 3);
  if (text.find('#') != std::string_view::npos) {
    return broken("the link has a '#' part a lanparty link never has; copy it again");
  }

  const std::size_t authority_end = text.find_first_of("/?");
  auto authority = parse_authority(text.substr(0, authority_end));
  if (!authority) return tl::unexpected<Error>(authority.error());

  std::string_view path;
  std::string_view query;
  if (authority_end != std::string_view::npos) {
    const std::string_view rest = text.substr(authority_end);
    const std::size_t question = rest.find('?');
    path = rest.substr(0, question);
    if (question != std::string_view::npos) query = rest.substr(question + 1);
  }
  if (path.size() <= 1) {
    return broken("the link has no room name (expected lanparty://HOST:PORT/ROOM?...)");
  }
  path.remove_prefix(1);  // the '/'
  if (path.find('/') != std::string_view::npos) {
    return broken("the link has more than a room name after the port");
  }
  auto room = percent_decode(path);
  if (!room) return broken("the room name in the link has a broken %-escape");
  if (!is_valid_room(*room)) {
    return broken(
        "the room name in the link is not valid (3 to 32 letters, digits, '-' or '_', starting "
        "with a letter or digit)");
  }

  auto params = split_query(query);
  if (!params) return tl::unexpected<Error>(params.error());
  auto sni = decoded_value(params->sni, "sni");
  if (!sni) return tl::unexpected<Error>(sni.error());
  auto pin = decoded_value(params->pin, "pin");
  if (!pin) return tl::unexpected<Error>(pin.error());
  auto invite = decoded_value(params->invite, "invite");
  if (!invite) return tl::unexpected<Error>(invite.error());

  if (!is_host_name(*sni)) {
    return broken("the link's sni= is not a valid server name; ask the host for the link again");
  }
  if (!std::string_view(*pin).starts_with(kPinPrefix)) {
    return broken("the link's pin= does not start with sha256:; ask the host for the link again");
  }
  const auto pin_bytes =
      base64url_decode_array<kPinSha256Bytes>(std::string_view(*pin).substr(kPinPrefix.size()));
  if (!pin_bytes) {
    return broken(
        "the link's pin= is not a SHA-256 hash (43 base64url characters after sha256:); ask the "
        "host for the link again");
  }
  if (auto token = parse_invite_token(*invite); !token) {
    return broken(
        fmt::format("the invite in the link is damaged ({}); ask the host for the whole "
                    "link",
                    token.error().context));
  }

  std::vector<RelayAddress> more_relays;
  if (params->relays) {
    auto relays = parse_relays_value(*params->relays);
    if (!relays) return tl::unexpected<Error>(relays.error());
    more_relays = std::move(*relays);
  }

  return InviteLink{.host = std::move(authority->host),
                    .port = authority->port,
                    .room = std::move(*room),
                    .server_name = std::move(*sni),
                    .pin_sha256 = *pin_bytes,
                    .invite = std::move(*invite),
                    .more_relays = std::move(more_relays)};
}

std::string format_invite_link(const InviteLink& link) {
  std::string out;
  out.append(kInviteLinkScheme).append("://");
  if (link.host.find(':') != std::string::npos) {
    out.append("[").append(link.host).append("]");
  } else {
    out.append(link.host);
  }
  out.append(":").append(std::to_string(link.port)).append("/");
  append_escaped(out, link.room);
  out.append("?sni=");
  append_escaped(out, link.server_name);
  out.append("&pin=").append(kPinPrefix).append(base64url_encode(link.pin_sha256));
  out.append("&invite=");
  append_escaped(out, link.invite);
  for (std::size_t i = 0; i < link.more_relays.size(); ++i) {
    out.append(i == 0 ? "&relays=" : ",");
    const RelayAddress& relay = link.more_relays[i];
    // Brackets are not allowed raw in a query (RFC 3986); host names need no escaping.
    if (relay.host.find(':') != std::string::npos) {
      out.append("%5B").append(relay.host).append("%5D");
    } else {
      out.append(relay.host);
    }
    out.append(":").append(std::to_string(relay.port));
  }
  return out;
}

}  // namespace lanparty::ctrl
