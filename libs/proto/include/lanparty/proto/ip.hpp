// SPDX-License-Identifier: MIT
// IP protocol numbers (IANA "Assigned Internet Protocol Numbers") and the fixed sizes of the
// IPv4/IPv6/TCP/UDP headers, shared by the frame filter and the offload code.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lanparty::proto {

inline constexpr std::uint8_t kIpProtoHopByHop = 0;  // IPv6 Hop-by-Hop Options
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint8_t kIpProtoRouting = 43;   // IPv6 Routing header
inline constexpr std::uint8_t kIpProtoFragment = 44;  // IPv6 Fragment header
inline constexpr std::uint8_t kIpProtoEsp = 50;
inline constexpr std::uint8_t kIpProtoAh = 51;
inline constexpr std::uint8_t kIpProtoIcmpv6 = 58;
inline constexpr std::uint8_t kIpProtoNoNextHeader = 59;
inline constexpr std::uint8_t kIpProtoDestOptions = 60;  // IPv6 Destination Options

inline constexpr std::size_t kIpv4MinHeader = 20;  // IHL 5, no options
inline constexpr std::size_t kIpv6Header = 40;     // without extension headers
inline constexpr std::size_t kTcpMinHeader = 20;   // data offset 5, no options
inline constexpr std::size_t kUdpHeader = 8;

// Where the L4 checksum field sits in each header.
inline constexpr std::size_t kTcpChecksumField = 16;
inline constexpr std::size_t kUdpChecksumField = 6;

// TCP flags (byte 13 of the TCP header; RFC 9293 section 3.1, RFC 3168 for ECE/CWR).
inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpPsh = 0x08;
inline constexpr std::uint8_t kTcpAck = 0x10;
inline constexpr std::uint8_t kTcpUrg = 0x20;
inline constexpr std::uint8_t kTcpEce = 0x40;
inline constexpr std::uint8_t kTcpCwr = 0x80;

}  // namespace lanparty::proto
