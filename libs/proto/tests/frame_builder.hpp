// SPDX-License-Identifier: MIT
// Test helper: builds Ethernet/IPv4/IPv6 frames field by field, so each test states the
// bytes that matter instead of carrying opaque hex blobs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "lanparty/proto/ethernet.hpp"
#include "lanparty/proto/mac_address.hpp"

namespace lanparty::proto::testing {

using Bytes = std::vector<std::uint8_t>;

inline constexpr MacAddress kClientMac{{0x02, 0x5a, 0x11, 0x22, 0x33, 0x44}};
inline constexpr MacAddress kOtherMac{{0x02, 0x5a, 0xaa, 0xbb, 0xcc, 0xdd}};
inline constexpr MacAddress kGatewayMac{{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}};
inline constexpr MacAddress kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
inline constexpr MacAddress kIpv6AllNodes{{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}};

// IPv4 protocol / IPv6 next-header numbers (IANA "Assigned Internet Protocol Numbers").
inline constexpr std::uint8_t kHopByHop = 0, kTcp = 6, kUdp = 17, kRouting = 43, kFragment = 44,
                              kEsp = 50, kAh = 51, kIcmpv6 = 58, kNoNext = 59, kDestOpts = 60;

inline void put16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Bytes 0, 1, 2, ... (mod 256), so a payload is recognisable in a hex dump.
inline Bytes filler(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i);
  return out;
}

struct EthernetFrame {
  MacAddress destination = kGatewayMac;
  MacAddress source = kClientMac;
  // TPIDs of tags before the EtherType, outermost first; each gets TCI 0x0064 (VLAN 100).
  std::vector<std::uint16_t> tags = {};
  std::uint16_t ethertype = kEtherTypeIpv4;
  Bytes payload = {};

  [[nodiscard]] Bytes build() const {
    Bytes out(destination.bytes().begin(), destination.bytes().end());
    out.insert(out.end(), source.bytes().begin(), source.bytes().end());
    for (auto tpid : tags) {
      put16(out, tpid);
      put16(out, 0x0064);
    }
    put16(out, ethertype);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

inline Bytes udp(std::uint16_t source_port, std::uint16_t destination_port,
                 std::size_t payload_size = 8) {
  Bytes out;
  put16(out, source_port);
  put16(out, destination_port);
  put16(out, static_cast<std::uint16_t>(8 + payload_size));
  put16(out, 0);  // checksum: not checked by the relay
  const Bytes body = filler(payload_size);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline Bytes icmpv6(std::uint8_t type, std::size_t size = 8) {
  Bytes out(size, 0);
  if (size > 0) out[0] = type;
  return out;
}

struct Ipv4Packet {
  std::uint8_t ihl = 5;                   // header length in 32-bit words
  std::uint8_t protocol = 17;             // UDP
  std::uint16_t flags_fragment = 0x4000;  // DF, offset 0
  Bytes payload = {};

  [[nodiscard]] Bytes build() const {
    Bytes out;
    out.push_back(static_cast<std::uint8_t>(0x40 | (ihl & 0x0f)));
    out.push_back(0);  // DSCP/ECN
    const std::size_t header = std::size_t{ihl} * 4 < 20 ? 20 : std::size_t{ihl} * 4;
    put16(out, static_cast<std::uint16_t>(header + payload.size()));
    put16(out, 0x1234);  // identification
    put16(out, flags_fragment);
    out.push_back(64);  // TTL
    out.push_back(protocol);
    put16(out, 0);                                // checksum: not checked by the relay
    out.insert(out.end(), {192, 168, 1, 1});      // source
    out.insert(out.end(), {255, 255, 255, 255});  // destination
    out.resize(header, 0x01);                     // options: NOPs
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

// IPv6 header (fe80::1 -> ff02::1) followed by `rest` (extension headers and upper layer).
inline Bytes ipv6(std::uint8_t next_header, const Bytes& rest) {
  Bytes out = {0x60, 0, 0, 0};
  put16(out, static_cast<std::uint16_t>(rest.size()));
  out.push_back(next_header);
  out.push_back(255);  // hop limit
  Bytes source(16, 0);
  source[0] = 0xfe;
  source[1] = 0x80;
  source[15] = 1;
  Bytes destination(16, 0);
  destination[0] = 0xff;
  destination[1] = 0x02;
  destination[15] = 1;
  out.insert(out.end(), source.begin(), source.end());
  out.insert(out.end(), destination.begin(), destination.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

// An Ethernet frame in one call; source and destination default as in EthernetFrame.
inline Bytes frame_of(std::uint16_t ethertype, Bytes payload, std::vector<std::uint16_t> tags = {},
                      MacAddress source = kClientMac, MacAddress destination = kGatewayMac) {
  return EthernetFrame{.destination = destination,
                       .source = source,
                       .tags = std::move(tags),
                       .ethertype = ethertype,
                       .payload = std::move(payload)}
      .build();
}

// The client's IPv6 frame to the all-nodes group: IPv6 header, then `rest`.
inline Bytes ipv6_frame(std::uint8_t next, const Bytes& rest,
                        std::vector<std::uint16_t> tags = {}) {
  return frame_of(kEtherTypeIpv6, ipv6(next, rest), std::move(tags), kClientMac, kIpv6AllNodes);
}

// Hop-by-Hop, Routing or Destination Options header of `size` bytes (a multiple of 8).
inline Bytes ipv6_options(std::uint8_t next_header, std::size_t size = 8) {
  Bytes out(size, 0);
  out[0] = next_header;
  out[1] = static_cast<std::uint8_t>(size / 8 - 1);
  if (size > 2) out[2] = 1;  // PadN, so the options are well formed
  if (size > 3) out[3] = static_cast<std::uint8_t>(size - 4);
  return out;
}

// Authentication Header with payload length field `n`: (n + 2) * 4 bytes.
inline Bytes ipv6_ah(std::uint8_t next_header, std::uint8_t n) {
  Bytes out((std::size_t{n} + 2) * 4, 0);
  out[0] = next_header;
  out[1] = n;
  return out;
}

// Fragment header; `offset` in 8-byte units.
inline Bytes ipv6_fragment(std::uint8_t next_header, std::uint16_t offset, bool more) {
  Bytes out = {next_header, 0};
  put16(out, static_cast<std::uint16_t>((offset << 3) | (more ? 1 : 0)));
  out.insert(out.end(), {0xde, 0xad, 0xbe, 0xef});  // identification
  return out;
}

}  // namespace lanparty::proto::testing
