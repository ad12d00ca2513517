// SPDX-License-Identifier: MIT
// The attack suite's network: a private network namespace whose loopback owns 10.213.0.0/16
// (so the one attacking address, the legitimate peers and the spoofed sources differ), raw
// IPv4/UDP packets for Initials from any source, and a classifier for what the relay answers.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "lanparty/base/result.hpp"

namespace lanparty::bench::attack {

// Who dials the relay from where. A libs/quic client binds 0.0.0.0:0 and connects, so its
// source address is chosen by the route to the address it dials: in the private namespace
// every 10.213.x.y is local with no preferred source, which makes the source equal to the
// address dialled. The relay listens on 0.0.0.0 and answers from the address it was reached on
// (IP_PKTINFO), so each peer below reaches the same relay from its own address.
struct NetworkPlan {
  bool private_namespace = false;  // false: everything on 127.0.0.1 (not root, or --no-netns)
  std::string relay_listen = "127.0.0.1:0";
  std::string attacker_host = "127.0.0.1";       // the one attacking address
  std::string legit_gateway_host = "127.0.0.1";  // the legitimate room's gateway
  std::string legit_client_hosts[2] = {"127.0.0.1", "127.0.0.1"};
  std::string fresh_gateway_host = "127.0.0.1";  // probes: a new room from another address
  std::string fresh_client_host = "127.0.0.1";   // probes: a new player from another address
  // Raw IPv4 sources for spoofed Initials: 10.213.1.0 .. 10.213.255.255 (never 10.213.0.x,
  // which the peers above use). Only in the private namespace.
  bool raw_sockets = false;
};

inline constexpr std::uint32_t kSpoofFirst = 0x0ad50100;  // 10.213.1.0
inline constexpr std::uint32_t kSpoofLast = 0x0ad5ffff;   // 10.213.255.255
// Source ports of raw Initials lie above the kernel's ephemeral range (32768..60999 by
// default), so the relay's answers to them are told apart from answers to real sockets.
inline constexpr std::uint16_t kRawPortFirst = 61000;

// Moves this process (it must not have started any thread yet) into a new network namespace
// with lo up and `local 10.213.0.0/16 dev lo` (ip(8) adds the route). Children inherit it; it
// vanishes with the last process in it, so nothing needs removing. kUnsupportedPlatform when
// not allowed (not root): the caller then runs on the host's loopback.
[[nodiscard]] Result<NetworkPlan> enter_private_namespace();

// "10.213.0.1" -> host-order address; nullopt for anything else.
[[nodiscard]] std::optional<std::uint32_t> parse_ipv4(std::string_view text) noexcept;

// One's-complement sum of 16-bit big-endian words (RFC 1071), folded, not inverted.
[[nodiscard]] std::uint16_t ones_complement_sum(std::span<const std::uint8_t> bytes,
                                                std::uint32_t initial = 0) noexcept;

inline constexpr std::size_t kIpv4HeaderBytes = 20;
inline constexpr std::size_t kUdpHeaderBytes = 8;

// Writes an IPv4 header (no options, DF, TTL 64), a UDP header and `payload` into `out`, with
// both checksums (the UDP one over the RFC 768 pseudo-header). Addresses and ports in host
// order. Returns the packet length, or 0 (nothing written) when `out` is too small or the
// packet would exceed 65535 bytes.
[[nodiscard]] std::size_t build_ipv4_udp(std::span<std::uint8_t> out, std::uint32_t source,
                                         std::uint16_t source_port, std::uint32_t destination,
                                         std::uint16_t destination_port,
                                         std::span<const std::uint8_t> payload,
                                         std::uint16_t ip_id) noexcept;

// What a UDP payload from the relay is, judged by its first bytes (RFC 9000 section 17).
enum class QuicPacketType : std::uint8_t {
  kInitial,
  kZeroRtt,
  kHandshake,
  kRetry,
  kVersionNegotiation,
  kShortHeader,  // 1-RTT, or a stateless reset (indistinguishable by design)
  kTooShort,
};
inline constexpr std::size_t kQuicPacketTypeCount = 7;
[[nodiscard]] QuicPacketType classify_quic(std::span<const std::uint8_t> payload) noexcept;
[[nodiscard]] std::string_view to_string(QuicPacketType type) noexcept;

// A UDP datagram as a raw IPPROTO_UDP socket hands it over (IPv4 header first).
struct RawUdp {
  std::uint32_t source = 0;  // host order
  std::uint32_t destination = 0;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::span<const std::uint8_t> payload;
};
[[nodiscard]] std::optional<RawUdp> parse_raw_udp(std::span<const std::uint8_t> packet) noexcept;

// Receive-buffer drops (last column of /proc/net/udp) of the IPv4 sockets bound to `port` on
// any address: the relay's one socket.
[[nodiscard]] std::uint64_t udp_drops_on_port(std::uint16_t port);

}  // namespace lanparty::bench::attack
