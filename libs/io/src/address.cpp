// SPDX-License-Identifier: MIT
// SocketAddress over a sockaddr_storage image; listen-address parsing and resolution.
#include "lanparty/io/address.hpp"

#include <charconv>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "socket_os.hpp"

namespace lanparty::io {
namespace {

static_assert(sizeof(sockaddr_storage) <= SocketAddress::kStorageBytes);
static_assert(alignof(sockaddr_storage) <= 8);

bool is_v4_mapped(const sockaddr_in6& sa) noexcept { return IN6_IS_ADDR_V4MAPPED(&sa.sin6_addr); }

std::optional<std::uint16_t> parse_port(std::string_view text) noexcept {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// A numeric IPv4 or IPv6 literal (without brackets) and a port.
std::optional<SocketAddress> numeric(std::string_view host, std::uint16_t port) {
  const std::string h(host);
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    return *SocketAddress::from_bytes(&v4, sizeof(v4));
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, h.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    return *SocketAddress::from_bytes(&v6, sizeof(v6));
  }
  return std::nullopt;
}

}  // namespace

bool SocketAddress::assign(const void* sockaddr_bytes, std::size_t length) noexcept {
  length_ = 0;
  if (sockaddr_bytes == nullptr || length < sizeof(sa_family_t) || length > kStorageBytes) {
    return false;
  }
  sa_family_t family = 0;
  std::memcpy(&family, sockaddr_bytes, sizeof(family));
  std::size_t size = 0;
  if (family == AF_INET && length >= sizeof(sockaddr_in)) {
    size = sizeof(sockaddr_in);
  } else if (family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    size = sizeof(sockaddr_in6);
  } else {
    return false;
  }
  std::memcpy(storage_.data(), sockaddr_bytes, size);
  length_ = static_cast<std::uint32_t>(size);
  return true;
}

Result<SocketAddress> SocketAddress::from_bytes(const void* sockaddr_bytes, std::size_t length) {
  SocketAddress out;
  if (!out.assign(sockaddr_bytes, length)) {
    return fail(Errc::kInvalidArgument, "SocketAddress::from_bytes: not an IPv4/IPv6 sockaddr");
  }
  return out;
}

AddressFamily SocketAddress::family() const noexcept {
  sa_family_t family = 0;
  std::memcpy(&family, storage_.data(), sizeof(family));
  return family == AF_INET6 ? AddressFamily::kIPv6 : AddressFamily::kIPv4;
}

std::uint16_t SocketAddress::port() const noexcept {
  if (!valid()) return 0;
  if (family() == AddressFamily::kIPv4) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(storage_.data())->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(storage_.data())->sin6_port);
}

SocketAddress SocketAddress::with_port(std::uint16_t port) const noexcept {
  SocketAddress out = *this;
  if (!valid()) return out;
  if (family() == AddressFamily::kIPv4) {
    reinterpret_cast<sockaddr_in*>(out.storage_.data())->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(out.storage_.data())->sin6_port = htons(port);
  }
  return out;
}

bool SocketAddress::is_wildcard() const noexcept {
  if (!valid()) return false;
  if (family() == AddressFamily::kIPv4) {
    return reinterpret_cast<const sockaddr_in*>(storage_.data())->sin_addr.s_addr ==
           htonl(INADDR_ANY);
  }
  return IN6_IS_ADDR_UNSPECIFIED(
      &reinterpret_cast<const sockaddr_in6*>(storage_.data())->sin6_addr);
}

