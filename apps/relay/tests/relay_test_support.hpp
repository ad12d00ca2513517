// SPDX-License-Identifier: MIT
// Small builders for relay unit and integration tests: hellos, and Ethernet frames with the
// IP headers the client filters of PROTOCOL.md section 5 look at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "lanparty/ctrl/hello.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::relay::testing {

inline proto::MacAddress mac(const char* text) { return *proto::MacAddress::parse(text); }

inline ctrl::ValidHello hello(ctrl::Role role, std::string room, const char* mac_text,
                              std::uint16_t max_datagram = 1430) {
  return ctrl::ValidHello{.role = role,
                          .room = std::move(room),
                          .mac = mac(mac_text),
                          .max_datagram = max_datagram,
                          .software = "test"};
}

// dst, src, ethertype, then `payload_bytes` zero bytes.
inline std::vector<std::uint8_t> frame(const proto::MacAddress& dst, const proto::MacAddress& src,
                                       std::uint16_t ethertype, std::size_t payload_bytes = 46) {
  std::vector<std::uint8_t> f;
  f.insert(f.end(), dst.bytes().begin(), dst.bytes().end());
  f.insert(f.end(), src.bytes().begin(), src.bytes().end());
  f.push_back(static_cast<std::uint8_t>(ethertype >> 8));
  f.push_back(static_cast<std::uint8_t>(ethertype & 0xff));
  f.resize(f.size() + payload_bytes, 0);
  return f;
}

inline void append_be16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

// dst, src, 0x8100, TCI (`vlan_id`), `inner_ethertype`, then `payload_bytes` zero bytes.
inline std::vector<std::uint8_t> tagged_frame(const proto::MacAddress& dst,
                                              const proto::MacAddress& src, std::uint16_t vlan_id,
                                              std::uint16_t inner_ethertype,
                                              std::size_t payload_bytes = 46) {
  std::vector<std::uint8_t> f = frame(dst, src, 0x8100, 0);
  append_be16(f, vlan_id);
  append_be16(f, inner_ethertype);
  f.resize(f.size() + payload_bytes, 0);
  return f;
}

// An IPv4 UDP packet (20-byte header, fragment offset 0, checksums left 0: the relay does not
// verify them) carrying `udp_payload_bytes` zero bytes.
inline std::vector<std::uint8_t> ipv4_udp_frame(const proto::MacAddress& dst,
                                                const proto::MacAddress& src,
                                                std::uint16_t source_port,
                                                std::uint16_t destination_port,
                                                std::size_t udp_payload_bytes = 32) {
  std::vector<std::uint8_t> f = frame(dst, src, 0x0800, 0);
  const auto udp_length = static_cast<std::uint16_t>(8 + udp_payload_bytes);
  f.push_back(0x45);  // version 4, IHL 5
  f.push_back(0);
  append_be16(f, static_cast<std::uint16_t>(20 + udp_length));
  append_be16(f, 0);  // identification
  append_be16(f, 0);  // flags, fragment offset 0
  f.push_back(64);    // TTL
  f.push_back(17);    // UDP
  append_be16(f, 0);  // header checksum
  f.insert(f.end(), {10, 0, 0, 1, 10, 0, 0, 2});
  append_be16(f, source_port);
  append_be16(f, destination_port);
  append_be16(f, udp_length);
  append_be16(f, 0);
  f.resize(f.size() + udp_payload_bytes, 0);
  return f;
}

// An IPv6 packet: the 40-byte fixed header with `next_header`, then `after_header` verbatim
// (extension headers and the upper-layer header, as the test wants them).
inline std::vector<std::uint8_t> ipv6_frame(const proto::MacAddress& dst,
                                            const proto::MacAddress& src, std::uint8_t next_header,
                                            std::initializer_list<std::uint8_t> after_header) {
  std::vector<std::uint8_t> f = frame(dst, src, 0x86dd, 0);
  f.insert(f.end(), {0x60, 0, 0, 0});
  append_be16(f, static_cast<std::uint16_t>(after_header.size()));
  f.push_back(next_header);
  f.push_back(255);                                                           // hop limit
  f.insert(f.end(), {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});  // fe80::1
  f.insert(f.end(), {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});  // ff02::1
  f.insert(f.end(), after_header.begin(), after_header.end());
  return f;
}

// An ICMPv6 message of `type` (code 0, 12 more zero bytes) in an IPv6 packet.
inline std::vector<std::uint8_t> icmpv6_frame(const proto::MacAddress& dst,
                                              const proto::MacAddress& src, std::uint8_t type) {
  return ipv6_frame(dst, src, 58, {type, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
}

// An IPv6 UDP datagram with an 8-byte UDP header and 8 zero bytes of payload.
inline std::vector<std::uint8_t> ipv6_udp_frame(const proto::MacAddress& dst,
                                                const proto::MacAddress& src,
                                                std::uint16_t source_port,
                                                std::uint16_t destination_port) {
  return ipv6_frame(
      dst, src, 17,
      {static_cast<std::uint8_t>(source_port >> 8), static_cast<std::uint8_t>(source_port & 0xff),
       static_cast<std::uint8_t>(destination_port >> 8),
       static_cast<std::uint8_t>(destination_port & 0xff), 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
}

}  // namespace lanparty::relay::testing
