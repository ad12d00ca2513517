// SPDX-License-Identifier: MIT
// Private namespace set-up, raw IPv4/UDP packets and the relay-answer classifier.
#include "attack_net.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "child_process.hpp"
#include "lanparty/base/errc.hpp"
#include "lanparty/proto/wire_bytes.hpp"

namespace lanparty::bench::attack {
namespace {

Status bring_loopback_up() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "socket for SIOCSIFFLAGS");
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  Status status = ok();
  if (::ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
    status = fail_errno(errno, "SIOCGIFFLAGS lo");
  } else {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) status = fail_errno(errno, "SIOCSIFFLAGS lo up");
  }
  ::close(fd);
  return status;
}

std::string find_ip_binary() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

}  // namespace

Result<NetworkPlan> enter_private_namespace() {
  if (::unshare(CLONE_NEWNET) != 0) {
    const int err = errno;
    if (err == EPERM) {
      return fail(Errc::kUnsupportedPlatform, "unshare(CLONE_NEWNET): not permitted (not root)");
    }
    return fail_errno(err, "unshare(CLONE_NEWNET)");
  }
  if (auto st = bring_loopback_up(); !st) return tl::unexpected(st.error());
  const std::string ip = find_ip_binary();
  if (ip.empty()) return fail(Errc::kNotFound, "ip(8) not found (iproute2)");
  // A local route without a preferred source: a socket that dials 10.213.a.b gets 10.213.a.b
  // as its source, which is how each peer below gets its own address.
  auto child = ChildProcess::spawn(
      SpawnOptions{.argv = {ip, "route", "add", "local", "10.213.0.0/16", "dev", "lo"}});
  if (!child) return tl::unexpected(child.error());
  auto status = child->wait_for(std::chrono::milliseconds(5000));
  if (!status) return tl::unexpected(status.error());
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return fail(Errc::kInternal, fmt::format("ip route add local 10.213.0.0/16 dev lo: {}",
                                             describe_wait_status(*status)));
  }
  NetworkPlan plan;
  plan.private_namespace = true;
  plan.relay_listen = "0.0.0.0:0";
  plan.attacker_host = "10.213.0.1";
  plan.legit_gateway_host = "10.213.0.2";
  plan.legit_client_hosts[0] = "10.213.0.3";
  plan.legit_client_hosts[1] = "10.213.0.4";
  plan.fresh_gateway_host = "10.213.0.5";
  plan.fresh_client_host = "10.213.0.6";
  const int raw = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (raw >= 0) {
    plan.raw_sockets = true;
    ::close(raw);
  }
  return plan;
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) noexcept {
  char buffer[INET_ADDRSTRLEN] = {};
  if (text.size() >= sizeof(buffer)) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  in_addr address{};
  if (::inet_pton(AF_INET, buffer, &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

std::uint16_t ones_complement_sum(std::span<const std::uint8_t> bytes,
                                  std::uint32_t initial) noexcept {
  std::uint64_t sum = initial;
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += proto::load_be16(bytes, i);
  if (i < bytes.size()) sum += static_cast<std::uint32_t>(bytes[i]) << 8;  // odd byte, padded
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

std::size_t build_ipv4_udp(std::span<std::uint8_t> out, std::uint32_t source,
                           std::uint16_t source_port, std::uint32_t destination,
                           std::uint16_t destination_port, std::span<const std::uint8_t> payload,
                           std::uint16_t ip_id) noexcept {
  const std::size_t udp_length = kUdpHeaderBytes + payload.size();
  const std::size_t total = kIpv4HeaderBytes + udp_length;
  if (total > 65535 || out.size() < total) return 0;
  const auto ip = out.first(kIpv4HeaderBytes);
  ip[0] = 0x45;  // version 4, 5 words of header
  ip[1] = 0;
  proto::store_be16(ip, 2, static_cast<std::uint16_t>(total));
  proto::store_be16(ip, 4, ip_id);
  proto::store_be16(ip, 6, 0x4000);  // don't fragment
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  proto::store_be16(ip, 10, 0);
  proto::store_be32(ip, 12, source);
  proto::store_be32(ip, 16, destination);
  proto::store_be16(ip, 10, static_cast<std::uint16_t>(~ones_complement_sum(ip)));

  const auto udp = out.subspan(kIpv4HeaderBytes, udp_length);
  proto::store_be16(udp, 0, source_port);
  proto::store_be16(udp, 2, destination_port);
  proto::store_be16(udp, 4, static_cast<std::uint16_t>(udp_length));
  proto::store_be16(udp, 6, 0);
  std::memcpy(udp.data() + kUdpHeaderBytes, payload.data(), payload.size());
  // Pseudo-header: source, destination, zero + protocol, UDP length.
  const std::uint32_t pseudo = (source >> 16) + (source & 0xffff) + (destination >> 16) +
                               (destination & 0xffff) + IPPROTO_UDP +
                               static_cast<std::uint32_t>(udp_length);
  std::uint16_t checksum = static_cast<std::uint16_t>(~ones_complement_sum(udp, pseudo));
  if (checksum == 0) checksum = 0xffff;  // RFC 768: 0 means "no checksum"
  proto::store_be16(udp, 6, checksum);
  return total;
}

QuicPacketType classify_quic(std::span<const std::uint8_t> payload) noexcept {
  if (payload.empty()) return QuicPacketType::kTooShort;
  if ((payload[0] & 0x80) == 0) return QuicPacketType::kShortHeader;
  if (payload.size() < 5) return QuicPacketType::kTooShort;
  if (proto::load_be32(payload, 1) == 0) return QuicPacketType::kVersionNegotiation;
  switch ((payload[0] >> 4) & 0x03) {
    case 0:
      return QuicPacketType::kInitial;
    case 1:
      return QuicPacketType::kZeroRtt;
    case 2:
      return QuicPacketType::kHandshake;
    default:
      return QuicPacketType::kRetry;
  }
}

std::string_view to_string(QuicPacketType type) noexcept {
  switch (type) {
    case QuicPacketType::kInitial:
      return "initial";
    case QuicPacketType::kZeroRtt:
      return "0rtt";
    case QuicPacketType::kHandshake:
      return "handshake";
    case QuicPacketType::kRetry:
      return "retry";
    case QuicPacketType::kVersionNegotiation:
      return "version_negotiation";
    case QuicPacketType::kShortHeader:
      return "short_header";
    case QuicPacketType::kTooShort:
      return "too_short";
  }
  return "unknown";
}

std::optional<RawUdp> parse_raw_udp(std::span<const std::uint8_t> packet) noexcept {
  if (packet.size() < kIpv4HeaderBytes || (packet[0] >> 4) != 4) return std::nullopt;
  const std::size_t header = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
  if (header < kIpv4HeaderBytes || packet.size() < header + kUdpHeaderBytes) return std::nullopt;
  if (packet[9] != IPPROTO_UDP) return std::nullopt;
  const std::size_t total = proto::load_be16(packet, 2);
  const std::size_t end = std::min(total, packet.size());
  if (end < header + kUdpHeaderBytes) return std::nullopt;
  const auto udp = packet.subspan(header, end - header);
  return RawUdp{.source = proto::load_be32(packet, 12),
                .destination = proto::load_be32(packet, 16),
                .source_port = proto::load_be16(udp, 0),
                .destination_port = proto::load_be16(udp, 2),
                .payload = udp.subspan(kUdpHeaderBytes)};
}

std::uint64_t udp_drops_on_port(std::uint16_t port) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  std::getline(in, line);  // header
  std::uint64_t drops = 0;
  const std::string suffix = fmt::format(":{:04X}", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, field, last;
    fields >> slot >> local;
    while (fields >> field) last = field;
    if (local.size() > suffix.size() &&
        local.compare(local.size() - suffix.size(), suffix.size(), suffix) == 0) {
      drops += std::strtoull(last.c_str(), nullptr, 10);
    }
  }
  return drops;
}

}  // namespace lanparty::bench::attack