std::string SocketAddress::to_string() const {
  if (!valid()) return "(none)";
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AddressFamily::kIPv4) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(storage_.data());
    ::inet_ntop(AF_INET, &sa->sin_addr, text, sizeof(text));
    return fmt::format("{}:{}", text, ntohs(sa->sin_port));
  }
  const auto* sa = reinterpret_cast<const sockaddr_in6*>(storage_.data());
  if (is_v4_mapped(*sa)) {
    ::inet_ntop(AF_INET, &sa->sin6_addr.s6_addr[12], text, sizeof(text));
    return fmt::format("{}:{}", text, ntohs(sa->sin6_port));
  }
  ::inet_ntop(AF_INET6, &sa->sin6_addr, text, sizeof(text));
  return fmt::format("[{}]:{}", text, ntohs(sa->sin6_port));
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  if (a.length_ != b.length_) return false;
  if (!a.valid()) return true;
  if (a.family() != b.family() || a.port() != b.port()) return false;
  if (a.family() == AddressFamily::kIPv4) {
    return reinterpret_cast<const sockaddr_in*>(a.storage_.data())->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b.storage_.data())->sin_addr.s_addr;
  }
  const auto* x = reinterpret_cast<const sockaddr_in6*>(a.storage_.data());
  const auto* y = reinterpret_cast<const sockaddr_in6*>(b.storage_.data());
  return std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0 &&
         x->sin6_scope_id == y->sin6_scope_id;
}

Result<SocketAddress> parse_listen_address(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return fail(Errc::kParseError, fmt::format("listen address \"{}\": {}", text, why));
  };
  // "443/udp": every interface, both families.
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    if (text.substr(slash) != "/udp") return bad("only the /udp suffix is supported");
    const auto port = parse_port(text.substr(0, slash));
    if (!port) return bad("port must be 0..65535");
    return *numeric("::", *port);
  }
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [IPv6]:port");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return bad("brackets need an IPv6 address");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port or port/udp");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("IPv6 addresses need brackets");
  }
  const auto port = parse_port(port_text);
  if (!port) return bad("port must be 0..65535");
  auto address = numeric(host, *port);
  if (!address) return bad("host must be a numeric IPv4 or IPv6 address");
  return *address;
}

Result<SocketAddress> resolve_host_port(std::string_view host, std::uint16_t port) {
  std::string_view bare = host;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  if (auto address = numeric(bare, port)) return *address;
  if (bare.empty()) return fail(Errc::kInvalidArgument, "resolve: empty host name");

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* results = nullptr;
  const std::string name(bare);
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &results);
  if (rc != 0) {
    return fail(Errc::kNotFound, fmt::format("resolve {}: {}", name, ::gai_strerror(rc)));
  }
  Result<SocketAddress> out = fail(Errc::kNotFound, fmt::format("resolve {}: no address", name));
  for (const addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
    if (auto address = SocketAddress::from_bytes(ai->ai_addr, ai->ai_addrlen)) {
      out = *address;
      break;
    }
  }
  ::freeaddrinfo(results);
  return out;
}

}  // namespace lanparty::io

namespace lanparty::io {

SourcePrefix source_prefix(const SocketAddress& address) noexcept {
  SourcePrefix prefix;
  if (address.family() == AddressFamily::kIPv4) {
    const auto* v4 = static_cast<const sockaddr_in*>(address.data());
    prefix.family = 4;
    std::memcpy(prefix.bytes.data(), &v4->sin_addr, 4);
  } else if (address.family() == AddressFamily::kIPv6) {
    const auto* v6 = static_cast<const sockaddr_in6*>(address.data());
    if (is_v4_mapped(*v6)) {
      prefix.family = 4;
      std::memcpy(prefix.bytes.data(), reinterpret_cast<const std::uint8_t*>(&v6->sin6_addr) + 12,
                  4);
    } else {
      prefix.family = 6;
      std::memcpy(prefix.bytes.data(), &v6->sin6_addr, 8);
    }
  }
  return prefix;
}

std::size_t SourcePrefixHash::operator()(const SourcePrefix& prefix) const noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull ^ prefix.family;
  for (const std::uint8_t b : prefix.bytes) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return static_cast<std::size_t>(h ^ (h >> 32));
}

}  // namespace lanparty::io
