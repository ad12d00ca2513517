// SPDX-License-Identifier: MIT
// Plain value types for the route boundary: addresses, prefixes, interface identities and the
// slices of IP Helper rows we read and write. No Win32 types: src/win/ converts at the seam.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"

namespace lanparty::client_route {

enum class AddressFamily : std::uint8_t { kIpv4 = 4, kIpv6 = 6 };

// "4" or "6", as written in the journal and in log fields.
[[nodiscard]] std::string_view to_string(AddressFamily family) noexcept;

// An IPv4 or IPv6 address. Exists only in a valid state: build it with v4()/v6()/parse().
class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0
  [[nodiscard]] static IpAddress v4(const std::array<std::uint8_t, 4>& octets) noexcept;
  [[nodiscard]] static IpAddress v6(const std::array<std::uint8_t, 16>& octets) noexcept;
  // Dotted quad ("192.0.2.1") or RFC 4291 hex text with "::" ("2001:db8::1"). Embedded IPv4
  // ("::ffff:1.2.3.4") and zone ids ("%eth0") are refused with kParseError.
  [[nodiscard]] static Result<IpAddress> parse(std::string_view text);
  // The unspecified address of a family (0.0.0.0 or ::): an on-link next hop.
  [[nodiscard]] static IpAddress any(AddressFamily family) noexcept;

  [[nodiscard]] AddressFamily family() const noexcept { return family_; }
  // 4 bytes for IPv4, 16 for IPv6, network order.
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept;
  [[nodiscard]] bool is_unspecified() const noexcept;
  // Dotted quad, or RFC 5952 canonical IPv6 text (lower case, longest zero run as "::").
  [[nodiscard]] std::string to_string() const;
  // The full-length prefix bits of the family: 32 or 128.
  [[nodiscard]] std::uint8_t host_prefix_length() const noexcept;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  AddressFamily family_ = AddressFamily::kIpv4;
  std::array<std::uint8_t, 16> bytes_{};
};

// An address and prefix length ("192.0.2.1/32").
struct IpPrefix {
  IpAddress address;
  std::uint8_t length = 0;

  // "<address>/<length>"; the length must fit the family.
  [[nodiscard]] static Result<IpPrefix> parse(std::string_view text);
  [[nodiscard]] std::string to_string() const;
  // True when `address` lies inside this prefix (same family, first `length` bits equal).
  [[nodiscard]] bool contains(const IpAddress& address) const noexcept;
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

// NET_LUID as its 64-bit value: stable for the adapter's lifetime, unlike the index.
struct InterfaceLuid {
  std::uint64_t value = 0;
  friend bool operator==(const InterfaceLuid&, const InterfaceLuid&) = default;
  friend auto operator<=>(const InterfaceLuid&, const InterfaceLuid&) = default;
};

// An adapter GUID (NetCfgInstanceId), in Windows GUID field order.
class AdapterGuid {
 public:
  // "{4D36E972-E325-11CE-BFC1-08002BE10318}", braces optional, hex digits in either case.
  [[nodiscard]] static Result<AdapterGuid> parse(std::string_view text);
  // Upper case with braces, the form the registry stores.
  [[nodiscard]] std::string to_string() const;

  std::uint32_t data1 = 0;
  std::uint16_t data2 = 0;
  std::uint16_t data3 = 0;
  std::array<std::uint8_t, 8> data4{};

  friend bool operator==(const AdapterGuid&, const AdapterGuid&) = default;
  friend auto operator<=>(const AdapterGuid&, const AdapterGuid&) = default;
};

// The two MIB_IPINTERFACE_ROW fields a metric guard writes and restores, nothing else.
struct InterfaceMetric {
  bool use_automatic_metric = true;
  std::uint32_t metric = 0;  // meaningful to Windows only when use_automatic_metric is false
  friend bool operator==(const InterfaceMetric&, const InterfaceMetric&) = default;
};

// What we read from an interface row (GetIpInterfaceEntry).
struct IpInterfaceState {
  InterfaceMetric metric;
  // Captured for diagnostics (a VPN that set it makes our pinned route the only way out);
  // never written.
  bool disable_default_routes = false;
  // NlMtu: the largest IP packet, in bytes, this family sends on the interface. Written only by
  // set_ip_interface_mtu().
  std::uint32_t nl_mtu = 0;
  friend bool operator==(const IpInterfaceState&, const IpInterfaceState&) = default;
};

// A route row (MIB_IPFORWARD_ROW2): key fields plus the route metric.
struct RouteEntry {
  IpPrefix destination;
  IpAddress next_hop;  // unspecified == on-link
  InterfaceLuid luid;
  std::uint32_t interface_index = 0;
  std::uint32_t metric = 0;  // route metric; Windows adds the interface metric to it
  friend bool operator==(const RouteEntry&, const RouteEntry&) = default;
};

// GetBestRoute2's answer for one destination.
struct BestRoute {
  IpAddress source;    // the local address Windows would send from
  IpAddress next_hop;  // unspecified == destination is on-link
  std::uint32_t interface_index = 0;
  InterfaceLuid luid;
  IpPrefix destination_prefix;  // the matched route's prefix (0.0.0.0/0 for a default route)
  std::uint32_t metric = 0;     // the matched route's metric
  friend bool operator==(const BestRoute&, const BestRoute&) = default;
};

}  // namespace lanparty::client_route
