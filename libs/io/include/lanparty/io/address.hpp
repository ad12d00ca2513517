// SPDX-License-Identifier: MIT
// UDP socket addresses, the listen-address forms the relay accepts, and host resolution.
// The bytes are an opaque sockaddr image so no OS header leaks into users.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"

namespace lanparty::io {

enum class AddressFamily : std::uint8_t { kIPv4, kIPv6 };

// An IPv4 or IPv6 address with a port. Value type; a default-constructed one is empty
// (valid() is false). An IPv6 wildcard ([::]) is bound dual stack (IPV6_V6ONLY=0).
class SocketAddress {
 public:
  static constexpr std::size_t kStorageBytes = 128;  // sizeof(sockaddr_storage) on Linux

  SocketAddress() = default;

  // From a sockaddr image; kInvalidArgument unless it is AF_INET/AF_INET6 of the right size.
  [[nodiscard]] static Result<SocketAddress> from_bytes(const void* sockaddr_bytes,
                                                        std::size_t length);

  // Replaces the contents; false (and empty) unless the bytes are an IPv4/IPv6 sockaddr.
  bool assign(const void* sockaddr_bytes, std::size_t length) noexcept;

  [[nodiscard]] bool valid() const noexcept { return length_ != 0; }
  [[nodiscard]] AddressFamily family() const noexcept;
  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] SocketAddress with_port(std::uint16_t port) const noexcept;
  // 0.0.0.0 or [::].
  [[nodiscard]] bool is_wildcard() const noexcept;

  // "127.0.0.1:4433", "[::1]:4433"; an IPv4-mapped IPv6 address prints as IPv4.
  [[nodiscard]] std::string to_string() const;

  // The sockaddr image, for the socket layer.
  [[nodiscard]] const void* data() const noexcept { return storage_.data(); }
  [[nodiscard]] void* mutable_data() noexcept { return storage_.data(); }
  [[nodiscard]] std::uint32_t length() const noexcept { return length_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  alignas(8) std::array<std::uint8_t, kStorageBytes> storage_{};
  std::uint32_t length_ = 0;
};

// Where a connection comes from, for per-source limits: an IPv4 address (an IPv4-mapped IPv6
// address counts as IPv4), or the /64 of an IPv6 address (one subscriber's usual share).
struct SourcePrefix {
  std::uint8_t family = 0;  // 4 or 6; 0 for an empty address
  std::array<std::uint8_t, 8> bytes{};
  friend bool operator==(const SourcePrefix&, const SourcePrefix&) noexcept = default;
};
[[nodiscard]] SourcePrefix source_prefix(const SocketAddress& address) noexcept;
struct SourcePrefixHash {
  std::size_t operator()(const SourcePrefix& prefix) const noexcept;
};

// Accepts "443/udp" (all interfaces, dual stack: [::]:443), "0.0.0.0:4433", "[::]:4433"
// (dual stack), "127.0.0.1:0", "[::1]:4433". Numeric only; kParseError with the offending
// text otherwise.
[[nodiscard]] Result<SocketAddress> parse_listen_address(std::string_view text);

// Numeric host first ("192.0.2.1", "::1", "[::1]"), getaddrinfo otherwise (first UDP
// result). kNotFound when the name does not resolve.
[[nodiscard]] Result<SocketAddress> resolve_host_port(std::string_view host, std::uint16_t port);

}  // namespace lanparty::io
